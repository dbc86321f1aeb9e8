"""The metric grammar: ``<metric>[, <metric>…] [by <dimension>] [where …] [<window>]
[daily|weekly|monthly] [vs previous | vs last year] [top N]``, plus ``metrics`` and
``dimensions <metric>`` (pure; the vocabulary is passed in).

Names match the manifest's names and labels case-insensitively, with spaces, dashes or
underscores (``traffic source`` = ``traffic_source``, ``average order value`` = ``aov``).
An unknown name gets "did you mean …" with the closest known names (rapidfuzz). Filter
values are kept as typed: the answerer checks them against the dimension's known values.

``bot.core.questions`` calls ``route`` before its own commands; it imports this module
lazily, because this module builds on its ``ParseError`` and ``echo``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import date

from rapidfuzz import fuzz, process

from bot.core import questions as q
from bot.core.metric_questions import (
    MAX_TOP,
    Comparison,
    MetricFilter,
    MetricQuestion,
    Vocabulary,
)
from bot.core.metrics import Grain
from bot.core.windows import (
    DateWindow,
    WindowError,
    normalize,
    parse_window,
    previous_window,
    same_window_last_year,
)

EXAMPLE = "/kpi orders by traffic_source last 30 days"
NOT_LOADED = (
    "The semantic layer (metrics and dimensions from dbt) isn't loaded yet, so I can't "
    "answer metric questions right now. Try again in a minute, or run `python -m bot build`."
)
GRAIN_WORDS: dict[str, Grain] = {
    "daily": "day",
    "by day": "day",
    "weekly": "week",
    "by week": "week",
    "monthly": "month",
    "by month": "month",
}
# Words after `revenue` that mean the metric grammar, not the revenue report.
_METRIC_MARKERS = re.compile(r"(^|\s)(by|where|top|daily|weekly|monthly)(\s|$)|,")
_TOP = re.compile(r"(?:^|\s)top\s+(\S+)\s*$")
_GRAIN = re.compile(r"(?:^|\s)(daily|weekly|monthly|by day|by week|by month)(?=\s|$)")
_VS = re.compile(r"(?:^|\s)(?:vs\.?|versus|compared (?:to|with))(?:\s+(.*))?$")
_OPERATOR = re.compile(r"\s*(!=|<>|=|\bnot in\b|\bin\b|\bis not\b|\bis\b)\s*", re.IGNORECASE)
_NOT_COMMANDS = {"revenue", "rev", "metrics", "metric", "dimensions", "dimension"}
SUGGESTION_CUTOFF = 60  # rapidfuzz WRatio score (0–100) below which a name isn't offered


@functools.lru_cache(maxsize=4096)  # called for every name on every question: cache it
def key(name: str) -> str:
    """How names are compared: lower case, ``_``/``-`` as spaces, single spaces."""
    return " ".join(re.sub(r"[_\-]+", " ", name.casefold()).split())


def closest(text: str, names: Iterable[str], limit: int = 3) -> list[str]:
    """The known names nearest to ``text`` (best first), for "did you mean"."""
    choices = {key(n): n for n in names}
    found = process.extract(
        key(text), list(choices), scorer=fuzz.WRatio, limit=limit, score_cutoff=SUGGESTION_CUTOFF
    )
    seen: list[str] = []
    for match, _score, _ in found:
        if choices[match] not in seen:
            seen.append(choices[match])
    return seen


def did_you_mean(names: list[str]) -> str:
    if not names:
        return ""
    return " Did you mean " + " or ".join(f"`{q.echo(n)}`" for n in names) + "?"


def needs_vocabulary(text: str) -> bool:
    """Could this text be a metric question? (Other commands never wait for the
    semantic layer to load.)"""
    words = text.split() if isinstance(text, str) else []
    if words and words[0].lower() == "/kpi":
        words = words[1:]
    if not words:
        return False
    first = words[0].lower().rstrip(",")
    if first in ("revenue", "rev"):
        return bool(_METRIC_MARKERS.search(" ".join(words[1:]).lower())) or words[0].endswith(",")
    return first == "dimensions" or first not in q.COMMANDS


def route(words: list[str], as_of: date, vocabulary: Vocabulary | None):
    """A metric question, a ParseError, or None: not the metric grammar's to answer."""
    first = words[0].lower()
    text = " ".join(words)
    if first in ("metrics", "metric") and len(words) == 1:
        return MetricQuestion(listing="metrics")
    if first in ("dimensions", "dimension"):
        return _dimensions(words[1:], vocabulary)
    if first in ("revenue", "rev") or first.startswith(("revenue,", "rev,")):
        if not _METRIC_MARKERS.search(text.lower()):
            return None  # the revenue report, exactly as before
    elif first in q.COMMANDS:
        return None
    if vocabulary is None:
        # `orders by country` may well be a metric question: say why it can't be answered.
        if first in _NOT_COMMANDS or _METRIC_MARKERS.search(text.lower()):
            return q.ParseError(NOT_LOADED, "/kpi revenue last 30 days")
        return None  # the unknown-command reply
    if not _looks_like_a_metric(text, vocabulary):
        return None  # neither a metric nor close to one: the unknown-command reply
    return parse_metric_question(text, as_of, vocabulary)


def _looks_like_a_metric(text: str, vocabulary: Vocabulary) -> bool:
    head = re.split(r"[,]|\s(?:by|where)\s", text, maxsplit=1, flags=re.IGNORECASE)[0]
    if not head.split():
        return True  # `, orders`: the grammar says what's missing
    if _name_then_window(head, lambda t: _metric_name(t, vocabulary))[0] is not None:
        return True
    if _is_window(text, date(2000, 1, 1)):
        return False  # `last 30 days` alone: the unknown-command reply suggests revenue
    names = [key(m.name) for m in vocabulary.metrics] + [key(m.label) for m in vocabulary.metrics]
    # A plain edit distance here (not WRatio's partial matches): is the first word a typo
    # of a metric's name? Then "did you mean"; otherwise the unknown-command reply.
    return bool(
        process.extract(key(head.split()[0]), names, scorer=fuzz.ratio, score_cutoff=70, limit=1)
    )


def _dimensions(args: list[str], vocabulary: Vocabulary | None):
    if vocabulary is None:
        return q.ParseError(NOT_LOADED, "/kpi help")
    if not args:
        return q.ParseError("Which metric? `/kpi dimensions revenue`", "/kpi dimensions revenue")
    name = _metric_name(" ".join(args), vocabulary)
    if name is None:
        return _unknown_metric(" ".join(args), vocabulary)
    return MetricQuestion(metrics=(name,), listing="dimensions")


def parse_metric_question(
    text: str, as_of: date, vocabulary: Vocabulary
) -> MetricQuestion | q.ParseError:
    """Parse ``text`` (the words after ``/kpi``) in the metric grammar."""
    rest = " ".join(text.split())
    rest, top = _take_top(rest)
    if isinstance(top, q.ParseError):
        return top
    rest, grain = _take_grain(rest)
    if isinstance(grain, q.ParseError):
        return grain
    rest, comparison = _take_comparison(rest)
    if isinstance(comparison, q.ParseError):
        return comparison
    head, where_text = _split_word(rest, "where")
    head, by_text = _split_word(head, "by")
    window_text: list[str] = []

    metrics = _metrics(head, vocabulary, window_text)
    if isinstance(metrics, q.ParseError):
        return metrics
    group_by = None
    if by_text is not None:
        group_by = _group_by(by_text, metrics, vocabulary, as_of, window_text)
        if isinstance(group_by, q.ParseError):
            return group_by
    filters: tuple[MetricFilter, ...] = ()
    if where_text is not None:
        flt = _filter(where_text, metrics, vocabulary, as_of, window_text)
        if isinstance(flt, q.ParseError):
            return flt
        filters = (flt,)
    windows = _windows(window_text, as_of, comparison)
    if isinstance(windows, q.ParseError):
        return windows
    current, previous = windows
    return MetricQuestion(
        metrics=metrics,
        current=current,
        previous=previous,
        comparison=comparison,
        group_by=group_by,
        filters=filters,
        grain=grain,
        top=top,
    )


# --- clauses ------------------------------------------------------------------------


def _take_top(rest: str) -> tuple[str, int | q.ParseError | None]:
    m = _TOP.search(rest.lower())
    if m is None:
        return rest, None
    value = m.group(1)
    if not value.isdigit() or not 1 <= int(value[:4]) <= MAX_TOP:
        return rest, q.ParseError(
            f"`top` takes a number of rows from 1 to {MAX_TOP}; `{q.echo(value)}` isn't.",
            "/kpi revenue by category last 30 days top 5",
        )
    return rest[: m.start()].rstrip(), int(value)


def _take_grain(rest: str) -> tuple[str, Grain | q.ParseError | None]:
    found = list(_GRAIN.finditer(rest.lower()))
    if len(found) > 1:
        return rest, q.ParseError(
            "One grain at a time: `daily`, `weekly` or `monthly`.",
            "/kpi orders last 90 days weekly",
        )
    if not found:
        return rest, None
    m = found[0]
    return (rest[: m.start()] + " " + rest[m.end() :]).strip(), GRAIN_WORDS[m.group(1)]


def _take_comparison(rest: str) -> tuple[str, Comparison | q.ParseError]:
    m = _VS.search(rest.lower())
    if m is None:
        return rest, "previous"
    compare = normalize(m.group(1) or "")
    if compare in q.COMPARE_LAST_YEAR:
        return rest[: m.start()].rstrip(), "last_year"
    if compare in q.COMPARE_PREVIOUS:
        return rest[: m.start()].rstrip(), "previous"
    shown = f", not `{q.echo(compare)}`" if compare else ""
    return rest, q.ParseError(
        f"`vs` takes `previous` (the period just before) or `last year`{shown}.",
        "/kpi orders by country last 30 days vs last year",
    )


def _split_word(text: str, word: str) -> tuple[str, str | None]:
    """``text`` split at the first standalone ``word`` (case-insensitive)."""
    m = re.search(rf"(?:^|\s){word}(?:\s|$)", text, re.IGNORECASE)
    if m is None:
        return text, None
    return text[: m.start()].strip(), text[m.end() :].strip()


def _metrics(
    head: str, vocabulary: Vocabulary, window_text: list[str]
) -> tuple[str, ...] | q.ParseError:
    parts = [p.strip() for p in head.split(",")]
    if not parts or not parts[0]:
        return q.ParseError("Which metric? `/kpi metrics` lists them.", EXAMPLE)
    names: list[str] = []
    for i, part in enumerate(parts):
        if i < len(parts) - 1:
            name = _metric_name(part, vocabulary)
        else:  # the last one may carry the window: `orders last 30 days`
            name, tail = _name_then_window(part, lambda t: _metric_name(t, vocabulary))
            if tail:
                window_text.append(tail)
        if name is None:
            return _unknown_metric(part, vocabulary)
        if name in names:
            return q.ParseError(f"`{q.echo(part)}` is named twice.", EXAMPLE)
        names.append(name)
    if len(names) > 5:
        return q.ParseError("At most five metrics at a time.", "/kpi revenue, orders, aov")
    return tuple(names)


def _group_by(
    text: str,
    metrics: tuple[str, ...],
    vocabulary: Vocabulary,
    as_of: date,
    window_text: list[str],
) -> str | q.ParseError:
    if not text:
        return q.ParseError("`by` what? e.g. `by country`.", EXAMPLE)
    name, tail = _name_then_window(text, lambda t: _dimension_name(t, vocabulary))
    if name is None:
        words = text.split()
        cut = next(
            (i for i in range(1, len(words)) if _is_window(" ".join(words[i:]), as_of)), len(words)
        )
        return _unknown_dimension(" ".join(words[:cut]), metrics, vocabulary)
    if tail:
        window_text.append(tail)
    return _dimension_of(name, metrics, vocabulary)


def _filter(
    text: str,
    metrics: tuple[str, ...],
    vocabulary: Vocabulary,
    as_of: date,
    window_text: list[str],
) -> MetricFilter | q.ParseError:
    example = "/kpi aov where country = Brazil last 30 days"
    m = _OPERATOR.search(text)
    if m is None or not text[: m.start()].strip():
        return q.ParseError(
            "A filter looks like `where country = Brazil`, `where country != Brazil` or "
            "`where country in (Brazil, Spain)`.",
            example,
        )
    dim_text, op, value_text = text[: m.start()].strip(), m.group(1).lower(), text[m.end() :]
    name = _dimension_name(dim_text, vocabulary)
    if name is None:
        return _unknown_dimension(dim_text, metrics, vocabulary)
    checked = _dimension_of(name, metrics, vocabulary)
    if isinstance(checked, q.ParseError):
        return checked
    negate = op in ("!=", "<>", "not in", "is not")
    if op in ("in", "not in"):
        values, tail = _value_list(value_text)
    else:
        values, tail = _single_value(value_text, as_of)
    if isinstance(values, q.ParseError):
        return values
    if not values:
        return q.ParseError(f"Which {q.echo(name)}? e.g. `where {name} = …`.", example)
    if tail:
        window_text.append(tail)
    return MetricFilter(name, values, negate=negate)


def _value_list(text: str) -> tuple[tuple[str, ...] | q.ParseError, str]:
    m = re.match(r"\s*\((.*?)\)\s*(.*)$", text)
    if m is None:
        return q.ParseError(
            "`in` takes values in brackets: `where country in (Brazil, Spain)`.",
            "/kpi orders by gender where country in (Brazil, Spain)",
        ), ""
    values = tuple(_unquote(v) for v in m.group(1).split(",") if _unquote(v))
    return values, m.group(2).strip()


def _single_value(text: str, as_of: date) -> tuple[tuple[str, ...], str]:
    """The value, then perhaps a window: the shortest value whose rest reads as a
    window (``united states last 30 days``), else all of it."""
    text = text.strip()
    quoted = re.match(r"""\s*(["'“‘])(.*?)["'”’]\s*(.*)$""", text)
    if quoted:
        return ((quoted.group(2).strip(),) if quoted.group(2).strip() else ()), quoted.group(3)
    words = text.split()
    for i in range(1, len(words)):
        if _is_window(" ".join(words[i:]), as_of):
            return (" ".join(words[:i]),), " ".join(words[i:])
    return ((text,) if text else ()), ""


def _unquote(value: str) -> str:
    return value.strip().strip("\"'“”‘’").strip()


def _windows(
    window_text: list[str], as_of: date, comparison: Comparison
) -> tuple[DateWindow, DateWindow] | q.ParseError:
    if len(window_text) > 1:
        return q.ParseError("One window at a time.", EXAMPLE)
    phrase = normalize(window_text[0]) if window_text else q.DEFAULT_WINDOW
    try:
        current = parse_window(phrase, as_of)
        if current is None:
            return q.ParseError(
                f"I couldn't read `{q.echo(phrase)}` as a window. Windows look like "
                f"{q.WINDOW_FORMS}.",
                EXAMPLE,
            )
        if comparison == "last_year":
            return current, same_window_last_year(current)
        return current, previous_window(current)
    except WindowError as err:
        return q.ParseError(err.message, f"/kpi orders by country {err.suggestion}")


def _is_window(text: str, as_of: date) -> bool:
    try:
        return parse_window(normalize(text), as_of) is not None
    except WindowError:
        return True  # a window phrase, just not a valid one: the window clause says why


# --- names --------------------------------------------------------------------------


def _name_then_window(text: str, resolve) -> tuple[str | None, str]:
    """The longest leading run of words that names something, and the words after it."""
    words = text.split()
    for i in range(len(words), 0, -1):
        name = resolve(" ".join(words[:i]))
        if name is not None:
            return name, " ".join(words[i:])
    return None, ""


def _metric_name(text: str, vocabulary: Vocabulary) -> str | None:
    wanted = key(text)
    for m in vocabulary.metrics:
        if wanted in (key(m.name), key(m.label)):
            return m.name
    return None


def _dimension_name(text: str, vocabulary: Vocabulary) -> str | None:
    wanted = key(text)
    for d in vocabulary.dimensions:
        if wanted in (key(d.name), key(d.label)):
            return d.name
    return None


def _dimension_of(
    name: str, metrics: tuple[str, ...], vocabulary: Vocabulary
) -> str | q.ParseError:
    for metric in metrics:
        offered = vocabulary.metric(metric).dimensions
        if name not in offered:
            return q.ParseError(
                f"{metric} can't be broken down or filtered by {name}. Its dimensions: "
                f"{', '.join(f'`{d}`' for d in offered) or 'none'}.",
                f"/kpi {metric} by {offered[0]} last 30 days" if offered else EXAMPLE,
            )
    return name


def _unknown_metric(text: str, vocabulary: Vocabulary) -> q.ParseError:
    word = text.split()[0] if text.split() else text
    names = [m.name for m in vocabulary.metrics] + [m.label for m in vocabulary.metrics]
    found = closest(text, names) or closest(word, names)
    suggested = [_metric_name(n, vocabulary) or n for n in found]
    unique = list(dict.fromkeys(suggested))
    example = EXAMPLE
    if unique and vocabulary.metric(unique[0]).dimensions:
        example = f"/kpi {unique[0]} by {vocabulary.metric(unique[0]).dimensions[0]} last 30 days"
    return q.ParseError(
        f"I don't know the metric `{q.echo(text)}`.{did_you_mean(unique)} "
        "`/kpi metrics` lists them all.",
        example,
    )


def _unknown_dimension(text: str, metrics: tuple[str, ...], vocabulary: Vocabulary) -> q.ParseError:
    offered = vocabulary.metric(metrics[0]).dimensions if metrics else ()
    pool = offered or tuple(d.name for d in vocabulary.dimensions)
    found = closest(text, pool)
    return q.ParseError(
        f"I don't know the dimension `{q.echo(text)}`.{did_you_mean(found)} "
        f"{metrics[0] if metrics else 'It'} has: {', '.join(f'`{d}`' for d in pool)}.",
        f"/kpi {metrics[0]} by {found[0] if found else pool[0]} last 30 days"
        if metrics and pool
        else EXAMPLE,
    )
