"""Alert rules in ``KPI_STATE_DB`` (table ``alert_rules``), next to the digest's tables.

The deliveries are *not* here: an alert is delivered through the digest's ledger
(``bot.digest.store``, table ``digest_deliveries``), one row per (channel, period) with
the period key ``a<rule id>:<YYYYMMDD>`` for a (rule, data day), or
``a<rule id>:srm`` / ``a<rule id>:sig`` for an experiment's one-time events. The ledger's
period column holds 16 characters (``alert:<id>:<YYYY-MM-DD>`` would not fit, and
widening a column of an existing PostgreSQL table needs a migration); this key fits for
rule ids up to 999,999 and can never collide with a digest's ISO-Monday key.

Each rule remembers ``evaluated_through``: the last complete data day all of whose
alerts are settled (sent, failed and recorded, muted, refused, or not fired). Moving it
forward is a compare-and-set ("only forward"), so replicas racing on it agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)

from bot.core.alerts import AlertRule
from bot.digest.store import FAILED, Delivery, _delivery, deliveries
from bot.state import create_tables, state_engine

MAX_RULE_ID = 999_999  # the ledger key a<id>:<YYYYMMDD> must fit in 16 characters
# Any semantic-layer metric name (``cancellation_rate`` is 17). Tables created when
# this was 16 are widened at start-up (``_widen_metric``).
METRIC_CHARS = 64

metadata = MetaData()

rules = Table(
    "alert_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(32), nullable=False, index=True),
    Column("metric", String(METRIC_CHARS), nullable=False),
    Column("condition", String(16), nullable=False),
    Column("threshold", Float),
    Column("dimension", String(64)),
    Column("dimension_value", String(64)),
    Column("experiment_id", String(64)),
    Column("created_by", String(32)),
    Column("created_at", DateTime, nullable=False),
    Column("first_day", Date, nullable=False),  # latest complete data day at creation
    Column("evaluated_through", Date),
    Column("muted_until", DateTime),
    Column("last_fired_day", Date),
    Column("last_fired_at", DateTime),
    Column("deleted_at", DateTime),
    Column("deleted_by", String(32)),
)


@dataclass(frozen=True)
class StoredRule:
    id: int
    channel: str
    rule: AlertRule
    created_by: str | None
    created_at: datetime
    first_day: date
    evaluated_through: date | None
    muted_until: datetime | None
    last_fired_day: date | None
    last_fired_at: datetime | None

    def muted(self, now: datetime) -> bool:
        return self.muted_until is not None and now < self.muted_until


def day_key(rule_id: int, day: date) -> str:
    """The ledger period of (rule, data day)."""
    return f"a{rule_id}:{day:%Y%m%d}"


def event_key(rule_id: int, event: str) -> str:
    """The ledger period of an experiment alert's one-time event (srm | significant)."""
    return f"a{rule_id}:{'srm' if event == 'srm' else 'sig'}"


class AlertStore:
    def __init__(self, engine: Engine | str) -> None:
        self.engine = state_engine(engine) if isinstance(engine, str) else engine
        create_tables(metadata, self.engine)
        _widen_metric(self.engine)

    def add(
        self, channel: str, rule: AlertRule, by: str | None, now: datetime, first_day: date
    ) -> StoredRule:
        where = rule.where or (None, None)
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(rules).values(
                    channel=channel,
                    metric=rule.metric,
                    condition=rule.condition,
                    threshold=rule.threshold,
                    dimension=where[0],
                    dimension_value=where[1],
                    experiment_id=rule.experiment_id,
                    created_by=by,
                    created_at=now,
                    first_day=first_day,
                )
            )
            rule_id = int(result.inserted_primary_key[0])
        if rule_id > MAX_RULE_ID:
            self.delete(rule_id, by, now)
            raise ValueError("too many alert rules in this state database")
        stored = self.get(rule_id)
        assert stored is not None
        return stored

    def get(self, rule_id: int, include_deleted: bool = False) -> StoredRule | None:
        query = select(rules).where(rules.c.id == rule_id)
        if not include_deleted:
            query = query.where(rules.c.deleted_at.is_(None))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _stored(row) if row is not None else None

    def active(self, channel: str | None = None) -> list[StoredRule]:
        query = select(rules).where(rules.c.deleted_at.is_(None)).order_by(rules.c.id)
        if channel is not None:
            query = query.where(rules.c.channel == channel)
        with self.engine.connect() as conn:
            return [_stored(r) for r in conn.execute(query)]

    def delete(self, rule_id: int, by: str | None, now: datetime) -> bool:
        """Soft delete (the ledger keeps what it sent); True when it was active."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(rules)
                .where(and_(rules.c.id == rule_id, rules.c.deleted_at.is_(None)))
                .values(deleted_at=now, deleted_by=by)
            )
        return result.rowcount == 1

    def mute(self, rule_id: int, until: datetime) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                update(rules)
                .where(and_(rules.c.id == rule_id, rules.c.deleted_at.is_(None)))
                .values(muted_until=until)
            )
        return result.rowcount == 1

    def mark_evaluated(self, rule_id: int, through: date) -> bool:
        """Move ``evaluated_through`` forward only (replicas may race)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(rules)
                .where(
                    and_(
                        rules.c.id == rule_id,
                        or_(
                            rules.c.evaluated_through.is_(None),
                            rules.c.evaluated_through < through,
                        ),
                    )
                )
                .values(evaluated_through=through)
            )
        return result.rowcount == 1

    def mark_fired(self, rule_id: int, day: date | None, now: datetime) -> None:
        values: dict = {"last_fired_at": now}
        condition = rules.c.id == rule_id
        if day is not None:
            values["last_fired_day"] = day
            condition = and_(
                condition, or_(rules.c.last_fired_day.is_(None), rules.c.last_fired_day <= day)
            )
        with self.engine.begin() as conn:
            conn.execute(update(rules).where(condition).values(**values))

    def unreported_failures(self, channel: str) -> list[Delivery]:
        """Alert deliveries to ``channel`` that finally failed and weren't reported yet
        (the ledger's rows whose period is an alert key)."""
        query = (
            select(deliveries)
            .where(
                and_(
                    deliveries.c.channel == channel,
                    deliveries.c.status == FAILED,
                    deliveries.c.reported_in.is_(None),
                    deliveries.c.period.like("a%"),
                )
            )
            .order_by(deliveries.c.created_at)
        )
        with self.engine.connect() as conn:
            return [_delivery(r) for r in conn.execute(query)]


def _widen_metric(engine: Engine) -> None:
    """A PostgreSQL table from before semantic-layer metrics has ``metric
    VARCHAR(16)``: widen it (SQLite doesn't enforce lengths). Replicas racing here
    both run the same ALTER, which PostgreSQL serialises; the second is a no-op."""
    if engine.dialect.name != "postgresql":
        return
    column = next(c for c in inspect(engine).get_columns("alert_rules") if c["name"] == "metric")
    length = getattr(column["type"], "length", None)
    if length is not None and length < METRIC_CHARS:
        with engine.begin() as conn:
            conn.execute(
                text(f"ALTER TABLE alert_rules ALTER COLUMN metric TYPE VARCHAR({METRIC_CHARS})")
            )


def _stored(row) -> StoredRule:
    where = (row.dimension, row.dimension_value) if row.dimension else None
    rule = AlertRule(
        metric=row.metric,
        condition=row.condition,
        threshold=row.threshold,
        where=where,
        experiment_id=row.experiment_id,
    )
    return StoredRule(
        id=row.id,
        channel=row.channel,
        rule=rule,
        created_by=row.created_by,
        created_at=row.created_at,
        first_day=row.first_day,
        evaluated_through=row.evaluated_through,
        muted_until=row.muted_until,
        last_fired_day=row.last_fired_day,
        last_fired_at=row.last_fired_at,
    )
