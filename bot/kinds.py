"""The one registration of every kind of answer.

A kind of answer is declared once, here: the grammar it answers (``QuestionSpec`` from
``bot.core.questions``: command words, parser, help, example), the answerer that builds
it (``bot.answerers``), and for each answer type it can produce, its renderers (terminal
text, Block Kit, notification text, JSON, chart) and whether it shows a revenue-derived
figure (``restricted``: the allowlists then decide who sees it, ``bot.access``).

Adding a kind: a spec in ``GRAMMAR``, an answerer module, a render module, and one
``AnswerKind`` in ``KINDS``. ``tests/test_kinds.py`` fails when a question type, an
answer type or a renderer is missing. Everything that shows an answer (the CLI, Slack,
the digest) goes through the functions at the bottom of this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot import answers
from bot.answerers import AnswerContext
from bot.answerers.alerts import answer_alert_command
from bot.answerers.commands import answer_digest_command, answer_help
from bot.answerers.experiments import answer_experiments
from bot.answerers.funnel import answer_funnel
from bot.answerers.metrics import answer_metric
from bot.answerers.retention import answer_retention
from bot.answerers.revenue import answer_revenue
from bot.chart_workers import ChartRenderer, render_inline
from bot.core import questions as grammar
from bot.core.follow_ups import FollowUps
from bot.render import alerts as al
from bot.render import blocks as bk
from bot.render import buttons as bt
from bot.render import charts, summary
from bot.render import funnel as fn
from bot.render import json_result as js
from bot.render import metrics as mt
from bot.render import text as tx
from bot.render import understood as ud


@dataclass(frozen=True)
class Presentation:
    """How one answer type is shown. Every field is required: a kind can't forget one."""

    answer_type: type
    text: Callable[[Any], list[str]]  # terminal lines (mrkdwn markers are stripped after)
    blocks: Callable[[Any], list[dict]]  # Block Kit, before freshness and Slack's limits
    fallback: Callable[[Any], str]  # the notification / screen-reader text
    json: Callable[[Any], dict[str, Any]]  # ``ask --json``: every number shown
    chart: Callable[[Any, ChartRenderer], tuple[answers.Chart, ...]]  # ``charts.no_chart`` if none
    # Shows a revenue-derived figure: only where the allowlists admit it. A predicate on
    # the answer when it depends on the data (a metric's ``meta.restricted`` in dbt).
    restricted: bool | Callable[[Any], bool]
    # The next questions one click away (buttons under it in Slack; ``bot.render.buttons``).
    follow_ups: Callable[[Any], FollowUps]


@dataclass(frozen=True)
class AnswerKind:
    spec: grammar.QuestionSpec  # command words, parser, help, example
    answer: Callable[[AnswerContext, Any], answers.Answer]
    presentations: tuple[Presentation, ...]  # every answer type ``answer`` returns but errors
    private: Callable[[Any], bool] = lambda question: False  # answered only to the asker

    @property
    def name(self) -> str:
        return self.spec.name


ERROR = Presentation(
    answers.ErrorAnswer, tx.error_text, bk.error_blocks, bk.error_fallback, js.error_json,
    charts.no_chart, restricted=False,
    follow_ups=bt.no_follow_ups,
)  # fmt: skip

KINDS: tuple[AnswerKind, ...] = (
    AnswerKind(
        grammar.REVENUE,
        answer_revenue,
        (
            Presentation(
                answers.RevenueAnswer, tx.revenue_text, bk.revenue_blocks, summary.revenue_headline,
                js.revenue_json, charts.revenue_answer_chart, restricted=True,
                follow_ups=bt.revenue_follow_ups,
            ),
        ),
    ),
    AnswerKind(
        grammar.EXPERIMENTS,
        answer_experiments,
        (
            # Revenue per user per arm (and users per arm) is revenue-derived.
            Presentation(
                answers.ExperimentAnswer, tx.experiment_text, bk.experiment_blocks,
                bk.experiment_fallback, js.experiment_json, charts.experiment_answer_chart,
                restricted=True,
                follow_ups=bt.experiment_follow_ups,
            ),
            Presentation(
                answers.ExperimentListAnswer, tx.experiment_list_text, bk.experiment_list_blocks,
                bk.experiment_list_fallback, js.experiment_list_json, charts.no_chart,
                restricted=False,
                follow_ups=bt.experiment_list_follow_ups,
            ),
        ),
        private=lambda question: question.experiment_id is None,  # the list is for the asker
    ),
    AnswerKind(
        grammar.RETENTION,
        answer_retention,
        (
            Presentation(
                answers.RetentionAnswer, tx.retention_text, bk.retention_blocks,
                summary.retention_headline, js.retention_json, charts.retention_answer_chart,
                restricted=False,
                follow_ups=bt.retention_follow_ups,
            ),
        ),
    ),
    AnswerKind(
        grammar.FUNNEL,
        answer_funnel,
        (
            # Sessions, users and conversions only: no revenue-derived figure.
            Presentation(
                answers.FunnelAnswer, fn.funnel_text, fn.funnel_blocks, fn.funnel_fallback,
                fn.funnel_json, fn.funnel_answer_chart, restricted=False,
                follow_ups=bt.funnel_follow_ups,
            ),
        ),
    ),
    AnswerKind(
        grammar.DIGEST,
        answer_digest_command,
        (
            Presentation(
                answers.DigestCommandAnswer, tx.digest_command_text, bk.digest_command_blocks,
                bk.help_fallback, js.digest_command_json, charts.no_chart, restricted=False,
                follow_ups=bt.no_follow_ups,
            ),
        ),
        private=lambda question: True,
    ),
    AnswerKind(
        grammar.ALERT,
        answer_alert_command,
        (
            Presentation(
                answers.AlertCommandAnswer, al.alert_command_text, al.alert_command_blocks,
                bk.help_fallback, al.alert_command_json, charts.no_chart, restricted=False,
                follow_ups=bt.no_follow_ups,
            ),
        ),
        private=lambda question: True,
    ),
    AnswerKind(
        grammar.HELP,
        answer_help,
        (
            Presentation(
                answers.HelpAnswer, tx.help_text, bk.help_blocks, bk.help_fallback, js.help_json,
                charts.no_chart, restricted=False,
                follow_ups=bt.no_follow_ups,
            ),
        ),
        private=lambda question: True,
    ),
    AnswerKind(
        grammar.METRICS,
        answer_metric,
        (
            # Restricted when any metric asked is (its ``meta.restricted`` in dbt).
            Presentation(
                answers.MetricAnswer, mt.metric_text, mt.metric_blocks, mt.metric_fallback,
                mt.metric_json, charts.metric_answer_chart,
                restricted=lambda answer: answer.report.restricted,
                follow_ups=bt.metric_follow_ups,
            ),
            Presentation(
                answers.MetricCatalogAnswer, mt.catalog_text, mt.catalog_blocks,
                mt.catalog_fallback, mt.catalog_json, charts.no_chart, restricted=False,
                follow_ups=bt.no_follow_ups,
            ),
        ),
        private=lambda question: question.listing is not None,  # lists are for the asker
    ),
)

_BY_QUESTION: dict[type, AnswerKind] = {kind.spec.question_type: kind for kind in KINDS}
_BY_ANSWER: dict[type, Presentation] = {
    p.answer_type: p for kind in KINDS for p in kind.presentations
} | {answers.ErrorAnswer: ERROR}


def kind_of(question: object) -> AnswerKind:
    return _BY_QUESTION[type(question)]


def presentation(answer: answers.Answer) -> Presentation:
    return _BY_ANSWER[type(answer)]


def is_restricted(answer: answers.Answer) -> bool:
    """Does this answer show a revenue-derived figure? (Declared per answer type, or
    decided by the answer type's predicate.)"""
    restricted = presentation(answer).restricted
    return restricted(answer) if callable(restricted) else restricted


def render_text(answer: answers.Answer) -> str:
    lines = presentation(answer).text(answer)
    return tx.finish_text(answer, ud.understood_lines(answer) + lines + ud.choice_lines(answer))


def answer_blocks(answer: answers.Answer, buttons: bool = False) -> list[dict]:
    """``buttons``: with the follow-up buttons under it (Slack answers to a person)."""
    body = (
        ud.understood_blocks(answer)
        + presentation(answer).blocks(answer)
        + ud.choice_blocks(answer)
        + bk.freshness_context(answer)
    )
    if not buttons:
        return bk.fit(body)
    actions = bt.follow_up_blocks(follow_ups(answer))
    return bk.fit(body, bk.MAX_BLOCKS - len(actions)) + actions


def follow_ups(answer: answers.Answer) -> FollowUps:
    return presentation(answer).follow_ups(answer)


def answer_text(answer: answers.Answer) -> str:
    return presentation(answer).fallback(answer)


def to_json_dict(
    answer: answers.Answer, chart_paths: dict[str, str] | None = None
) -> dict[str, Any]:
    body = presentation(answer).json(answer) | ud.understood_json(answer)
    return js.finish_json(answer, body, chart_paths or {})


def draw_charts(
    answer: answers.Answer, render: ChartRenderer = render_inline
) -> tuple[answers.Chart, ...]:
    return presentation(answer).chart(answer, render)
