"""The tolerant front end: a loosely phrased question → the canonical question it means.

``understand(text, as_of, vocabulary, strict_error)`` runs only after the strict grammar
(``bot.core.questions``) has refused the text, so a grammatical question is never
touched. It rewrites the text with the tables of ``bot.core.phrasebook`` (window
phrases, comparisons, grains, ranking words, dimension synonyms, value aliases, command
words, filler) and the vocabulary (metric names, labels and dbt-declared synonyms,
dimensions and their known values, experiment ids), builds the canonical question
(``revenue by country last month top 5``) and parses *that* with the strict grammar.
The result carries an ``Understanding`` (the canonical text and notes on any reading or
correction made) so every answer can say what it ran.

Confidence policy (README "Loose phrasing"):

* a word that is a declared synonym, alias or filler is read silently (the canonical
  question shows the reading);
* a misspelt word (5+ letters) is corrected when it is one edit (rapidfuzz OSA: a letter
  wrong, missing, extra, or two swapped; two edits from 9 letters) from a known word and
  no other meaning is as close: the answer runs and says "`retnetion` read as
  `retention`" — unless the strict grammar itself saw the misspelt name where it
  expected one ("Did you mean `revenue`?"): then its reply stands, with a button;
* a weaker or tied match is asked (a ``ParseError`` whose ``choices`` are the canonical
  questions, shown as buttons in Slack); so is any reading with two meanings (a value of
  two dimensions, a word naming two experiments), and only readings the grammar can
  answer are offered; a word not understood at all is never silently dropped (only
  filler is): the reply says what was understood and offers it;
* nothing close: "I don't know `…`" with examples.

Pure and fast (no I/O; p99 well under 5 ms, benchmarks/phrasing.py).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.core import phrasebook as pb
from bot.core import questions as q
from bot.core.metric_questions import MAX_TOP, Vocabulary
from bot.core.windows import MONTH_NAMES, WindowError, parse_window

MAX_READINGS = 4  # buttons offered at most
MAX_WINDOW_WORDS = 6
EXAMPLES = (
    "`revenue last 30 days`, `orders by country last month`, `aov so far this month`, "
    "`new users per week lately`, `ab checkout_redesign`, `funnel mtd`"
)

# Nothing understood and nothing close: the strict grammar's reply stands.
NOTHING = q.ParseError("", "")
Tag = tuple  # ("metric", name) | ("dim", name) | ("value", dim, value) | ("cmd", name) | …


@dataclass
class _Intent:
    """What one reading of the words asks for."""

    metrics: list[str] = field(default_factory=list)
    group_by: list[str] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)
    grain: str | None = None
    top: int | None = None
    bottom: int | None = None
    command: str | None = None
    experiments: list[set[str]] = field(default_factory=list)
    experiment_word: bool = False
    number: int | None = None
    unknown: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    asked: bool = False  # a misspelling read as a weak match: offered, never assumed
    corrected: bool = False  # a misspelling read as its clear match
    ranked: bool = False  # `top`, `best` …: a ranking, so a breakdown without a measure
    unlisted: bool = False  # a second measure not joined by `and`/`,`: which one is meant?


@dataclass(frozen=True)
class _Lexicon:
    phrases: dict[tuple[str, ...], tuple[Tag, ...]]
    longest: int
    words: dict[str, tuple[Tag, ...]]  # single words for did-you-mean
    names: frozenset[str]  # metric and dimension names as dbt spells them (lower case)
    experiments: tuple[str, ...]
    metric_keys: frozenset[str]  # metric names as the grammar compares them (`items sold`)
    grammar_words: frozenset[str]  # words the strict grammar itself knows


# --- entry point ----------------------------------------------------------------------


def understand(
    text: str, as_of: date, vocabulary: Vocabulary | None, strict: q.ParseError
) -> q.Question | q.ParseError | None:
    """The question a loosely phrased ``text`` means (with its ``understood`` set), a
    ParseError that asks (``choices``, each one the grammar can answer) or says what
    isn't known, or None: nothing to add to the strict grammar's own error ``strict``."""
    found = _understand(text, as_of, vocabulary, strict)
    if isinstance(found, q.ParseError) and found.choices:
        return _runnable_choices(found, as_of, vocabulary)
    return found


def _runnable_choices(
    error: q.ParseError, as_of: date, vocabulary: Vocabulary | None
) -> q.ParseError:
    """Offer only readings the grammar can answer; none left: why the first can't be."""
    parsed = {c: q.parse_strict(c, as_of, vocabulary) for c in error.choices}
    runnable = tuple(c for c, p in parsed.items() if not isinstance(p, q.ParseError))
    if runnable == error.choices:
        return error
    if runnable:
        return q.ParseError(error.message, f"/kpi {runnable[0]}", choices=runnable)
    first, why = error.choices[0], parsed[error.choices[0]]
    if error.message.startswith("I don't know"):
        return q.ParseError(f"{error.message} (And: {why.message})", why.example)
    return q.ParseError(f"I read that as `{q.echo(first)}`, but: {why.message}", why.example)


def _understand(
    text: str, as_of: date, vocabulary: Vocabulary | None, strict: q.ParseError
) -> q.Question | q.ParseError | None:
    lexicon = _lexicon(vocabulary)
    words = text.split()
    if words and words[0].lower() == "/kpi":
        words = words[1:]
    original = " ".join(words)
    if _GRAMMAR_SYNTAX.search(original):
        return None  # `where country = …`, `--alpha`: written for the grammar, its reply
    misspelt = _misspelt_command(words, as_of, vocabulary)
    if misspelt is not None:
        return misspelt
    prepared, comparison, notes = _prepare(original.lower(), as_of)
    tokens = prepared.split()
    window, rest = _take_window(tokens, as_of)
    tagged = _tag(rest, lexicon)
    if _grammar_words_only(original, prepared, tagged, lexicon):
        return None  # written in the grammar's own words: its own reply is the answer
    readings = _readings(tagged, lexicon, notes)
    results: list[tuple[str, _Intent]] = []
    failures: list[q.ParseError] = []
    for intent in readings:
        built = _canonical(intent, window, comparison, vocabulary)
        if isinstance(built, q.ParseError):
            failures.append(built)
        elif built not in (c for c, _ in results):
            results.append((built, intent))
    failures = [f for f in failures if f is not NOTHING]
    if not results:
        if failures:
            return _prefer_strict(failures[0], strict, original, lexicon)
        return None
    if len(results) > 1:  # offer only readings the grammar can run
        runnable = [
            r
            for r in results
            if not isinstance(q.parse_strict(r[0], as_of, vocabulary), q.ParseError)
        ]
        if len(runnable) == 1:
            other = next(c for c, _ in results if c != runnable[0][0])
            runnable[0][1].notes.append(
                f"The other reading, `{q.echo(other)}`, isn't one I can answer."
            )
        results = runnable or results[:1]
    if len(results) > 1 or results[0][1].asked:
        choices = tuple(c for c, _ in results[:MAX_READINGS])
        if len(choices) == 1:  # a weak correction: asked, not assumed
            return q.ParseError(
                f"Did you mean `{q.echo(choices[0])}`?", f"/kpi {choices[0]}", choices=choices
            )
        return q.ParseError(
            f"`{q.echo(original)}` can mean more than one thing — which one? "
            + " · ".join(f"`{q.echo(c)}`" for c in choices),
            f"/kpi {choices[0]}",
            choices=choices,
        )
    canonical, intent = results[0]
    if _same(canonical, original):
        return None  # the strict grammar's own reply says it best
    if intent.corrected and "Did you mean" in strict.message:
        # The grammar itself saw a misspelt name where it expected one, and asks: keep
        # its words, and offer the corrected question as a button.
        return q.ParseError(strict.message, strict.example, choices=(canonical,))
    first = words[0].lower() if words else ""
    command = q.COMMANDS.get(first)
    if command not in (None, q.REVENUE) and q.COMMANDS.get(canonical.split()[0]) is not command:
        return None  # a command word first: the question is that command's, or its error
    parsed = q.parse_strict(canonical, as_of, vocabulary)
    if isinstance(parsed, q.ParseError):
        return q.ParseError(
            f"I read that as `{q.echo(canonical)}`, but: {parsed.message}",
            parsed.example,
            choices=parsed.choices,
        )
    understanding = q.Understanding(canonical, tuple(dict.fromkeys(intent.notes)))
    return _with_understanding(parsed, understanding)


_VALUE_IN_WINDOW = re.compile(r"I couldn't read (?:the window )?`(?:in|for|from|at|among) ")
_GRAMMAR_SYNTAX = re.compile(r"(?i)\bwhere\b|=|<>|(?:^|\s)--?alpha")
_STRICT_WORDS = frozenset({"by", "top", ",", "daily", "weekly", "monthly", "where", "vs"})


def _grammar_words_only(original: str, prepared: str, tagged: list, lexicon: _Lexicon) -> bool:
    """Is the text made of the strict grammar's words only (names as dbt spells them,
    command words, `by`, `top`, digits, the grammar's window phrases)? Then the strict
    grammar's error stands: the front end reads loose phrasing, it doesn't reorder a
    question written in the grammar."""

    def plain(text: str) -> str:
        return " ".join(re.sub(r"[?!.]+$", "", text.lower()).replace(",", " ").split())

    if plain(original) != plain(prepared):
        return False
    first = plain(original).split()[0] if plain(original) else ""
    if first not in q.COMMANDS and first.replace("_", " ") not in lexicon.metric_keys:
        return False  # `monthly revenue`: not started in the grammar
    exact = lexicon.grammar_words
    return all(words in exact or _DIGITS.fullmatch(words) for words, _tags in tagged)


# Commands the lexicon doesn't read (they act on Slack or list the vocabulary): a typo in
# their word is asked about with the corrected command as a button, never run.
_ASKED_COMMANDS = ("digest", "alert", "alerts", "metrics", "dimensions")
_SAFE_COMMAND_TEXT = re.compile(r"[A-Za-z0-9 _.,%-]{1,120}")


def _misspelt_command(
    words: list[str], as_of: date, vocabulary: Vocabulary | None
) -> q.ParseError | None:
    first = words[0].lower() if words else ""
    if len(first) < 5 or first in q.COMMANDS:
        return None
    found = process.extract(first, _ASKED_COMMANDS, scorer=OSA.distance, score_cutoff=1, limit=2)
    if len(found) != 1:
        return None
    corrected = " ".join([found[0][0], *words[1:]])
    if not _SAFE_COMMAND_TEXT.fullmatch(corrected):
        return None
    if isinstance(q.parse_strict(corrected, as_of, vocabulary), q.ParseError):
        return None
    return q.ParseError(
        f"Did you mean `{q.echo(corrected)}`?", f"/kpi {corrected}", choices=(corrected,)
    )


def _with_understanding(question: q.Question, understanding: q.Understanding) -> q.Question:
    if hasattr(question, "understood"):
        return replace(question, understood=understanding)
    return question


def _prefer_strict(
    error: q.ParseError, strict: q.ParseError, original: str, lexicon: _Lexicon
) -> q.ParseError:
    """The front end's reply when it offers readings or the text wasn't written in the
    grammar; the strict grammar's own (more specific) error when it was."""
    first = original.split()[0].lower().rstrip(",") if original.split() else ""
    grammatical = first in q.COMMANDS or first in lexicon.names
    # A loose `in <value>` after a grammar word lands in the window slot ("couldn't read
    # the window `in narnia last week`"): then the front end's reply says more.
    if grammatical and not _VALUE_IN_WINDOW.match(strict.message):
        return strict
    return error


def _same(canonical: str, original: str) -> bool:
    return " ".join(canonical.lower().split()) == " ".join(original.lower().split())


# --- preparing the text -----------------------------------------------------------------

_RE_COMPARE_LY = re.compile(pb.COMPARE_LAST_YEAR)
_RE_COMPARE_PREV = re.compile(pb.COMPARE_PREVIOUS)
_WINDOW_RES = tuple((re.compile(p), r) for p, r in pb.WINDOW_PHRASES)
_NUMBER_ALT = "|".join(sorted(map(re.escape, pb.NUMBER_WORDS), key=len, reverse=True))
_RE_NUMBER_UNIT = re.compile(
    rf"\b({_NUMBER_ALT}) (days?|weeks?|months?|quarters?|years?|cohorts?)\b"
)
_RE_TOP_NUMBER = re.compile(rf"\b({'|'.join(pb.TOP_WORDS + pb.BOTTOM_WORDS)}) ({_NUMBER_ALT})\b")
_DATE = pb.DATE_PHRASE
_DATE_ANON = re.sub(r"\?P<\w+>", "?:", _DATE)
_RE_RANGE = re.compile(
    rf"\b(?:between |from )?(?:the )?({_DATE_ANON}) (?:and|to|until|till|through|thru|-|–) "
    rf"(?:the )?({_DATE_ANON})(?!\S)"
)
_RE_SINCE = re.compile(rf"\b(since|from|on) (?:the )?({_DATE_ANON})(?!\S)")
_RE_ONE_DATE = re.compile(rf"(?<![0-9-])(?:{_DATE})(?!\S)")


def _prepare(text: str, as_of: date) -> tuple[str, str, list[str]]:
    """Punctuation, comparisons, window phrases and dates rewritten into the grammar's
    words; returns the text, the comparison ("", "vs previous" or "vs last year") and
    notes on definitional readings."""
    notes: list[str] = []
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"'s\b|'re\b|'ve\b|'d\b|'ll\b", "", text)
    text = re.sub(r"[?!;:\"“”()\[\]{}]", " ", text)
    text = text.replace(",", " , ")
    text = re.sub(r"(?<![0-9.])\.(?![0-9.])", " ", text)
    text = " ".join(text.split())
    comparison = ""
    if _RE_COMPARE_LY.search(text):
        text, comparison = _RE_COMPARE_LY.sub(" ", text), "vs last year"
    elif _RE_COMPARE_PREV.search(text):
        text, comparison = _RE_COMPARE_PREV.sub(" ", text), "vs previous"
    for pattern, replacement in _WINDOW_RES:
        if pattern.search(text):
            if "{recent}" in replacement:
                notes.append(
                    f"“lately”/“recently” means the {pb.RECENT_WINDOW.removeprefix('last ')} "
                    "up to yesterday."
                )
            elif "14 days" in replacement:
                notes.append("A fortnight is the 14 days up to yesterday.")
            text = pattern.sub(replacement.replace("{recent}", pb.RECENT_WINDOW), text)
    text = _RE_TOP_NUMBER.sub(lambda m: f"{m.group(1)} {pb.NUMBER_WORDS[m.group(2)]}", text)
    text = _RE_NUMBER_UNIT.sub(lambda m: f"{pb.NUMBER_WORDS[m.group(1)]} {m.group(2)}", text)
    text = _RE_RANGE.sub(lambda m: _range_text(m, as_of), text)
    text = _RE_SINCE.sub(lambda m: _since_text(m, as_of), text)
    text = _RE_ONE_DATE.sub(lambda m: _single_date_text(m, as_of), text)
    return " ".join(text.split()), comparison, notes


def _date_parts(m: re.Match) -> tuple[int | None, int, int] | None:
    """(year or None, month, day) of a DATE_PHRASE match."""
    if m.group("iso"):
        y, mo, d = (int(p) for p in m.group("iso").split("-"))
        return y, mo, d
    month = m.group("m1") or m.group("m2")
    day = m.group("d1") or m.group("d2")
    if month is None or day is None:
        return None
    year = int(m.group("y")) if m.group("y") else None
    return year, MONTH_NAMES[month], int(day)


def _dated(year: int, month: int, day: int) -> str:
    return f"{year:04d}-{month:02d}-{day:02d}"


def _latest_year(month: int, day: int, as_of: date) -> int:
    """The year of the most recent such day up to yesterday."""
    latest = as_of - timedelta(days=1) if as_of > date.min else as_of
    return latest.year if (month, day) <= (latest.month, latest.day) else latest.year - 1


_RE_DATE_ONLY = re.compile(_DATE)


def _range_text(m: re.Match, as_of: date) -> str:
    first = _date_parts(_RE_DATE_ONLY.fullmatch(m.group(1)))
    last = _date_parts(_RE_DATE_ONLY.fullmatch(m.group(2)))
    return _range_from(first, last, as_of) or m.group(0)


def _range_from(first, last, as_of: date) -> str | None:
    if first is None or last is None:
        return None
    (y1, m1, d1), (y2, m2, d2) = first, last
    if y2 is None:
        y2 = y1 if y1 is not None else _latest_year(m2, d2, as_of)
    if y1 is None:
        y1 = y2 if (m1, d1) <= (m2, d2) else y2 - 1
    return f"{_dated(y1, m1, d1)}..{_dated(y2, m2, d2)}"


def _since_text(m: re.Match, as_of: date) -> str:
    parts = _date_parts(_RE_DATE_ONLY.fullmatch(m.group(2)))
    if parts is None:
        return m.group(0)
    year, month, day = parts
    year = year if year is not None else _latest_year(month, day, as_of)
    word = "since" if m.group(1) in ("since", "from") else "on"
    return f"{word} {_dated(year, month, day)}"


def _single_date_text(m: re.Match, as_of: date) -> str:
    if m.group("iso"):
        return m.group(0)
    parts = _date_parts(m)
    if parts is None:
        return m.group(0)
    year, month, day = parts
    return _dated(year if year is not None else _latest_year(month, day, as_of), month, day)


# --- the window -------------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]+")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]|.*\.\.")
_RE_LAST_WORDS = re.compile(r"^(?:the )?(?:past|previous|prior|trailing) (?=[0-9])")
_LEADING = {"in", "for", "over", "during", "on", "the", "from", "of"}


def _take_window(tokens: list[str], as_of: date) -> tuple[str | None, list[str]]:
    """The longest run of words that is a window phrase (the grammar's), and the rest."""
    n = len(tokens)
    for length in range(min(MAX_WINDOW_WORDS, n), 0, -1):
        for start in range(0, n - length + 1):
            span = tokens[start : start + length]
            while span and span[0] in _LEADING:
                span = span[1:]
            if not span or not _could_start_a_window(span[0]):
                continue
            if not _window_words(span, tokens, start):
                continue
            phrase = " ".join(span)
            if _DIGITS.fullmatch(phrase) and len(phrase) != 4:
                continue  # `top 5`, `retention 8`: numbers, not windows
            try:
                found = parse_window(phrase, as_of) is not None
            except WindowError:
                found = True  # a window, just not a valid one: the grammar says why
            if found:
                phrase = _RE_LAST_WORDS.sub("last ", phrase)
                return phrase, tokens[:start] + tokens[start + length :]
    return None, tokens


_WINDOW_STARTS = frozenset(
    {"yesterday", "today", "last", "past", "previous", "prior", "trailing", "this", "since",
     "wtd", "mtd", "qtd", "ytd", "week", "month", "quarter", "year", "q1", "q2", "q3", "q4"}
    | set(MONTH_NAMES)
)  # fmt: skip


def _could_start_a_window(word: str) -> bool:
    """A cheap test before the window grammar: its phrases start with these words or a
    digit (`30d`, `2025-10`, `2025-09-14..2025-10-14`)."""
    return word in _WINDOW_STARTS or word[:1].isdigit() or word.startswith("q")


def _window_words(span: list[str], tokens: list[str], start: int) -> bool:
    """`may` alone is a month only after in/for/during or before a year."""
    if span == ["may"]:
        before = tokens[start - 1] if start else ""
        return before in ("in", "for", "during", "of")
    return True


# --- tagging ----------------------------------------------------------------------------

_LEXICONS: dict[int, tuple[Vocabulary | None, _Lexicon]] = {}


def _key(text: str) -> tuple[str, ...]:
    """Lexicon keys: lower case, `_`/`-` as spaces, `'s` dropped (as ``_prepare`` does)."""
    folded = re.sub(r"'s\b", "", text.casefold().replace("\u2019", "'"))
    return tuple(re.sub(r"[_\-]+", " ", folded).split())


def _lexicon(vocabulary: Vocabulary | None) -> _Lexicon:
    cached = _LEXICONS.get(id(vocabulary))
    if cached is not None and cached[0] is vocabulary:
        return cached[1]
    lexicon = _build_lexicon(vocabulary)
    if len(_LEXICONS) > 8:
        _LEXICONS.clear()
    _LEXICONS[id(vocabulary)] = (vocabulary, lexicon)
    return lexicon


def _build_lexicon(vocabulary: Vocabulary | None) -> _Lexicon:
    phrases: dict[tuple[str, ...], list[Tag]] = {}

    def add(text: str, tag: Tag) -> None:
        k = _key(text)
        if k and tag not in phrases.setdefault(k, []):
            phrases[k].append(tag)

    for word in pb.FILLER:
        add(word, ("filler",))
    for word in pb.IN_WORDS:
        phrases[_key(word)] = [("in",)]
    for phrase in pb.BY_PHRASES:
        phrases[_key(phrase)] = [("by",)]
    for word in pb.AND_WORDS:
        phrases[(word,)] = [("and",)]
    for word in pb.TOP_WORDS:
        phrases[(word,)] = [("top",)]
    for word in pb.BOTTOM_WORDS:
        phrases[(word,)] = [("bottom",)]
    for word, grain in pb.GRAIN_UNITS.items():
        phrases[(word,)] = [("unit", grain)]
    for unit in ("day", "week", "month"):
        phrases[(unit, "by", unit)] = [("grain", pb.GRAIN_UNITS[unit])]
    for word in pb.EXPERIMENT_WORDS:
        phrases[_key(word)] = [("expword",)]
    for phrase in ("ab test", "a/b test", "ab tests", "a/b tests", "split test", "split tests"):
        phrases[_key(phrase)] = [("expword",)]
    for phrase, command in pb.COMMAND_PHRASES.items():
        phrases[_key(phrase)] = [("cmd", command)]
    dimensions: set[str] = set()
    if vocabulary is not None:
        for m in vocabulary.metrics:
            for name in (m.name, m.label, *_synonyms(m.meta)):
                add(name, ("metric", m.name))
        for d in vocabulary.dimensions:
            dimensions.add(d.name)
            add(d.name, ("dim", d.name))
            add(d.label, ("dim", d.name))
        for word, dim in pb.DIMENSION_SYNONYMS.items():
            if dim in dimensions:
                add(word, ("dim", dim))
        known = dict(vocabulary.values)
        for dim, values in known.items():
            for value in values:
                add(value, ("value", dim, value))
        for dim, alias, value in pb.VALUE_ALIASES:
            if value in known.get(dim, ()):
                add(alias, ("value", dim, value))
        for experiment in vocabulary.experiments:
            add(experiment, ("exp", experiment))
            for part in _key(experiment):
                if len(part) >= 4 and part not in pb.GENERIC_ID_PARTS:
                    add(part, ("exppart", experiment))
    # A word both filler and a name is a name (`new` in `new users` is matched as a phrase).
    final = {
        k: tuple(v if len(v) == 1 else [t for t in v if t[0] != "filler"])
        for k, v in phrases.items()
    }
    words = {k[0]: v for k, v in final.items() if len(k) == 1 and v[0][0] in _NAMED_KINDS}
    names = (
        frozenset(
            n.lower()
            for n in (
                *(m.name for m in vocabulary.metrics),
                *(d.name for d in vocabulary.dimensions),
            )
        )
        if vocabulary is not None
        else frozenset()
    )
    experiments = vocabulary.experiments if vocabulary is not None else ()
    metric_keys: set[str] = set()
    grammar_words: set[str] = set(q.COMMANDS) | _STRICT_WORDS
    if vocabulary is not None:
        metric_keys = {" ".join(_key(m.name)) for m in vocabulary.metrics}
        grammar_words |= metric_keys | {" ".join(_key(m.label)) for m in vocabulary.metrics}
        grammar_words |= {" ".join(_key(d.name)) for d in vocabulary.dimensions}
        grammar_words |= {" ".join(_key(d.label)) for d in vocabulary.dimensions}
    return _Lexicon(
        final,
        max(map(len, final)),
        words,
        names,
        experiments,
        frozenset(metric_keys),
        frozenset(grammar_words),
    )


_NAMED_KINDS = frozenset({"metric", "dim", "value", "cmd", "exp", "exppart", "expword"})


def _synonyms(meta: object) -> list[str]:
    found = meta.get("synonyms", ()) if isinstance(meta, dict) else ()
    return [str(s) for s in found] if isinstance(found, list | tuple) else []


def _split_word(token: str) -> list[str]:
    if _ISO_DATE.match(token) or token in ("a/b",):
        return [token]
    return [p for p in re.split(r"[_\-]+", token) if p]


def _tag(tokens: list[str], lexicon: _Lexicon) -> list[tuple[str, tuple[Tag, ...]]]:
    """Greedy longest match: (the words, their possible meanings) in order."""
    words: list[str] = []
    out: list[tuple[str, tuple[Tag, ...]]] = []
    for token in tokens:
        experiment = _experiment_id(token, lexicon) if "_" in token else None
        if experiment is not None:  # `checkout_redsign`: an id, whole
            out.append((token, (("exp", experiment),)))
        else:
            words.extend(_split_word(token))
    if out:
        return out + _tag_words(words, lexicon)
    return _tag_words(words, lexicon)


def _experiment_id(token: str, lexicon: _Lexicon) -> str | None:
    """The experiment id ``token`` is, or is clearly a misspelling of (one edit, two
    for long ids, and no other id as close)."""
    if token in lexicon.experiments:
        return token
    found = process.extract(token, lexicon.experiments, scorer=OSA.distance, limit=2)
    if not found or found[0][1] > _auto_edits(token):
        return None
    if len(found) > 1 and found[1][1] == found[0][1]:
        return None
    return found[0][0]


def _tag_words(words: list[str], lexicon: _Lexicon) -> list[tuple[str, tuple[Tag, ...]]]:
    out: list[tuple[str, tuple[Tag, ...]]] = []
    i = 0
    while i < len(words):
        for length in range(min(lexicon.longest, len(words) - i), 0, -1):
            phrase = tuple(words[i : i + length])
            tags = lexicon.phrases.get(phrase)
            if tags:
                out.append((" ".join(phrase), tags))
                i += length
                break
        else:
            word = words[i]
            if _DIGITS.fullmatch(word):
                out.append((word, (("number", int(word[:4])),)))
            else:
                out.append((word, (("unknown", word),)))
            i += 1
    return out


# --- readings ---------------------------------------------------------------------------


def _readings(
    tagged: list[tuple[str, tuple[Tag, ...]]], lexicon: _Lexicon, notes: list[str]
) -> list[_Intent]:
    """Every plausible reading of the tagged words (a misspelling's candidates and a
    phrase's meanings multiply), each interpreted."""
    options: list[list[tuple[Tag, str | None]]] = []
    for word, tags in tagged:
        if tags[0][0] == "unknown":
            options.append(_corrections(word, lexicon))
        elif tags[0][0] == "exp" and tags[0][1] != word:
            note = f"`{q.echo(word)}` read as `{tags[0][1]}`."
            options.append([(("exppart", frozenset((tags[0][1],))), note)])
        elif tags[0][0] == "exppart":
            options.append([(("exppart", frozenset(t[1] for t in tags)), None)])
        else:
            options.append([(t, None) for t in tags])
    intents = []
    for combo in itertools.islice(itertools.product(*options), 16):
        intent = _interpret([t for t, _ in combo], [w for w, _ in tagged])
        intent.notes[:0] = notes
        intent.notes.extend(note for _, note in combo if note)
        intent.corrected = any(note for _, note in combo)
        intents.append(intent)
    return intents


def _corrections(word: str, lexicon: _Lexicon) -> list[tuple[Tag, str | None]]:
    """A misspelt word's readings: the known word it clearly is (one edit away — a
    letter wrong, missing, extra or two swapped — for words of 5+ letters, two for 9+,
    and no other meaning as close), the close ones to ask about, or "unknown"."""
    if len(word) < 4 or not re.search(r"[a-z]", word):
        return [(("unknown", word), None)]
    reach = 2 if len(word) >= 5 else 1
    found = process.extract(
        word, list(lexicon.words), scorer=OSA.distance, score_cutoff=reach, limit=6
    )
    if not found:
        return [(("unknown", word), None)]
    best_word, best, _ = found[0]
    best_tags = lexicon.words[best_word]
    rivals = [d for w, d, _ in found[1:] if lexicon.words[w] != best_tags]
    clear = not rivals or rivals[0] > best
    if clear and best <= _auto_edits(word):
        note = f"`{q.echo(word)}` read as `{q.echo(best_word)}`."
        return [(_tag_for(t), note) for t in best_tags]
    readings: list[tuple[Tag, str | None]] = []
    for w, _score, _ in found[:MAX_READINGS]:
        for t in lexicon.words[w]:
            readings.append((("asked", _tag_for(t), word), f"`{word}` read as `{w}`."))
    return readings


def _auto_edits(word: str) -> int:
    """How many edits a misspelling may be from the word it is corrected to."""
    return 2 if len(word) >= 9 else 1 if len(word) >= 5 else 0


def _tag_for(tag: Tag) -> Tag:
    return ("exppart", frozenset((tag[1],))) if tag[0] in ("exppart", "exp") else tag


def _interpret(tags: list[Tag], words: list[str]) -> _Intent:
    intent = _Intent()
    pending: str | None = None  # "by", "in", "top" or "bottom": what the next name is for
    pending_word = ""
    asked = False
    last_kind = ""  # the kind of the last word that wasn't filler
    for tag, word in zip(tags, words, strict=True):
        kind = tag[0]
        if kind == "asked":
            asked, tag, kind = True, tag[1], tag[1][0]
        if kind == "filler":
            continue
        previous, last_kind = last_kind, kind
        if kind in ("by", "in", "top", "bottom"):
            pending, pending_word = kind, word
            intent.ranked = intent.ranked or kind in ("top", "bottom")
            continue
        if kind == "and":
            continue
        if kind == "number":
            if pending in ("top", "bottom"):
                setattr(intent, pending, tag[1])
                pending = "ranked"
            else:
                intent.number = tag[1]
            continue
        if kind == "unit" or kind == "grain":
            if kind == "grain" or pending == "by" or tag[1] == word:  # per week, weekly
                intent.grain = tag[1]
            elif pending in (None, "in"):  # `the week` etc. with no window: not a grain
                intent.unknown.append(word)
            pending = None
            continue
        if kind == "metric":
            if intent.metrics and previous != "and" and pending != "by":
                intent.unlisted = True  # `orders from female customers`: two measures?
            if tag[1] not in intent.metrics:
                intent.metrics.append(tag[1])
            if pending == "by" and intent.metrics[:-1]:
                intent.metrics.pop()  # `top categories by revenue`: the ranking measure
                intent.metrics.insert(0, tag[1])
            pending = None if pending != "ranked" else "ranked"
            continue
        if kind == "dim":
            if tag[1] not in intent.group_by:
                intent.group_by.append(tag[1])
            pending = None
            continue
        if kind == "value":
            bare = pending != "in" and previous not in ("dim", "value", "and")
            if bare and word in pb.BARE_VALUE_STOPWORDS:
                intent.unknown.append(word)  # `active users`: not the category Active
                continue
            values = intent.filters.setdefault(tag[1], [])
            if tag[2] not in values:
                values.append(tag[2])
            pending = None
            continue
        if kind == "cmd":
            intent.command, pending = tag[1], None
            continue
        if kind == "expword":
            intent.experiment_word, pending = True, None
            continue
        if kind in ("exppart", "exp"):
            ids = tag[1] if kind == "exppart" else frozenset((tag[1],))
            intent.experiments.append(set(ids))
            pending = None
            continue
        intent.unknown.append(word)
        pending = None
    if pending in ("by", "in", "top", "bottom"):
        intent.unknown.append(pending_word)  # `funnel for`, `orders by`: unfinished
    intent.asked = asked
    return intent


# --- the canonical question -------------------------------------------------------------


def _canonical(
    intent: _Intent, window: str | None, comparison: str, vocabulary: Vocabulary | None
) -> str | q.ParseError:
    if intent.unknown:
        return _not_understood(intent, window, comparison, vocabulary)
    if intent.bottom is not None:
        return _bottom(intent, window, comparison, vocabulary)
    commandish = intent.experiments or (
        intent.experiment_word and not intent.metrics and not intent.command
    )
    if commandish or intent.command:
        extra = _unused(intent)
        if extra:
            return q.ParseError(
                f"I can't combine {extra} with that question.", "/kpi help", choices=()
            )
    if commandish:
        return _experiment(intent, window)
    if intent.command == "retention":
        return _retention(intent, window)
    if intent.command == "funnel":
        parts = ["funnel", window or "", comparison]
        return _join(parts[:2] + [f"by {d}" for d in intent.group_by] + parts[2:])
    if intent.command == "help":
        return "help"
    if not intent.metrics and intent.ranked and intent.group_by and vocabulary is not None:
        intent.metrics.append(pb.DEFAULT_RANKING_METRIC)
        intent.notes.append(
            f"No measure named: ranked by {pb.DEFAULT_RANKING_METRIC}, the default."
        )
    if not intent.metrics:
        if intent.filters:
            return q.ParseError(
                "Which measure? e.g. `revenue`, `orders` or `new users` — `/kpi metrics` "
                "lists them.",
                f"/kpi revenue {window or 'last 30 days'}",
            )
        return _not_understood(intent, window, comparison, vocabulary)
    if intent.unlisted:
        readings = tuple(
            _metric_question(replace(intent, metrics=[m], unlisted=False), window, comparison)
            for m in intent.metrics
        )
        choices = tuple(r for r in readings if isinstance(r, str))[:MAX_READINGS]
        return q.ParseError(
            "Which measure? " + " · ".join(f"`{c}`" for c in choices),
            f"/kpi {choices[0]}" if choices else "/kpi metrics",
            choices=choices,
        )
    return _metric_question(intent, window, comparison)


def _unused(intent: _Intent) -> str:
    """What a command question (funnel, retention, an experiment) can't take."""
    parts = [f"`{m}`" for m in intent.metrics] + [f"`{d}` values" for d in intent.filters]
    if intent.grain:
        parts.append(f"`{intent.grain}`")
    if intent.top:
        parts.append("`top`")
    if intent.group_by and intent.command != "funnel":
        parts += [f"`by {d}`" for d in intent.group_by]
    return ", ".join(parts)


def _metric_question(intent: _Intent, window: str | None, comparison: str) -> str | q.ParseError:
    metrics = ", ".join(intent.metrics)
    plain = not (intent.group_by or intent.filters or intent.grain or intent.top)
    if plain and intent.metrics == ["revenue"]:
        return _join(["revenue", window or "", comparison])
    group_by = [d for d in intent.group_by if d not in intent.filters or len(intent.group_by) > 1]
    if len(intent.group_by) > 1:
        return q.ParseError(
            "One breakdown at a time: " + " or ".join(f"`by {d}`" for d in intent.group_by) + ".",
            f"/kpi {metrics} by {intent.group_by[0]} {window or 'last 30 days'}",
            choices=tuple(
                _join([metrics, f"by {d}", window or "", comparison]) for d in intent.group_by
            )[:MAX_READINGS],
        )
    if len(intent.filters) > 1:
        readings = tuple(
            _join([metrics, _where(d, v), window or "", comparison])
            for d, v in intent.filters.items()
        )
        return q.ParseError(
            "I can filter by one dimension at a time — which one?",
            f"/kpi {readings[0]}",
            choices=readings[:MAX_READINGS],
        )
    where = _where(*next(iter(intent.filters.items()))) if intent.filters else ""
    return _join(
        [
            metrics,
            f"by {group_by[0]}" if group_by else "",
            where,
            window or "",
            intent.grain or "",
            comparison,
            f"top {intent.top}" if intent.top else "",
        ]
    )


def _where(dimension: str, values: list[str]) -> str:
    if len(values) == 1:
        return f"where {dimension} = {values[0]}"
    return f"where {dimension} in ({', '.join(values)})"


def _experiment(intent: _Intent, window: str | None) -> str | q.ParseError:
    if not intent.experiments:
        return "ab"
    ids = set.intersection(*intent.experiments) or set.union(*intent.experiments)
    if len(ids) > 1:
        choices = tuple(f"ab {i}" for i in sorted(ids))[:MAX_READINGS]
        return q.ParseError(
            "Which experiment? " + " · ".join(f"`{i}`" for i in sorted(ids)),
            f"/kpi {choices[0]}",
            choices=choices,
        )
    (experiment,) = ids
    if intent.command == "funnel":
        return f"funnel for {experiment}"
    if window:
        intent.notes.append("An experiment's readout covers all its exposed users (no window).")
    return f"ab {experiment}"


def _retention(intent: _Intent, window: str | None) -> str:
    weeks = intent.number
    if window:
        m = re.fullmatch(r"(?:last |past )?([0-9]{1,6}) ?(?:weeks?|wks?|w|cohorts?)", window)
        if m:
            weeks = int(m.group(1))
        else:
            intent.notes.append(
                "Retention shows the most recent weekly cohorts; "
                f"the window `{q.echo(window)}` isn't used."
            )
    return f"retention {weeks}" if weeks is not None else "retention"


def _bottom(
    intent: _Intent, window: str | None, comparison: str, vocabulary: Vocabulary | None
) -> q.ParseError:
    intent.top, intent.bottom = MAX_TOP, None  # every row, the lowest last
    top = _canonical(intent, window, comparison, vocabulary)
    choices = (top,) if isinstance(top, str) else ()
    return q.ParseError(
        "I rank from the top only (the largest first), so I can't pick the worst or "
        f"lowest directly: `top {MAX_TOP}` lists every row, the lowest last.",
        f"/kpi {top}" if isinstance(top, str) else "/kpi revenue by category last month top 10",
        choices=choices,
    )


def _not_understood(
    intent: _Intent, window: str | None, comparison: str, vocabulary: Vocabulary | None
) -> q.ParseError:
    unknown = " ".join(dict.fromkeys(intent.unknown))
    names = _closest_names(intent.unknown, vocabulary)
    hint = (" Did you mean " + " or ".join(f"`{q.echo(n)}`" for n in names) + "?") if names else ""
    understood = ""
    rest = _Intent(**{**vars(intent), "unknown": [], "notes": []})
    partial = (
        _canonical(rest, window, comparison, vocabulary)
        if rest.metrics or rest.command or rest.experiments
        else None
    )
    choices: tuple[str, ...] = ()
    if isinstance(partial, str):
        understood = f" I understood `{q.echo(partial)}` but not the rest."
        choices = (partial,)
    elif not names:
        return NOTHING  # not a word of it: the strict grammar's own reply (its commands)
    return q.ParseError(
        f"I don't know `{q.echo(unknown)}`.{hint}{understood} Questions look like {EXAMPLES} "
        "(`/kpi help` shows every form).",
        f"/kpi {partial}" if isinstance(partial, str) else "/kpi revenue last 30 days",
        choices=choices,
    )


def _closest_names(words: list[str], vocabulary: Vocabulary | None) -> list[str]:
    names = [*q.COMMANDS]
    if vocabulary is not None:
        names += [m.name for m in vocabulary.metrics] + [d.name for d in vocabulary.dimensions]
        names += list(vocabulary.experiments)
    found: list[str] = []
    for word in words:
        for name, _score, _ in process.extract(
            word, names, scorer=fuzz.ratio, score_cutoff=70, limit=2
        ):
            if name not in found:
                found.append(name)
    return found[:3]


def _join(parts: list[str]) -> str:
    return " ".join(p for p in parts if p)
