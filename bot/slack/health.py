"""What ``GET /healthz`` reports: 200 when every check passes, else 503 naming the ones
that failed, e.g. ``{"ok": false, "unhealthy": {"scheduler": "state_db_unwritable"}}``.

A check is a callable returning ``None`` (healthy) or a short reason code. Reasons are
codes, not messages: ``/healthz`` answers anyone who can reach the port, so it never
carries paths, URLs or error text; the log has those.

* **warehouse**: reads the small ``data_status`` query at most every ``ttl_s`` seconds
  (a container health check every 30 s must not turn into a BigQuery query every 30 s);
  while one read is running, other health requests get the last result instead of
  queueing behind it.
* **scheduler**: ``DigestScheduler.problem`` (``bot/digest/runtime.py``).
* **alerts**: ``AlertService.problem`` (``bot/alerts/service.py``): the last alert round
  couldn't read the warehouse (``alert_warehouse_unreadable``), a delivery failed after
  its retries (``alert_delivery_failed``), a rule can't be answered any more
  (``alert_rule_unanswerable``) or the round broke (``alert_round_error``); cleared by
  the next full round that succeeds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from bot.warehouse.base import (
    MartReader,
    WarehouseError,
    WarehouseNotBuilt,
    WarehouseTimeout,
    WarehouseUnavailable,
)

log = logging.getLogger("bot.health")

Check = Callable[[], str | None]
WAREHOUSE_TTL_S = 10.0


def report(checks: Mapping[str, Check]) -> tuple[bool, dict]:
    """(healthy, JSON body). A check that raises counts as unhealthy, never as a 500."""
    unhealthy: dict[str, str] = {}
    for name, check in checks.items():
        try:
            problem = check()
        except Exception:  # a broken check must still give an answer
            log.exception("health check %s failed", name)
            problem = "check_failed"
        if problem is not None:
            unhealthy[name] = problem
    if unhealthy:
        return False, {"ok": False, "unhealthy": unhealthy}
    return True, {"ok": True}


class WarehouseCheck:
    """Can the bot read its marts right now? Cached for ``ttl_s`` seconds."""

    def __init__(
        self,
        reader: MartReader,
        ttl_s: float = WAREHOUSE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reader = reader
        self.ttl_s = ttl_s
        self.clock = clock
        self._lock = threading.Lock()
        self._checked_at: float | None = None
        self._problem: str | None = None

    def __call__(self) -> str | None:
        if self._checked_at is not None and self.clock() - self._checked_at < self.ttl_s:
            return self._problem
        if not self._lock.acquire(blocking=False):
            return self._problem  # another health request is reading it now
        try:
            problem, detail = self._read()
            if problem != self._problem:  # logged on changes, not on every probe
                if problem is None:
                    log.warning("warehouse health: readable again")
                else:  # the full message (it may name a file) goes to the log only
                    log.warning("warehouse health: %s (%s)", problem, detail)
            self._problem, self._checked_at = problem, self.clock()
            return problem
        finally:
            self._lock.release()

    def _read(self) -> tuple[str | None, str]:
        try:
            self.reader.data_status()
        except WarehouseError as err:
            return _reason(err), str(err)
        return None, ""


def _reason(err: WarehouseError) -> str:
    if isinstance(err, WarehouseNotBuilt):
        return "warehouse_not_built"
    if isinstance(err, WarehouseTimeout):
        return "warehouse_timeout"
    if isinstance(err, WarehouseUnavailable):
        return "warehouse_unavailable"
    return "warehouse_error"
