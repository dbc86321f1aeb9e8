"""Shared plumbing for the benchmarks: cached demo warehouses, timers, summaries, results.

Every benchmark measures on the embedded default (DuckDB + generated demo data) with a
fixed end date and an injected clock, so two runs on different days ask the same
questions of the same data. Warehouses are cached under ``benchmarks/results/`` (git
ignored) keyed by users/seed/end; ``meta.json`` beside each records how long it took
to generate and build when it was made.

Instrumentation only wraps public seams (a ``Warehouse`` wrapper, a ``KpiService``
subclass overriding the public ``answer``); no product code is patched.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
WAREHOUSE_DIR = RESULTS_DIR / "warehouses"

DEFAULT_USERS = 100_000  # the CLI's and `make demo`'s default scale ("1×")
SEED = 42
BENCH_END = date(2026, 11, 24)  # last day of generated data
# "Now" for every in-process service: the morning after the last day of data, so
# relative windows ("last 30 days") always land on data and nothing looks stale.
BENCH_NOW = datetime(2026, 11, 25, 6, 0)
QUESTIONS = ("revenue last 30 days", "ab checkout_redesign", "retention")


def bench_clock() -> datetime:
    return BENCH_NOW


# --------------------------------------------------------------------------- warehouses


def warehouse_dir(users: int, seed: int = SEED, end: date = BENCH_END) -> Path:
    return WAREHOUSE_DIR / f"u{users}-s{seed}-e{end.isoformat()}"


def ensure_warehouse(
    users: int = DEFAULT_USERS,
    *,
    seed: int = SEED,
    end: date = BENCH_END,
    fresh: bool = False,
    log: Callable[[str], None] = print,
) -> Path:
    """A generated + built demo warehouse, reused from the cache unless ``fresh``."""
    directory = warehouse_dir(users, seed, end)
    db, meta = directory / "kpi.duckdb", directory / "meta.json"
    if db.exists() and meta.exists() and not fresh:
        return db
    from bot.build import build
    from bot.demo_data import generate

    directory.mkdir(parents=True, exist_ok=True)
    meta.unlink(missing_ok=True)
    log(f"generating {users:,} users into {db} …")
    started = time.perf_counter()
    counts = generate(db, users=users, seed=seed, end=end)
    generated = time.perf_counter() - started
    log(f"  generated in {generated:.1f} s; dbt build …")
    result = build(db)
    log(f"  built in {result.seconds:.1f} s")
    meta.write_text(
        json.dumps(
            {
                "users": users,
                "seed": seed,
                "end": end.isoformat(),
                "rows": counts,
                "generate_s": round(generated, 3),
                "build_s": round(result.seconds, 3),
                "made_at": now_iso(),
            },
            indent=2,
        )
    )
    return db


# --------------------------------------------------------------------------- timing seams


class TimingWarehouse:
    """A ``Warehouse`` that times every named query of the adapter it wraps.

    Time is accumulated per thread, so concurrent Slack listeners each see only their
    own queries: ``take()`` returns (and resets) the calling thread's total in seconds.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.engine = inner.engine
        self._local = threading.local()

    def run(self, name: str, params: dict[str, Any] | None = None):
        started = time.perf_counter()
        try:
            return self.inner.run(name, params)
        finally:
            self._local.spent = getattr(self._local, "spent", 0.0) + (time.perf_counter() - started)
            self._local.queries = getattr(self._local, "queries", 0) + 1

    def take(self) -> tuple[float, int]:
        spent = getattr(self._local, "spent", 0.0)
        queries = getattr(self._local, "queries", 0)
        self._local.spent, self._local.queries = 0.0, 0
        return spent, queries

    def close(self) -> None:
        self.inner.close()


def timed_service(db: Path, *, timeout_s: float = 60.0):
    """(KpiService, TimingWarehouse) over ``db`` with the benchmark clock."""
    from bot.service import KpiService
    from bot.warehouse.base import MartReader
    from bot.warehouse.duckdb_adapter import DuckDBWarehouse

    warehouse = TimingWarehouse(DuckDBWarehouse(db, timeout_s=timeout_s))
    return KpiService(MartReader(warehouse), clock=bench_clock), warehouse


def timed_ask(
    service: Any, warehouse: TimingWarehouse, question: str, who: str
) -> tuple[float, float]:
    """(whole answer, warehouse part) in seconds for one question; an error answer stops
    the benchmark, since its timing would be meaningless."""
    from bot.answers import ErrorAnswer

    warehouse.take()
    started = time.perf_counter()
    answer = service.ask(question)
    total = time.perf_counter() - started
    query, _ = warehouse.take()
    if isinstance(answer, ErrorAnswer):
        raise SystemExit(f"{who}: {question!r} failed: {answer.message}")
    return total, query


def chart_renderer(answer: Any) -> Callable[[], Any]:
    """Re-render the answer's charts through the registry's public chart function
    (``bot.kinds.draw_charts``), in this thread."""
    from bot import kinds
    from bot.chart_workers import render_inline

    if not answer.charts:
        raise TypeError(f"no chart for {type(answer).__name__}")
    return lambda: kinds.draw_charts(answer, render_inline)


# --------------------------------------------------------------------------- statistics


def summary(samples_s: Iterable[float]) -> dict[str, float]:
    """n, p50, p95, p99, mean, min and max of durations given in seconds, as milliseconds."""
    values = np.asarray(list(samples_s), dtype=float) * 1000
    if values.size == 0:
        return {"n": 0}
    pct = np.percentile(values, [50, 95, 99])
    return {
        "n": int(values.size),
        "p50_ms": round(float(pct[0]), 2),
        "p95_ms": round(float(pct[1]), 2),
        "p99_ms": round(float(pct[2]), 2),
        "mean_ms": round(float(values.mean()), 2),
        "min_ms": round(float(values.min()), 2),
        "max_ms": round(float(values.max()), 2),
    }


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A plain fixed-width table for the terminal."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# --------------------------------------------------------------------------- machine, results


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def mem_available_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    total_mem = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        total_mem = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    import duckdb

    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "mem_total_gib": round(total_mem / 2**30, 1) if total_mem else None,
        "mem_available_gib": round((mem_available_bytes() or 0) / 2**30, 1),
        "disk_free_gib": round(shutil.disk_usage(RESULTS_DIR.parent).free / 2**30, 1),
        "load_average": load_average(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "duckdb": duckdb.__version__,
    }


def write_result(name: str, payload: dict[str, Any], log: Callable[[str], None] = print) -> Path:
    """``results/<name>-<UTC stamp>.json`` and ``results/<name>-latest.json``."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    body = json.dumps(
        {"benchmark": name, "finished_at": now_iso(), **payload}, indent=2, default=str
    )
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    path.write_text(body)
    (RESULTS_DIR / f"{name}-latest.json").write_text(body)
    log(f"\nwrote {path.relative_to(ROOT)}")
    return path


def children_max_rss_bytes() -> int:
    """Peak RSS of the largest waited-for child process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def self_max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def python_env() -> dict[str, str]:
    """The environment for child Pythons: this repo importable, no developer secrets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "KPI_", "GOOGLE_"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def run_python(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=kwargs.pop("cwd", ROOT),
        env=kwargs.pop("env", python_env()),
        text=True,
        capture_output=True,
        check=False,
        **kwargs,
    )
