"""Alert rules: their grammar and their evaluation on one complete data day.

Pure: words in, an ``AlertRule`` (or a specific ``AlertParseError`` with an example)
out; a daily series and a day in, an ``Evaluation`` out. No I/O: the service
(``bot.alerts``) reads the series from the marts and keeps the rules and deliveries.

Grammar (case and extra spaces don't matter)::

    <metric> [where <dimension> = <value>] below <number>    the day's value < number
    <metric> [where <dimension> = <value>] above <number>    the day's value > number
    <metric> [where …] drops <N>%     the day vs the same weekday a week earlier: ≤ −N %
    <metric> [where …] rises <N>%     … ≥ +N %
    <metric> [where …] anomaly        the digest's robust rule (``bot.core.anomalies``)
    ab <experiment_id>                SRM first detected; result first significant

Metrics: any metric of the semantic layer (dbt semantic YAML), by its name. Here a
metric is only a name-shaped word; the service checks it, the dimension and the value
against the semantic layer (with "did you mean") when the rule is created, and takes
restricted-ness from the metric's ``meta.restricted``; every rule's daily series comes
from the semantic layer (``filled_series``). A day with no orders has revenue 0 and
orders 0 and no aov (undefined, not zero): aov rules don't judge it.

``where`` takes one dimension and one value; a value of several words may be quoted or
not (``where country = United States below 5``): it runs up to the rule's word.

Boundaries are stated, not guessed: ``below 1000`` fires at 999.99, not at 1000;
``drops 20%`` fires at exactly −20 %. A week-earlier value of 0 (or missing) can't give
a percentage: the day is not judged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from bot.core.anomalies import DEFAULT_SETTINGS, AnomalySettings, Band, check_day

MetricName = Literal["revenue", "orders", "aov"]
Condition = Literal["below", "above", "drops", "rises", "anomaly", "ab"]

# The first metrics alerts knew (the revenue_daily mart's): metric → (label,
# revenue-derived). Only a fallback for naming and restricted-ness when the semantic
# layer can't be loaded; dbt's YAML is the definition.
METRICS: dict[str, tuple[str, bool]] = {
    "revenue": ("Revenue", True),
    "orders": ("Orders", False),
    "aov": ("Average order value", True),
}
METRIC_ALIASES = {"rev": "revenue", "order": "orders", "average order value": "aov"}
CURRENCY_METRICS = frozenset({"revenue", "aov"})
# Words a threshold may not start with `$` for: the daily mart's count. (Other
# metrics' units are the semantic layer's; the message formats by that unit.)
NOT_MONEY = frozenset({"orders"})
METRIC_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
CONDITION_WORDS = frozenset(
    {"below", "above", "drops", "rises", "anomaly", "drop", "rise", "falls", "fall"}
)
QUESTION_WINDOW = "last 28 days daily"  # the full answer an alert links to
MAX_PERCENT = 1000.0
MAX_THRESHOLD = 1e12
EXPERIMENT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
DIMENSION = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
ECHO_CHARS = 60

EXAMPLE_ALERT = "/kpi alert revenue drops 30%"
EXAMPLES = (
    "/kpi alert revenue below 1000",
    "/kpi alert orders drops 30%",
    "/kpi alert new_users below 50",
    "/kpi alert sessions where browser = Chrome drops 20%",
    "/kpi alert aov anomaly",
    "/kpi alert ab checkout_redesign",
)
RULE_FORMS = "`below N`, `above N`, `drops N%`, `rises N%` or `anomaly`"


@dataclass(frozen=True)
class AlertRule:
    """What an alert watches. ``threshold`` is the number (below/above) or the percent
    (drops/rises); None for anomaly and ab."""

    metric: str  # a semantic-layer metric name, or "ab"
    condition: Condition
    threshold: float | None = None
    where: tuple[str, str] | None = None  # (dimension, value)
    experiment_id: str | None = None
    # How a below/above threshold was typed: "$" (money) or "%" (a rate, stored as a
    # fraction). Checked against the metric's unit when the rule is created; not stored.
    typed_as: Literal["", "$", "%"] = field(default="", compare=False)

    @property
    def restricted(self) -> bool:
        """Shows a revenue-derived figure, as far as core knows (the service asks the
        semantic layer's ``meta.restricted`` first). An experiment's analysis shows
        revenue per user, as ``/kpi ab`` does; a metric core doesn't know counts as
        restricted (fail closed)."""
        if self.condition == "ab":
            return True
        return METRICS.get(self.metric, ("", True))[1]

    def describe(self) -> str:
        """The rule as it would be typed after ``/kpi alert`` (the canonical form)."""
        if self.condition == "ab":
            return f"ab {self.experiment_id}"
        head = f"{self.metric}{where_text(self.where)} {self.condition}"
        if self.condition in ("below", "above"):
            return f"{head} {_number(self.threshold)}"
        if self.condition in ("drops", "rises"):
            return f"{head} {_number(self.threshold)}%"
        return head


def where_text(where: tuple[str, str] | None) -> str:
    """`` where dim = value`` as both grammars read it back (a value of several words
    quoted, so the metric grammar doesn't read a window into it)."""
    if where is None:
        return ""
    value = f'"{where[1]}"' if len(where[1].split()) > 1 else where[1]
    return f" where {where[0]} = {value}"


def full_answer_question(rule: AlertRule) -> str:
    """The ``/kpi`` question (without ``/kpi``) whose answer shows what the alert is
    about: the metric's last 28 days, daily, with the rule's filter; the experiment's
    readout for an experiment alert."""
    if rule.condition == "ab":
        return f"ab {rule.experiment_id}"
    return f"{rule.metric}{where_text(rule.where)} {QUESTION_WINDOW}"


@dataclass(frozen=True)
class AlertParseError:
    message: str  # Slack mrkdwn; echoed user text is escaped
    example: str


def parse_rule(words: list[str]) -> AlertRule | AlertParseError:
    """The words after ``/kpi alert`` (not a management verb) → a rule; never raises."""
    try:
        return _parse_rule([w for w in words if w])
    except Exception:  # a reply, never a traceback, even for a bug here
        return AlertParseError("Sorry, I couldn't read that alert rule.", EXAMPLE_ALERT)


def _parse_rule(words: list[str]) -> AlertRule | AlertParseError:
    if not words:
        return AlertParseError(
            f"Which metric and rule? Metrics: {_metric_list()}; rules: {RULE_FORMS}.",
            EXAMPLE_ALERT,
        )
    if words[0].lower() == "ab":
        return _parse_ab(words[1:])
    metric = _metric(words[0])
    if metric is None:
        return AlertParseError(
            f"`{_echo(words[0])}` isn't a metric name. Metrics are named like "
            f"{_metric_list()}; `/kpi metrics` lists them all.",
            EXAMPLE_ALERT,
        )
    rest = words[1:]
    where, rest = _parse_where(metric, rest)
    if isinstance(where, AlertParseError):
        return where
    return _parse_condition(metric, where, rest)


def _parse_ab(args: list[str]) -> AlertRule | AlertParseError:
    if len(args) != 1 or not EXPERIMENT_ID.fullmatch(args[0]):
        shown = f"`{_echo(' '.join(args))}` isn't one." if args else "which one?"
        return AlertParseError(
            f"An experiment alert needs one experiment id (letters, digits, `_.-`) — {shown}",
            "/kpi alert ab checkout_redesign",
        )
    return AlertRule("ab", "ab", experiment_id=args[0])


def _parse_where(
    metric: str, rest: list[str]
) -> tuple[tuple[str, str] | AlertParseError | None, list[str]]:
    """``where <dimension> = <value>`` (``dim=value`` and ``dim = value`` both read); the
    value runs up to the rule's word. Only the shape is checked here: the service checks
    the dimension and the value against the semantic layer."""
    if not rest or rest[0].lower() != "where":
        return None, rest
    example = f"/kpi alert {metric} where country = Brazil drops 30%"
    words = rest[1:]
    cut = next((i for i, w in enumerate(words) if w.lower() in CONDITION_WORDS), len(words))
    match = re.match(r"\s*([^\s=]+)\s*=\s*(.*?)\s*$", " ".join(words[:cut]))
    if match is None or not match.group(2):
        return (
            AlertParseError(
                "After `where`, name a dimension and a value: `where DIMENSION = VALUE`.",
                example,
            ),
            [],
        )
    dimension, value = match.group(1), match.group(2).strip().strip("\"'“”‘’").strip()
    if not DIMENSION.fullmatch(dimension):
        return (
            AlertParseError(
                f"`{_echo(dimension)}` isn't a dimension name (letters, digits and `_`).",
                example,
            ),
            [],
        )
    if not value or len(value) > 64 or any(c in value for c in '`"\n'):
        return (
            AlertParseError(
                f"`{_echo(value)}` isn't a value I can filter on (at most 64 characters, "
                "no quotes inside).",
                example,
            ),
            [],
        )
    return (dimension.lower(), value), words[cut:]


def _parse_condition(
    metric: str, where: tuple[str, str] | None, rest: list[str]
) -> AlertRule | AlertParseError:
    example = f"/kpi alert {metric} {'below 1000' if metric != 'orders' else 'below 50'}"
    if not rest:
        return AlertParseError(f"Which rule for `{metric}`? One of {RULE_FORMS}.", example)
    condition = rest[0].lower()
    args = rest[1:]
    if condition in ("drop", "rise", "falls", "fall"):
        condition = {"drop": "drops", "rise": "rises", "falls": "drops", "fall": "drops"}[condition]
    if condition == "anomaly":
        if args:
            return AlertParseError(
                f"`anomaly` takes nothing after it (`{_echo(' '.join(args))}` is extra).",
                f"/kpi alert {metric} anomaly",
            )
        return AlertRule(metric, "anomaly", where=where)
    if condition in ("below", "above"):
        return _threshold_rule(metric, condition, where, args, example)
    if condition in ("drops", "rises"):
        return _percent_rule(metric, condition, where, args)
    return AlertParseError(
        f"`{_echo(rest[0])}` isn't a rule. Rules: {RULE_FORMS}.", f"/kpi alert {metric} drops 30%"
    )


def _threshold_rule(
    metric: str,
    condition: Condition,
    where: tuple[str, str] | None,
    args: list[str],
    example: str,
) -> AlertRule | AlertParseError:
    text = "".join(args)
    typed_as: Literal["", "$", "%"] = "$" if text.startswith("$") else ""
    if text.endswith("%"):
        typed_as, text = "%", text.removesuffix("%")
    value = _parse_number(text, allow_currency=metric not in NOT_MONEY)
    if value is None or not 0 <= value <= (100.0 if typed_as == "%" else MAX_THRESHOLD):
        shown = f"`{_echo(' '.join(args))}`" if args else "nothing"
        return AlertParseError(
            f"`{condition}` needs a number from 0 up, like `1000` or `2.5k` — I got {shown}.",
            example,
        )
    if typed_as == "%":
        value /= 100.0  # a rate's threshold is a fraction: 12% → 0.12
    return AlertRule(metric, condition, threshold=value, where=where, typed_as=typed_as)


def _percent_rule(
    metric: str, condition: Condition, where: tuple[str, str] | None, args: list[str]
) -> AlertRule | AlertParseError:
    text = " ".join(a for a in args if a.lower() != "by").replace(" ", "")
    value = _parse_number(text.removesuffix("%"), allow_currency=False)
    limit = 100.0 if condition == "drops" else MAX_PERCENT
    if value is None or not 0 < value <= limit:
        shown = f"`{_echo(' '.join(args))}`" if args else "nothing"
        return AlertParseError(
            f"`{condition}` needs a percentage above 0 and at most {_number(limit)}, "
            f"like `30%` — I got {shown}.",
            f"/kpi alert {metric} {condition} 30%",
        )
    return AlertRule(metric, condition, threshold=value, where=where)


_NUMBER = re.compile(r"^\$?((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)([km]?)$")


def _parse_number(text: str, allow_currency: bool) -> float | None:
    """``1000``, ``1,000``, ``2.5k``, ``1m``; ``$1000`` for currency metrics."""
    text = text.strip().lower()
    if text.startswith("$") and not allow_currency:
        return None
    match = _NUMBER.match(text)
    if match is None:
        return None
    value = float(match.group(1).replace(",", ""))
    return value * {"": 1.0, "k": 1e3, "m": 1e6}[match.group(2)]


def _metric(word: str) -> str | None:
    """A metric-name-shaped word (the service checks it is one of dbt's metrics)."""
    word = word.lower()
    word = METRIC_ALIASES.get(word, word)
    return word if METRIC_NAME.fullmatch(word) else None


def _metric_list() -> str:
    return ", ".join(f"`{m}`" for m in (*METRICS, "new_users", "sessions"))


def _echo(text: str) -> str:
    """User text made inert for Slack mrkdwn inside backticks."""
    cleaned = " ".join(text.replace("`", "'").split())
    if len(cleaned) > ECHO_CHARS:
        cleaned = cleaned[: ECHO_CHARS - 1] + "…"
    return cleaned.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}" if value < 1e6 else f"{value:.0f}"


# ---------------------------------------------------------------- the daily series


def metric_series(rows: Mapping[date, tuple[int, float]], metric: str) -> dict[date, float | None]:
    """day → the metric's value, from the mart's (orders, revenue) per day. A day
    with no orders has no aov (None), and a day missing from the mart is missing."""
    series: dict[date, float | None] = {}
    for day, (orders, revenue) in rows.items():
        if metric == "revenue":
            series[day] = float(revenue)
        elif metric == "orders":
            series[day] = float(orders)
        elif metric == "aov":
            series[day] = float(revenue) / orders if orders > 0 else None
        else:
            raise ValueError(f"not a daily metric: {metric!r}")
    return series


def filled_series(
    values: Mapping[date, float | None],
    start: date,
    end: date,
    first_data_day: date | None,
    missing_is_zero: bool,
) -> dict[date, float | None]:
    """A semantic-layer daily result (rows only for days with data) as a series over
    ``start``..``end``. A missing day of a sum or count (``missing_is_zero``) is 0 once
    the data has begun; of a ratio it has no value (undefined, like aov without
    orders). Days before the data's first day have no value either way."""
    series: dict[date, float | None] = {}
    day = start
    while day <= end:
        if day in values:
            series[day] = values[day]
        elif missing_is_zero and first_data_day is not None and day >= first_data_day:
            series[day] = 0.0
        else:
            series[day] = None
        day += timedelta(days=1)
    return series


# ---------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Evaluation:
    """One rule on one complete data day."""

    rule: AlertRule
    day: date
    value: float | None  # None: no value that day (no data, or no orders for aov)
    fired: bool
    judged: bool  # False: the day couldn't be judged (no value, no reference, no history)
    reference: float | None = None  # the threshold, the week-earlier value or the band centre
    reference_day: date | None = None  # drops/rises: the same weekday a week earlier
    change: float | None = None  # drops/rises: (value − reference) / reference
    band: Band | None = None  # anomaly: the usual range
    direction: Literal["high", "low"] | None = None  # anomaly: which side of the band
    reason: str = ""  # why not judged


def evaluate(
    rule: AlertRule,
    series: Mapping[date, float | None],
    day: date,
    anomaly_settings: AnomalySettings = DEFAULT_SETTINGS,
) -> Evaluation:
    """``rule`` on ``day`` of ``series`` (the metric's daily values)."""
    if rule.condition == "ab":
        raise ValueError("experiment alerts are evaluated from the experiment's analysis")
    value = _finite(series.get(day))
    if value is None:
        return Evaluation(rule, day, None, False, False, reason="no value for the day")
    if rule.condition in ("below", "above"):
        threshold = float(rule.threshold or 0.0)
        fired = value < threshold if rule.condition == "below" else value > threshold
        return Evaluation(rule, day, value, fired, True, reference=threshold)
    if rule.condition in ("drops", "rises"):
        return _change(rule, series, day, value)
    return _anomaly(rule, series, day, value, anomaly_settings)


def _change(
    rule: AlertRule, series: Mapping[date, float | None], day: date, value: float
) -> Evaluation:
    before = day - timedelta(days=7)
    reference = _finite(series.get(before))
    if reference is None or reference <= 0:
        return Evaluation(
            rule, day, value, False, False, reference=reference, reference_day=before,
            reason="no positive value a week earlier to compare with",
        )  # fmt: skip
    change = (value - reference) / reference
    limit = float(rule.threshold or 0.0) / 100.0
    # Compared in millionths, so that 80 vs 100 is exactly −20 % (float: −0.19999…96).
    change_bp = round(change * 1e6)
    fired = (
        change_bp <= -round(limit * 1e6)
        if rule.condition == "drops"
        else change_bp >= round(limit * 1e6)
    )
    return Evaluation(
        rule, day, value, fired, True, reference=reference, reference_day=before, change=change
    )


def _anomaly(
    rule: AlertRule,
    series: Mapping[date, float | None],
    day: date,
    value: float,
    settings: AnomalySettings,
) -> Evaluation:
    known = {d: v for d, v in series.items() if v is not None}
    check = check_day(known, day, settings)
    if not check.assessed or check.band is None:
        return Evaluation(
            rule, day, value, False, False,
            reason=f"only {check.history} of {settings.history_weeks} earlier same weekdays",
        )  # fmt: skip
    return Evaluation(
        rule, day, value, check.is_anomaly, True, reference=check.band.median,
        band=check.band, direction=check.direction,
    )  # fmt: skip


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# ---------------------------------------------------------------- experiments

AbEvent = Literal["srm", "significant"]


def ab_events(srm_detected: bool, significant: bool) -> tuple[AbEvent, ...]:
    """What an experiment alert reports now; each event is delivered once ever (the
    ledger's key names it), so "first detected" needs no memory here."""
    events: list[AbEvent] = []
    if srm_detected:
        events.append("srm")
    if significant:
        events.append("significant")
    return tuple(events)


# ---------------------------------------------------------------- days to evaluate


def days_to_evaluate(
    latest: date, evaluated_through: date | None, created_day: date, catchup_days: int
) -> list[date]:
    """The complete data days a rule still has to be evaluated on, oldest first.

    Every day after ``evaluated_through`` up to ``latest``, but never days before the
    rule's first day (``created_day``: the latest complete day when it was created) and
    at most the ``catchup_days`` most recent (after a long outage, older days are left:
    an alert about last month is noise)."""
    if catchup_days < 1:
        raise ValueError("catchup_days must be at least 1")
    first = max(created_day, latest - timedelta(days=catchup_days - 1))
    if evaluated_through is not None:
        first = max(first, evaluated_through + timedelta(days=1))
    return [first + timedelta(days=i) for i in range((latest - first).days + 1)]


# ---------------------------------------------------------------- /kpi alert …

AlertAction = Literal["create", "list", "delete", "mute"]
MAX_MUTE_DAYS = 365
ALERT_USAGE = (
    "*Alerts* — `/kpi alert METRIC [where DIMENSION = VALUE] RULE`: any metric of "
    "`/kpi metrics`; rules "
    "`below N`, `above N`, `drops N%`, `rises N%` (vs the same weekday a week "
    "earlier), `anomaly`",
    "   `/kpi alert revenue drops 30%` · `/kpi alert new_users below 50` · "
    "`/kpi alert sessions where browser = Chrome drops 20%` · "
    "`/kpi alert ab checkout_redesign` (SRM, significance)",
    "   `/kpi alerts` lists this channel's · `/kpi alert delete 12` · `/kpi alert mute 12 7`",
)


@dataclass(frozen=True)
class AlertCommand:
    """``/kpi alert …`` / ``/kpi alerts``: acted on by the Slack edge."""

    action: AlertAction
    rule: AlertRule | None = None  # create
    alert_id: int | None = None  # delete, mute
    days: int | None = None  # mute


def parse_alert_command(args: list[str]) -> AlertCommand | AlertParseError:
    """The words after ``alert``/``alerts``; never raises."""
    words = [w for w in args if w]
    verb = words[0].lower() if words else "list"
    if verb in ("list", "ls"):
        return AlertCommand("list")
    if verb in ("delete", "remove", "rm"):
        alert_id = _alert_id(words[1:2])
        if alert_id is None or len(words) != 2:
            return AlertParseError(
                "Which alert? Give its number from `/kpi alerts`.", "/kpi alert delete 12"
            )
        return AlertCommand("delete", alert_id=alert_id)
    if verb == "mute":
        alert_id = _alert_id(words[1:2])
        days = _alert_id(words[2:3])
        if alert_id is None or days is None or len(words) != 3 or days > MAX_MUTE_DAYS:
            return AlertParseError(
                f"Mute needs the alert's number and a number of days (1–{MAX_MUTE_DAYS}).",
                "/kpi alert mute 12 7",
            )
        return AlertCommand("mute", alert_id=alert_id, days=days)
    rule = parse_rule(words)
    if isinstance(rule, AlertParseError):
        return rule
    return AlertCommand("create", rule=rule)


def _alert_id(words: list[str]) -> int | None:
    if len(words) != 1 or not (words[0].isascii() and words[0].isdigit()):
        return None
    value = int(words[0])
    return value if 1 <= value <= 10**9 else None
