"""The alerts' one entry point for the scheduler, the CLI and the Slack commands.

``check()`` evaluates every active rule on every complete data day it hasn't been
evaluated on yet (at most ``catchup_days`` back; never before the rule's first day) and
delivers each alert that fires through the digest's ledger (``bot.digest.store``):

1. **claim** (channel, ``a<rule>:<YYYYMMDD>``) before posting: of two replicas (or two
   schedulers, or a scheduler and the CLI) checking at once exactly one claim succeeds;
2. post (Slack 429 retried by the client, 5xx / ``ratelimited`` / ``internal_error``
   retried here with backoff, ``bot.digest.service.RetryPolicy``), record the ``ts`` at
   once, the chart in the thread (recorded), then ``sent``;
3. a delivery that still fails is ``failed`` in the ledger with its error and listed in
   the next alert that reaches the channel (``reported_in``);
4. ``evaluated_through`` moves past a day only once every alert of that day is settled:
   if the process dies between evaluating and delivering, the next check evaluates the
   day again and the claim (or its takeover after the lease) delivers it, once.

Allowlists (``bot.access``): a revenue-derived rule is delivered only where revenue may
appear publicly; a rule the allowlists now refuse is settled without a message (logged).
Revenue-derived means the metric's ``meta.restricted`` in dbt's semantic YAML (read
when the rule is created and again at each delivery); an experiment alert always is.

Series: every rule is one semantic-layer request per round (``MetricRequest``, daily
grain, the filter value validated against the dimension's known values and bound as a
parameter), shared by the rules on the same metric and filter. ``revenue``, ``orders``
and ``aov`` used to read the ``revenue_daily`` mart; the semantic layer gives the same
numbers (measured: every day of the test warehouse exactly equal, README "Alerts"), so
there is one path.

Health: ``problem()`` is what ``/healthz`` names under ``alerts`` after a round that
couldn't read the warehouse or whose delivery failed after retries, until a later full
round succeeds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.access import OPEN, Allowlists, Audience
from bot.alerts.message import (
    AlertContext,
    AlertMessage,
    MetricDisplay,
    day_alert,
    experiment_alert,
    mart_display,
)
from bot.alerts.store import AlertStore, StoredRule, day_key, event_key
from bot.answerers.metrics import layer_for
from bot.answers import ExperimentAnswer
from bot.core.alerts import (
    AlertRule,
    Evaluation,
    ab_events,
    days_to_evaluate,
    evaluate,
    filled_series,
)
from bot.core.anomalies import DEFAULT_SETTINGS
from bot.core.metric_grammar import closest, did_you_mean
from bot.core.metrics import DimensionFilter, MetricInfo, MetricRequest
from bot.core.questions import ExperimentQuestion
from bot.digest import store as ledger
from bot.digest.schedule import naive_utc, utc_now
from bot.digest.service import (
    AMBIGUOUS_ERRORS,
    DEFAULT_LEASE,
    RETRYABLE_ERRORS,
    RetryPolicy,
    post_with_retries,
    upload_claimed_charts,
)
from bot.digest.store import DigestStore
from bot.sender import PostResult, SlackSender
from bot.service import KpiService
from bot.warehouse.base import DataStatus, WarehouseError, to_date
from bot.warehouse.semantic import SemanticLayer, SemanticRequestError

log = logging.getLogger("bot.alerts")

# Days of history an evaluation needs before its day: the anomaly rule's 8 weeks of
# pooled residuals (56 days) and the same weekday a week before (7).
HISTORY_DAYS = 7 * DEFAULT_SETTINGS.history_weeks + 7
DEFAULT_RETRY = RetryPolicy()
REFUSED = (
    ":lock: This alert would post revenue figures, and they aren't shared in this channel "
    "(or with you). Ask your workspace admins, or alert on `orders`."
)
# What /healthz says under "alerts" (codes, never messages: it answers anyone).
WAREHOUSE_UNREADABLE = "alert_warehouse_unreadable"
DELIVERY_FAILED = "alert_delivery_failed"
RULE_UNANSWERABLE = "alert_rule_unanswerable"
ROUND_ERROR = "alert_round_error"
SETTLED = frozenset(
    {"sent", "already_sent", "failed", "muted", "not_allowed", "not_fired", "not_judged"}
)


@dataclass(frozen=True)
class AlertOutcome:
    rule_id: int
    channel: str
    key: str  # the ledger period (or the would-be one)
    day: date | None  # the data day (None: an experiment event)
    status: str  # sent | already_sent | in_progress | failed | muted | not_allowed |
    #              not_fired | not_judged | no_sender | would_send (dry run)
    ts: str | None = None
    error: str | None = None
    text: str | None = None  # the message's text (dry run: what would be posted)
    message: AlertMessage | None = field(default=None, repr=False)

    @property
    def fired(self) -> bool:
        return self.status not in ("not_fired", "not_judged")


class AlertService:
    def __init__(
        self,
        kpi: KpiService,
        store: AlertStore,
        ledger_store: DigestStore,
        sender: SlackSender | None,
        *,
        allowlists: Allowlists = OPEN,
        admins: frozenset[str] = frozenset(),
        catchup_days: int = 3,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        lease: timedelta = DEFAULT_LEASE,
        retry: RetryPolicy = DEFAULT_RETRY,
        charts: bool = True,
    ) -> None:
        self.kpi = kpi
        self.store = store
        self.ledger = ledger_store
        self.sender = sender
        self.allowlists = allowlists
        self.admins = admins
        self.catchup_days = catchup_days
        self.clock = clock  # aware UTC now
        self.sleep = sleep
        self.lease = lease
        self.retry = retry
        self.charts = charts
        self._lock = threading.Lock()
        self._problem: str | None = None
        self._data_version: tuple | None = None  # (last_day, data_as_of) of the last round

    # ------------------------------------------------------------ semantic layer

    @property
    def semantic(self) -> SemanticLayer:
        """The service's semantic layer (shared with metric answers; loaded on first use)."""
        return layer_for(self.kpi.reader)

    def metric_info(self, rule: AlertRule) -> MetricInfo | None:
        """dbt's definition of the rule's metric; None if the layer can't be loaded or
        doesn't define it (then core's fallback applies: unknown metrics restricted)."""
        try:
            return self.semantic.metrics().get(rule.metric)
        except WarehouseError as err:
            log.warning("alerts: semantic layer not loaded (%s)", type(err).__name__)
            return None

    def restricted(self, rule: AlertRule) -> bool:
        """Revenue-derived: dbt's ``meta.restricted``; an experiment alert always; a
        metric the layer can't describe right now: as core knows it (unknown: yes)."""
        if rule.condition == "ab":
            return True
        info = self.metric_info(rule)
        return info.restricted if info is not None else rule.restricted

    def display(self, rule: AlertRule) -> MetricDisplay:
        info = self.metric_info(rule)
        if info is None:
            return mart_display(rule)
        return MetricDisplay(info.label, info.unit or "count", rule.where)

    def validate(self, rule: AlertRule) -> AlertRule | str:
        """The rule with dbt's names and the warehouse's spelling of its value, or what
        to type instead (unknown metric, dimension or value: "did you mean")."""
        if rule.condition == "ab":
            return rule
        try:
            metrics = self.semantic.metrics()
        except WarehouseError as err:
            return (
                f"Alerts need the semantic layer (metrics from dbt), which isn't available "
                f"right now ({type(err).__name__}). Whoever runs the bot can run "
                "`python -m bot build`; then try `/kpi alert orders drops 30%` again."
            )
        info = metrics.get(rule.metric)
        if info is None:
            found = closest(rule.metric, list(metrics))
            example = f"/kpi alert {found[0] if found else 'orders'} drops 30%"
            return (
                f"I can't alert on `{rule.metric}`: it isn't a metric.{did_you_mean(found)} "
                f"`/kpi metrics` lists them all. Try: `{example}`"
            )
        refused = _threshold_unit(rule, info)
        if refused is not None:
            return refused
        if rule.where is None:
            return rule
        return self._validate_where(rule, info)

    def _validate_where(self, rule: AlertRule, info: MetricInfo) -> AlertRule | str:
        assert rule.where is not None
        dimension, value = rule.where
        offered = info.dimensions
        if dimension not in offered:
            found = closest(dimension, offered)
            shown = ", ".join(f"`{d}`" for d in offered) or "none"
            pick = found[0] if found else (offered[0] if offered else None)
            example = (
                f"/kpi alert {rule.metric} where {pick} = … drops 30%"
                if pick
                else f"/kpi alert {rule.metric} drops 30%"
            )
            return (
                f"`{rule.metric}` can't be filtered by `{dimension}`.{did_you_mean(found)} "
                f"Its dimensions: {shown}. Try: `{example}`"
            )
        try:
            known = self.semantic.dimension_values(dimension, (rule.metric,))
        except WarehouseError as err:
            log.warning("alerts: %s values unreadable (%s)", dimension, type(err).__name__)
            return (
                f"I couldn't check `{value}` against the known {dimension} values right now "
                "(the warehouse didn't answer). Try the same `/kpi alert …` again in a minute."
            )
        by_folded = {k.casefold(): k for k in known}
        spelled = by_folded.get(value.casefold())
        if spelled is None:
            found = closest(value, known)
            listed = ", ".join(f"`{k}`" for k in known[:12]) + (", …" if len(known) > 12 else "")
            example_value = found[0] if found else (known[0] if known else "…")
            example = AlertRule(
                rule.metric, rule.condition, rule.threshold, (dimension, example_value)
            ).describe()
            return (
                f"`{value}` isn't a known {dimension}.{did_you_mean(found)} "
                f"Known values: {listed or '(none)'}. Try: `/kpi alert {example}`"
            )
        return AlertRule(rule.metric, rule.condition, rule.threshold, (dimension, spelled))

    # ------------------------------------------------------------ health

    def problem(self) -> str | None:
        """What ``/healthz`` reports under ``alerts``: None, or a code saying the last
        round failed (``alert_warehouse_unreadable``, ``alert_delivery_failed``,
        ``alert_rule_unanswerable``, ``alert_round_error``)."""
        with self._lock:
            return self._problem

    def note_round(self, problem: str | None, full: bool = True) -> None:
        """A round's result. A failure shows at once; only a full round (every rule)
        that succeeded clears it (a new rule's first check proves little)."""
        with self._lock:
            if problem is not None:
                if self._problem != problem:
                    log.error("alerts: round failed (%s)", problem)
                self._problem = problem
            elif full and self._problem is not None:
                log.warning("alerts: a round succeeded again")
                self._problem = None

    def check_if_new_data(self) -> list[AlertOutcome]:
        """A round if the warehouse has data the last round didn't see (a rebuild swapped
        in): ``serve`` polls this; the ledger makes extra rounds harmless."""
        try:
            status = self.kpi.reader.data_status()
        except WarehouseError as err:
            log.warning("alerts: can't look for new data (%s)", type(err).__name__)
            self.note_round(WAREHOUSE_UNREADABLE)
            return []
        with self._lock:
            seen = self._data_version
        if seen == _version(status):
            return []
        log.info("alerts: new data (%s), checking", status.data_as_of)
        return self.check()

    # ------------------------------------------------------------ days

    def latest_complete_day(self, as_of: date | None = None) -> date | None:
        """The last day of data that is over: the marts' last day, and before today
        (``as_of``) in the reporting time zone."""
        return _latest(self.kpi.reader.data_status(), as_of or self.kpi.today())

    def may_post(self, rule: AlertRule, channel: str) -> bool:
        audience = self.allowlists.audience(channel, None, restricted=self.restricted(rule))
        return audience is Audience.PUBLIC

    # ------------------------------------------------------------ management

    def create(
        self,
        channel: str,
        user: str | None,
        rule: AlertRule,
        as_of: date | None = None,
        evaluate: bool = True,
    ) -> tuple[StoredRule, list[AlertOutcome]] | str:
        """Add a rule and (``evaluate``) evaluate it at once on the latest complete data
        day; a str is a refusal to show the asker (allowlists, unknown experiment, no
        data). Slack evaluates after posting the confirmation (``check(rules=…)``)."""
        checked = self.validate(rule)
        if isinstance(checked, str):
            return checked
        rule = checked
        audience = self.allowlists.audience(channel, user, restricted=self.restricted(rule))
        if audience is not Audience.PUBLIC:
            return REFUSED
        if rule.experiment_id is not None:
            known = sorted(e.experiment_id for e in self.kpi.reader.experiments())
            if rule.experiment_id not in known:
                listed = ", ".join(f"`{k}`" for k in known[:10]) or "none"
                return f"There is no experiment `{rule.experiment_id}`. Experiments: {listed}."
        latest = self.latest_complete_day(as_of)
        if latest is None:
            return "There is no complete day of data yet to alert on."
        stored = self.store.add(channel, rule, user, naive_utc(self.clock()), latest)
        return stored, self.check(as_of, rules=[stored]) if evaluate else []

    def rules(self, channel: str) -> list[StoredRule]:
        return self.store.active(channel)

    def delete(self, channel: str, user: str, rule_id: int) -> str:
        stored = self.store.get(rule_id)
        if stored is None or stored.channel != channel:
            return f"There is no alert #{rule_id} in this channel (see `/kpi alerts`)."
        if user != stored.created_by and user not in self.admins:
            return (
                f"Only the alert's creator (<@{stored.created_by}>) or a workspace admin "
                f"can delete alert #{rule_id}."
            )
        self.store.delete(rule_id, user, naive_utc(self.clock()))
        return f"Deleted alert #{rule_id} (`{stored.rule.describe()}`)."

    def mute(self, channel: str, rule_id: int, days: int) -> str:
        stored = self.store.get(rule_id)
        if stored is None or stored.channel != channel:
            return f"There is no alert #{rule_id} in this channel (see `/kpi alerts`)."
        until = naive_utc(self.clock()) + timedelta(days=days)
        self.store.mute(rule_id, until)
        return (
            f"Muted alert #{rule_id} (`{stored.rule.describe()}`) until {until:%Y-%m-%d %H:%M} "
            "UTC: days that fire meanwhile are not posted."
        )

    # ------------------------------------------------------------ evaluation

    def check(
        self,
        as_of: date | None = None,
        *,
        dry_run: bool = False,
        rules: Iterable[StoredRule] | None = None,
    ) -> list[AlertOutcome]:
        """One evaluation round: what the scheduler runs and ``python -m bot alerts
        check`` runs. ``dry_run`` evaluates and renders but writes and posts nothing."""
        full = rules is None
        try:
            status = self.kpi.reader.data_status()
        except WarehouseError:
            if not dry_run:
                self.note_round(WAREHOUSE_UNREADABLE, full)
            raise
        latest = _latest(status, as_of or self.kpi.today())
        if latest is None:
            log.warning("alerts: the marts have no data yet")
            return []
        if full and not dry_run:
            with self._lock:
                self._data_version = _version(status)
        active = list(self.store.active() if rules is None else rules)
        round_ = _Round(self, latest, dry_run, status)
        outcomes: list[AlertOutcome] = []
        problems: list[str] = []
        for stored in active:
            try:
                outcomes += round_.rule(stored)
            except SemanticRequestError as err:  # e.g. a value a rebuild no longer has
                log.warning("alert #%d: can't be evaluated: %s", stored.id, err)
                problems.append(RULE_UNANSWERABLE)
            except WarehouseError as err:
                log.warning("alert #%d: warehouse unreadable: %s", stored.id, err)
                problems.append(WAREHOUSE_UNREADABLE)
            except Exception:  # one broken rule must not stop the others
                log.exception("alert #%d: evaluation failed", stored.id)
                problems.append(ROUND_ERROR)
        if any(o.status == "failed" for o in outcomes):
            problems.append(DELIVERY_FAILED)
        if not dry_run:
            order = (WAREHOUSE_UNREADABLE, DELIVERY_FAILED, RULE_UNANSWERABLE, ROUND_ERROR)
            self.note_round(next((p for p in order if p in problems), None), full)
        return outcomes

    # ------------------------------------------------------------ delivery

    def deliver(self, stored: StoredRule, key: str, day: date | None, build) -> AlertOutcome:
        """Deliver one fired alert exactly once (``build(missed)`` renders it)."""
        base = {"rule_id": stored.id, "channel": stored.channel, "key": key, "day": day}
        if not self.may_post(stored.rule, stored.channel):
            log.warning("alert #%d not sent to %s: the allowlists refuse it", *_id(stored))
            return AlertOutcome(**base, status="not_allowed", error="channel not in allowlist")
        if self.sender is None:
            return AlertOutcome(**base, status="no_sender", error="no Slack token")
        now = naive_utc(self.clock())
        claim = self.ledger.claim(stored.channel, key, now=now, lease=self.lease)
        if claim is None:
            row = self.ledger.delivery(stored.channel, key)
            if row is not None and row.status == ledger.SENT:
                return AlertOutcome(**base, status="already_sent", ts=row.ts)
            if row is not None and row.status == ledger.FAILED:
                return AlertOutcome(**base, status="failed", error=row.error)
            return AlertOutcome(**base, status="in_progress")
        try:
            return self._deliver_claimed(stored, claim, day, build, base)
        except Exception:  # never leave a claim dangling on a bug: record it
            log.exception("alert #%d %s: unexpected error", stored.id, key)
            row = self.ledger.delivery(stored.channel, key)
            if row is not None and row.ts is None:
                self.ledger.mark_failed(claim, "internal error", True, naive_utc(self.clock()))
            return AlertOutcome(**base, status="failed", error="internal error")

    def _deliver_claimed(
        self,
        stored: StoredRule,
        claim: ledger.Claim,
        day: date | None,
        build: Callable[[list[ledger.Delivery]], AlertMessage],
        base: dict,
    ) -> AlertOutcome:
        assert self.sender is not None
        missed = [
            d for d in self.store.unreported_failures(stored.channel) if d.period != claim.period
        ]
        message = build(missed)
        ts = claim.ts
        if ts is None:
            result = self._post(stored.channel, message)
            now = naive_utc(self.clock())
            if not result.posted:
                error = result.error or "unknown_error"
                retryable = error in RETRYABLE_ERRORS
                if error in AMBIGUOUS_ERRORS:
                    error = f"{error}: Slack may or may not have posted it"
                self.ledger.mark_failed(claim, error, retryable, now)
                log.warning("alert #%d %s failed: %s", stored.id, claim.period, error)
                return AlertOutcome(**base, status="failed", error=error, text=message.text)
            ts = result.ts
            assert ts is not None
            self.ledger.mark_posted(claim, ts, now)
            self.ledger.mark_reported(stored.channel, [m.period for m in missed], claim.period)
            self.store.mark_fired(stored.id, day, now)
        errors = self._upload_charts(claim, message, ts)
        note = f"chart upload failed: {errors[0]}" if errors else None
        self.ledger.mark_sent(claim, naive_utc(self.clock()), note)
        log.info("alert #%d %s sent to %s (ts %s)", stored.id, claim.period, stored.channel, ts)
        return AlertOutcome(**base, status="sent", ts=ts, text=message.text, message=message)

    def _post(self, channel: str, message: AlertMessage) -> PostResult:
        assert self.sender is not None
        return post_with_retries(
            self.sender, channel, message.blocks, message.text, self.retry, self.sleep, "alert"
        )

    def _upload_charts(self, claim: ledger.Claim, message: AlertMessage, ts: str) -> list[str]:
        assert self.sender is not None
        return upload_claimed_charts(
            self.sender, self.ledger, claim, message.charts, ts, lambda: naive_utc(self.clock())
        )


class _Round:
    """One ``check``: each daily series read once (per metric and filter), shared by
    every rule that needs it."""

    def __init__(
        self, service: AlertService, latest: date, dry_run: bool, status: DataStatus
    ) -> None:
        self.service = service
        self.latest = latest
        self.dry_run = dry_run
        self.status = status
        self._data_as_of: datetime | None = status.data_as_of
        self._series: dict[tuple, dict[date, float | None]] = {}
        self.now = naive_utc(service.clock())
        self.start = latest - timedelta(days=service.catchup_days - 1 + HISTORY_DAYS)

    def series(self, rule: AlertRule) -> dict[date, float | None]:
        key = (rule.metric, rule.where)
        if key not in self._series:
            self._series[key] = self._semantic_series(rule)
        return self._series[key]

    def _semantic_series(self, rule: AlertRule) -> dict[date, float | None]:
        """One daily request; the filter value is matched to the dimension's known
        values and bound as a parameter by the semantic layer."""
        layer = self.service.semantic
        info = layer.metrics().get(rule.metric)
        if info is None:
            raise SemanticRequestError(f"There's no metric called {rule.metric!r} any more.")
        filters = (DimensionFilter(rule.where[0], (rule.where[1],)),) if rule.where else ()
        request = MetricRequest(
            metrics=(rule.metric,), filters=filters, start=self.start, end=self.latest, grain="day"
        )
        rows = layer.query(request).rows
        values = {
            day: _number(v)
            for p, v in zip(rows["period"], rows[rule.metric], strict=True)
            if (day := to_date(p)) is not None
        }
        return filled_series(
            values, self.start, self.latest, self.status.first_day, info.kind == "simple"
        )

    def rule(self, stored: StoredRule) -> list[AlertOutcome]:
        if stored.rule.condition == "ab":
            return self.experiment(stored)
        days = days_to_evaluate(
            self.latest, stored.evaluated_through, stored.first_day, self.service.catchup_days
        )
        if not days:
            return []
        series = self.series(stored.rule)
        display = self.service.display(stored.rule)
        outcomes: list[AlertOutcome] = []
        settled_through: date | None = None
        blocked = False
        for day in days:
            outcome = self.day(stored, evaluate(stored.rule, series, day), series, display)
            outcomes.append(outcome)
            if outcome.status in SETTLED and not blocked:
                settled_through = day
            else:
                blocked = True  # a later check evaluates this day again
        if settled_through is not None and not self.dry_run:
            self.service.store.mark_evaluated(stored.id, settled_through)
        return outcomes

    def day(
        self, stored: StoredRule, ev: Evaluation, series, display: MetricDisplay
    ) -> AlertOutcome:
        key = day_key(stored.id, ev.day)
        base = {"rule_id": stored.id, "channel": stored.channel, "key": key, "day": ev.day}
        if not ev.fired:
            return AlertOutcome(**base, status="not_fired" if ev.judged else "not_judged")
        if stored.muted(self.now):
            return AlertOutcome(**base, status="muted")

        def build(missed: list[ledger.Delivery]) -> AlertMessage:
            context = AlertContext(stored.id, stored.created_by, self._data_as_of, missed)
            return day_alert(
                ev,
                context,
                series,
                chart=self.service.charts,
                display=display,
                render=self.service.kpi.render,
            )

        if self.dry_run:
            message = build([])
            return AlertOutcome(**base, status="would_send", text=message.text, message=message)
        return self.service.deliver(stored, key, ev.day, build)

    def experiment(self, stored: StoredRule) -> list[AlertOutcome]:
        """An experiment alert: each event (SRM, significant) once ever, as it is first
        seen by the analysis ``/kpi ab`` shows."""
        experiment_id = stored.rule.experiment_id or ""
        answer = self.service.kpi.answer(ExperimentQuestion(experiment_id), charts=False)
        if not isinstance(answer, ExperimentAnswer):
            log.warning("alert #%d: experiment %s not analysed", stored.id, experiment_id)
            return []
        result = answer.result
        significant = result.verdict_kind in ("winner", "loser")
        outcomes = []
        for event in ab_events(result.srm.flagged, significant):
            key = event_key(stored.id, event)
            base = {"rule_id": stored.id, "channel": stored.channel, "key": key, "day": None}
            if stored.muted(self.now):
                outcomes.append(AlertOutcome(**base, status="muted"))
                continue
            detail = _experiment_detail(result, event)

            def build(missed, event=event, detail=detail) -> AlertMessage:
                as_of = answer.freshness.data_as_of
                context = AlertContext(stored.id, stored.created_by, as_of, missed)
                return experiment_alert(
                    stored.rule.describe(), experiment_id, event, detail, context
                )

            if self.dry_run:
                message = build([])
                outcomes.append(AlertOutcome(**base, status="would_send", text=message.text))
                continue
            outcomes.append(self.service.deliver(stored, key, None, build))
        return outcomes


def _experiment_detail(result, event: str) -> str:
    if event == "srm":
        p = result.srm.p_value
        observed = ", ".join(f"{k}: {v:,}" for k, v in result.srm.observed.items())
        return f"Users per variant: {observed} (χ² test p = {p:.2g})." if p is not None else ""
    subject = result.verdict.subject
    if subject is None:
        return ""
    lift = f", relative lift {subject.rel_lift:+.1%}" if subject.rel_lift is not None else ""
    return f"Verdict: {result.verdict_kind} for `{subject.treatment}` vs `{subject.control}`{lift}."


def _threshold_unit(rule: AlertRule, info: MetricInfo) -> str | None:
    """A below/above threshold in the metric's unit: `$` only for money, `%` or a
    fraction (at most 1) only for a rate."""
    if rule.condition not in ("below", "above"):
        return None
    name, unit = rule.metric, info.unit
    if rule.typed_as == "$" and unit != "currency":
        return f"`{name}` isn't money: drop the `$`, e.g. `/kpi alert {name} {rule.condition} 50`."
    if rule.typed_as == "%" and unit != "ratio":
        return (
            f"`{name}` isn't a rate, so a threshold in % means nothing for it. For a change "
            f"against a week earlier: `/kpi alert {name} drops 20%`."
        )
    if unit == "ratio" and (rule.threshold or 0.0) > 1:
        return (
            f"`{name}` is a rate: give the threshold as a percentage or a fraction, e.g. "
            f"`/kpi alert {name} {rule.condition} 10%` (the same as `0.1`)."
        )
    return None


def _latest(status: DataStatus, as_of: date) -> date | None:
    """The last day of data that is over: the marts' last day, and before ``as_of``."""
    if status.last_day is None:
        return None
    return min(status.last_day, as_of - timedelta(days=1))


def _version(status: DataStatus) -> tuple:
    """What changes when a rebuild brings new data."""
    return (status.last_day, status.data_as_of)


def _number(value) -> float | None:
    """A result cell as a float; NULL (None, NaN, pandas' NA) as None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def _id(stored: StoredRule) -> tuple[int, str]:
    return stored.id, stored.channel
