"""Joining test threads so that a hang fails the test instead of passing silently."""

from __future__ import annotations

import threading
from collections.abc import Iterable


def join_or_fail(threads: threading.Thread | Iterable[threading.Thread], timeout: float) -> None:
    """Join each thread; a thread still alive after ``timeout`` seconds fails the test."""
    for thread in [threads] if isinstance(threads, threading.Thread) else list(threads):
        thread.join(timeout=timeout)
        assert not thread.is_alive(), f"thread {thread.name} still running after {timeout} s"
