"""``python -m bot alerts check [--as-of DATE] [--dry-run]``: one evaluation round from
the terminal — the same ``AlertService.check`` the scheduler runs.

* ``--as-of``: evaluate as if today were DATE (complete data days are those before it).
* ``--dry-run``: print what would be posted; write nothing (no claim, no
  ``evaluated_through``), post nothing, need no Slack token.

Exit codes: 0 done, 1 a delivery failed, 2 bad usage (e.g. posting without a token).

``check_after_build``: ``python -m bot build`` runs one round right after it swapped in
new data (when ``SLACK_BOT_TOKEN`` is set), so an alert doesn't wait for the next
``KPI_ALERT_CRON`` round; the ledger makes the extra round harmless.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

from bot.alerts.service import AlertOutcome, AlertService
from bot.alerts.store import AlertStore
from bot.digest.runtime import open_store
from bot.digest.store import DigestStore
from bot.service import KpiService
from bot.settings import Settings, SettingsError
from bot.warehouse.base import WarehouseError

log = logging.getLogger("bot.alerts")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def alert_service(
    settings: Settings, kpi: KpiService, sender=None, engine=None, **overrides
) -> AlertService:
    """The service on ``KPI_STATE_DB`` (``engine`` if already open): the rules table and
    the digest's ledger."""
    if engine is None:
        _, engine = open_store(settings)
    ledger_store = DigestStore(engine)
    options = {
        "allowlists": settings.allowlists,
        "admins": settings.alert_admins,
        "catchup_days": settings.alert_catchup_days,
    } | overrides
    return AlertService(kpi, AlertStore(engine), ledger_store, sender, **options)


def run_alerts_command(args: argparse.Namespace, settings: Settings) -> int:
    from bot.sender import SlackSender, message_client

    kpi = KpiService.from_settings(settings)
    sender = None
    if not args.dry_run:
        if not settings.slack_bot_token:
            raise SettingsError(
                "SLACK_BOT_TOKEN is not set: posting alerts needs the bot token "
                "(use --dry-run to see what would fire without Slack)."
            )
        sender = SlackSender(message_client(settings.slack_bot_token, settings.slack_api_url))
    service = alert_service(settings, kpi, sender, charts=not args.dry_run)
    outcomes = service.check(args.as_of, dry_run=args.dry_run)
    for outcome in outcomes:
        print(describe(outcome))
    if not outcomes:
        print("No alert rule had a new complete data day to evaluate.")
    return EXIT_FAILED if any(o.status == "failed" for o in outcomes) else EXIT_OK


def check_after_build(settings: Settings, db_path: Path | None = None) -> list[AlertOutcome]:
    """One round on the freshly built warehouse (``db_path``: the file just built).
    Without a Slack token nothing can be posted: no round (the server's rounds or
    ``python -m bot alerts check`` will do it). Never raises: the build succeeded
    whatever happens here; a failure is logged and returned as the outcomes say."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.sender import SlackSender, message_client

    if not settings.slack_bot_token:
        log.info("alerts not checked after the build: SLACK_BOT_TOKEN is not set")
        return []
    if db_path is not None:
        settings = replace(settings, duckdb_path=db_path)
    try:
        kpi = KpiService.from_settings(settings)
        sender = SlackSender(message_client(settings.slack_bot_token, settings.slack_api_url))
        return alert_service(settings, kpi, sender).check()
    except (SettingsError, WarehouseError, SQLAlchemyError) as err:
        log.warning("alerts not checked after the build: %s", type(err).__name__)
        return []


def describe(outcome: AlertOutcome) -> str:
    when = outcome.day.isoformat() if outcome.day else outcome.key
    line = f"alert #{outcome.rule_id} {outcome.channel} {when}: {outcome.status}"
    if outcome.error:
        line += f" ({outcome.error})"
    if outcome.text and outcome.fired:
        line += f"\n    {outcome.text}"
    return line
