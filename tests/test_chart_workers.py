"""Charts rendered in worker processes (what ``serve`` does) equal charts rendered inline,
and a worker that dies costs no answer."""

from __future__ import annotations

import multiprocessing
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.chart_workers import ChartWorkers, render_inline
from bot.service import KpiService
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.conftest import DEMO_END

AS_OF = DEMO_END + timedelta(days=1)


def in_a_worker() -> bool:
    return multiprocessing.parent_process() is not None


def rendered_by() -> bytes:
    """A stand-in chart: says which process rendered it."""
    return f"{'worker' if in_a_worker() else 'inline'}:{os.getpid()}".encode()


def die_in_a_worker() -> bytes:
    """A chart whose worker process dies mid-render (as if killed or out of memory)."""
    if in_a_worker():
        os._exit(1)
    return b"rendered inline"


@pytest.fixture(scope="module")
def workers() -> ChartWorkers:
    pool = ChartWorkers(2)
    yield pool
    pool.close()


def test_charts_from_workers_are_byte_identical_to_inline(built_db: Path, workers) -> None:
    answers = {}
    for name, render in (("inline", render_inline), ("workers", workers)):
        kpi = KpiService(
            MartReader(DuckDBWarehouse(built_db)),
            clock=lambda: datetime(2026, 11, 25, 8, 0),
            render=render,
        )
        questions = ("revenue last 30 days", "ab pricing_page_abn", "retention")
        answers[name] = [kpi.ask(q, as_of=AS_OF) for q in questions]
        kpi.reader.warehouse.close()
    for inline, pooled in zip(answers["inline"], answers["workers"], strict=True):
        assert [c.name for c in inline.charts] == [c.name for c in pooled.charts]
        assert len(inline.charts) == 1, inline  # every one of these answers has a chart
        assert [c.png for c in pooled.charts] == [c.png for c in inline.charts]
        assert all(c.png.startswith(b"\x89PNG") for c in pooled.charts)


def test_a_chart_runs_in_a_worker_process(workers) -> None:
    who = workers(rendered_by).decode()
    assert who.startswith("worker:") and who != f"worker:{os.getpid()}"


def test_a_dead_worker_costs_no_chart_and_the_pool_recovers() -> None:
    pool = ChartWorkers(1)
    try:
        assert pool(die_in_a_worker) == b"rendered inline"  # rendered here instead
        assert pool(rendered_by).startswith(b"worker:")  # a new pool took over
    finally:
        pool.close()


def niceness() -> bytes:
    return str(os.nice(0)).encode()


def test_a_worker_yields_the_cpu_to_the_serving_process(workers) -> None:
    """Started at a share of the CPU (its imports run beside serve's start-up), then at
    WORKER_NICENESS below the serving process once it can draw."""
    from bot.chart_workers import WORKER_NICENESS, WORKER_START_NICENESS

    assert 0 < WORKER_START_NICENESS < WORKER_NICENESS
    assert int(workers(niceness)) == min(os.nice(0) + WORKER_NICENESS, 19)
