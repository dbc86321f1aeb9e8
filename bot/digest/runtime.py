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

APScheduler 3 has no cross-process lock: two replicas may both run the job. The ledger
(claim before post) is what makes that harmless.

The job is stored by reference (``bot.digest.runtime:scheduled_digest``, no
arguments), so it survives pickling into the database. Each scheduler's worker threads
are started with its own ``DigestService`` bound (the thread pool's ``initializer``),
and the job function uses the one bound to the thread that runs it.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.digest.schedule import naive_utc
from bot.digest.service import DigestService
from bot.digest.store import DigestStore
from bot.sender import SlackSender
from bot.settings import Settings, SettingsError
from bot.state import create_tables, state_engine

if TYPE_CHECKING:
    from bot.slack.context import Services

log = logging.getLogger("bot.digest")

JOB_ID = "weekly-digest"
JOB_REF = "bot.digest.runtime:scheduled_digest"
JOBS_TABLE = "digest_jobs"

_bound = threading.local()


def _bind(service: DigestService) -> None:
    _bound.service = service


def scheduled_digest() -> None:
    """The stored job: deliver the due digest with this thread's service."""
    service: DigestService | None = getattr(_bound, "service", None)
    if service is None:  # run by a scheduler that isn't ours: nothing to send with
        log.error("weekly digest job ran on a thread without a digest service")
        return
    outcomes = service.run_due()
    for outcome in outcomes:
        log.info("digest %s/%s: %s", outcome.channel, outcome.period, outcome.status)


class DigestScheduler:
    def __init__(self, service: DigestService, engine: Engine, grace_hours: float) -> None:
        self.service = service
        jobs = SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)
        create_tables(jobs.jobs_t.metadata, engine)  # before start(): replicas may race
        self.scheduler = BackgroundScheduler(
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
                        "initargs": (service,),
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

    def start(self, catch_up: bool = True) -> DigestScheduler:
        self.scheduler.add_job(
            JOB_REF,
            trigger=self.service.trigger,
            id=JOB_ID,
            name="weekly KPI digest",
            replace_existing=True,
        )
        self.scheduler.start()
        if catch_up:
            self.scheduler.add_job(
                self.service.run_due, id="digest-catch-up", jobstore="local", name="catch-up"
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
    services: Services,
    client: WebClient,
    opened: tuple[DigestStore, Engine] | None = None,
) -> DigestScheduler:
    """Seed subscriptions, attach the service, start the scheduler; the state DB is
    ``opened`` (from ``open_store``) or opened here."""
    store, engine = opened or open_store(settings)
    service = DigestService.from_settings(settings, services.kpi, store, SlackSender(client))
    store.seed(settings.digest_channels, naive_utc(service.clock()))
    services.digest = service
    return DigestScheduler(service, engine, settings.digest_grace_hours).start()
