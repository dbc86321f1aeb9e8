"""Questions as text again, and the next questions one click away (pure).

A button under an answer carries a question *as a person would type it after /kpi*
(``revenue last 30 days vs last year``): the Slack edge re-parses and re-validates it
exactly like typed text, so a forged button can ask nothing a typed question can't.
This module turns parsed questions back into such text and proposes the follow-ups for
each kind (other windows, a comparison, a breakdown, other week counts, a refresh).

Every text made here must parse back to the question it describes (tests/test_follow_ups.py
round-trips them through ``parse_question``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bot.core.metric_questions import MetricFilter, MetricQuestion
from bot.core.questions import (
    DEFAULT_ALPHA,
    ExperimentQuestion,
    FunnelQuestion,
    RetentionQuestion,
    RevenueQuestion,
)
from bot.core.windows import DateWindow, WindowError, parse_window

# The windows offered under any windowed answer (the "7/30/90 days, month to date").
OTHER_WINDOWS: tuple[tuple[str, str], ...] = (
    ("7 days", "last 7 days"),
    ("30 days", "last 30 days"),
    ("90 days", "last 90 days"),
    ("Month to date", "mtd"),
)
OTHER_WEEK_COUNTS = (4, 8, 12, 26)
REFRESH_LABEL = "Refresh"
GRAIN_WORD = {"day": "daily", "week": "weekly", "month": "monthly"}


@dataclass(frozen=True)
class FollowUp:
    label: str  # the button's words (plain text)
    question: str  # the question, as typed after /kpi


@dataclass(frozen=True)
class FollowUps:
    """The buttons under one answer, and an optional picker (e.g. "by …")."""

    buttons: tuple[FollowUp, ...] = ()
    picker_label: str = ""
    picker: tuple[FollowUp, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.buttons or self.picker)


NONE = FollowUps()


def window_phrase(window: DateWindow) -> str:
    """Words that give back ``window`` when typed the day after it ends (relative windows
    end yesterday, so their label re-reads as the same relative window: a Refresh
    tomorrow asks about tomorrow's "last 7 days"). Falls back to the explicit range."""
    anchor = window.end + timedelta(days=1)
    explicit = f"{window.start:%Y-%m-%d}..{window.end:%Y-%m-%d}"
    for phrase in (window.label.lower(), window.kind, explicit):
        if _reads_as(phrase, window, anchor):
            return phrase
    return explicit


def _reads_as(phrase: str, window: DateWindow, anchor: date) -> bool:
    try:
        parsed = parse_window(phrase, anchor)
    except (WindowError, ValueError, OverflowError):
        return False
    return parsed is not None and (parsed.start, parsed.end, parsed.kind) == (
        window.start,
        window.end,
        window.kind,
    )


# --- questions as text ----------------------------------------------------------------


def revenue_text(
    q: RevenueQuestion, window: str | None = None, last_year: bool | None = None
) -> str:
    window = window or window_phrase(q.current)
    with_last_year = q.last_year is not None if last_year is None else last_year
    return f"revenue {window}" + (" vs last year" if with_last_year else "")


def experiment_text(q: ExperimentQuestion) -> str:
    if q.experiment_id is None:
        return "ab"
    alpha = "" if q.alpha == DEFAULT_ALPHA else f" --alpha {q.alpha:g}"
    return f"ab {q.experiment_id}{alpha}"


def retention_text(q: RetentionQuestion, weeks: int | None = None) -> str:
    return f"retention {weeks or q.weeks}"


def funnel_text(
    q: FunnelQuestion,
    window: str | None = None,
    last_year: bool | None = None,
    dimension: str | None = None,
) -> str:
    if q.experiment_id is not None:
        return f"funnel for {q.experiment_id}"
    assert q.current is not None
    window = window or window_phrase(q.current)
    dimension = dimension or q.dimension
    if dimension is not None:
        return f"funnel {window} by {dimension}"
    with_last_year = q.vs_last_year if last_year is None else last_year
    return f"funnel {window}" + (" vs last year" if with_last_year else "")


def metric_text(
    q: MetricQuestion,
    window: str | None = None,
    last_year: bool | None = None,
    group_by: str | None = None,
) -> str:
    """``orders, aov by country where gender = "F" last 30 days weekly vs last year top 5``."""
    if q.listing == "metrics":
        return "metrics"
    if q.listing == "dimensions":
        return f"dimensions {q.metrics[0]}" if q.metrics else "metrics"
    assert q.current is not None
    parts = [", ".join(q.metrics)]
    group_by = group_by or q.group_by
    if group_by:
        parts.append(f"by {group_by}")
    parts += [_filter_text(f) for f in q.filters]
    parts.append(window or window_phrase(q.current))
    if q.grain:
        parts.append(GRAIN_WORD[q.grain])
    with_last_year = q.comparison == "last_year" if last_year is None else last_year
    if with_last_year:
        parts.append("vs last year")
    if q.top is not None:
        parts.append(f"top {q.top}")
    return " ".join(parts)


def _filter_text(f: MetricFilter) -> str:
    if len(f.values) == 1:
        return f'where {f.dimension} {"!=" if f.negate else "="} "{f.values[0]}"'
    values = ", ".join(f.values)
    return f"where {f.dimension} {'not in' if f.negate else 'in'} ({values})"


# --- the next questions ---------------------------------------------------------------


def _window_buttons(current: DateWindow, ask) -> list[FollowUp]:
    """One button per offered window the answer isn't already for."""
    shown = window_phrase(current)
    return [FollowUp(label, ask(phrase)) for label, phrase in OTHER_WINDOWS if phrase != shown]


def revenue_follow_ups(q: RevenueQuestion) -> FollowUps:
    buttons = _window_buttons(q.current, lambda w: revenue_text(q, window=w))
    with_last_year = q.last_year is not None
    buttons.append(
        FollowUp(
            "vs previous period" if with_last_year else "vs last year",
            revenue_text(q, last_year=not with_last_year),
        )
    )
    return FollowUps((*buttons, FollowUp(REFRESH_LABEL, revenue_text(q))))


def experiment_follow_ups(q: ExperimentQuestion) -> FollowUps:
    assert q.experiment_id is not None
    return FollowUps(
        (
            FollowUp("Funnel for this experiment", f"funnel for {q.experiment_id}"),
            FollowUp(REFRESH_LABEL, experiment_text(q)),
        )
    )


def experiment_list_follow_ups(experiment_ids: list[str]) -> FollowUps:
    """The list is a menu: one button per experiment (Slack takes 25 per block)."""
    return FollowUps(tuple(FollowUp(e, f"ab {e}") for e in experiment_ids[:24]))


def retention_follow_ups(q: RetentionQuestion) -> FollowUps:
    buttons = [
        FollowUp(f"{weeks} weeks", retention_text(q, weeks))
        for weeks in OTHER_WEEK_COUNTS
        if weeks != q.weeks
    ]
    return FollowUps((*buttons, FollowUp(REFRESH_LABEL, retention_text(q))))


def funnel_follow_ups(q: FunnelQuestion) -> FollowUps:
    if q.experiment_id is not None or q.current is None:
        return FollowUps((FollowUp(REFRESH_LABEL, funnel_text(q)),))
    buttons = _window_buttons(q.current, lambda w: funnel_text(q, window=w))
    if q.dimension is None:
        buttons.append(
            FollowUp(
                "vs previous period" if q.vs_last_year else "vs last year",
                funnel_text(q, last_year=not q.vs_last_year),
            )
        )
    picker = tuple(
        FollowUp(f"by {d}", funnel_text(q, dimension=d))
        for d in ("traffic_source", "browser")
        if d != q.dimension
    )
    return FollowUps((*buttons, FollowUp(REFRESH_LABEL, funnel_text(q))), "By …", picker)


def metric_follow_ups(q: MetricQuestion, dimensions: tuple[str, ...]) -> FollowUps:
    """``dimensions``: those every metric asked can be broken down by (the semantic
    layer's, from the answer's report)."""
    if q.listing is not None or q.current is None:
        return NONE
    buttons = _window_buttons(q.current, lambda w: metric_text(q, window=w))
    last_year = q.comparison == "last_year"
    buttons.append(
        FollowUp(
            "vs previous period" if last_year else "vs last year",
            metric_text(q, last_year=not last_year),
        )
    )
    picker = tuple(
        FollowUp(f"by {d}", metric_text(q, group_by=d)) for d in dimensions if d != q.group_by
    )
    return FollowUps((*buttons, FollowUp(REFRESH_LABEL, metric_text(q))), "By …", picker)
