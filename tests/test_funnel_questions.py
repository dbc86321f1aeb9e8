"""``/kpi funnel …`` parsing: every form at a fixed as-of date, a specific message with a
working example for every bad form, and no crash or unescaped echo on arbitrary text."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.questions import (
    USAGE,
    FunnelQuestion,
    ParseError,
    parse_question,
    topic_usage,
)
from bot.core.windows import parse_window, previous_window, same_window_last_year

AS_OF = date(2026, 11, 25)


def window(text: str, vs_last_year: bool = False) -> FunnelQuestion:
    current = parse_window(text, AS_OF)
    assert current is not None
    compare = same_window_last_year(current) if vs_last_year else previous_window(current)
    return FunnelQuestion(current, compare, vs_last_year)


def by(text: str, dimension: str) -> FunnelQuestion:
    return FunnelQuestion(parse_window(text, AS_OF), dimension=dimension)


GOOD = [
    ("funnel", window("last 30 days")),
    ("/kpi FUNNEL", window("last 30 days")),
    ("funnels", window("last 30 days")),
    ("funnel last 30 days", window("last 30 days")),
    ("funnel last week", window("last week")),
    ("funnel 2026-10", window("2026-10")),
    ("funnel 2026-09-14..2026-10-14", window("2026-09-14..2026-10-14")),
    ("funnel mtd vs previous", window("mtd")),
    ("funnel last 30 days compared to the previous period", window("last 30 days")),
    ("funnel last month vs last year", window("last month", vs_last_year=True)),
    ("funnel vs yoy", window("last 30 days", vs_last_year=True)),
    ("funnel by traffic_source", by("last 30 days", "traffic_source")),
    ("funnel last week by traffic source", by("last week", "traffic_source")),
    ("funnel october by Browser", by("october", "browser")),
    ("funnel for checkout_redesign", FunnelQuestion(experiment_id="checkout_redesign")),
    ("funnel FOR Pricing.page-ABN", FunnelQuestion(experiment_id="Pricing.page-ABN")),
]


@pytest.mark.parametrize(("text", "expected"), GOOD)
def test_every_form_parses(text: str, expected: FunnelQuestion) -> None:
    assert parse_question(text, AS_OF) == expected


def test_default_is_the_last_30_complete_days_against_the_30_before() -> None:
    question = parse_question("funnel", AS_OF)
    assert isinstance(question, FunnelQuestion)
    assert (question.current.start, question.current.end) == (
        date(2026, 10, 26),
        AS_OF.replace(day=24),
    )
    assert (question.compare.start, question.compare.end) == (date(2026, 9, 26), date(2026, 10, 25))


BAD = [
    # (text, words the message must contain, the example it must offer)
    ("funnel for", ["Which experiment?"], "/kpi funnel for checkout_redesign"),
    ("funnel for a b", ["just its id", "`a`", "`b`"], "/kpi funnel for checkout_redesign"),
    ("funnel for <!channel>", ["isn't an experiment id", "&lt;!channel&gt;"], None),
    ("funnel last week for x", ["takes no window"], "/kpi funnel for checkout_redesign"),
    ("funnel by", ["`by traffic_source` or `by browser`"], None),
    ("funnel by country", ["not `country`"], "/kpi funnel last 30 days by traffic_source"),
    ("funnel by browser by browser", ["One funnel at a time"], None),
    ("funnel last week vs last year by browser", ["One funnel at a time"], None),
    ("funnel vs tuesday", ["`vs` takes `previous`", "not `tuesday`"], None),
    ("funnel vs", ["`vs` takes `previous`"], "/kpi funnel last 30 days vs last year"),
    ("funnel vs previous vs last year", ["One funnel at a time"], None),
    ("funnel soonish", ["couldn't read the window `soonish`"], "/kpi funnel last 30 days"),
    ("funnel last 0 days", ["0 days"], None),
]


@pytest.mark.parametrize(("text", "words", "example"), BAD)
def test_bad_forms_get_a_specific_message_and_a_working_example(
    text: str, words: list[str], example: str | None
) -> None:
    error = parse_question(text, AS_OF)
    assert isinstance(error, ParseError), error
    for word in words:
        assert word in error.message
    if example is not None:
        assert error.example == example
    # The example offered always parses to a funnel question.
    assert isinstance(parse_question(error.example, AS_OF), FunnelQuestion), error.example


def test_help_lists_every_form() -> None:
    funnel_help = topic_usage("funnel")
    for form in ("vs last year", "by traffic_source", "by browser", "funnel for checkout_redesign"):
        assert form in funnel_help
        assert form in USAGE
    assert parse_question("help funnel", AS_OF).topic == "funnel"


WORDS = st.sampled_from(
    ["funnel", "for", "by", "vs", "last", "30", "days", "week", "browser", "traffic_source",
     "year", "previous", "<!channel>", "`", "checkout_redesign", "2026-10", "..", "-", ""]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDS, max_size=8), st.text(max_size=20))
def test_any_funnel_text_is_a_question_or_a_safe_error(words: list[str], tail: str) -> None:
    text = " ".join(["funnel", *words, tail])
    result = parse_question(text, AS_OF)
    assert isinstance(result, FunnelQuestion | ParseError)
    if isinstance(result, ParseError):
        assert "<!" not in result.message and "bug on our side" not in result.message
        assert result.example.startswith("/kpi ")
