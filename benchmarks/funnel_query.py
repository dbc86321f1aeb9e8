"""Query stage of the funnel questions (issue #14: < 20 ms at 1× demo data).

Times the warehouse reads each funnel question needs, through the real ``MartReader``
and ``DuckDBWarehouse`` on a warm connection (as ``serve`` keeps one), and, separately,
the pure core on those counts:

* ``funnel last 30 days vs previous``: one ``funnel_windows`` read (this window and the
  one before, in one query);
* ``funnel last 30 days by traffic_source`` / ``by browser``: one ``funnel_segments``;
* ``funnel for checkout_redesign``: one ``experiment_funnel``.

Every read is checked first against a direct sum over the mart, so the timed reads
return the right numbers. Example:

    .venv/bin/python -m benchmarks.funnel_query            # 1× (100k users), 200 rounds
    .venv/bin/python -m benchmarks.funnel_query --quick    # 10k users, 30 rounds
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import duckdb

from benchmarks.common import (
    BENCH_END,
    DEFAULT_USERS,
    ensure_warehouse,
    fmt_ms,
    load_average,
    summary,
    table,
)
from bot.core.funnel import (
    FunnelCounts,
    analyze_experiment_funnel,
    analyze_segments,
    analyze_window,
)
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse

LIMIT_MS = 20.0
START = BENCH_END - timedelta(days=29)  # "last 30 days" as of the morning after BENCH_END
PREVIOUS_START, PREVIOUS_END = START - timedelta(days=30), START - timedelta(days=1)


def questions(reader: MartReader) -> dict[str, Callable[[], Any]]:
    """Question → the warehouse reads its answer needs."""
    return {
        "funnel last 30 days vs previous": lambda: reader.funnel_windows(
            START, BENCH_END, PREVIOUS_START, PREVIOUS_END
        ),
        "funnel last 30 days by traffic_source": lambda: reader.funnel_segments(
            "traffic_source", START, BENCH_END
        ),
        "funnel last 30 days by browser": lambda: reader.funnel_segments(
            "browser", START, BENCH_END
        ),
        "funnel for checkout_redesign": lambda: reader.experiment_funnel("checkout_redesign"),
    }


def core(name: str, data: Any) -> Any:
    if name.endswith("vs previous"):
        return analyze_window(*data)
    if " by " in name:
        return analyze_segments(name.rsplit(" ", 1)[1], data)
    return analyze_experiment_funnel("checkout_redesign", data)


def check(db: Any, reader: MartReader) -> None:
    """The reads equal a direct sum over the mart (so the timings are of right answers)."""
    with duckdb.connect(str(db), read_only=True) as conn:
        direct = conn.execute(
            "select sum(sessions), sum(product_sessions), sum(cart_sessions), "
            "sum(purchase_sessions) from main.funnel_sessions_daily "
            "where session_day between ? and ?",
            [START, BENCH_END],
        ).fetchone()
    assert reader.funnel_window(START, BENCH_END) == FunnelCounts(*map(int, direct))
    pair = reader.funnel_windows(START, BENCH_END, PREVIOUS_START, PREVIOUS_END)
    assert pair == (
        FunnelCounts(*map(int, direct)),
        reader.funnel_window(PREVIOUS_START, PREVIOUS_END),
    )
    total = FunnelCounts(0, 0, 0, 0)
    for segment in reader.funnel_segments("browser", START, BENCH_END):
        total = total + segment.counts
    assert total == FunnelCounts(*map(int, direct))
    assert reader.experiment_funnel("checkout_redesign")


def bench(reader: MartReader, rounds: int, warmup: int) -> dict[str, dict[str, Any]]:
    reads = questions(reader)
    samples: dict[str, dict[str, list[float]]] = {
        q: {"query": [], "query_cpu": [], "core": []} for q in reads
    }
    for round_no in range(warmup + rounds):
        for name, read in reads.items():  # interleaved, so load hits every question alike
            started, cpu = time.perf_counter(), time.process_time()
            data = read()
            queried, cpu_done = time.perf_counter(), time.process_time()
            core(name, data)
            done = time.perf_counter()
            if round_no >= warmup:
                samples[name]["query"].append(queried - started)
                # CPU of the whole process (DuckDB's threads included): moves much less
                # than wall time when other processes share the cores.
                samples[name]["query_cpu"].append(cpu_done - cpu)
                samples[name]["core"].append(done - queried)
    return {q: {stage: summary(v) for stage, v in s.items()} for q, s in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.funnel_query",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="10k users, 30 rounds")
    parser.add_argument("--rounds", type=int, help="timed rounds (default 200; quick 30)")
    parser.add_argument("--users", type=int, help=f"demo users (default {DEFAULT_USERS:,})")
    args = parser.parse_args(argv)
    rounds = args.rounds or (30 if args.quick else 200)
    users = args.users or (10_000 if args.quick else DEFAULT_USERS)

    db = ensure_warehouse(users)
    warehouse = DuckDBWarehouse(db, timeout_s=60.0)
    reader = MartReader(warehouse)
    try:
        check(db, reader)
        with duckdb.connect(str(db), read_only=True) as conn:
            rows = conn.execute("select count(*) from main.funnel_sessions_daily").fetchone()[0]
        before = load_average()
        result = bench(reader, rounds, warmup=5)
        after = load_average()
    finally:
        warehouse.close()
    print(f"funnel query stage: {users:,} users, mart {rows:,} rows, {rounds} rounds")
    print(f"load average before {before}, after {after}")
    lines = []
    worst = 0.0
    for name, stages in result.items():
        q, cpu, c = stages["query"], stages["query_cpu"], stages["core"]
        worst = max(worst, q["p95_ms"])
        lines.append(
            [
                name,
                fmt_ms(q["p50_ms"]),
                fmt_ms(q["p95_ms"]),
                fmt_ms(cpu["p50_ms"]),
                fmt_ms(cpu["p95_ms"]),
                fmt_ms(c["p50_ms"]),
                fmt_ms(c["p95_ms"]),
            ]
        )
    headers = ["question", "query p50", "query p95", "query CPU p50", "query CPU p95"]
    print(table([*headers, "core p50", "core p95"], lines))
    verdict = "within" if worst < LIMIT_MS else "OVER"
    print(f"worst query p95 {worst:.2f} ms: {verdict} the {LIMIT_MS:g} ms budget")
    return 0 if worst < LIMIT_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
