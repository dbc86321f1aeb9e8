"""``funnel …``: a window's session funnel against a comparison window, the same funnel
by traffic source or browser, or an experiment's user funnel by variant."""

from __future__ import annotations

from bot.answerers import AnswerContext
from bot.answers import ErrorAnswer, FunnelAnswer
from bot.core.funnel import analyze_experiment_funnel, analyze_segments, analyze_window
from bot.core.questions import EXAMPLE_FUNNEL, FunnelQuestion, escape_mrkdwn
from bot.core.windows import DateWindow, span_text
from bot.warehouse.base import DataStatus


def answer_funnel(ctx: AnswerContext, question: FunnelQuestion) -> FunnelAnswer | ErrorAnswer:
    if question.experiment_id is not None:
        return _experiment(ctx, question, question.experiment_id)
    assert question.current is not None  # the parser sets a window for the other forms
    status = ctx.reader.data_status()
    window = question.current
    if question.dimension is not None:
        rows = ctx.reader.funnel_segments(question.dimension, window.start, window.end)
        report = analyze_segments(question.dimension, rows)
    else:
        compare = question.compare
        if compare is None:
            current, previous = ctx.reader.funnel_window(window.start, window.end), None
        else:
            current, previous = ctx.reader.funnel_windows(
                window.start, window.end, compare.start, compare.end
            )
        report = analyze_window(current, previous)
    if report.current is None or report.current.counts.entered == 0:
        return _no_sessions(window, status)
    return FunnelAnswer(question, report, ctx.freshness(status))


def _no_sessions(window: DateWindow, status: DataStatus) -> ErrorAnswer:
    cover = (
        f"the data covers {status.first_day:%Y-%m-%d} to {status.last_day:%Y-%m-%d}"
        if status.first_day and status.last_day
        else "there is no data yet"
    )
    span = span_text(window.start, window.end)
    where = window.label if span in window.label else f"{window.label} ({span})"
    return ErrorAnswer("empty", f"No sessions in {escape_mrkdwn(where)}: {cover}.", EXAMPLE_FUNNEL)


def _experiment(
    ctx: AnswerContext, question: FunnelQuestion, experiment_id: str
) -> FunnelAnswer | ErrorAnswer:
    known = sorted(e.experiment_id for e in ctx.reader.experiments())
    if experiment_id not in known:
        names = ", ".join(f"`{escape_mrkdwn(name)}`" for name in known) or "none yet"
        return ErrorAnswer(
            "unknown_experiment",
            f"I don't know an experiment called `{escape_mrkdwn(experiment_id)}`. "
            f"Known experiments: {names}.",
            f"/kpi funnel for {known[0]}" if known else "/kpi ab",
        )
    report = analyze_experiment_funnel(experiment_id, ctx.reader.experiment_funnel(experiment_id))
    if report.experiment is None:  # no exposed users, or counts that aren't a funnel
        return ErrorAnswer("empty", escape_mrkdwn(report.message or "No funnel to show."))
    status = ctx.reader.data_status()
    return FunnelAnswer(question, report, ctx.freshness(status))
