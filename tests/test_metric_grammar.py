"""The metric grammar (bot.core.metric_grammar) with a hand-made vocabulary: pure, fast.

Good questions parse to the expected names, windows, filters, grain and top; typos get
"did you mean" with the closest names; the old `revenue …` questions still parse to a
RevenueQuestion; nothing raises."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.metric_grammar import needs_vocabulary
from bot.core.metric_questions import MetricFilter, MetricQuestion, Vocabulary
from bot.core.metrics import DimensionInfo, MetricInfo
from bot.core.questions import INTERNAL_ERROR, ParseError, RevenueQuestion, parse_question
from bot.core.windows import parse_window, previous_window, same_window_last_year

AS_OF = date(2026, 11, 25)
USER = ("age_band", "country", "gender", "traffic_source")
ITEM = (*USER, "brand", "category", "department")


def _metric(name: str, label: str, dims=USER, restricted=False, additive=True) -> MetricInfo:
    return MetricInfo(name, label, f"{label}.", restricted, additive, "simple", tuple(sorted(dims)))


VOCAB = Vocabulary.of(
    [
        _metric("revenue", "Revenue", ITEM, restricted=True),
        _metric("orders", "Orders"),
        _metric("aov", "Average order value", restricted=True, additive=False),
        _metric("items_sold", "Items sold", ITEM),
        _metric("sessions", "Sessions", ("browser", "traffic_source"), additive=False),
        _metric("cancellation_rate", "Cancellation rate", additive=False),
    ],
    [
        DimensionInfo(d, d.replace("_", " ").title(), "")
        for d in (*ITEM, "browser")
        if d != "traffic_source"
    ]
    + [DimensionInfo("traffic_source", "Traffic source", "")],
)


def ask(text: str):
    return parse_question(text, AS_OF, VOCAB)


def window(phrase: str):
    return parse_window(phrase, AS_OF)


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "orders by traffic_source last 30 days",
            dict(metrics=("orders",), group_by="traffic_source", current=window("last 30 days")),
        ),
        ("Orders BY Traffic Source last 30 days", dict(group_by="traffic_source")),
        ("orders by traffic-source", dict(group_by="traffic_source", current=window("7d"))),
        ("average order value by country mtd", dict(metrics=("aov",), current=window("mtd"))),
        ("items sold by category top 5", dict(metrics=("items_sold",), top=5)),
        ("revenue, orders, aov last month", dict(metrics=("revenue", "orders", "aov"))),
        ("revenue,orders last month", dict(metrics=("revenue", "orders"))),
        ("sessions last 90 days weekly", dict(grain="week", current=window("last 90 days"))),
        ("orders monthly last year", dict(grain="month", current=window("last year"))),
        ("orders daily", dict(grain="day")),
        ("revenue by country", dict(metrics=("revenue",), group_by="country")),
        ("revenue weekly last 8 weeks", dict(metrics=("revenue",), grain="week")),
        ("revenue top 3 by category", None),  # `top` must come last
    ],
)
def test_good_questions(text: str, expected: dict | None) -> None:
    parsed = ask(text)
    if expected is None:
        assert isinstance(parsed, ParseError)
        return
    assert isinstance(parsed, MetricQuestion), parsed
    for name, value in expected.items():
        assert getattr(parsed, name) == value, name


def test_filters_equal_not_equal_in_and_multiword_values() -> None:
    parsed = ask("aov where country = United States last 30 days")
    assert parsed.filters == (MetricFilter("country", ("United States",)),)
    assert parsed.current == window("last 30 days")
    parsed = ask("orders by gender where country != Brasil")
    assert parsed.filters == (MetricFilter("country", ("Brasil",), negate=True),)
    parsed = ask("orders where traffic source in (Search, Email) last month top 3")
    assert parsed.filters == (MetricFilter("traffic_source", ("Search", "Email")),)
    assert parsed.current == window("last month") and parsed.top == 3
    parsed = ask('orders where age_band = "under 25"')
    assert parsed.filters == (MetricFilter("age_band", ("under 25",)),)
    parsed = ask("orders where age band = under 25 last 7 days")
    assert parsed.filters == (MetricFilter("age_band", ("under 25",)),)


def test_comparisons() -> None:
    current = window("last 30 days")
    parsed = ask("orders by country last 30 days vs last year")
    assert parsed.comparison == "last_year" and parsed.previous == same_window_last_year(current)
    parsed = ask("orders last 30 days vs previous top 3")
    assert parsed.comparison == "previous" and parsed.previous == previous_window(current)
    assert isinstance(ask("orders last 30 days vs tuesday"), ParseError)


def test_old_revenue_questions_are_unchanged() -> None:
    for text in ("revenue", "revenue last 30 days", "revenue mtd vs last year", "rev 30d"):
        with_vocab, without = parse_question(text, AS_OF, VOCAB), parse_question(text, AS_OF)
        assert isinstance(with_vocab, RevenueQuestion), text
        assert with_vocab == without


@pytest.mark.parametrize(
    "text, says, suggests",
    [
        ("ordrs by country", "metric", "orders"),
        ("revenu by country", "metric", "revenue"),
        ("orders by contry last 30 days", "dimension", "country"),
        ("orders by trafic source", "dimension", "traffic_source"),
        ("orders where cuntry = Brasil", "dimension", "country"),
        ("dimensions avo", "metric", "aov"),
    ],
)
def test_typos_get_did_you_mean(text: str, says: str, suggests: str) -> None:
    parsed = ask(text)
    assert isinstance(parsed, ParseError), parsed
    assert f"the {says}" in parsed.message and "Did you mean" in parsed.message
    assert f"`{suggests}`" in parsed.message.split("Did you mean")[1].split("?")[0]
    assert isinstance(ask(parsed.example.removeprefix("/kpi ")), MetricQuestion), parsed.example


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("orders by brand", "can't be broken down"),
        ("sessions where country = Brasil", "can't be broken down"),
        ("orders by country top 0", "`top`"),
        ("orders by country top 500", "`top`"),
        ("orders by country top x", "`top`"),
        ("orders where country", "A filter looks like"),
        ("orders where country in Brasil", "brackets"),
        ("orders where country =", "Which"),
        ("orders last 3 fortnights", "window"),
        ("orders daily weekly", "One grain"),
        ("orders, orders", "twice"),
        ("orders by", "`by` what"),
        ("orders last 30 days vs previous vs last year", "`vs`"),
    ],
)
def test_bad_questions_get_a_specific_reply(text: str, fragment: str) -> None:
    parsed = ask(text)
    assert isinstance(parsed, ParseError), parsed
    assert fragment in parsed.message and parsed.message != INTERNAL_ERROR


def test_listings_and_no_vocabulary() -> None:
    assert ask("metrics") == MetricQuestion(listing="metrics")
    assert parse_question("metrics", AS_OF) == MetricQuestion(listing="metrics")
    assert ask("dimensions Average Order Value") == MetricQuestion(("aov",), listing="dimensions")
    for text in ("orders by country", "revenue by country", "dimensions aov"):
        parsed = parse_question(text, AS_OF)  # no vocabulary: the semantic layer isn't loaded
        assert isinstance(parsed, ParseError) and "isn't loaded" in parsed.message, text


def test_other_commands_and_unknown_words_keep_their_replies() -> None:
    assert parse_question("retention 8", AS_OF, VOCAB) == parse_question("retention 8", AS_OF)
    for text in ("hello there", "last 30 days"):
        assert parse_question(text, AS_OF, VOCAB) == parse_question(text, AS_OF), text
    parsed = parse_question("banana by country", AS_OF, VOCAB)  # not near any metric
    assert isinstance(parsed, ParseError) and "the command `banana`" in parsed.message


def test_user_text_is_echoed_inert() -> None:
    parsed = ask("orders where country = <!channel> `x`")
    assert isinstance(parsed, MetricQuestion)  # a value: checked against known values later
    parsed = ask("<!channel>ordrs by country")
    assert isinstance(parsed, ParseError) and "<!channel>" not in parsed.message


def test_needs_vocabulary_only_for_metric_words() -> None:
    assert not needs_vocabulary("revenue last 30 days")
    assert not needs_vocabulary("ab checkout_redesign")
    assert not needs_vocabulary("/kpi retention")
    assert needs_vocabulary("revenue by country")
    assert needs_vocabulary("revenue, orders")
    assert needs_vocabulary("orders last 30 days")
    assert needs_vocabulary("dimensions aov")


@pytest.mark.parametrize(
    "text",
    ["orders by", "where", "by by by", "orders where = =", "orders ,,,", ", orders", "top 5",
     "orders where country in (", "orders where country in ()", "x" * 999, "orders vs",
     "orders by country where gender != M where gender = F", "\u202eorders\x00 by country"],
)  # fmt: skip
def test_nothing_raises(text: str) -> None:
    parsed = ask(text)
    assert isinstance(parsed, MetricQuestion | ParseError | RevenueQuestion) or parsed
    if isinstance(parsed, ParseError):
        assert parsed.message != INTERNAL_ERROR, text


# --- properties -------------------------------------------------------------------

WORDS = st.sampled_from(
    ["orders", "revenue", "aov", "average", "order", "value", "by", "where", "=", "!=",
     "<>", "in", "not", "(", ")", ",", "top", "5", "0", "99999", "daily", "weekly",
     "monthly", "vs", "last", "year", "previous", "30", "days", "mtd", "country",
     "traffic_source", "traffic", "source", "brasil", "\"united", "states\"", "<!channel>",
     "`", "&", "\x00", "\u202e", "\ud800", "é", "'; DROP TABLE orders; --", "metrics",
     "dimensions", "sessions", "browser"]
)  # fmt: skip
METRIC_TEXTS = st.one_of(
    st.lists(WORDS, max_size=12).map(" ".join),
    st.text(st.characters(exclude_categories=()), max_size=120),
)


@settings(max_examples=400, deadline=None)
@given(text=METRIC_TEXTS, as_of=st.dates())
def test_never_raises_and_never_echoes_markup(text: str, as_of: date) -> None:
    parsed = parse_question(text, as_of, VOCAB)
    assert isinstance(parsed, ParseError | MetricQuestion | RevenueQuestion) or parsed
    if isinstance(parsed, ParseError):
        assert parsed.message != INTERNAL_ERROR, text
        assert "<!" not in parsed.message and "<@" not in parsed.message
