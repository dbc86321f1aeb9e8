"""Where charts are rendered: in the answering thread, or in worker processes.

Rendering a chart is ~85 % of an answer's CPU and pure Python (matplotlib), so answers
rendered in the serving process hold its GIL: under load they slow Slack's acks (which
must arrive within 3 s) and use one core however many there are. ``serve`` therefore
renders in worker processes (``KPI_CHART_PROCESSES``, default 1; 0 = in-thread, as
the CLI does). The chart functions in ``bot.core.charts`` are pure and
take plain data, so a worker gets exactly the arguments an inline call would and returns
the same PNG bytes. benchmarks/README.md has the before/after figures.

A worker imports what drawing needs: ``bot.core.charts`` (matplotlib, numpy, PIL) and
the plain data types it is sent (``bot.core.table``, ``bot.core.chart_data``); never
pandas or the serving stack. (``python -m bot serve`` runs ``bot.__main__``, which spawn
does not re-run in its children.)
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import gc
import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

log = logging.getLogger("bot.charts")

RENDER_TIMEOUT_S = 60.0
PARENT_CHECK_S = 1.0
WORKER_NICENESS = 10  # lower CPU priority than the serving process (Unix nice)
# While the worker imports matplotlib (~0.5 s of CPU, at the same time as `serve` starts):
# a CPU share between the two, so on a busy machine neither the server's listening nor the
# first chart waits for the other to finish (benchmarks/README.md, "Footprint").
WORKER_START_NICENESS = 5


class ChartRenderer(Protocol):
    def __call__(self, chart: Callable[..., bytes], /, *args: Any, **kwargs: Any) -> bytes: ...


def render_inline(chart: Callable[..., bytes], /, *args: Any, **kwargs: Any) -> bytes:
    return chart(*args, **kwargs)


def _start_worker(parent: int) -> None:
    """Worker start-up: leave when the serving process ``parent`` is gone (killed, it
    can't shut the pool down); yield the CPU to the serving process, whose acks must
    not wait behind charts; import matplotlib and the chart code now rather than on
    the first chart."""
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    with contextlib.suppress(OSError):
        os.nice(WORKER_START_NICENESS)
    import bot.core.charts  # noqa: F401

    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS - WORKER_START_NICENESS)  # nice() adds to the current value

    # What the imports made lives as long as the worker: out of the collector's sight, so
    # the collection after each chart only walks what that chart made.
    gc.collect()
    gc.freeze()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:  # an orphan is re-parented, so its parent id changes
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def _ready() -> bool:
    return True


def _draw(chart: Callable[..., bytes], /, *args: Any, **kwargs: Any) -> bytes:
    """A chart drawn in a worker, then its figure freed and the heap handed back to the
    system. A matplotlib figure is a web of reference cycles, freed only by the cyclic
    collector, which otherwise runs when it pleases; and glibc keeps freed memory. With
    both, a worker holds ~70 MiB after 30 answers' charts instead of ~120 MiB; the
    collection costs ~1.5 ms, since ``_start_worker`` froze the imported modules' objects
    (benchmarks/README.md, "Footprint")."""
    try:
        return chart(*args, **kwargs)
    finally:
        gc.collect()
        _trim_heap()


def _trim_heap() -> None:
    global _malloc_trim
    if _malloc_trim is None:
        try:
            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc: nothing to trim
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim: Any = None


def loaded_modules() -> list[str]:
    """The modules imported in this process (tests and benchmarks ask a worker what it
    loaded: drawing needs matplotlib, numpy and the chart code, not pandas or Slack)."""
    return sorted(sys.modules)


class ChartWorkers:
    """Render charts in ``processes`` spawned worker processes.

    A worker that dies (killed, out of memory) breaks the pool: that chart is rendered
    in the calling thread instead and a new pool is started for the next one.
    """

    def __init__(self, processes: int = 1) -> None:
        self.processes = processes
        self._lock = threading.Lock()
        self._pool = self._new_pool()
        self._starting: list[concurrent.futures.Future] = []

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the serving process has threads (and DuckDB) that fork would copy.
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(
            self.processes,
            mp_context=context,
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )

    def warm(self, wait: bool = False) -> None:
        """Start the workers now so the first answer doesn't wait for them; ``wait``
        until they are up (else they start in the background)."""
        since = time.perf_counter()
        self._starting = [self._pool.submit(_ready) for _ in range(self.processes)]
        self._starting[0].add_done_callback(
            lambda _: log.info("chart worker ready seconds=%.2f", time.perf_counter() - since)
        )
        if wait:
            self.wait_started(RENDER_TIMEOUT_S)

    def wait_started(self, timeout_s: float) -> None:
        """Block until the workers ``warm`` started can draw (or ``timeout_s`` passes)."""
        with contextlib.suppress(Exception):  # a worker that failed to start: drawn later
            concurrent.futures.wait(self._starting, timeout=timeout_s)

    def __call__(self, chart: Callable[..., bytes], /, *args: Any, **kwargs: Any) -> bytes:
        pool = self._pool
        try:
            return pool.submit(_draw, chart, *args, **kwargs).result(timeout=RENDER_TIMEOUT_S)
        except BrokenProcessPool:
            log.warning("a chart worker process died; rendering here and restarting the workers")
            self._replace(pool)
            return chart(*args, **kwargs)

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:  # another thread may have replaced it already
                self._pool = self._new_pool()
        broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
