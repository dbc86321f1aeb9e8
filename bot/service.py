"""The one service layer: a question in, an answer (figures + charts) out.

The terminal CLI, the Slack commands and the weekly digest all call ``KpiService``, so
the same question gets the same figures everywhere. Which answerer and renderers a
question gets is declared once in ``bot.kinds``. Answers are plain dataclasses
(``bot.answers``); charts are drawn only when the caller will show them. Nothing here
raises to the caller: every failure becomes an ``ErrorAnswer`` with a specific message.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot import kinds
from bot.answer_cache import DATA_AS_OF_CHECK_S, AnswerCache, CacheKey, DataAsOfVersion
from bot.answerers import AnswerContext
from bot.answerers.metrics import SemanticSource
from bot.answers import Answer, ErrorAnswer, Freshness, naive_utc_now, parse_error_answer
from bot.chart_workers import ChartRenderer, render_inline
from bot.core.metric_grammar import needs_vocabulary
from bot.core.metric_questions import Vocabulary
from bot.core.questions import ParseError, Question, parse_question
from bot.warehouse.base import DataStatus, MartReader, WarehouseError

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger("bot.service")
UTC_ZONE = ZoneInfo("UTC")


# Answers are CPU-bound Python (mostly chart rendering), so more of them at once than
# this only fight over the GIL: no more answers per second, and the Slack acks that
# must run meanwhile wait longer (benchmarks/README.md: with 2 instead of no limit, 20
# concurrent /kpi senders saw ack p99 90 → 57 ms for a burst, 240 → 91 ms sustained, and
# the same throughput). Callers beyond the slots wait here; Slack I/O is not limited.
ANSWER_SLOTS = 2


class KpiService:
    def __init__(
        self,
        reader: MartReader,
        *,
        timezone: ZoneInfo = UTC_ZONE,
        stale_after_hours: float = 36.0,
        clock: Callable[[], datetime] = naive_utc_now,
        answer_slots: int = ANSWER_SLOTS,
        render: ChartRenderer = render_inline,
        semantic: SemanticSource | None = None,
        cache: AnswerCache | None = None,
        data_as_of_check_s: float = DATA_AS_OF_CHECK_S,
    ) -> None:
        self.reader = reader
        self.timezone = timezone
        self.stale_after_hours = stale_after_hours
        self.clock = clock  # naive UTC now; injectable for tests and the digest
        self._slots = threading.BoundedSemaphore(answer_slots)
        self.render = render  # in this thread, or in worker processes (bot.chart_workers)
        # The metric grammar's vocabulary, loaded once on the first metric question.
        self.semantic = semantic or SemanticSource(reader)
        # Repeated questions answered from memory (None: every question asks the marts).
        self.cache = cache
        version = getattr(reader.warehouse, "data_version", None)
        # Without a cheap version (BigQuery): the marts' data-as-of, re-read this often.
        self._data_version = version or DataAsOfVersion(
            lambda: reader.data_status().data_as_of, data_as_of_check_s
        )

    def today(self) -> date:
        """Today in the reporting time zone: the as-of date of relative windows."""
        return self.clock().replace(tzinfo=UTC).astimezone(self.timezone).date()

    @classmethod
    def from_settings(
        cls, settings: Settings, render: ChartRenderer = render_inline, **overrides
    ) -> KpiService:
        """The service every edge uses: the configured warehouse, time zone and
        staleness threshold (``overrides`` for tests: a clock, answer slots)."""
        from bot.warehouse import open_reader

        options = {"cache": AnswerCache(settings.answer_cache_entries)} | overrides
        if not settings.answer_cache_entries:
            options["cache"] = None
        return cls(
            open_reader(settings),
            timezone=settings.timezone,
            stale_after_hours=settings.stale_after_hours,
            render=render,
            **options,
        )

    @property
    def context(self) -> AnswerContext:
        return AnswerContext(self.reader, self.clock, self.today, self.stale_after_hours)

    def ask(self, text: str, as_of: date | None = None, *, charts: bool = True) -> Answer:
        parsed = parse_question(text, as_of or self.today(), self.vocabulary_for(text))
        if isinstance(parsed, ParseError):
            return parse_error_answer(parsed)
        return self.answer(parsed, charts=charts)

    def vocabulary_for(self, text: str) -> Vocabulary | Callable[[], Vocabulary | None]:
        """The semantic layer's vocabulary if ``text`` may need it; otherwise the function
        that loads it, called only if the strict grammar can't read the text (other
        commands never wait for MetricFlow to load)."""
        return self.semantic.vocabulary() if needs_vocabulary(text) else self.semantic.vocabulary

    def answer(self, question: Question, *, charts: bool = True) -> Answer:
        """The answer; its charts drawn only with ``charts=True`` (the caller shows them).
        From the cache when the same question was answered today on the same data."""
        key = self._cache_key(question)
        cached = None
        if key is not None and self.cache is not None:
            cached = self.cache.get(key, usable=self._fresh_enough)
        if cached is not None:
            return _as_understood(self.with_charts(cached) if charts else cached, question)
        with self._slots:
            answer = self._answer(question, charts)
        if key is not None and self.cache is not None and self._fresh_enough(answer):
            self.cache.put(key, answer)  # kept as for a typed question: phrasings share it
        return _as_understood(answer, question)

    def _fresh_enough(self, answer: Answer) -> bool:
        """Not stale now: a stale answer's warning states the data's age, which moves, so
        it is answered afresh each time (and a fresh one turning stale is not served)."""
        freshness = getattr(answer, "freshness", None)
        if freshness is None:
            return True
        return not Freshness(freshness.data_as_of, self.clock(), freshness.stale_after_hours).stale

    def cached_answer(self, question: Question) -> Answer | None:
        """The answer if the cache has it, without asking the warehouse (None otherwise)."""
        key = self._cache_key(question)
        if key is None or self.cache is None:
            return None
        answer = self.cache.peek(key)
        return answer if answer is not None and self._fresh_enough(answer) else None

    def with_charts(self, answer: Answer) -> Answer:
        """``answer`` with its charts drawn (for a caller about to show them)."""
        if answer.charts:
            return answer
        with self._slots:
            try:
                drawn = replace(answer, charts=kinds.draw_charts(answer, self.render))
            except Exception:
                return _internal_error(f"drawing {type(answer).__name__}")
        if self.cache is not None and drawn.charts:
            self.cache.upgrade(answer, drawn)  # the next ask gets the PNGs too
        return drawn

    def _cache_key(self, question: Question) -> CacheKey | None:
        """None when there is no cache, or the data version can't be read (the answer
        then reports the warehouse's error as usual)."""
        if self.cache is None:
            return None
        try:
            key = CacheKey(question, self.today(), self._data_version())
            hash(key)
        except (WarehouseError, TypeError):
            return None
        return key

    def freshness(self, status: DataStatus) -> Freshness:
        return self.context.freshness(status)

    def _answer(self, question: Question, charts: bool) -> Answer:
        try:
            answer = kinds.kind_of(question).answer(self.context, question)
            if charts:
                answer = replace(answer, charts=kinds.draw_charts(answer, self.render))
            return answer
        except WarehouseError as err:
            log.warning("warehouse error: %s", type(err).__name__)
            return ErrorAnswer("warehouse", str(err))
        except Exception:  # the last line of defence: a reply, never a stack trace
            return _internal_error(f"answering {type(question).__name__}")


def _as_understood(answer: Answer, question: Question) -> Answer:
    """A loosely phrased question's answer says how it was read (the cache keys on the
    question, not its phrasing, so this is applied after it)."""
    understood = getattr(question, "understood", None)
    if understood is None or not hasattr(answer, "understood"):
        return answer
    return replace(answer, understood=understood)


def _internal_error(doing: str) -> ErrorAnswer:
    """Logs the exception being handled with a short reference the user is shown."""
    ref = uuid.uuid4().hex[:8]
    log.exception("unexpected error %s (ref %s)", doing, ref)
    return ErrorAnswer("internal", f"Something went wrong on our side (ref `{ref}`). It's logged.")
