"""Question parsing: every form at a fixed as-of date, specific errors, and the
never-raises / never-echoes-unescaped properties on arbitrary text."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.questions import (
    EXPERIMENT_ID,
    INTERNAL_ERROR,
    USAGE,
    DigestCommand,
    ExperimentQuestion,
    HelpQuestion,
    ParseError,
    Question,
    RetentionQuestion,
    RevenueQuestion,
    echo,
    escape_mrkdwn,
    parse_question,
)
from bot.core.windows import DateWindow, parse_window, previous_window, same_window_last_year
from tests.test_metric_grammar import VOCAB as METRIC_VOCABULARY

d = date.fromisoformat
WED = d("2025-10-15")
FIRST = d("2025-10-01")
MONDAY = d("2025-10-13")
NEW_YEAR = d("2025-01-01")


def revenue(window: str, as_of: date = WED, last_year: bool = False) -> RevenueQuestion:
    current = parse_window(window, as_of)
    assert current is not None
    return RevenueQuestion(
        current, previous_window(current), same_window_last_year(current) if last_year else None
    )


# --- questions --------------------------------------------------------------------

QUESTIONS: list[tuple[str, date, Question]] = [
    # help: empty text, `help`, topics; an unknown topic is general help
    ("", WED, HelpQuestion(None)),
    ("   \n\t ", WED, HelpQuestion(None)),
    ("/kpi", WED, HelpQuestion(None)),
    ("help", WED, HelpQuestion(None)),
    ("?", WED, HelpQuestion(None)),
    ("HELP Revenue", WED, HelpQuestion("revenue")),
    ("help experiments", WED, HelpQuestion("ab")),
    ("help windows", WED, HelpQuestion("windows")),
    ("help me please", WED, HelpQuestion(None)),
    # revenue: default window, every window form, comparisons
    ("revenue", WED, revenue("last 7 days")),
    ("/kpi revenue", WED, revenue("last 7 days")),
    ("revenue last 30 days", WED, revenue("last 30 days")),
    ("  REVENUE   Last 30D  ", WED, revenue("last 30 days")),
    ("revenue last 7d", WED, revenue("last 7 days")),
    ("revenue past 7 days", WED, revenue("last 7 days")),
    ("rev yesterday", WED, revenue("yesterday")),
    ("revenue mtd", WED, revenue("mtd")),
    ("revenue wtd", WED, revenue("wtd")),
    ("revenue qtd", WED, revenue("qtd")),
    ("revenue ytd", WED, revenue("ytd")),
    ("revenue last week", MONDAY, revenue("last week", MONDAY)),
    ("revenue last 4 weeks", WED, revenue("last 4 weeks")),
    ("revenue last month", FIRST, revenue("last month", FIRST)),
    ("revenue last month", NEW_YEAR, revenue("last month", NEW_YEAR)),
    ("revenue october", WED, revenue("october")),
    ("revenue Oct 2024", WED, revenue("october 2024")),
    ("revenue 2025-10", WED, revenue("october 2025")),
    ("revenue q3 2025", WED, revenue("q3 2025")),
    ("revenue 2025-10-03", WED, revenue("2025-10-03")),
    ("revenue 2025-09-14..2025-10-14", WED, revenue("2025-09-14..2025-10-14")),
    ("revenue 2025-09-14 to 2025-10-14", WED, revenue("2025-09-14..2025-10-14")),
    ("revenue 2025-09-14 - 2025-10-14", WED, revenue("2025-09-14..2025-10-14")),
    ("revenue 2025-09-14–2025-10-14", WED, revenue("2025-09-14..2025-10-14")),
    ("revenue last 30 days vs previous", WED, revenue("last 30 days")),
    ("revenue last 30 days vs previous period", WED, revenue("last 30 days")),
    ("revenue last 30 days vs last year", WED, revenue("last 30 days", last_year=True)),
    ("revenue mtd VS Last Year", WED, revenue("mtd", last_year=True)),
    ("revenue last week versus last year", WED, revenue("last week", last_year=True)),
    ("revenue last 30 days compared to last year", WED, revenue("last 30 days", last_year=True)),
    ("revenue vs last year", WED, revenue("last 7 days", last_year=True)),
    ("revenue last year", WED, revenue("2024")),
    ("revenue last year vs last year", WED, revenue("2024", last_year=True)),
    # experiments: the id keeps its case (ids are case-sensitive in the warehouse)
    ("ab", WED, ExperimentQuestion(None, 0.05)),
    ("AB", WED, ExperimentQuestion(None, 0.05)),
    ("ab checkout_redesign", WED, ExperimentQuestion("checkout_redesign", 0.05)),
    ("ab Checkout_Redesign", WED, ExperimentQuestion("Checkout_Redesign", 0.05)),
    ("experiment exp-2025.10_v2", WED, ExperimentQuestion("exp-2025.10_v2", 0.05)),
    ("ab " + "x" * 64, WED, ExperimentQuestion("x" * 64, 0.05)),
    ("ab checkout_redesign --alpha 0.1", WED, ExperimentQuestion("checkout_redesign", 0.1)),
    ("ab checkout_redesign --alpha=0.01", WED, ExperimentQuestion("checkout_redesign", 0.01)),
    ("ab checkout_redesign alpha=.2", WED, ExperimentQuestion("checkout_redesign", 0.2)),
    ("ab checkout_redesign --ALPHA 10%", WED, ExperimentQuestion("checkout_redesign", 0.1)),
    # Slack's smart punctuation turns `--` into an em or en dash
    ("ab checkout_redesign —alpha 0.1", WED, ExperimentQuestion("checkout_redesign", 0.1)),
    ("ab checkout_redesign –alpha 0.1", WED, ExperimentQuestion("checkout_redesign", 0.1)),
    ("ab --alpha 0.1 checkout_redesign", WED, ExperimentQuestion("checkout_redesign", 0.1)),
    # retention
    ("retention", WED, RetentionQuestion(12)),
    ("retention 8", WED, RetentionQuestion(8)),
    ("Retention 8 weeks", WED, RetentionQuestion(8)),
    ("retention last 26 weeks", WED, RetentionQuestion(26)),
    ("retention 1", WED, RetentionQuestion(1)),
    ("retention 52w", WED, RetentionQuestion(52)),
    # digest
    ("digest preview", WED, DigestCommand("preview")),
    ("digest subscribe", WED, DigestCommand("subscribe")),
    ("DIGEST  Unsubscribe", WED, DigestCommand("unsubscribe")),
]


@pytest.mark.parametrize(("text", "as_of", "expected"), QUESTIONS)
def test_parse_question(text: str, as_of: date, expected: Question) -> None:
    assert parse_question(text, as_of) == expected


def test_revenue_windows_in_full() -> None:
    q = parse_question("revenue mtd vs last year", WED)
    assert q == RevenueQuestion(
        DateWindow(d("2025-10-01"), d("2025-10-14"), "month to date", "mtd"),
        DateWindow(d("2025-09-17"), d("2025-09-30"), "previous 14 days", "days"),
        DateWindow(d("2024-10-01"), d("2024-10-14"), "month to date, a year earlier", "mtd"),
    )
    q = parse_question("revenue last month", WED)
    assert isinstance(q, RevenueQuestion)
    assert (q.current.start, q.current.end) == (d("2025-09-01"), d("2025-09-30"))
    assert (q.previous.start, q.previous.end) == (d("2025-08-01"), d("2025-08-31"))
    assert q.last_year is None


def test_as_of_datetime_is_treated_as_its_date() -> None:
    at_noon = datetime(2025, 10, 15, 12, 0)
    assert parse_question("revenue mtd", at_noon) == parse_question("revenue mtd", WED)  # type: ignore[arg-type]


def test_no_clock_reads() -> None:
    expected = parse_question("revenue october vs last year", WED)
    with time_machine.travel(datetime(2031, 2, 1, 3, 0), tick=False):
        assert parse_question("revenue october vs last year", WED) == expected


# --- errors -----------------------------------------------------------------------

ERRORS = [
    # text, as_of, words in the message, example
    (
        "revenue last fortnight",
        WED,
        [
            "I couldn't read the window `last fortnight`",
            "`last 30 days`",
            "`2025-09-14..2025-10-14`",
        ],
        "/kpi revenue last 30 days",
    ),
    (
        "revenue mtd",
        FIRST,
        ["mtd is empty on the first day of the month — try `last month`"],
        "/kpi revenue last month",
    ),
    ("revenue this month", FIRST, ["mtd is empty"], "/kpi revenue last month"),
    ("revenue wtd", MONDAY, ["wtd is empty on a Monday"], "/kpi revenue last week"),
    ("revenue qtd", FIRST, ["qtd is empty"], "/kpi revenue last quarter"),
    ("revenue ytd", NEW_YEAR, ["ytd is empty on January 1"], "/kpi revenue last year"),
    ("revenue today", WED, ["Today isn't over yet"], "/kpi revenue yesterday"),
    ("revenue last 0 days", WED, ["0 days", "from 1 to 3,660"], "/kpi revenue last 30 days"),
    ("revenue last 3661 days", WED, ["3,661 days"], "/kpi revenue last 30 days"),
    ("revenue last 1" + "0" * 900 + " days", WED, ["that many days"], "/kpi revenue last 30 days"),
    (
        "revenue 2025-10-14..2025-09-14",
        WED,
        ["starts (2025-10-14) after it ends (2025-09-14)"],
        "/kpi revenue 2025-09-14..2025-10-14",
    ),
    ("revenue 2025-02-29", WED, ["`2025-02-29` isn't a date"], "/kpi revenue 2025-10-03"),
    (
        "revenue last 30 days vs next year",
        WED,
        ["`vs` takes", "not `next year`"],
        "/kpi revenue last 30 days vs last year",
    ),
    (
        "revenue last 30 days vs",
        WED,
        ["`vs` takes `previous`"],
        "/kpi revenue last 30 days vs last year",
    ),
    (
        "revenue mtd vs previous vs last year",
        WED,
        ["one comparison at a time"],
        "/kpi revenue last 30 days vs last year",
    ),
    (
        "revenue last 30 days",
        date(1, 1, 10),
        ["outside the years 1–9999"],
        "/kpi revenue last 30 days",
    ),
    # unknown subcommands list the known ones; a bare window suggests revenue
    (
        "forecast next month",
        WED,
        [
            "I don't know the command `forecast`",
            "`revenue`, `ab`, `retention`, `funnel`, `digest`, `alert`, `help`",
        ],
        "/kpi revenue last 30 days",
    ),
    (
        "last 30 days",
        WED,
        ["Did you mean revenue for `last 30 days`?"],
        "/kpi revenue last 30 days",
    ),
    ("mtd", FIRST, ["Did you mean revenue for `mtd`?"], "/kpi revenue mtd"),
    # experiments
    (
        "ab checkout';DROP TABLE users;--",
        WED,
        ["`checkout';DROP` isn't an experiment id"],
        "/kpi ab checkout_redesign",
    ),
    ("ab " + "x" * 65, WED, ["isn't an experiment id"], "/kpi ab checkout_redesign"),
    ("ab café", WED, ["`café` isn't an experiment id"], "/kpi ab checkout_redesign"),
    (
        "ab one two",
        WED,
        ["One experiment at a time", "`one`, then `two`"],
        "/kpi ab checkout_redesign",
    ),
    (
        "ab x --alpha 0.5",
        WED,
        ["from 0.01 to 0.2", "`0.5` isn't"],
        "/kpi ab checkout_redesign --alpha 0.1",
    ),
    ("ab x --alpha 0", WED, ["from 0.01 to 0.2"], "/kpi ab checkout_redesign --alpha 0.1"),
    ("ab x --alpha 50%", WED, ["from 0.01 to 0.2"], "/kpi ab checkout_redesign --alpha 0.1"),
    # #17: 0.49 was accepted; the range is now 0.01–0.2.
    ("ab x --alpha 0.49", WED, ["from 0.01 to 0.2"], "/kpi ab checkout_redesign --alpha 0.1"),
    ("ab x --alpha 0.25", WED, ["`0.25` isn't"], "/kpi ab checkout_redesign --alpha 0.1"),
    ("ab x --alpha 0.005", WED, ["from 0.01 to 0.2"], "/kpi ab checkout_redesign --alpha 0.1"),
    ("ab x --alpha nan", WED, ["`nan` isn't"], "/kpi ab checkout_redesign --alpha 0.1"),
    ("ab x --alpha 1e-2", WED, ["`1e-2` isn't"], "/kpi ab checkout_redesign --alpha 0.1"),
    ("ab x --alpha", WED, ["missing isn't"], "/kpi ab checkout_redesign --alpha 0.1"),
    (
        "ab x --alpha 0.1 --alpha 0.2",
        WED,
        ["Give `--alpha` once"],
        "/kpi ab checkout_redesign --alpha 0.1",
    ),
    ("ab --alpha 0.1", WED, ["Which experiment?"], "/kpi ab checkout_redesign"),
    (
        "ab x --beta 1",
        WED,
        ["I don't know the option `--beta`"],
        "/kpi ab checkout_redesign --alpha 0.1",
    ),
    # retention
    ("retention 0", WED, ["1–52", "`0` is out of range"], "/kpi retention 8"),
    ("retention 53", WED, ["`53` is out of range"], "/kpi retention 8"),
    ("retention 99999999999999999999", WED, ["is out of range"], "/kpi retention 8"),
    ("retention lots", WED, ["I couldn't read `lots` as a number of weeks"], "/kpi retention 8"),
    # digest
    (
        "digest",
        WED,
        ["`preview`, `subscribe` and `unsubscribe` — which one?"],
        "/kpi digest preview",
    ),
    ("digest now", WED, ["`now` isn't one of them"], "/kpi digest preview"),
    # too long to be a question
    ("revenue " + "x" * 2000, WED, ["2,008 characters", "`revenue`"], "/kpi revenue last 30 days"),
]


@pytest.mark.parametrize(("text", "as_of", "words", "example"), ERRORS)
def test_parse_errors_are_specific(text: str, as_of: date, words: list[str], example: str) -> None:
    result = parse_question(text, as_of)
    assert isinstance(result, ParseError)
    for word in words:
        assert word in result.message
    assert result.example == example
    # the example works (at a mid-month Wednesday, where every window form is valid)
    assert not isinstance(parse_question(example.removeprefix("/kpi "), WED), ParseError)


# --- escaping ---------------------------------------------------------------------


def test_escape_mrkdwn() -> None:
    assert escape_mrkdwn("a & <b> &amp;") == "a &amp; &lt;b&gt; &amp;amp;"
    assert escape_mrkdwn("<!channel> <@U123> <https://x.test|click>") == (
        "&lt;!channel&gt; &lt;@U123&gt; &lt;https://x.test|click&gt;"
    )
    assert escape_mrkdwn("plain") == "plain"


def test_echo_is_short_inert_text() -> None:
    assert echo("`rm -rf`\u202e\x00\n<!here>") == "'rm -rf' &lt;!here&gt;"
    long = echo("x" * 500)
    assert len(long) == 80 and long.endswith("…")
    assert echo("<" * 200).count("&lt;") == 79  # cut first, then escaped: no broken entity


@pytest.mark.parametrize(
    "text",
    [
        "<!channel>",
        "revenue <!channel>",
        "revenue last 30 days vs <!here>",
        "ab <@U123>",
        "retention <https://evil.test|click me>",
        "digest <!everyone>",
        "revenue `<!channel>` & friends",
    ],
)
def test_user_text_is_escaped_in_errors(text: str) -> None:
    result = parse_question(text, WED)
    assert isinstance(result, ParseError)
    assert "<" not in result.message and ">" not in result.message
    assert "&lt;" in result.message


def test_usage_lists_every_command_with_examples() -> None:
    for command in ("revenue", "ab", "retention", "digest", "help"):
        assert f"`/kpi {command}" in USAGE
    for example in re.findall(r"`(/kpi [^`]*)`", USAGE):
        if "[" not in example and "|" not in example:
            # Metric examples need the semantic layer's vocabulary (a hand-made one here).
            parsed = parse_question(example, WED, METRIC_VOCABULARY)
            assert not isinstance(parsed, ParseError), example
    assert "<" not in USAGE and ">" not in USAGE


# --- properties -------------------------------------------------------------------

ANY_CHAR = st.characters(exclude_categories=())  # surrogates and control chars included
TOKENS = st.sampled_from(
    [
        "revenue", "ab", "retention", "digest", "help", "/kpi", "vs", "versus", "last",
        "past", "previous", "year", "month", "week", "quarter", "days", "30", "7d", "0",
        "99999999999999999999", "-1", "mtd", "wtd", "qtd", "ytd", "today", "yesterday",
        "october", "oct", "q3", "2025", "2025-10", "2025-10-03", "2024-02-29", "0000-01-01",
        "9999-12-31", "..", "to", "-", "–", "—", "--alpha", "—alpha", "alpha=", "0.1", "1e9",
        "nan", "inf", "10%", "<!channel>", "<!here|here>", "<@U123>", "<#C1>", "&", "&amp;",
        "`", "*bold*", "'; DROP TABLE orders; --", "1 OR 1=1", "\x00", "\u202e", "\ud800",
        "é", "İ", "٣٠", "²", "\u00a0", "\n",
    ]
)  # fmt: skip
TEXTS = st.one_of(
    st.text(ANY_CHAR, max_size=120),
    st.lists(TOKENS, max_size=8).map(" ".join),
    st.tuples(
        st.sampled_from(["revenue", "ab", "retention", "digest", "help", ""]),
        st.text(ANY_CHAR, max_size=60),
    ).map(" ".join),
    st.text(ANY_CHAR, min_size=900, max_size=1500),
)
ALL_DATES = st.dates()  # 0001-01-01 .. 9999-12-31, to reach the calendar's edges

ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")


@settings(max_examples=600, deadline=None)
@given(text=TEXTS, as_of=ALL_DATES)
def test_never_raises_and_never_echoes_unescaped(text: str, as_of: date) -> None:
    result = parse_question(text, as_of)
    if isinstance(result, ParseError):
        assert result.message != INTERNAL_ERROR  # the safety net never had to catch
        for shown in (result.message, result.example):
            assert isinstance(shown, str) and shown
            assert "<" not in shown and ">" not in shown
            assert not ENTITY.search(shown), shown
        return
    assert isinstance(
        result,
        RevenueQuestion | ExperimentQuestion | RetentionQuestion | HelpQuestion | DigestCommand,
    )
    if isinstance(result, RevenueQuestion):
        check_revenue_windows(result)
    elif isinstance(result, ExperimentQuestion):
        assert result.experiment_id is None or EXPERIMENT_ID.fullmatch(result.experiment_id)
        assert 0 < result.alpha < 0.5
    elif isinstance(result, RetentionQuestion):
        assert 1 <= result.weeks <= 52


def check_revenue_windows(q: RevenueQuestion) -> None:
    for w in (q.current, q.previous, q.last_year):
        if w is not None:
            assert w.start <= w.end
            assert w.days <= 3660 or w is not q.current
    assert q.previous.end < q.current.start
    if q.current.kind in ("days", "week", "month", "quarter", "year"):
        assert q.previous.end == q.current.start - timedelta(days=1)
    if q.current.kind in ("days", "week"):
        assert q.previous.days == q.current.days
    if q.last_year is not None:
        assert 364 <= (q.current.start - q.last_year.start).days <= 366


WINDOW_PHRASES = st.sampled_from(
    [
        "", "yesterday", "last 7 days", "last 30d", "past 90 days", "last 3660 days", "wtd",
        "mtd", "qtd", "ytd", "last week", "last 4 weeks", "last month", "last 6 months",
        "last quarter", "last year", "october", "feb", "q1", "2024-02", "2024",
        "2024-02-29", "2024-02-01..2024-03-31", "since 2024-01-01",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    phrase=WINDOW_PHRASES,
    compare=st.sampled_from(["", " vs previous", " vs last year"]),
    as_of=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
)
def test_valid_revenue_windows(phrase: str, compare: str, as_of: date) -> None:
    result = parse_question(f"revenue {phrase}{compare}", as_of)
    if isinstance(result, ParseError):  # empty to-date windows; `since` too early or too long
        assert any(
            words in result.message for words in ("is empty", "no complete day", "days long")
        )
        return
    assert isinstance(result, RevenueQuestion)
    check_revenue_windows(result)
    assert (result.last_year is not None) == (compare == " vs last year")
