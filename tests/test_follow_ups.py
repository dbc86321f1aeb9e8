"""Follow-up questions (bot.core.follow_ups) and their buttons (bot.render.buttons): pure.

Every question a button carries is text as typed after /kpi; each must parse back to
the question the button names — the same window the day after the answer's window ends,
the same comparison, breakdown, filters, grain and top — so a click asks exactly what
its label says. The buttons stay within Slack's Block Kit limits.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from slack_sdk.models.blocks import ActionsBlock

from bot.core import follow_ups as fu
from bot.core.metric_questions import MetricQuestion
from bot.core.questions import (
    ExperimentQuestion,
    FunnelQuestion,
    RetentionQuestion,
    RevenueQuestion,
    parse_question,
)
from bot.core.windows import parse_window
from bot.render import buttons as bt
from tests.test_metric_grammar import VOCAB

AS_OF = date(2026, 11, 25)


def ask(text: str):
    return parse_question(text, AS_OF, VOCAB)


@pytest.mark.parametrize(
    "phrase",
    [
        "last 7 days",
        "yesterday",
        "last week",
        "last 4 weeks",
        "mtd",
        "wtd",
        "ytd",
        "last month",
        "october",
        "q3 2025",
        "2025",
        "2025-10-03",
        "2025-09-14..2025-10-14",
        "since 2025-09-01",
    ],
)
def test_a_window_phrase_reads_back_as_the_same_window(phrase: str) -> None:
    window = parse_window(phrase, AS_OF)
    assert window is not None
    again = parse_window(fu.window_phrase(window), window.end + timedelta(days=1))
    assert again is not None
    assert (again.start, again.end, again.kind) == (window.start, window.end, window.kind)


def test_a_relative_window_stays_relative_so_refresh_moves_with_the_day() -> None:
    window = parse_window("last 30 days", AS_OF)
    assert window is not None and fu.window_phrase(window) == "last 30 days"
    assert fu.window_phrase(parse_window("mtd", AS_OF)) == "month to date"


@pytest.mark.parametrize(
    "typed",
    [
        "revenue last 30 days",
        "rev 30d vs ly",
        "revenue mtd",
        "revenue 2025-09-14..2025-10-14 vs last year",
        "ab checkout_redesign",
        "ab checkout_redesign --alpha 10%",
        "retention 8",
        "funnel last week vs last year",
        "funnel mtd by browser",
        "funnel for checkout_redesign",
        "orders by traffic_source last 30 days",
        "aov where country = Brasil mtd",
        'orders where country = "United States" last 30 days',
        "revenue, orders, aov last month vs last year",
        "sessions last 90 days weekly",
        "revenue by category where gender != F top 5",
        "orders by gender where country in (Brasil, Spain) last 7 days",
    ],
)
def test_refresh_asks_the_same_question_and_every_button_parses(typed: str) -> None:
    question = ask(typed)
    follow_ups = _follow_ups(question)
    refresh = [b for b in follow_ups.buttons if b.label == fu.REFRESH_LABEL]
    assert [ask(r.question) for r in refresh] == [question]
    for item in (*follow_ups.buttons, *follow_ups.picker):
        parsed = ask(item.question)
        assert type(parsed) in (type(question), FunnelQuestion, RevenueQuestion), item


def _follow_ups(question) -> fu.FollowUps:
    if isinstance(question, RevenueQuestion):
        return fu.revenue_follow_ups(question)
    if isinstance(question, ExperimentQuestion):
        return fu.experiment_follow_ups(question)
    if isinstance(question, RetentionQuestion):
        return fu.retention_follow_ups(question)
    if isinstance(question, FunnelQuestion):
        return fu.funnel_follow_ups(question)
    assert isinstance(question, MetricQuestion), question
    shared = set.intersection(*(set(VOCAB.metric(m).dimensions) for m in question.metrics))
    return fu.metric_follow_ups(question, tuple(sorted(shared)))


def test_revenue_buttons_offer_the_other_windows_and_last_year() -> None:
    question = ask("revenue last 30 days")
    buttons = {b.label: ask(b.question) for b in fu.revenue_follow_ups(question).buttons}
    assert set(buttons) == {"7 days", "90 days", "Month to date", "vs last year", "Refresh"}
    assert buttons["90 days"].current == parse_window("last 90 days", AS_OF)
    assert buttons["Month to date"].current == parse_window("mtd", AS_OF)
    assert buttons["vs last year"].current == question.current
    assert buttons["vs last year"].last_year is not None
    flipped = fu.revenue_follow_ups(buttons["vs last year"]).buttons
    assert [ask(b.question).last_year for b in flipped if b.label == "vs previous period"] == [None]


def test_window_buttons_keep_the_comparison() -> None:
    question = ask("revenue last 7 days vs last year")
    [thirty] = [b for b in fu.revenue_follow_ups(question).buttons if b.label == "30 days"]
    assert ask(thirty.question).last_year == ask("revenue last 30 days vs last year").last_year


def test_experiment_offers_its_funnel() -> None:
    [funnel, _] = fu.experiment_follow_ups(ask("ab checkout_redesign")).buttons
    assert ask(funnel.question) == FunnelQuestion(experiment_id="checkout_redesign")


def test_retention_offers_other_week_counts() -> None:
    buttons = fu.retention_follow_ups(ask("retention 8")).buttons
    assert [ask(b.question) for b in buttons] == [
        RetentionQuestion(4),
        RetentionQuestion(12),
        RetentionQuestion(26),
        RetentionQuestion(8),
    ]


def test_metric_picker_breaks_down_by_each_dimension_keeping_the_rest() -> None:
    question = ask("orders where country = Brasil last 30 days vs last year")
    follow_ups = fu.metric_follow_ups(question, ("country", "gender", "traffic_source"))
    by_gender = ask(next(p.question for p in follow_ups.picker if p.label == "by gender"))
    assert by_gender.group_by == "gender"
    assert (by_gender.filters, by_gender.current, by_gender.comparison) == (
        question.filters,
        question.current,
        question.comparison,
    )


def test_buttons_are_one_valid_actions_block_with_unique_action_ids() -> None:
    question = ask("orders by traffic_source last 30 days")
    follow_ups = fu.metric_follow_ups(question, ("country", "gender", "traffic_source"))
    [block] = bt.follow_up_blocks(follow_ups)
    ActionsBlock(**block).validate_json()  # slack_sdk checks Slack's limits
    ids = [e["action_id"] for e in block["elements"]]
    assert len(ids) == len(set(ids))
    assert ids[-1] == bt.PIN_ACTION and block["elements"][-1]["value"] == fu.metric_text(question)
    assert all(re.fullmatch(bt.ASK_ACTION_PATTERN, i) for i in ids[:-1])
    [picker] = [e for e in block["elements"] if e["type"] == "static_select"]
    assert "by traffic_source" not in [o["text"]["text"] for o in picker["options"]]


def test_nothing_to_offer_is_no_block() -> None:
    assert bt.follow_up_blocks(fu.NONE) == []


def test_every_button_the_registry_puts_under_an_answer_asks_a_question(built_db) -> None:
    """For each answer type's example (tests/test_kinds.py), every follow-up the registry
    declares (``Presentation.follow_ups``) parses back to a question, never an error."""
    from bot import kinds
    from bot.answers import ErrorAnswer
    from bot.core.questions import ParseError
    from bot.service import KpiService
    from bot.warehouse.base import MartReader
    from bot.warehouse.duckdb_adapter import DuckDBWarehouse
    from tests.test_kinds import AS_OF as KINDS_AS_OF
    from tests.test_kinds import CLOCK, EXAMPLES

    kpi = KpiService(MartReader(DuckDBWarehouse(built_db)), clock=lambda: CLOCK)
    vocabulary = kpi.semantic.vocabulary()
    offered = 0
    for text in EXAMPLES:
        answer = kpi.ask(text, as_of=KINDS_AS_OF, charts=False)
        assert not isinstance(answer, ErrorAnswer), text
        items = kinds.follow_ups(answer)
        for item in (*items.buttons, *items.picker):
            parsed = parse_question(item.question, KINDS_AS_OF, vocabulary)
            assert not isinstance(parsed, ParseError), (text, item, parsed)
            offered += 1
        blocks = kinds.answer_blocks(answer, buttons=True)
        assert len(blocks) <= 50 and (bool(items) == (blocks[-1]["type"] == "actions"))
    assert offered > 20
