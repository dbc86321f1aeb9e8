"""The funnel questions: query stage (issue #14: < 20 ms at 1× demo data) and end to end
(`funnel last 30 days` through ``KpiService.ask`` with its chart: p50 < 250 ms).

Times the warehouse reads each funnel question needs, through the real ``MartReader``
and ``DuckDBWarehouse`` on a warm connection (as ``serve`` keeps one), and, separately,
the pure core on those counts:

* ``funnel last 30 days vs previous``: one ``funnel_windows`` read (this window and the
  one before, in one query);
* ``funnel last 30 days by traffic_source`` / ``by browser``: one ``funnel_segments``;
* ``funnel for checkout_redesign``: one ``experiment_funnel``.

Every read is checked first against a direct sum over the mart, so the timed reads
return the right numbers.

End to end, ``KpiService.ask("funnel last 30 days", charts=True)`` is timed whole
(parse → reads → core → render → chart through the service's ``ChartRenderer``, in this
thread as ``bot ask`` does), with its query time (a timing ``Warehouse`` wrapper) and its
chart time (a timing renderer) taken out, and the process CPU time beside the wall time.
Example:

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
    TimingWarehouse,
    bench_clock,
    ensure_warehouse,
    fmt_ms,
    load_average,
    summary,
    table,
)
from bot.answers import FunnelAnswer
from bot.core.funnel import (
    FunnelCounts,
    analyze_experiment_funnel,
    analyze_segments,
    analyze_window,
)
from bot.service import KpiService
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse

LIMIT_MS = 20.0
END_TO_END_LIMIT_MS = 250.0  # p50 of `funnel last 30 days` with its chart
END_TO_END_QUESTION = "funnel last 30 days"
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


def end_to_end(db: Any, rounds: int, warmup: int) -> dict[str, dict[str, Any]]:
    """``KpiService.ask`` of the question with its chart: total, query, chart, core, CPU."""
    chart_s: list[float] = []

    def timed_render(chart: Callable[..., bytes], *args: Any, **kwargs: Any) -> bytes:
        started = time.perf_counter()
        try:
            return chart(*args, **kwargs)
        finally:
            chart_s.append(time.perf_counter() - started)

    warehouse = TimingWarehouse(DuckDBWarehouse(db, timeout_s=60.0))
    kpi = KpiService(MartReader(warehouse), clock=bench_clock, render=timed_render)
    stages: dict[str, list[float]] = {"total": [], "query": [], "chart": [], "core": [], "cpu": []}
    try:
        for round_no in range(warmup + rounds):
            warehouse.take()
            chart_s.clear()
            started, cpu = time.perf_counter(), time.process_time()
            answer = kpi.ask(END_TO_END_QUESTION, charts=True)
            total, cpu_total = time.perf_counter() - started, time.process_time() - cpu
            query, _ = warehouse.take()
            if not isinstance(answer, FunnelAnswer) or len(answer.charts) != 1:
                raise SystemExit(f"{END_TO_END_QUESTION!r} gave no funnel with a chart: {answer}")
            if round_no >= warmup:
                chart = sum(chart_s)
                for stage, value in zip(
                    stages, (total, query, chart, total - query - chart, cpu_total), strict=True
                ):
                    stages[stage].append(value)
    finally:
        warehouse.close()
    return {stage: summary(values) for stage, values in stages.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.funnel_query",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="10k users, 30 rounds")
    parser.add_argument("--rounds", type=int, help="timed rounds (default 200; quick 30)")
    parser.add_argument("--users", type=int, help=f"demo users (default {DEFAULT_USERS:,})")
    parser.add_argument(
        "--e2e-rounds", type=int, help="end-to-end rounds (default 60; quick 10; 0 skips)"
    )
    args = parser.parse_args(argv)
    rounds = args.rounds or (30 if args.quick else 200)
    e2e_rounds = args.e2e_rounds if args.e2e_rounds is not None else (10 if args.quick else 60)
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
    ok = worst < LIMIT_MS
    if e2e_rounds > 0:
        before = load_average()
        e2e = end_to_end(db, e2e_rounds, warmup=3)
        after = load_average()
        print(
            f"\nend to end: KpiService.ask({END_TO_END_QUESTION!r}, charts=True), "
            f"{e2e_rounds} rounds; load average before {before}, after {after}"
        )
        print(
            table(
                ["stage", "p50", "p95"],
                [[name, fmt_ms(s["p50_ms"]), fmt_ms(s["p95_ms"])] for name, s in e2e.items()],
            )
        )
        p50 = e2e["total"]["p50_ms"]
        verdict = "within" if p50 < END_TO_END_LIMIT_MS else "OVER"
        print(f"end-to-end p50 {p50:.1f} ms: {verdict} the {END_TO_END_LIMIT_MS:g} ms budget")
        ok = ok and p50 < END_TO_END_LIMIT_MS
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
