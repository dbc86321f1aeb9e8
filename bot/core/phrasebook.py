"""The phrasing front end's tables (pure data): what loose words mean in the grammar.

Metric synonyms are not here: each metric declares its own in dbt
(``config.meta.synonyms`` in ``dbt_project/models/marts/semantic/_metrics.yml``) and
they reach the front end in the vocabulary. Everything else a loosely phrased question
may say — window phrases, comparisons, grains, ranking words, dimension synonyms, value
aliases, command words and filler — is declared once, in the tables below, and read by
``bot.core.phrasing``. Definitional choices (what "lately" means) are in METRICS.md
("Loose phrasing") and the README.
"""

from __future__ import annotations

# "lately", "recently": the last 28 complete days (four whole weeks of days, so every
# weekday counts four times; rolling, up to yesterday).
RECENT_WINDOW = "last 28 days"

_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)"
)
# A day of a month as people write it: `oct 1`, `october 1st`, `1 oct`, `the 1st of
# october`, optionally with a year; or an ISO date. Read by ``phrasing._date_of``.
DATE_PHRASE = (
    rf"(?:(?P<m1>{_MONTH})\.? (?:the )?(?P<d1>[0-9]{{1,2}})(?:st|nd|rd|th)?"
    rf"|(?:the )?(?P<d2>[0-9]{{1,2}})(?:st|nd|rd|th)? (?:of )?(?P<m2>{_MONTH})\.?)"
    r"(?: (?P<y>[0-9]{4}))?"
    r"|(?P<iso>[0-9]{4}-[0-9]{1,2}-[0-9]{1,2})"
)

# Window phrases → the window grammar's words (bot.core.windows), applied in order to
# the lower-cased question before anything else. ``{recent}`` is RECENT_WINDOW.
WINDOW_PHRASES: tuple[tuple[str, str], ...] = (
    (r"\b(?:so far )?this (week|month|quarter|year) so far\b", r"this \1"),
    (r"\bso far this (week|month|quarter|year)\b", r"this \1"),
    (r"\b(week|month|quarter|year) so far\b", r"this \1"),
    (r"\bthis (week|month|quarter|year) to date\b", r"this \1"),
    (r"\b(?:(?:in|over|during) )?(?:the )?(?:past|last|previous|prior) (?:a |one )?fortnight\b",
     "last 14 days"),
    (r"\b(?:(?:in|over|during) )?(?:a|one|the) fortnight\b", "last 14 days"),
    (r"\b(?:(?:in|over|during) )?(?:the )?(?:past|last) (?:couple|few) (?:of )?weeks\b",
     "{recent}"),
    (r"\b(?:lately|recently|of late|these days|in recent weeks|in the recent weeks)\b",
     "{recent}"),
    (r"\b(?:the )?(?:past|last) (?:twenty[- ]four|24) hours\b", "yesterday"),
    (r"\b(?:this|the) past (week|month|quarter|year)\b", r"last \1"),
    # `the last 4 cohorts` is a number of retention cohorts, not `last 4` days
    (r"\b(?:the )?(?:last|past|latest|most recent) ([0-9]+) cohorts?\b", r"\1 cohorts"),
    (r"\byear[- ]to[- ]date\b", "ytd"),
    (r"\bmonth[- ]to[- ]date\b", "mtd"),
    (r"\bquarter[- ]to[- ]date\b", "qtd"),
    (r"\bweek[- ]to[- ]date\b", "wtd"),
)  # fmt: skip

# Number words before a unit (`two weeks`, `a couple of months`) become digits.
NUMBER_WORDS: dict[str, int] = {
    "one": 1, "two": 2, "a couple of": 2, "couple of": 2, "a couple": 2,
    "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "twenty": 20, "thirty": 30, "sixty": 60, "ninety": 90,
}  # fmt: skip

# Comparisons → the grammar's `vs last year` / `vs previous`.
COMPARE_LAST_YEAR = (
    r"\b(?:(?:vs\.?|versus|compared (?:to|with)|against|relative to) (?:the )?"
    r"(?:same (?:period|time|days?|week|month|quarter) )?(?:(?:of |in )?last year|a year "
    r"(?:ago|earlier|before)|(?:the )?(?:previous|prior) year|ly|yoy)|year[- ]over[- ]year|"
    r"year[- ]on[- ]year|yoy)\b"
)
COMPARE_PREVIOUS = (
    r"\b(?:(?:vs\.?|versus|compared (?:to|with)|against|relative to) (?:the )?"
    r"(?:previous|prior|last|preceding) (?:period|week|month|quarter|days?|one)|"
    r"(?:week|month|quarter|period)[- ]over[- ](?:week|month|quarter|period)|"
    r"(?:week|month|quarter)[- ]on[- ](?:week|month|quarter)|wow|mom|qoq|pop)\b"
)

# Grains: `per week`, `each month`, `week by week`, `daily` … (`by week` is the grammar's);
# the unit after a `by`-like word (BY_PHRASES) is a grain, not a breakdown.
GRAIN_UNITS: dict[str, str] = {
    "day": "daily", "days": "daily", "daily": "daily",
    "week": "weekly", "weeks": "weekly", "weekly": "weekly", "wk": "weekly",
    "month": "monthly", "months": "monthly", "monthly": "monthly",
}  # fmt: skip

# Ranking: `top 5 …`, `best 3 …`; `worst`/`bottom` can't be asked (the grammar ranks from
# the top only), so the front end says so instead of guessing.
TOP_WORDS = ("top", "best", "highest", "biggest", "largest", "leading", "strongest")
BOTTOM_WORDS = ("worst", "bottom", "lowest", "smallest", "weakest")
# A ranking that names no measure (`best 3 categories last month`) ranks by revenue, and
# the answer says so.
DEFAULT_RANKING_METRIC = "revenue"

# Dimension synonyms (plural forms and everyday names) → the semantic layer's names.
DIMENSION_SYNONYMS: dict[str, str] = {
    "countries": "country", "market": "country", "markets": "country",
    "categories": "category", "product category": "category",
    "product categories": "category",
    "brands": "brand",
    "departments": "department", "dept": "department",
    "browsers": "browser",
    "channel": "traffic_source", "channels": "traffic_source", "source": "traffic_source",
    "sources": "traffic_source", "traffic sources": "traffic_source",
    "acquisition channel": "traffic_source", "marketing channel": "traffic_source",
    "genders": "gender", "sex": "gender",
    "age": "age_band", "age group": "age_band", "age groups": "age_band",
    "age bands": "age_band", "ages": "age_band",
}  # fmt: skip

# Everyday names of dimension values → the warehouse's spelling (TheLook writes "Brasil").
# Used only when that value exists in the vocabulary.
VALUE_ALIASES: tuple[tuple[str, str, str], ...] = (
    ("country", "brazil", "Brasil"),
    ("country", "us", "United States"), ("country", "usa", "United States"),
    ("country", "america", "United States"), ("country", "the us", "United States"),
    ("country", "the usa", "United States"), ("country", "united states of america",
                                                "United States"),
    ("country", "uk", "United Kingdom"), ("country", "britain", "United Kingdom"),
    ("country", "great britain", "United Kingdom"), ("country", "the uk", "United Kingdom"),
    ("country", "korea", "South Korea"),
    ("gender", "women", "F"), ("gender", "woman", "F"), ("gender", "female", "F"),
    ("gender", "females", "F"), ("gender", "men", "M"), ("gender", "man", "M"),
    ("gender", "male", "M"), ("gender", "males", "M"),
    ("age_band", "under 25s", "under 25"), ("age_band", "over 55", "55+"),
    ("age_band", "over 55s", "55+"),
)  # fmt: skip
# Everyday words that are values too (browser `Other`, category `Active`, traffic source
# `Search`) are read as values only after `in`/`for`/`from`, a dimension or another value.
BARE_VALUE_STOPWORDS = frozenset({"other", "active", "search", "display", "email", "organic"})

# Command words and phrases → the grammar's command.
COMMAND_PHRASES: dict[str, str] = {
    "retention": "retention", "cohort": "retention", "cohorts": "retention",
    "cohort retention": "retention", "retention curve": "retention",
    "returning users": "retention",
    "funnel": "funnel", "funnels": "funnel", "conversion funnel": "funnel",
    "conversion": "funnel", "conversion rate": "funnel", "checkout funnel": "funnel",
    "purchase funnel": "funnel", "sales funnel": "funnel",
    "help": "help", "commands": "help", "what can you do": "help",
}  # fmt: skip
# Words that mean "an experiment" (`how's the pricing test going`).
EXPERIMENT_WORDS = frozenset(
    {"test", "tests", "experiment", "experiments", "ab", "a/b", "abtest", "split", "variant",
     "variants", "rollout", "trial"}
)  # fmt: skip
# Experiment-id parts too generic to name one experiment on their own.
GENERIC_ID_PARTS = frozenset({"aa", "ab", "abn", "srm", "page", "test", "v1", "v2"})

# Prepositions: `by`-like words group, `in`-like words filter (or introduce a window).
BY_PHRASES = (
    "by", "per", "across", "split by", "broken down by", "breakdown by", "by each",
    "for each", "for every", "each", "every", "grouped by", "among",
)  # fmt: skip
IN_WORDS = frozenset({"in", "for", "from", "within", "at", "of", "to", "on", "among"})
AND_WORDS = frozenset({"and", "&", ",", "plus", "with"})

# Words that carry no meaning for the grammar: question words, politeness, verbs of
# asking, articles. (A word not here and not understood stops the answer: it is asked
# about, never silently dropped.)
_FILLER_WORDS = """
    what whats what's were was is are be been being the a an of show me us give tell
    how hows how's did do does doing done we our ours have has had get got please pls can
    could would you your i i'd id want wanted to see know about total totals number
    numbers amount figure figures value values going looking look like kpi kpis stats
    statistics report there much many so far been up overall all time period periods
    current currently now today's just quick quickly summary which who whom any some
    it its it's that this these those performance perform performing doing did
    happen happened happening result results status update updates on check let lets
    let's tell give me trend trends trending see had has our my data
    make made makes earn earned earning generate generated bring brought sell sold
    signed joined came come running live ongoing list news any latest last past recent
    most
"""
FILLER = frozenset(_FILLER_WORDS.split())
