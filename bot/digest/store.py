"""The digest's state in ``KPI_STATE_DB``: subscriptions and the delivery ledger.

SQLAlchemy Core, so the same code runs on the default SQLite file and on a PostgreSQL
shared by several replicas. APScheduler's job table lives in the same database.

Exactly once, per (channel, period) — the ledger's unique key:

1. **claim** before posting: insert a ``pending`` row with a lease (``lease_until``) and
   an ``owner`` token. The unique constraint makes the insert the lock: of two replicas
   (or two schedulers) firing together exactly one insert succeeds; the other sees the
   row and skips.
2. **posted**: as soon as ``chat.postMessage`` returns, the message ``ts`` is written,
   so a later attempt never posts the message again; it only finishes the charts.
3. **sent** once the charts are in the thread. A restart sees ``sent`` and skips.
4. A claim whose lease ran out while ``pending``/``posted`` belongs to a process that
   died mid-send: the next attempt takes it over with a compare-and-set update (same
   owner and lease as read), so only one taker wins, and resumes it — not lost.
5. A digest that still fails after the retries is ``failed`` with the error; the next
   digest to that channel reports it (``reported_in``) instead of dropping it silently.

Every update after the claim is fenced by ``owner``: a process whose lease was taken
over can no longer change the row. The one window left is a crash between Slack
accepting the message and step 2's write (milliseconds); a takeover then posts again.

Times are naive UTC ``datetime``s passed in by the caller (injectable clock).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    and_,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from bot.state import create_tables, state_engine

log = logging.getLogger("bot.digest")

PENDING, POSTED, SENT, FAILED = "pending", "posted", "sent", "failed"
IN_FLIGHT = (PENDING, POSTED)
ERROR_CHARS = 300

metadata = MetaData()

deliveries = Table(
    "digest_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(32), nullable=False),
    Column("period", String(16), nullable=False),  # Monday of the reported week, ISO
    Column("status", String(16), nullable=False),
    Column("owner", String(96), nullable=False),
    Column("attempts", Integer, nullable=False, default=1),
    Column("lease_until", DateTime, nullable=False),
    Column("due_at", DateTime),  # the scheduled time this period was due (UTC)
    Column("late", Boolean, nullable=False, default=False),
    Column("ts", String(32)),  # the posted message's ts
    Column("charts_done", Integer, nullable=False, default=0),
    Column("error", String(ERROR_CHARS)),
    Column("retryable", Boolean, nullable=False, default=False),
    Column("reported_in", String(16)),  # period of the digest that reported this failure
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("channel", "period", name="uq_digest_channel_period"),
)

subscriptions = Table(
    "digest_subscriptions",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("active", Boolean, nullable=False),
    Column("source", String(16), nullable=False),  # env | slack | cli
    Column("changed_by", String(32)),
    Column("changed_at", DateTime, nullable=False),
)


@dataclass(frozen=True)
class Delivery:
    channel: str
    period: str
    status: str
    owner: str
    attempts: int
    lease_until: datetime
    due_at: datetime | None
    late: bool
    ts: str | None
    charts_done: int
    error: str | None
    retryable: bool
    reported_in: str | None


@dataclass(frozen=True)
class Claim:
    """The right to deliver one (channel, period), until ``lease_until``."""

    channel: str
    period: str
    owner: str
    attempt: int
    lease_until: datetime
    ts: str | None  # an earlier attempt already posted the message
    charts_done: int
    resumed: bool  # taken over from an expired or failed attempt


def new_owner() -> str:
    """A claim token naming this process, for logs and for fencing updates."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class DigestStore:
    def __init__(self, engine: Engine | str) -> None:
        self.engine = state_engine(engine) if isinstance(engine, str) else engine
        create_tables(metadata, self.engine)

    # ------------------------------------------------------------ subscriptions

    def seed(self, channels: Iterable[str], now: datetime) -> list[str]:
        """Add channels from ``KPI_DIGEST_CHANNELS`` that were never seen before.

        A channel unsubscribed from Slack keeps its inactive row, so a restart with the
        same environment does not subscribe it again."""
        added = []
        for channel in channels:
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(subscriptions).values(
                            channel=channel, active=True, source="env", changed_at=now
                        )
                    )
                added.append(channel)
            except IntegrityError:
                continue
        return added

    def subscribe(self, channel: str, by: str | None, now: datetime, source: str = "slack") -> bool:
        """True when the channel wasn't subscribed before."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(subscriptions).values(
                        channel=channel, active=True, source=source, changed_by=by, changed_at=now
                    )
                )
            return True
        except IntegrityError:
            pass
        with self.engine.begin() as conn:
            result = conn.execute(
                update(subscriptions)
                .where(and_(subscriptions.c.channel == channel, subscriptions.c.active.is_(False)))
                .values(active=True, source=source, changed_by=by, changed_at=now)
            )
        return result.rowcount == 1

    def unsubscribe(self, channel: str, by: str | None, now: datetime) -> bool:
        """True when the channel was subscribed."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(subscriptions)
                .where(and_(subscriptions.c.channel == channel, subscriptions.c.active.is_(True)))
                .values(active=False, changed_by=by, changed_at=now)
            )
        return result.rowcount == 1

    def channels(self) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(subscriptions.c.channel)
                .where(subscriptions.c.active.is_(True))
                .order_by(subscriptions.c.channel)
            )
            return [r.channel for r in rows]

    # ------------------------------------------------------------ the ledger

    def delivery(self, channel: str, period: str) -> Delivery | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(deliveries).where(
                    and_(deliveries.c.channel == channel, deliveries.c.period == period)
                )
            ).first()
        return _delivery(row) if row is not None else None

    def deliveries(self, channel: str | None = None) -> list[Delivery]:
        query = select(deliveries).order_by(deliveries.c.period, deliveries.c.channel)
        if channel is not None:
            query = query.where(deliveries.c.channel == channel)
        with self.engine.connect() as conn:
            return [_delivery(r) for r in conn.execute(query)]

    def claim(
        self,
        channel: str,
        period: str,
        *,
        now: datetime,
        lease: timedelta,
        due_at: datetime | None = None,
        late: bool = False,
        retry_failed: bool = False,
        owner: str | None = None,
    ) -> Claim | None:
        """Claim (channel, period) for delivery, or None when it is sent or someone
        else holds a live lease. ``retry_failed`` also takes over a ``failed`` row whose
        error is safe to retry (nothing reached the channel)."""
        owner = owner or new_owner()
        lease_until = now + lease
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(deliveries).values(
                        channel=channel,
                        period=period,
                        status=PENDING,
                        owner=owner,
                        attempts=1,
                        lease_until=lease_until,
                        due_at=due_at,
                        late=late,
                        charts_done=0,
                        retryable=False,
                        created_at=now,
                        updated_at=now,
                    )
                )
            return Claim(channel, period, owner, 1, lease_until, None, 0, resumed=False)
        except IntegrityError:
            pass
        current = self.delivery(channel, period)
        if current is None or not _can_take_over(current, now, retry_failed):
            return None
        # Compare-and-set on what we read: of several takers exactly one matches.
        with self.engine.begin() as conn:
            result = conn.execute(
                update(deliveries)
                .where(
                    and_(
                        deliveries.c.channel == channel,
                        deliveries.c.period == period,
                        deliveries.c.owner == current.owner,
                        deliveries.c.status == current.status,
                        deliveries.c.attempts == current.attempts,
                    )
                )
                .values(
                    owner=owner,
                    status=POSTED if current.ts else PENDING,
                    attempts=current.attempts + 1,
                    lease_until=lease_until,
                    late=late or current.late,
                    error=None if current.status == FAILED else current.error,
                    updated_at=now,
                )
            )
        if result.rowcount != 1:
            return None
        log.warning(
            "digest %s/%s: taking over a %s delivery (attempt %d)",
            channel,
            period,
            current.status,
            current.attempts + 1,
        )
        return Claim(
            channel,
            period,
            owner,
            current.attempts + 1,
            lease_until,
            current.ts,
            current.charts_done,
            resumed=True,
        )

    def mark_posted(self, claim: Claim, ts: str, now: datetime) -> bool:
        return self._fenced(claim, now, status=POSTED, ts=ts)

    def mark_charts(self, claim: Claim, charts_done: int, now: datetime) -> bool:
        return self._fenced(claim, now, charts_done=charts_done)

    def mark_sent(self, claim: Claim, now: datetime, note: str | None = None) -> bool:
        return self._fenced(claim, now, status=SENT, error=_clip(note), retryable=False)

    def mark_failed(self, claim: Claim, error: str, retryable: bool, now: datetime) -> bool:
        return self._fenced(claim, now, status=FAILED, error=_clip(error), retryable=retryable)

    def record_failure(
        self, channel: str, period: str, *, error: str, due_at: datetime | None, now: datetime
    ) -> bool:
        """Record a digest that failed before anything was claimed or posted (e.g. the
        state database itself couldn't be written at the time), so the next digest
        reports it. Retryable: nothing reached the channel. False when the row exists
        (sent, claimed or already failed): what it says stands."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(deliveries).values(
                        channel=channel,
                        period=period,
                        status=FAILED,
                        owner=new_owner(),
                        attempts=1,
                        lease_until=now,
                        due_at=due_at,
                        late=False,
                        charts_done=0,
                        error=_clip(error),
                        retryable=True,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            return False
        return True

    def unreported_failures(self, channel: str, before_period: str) -> list[Delivery]:
        """Failed digests of earlier periods not yet reported in the channel."""
        query = (
            select(deliveries)
            .where(
                and_(
                    deliveries.c.channel == channel,
                    deliveries.c.status == FAILED,
                    deliveries.c.reported_in.is_(None),
                    deliveries.c.period < before_period,
                )
            )
            .order_by(deliveries.c.period)
        )
        with self.engine.connect() as conn:
            return [_delivery(r) for r in conn.execute(query)]

    def mark_reported(self, channel: str, periods: Iterable[str], in_period: str) -> None:
        periods = list(periods)
        if not periods:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(
                    and_(
                        deliveries.c.channel == channel,
                        deliveries.c.period.in_(periods),
                        deliveries.c.status == FAILED,
                    )
                )
                .values(reported_in=in_period)
            )

    def _fenced(self, claim: Claim, now: datetime, **values) -> bool:
        """Update our row only while we still own it."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(deliveries)
                .where(
                    and_(
                        deliveries.c.channel == claim.channel,
                        deliveries.c.period == claim.period,
                        deliveries.c.owner == claim.owner,
                    )
                )
                .values(updated_at=now, **values)
            )
        if result.rowcount != 1:
            log.warning(
                "digest %s/%s: lost the claim (lease taken over)", claim.channel, claim.period
            )
            return False
        return True


def _can_take_over(row: Delivery, now: datetime, retry_failed: bool) -> bool:
    if row.status in IN_FLIGHT:
        return row.lease_until <= now  # its owner died mid-send
    if row.status == FAILED:
        return retry_failed and row.retryable
    return False  # sent


def _clip(text: str | None) -> str | None:
    if text is None:
        return None
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


def _delivery(row) -> Delivery:
    return Delivery(
        channel=row.channel,
        period=row.period,
        status=row.status,
        owner=row.owner,
        attempts=row.attempts,
        lease_until=row.lease_until,
        due_at=row.due_at,
        late=bool(row.late),
        ts=row.ts,
        charts_done=row.charts_done,
        error=row.error,
        retryable=bool(row.retryable),
        reported_in=row.reported_in,
    )
