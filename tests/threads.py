"""Joining test threads so that a hang fails the test instead of passing silently."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Joinable(Protocol):  # a threading.Thread or a multiprocessing.Process
    name: str

    def join(self, timeout: float | None = None) -> None: ...

    def is_alive(self) -> bool: ...


def join_or_fail(threads: Joinable | Iterable[Joinable], timeout: float) -> None:
    """Join each thread (or process); one still alive after ``timeout`` s fails the test."""
    for thread in list(threads) if isinstance(threads, Iterable) else [threads]:
        thread.join(timeout=timeout)
        assert not thread.is_alive(), f"thread {thread.name} still running after {timeout} s"
