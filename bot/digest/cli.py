"""``python -m bot digest [--dry-run] [--as-of DATE] [--channel C] [--out DIR]``.

* ``--dry-run``: build the digest for the week before ``--as-of`` (default: today in
  ``KPI_TIMEZONE``), print its Block Kit JSON on stdout and write its charts as PNGs in
  ``--out``. No Slack token or state database needed.
* otherwise: post it to each ``--channel`` (repeatable) or, without one, every
  subscribed channel, through the delivery ledger: a week already sent to a channel is
  not sent again (exit 0, "already sent").

Exit codes: 0 done, 1 a delivery failed or the data couldn't be read, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import replace
from datetime import date

from bot.answers import ErrorAnswer
from bot.digest.blocks import render_digest
from bot.digest.content import gather_content
from bot.digest.schedule import DigestPeriod, naive_utc, period_for_date
from bot.service import KpiService
from bot.settings import Settings, SettingsError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def run_digest_command(args: argparse.Namespace, settings: Settings) -> int:
    kpi = KpiService.from_settings(settings)
    as_of: date = args.as_of or kpi.today()
    period = period_for_date(as_of)
    if args.dry_run:
        return _dry_run(kpi, period, args)
    return _send(kpi, period, args, settings)


def _dry_run(kpi: KpiService, period: DigestPeriod, args: argparse.Namespace) -> int:
    content = gather_content(kpi, period)
    message = render_digest(content)
    print(json.dumps({"text": message.text, "blocks": message.blocks}, indent=2))
    if message.charts:
        args.out.mkdir(parents=True, exist_ok=True)
    for chart in message.charts:
        path = args.out / f"digest-{period.key}-{chart.name}.png"
        path.write_bytes(chart.png)
        print(f"Chart: {path}", file=sys.stderr)
    if isinstance(content.revenue, ErrorAnswer):
        print(f"error: {content.revenue.message}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _send(
    kpi: KpiService, period: DigestPeriod, args: argparse.Namespace, settings: Settings
) -> int:
    from bot.digest.runtime import open_store
    from bot.digest.service import DigestService
    from bot.sender import SlackSender, message_client

    if not settings.slack_bot_token:
        raise SettingsError(
            "SLACK_BOT_TOKEN is not set: posting needs the bot token "
            "(use --dry-run to see the digest without Slack)."
        )
    bad = [c for c in args.channel or [] if not _CHANNEL.match(c)]
    if bad:
        print(f"error: not a Slack channel ID: {', '.join(bad)} (e.g. C0123ABCD)", file=sys.stderr)
        return EXIT_USAGE
    store, _ = open_store(settings)
    sender = SlackSender(message_client(settings.slack_bot_token, settings.slack_api_url))
    service = DigestService.from_settings(settings, kpi, store, sender)
    store.seed(settings.digest_channels, naive_utc(service.clock()))
    channels = list(dict.fromkeys(args.channel or service.channels()))
    if not channels:
        print(
            "error: no channel to post to: pass --channel C… or subscribe one with "
            "`/kpi digest subscribe` (or KPI_DIGEST_CHANNELS).",
            file=sys.stderr,
        )
        return EXIT_USAGE
    outcomes = service.send(replace(period, due_at=None), channels)
    for outcome in outcomes:
        detail = f" (ts {outcome.ts})" if outcome.ts else ""
        if outcome.error:
            detail += f": {outcome.error}"
        print(f"{outcome.channel} week of {outcome.period}: {outcome.status}{detail}")
    return EXIT_OK if all(o.ok for o in outcomes) else EXIT_FAILED
