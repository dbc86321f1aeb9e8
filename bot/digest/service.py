"""The digest's one entry point for the scheduler, the Slack commands and the CLI.

``DigestService`` builds a digest through ``KpiService`` (``bot.digest.content``),
renders it (``bot.digest.blocks``) and delivers it through the ledger
(``bot.digest.store``) with ``SlackSender``: claim → post → record ts → charts in the
thread → sent. See ``store`` for the exactly-once argument.

Retries: the sender's message client already retries HTTP 429 up to 3 times, sleeping
Retry-After. On top of that a digest retries errors that mean "Slack did not post it"
(rate limited, internal_error, service_unavailable, …) with exponential backoff. Errors
that can't get better by waiting (``not_in_channel``, ``invalid_auth``…) fail at once.
A transport error (timeout, dropped connection) is ambiguous — Slack may have posted —
so it is not reposted blindly: it is recorded and reported with the next digest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.access import OPEN, Allowlists, Audience
from bot.answers import Chart
from bot.digest import store as ledger
from bot.digest.blocks import DigestMessage, DigestNotes, MissedDigest, render_digest
from bot.digest.content import DigestContent, gather_content
from bot.digest.schedule import (
    DigestPeriod,
    build_trigger,
    is_late,
    last_fire_time,
    naive_utc,
    period_for_date,
    period_for_fire,
    utc_now,
)
from bot.digest.store import DigestStore
from bot.sender import PostResult, SlackSender
from bot.service import KpiService
from bot.settings import Settings

log = logging.getLogger("bot.digest")

# ok:false errors (and the sender's http_5xx) after which nothing was posted.
RETRYABLE_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "http_500",
        "http_502",
        "http_503",
    }
)
AMBIGUOUS_ERRORS = frozenset({"transport_error"})
DEFAULT_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # posts tried in all (each after the client's own 429 retries)
    first_delay_s: float = 2.0
    max_delay_s: float = 60.0

    def delays(self) -> list[float]:
        return [min(self.max_delay_s, self.first_delay_s * 2**i) for i in range(self.attempts - 1)]


@dataclass(frozen=True)
class Outcome:
    channel: str
    period: str
    status: str  # sent | already_sent | in_progress | failed | not_allowed | no_sender
    ts: str | None = None
    error: str | None = None
    late: bool = False
    resumed: bool = False

    @property
    def ok(self) -> bool:
        return self.status in ("sent", "already_sent", "in_progress")


class DigestService:
    def __init__(
        self,
        kpi: KpiService,
        store: DigestStore,
        sender: SlackSender | None,
        *,
        timezone: ZoneInfo,
        cron: str = "0 9 * * mon",
        grace_hours: float = 48.0,
        allowlists: Allowlists = OPEN,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        lease: timedelta = DEFAULT_LEASE,
        retry: RetryPolicy = RetryPolicy(),
        content_builder: Callable[[DigestPeriod], DigestContent] | None = None,
    ) -> None:
        self.kpi = kpi
        self.store = store
        self.sender = sender
        self.timezone = timezone
        self.cron = cron
        self.trigger = build_trigger(cron, timezone)
        self.grace = timedelta(hours=grace_hours)
        self.allowlists = allowlists
        self.clock = clock  # aware UTC now
        self.sleep = sleep
        self.lease = lease
        self.retry = retry
        self._content_builder = content_builder

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        kpi: KpiService,
        store: DigestStore,
        sender: SlackSender | None,
        **kwargs,
    ) -> DigestService:
        return cls(
            kpi,
            store,
            sender,
            timezone=settings.timezone,
            cron=settings.digest_cron,
            grace_hours=settings.digest_grace_hours,
            allowlists=settings.allowlists,
            **kwargs,
        )

    # ------------------------------------------------------------ controls

    def current_period(self) -> DigestPeriod:
        """The week the next (or today's) digest reports."""
        return period_for_date(self.clock().astimezone(self.timezone).date())

    def content(self, period: DigestPeriod, charts: bool = True) -> DigestContent:
        """The digest's figures; its chart drawn only with ``charts`` (a preview shows none)."""
        if self._content_builder is not None:
            return self._content_builder(period)
        return gather_content(self.kpi, period, charts=charts)

    def message(
        self, channel: str, period: DigestPeriod, content: DigestContent, late: bool = False
    ) -> DigestMessage:
        return render_digest(content, self.notes(channel, period, late))

    def notes(self, channel: str, period: DigestPeriod, late: bool) -> DigestNotes:
        missed = tuple(
            MissedDigest(d.period, d.error)
            for d in self.store.unreported_failures(channel, period.key)
        )
        due = period.due_at if late else None
        return DigestNotes(due_at=due, timezone=self.timezone, missed=missed)

    def preview(self, channel: str) -> tuple[list[dict], str]:
        """Exactly the blocks this channel's next digest would have (charts aside)."""
        period = self.current_period()
        message = self.message(channel, period, self.content(period, charts=False))
        return message.blocks, f"Preview: {message.text}"

    def subscribe(self, channel: str, user: str | None = None) -> bool:
        return self.store.subscribe(channel, user, naive_utc(self.clock()))

    def unsubscribe(self, channel: str, user: str | None = None) -> bool:
        return self.store.unsubscribe(channel, user, naive_utc(self.clock()))

    def channels(self) -> list[str]:
        """Subscribed channels where the allowlists (``bot.access``) still let revenue be
        shown publicly; a subscription they now refuse is logged at each delivery."""
        channels = []
        for channel in self.store.channels():
            if self.may_post(channel):
                channels.append(channel)
            else:
                log.warning("digest not sent to %s: the allowlists refuse it", channel)
        return channels

    def may_post(self, channel: str) -> bool:
        """The digest shows revenue: only channels where it may appear publicly."""
        audience = self.allowlists.audience(channel, None, restricted=True)
        return audience is Audience.PUBLIC

    # ------------------------------------------------------------ delivery

    def due_period(self, now: datetime | None = None) -> DigestPeriod | None:
        """The latest scheduled digest still within the grace period, if any."""
        now = now or self.clock()
        fire = last_fire_time(self.trigger, now, self.grace)
        return period_for_fire(fire, self.timezone) if fire is not None else None

    def run_due(self) -> list[Outcome]:
        """Send the due digest to every subscribed channel that hasn't had it.

        Called by the scheduled job and once at start-up (catch-up): after downtime the
        missed digest goes out, saying it is late, while still within the grace period;
        older ones are left (and logged)."""
        now = self.clock()
        period = self.due_period(now)
        if period is None:
            log.info("digest: nothing due within the %s grace period", self.grace)
            return []
        late = is_late(period, now)
        return self.send(period, self.channels(), late=late, retry_failed=True)

    def send(
        self,
        period: DigestPeriod,
        channels: Iterable[str],
        *,
        late: bool = False,
        retry_failed: bool = True,
    ) -> list[Outcome]:
        content = _Lazy(lambda: self.content(period))  # built once, only if needed
        return [
            self.deliver(channel, period, content, late=late, retry_failed=retry_failed)
            for channel in channels
        ]

    def deliver(
        self,
        channel: str,
        period: DigestPeriod,
        content: Callable[[], DigestContent],
        *,
        late: bool = False,
        retry_failed: bool = True,
    ) -> Outcome:
        if not self.may_post(channel):
            return Outcome(channel, period.key, "not_allowed", error="channel not in allowlist")
        if self.sender is None:
            return Outcome(channel, period.key, "no_sender", error="no Slack token")
        claim = self.store.claim(
            channel,
            period.key,
            now=naive_utc(self.clock()),
            lease=self.lease,
            due_at=naive_utc(period.due_at) if period.due_at else None,
            late=late,
            retry_failed=retry_failed,
        )
        if claim is None:
            return self._not_claimed(channel, period.key)
        try:
            return self._deliver_claimed(claim, period, content, late)
        except Exception:  # never leave a claim dangling on a bug: record it
            log.exception("digest %s/%s: unexpected error", channel, period.key)
            row = self.store.delivery(channel, period.key)
            if row is not None and row.ts is None:
                self.store.mark_failed(claim, "internal error", True, naive_utc(self.clock()))
            return Outcome(channel, period.key, "failed", error="internal error", late=late)

    def _not_claimed(self, channel: str, key: str) -> Outcome:
        row = self.store.delivery(channel, key)
        if row is not None and row.status == ledger.SENT:
            return Outcome(channel, key, "already_sent", ts=row.ts)
        if row is not None and row.status == ledger.FAILED:
            return Outcome(channel, key, "failed", error=row.error)
        return Outcome(channel, key, "in_progress")

    def _deliver_claimed(
        self,
        claim: ledger.Claim,
        period: DigestPeriod,
        content: Callable[[], DigestContent],
        late: bool,
    ) -> Outcome:
        assert self.sender is not None
        channel = claim.channel
        notes = self.notes(channel, period, late)
        message = render_digest(content(), notes)
        ts = claim.ts
        if ts is None:
            result = self._post(channel, message)
            now = naive_utc(self.clock())
            if not result.posted:
                error = result.error or "unknown_error"
                retryable = error in RETRYABLE_ERRORS
                if error in AMBIGUOUS_ERRORS:
                    error = f"{error}: Slack may or may not have posted it"
                self.store.mark_failed(claim, error, retryable, now)
                log.warning("digest %s/%s failed: %s", channel, period.key, error)
                return Outcome(channel, period.key, "failed", error=error, late=late)
            ts = result.ts
            assert ts is not None
            self.store.mark_posted(claim, ts, now)
            self.store.mark_reported(channel, [m.period for m in notes.missed], period.key)
        upload_errors = self._upload_charts(claim, message, ts)
        note = f"chart upload failed: {upload_errors[0]}" if upload_errors else None
        self.store.mark_sent(claim, naive_utc(self.clock()), note)
        log.info("digest %s/%s sent (ts %s)", channel, period.key, ts)
        return Outcome(channel, period.key, "sent", ts=ts, late=late, resumed=claim.resumed)

    def _post(self, channel: str, message: DigestMessage) -> PostResult:
        assert self.sender is not None
        return post_with_retries(
            self.sender, channel, message.blocks, message.text, self.retry, self.sleep, "digest"
        )

    def _upload_charts(self, claim: ledger.Claim, message: DigestMessage, ts: str) -> list[str]:
        assert self.sender is not None
        return upload_claimed_charts(
            self.sender, self.store, claim, message.charts, ts, lambda: naive_utc(self.clock())
        )


def post_with_retries(
    sender: SlackSender,
    channel: str,
    blocks: list[dict],
    text: str,
    retry: RetryPolicy,
    sleep: Callable[[float], None],
    what: str,
) -> PostResult:
    """Post one message, retrying what is safe to retry (nothing reached the channel:
    ``RETRYABLE_ERRORS``) with ``retry``'s backoff. Used by the digest and the alerts."""
    delays = retry.delays()
    while True:
        result = sender.post_blocks(channel, blocks, text)
        if result.posted or result.error not in RETRYABLE_ERRORS or not delays:
            return result
        delay = delays.pop(0)
        log.warning("%s post to %s: %s, retrying in %.0f s", what, channel, result.error, delay)
        sleep(delay)


def upload_claimed_charts(
    sender: SlackSender,
    store: DigestStore,
    claim: ledger.Claim,
    charts: Sequence[Chart],
    ts: str,
    now: Callable[[], datetime],
) -> list[str]:
    """Charts in the message's thread, each recorded in the ledger so a takeover doesn't
    repeat it; returns the upload errors."""
    errors: list[str] = []
    for index in range(claim.charts_done, len(charts)):
        result = PostResult(ts=ts)
        sender.upload_chart(claim.channel, charts[index], result, thread_ts=ts)
        if result.upload_errors:
            errors += result.upload_errors
            continue
        store.mark_charts(claim, index + 1, now())
    return errors


class _Lazy:
    """Compute once on first call (thread-safe): content is shared by all channels."""

    def __init__(self, compute: Callable[[], DigestContent]) -> None:
        self._compute = compute
        self._lock = threading.Lock()
        self._value: DigestContent | None = None

    def __call__(self) -> DigestContent:
        with self._lock:
            if self._value is None:
                self._value = self._compute()
            return self._value
