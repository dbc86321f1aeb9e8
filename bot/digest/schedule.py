"""When digests are due and which week each one reports.

The cron string (``KPI_DIGEST_CRON``, default ``0 9 * * mon``) is read in the
reporting time zone (``KPI_TIMEZONE``) by APScheduler's ``CronTrigger``, so "Monday
09:00" stays 09:00 local across daylight-saving changes (07:00 UTC in Berlin summer,
08:00 UTC in winter).

A fire at local time T reports the last complete Monday–Sunday week before T's date
(``last week`` in ``bot.core.windows``). That week's Monday is the **period**: the
ledger key, so however often the cron fires, each channel gets one digest per week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.core.windows import DateWindow, last_n_periods
from bot.settings import SettingsError

LATE_AFTER = timedelta(minutes=15)  # a digest sent later than this says it is late
MAX_FIRE_STEPS = 100_000  # bounds the search for the last fire time of a busy cron


def build_trigger(cron: str, timezone: ZoneInfo, setting: str = "KPI_DIGEST_CRON") -> CronTrigger:
    """A trigger from a crontab string; a malformed one is a ``SettingsError`` naming
    ``setting`` (the digest's, or ``KPI_ALERT_CRON``)."""
    try:
        return CronTrigger.from_crontab(cron, timezone=timezone)
    except ValueError as err:
        raise SettingsError(
            f"{setting} is not a valid crontab expression ({cron!r}): {err}. "
            "Example: '0 9 * * mon' (Mondays 09:00), '0 * * * *' (hourly)."
        ) from None


def next_fire_time(trigger: CronTrigger, after: datetime) -> datetime | None:
    """The first fire time at or after ``after`` (aware)."""
    return trigger.get_next_fire_time(None, after)


def last_fire_time(trigger: CronTrigger, now: datetime, lookback: timedelta) -> datetime | None:
    """The latest fire time in ``(now − lookback, now]``, or None."""
    fire = trigger.get_next_fire_time(None, now - lookback + timedelta(microseconds=1))
    last = None
    for _ in range(MAX_FIRE_STEPS):
        if fire is None or fire > now:
            break
        last = fire
        fire = trigger.get_next_fire_time(fire, fire)
    return last


@dataclass(frozen=True)
class DigestPeriod:
    """One week's digest: the week reported and when it was (or is) due."""

    as_of: date  # local date of the digest (relative windows are anchored here)
    week: DateWindow  # Monday–Sunday, the last complete week before as_of
    due_at: datetime | None  # the scheduled fire time (aware), None for manual runs

    @property
    def key(self) -> str:
        return self.week.start.isoformat()


def period_for_date(as_of: date, due_at: datetime | None = None) -> DigestPeriod:
    return DigestPeriod(as_of, last_n_periods(as_of, "week", 1), due_at)


def period_for_fire(fire: datetime, timezone: ZoneInfo) -> DigestPeriod:
    return period_for_date(fire.astimezone(timezone).date(), fire)


def is_late(period: DigestPeriod, now: datetime) -> bool:
    return period.due_at is not None and now - period.due_at > LATE_AFTER


def utc_now() -> datetime:
    return datetime.now(UTC)


def naive_utc(moment: datetime) -> datetime:
    """The ledger stores naive UTC (portable across SQLite and PostgreSQL)."""
    return moment.astimezone(UTC).replace(tzinfo=None)
