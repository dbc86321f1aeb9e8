"""Answerers: one function per kind of question, ``(ctx, question) -> Answer``.

They read the marts through ``ctx.reader`` and compute with ``bot.core``; they draw no
charts (``bot.render.charts`` does, when the caller will show them) and know nothing
of Slack. ``bot.kinds`` pairs each with its question and renderers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from bot.answers import Freshness
from bot.warehouse.base import DataStatus, MartReader


@dataclass(frozen=True)
class AnswerContext:
    """What an answerer may use: the marts, the clock and the freshness threshold."""

    reader: MartReader
    clock: Callable[[], datetime]  # naive UTC now
    today: Callable[[], date]  # today in the reporting time zone
    stale_after_hours: float

    def freshness(self, status: DataStatus) -> Freshness:
        return Freshness(status.data_as_of, self.clock(), self.stale_after_hours)
