"""The digest scheduler inside the serving process (APScheduler 3, BackgroundScheduler).

* Job store: ``SQLAlchemyJobStore`` on ``KPI_STATE_DB`` (table ``digest_jobs``), the
  same database as the ledger, so replicas pointed at one PostgreSQL share both.
* Trigger: ``KPI_DIGEST_CRON`` in ``KPI_TIMEZONE``; job id ``weekly-digest`` added with
  ``replace_existing`` so every start (and every replica) updates the one job.
* ``misfire_grace_time`` = ``KPI_DIGEST_GRACE_HOURS``, ``coalesce``: a run a few minutes
  late (busy process) still happens, once.
* Catch-up: replacing the job recomputes its next run from now, so a run missed while
  the bot was down would be forgotten; instead, at start the service checks the most
  recent scheduled time and, if it is within the grace period and the ledger has no
  sent digest for it, sends it now, saying it is late.

Alerts (``bot.alerts``) are a second job in this scheduler and job store, ``alert-check``
on ``KPI_ALERT_CRON`` (default hourly), plus a start-up round in the local store: one
scheduler thread and one job table per process, so a replica never runs the other's job
without its service. Its rounds deliver through the same ledger. A third, local job
(``alert-new-data``, every ``KPI_ALERT_NEW_DATA_POLL_S``) reads the warehouse's data
status and runs a round as soon as a rebuild has brought new data
(``AlertService.check_if_new_data``); a failed alert round is ``alerts.problem()``.

APScheduler 3 has no cross-process lock: two replicas may both run the job. The ledger
(claim before post) is what makes that harmless.

When the state database can't be written (read-only, or locked by another writer) at
the time a digest is due, the job fails to claim and APScheduler fails to move the
job's next run time. APScheduler 3 retries a failed *read* of its job store, but a
failed *write* ended its thread for good (no more digests, nothing recorded, still
"running"). Here a failed round is retried every ``retry_s`` like a failed read, and
the job's errors and misses (``EVENT_JOB_ERROR``, ``EVENT_JOB_MISSED`` listeners) are
kept in memory until the ledger can be written: the failed period is then recorded
as ``failed`` for each subscribed channel, so the next digest reports it. If that
happens within the grace period, the week is retried ``retry_s`` later (``run_due``
takes over the retryable failed row; at most ``MAX_RETRIES`` times) and the digest goes
out, saying it is late if it is. ``problem()`` says what ``/healthz`` reports.

The job is stored by reference (``bot.digest.runtime:scheduled_digest``, no
arguments), so it survives pickling into the database. Each scheduler's worker threads
are started with its own ``DigestService`` bound (the thread pool's ``initializer``),
and the job function uses the one bound to the thread that runs it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.digest.schedule import DigestPeriod, build_trigger, naive_utc
from bot.digest.service import DigestService
from bot.digest.store import DigestStore
from bot.sender import SlackSender
from bot.service import KpiService
from bot.settings import Settings, SettingsError
from bot.state import create_tables, state_engine
from bot.warehouse.base import WarehouseError

if TYPE_CHECKING:
    from bot.alerts.service import AlertService

log = logging.getLogger("bot.digest")

JOB_ID = "weekly-digest"
JOB_REF = "bot.digest.runtime:scheduled_digest"
JOBS_TABLE = "digest_jobs"
ALERT_JOB_ID = "alert-check"
ALERT_JOB_REF = "bot.digest.runtime:scheduled_alerts"
ALERT_NEW_DATA_JOB_ID = "alert-new-data"
ROUND_ERROR = "alert_round_error"  # bot.alerts.service.ROUND_ERROR (digest doesn't import it)
ALERT_JOB_IDS = (ALERT_JOB_ID, "alert-catch-up", ALERT_NEW_DATA_JOB_ID)
ALERT_MISFIRE_S = 3600  # a late round still runs (once); it checks every day not yet done
# A failed scheduler round (state DB not writable) is retried this often. Each retry
# runs the still-due job once more, so it is not seconds (a traceback each time).
RETRY_S = 30.0
MAX_RETRIES = 3  # retries of one week's digest once its failure is in the ledger

_bound = threading.local()


def _bind(service: DigestService, alerts: AlertService | None = None) -> None:
    _bound.service = service
    _bound.alerts = alerts


def scheduled_digest() -> None:
    """The stored job: deliver the due digest with this thread's service."""
    service: DigestService | None = getattr(_bound, "service", None)
    if service is None:  # run by a scheduler that isn't ours: nothing to send with
        log.error("weekly digest job ran on a thread without a digest service")
        return
    outcomes = service.run_due()
    for outcome in outcomes:
        log.info("digest %s/%s: %s", outcome.channel, outcome.period, outcome.status)


def scheduled_alerts() -> None:
    """The stored alert job: one evaluation round (``AlertService.check``) with this
    thread's alert service, the same code as ``python -m bot alerts check``."""
    alerts: AlertService | None = getattr(_bound, "alerts", None)
    if alerts is None:  # a scheduler without alerts ran it: the next round catches up
        log.error("alert job ran on a thread without an alert service")
        return
    for outcome in alerts.check():
        if outcome.fired:
            log.info("alert #%d %s: %s", outcome.rule_id, outcome.key, outcome.status)


class _StateJobStore(SQLAlchemyJobStore):
    """Remembers whether its last read of due jobs failed: APScheduler logs that and
    retries after ``jobstore_retry_interval``, but tells nobody else."""

    read_error: str | None = None

    def get_due_jobs(self, now: datetime) -> list[Any]:
        try:
            jobs = super().get_due_jobs(now)
        except Exception as err:
            self.read_error = type(err).__name__
            raise
        self.read_error = None
        return jobs


class _SurvivingScheduler(BackgroundScheduler):
    """A BackgroundScheduler whose thread outlives a failed round.

    ``_process_jobs`` is the one method APScheduler 3's loop calls; an exception from it
    (``update_job`` on a read-only or locked database) ended the thread. Here it is
    reported to ``on_round`` and the round retried after ``jobstore_retry_interval``,
    as APScheduler already does for a failed read."""

    def __init__(self, on_round: Callable[[BaseException | None], None], **options: Any):
        self._on_round = on_round
        super().__init__(**options)

    def _process_jobs(self) -> float | None:
        try:
            wait_s = super()._process_jobs()
        except Exception as err:
            self._on_round(err)
            return self.jobstore_retry_interval
        self._on_round(None)
        return wait_s

    def thread_alive(self) -> bool:
        thread = getattr(self, "_thread", None)  # set by start(), removed by shutdown()
        return thread is not None and thread.is_alive()


class DigestScheduler:
    def __init__(
        self,
        service: DigestService,
        engine: Engine,
        grace_hours: float,
        retry_s: float = RETRY_S,
        alerts: AlertService | None = None,
        alert_cron: str = "0 * * * *",
        alert_new_data_poll_s: float = 0,
    ) -> None:
        self.service = service
        self.alerts = alerts
        self.alert_new_data_poll_s = alert_new_data_poll_s
        self.alert_trigger = build_trigger(alert_cron, service.timezone, "KPI_ALERT_CRON")
        self._lock = threading.Lock()
        self._round_problem: str | None = None
        # period key → (period, error): failures not yet written to the ledger.
        self._unrecorded: dict[str, tuple[DigestPeriod, str]] = {}
        self._retries: dict[str, int] = {}  # period key → retries scheduled
        self.jobs = jobs = _StateJobStore(engine=engine, tablename=JOBS_TABLE)
        create_tables(jobs.jobs_t.metadata, engine)  # before start(): replicas may race
        self.scheduler = _SurvivingScheduler(
            self._after_round,
            jobstore_retry_interval=retry_s,
            jobstores={
                "default": jobs,
                "local": MemoryJobStore(),  # the one-off catch-up run, never shared
            },
            executors={
                "default": ThreadPoolExecutor(
                    2,
                    pool_kwargs={
                        "thread_name_prefix": "kpi-digest",
                        "initializer": _bind,
                        "initargs": (service, alerts),
                    },
                )
            },
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(grace_hours * 3600),
            },
            timezone=service.timezone,
        )
        self.scheduler.add_listener(self._on_job_failed, EVENT_JOB_ERROR | EVENT_JOB_MISSED)

    def start(self, catch_up: bool = True) -> DigestScheduler:
        self.scheduler.add_job(
            JOB_REF,
            trigger=self.service.trigger,
            id=JOB_ID,
            name="weekly KPI digest",
            replace_existing=True,
        )
        if self.alerts is not None:
            self.scheduler.add_job(
                ALERT_JOB_REF,
                trigger=self.alert_trigger,
                id=ALERT_JOB_ID,
                name="KPI alert check",
                replace_existing=True,
                misfire_grace_time=ALERT_MISFIRE_S,
            )
        if self.alerts is not None and self.alert_new_data_poll_s > 0:
            self.scheduler.add_job(  # local: each process watches its own view of the data
                self.alerts.check_if_new_data,
                "interval",
                seconds=self.alert_new_data_poll_s,
                id=ALERT_NEW_DATA_JOB_ID,
                jobstore="local",
                name="alerts on new data",
                replace_existing=True,
            )
        self.scheduler.start()
        if catch_up:
            self.scheduler.add_job(
                self.service.run_due, id="digest-catch-up", jobstore="local", name="catch-up"
            )
            if self.alerts is not None:  # days that became complete while the bot was down
                self.scheduler.add_job(
                    self.alerts.check, id="alert-catch-up", jobstore="local", name="alerts"
                )
        job = self.scheduler.get_job(JOB_ID)
        log.warning(
            "weekly digest scheduled (%s, %s); next run %s",
            self.service.cron,
            self.service.timezone.key,
            job.next_run_time if job else "unknown",
        )
        return self

    def next_run_time(self):
        job = self.scheduler.get_job(JOB_ID)
        return job.next_run_time if job else None

    def shutdown(self, wait: bool = False) -> None:
        self.scheduler.shutdown(wait=wait)

    # ------------------------------------------------------------ failures and health

    def problem(self) -> str | None:
        """None when healthy, else what ``/healthz`` names: ``scheduler_stopped``,
        ``job_store_error`` (the last round failed: state DB not writable or gone),
        ``job_store_unreadable``, ``digest_failed_unrecorded`` (a failure waiting for
        the ledger to be writable)."""
        if self.scheduler.state != STATE_RUNNING or not self.scheduler.thread_alive():
            return "scheduler_stopped"
        with self._lock:
            if self._round_problem is not None:
                return self._round_problem
            if self._unrecorded:
                return "digest_failed_unrecorded"
        return None

    def _after_round(self, error: BaseException | None) -> None:
        if error is not None:
            problem: str | None = "job_store_error"
            log.error(
                "digest scheduler: the job store couldn't be updated (%s); retrying in %g s",
                _short(error),
                self.scheduler.jobstore_retry_interval,
            )
        else:
            problem = "job_store_unreadable" if self.jobs.read_error else None
        with self._lock:
            recovered = self._round_problem is not None and problem is None
            self._round_problem = problem
        if recovered:
            log.warning("digest scheduler: the job store is writable again")
        if problem is None:
            self.record_failures()

    def _on_job_failed(self, event: JobExecutionEvent) -> None:
        if event.job_id in ALERT_JOB_IDS:
            # Not a digest failure. The round's days stay unevaluated (each rule's
            # evaluated_through didn't move), so the next round evaluates them.
            log.error("alert check round failed or missed: %s", event.exception or "missed")
            failed = event.exception  # a WarehouseError was noted by check() itself
            if self.alerts is not None and failed and not isinstance(failed, WarehouseError):
                self.alerts.note_round(ROUND_ERROR)
            return
        period = self.service.due_period(event.scheduled_run_time)
        if period is None:  # nothing was due (e.g. a catch-up outside the grace period)
            return
        if event.code == EVENT_JOB_MISSED:
            error = "not run within the grace period (the bot or its state database was down)"
        elif isinstance(event.exception, SQLAlchemyError):
            error = f"the bot's state database couldn't be written ({_short(event.exception)})"
        else:
            error = f"internal error ({type(event.exception).__name__})"
        with self._lock:
            new = period.key not in self._unrecorded
            self._unrecorded.setdefault(period.key, (period, error))
        if new:  # retried rounds fail the same way: one line, not one per retry
            log.error("digest %s: %s", period.key, error)
        self.record_failures()

    def record_failures(self) -> None:
        """Write failures kept in memory to the ledger, if it can be written now; else
        try again in ``retry_s``. A recorded week still within the grace period is
        retried (``run_due`` takes over a retryable failed row): the round that moved
        the job on may have been the one whose run failed."""
        with self._lock:
            pending = list(self._unrecorded.values())
        for period, error in pending:
            due_at = naive_utc(period.due_at) if period.due_at else None
            try:
                recorded = [
                    channel
                    for channel in self.service.channels()
                    if self.service.store.record_failure(
                        channel, period.key, error=error, due_at=due_at,
                        now=naive_utc(self.service.clock()),
                    )
                ]  # fmt: skip
            except SQLAlchemyError as err:
                log.warning("digest %s: failure not recorded yet (%s)", period.key, _short(err))
                self._once(self.record_failures, "digest-record-failures")
                return
            with self._lock:
                self._unrecorded.pop(period.key, None)
            if recorded:
                log.error("digest %s recorded as failed for %s", period.key, ", ".join(recorded))
            self._retry_if_due(period, reported_later=bool(recorded))

    def _retry_if_due(self, period: DigestPeriod, reported_later: bool) -> None:
        due = self.service.due_period()
        if due is None or due.key != period.key:
            if reported_later:
                log.error("digest %s: past the grace period; next digest reports it", period.key)
            return
        with self._lock:
            tries = self._retries.get(period.key, 0)
            self._retries[period.key] = tries + 1
        if tries >= MAX_RETRIES:  # failing with a writable ledger: not the database
            log.error("digest %s: not retried again; the next digest reports it", period.key)
            return
        self._once(self.service.run_due, f"digest-retry-{period.key}")

    def _once(self, func: Callable[[], object], job_id: str) -> None:
        """Run ``func`` once in ``retry_s`` (in memory: not shared with replicas)."""
        run_at = datetime.now(self.service.timezone) + timedelta(
            seconds=self.scheduler.jobstore_retry_interval
        )
        self.scheduler.add_job(
            func, "date", run_date=run_at, id=job_id, jobstore="local", replace_existing=True
        )


def _short(err: BaseException) -> str:
    """The exception's class and first line (SQLAlchemy appends the SQL and a URL)."""
    first = str(getattr(err, "orig", None) or err).strip().splitlines()
    return f"{type(err).__name__}: {first[0][:200]}" if first else type(err).__name__


def open_store(settings: Settings) -> tuple[DigestStore, Engine]:
    """The state database, created if needed; a bad URL is a ``SettingsError``."""
    try:
        engine = state_engine(settings.state_db_url)
        return DigestStore(engine), engine
    except (SQLAlchemyError, ValueError, OSError) as err:
        raise SettingsError(
            f"KPI_STATE_DB can't be opened ({type(err).__name__}); it must be a SQLAlchemy "
            "URL such as sqlite:///data/kpi_state.sqlite or postgresql+psycopg://…"
        ) from None


def start_digest(
    settings: Settings,
    kpi: KpiService,
    client: WebClient,
    opened: tuple[DigestStore, Engine] | None = None,
) -> DigestScheduler:
    """Seed subscriptions, start the scheduler (its ``service`` is what the Slack edge's
    digest commands use); the state DB is ``opened`` (from ``open_store``) or opened here."""
    from bot.alerts.cli import alert_service

    store, engine = opened or open_store(settings)
    service = DigestService.from_settings(settings, kpi, store, SlackSender(client))
    store.seed(settings.digest_channels, naive_utc(service.clock()))
    alerts = alert_service(settings, kpi, SlackSender(client), engine=engine)
    return DigestScheduler(
        service,
        engine,
        settings.digest_grace_hours,
        alerts=alerts,
        alert_cron=settings.alert_cron,
        alert_new_data_poll_s=settings.alert_new_data_poll_s,
    ).start()
