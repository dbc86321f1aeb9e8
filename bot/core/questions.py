"""The text after ``/kpi`` → a question, or a specific, friendly ParseError.

``parse_question(text, as_of)`` never raises, whatever the string: every reply to a
person is either an answer or an error that names the words not understood and shows
a command that works. Pure: the as-of date (today in the reporting time zone) is passed
in; windows are anchored at it (``bot.core.windows``).

Grammar (case and extra spaces don't matter; a leading ``/kpi`` is ignored)::

    revenue [window] [vs previous | vs last year]     default window: last 7 days
    ab                                                 lists experiments
    ab <id> [--alpha 0.1]                              id: [A-Za-z0-9_.-]{1,64}, 0.01 ≤ α ≤ 0.2
    retention [weeks]                                  1..52 most recent cohorts, default 12
    funnel [window] [vs previous | vs last year]       default window: last 30 days
    funnel [window] by traffic_source | browser
    funnel for <experiment id>
    digest preview | subscribe | unsubscribe
    help [revenue | ab | retention | funnel | digest | windows] empty text is help too
    <metric>[, …] [by <dim>] [where …] [window] [grain] [vs …] [top N]   bot.core.metric_grammar
    metrics | dimensions <metric>                      the semantic layer's vocabulary

Messages are Slack mrkdwn. User text is only ever echoed through ``echo`` (control
characters dropped, backticks neutralised, cut to 80 characters, then
``escape_mrkdwn``), so ``<!channel>`` or a fake link typed into a command comes back
as inert text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from bot.core.alerts import ALERT_USAGE, AlertCommand, AlertParseError, parse_alert_command
from bot.core.metric_questions import MetricQuestion, Vocabulary
from bot.core.stats import ALPHA_MAX, ALPHA_MIN
from bot.core.understanding import Understanding
from bot.core.windows import (
    DateWindow,
    WindowError,
    normalize,
    parse_window,
    previous_window,
    same_window_last_year,
)

# Each question's ``understood`` is set only when the loose-phrasing front end rewrote the
# text (bot.core.phrasing); it is left out of equality: a loose question equals its
# canonical one.


@dataclass(frozen=True)
class RevenueQuestion:
    current: DateWindow
    previous: DateWindow
    last_year: DateWindow | None = None  # set by `vs last year`
    understood: Understanding | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ExperimentQuestion:
    experiment_id: str | None = None  # None: list the experiments
    alpha: float = 0.05
    understood: Understanding | None = field(default=None, compare=False)


@dataclass(frozen=True)
class RetentionQuestion:
    weeks: int = 12  # how many of the most recent weekly cohorts to show
    understood: Understanding | None = field(default=None, compare=False)


@dataclass(frozen=True)
class FunnelQuestion:
    """One of three funnels: a window's sessions against a comparison window, a window's
    sessions by a dimension, or one experiment's exposed users by variant."""

    current: DateWindow | None = None  # None for an experiment's funnel
    compare: DateWindow | None = None  # the previous window, or the same one a year earlier
    vs_last_year: bool = False  # `compare` is the same window last year
    dimension: str | None = None  # traffic_source | browser
    experiment_id: str | None = None
    understood: Understanding | None = field(default=None, compare=False)


@dataclass(frozen=True)
class HelpQuestion:
    topic: str | None = None  # one of HELP_TOPICS' values, or None for everything
    understood: Understanding | None = field(default=None, compare=False)


DigestAction = Literal["preview", "subscribe", "unsubscribe"]


@dataclass(frozen=True)
class DigestCommand:
    action: DigestAction


@dataclass(frozen=True)
class ParseError:
    message: str  # mrkdwn; any echoed user text is escaped
    example: str  # a full command that works, e.g. "/kpi revenue last 30 days"
    # Canonical questions to offer (Slack: one button each, action_id kpi_ask_question):
    # the readings of an ambiguous question, or the names closest to a misspelt one.
    choices: tuple[str, ...] = ()


Question = (
    RevenueQuestion
    | ExperimentQuestion
    | RetentionQuestion
    | FunnelQuestion
    | HelpQuestion
    | DigestCommand
    | MetricQuestion
    | AlertCommand
)

DEFAULT_WINDOW = "last 7 days"
DEFAULT_ALPHA = 0.05
DEFAULT_RETENTION_WEEKS = 12
MAX_RETENTION_WEEKS = 52
MAX_TEXT_CHARS = 1000  # Slack caps command text well below this; longer is not a question
ECHO_CHARS = 80
EXPERIMENT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")

EXAMPLE_REVENUE = "/kpi revenue last 30 days"
EXAMPLE_AB = "/kpi ab checkout_redesign"
EXAMPLE_RETENTION = "/kpi retention 8"
EXAMPLE_DIGEST = "/kpi digest preview"
EXAMPLE_FUNNEL = "/kpi funnel last 30 days"
WINDOW_FORMS = (
    "`last 30 days`, `yesterday`, `last week`, `last 4 weeks`, `mtd`, `last month`, "
    "`october`, `2025-10`, `2025-10-03` or `2025-09-14..2025-10-14`"
)
# Shown if a bug slips past the parser (it never should: the tests look for this text).
INTERNAL_ERROR = "Sorry, I tripped over that question. This is a bug on our side."

COMPARE_PREVIOUS = {
    "previous",
    "prev",
    "previous period",
    "prior period",
    "last period",
    "the previous period",
}
COMPARE_LAST_YEAR = {
    "last year",
    "ly",
    "yoy",
    "previous year",
    "a year ago",
    "year ago",
    "same period last year",
}
DIGEST_ACTIONS: tuple[DigestAction, ...] = ("preview", "subscribe", "unsubscribe")


@dataclass(frozen=True)
class QuestionSpec:
    """One ``/kpi`` subcommand's grammar: the words that start it, its parser, and the
    help shown for it. ``GRAMMAR`` lists them; commands, help topics and usage all come
    from it, and ``bot.kinds`` pairs each with its answerer and renderers."""

    name: str  # the canonical command word, also its help topic
    question_type: type
    parse: Callable[[list[str], date], Any]  # the words after the command → Question | ParseError
    aliases: tuple[str, ...] = ()  # more words that start it (and name its help topic)
    usage: tuple[str, ...] = ()  # help lines, Slack mrkdwn
    example: str = ""  # a full command that works


@dataclass(frozen=True)
class HelpTopic:
    """A help topic that is not a command (e.g. ``windows``)."""

    name: str
    aliases: tuple[str, ...]
    usage: tuple[str, ...]


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack mrkdwn requires (&, <, >).

    After this, ``<!channel>``, ``<@U123>`` and ``<http://x|y>`` typed by a user are
    shown as text instead of pinging a channel or making a link.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def echo(text: str, limit: int = ECHO_CHARS) -> str:
    """User text made safe to quote inside backticks in a Slack message.

    Control, format (e.g. right-to-left override) and surrogate characters become
    spaces, backticks become quotes (they would end the code span), whitespace is
    collapsed, the text is cut to ``limit`` characters, then mrkdwn-escaped.
    """
    cleaned = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    cleaned = " ".join(cleaned.replace("`", "'").split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return escape_mrkdwn(cleaned)


def parse_question(
    text: str,
    as_of: date,
    vocabulary: Vocabulary | Callable[[], Vocabulary | None] | None = None,
) -> Question | ParseError:
    """Parse the text of a ``/kpi`` command; never raises. ``vocabulary``: the semantic
    layer's metrics and dimensions (None: the metric grammar isn't available), or a
    function that loads it, called only if the strict grammar can't read the text.

    The strict grammar goes first and a question it reads is returned untouched; what it
    refuses goes to the loose-phrasing front end (``bot.core.phrasing``), whose questions
    carry ``understood`` (the canonical question run)."""
    try:
        eager = vocabulary if isinstance(vocabulary, Vocabulary) else None
        strict = _parse(text, as_of, eager)
        if not isinstance(strict, ParseError) or not isinstance(text, str):
            return strict
        if strict.message == INTERNAL_ERROR or len(text) > MAX_TEXT_CHARS:
            return strict
        loaded = vocabulary() if callable(vocabulary) else vocabulary
        from bot.core.phrasing import understand

        loose = understand(text, as_of, loaded, strict)
        return strict if loose is None else loose
    except Exception:  # a reply, never a stack trace, even for a parser bug
        return ParseError(INTERNAL_ERROR, EXAMPLE_REVENUE)


def parse_strict(
    text: str, as_of: date, vocabulary: Vocabulary | None = None
) -> Question | ParseError:
    """The strict grammar alone (the front end parses its canonical questions with it)."""
    try:
        return _parse(text, as_of, vocabulary)
    except Exception:
        return ParseError(INTERNAL_ERROR, EXAMPLE_REVENUE)


def _parse(text: str, as_of: date, vocabulary: Vocabulary | None = None) -> Question | ParseError:
    if not isinstance(text, str):
        text = ""
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    if len(text) > MAX_TEXT_CHARS:
        return ParseError(
            f"That's {len(text):,} characters — longer than any `/kpi` question. "
            f"Commands: {COMMAND_LIST}.",
            EXAMPLE_REVENUE,
        )
    words = text.split()
    if words and words[0].lower() == "/kpi":
        words = words[1:]
    if not words:
        return HelpQuestion(None)
    # Imported here: the metric grammar builds on this module's ParseError and echo.
    from bot.core.metric_grammar import route

    routed = route(words, as_of, vocabulary)
    if routed is not None:
        return routed
    spec, args = COMMANDS.get(words[0].lower()), words[1:]
    if spec is None:
        return _unknown_command(words, as_of)
    return spec.parse(args, as_of)


def _unknown_command(words: list[str], as_of: date) -> ParseError:
    whole = normalize(" ".join(words))
    try:
        is_window = parse_window(whole, as_of) is not None
    except WindowError:
        is_window = True
    if is_window:
        return ParseError(
            f"Did you mean revenue for `{echo(whole)}`? Start with a command: {COMMAND_LIST}.",
            f"/kpi revenue {echo(whole)}",
        )
    return ParseError(
        f"I don't know the command `{echo(words[0])}`. Commands: {COMMAND_LIST} "
        "(`/kpi help` shows examples).",
        EXAMPLE_REVENUE,
    )


def _revenue(args: list[str], as_of: date) -> RevenueQuestion | ParseError:
    words = _vs_words(args)
    splits = [i for i, word in enumerate(words) if word in VS_WORDS]
    if len(splits) > 1:
        return ParseError(
            "I can make one comparison at a time: `vs previous` or `vs last year`.",
            "/kpi revenue last 30 days vs last year",
        )
    window_words, with_last_year = words, False
    if splits:
        window_words = words[: splits[0]]
        with_last_year = _vs_last_year(
            words[splits[0] + 1 :], "/kpi revenue last 30 days vs last year"
        )
        if isinstance(with_last_year, ParseError):
            return with_last_year
    current = _window(window_words, DEFAULT_WINDOW, as_of, "revenue", EXAMPLE_REVENUE)
    if isinstance(current, ParseError):
        return current
    try:
        previous = previous_window(current)
        last_year = same_window_last_year(current) if with_last_year else None
    except WindowError as err:
        return ParseError(err.message, f"/kpi revenue {err.suggestion}")
    return RevenueQuestion(current, previous, last_year)


VS_WORDS = ("vs", "vs.", "versus")


def _vs_words(args: list[str]) -> list[str]:
    """The words, normalised, with "compared to/with" read as "vs"."""
    return re.sub(r"\bcompared (?:to|with)\b", "vs", normalize(" ".join(args))).split()


def _vs_last_year(words: list[str], example: str) -> bool | ParseError:
    """What follows `vs`: True for last year, False for the previous period."""
    compare = " ".join(words)
    if compare in COMPARE_LAST_YEAR:
        return True
    if compare in COMPARE_PREVIOUS:
        return False
    shown = f", not `{echo(compare)}`" if compare else ""
    return ParseError(
        f"`vs` takes `previous` (the period just before) or `last year`{shown}.", example
    )


def _window(
    words: list[str], default: str, as_of: date, command: str, example: str
) -> DateWindow | ParseError:
    """The window the words name (``default`` when there are none), or why not."""
    text = " ".join(words) or default
    try:
        window = parse_window(text, as_of)
    except WindowError as err:
        return ParseError(err.message, f"/kpi {command} {err.suggestion}")
    if window is None:
        return ParseError(
            f"I couldn't read the window `{echo(text)}`. Windows look like {WINDOW_FORMS}.",
            example,
        )
    return window


_OPTION_DASHES = re.compile(r"^(?:--|-|–|—)")
_ALPHA_VALUE = re.compile(r"(?:[0-9]{1,3}(?:\.[0-9]{0,8})?|\.[0-9]{1,8})(%?)", re.ASCII)


def _experiment(args: list[str], as_of: date | None = None) -> ExperimentQuestion | ParseError:
    experiment_id: str | None = None
    alpha: float | None = None
    i = 0
    while i < len(args):
        word = args[i]
        option = _OPTION_DASHES.sub("", word).lower()
        is_option = option != word.lower() or option.startswith("alpha=")
        if is_option:
            name, _, value = option.partition("=")
            if name != "alpha":
                return ParseError(
                    f"I don't know the option `{echo(word)}`; the only one is `--alpha`.",
                    "/kpi ab checkout_redesign --alpha 0.1",
                )
            if not value:
                i += 1
                value = args[i] if i < len(args) else ""
            if alpha is not None:
                return ParseError("Give `--alpha` once.", "/kpi ab checkout_redesign --alpha 0.1")
            parsed = _alpha(value)
            if isinstance(parsed, ParseError):
                return parsed
            alpha = parsed
        elif experiment_id is None:
            if not EXPERIMENT_ID.fullmatch(word):
                return ParseError(
                    f"`{echo(word)}` isn't an experiment id: ids are 1–64 letters, digits, "
                    "`_`, `.` or `-`. `/kpi ab` lists the experiments.",
                    EXAMPLE_AB,
                )
            experiment_id = word
        else:
            return ParseError(
                f"One experiment at a time: I read `{echo(experiment_id)}`, then `{echo(word)}`.",
                EXAMPLE_AB,
            )
        i += 1
    if experiment_id is None and alpha is not None:
        return ParseError("Which experiment? `--alpha` goes after an id.", EXAMPLE_AB)
    return ExperimentQuestion(experiment_id, DEFAULT_ALPHA if alpha is None else alpha)


def _alpha(value: str) -> float | ParseError:
    """``0.1``, ``.1`` or ``10%``; from ALPHA_MIN to ALPHA_MAX (0.01 to 0.2) inclusive."""
    alpha = None
    if m := _ALPHA_VALUE.fullmatch(value):
        alpha = float(value.rstrip("%")) / (100 if m.group(1) else 1)
    if alpha is None or not ALPHA_MIN <= alpha <= ALPHA_MAX:
        shown = f"`{echo(value)}`" if value else "missing"
        return ParseError(
            f"`--alpha` must be a number from {ALPHA_MIN:g} to {ALPHA_MAX:g} (e.g. 0.05 or 0.1); "
            f"{shown} isn't.",
            "/kpi ab checkout_redesign --alpha 0.1",
        )
    return alpha


_RETENTION_WEEKS = re.compile(
    r"(?:(?:last|past) )?([0-9]+)(?: ?(?:w|wk|wks|week|weeks|cohort|cohorts))?", re.ASCII
)


def _retention(args: list[str], as_of: date | None = None) -> RetentionQuestion | ParseError:
    rest = normalize(" ".join(args))
    if not rest:
        return RetentionQuestion(DEFAULT_RETENTION_WEEKS)
    m = _RETENTION_WEEKS.fullmatch(rest)
    if m is None:
        return ParseError(
            f"I couldn't read `{echo(rest)}` as a number of weeks: "
            f"`/kpi retention [weeks]` shows the most recent 1–{MAX_RETENTION_WEEKS} "
            "weekly cohorts.",
            EXAMPLE_RETENTION,
        )
    digits = m.group(1)
    weeks = int(digits) if len(digits) <= 3 else MAX_RETENTION_WEEKS + 1
    if not 1 <= weeks <= MAX_RETENTION_WEEKS:
        return ParseError(
            f"Retention shows 1–{MAX_RETENTION_WEEKS} of the most recent weekly cohorts; "
            f"`{echo(digits)}` is out of range.",
            EXAMPLE_RETENTION,
        )
    return RetentionQuestion(weeks)


def _digest(args: list[str], as_of: date | None = None) -> DigestCommand | ParseError:
    action = normalize(" ".join(args))
    for known in DIGEST_ACTIONS:
        if action == known:
            return DigestCommand(known)
    shown = f"`{echo(action)}` isn't one of them." if action else "which one?"
    return ParseError(
        f"Digest commands are `preview`, `subscribe` and `unsubscribe` — {shown}",
        EXAMPLE_DIGEST,
    )


FUNNEL_WINDOW = "last 30 days"
EXAMPLE_FUNNEL_BY = "/kpi funnel last 30 days by traffic_source"
EXAMPLE_FUNNEL_FOR = "/kpi funnel for checkout_redesign"
EXAMPLE_FUNNEL_VS = "/kpi funnel last 30 days vs last year"
FUNNEL_DIMENSIONS = {
    "traffic_source": "traffic_source",
    "traffic source": "traffic_source",
    "traffic": "traffic_source",
    "source": "traffic_source",
    "browser": "browser",
    "browsers": "browser",
}


def _funnel(args: list[str], as_of: date) -> FunnelQuestion | ParseError:
    """``[window] [vs previous | vs last year]``, ``[window] by <dimension>`` or
    ``for <experiment id>``."""
    if args and args[0].lower() == "for":
        return _funnel_experiment(args[1:])
    words = _vs_words(args)
    if "for" in words:
        return ParseError(
            "An experiment's funnel covers all its exposed users, so it takes no window: "
            "`/kpi funnel for <experiment id>`.",
            EXAMPLE_FUNNEL_FOR,
        )
    by = [i for i, word in enumerate(words) if word == "by"]
    vs = [i for i, word in enumerate(words) if word in VS_WORDS]
    if len(by) > 1 or len(vs) > 1 or (by and vs):
        return ParseError(
            "One funnel at a time: a window `vs previous`, `vs last year`, or `by` "
            "`traffic_source` or `browser` — not several.",
            EXAMPLE_FUNNEL_BY if by else EXAMPLE_FUNNEL_VS,
        )
    dimension, vs_last_year, window_words = None, False, words
    if by:
        window_words, wanted = words[: by[0]], " ".join(words[by[0] + 1 :])
        dimension = FUNNEL_DIMENSIONS.get(wanted)
        if dimension is None:
            shown = f", not `{echo(wanted)}`" if wanted else ""
            return ParseError(
                f"A funnel breaks down `by traffic_source` or `by browser`{shown}.",
                EXAMPLE_FUNNEL_BY,
            )
    if vs:
        window_words = words[: vs[0]]
        vs_last_year = _vs_last_year(words[vs[0] + 1 :], EXAMPLE_FUNNEL_VS)
        if isinstance(vs_last_year, ParseError):
            return vs_last_year
    current = _window(window_words, FUNNEL_WINDOW, as_of, "funnel", EXAMPLE_FUNNEL)
    if isinstance(current, ParseError):
        return current
    if dimension is not None:
        return FunnelQuestion(current, dimension=dimension)
    try:
        compare_window = (
            same_window_last_year(current) if vs_last_year else previous_window(current)
        )
    except WindowError as err:
        return ParseError(err.message, f"/kpi funnel {err.suggestion}")
    return FunnelQuestion(current, compare_window, vs_last_year)


def _funnel_experiment(args: list[str]) -> FunnelQuestion | ParseError:
    if not args:
        return ParseError(
            "Which experiment? `/kpi funnel for <experiment id>`; `/kpi ab` lists them.",
            EXAMPLE_FUNNEL_FOR,
        )
    if not EXPERIMENT_ID.fullmatch(args[0]):
        return ParseError(
            f"`{echo(args[0])}` isn't an experiment id: ids are 1–64 letters, digits, "
            "`_`, `.` or `-`. `/kpi ab` lists the experiments.",
            EXAMPLE_FUNNEL_FOR,
        )
    if len(args) > 1:
        return ParseError(
            f"An experiment's funnel takes just its id (it covers every exposed user): I "
            f"read `{echo(args[0])}`, then `{echo(' '.join(args[1:]))}`.",
            EXAMPLE_FUNNEL_FOR,
        )
    return FunnelQuestion(experiment_id=args[0])


def _help(args: list[str], as_of: date) -> HelpQuestion:
    return HelpQuestion(HELP_TOPICS.get(" ".join(args).lower()))


def _usage_lines(*lines: str) -> tuple[str, ...]:
    return lines


def _metrics_listing(args: list[str], as_of: date) -> MetricQuestion | ParseError:
    """``metrics`` alone (the metric grammar itself is ``bot.core.metric_grammar``)."""
    if args:
        return ParseError("`/kpi metrics` takes nothing after it.", "/kpi metrics")
    return MetricQuestion(listing="metrics")


REVENUE = QuestionSpec(
    "revenue",
    RevenueQuestion,
    _revenue,
    aliases=("rev",),
    usage=_usage_lines(
        "*Revenue* — `/kpi revenue [window] [vs previous | vs last year]` (default: last 7 days)",
        "   `/kpi revenue` · `/kpi revenue last 30 days` · `/kpi revenue mtd vs last year`",
        "   Windows count complete days up to yesterday: `yesterday`, `last 30 days` (`30d`), "
        "`last week`, `last 4 weeks`, `wtd`, `mtd`, `qtd`, `ytd`, `last month`, "
        "`last 3 months`, `last quarter`, `last year`",
        "   Dates: `2025-10-03`, `2025-09-14..2025-10-14`, `since 2025-09-01`, `october`, "
        "`october 2025`, `2025-10`, `q3 2025`, `2025`",
        "   Compared with the period just before; months, quarters and years with the whole "
        "one before; mtd/wtd/qtd/ytd with the same days of the previous period.",
    ),
    example=EXAMPLE_REVENUE,
)
EXPERIMENTS = QuestionSpec(
    "ab",
    ExperimentQuestion,
    _experiment,
    aliases=("a/b", "experiment", "experiments"),
    usage=_usage_lines(
        "*Experiments* — `/kpi ab` lists them · `/kpi ab checkout_redesign` · "
        "`/kpi ab checkout_redesign --alpha 0.1`",
    ),
    example=EXAMPLE_AB,
)
RETENTION = QuestionSpec(
    "retention",
    RetentionQuestion,
    _retention,
    aliases=("cohorts",),
    usage=_usage_lines(
        "*Retention* — `/kpi retention [weeks]`: the most recent weekly cohorts (1–52, "
        "default 12) · `/kpi retention 8`",
    ),
    example=EXAMPLE_RETENTION,
)
FUNNEL = QuestionSpec(
    "funnel",
    FunnelQuestion,
    _funnel,
    aliases=("funnels",),
    usage=_usage_lines(
        "*Funnel* — sessions → product → cart → purchase: `/kpi funnel [window] "
        "[vs previous | vs last year]` (default: last 30 days vs the 30 days before)",
        "   `/kpi funnel` · `/kpi funnel last week vs last year` · "
        "`/kpi funnel mtd by traffic_source` · `/kpi funnel last 30 days by browser`",
        "   An experiment's exposed users by variant: `/kpi funnel for checkout_redesign`",
    ),
    example=EXAMPLE_FUNNEL,
)
DIGEST = QuestionSpec(
    "digest",
    DigestCommand,
    _digest,
    usage=_usage_lines(
        "*Digest* — `/kpi digest preview` · `/kpi digest subscribe` · "
        "`/kpi digest unsubscribe` (this channel's weekly digest)",
    ),
    example=EXAMPLE_DIGEST,
)


def _alert(args: list[str], as_of: date | None = None) -> AlertCommand | ParseError:
    parsed = parse_alert_command(args)
    if isinstance(parsed, AlertParseError):
        return ParseError(parsed.message, parsed.example)
    return parsed


ALERT = QuestionSpec(
    "alert",
    AlertCommand,
    _alert,
    aliases=("alerts",),
    usage=ALERT_USAGE,
    example="/kpi alert orders drops 30%",
)
HELP = QuestionSpec(
    "help",
    HelpQuestion,
    _help,
    aliases=("?",),
    usage=_usage_lines("*Help* — `/kpi help` · `/kpi help revenue`"),
    example="/kpi help revenue",
)
WINDOWS_TOPIC = HelpTopic(
    "windows",
    ("window", "dates"),
    _usage_lines(
        "*Windows* — complete days up to yesterday: `yesterday`, `last 30 days` (`30d`), "
        "`last week`, `last 4 weeks`, `wtd`, `mtd`, `qtd`, `ytd`, `last month`, "
        "`last 3 months`, `last quarter`, `last year`",
        "   Dates: `2025-10-03`, `2025-09-14..2025-10-14`, `since 2025-09-01`, `october`, "
        "`october 2025`, `2025-10`, `q3 2025`, `2025`",
        "   `vs previous` (the default) or `vs last year`: `/kpi revenue mtd vs last year`",
    ),
)

METRICS = QuestionSpec(
    "metrics",
    MetricQuestion,
    _metrics_listing,
    aliases=("metric",),
    usage=_usage_lines(
        "*Metrics* — `/kpi METRIC[, METRIC…] [by DIMENSION] [where DIMENSION = VALUE | "
        "!= VALUE | in (V1, V2)] [window] [daily | weekly | monthly] [vs previous | "
        "vs last year] [top N]` (default: last 7 days, top 10)",
        "   `/kpi orders by traffic_source last 30 days` · `/kpi aov where country = Brasil "
        "mtd` · `/kpi revenue, orders, aov last month vs last year` · `/kpi sessions last 90 "
        "days weekly` · `/kpi revenue by category where gender != F top 5`",
        "   `/kpi metrics` lists every metric · `/kpi dimensions aov` lists one metric's "
        "dimensions. Names as in dbt, any case, spaces or underscores.",
    ),
    example="/kpi metrics",
)

# The grammar: one entry per /kpi subcommand, in the order help lists them. A new kind of
# question adds its spec here and its answer kind in ``bot.kinds`` (a test checks both).
GRAMMAR: tuple[QuestionSpec, ...] = (
    REVENUE,
    EXPERIMENTS,
    RETENTION,
    FUNNEL,
    DIGEST,
    ALERT,
    HELP,
    METRICS,
)
HELP_ONLY_TOPICS: tuple[HelpTopic, ...] = (WINDOWS_TOPIC,)

COMMANDS: dict[str, QuestionSpec] = {
    word: spec for spec in GRAMMAR for word in (spec.name, *spec.aliases)
}
COMMAND_LIST = ", ".join(f"`{spec.name}`" for spec in GRAMMAR)
HELP_TOPICS: dict[str, str] = {
    word: topic.name
    for topic in (*(s for s in GRAMMAR if s is not HELP), *HELP_ONLY_TOPICS)
    for word in (topic.name, *topic.aliases)
    if word != "a/b"
}
USAGE = "\n".join(line for spec in GRAMMAR for line in spec.usage)


def topic_usage(topic: str | None) -> str:
    """The help text of one topic (its grammar and examples), or all of it."""
    for item in (*GRAMMAR, *HELP_ONLY_TOPICS):
        if item.name == topic:
            return "\n".join([*item.usage, f"Every command: `/kpi help` ({COMMAND_LIST})."])
    return USAGE
