"""Metric questions through the semantic layer: start-up cost and per-question latency.

    /work/venv-semantic/bin/python -m benchmarks.semantic [--quick] [--runs 40]

* **Start-up** (each in a fresh process, so imports are cold): importing MetricFlow,
  and ``SemanticLayer.warm()`` (manifest parse + engine) after the imports.
* **First question**: the first ``revenue by traffic_source last 30 days`` of a warmed
  service (MetricFlow compiles each request shape once, then the SQL is cached).
* **Steady state**: the same question end to end — parse, semantic-layer queries, the
  report, the Block Kit message and the PNG — p50/p95, and the *query* stage (time in
  the adapter's ``run_sql``) on its own. Targets (issue #13): p50 < 250 ms end to end
  and query < 50 ms at 1× (100k users).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from typing import Any

from benchmarks.common import (
    DEFAULT_USERS,
    bench_clock,
    ensure_warehouse,
    fmt_ms,
    machine,
    run_python,
    summary,
    table,
    write_result,
)

QUESTION = "revenue by traffic_source last 30 days"
MORE = (
    "aov where country = Brasil last 30 days",
    "revenue, orders, aov last month vs last year",
    "sessions last 90 days weekly",
    "items_sold by brand last 30 days top 10",
)
START_UP = r"""
import json, sys, time
t0 = time.perf_counter()
import metricflow.engine.metricflow_engine  # noqa: F401
import metricflow_semantics.model.dbt_manifest_parser  # noqa: F401
t1 = time.perf_counter()
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from bot.warehouse.semantic import SemanticLayer
layer = SemanticLayer(DuckDBWarehouse(sys.argv[1]))
t2 = time.perf_counter()
layer.warm()
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "warm_s": t3 - t2}))
"""


class TimingSqlWarehouse:
    """The DuckDB adapter with its ``run_sql`` (the semantic layer's queries) and ``run``
    (the marts' named queries) timed per thread."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.engine = inner.engine
        self._local = threading.local()

    def _timed(self, call, *args):
        started = time.perf_counter()
        try:
            return call(*args)
        finally:
            spent = time.perf_counter() - started
            self._local.spent = getattr(self._local, "spent", 0.0) + spent
            self._local.queries = getattr(self._local, "queries", 0) + 1

    def run(self, name: str, params: dict | None = None):
        return self._timed(self.inner.run, name, params)

    def run_sql(self, label: str, sql: str, params: dict):
        return self._timed(self.inner.run_sql, label, sql, params)

    def mart_relation(self, table_name: str) -> str:
        return self.inner.mart_relation(table_name)

    def take(self) -> tuple[float, int]:
        spent, queries = getattr(self._local, "spent", 0.0), getattr(self._local, "queries", 0)
        self._local.spent, self._local.queries = 0.0, 0
        return spent, queries

    def close(self) -> None:
        self.inner.close()


def _start_up(db, repeats: int) -> list[dict[str, float]]:
    out = []
    for _ in range(repeats):
        done = run_python(["-c", START_UP, str(db)])
        if done.returncode:
            raise SystemExit(f"start-up probe failed: {done.stderr[-2000:]}")
        out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return out


def _ask_once(kpi, warehouse, text: str) -> tuple[float, float, int]:
    """(end to end, query stage, queries) in seconds for question → blocks + PNG."""
    from bot import kinds
    from bot.answers import ErrorAnswer

    warehouse.take()
    started = time.perf_counter()
    answer = kpi.ask(text, charts=True)
    kinds.answer_blocks(answer)
    total = time.perf_counter() - started
    query, queries = warehouse.take()
    if isinstance(answer, ErrorAnswer):
        raise SystemExit(f"{text!r} failed: {answer.message}")
    return total, query, queries


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k users, few runs")
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args(argv)
    users = 10_000 if args.quick else DEFAULT_USERS
    runs = 8 if args.quick else args.runs
    db = ensure_warehouse(users)

    from bot.service import KpiService
    from bot.warehouse.base import MartReader
    from bot.warehouse.duckdb_adapter import DuckDBWarehouse

    print(f"start-up (fresh processes, {users:,} users) …")
    starts = _start_up(db, 2 if args.quick else 3)

    warehouse = TimingSqlWarehouse(DuckDBWarehouse(db))
    kpi = KpiService(MartReader(warehouse), clock=bench_clock)
    started = time.perf_counter()
    kpi.semantic.vocabulary()  # what a background warm() does at server start
    warm_in_process = time.perf_counter() - started
    first = _ask_once(kpi, warehouse, QUESTION)

    results: dict[str, dict[str, Any]] = {}
    for text in (QUESTION, *MORE):
        _ask_once(kpi, warehouse, text)  # each shape compiled once
        totals, queries, counts = [], [], set()
        for _ in range(runs):
            total, query, count = _ask_once(kpi, warehouse, text)
            totals.append(total)
            queries.append(query)
            counts.add(count)
        results[text] = {"total": summary(totals), "query": summary(queries),
                         "queries": sorted(counts)}  # fmt: skip

    rows = [
        [text, fmt_ms(r["total"]["p50_ms"]), fmt_ms(r["total"]["p95_ms"]),
         fmt_ms(r["query"]["p50_ms"]), fmt_ms(r["query"]["p95_ms"]), r["queries"][0]]
        for text, r in results.items()
    ]  # fmt: skip
    print(
        table(
            ["question → message + PNG", "p50 ms", "p95 ms", "query p50", "query p95", "queries"],
            rows,
        )
    )
    print(
        f"\nMetricFlow imports {fmt_ms(min(s['import_s'] for s in starts) * 1000)} ms, "
        f"manifest + engine {fmt_ms(min(s['warm_s'] for s in starts) * 1000)} ms "
        f"(fresh process, best of {len(starts)}); vocabulary in this process "
        f"{fmt_ms(warm_in_process * 1000)} ms; first question (compiles) "
        f"{fmt_ms(first[0] * 1000)} ms, of which query {fmt_ms(first[1] * 1000)} ms"
    )
    main_result = results[QUESTION]
    ok = main_result["total"]["p50_ms"] < 250 and main_result["query"]["p50_ms"] < 50
    print(f"targets (p50 < 250 ms, query < 50 ms): {'met' if ok else 'NOT met'}")
    write_result(
        "semantic",
        {
            "users": users,
            "runs": runs,
            "machine": machine(),
            "start_up": starts,
            "vocabulary_in_process_s": warm_in_process,
            "first_question": {"total_s": first[0], "query_s": first[1], "queries": first[2]},
            "questions": results,
            "targets_met": ok,
        },
    )
    warehouse.close()


if __name__ == "__main__":
    main()
