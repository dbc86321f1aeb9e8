"""Answers kept in memory, so a repeated question is answered without the warehouse.

An answer (its figures, and its charts' PNG bytes once drawn; its text and Block Kit
are rendered from those in well under a millisecond) is kept under

    (the parsed question, the as-of day, the warehouse's data version)

The parsed question is the normalisation: ``rev 30d`` and ``revenue last 30 days``
are the same frozen dataclass, so the same entry. The as-of day makes relative windows
roll over at midnight (in the reporting time zone). The data version says which data
answered:

* DuckDB: the live file's identity (``DuckDBWarehouse.data_version``); ``bot build``
  swaps in a new file (a new inode), so the first question after a rebuild misses;
* BigQuery (or any warehouse without ``data_version``): the marts' data-as-of, read at
  most once a minute (``DATA_AS_OF_CHECK_S``), so a new load is seen within a minute.

When the version changes every entry is dropped (they can never be asked for again).
The cache is bounded (``max_entries``, and ``max_bytes`` of chart PNGs), least recently
used first out. Errors are never kept: a timeout must not outlive the timeout. The
service doesn't serve an answer whose data has become stale since it was kept (its
stale warning and the data's age must be current).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.answers import Answer, ErrorAnswer

log = logging.getLogger("bot.cache")

DEFAULT_MAX_ENTRIES = 256
DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # chart PNGs are ~30–120 KB each
DATA_AS_OF_CHECK_S = 60.0


@dataclass(frozen=True)
class CacheKey:
    question: Hashable
    as_of: date
    data_version: Hashable


class AnswerCache:
    def __init__(
        self, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[CacheKey, Answer] = OrderedDict()
        self._bytes = 0
        self._version: Hashable = None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(
        self, key: CacheKey, usable: Callable[[Answer], bool] = lambda answer: True
    ) -> Answer | None:
        """The kept answer, if any and ``usable`` (one that isn't is dropped: a miss)."""
        with self._lock:
            self._follow_version(key.data_version)
            answer = self._entries.get(key)
            if answer is not None and not usable(answer):
                self._drop(key)
                answer = None
            if answer is None:
                self.misses += 1
            else:
                self._entries.move_to_end(key)
                self.hits += 1
            hits, misses = self.hits, self.misses
        log.info(
            "answer cache %s (hits=%d misses=%d)", "miss" if answer is None else "hit", hits, misses
        )
        return answer

    def peek(self, key: CacheKey) -> Answer | None:
        """The kept answer, if any, without counting a hit or a miss (the Home tab's
        first look, which never waits for the warehouse)."""
        with self._lock:
            self._follow_version(key.data_version)
            return self._entries.get(key)

    def put(self, key: CacheKey, answer: Answer) -> None:
        if isinstance(answer, ErrorAnswer):
            return
        with self._lock:
            self._follow_version(key.data_version)
            self._drop(key)
            self._entries[key] = answer
            self._bytes += _size(answer)
            while self._entries and (
                len(self._entries) > self.max_entries or self._bytes > self.max_bytes
            ):
                self._drop(next(iter(self._entries)))

    def upgrade(self, old: Answer, new: Answer) -> None:
        """``new`` (``old`` with its charts drawn) takes ``old``'s place, wherever it is."""
        with self._lock:
            for key, answer in self._entries.items():
                if answer is old:
                    self._bytes += _size(new) - _size(old)
                    self._entries[key] = new
                    return

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _follow_version(self, version: Hashable) -> None:
        """A new data version: nothing kept can be asked for again."""
        if version != self._version:
            if self._entries:
                log.info("answer cache cleared: new data (%d answers dropped)", len(self._entries))
            self._entries.clear()
            self._bytes = 0
            self._version = version

    def _drop(self, key: CacheKey) -> None:
        answer = self._entries.pop(key, None)
        if answer is not None:
            self._bytes -= _size(answer)


def _size(answer: Answer) -> int:
    return sum(len(chart.png) for chart in answer.charts)


class DataAsOfVersion:
    """The marts' data-as-of as a data version, read at most every ``check_every_s``
    (a warehouse with no cheaper signal of new data, such as BigQuery)."""

    def __init__(
        self,
        read: Callable[[], Any],
        check_every_s: float = DATA_AS_OF_CHECK_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._every = check_every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._value: Any = None
        self._read_at: float | None = None

    def __call__(self) -> Hashable:
        with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self._every:
                self._value = self._read()  # may raise WarehouseError: no cache then
                self._read_at = now
            return self._value
