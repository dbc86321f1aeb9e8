"""``python -m bot alerts check [--as-of DATE] [--dry-run]``: one evaluation round from
the terminal — the same ``AlertService.check`` the scheduler runs.

* ``--as-of``: evaluate as if today were DATE (complete data days are those before it).
* ``--dry-run``: print what would be posted; write nothing (no claim, no
  ``evaluated_through``), post nothing, need no Slack token.

Exit codes: 0 done, 1 a delivery failed, 2 bad usage (e.g. posting without a token).
"""

from __future__ import annotations

import argparse

from bot.alerts.service import AlertOutcome, AlertService
from bot.alerts.store import AlertStore
from bot.digest.runtime import open_store
from bot.digest.store import DigestStore
from bot.service import KpiService
from bot.settings import Settings, SettingsError

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


def describe(outcome: AlertOutcome) -> str:
    when = outcome.day.isoformat() if outcome.day else outcome.key
    line = f"alert #{outcome.rule_id} {outcome.channel} {when}: {outcome.status}"
    if outcome.error:
        line += f" ({outcome.error})"
    if outcome.text and outcome.fired:
        line += f"\n    {outcome.text}"
    return line
