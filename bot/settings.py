"""One settings object, read from the environment once at the edge and passed down.

Every variable is documented in the README. Secrets (tokens, signing secret) are kept
out of ``repr`` so a logged Settings object never leaks them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.access import Allowlists

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DUCKDB_PATH = "data/kpi.duckdb"
DEFAULT_STATE_DB = "sqlite:///data/kpi_state.sqlite"
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """A missing or malformed setting; the message names the variable."""


@dataclass(frozen=True)
class BigQuerySettings:
    project: str
    dataset: str = "kpi"
    location: str = "US"
    maximum_bytes_billed: int = 1_000_000_000
    api_endpoint: str | None = None  # a proxy or a local emulator; None = Google's
    job_timeout_s: float = 30.0


@dataclass(frozen=True)
class Settings:
    warehouse: str = "duckdb"
    duckdb_path: Path = Path(DEFAULT_DUCKDB_PATH)
    bigquery: BigQuerySettings | None = None
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    allowed_channels: frozenset[str] = frozenset()  # empty = every channel
    allowed_users: frozenset[str] = frozenset()  # empty = every user
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    stale_after_hours: float = 36.0
    query_timeout_s: float = 20.0
    state_db_url: str = DEFAULT_STATE_DB
    digest_channels: tuple[str, ...] = ()
    digest_cron: str = "0 9 * * mon"
    digest_grace_hours: float = 48.0
    alert_cron: str = "0 * * * *"  # KPI_ALERT_CRON: alert checks (hourly), in KPI_TIMEZONE
    alert_catchup_days: int = 3  # KPI_ALERT_CATCHUP_DAYS: at most this many days back
    alert_admins: frozenset[str] = frozenset()  # KPI_ALERT_ADMINS: may delete any alert
    # KPI_ALERT_NEW_DATA_POLL_S: serve looks for a rebuild's new data this often and then
    # checks alerts at once (0: only the KPI_ALERT_CRON rounds).
    alert_new_data_poll_s: int = 60
    chart_processes: int = 1  # serve renders charts in this many worker processes; 0 = inline
    answer_cache_entries: int = 256  # KPI_ANSWER_CACHE_ENTRIES: answers kept in memory; 0 = off
    log_level: str = "WARNING"  # KPI_LOG_LEVEL; the CLI's -v raises it to INFO

    @property
    def allowlists(self) -> Allowlists:
        """Where and to whom revenue-derived figures may be shown (``bot.access``)."""
        return Allowlists(self.allowed_channels, self.allowed_users)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        return _read(os.environ if env is None else env)

    def require_slack(self, socket_mode: bool) -> None:
        """Fail at start-up, naming the variable, rather than on the first request."""
        if not self.slack_bot_token:
            raise SettingsError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…).")
        if not self.slack_bot_token.startswith("xoxb-"):
            raise SettingsError("SLACK_BOT_TOKEN must be a bot token starting with 'xoxb-'.")
        if socket_mode:
            if not (self.slack_app_token or "").startswith("xapp-"):
                raise SettingsError("SLACK_APP_TOKEN must be an app-level token starting 'xapp-'.")
        elif not self.slack_signing_secret:
            raise SettingsError(
                "SLACK_SIGNING_SECRET is not set (needed to verify requests in HTTP mode)."
            )


def _read(env: Mapping[str, str]) -> Settings:
    warehouse = env.get("KPI_WAREHOUSE", "duckdb").strip().lower() or "duckdb"
    if warehouse not in {"duckdb", "bigquery"}:
        raise SettingsError(f"KPI_WAREHOUSE must be 'duckdb' or 'bigquery', not {warehouse!r}.")
    api_url = env.get("SLACK_API_URL", DEFAULT_SLACK_API_URL).strip() or DEFAULT_SLACK_API_URL
    if not api_url.startswith(("http://", "https://")):
        raise SettingsError("SLACK_API_URL must be an http(s) URL, e.g. https://slack.com/api/")
    if not api_url.endswith("/"):
        api_url += "/"
    settings = Settings(
        warehouse=warehouse,
        duckdb_path=Path(env.get("KPI_DUCKDB_PATH", DEFAULT_DUCKDB_PATH) or DEFAULT_DUCKDB_PATH),
        bigquery=_read_bigquery(env) if warehouse == "bigquery" else None,
        slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
        slack_app_token=env.get("SLACK_APP_TOKEN") or None,
        slack_api_url=api_url,
        allowed_channels=_ids(env, "KPI_ALLOWED_CHANNELS", _CHANNEL_ID),
        allowed_users=_ids(env, "KPI_ALLOWED_USERS", _USER_ID),
        timezone=_timezone(env.get("KPI_TIMEZONE", "UTC")),
        stale_after_hours=_number(env, "KPI_STALE_AFTER_HOURS", 36.0),
        query_timeout_s=_number(env, "KPI_QUERY_TIMEOUT_S", 20.0),
        state_db_url=env.get("KPI_STATE_DB", DEFAULT_STATE_DB) or DEFAULT_STATE_DB,
        digest_channels=tuple(sorted(_ids(env, "KPI_DIGEST_CHANNELS", _CHANNEL_ID))),
        digest_cron=env.get("KPI_DIGEST_CRON", "0 9 * * mon").strip() or "0 9 * * mon",
        digest_grace_hours=_number(env, "KPI_DIGEST_GRACE_HOURS", 48.0),
        alert_cron=env.get("KPI_ALERT_CRON", "0 * * * *").strip() or "0 * * * *",
        alert_catchup_days=_catchup_days(env),
        alert_admins=_ids(env, "KPI_ALERT_ADMINS", _USER_ID),
        alert_new_data_poll_s=_count(env, "KPI_ALERT_NEW_DATA_POLL_S", 60, maximum=86_400),
        chart_processes=_count(env, "KPI_CHART_PROCESSES", 1, maximum=32),
        answer_cache_entries=_count(env, "KPI_ANSWER_CACHE_ENTRIES", 256, maximum=100_000),
        log_level=_log_level(env.get("KPI_LOG_LEVEL", "")),
    )
    _check_digest_channels(settings)
    return settings


def _check_digest_channels(settings: Settings) -> None:
    """A configured digest channel the allowlists refuse is an error at start-up, not a
    digest silently never sent (the digest shows revenue)."""
    refused = [c for c in settings.digest_channels if not settings.allowlists.public_in(c)]
    if refused:
        why = (
            "not in KPI_ALLOWED_CHANNELS"
            if settings.allowed_channels
            else "KPI_ALLOWED_USERS is set without KPI_ALLOWED_CHANNELS, so no channel may "
            "show revenue publicly"
        )
        raise SettingsError(
            f"KPI_DIGEST_CHANNELS has channels the allowlists refuse ({', '.join(refused)}): "
            f"{why}. Add them to KPI_ALLOWED_CHANNELS or remove them from KPI_DIGEST_CHANNELS."
        )


def _read_bigquery(env: Mapping[str, str]) -> BigQuerySettings:
    project = env.get("KPI_BQ_PROJECT", "").strip()
    if not project:
        raise SettingsError("KPI_BQ_PROJECT is not set (needed when KPI_WAREHOUSE=bigquery).")
    return BigQuerySettings(
        project=project,
        dataset=env.get("KPI_BQ_DATASET", "kpi").strip() or "kpi",
        location=env.get("KPI_BQ_LOCATION", "US").strip() or "US",
        maximum_bytes_billed=int(_number(env, "KPI_BQ_MAX_BYTES_BILLED", 1_000_000_000)),
        api_endpoint=env.get("KPI_BQ_API_ENDPOINT") or None,
        job_timeout_s=_number(env, "KPI_QUERY_TIMEOUT_S", 30.0),
    )


def _ids(env: Mapping[str, str], name: str, pattern: re.Pattern[str]) -> frozenset[str]:
    raw = [part.strip() for part in env.get(name, "").replace(";", ",").split(",")]
    ids = frozenset(part for part in raw if part)
    bad = sorted(i for i in ids if not pattern.match(i))
    if bad:
        raise SettingsError(f"{name} has malformed Slack IDs: {', '.join(bad)}.")
    return ids


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}.") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, not {raw!r}.")
    return value


def _count(env: Mapping[str, str], name: str, default: int, maximum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) > maximum:
        raise SettingsError(f"{name} must be a whole number from 0 to {maximum}, not {raw!r}.")
    return int(raw)


def _catchup_days(env: Mapping[str, str]) -> int:
    days = _count(env, "KPI_ALERT_CATCHUP_DAYS", 3, maximum=60)
    if days < 1:
        raise SettingsError("KPI_ALERT_CATCHUP_DAYS must be a whole number from 1 to 60.")
    return days


def _log_level(raw: str) -> str:
    name = raw.strip().upper() or "WARNING"
    if name not in LOG_LEVELS:
        raise SettingsError(f"KPI_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {raw!r}.")
    return name


def _timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name.strip() or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"KPI_TIMEZONE is not a known IANA time zone: {name!r}.") from None
