"""Remember which slash-command deliveries were already handled.

Slack re-sends a command (with ``X-Slack-Retry-Num``) when our ack was slow; the body,
and so its ``trigger_id``, is identical. The first delivery does the work; repeats
are acknowledged and dropped.

``SeenRequests`` remembers in memory, which is enough for one process. Behind a load
balancer a retry may reach another replica, so ``serve`` uses ``SharedSeenRequests``:
the same check backed by a table in ``KPI_STATE_DB`` (where the digest's ledger lives),
whose primary key lets exactly one replica claim a delivery.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, delete, insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.answers import naive_utc_now
from bot.state import create_tables

log = logging.getLogger("bot.slack")

RETRY_WINDOW_S = 30 * 60  # response_url lives 30 minutes; retries come within seconds
PURGE_EVERY = 500  # claims between deletions of rows older than the retry window

metadata = MetaData()
slash_deliveries = Table(
    "slash_deliveries",
    metadata,
    Column("key", String(64), primary_key=True),  # sha256 of the delivery key
    Column("seen_at", DateTime, nullable=False, index=True),  # naive UTC
)


class SeenRequests:
    def __init__(self, ttl_s: float = RETRY_WINDOW_S, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl_s
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        """True exactly once per key within the TTL (thread-safe)."""
        now = self._clock()
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now - self._ttl:
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
            return True


class SharedSeenRequests(SeenRequests):
    """``first_time`` across every process that shares the state database.

    The local memory answers repeats to this process without a round trip; a first
    sighting is then claimed by inserting its key. If the database can't be reached the
    command is answered anyway: a possible duplicate beats a lost answer.
    """

    def __init__(
        self,
        engine: Engine,
        ttl_s: float = RETRY_WINDOW_S,
        clock: Callable[[], datetime] = naive_utc_now,
    ) -> None:
        super().__init__(ttl_s)
        self.engine = engine
        self._now = clock
        self._claims = 0
        create_tables(metadata, engine)

    def first_time(self, key: str) -> bool:
        if not super().first_time(key):
            return False
        now = self._now()
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(slash_deliveries).values(key=digest, seen_at=now))
        except IntegrityError:
            return False  # another replica (or an earlier life of this one) has it
        except SQLAlchemyError as err:
            log.warning("state DB unavailable for duplicate check (%s)", type(err).__name__)
            return True
        self._purge_now_and_then(now)
        return True

    def _purge_now_and_then(self, now: datetime) -> None:
        self._claims += 1
        if self._claims % PURGE_EVERY:
            return
        cutoff = now - timedelta(seconds=self._ttl)
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(slash_deliveries).where(slash_deliveries.c.seen_at < cutoff))
        except SQLAlchemyError as err:
            log.warning("could not purge old deliveries (%s)", type(err).__name__)
