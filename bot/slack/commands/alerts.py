"""/kpi alert … and /kpi alerts — this channel's alerts (``bot.alerts``).

Every reply is private to the asker except the confirmation of a new alert, which is
posted in the channel (everyone there will get its alerts). The allowlists apply when
an alert is created (``AlertService.create``: a revenue-derived rule needs a channel
where revenue may appear publicly and an asker allowed to see it) and again at each
delivery. A new rule is evaluated right after the confirmation, on the latest complete
data day, so an alert that already holds follows the confirmation.
"""

from __future__ import annotations

import logging

from bot.core import format as fmt
from bot.core.alerts import AlertCommand
from bot.digest.schedule import naive_utc
from bot.render.blocks import section
from bot.sender import NOT_A_MEMBER
from bot.slack.context import CommandContext
from bot.warehouse.base import WarehouseError

NOT_CONFIGURED = "Alerts aren't enabled on this bot (no state database configured)."
NOT_IN_CHANNEL = (
    ":wave: The alert #{id} is set, but I'm not a member of this channel, so I can't post "
    "its alerts here. Invite me with `/invite @kpi-bot`, or delete it: "
    "`/kpi alert delete {id}`."
)

log = logging.getLogger("bot.alerts")


def handle(ctx: CommandContext, command: AlertCommand) -> None:
    alerts = ctx.services.alerts
    if alerts is None:
        ctx.say_private(NOT_CONFIGURED)
        return
    if command.action == "list":
        ctx.say_private(listing(ctx, alerts))
    elif command.action == "delete":
        assert command.alert_id is not None
        ctx.say_private(alerts.delete(ctx.channel_id, ctx.user_id, command.alert_id))
    elif command.action == "mute":
        assert command.alert_id is not None and command.days is not None
        ctx.say_private(alerts.mute(ctx.channel_id, command.alert_id, command.days))
    else:
        create(ctx, alerts, command)


def create(ctx: CommandContext, alerts, command: AlertCommand) -> None:
    assert command.rule is not None
    created = alerts.create(ctx.channel_id, ctx.user_id, command.rule, evaluate=False)
    if isinstance(created, str):
        ctx.say_private(created)
        return
    stored, _ = created
    text = (
        f":bell: <@{ctx.user_id}> set alert #{stored.id} for this channel: "
        f"`{stored.rule.describe()}`, checked on every complete day of data "
        f"(from {fmt.day(stored.first_day)}). `/kpi alerts` lists them."
    )
    result = ctx.sender.post_blocks(ctx.channel_id, [section(text)], text)
    if result.error in NOT_A_MEMBER:
        ctx.say_private(NOT_IN_CHANNEL.format(id=stored.id))
    elif result.error:
        ctx.say_private(
            f"Alert #{stored.id} is set (`{stored.rule.describe()}`), but Slack didn't "
            f"accept the confirmation (`{result.error}`)."
        )
    try:
        alerts.check(rules=[stored])  # a new rule can fire on the latest complete day
    except WarehouseError as err:  # the rule stands; the next scheduled check evaluates it
        log.warning("first check of alert #%s deferred: %s", stored.id, type(err).__name__)


def listing(ctx: CommandContext, alerts) -> str:
    rules = alerts.rules(ctx.channel_id)
    if not rules:
        return "This channel has no alerts. Set one: `/kpi alert revenue drops 30%`."
    lines = [f"*Alerts in this channel* ({len(rules)}):"]
    for stored in rules:
        fired = fmt.day(stored.last_fired_day) if stored.last_fired_day else "never"
        if stored.rule.condition == "ab" and stored.last_fired_at is not None:
            fired = f"{stored.last_fired_at:%Y-%m-%d}"
        who = f"<@{stored.created_by}>" if stored.created_by else "the CLI"
        line = f"• #{stored.id} `{stored.rule.describe()}` — by {who}, last fired {fired}"
        if stored.muted(naive_utc(alerts.clock())):
            line += f", muted until {stored.muted_until:%Y-%m-%d %H:%M} UTC"
        lines.append(line)
    lines.append("Delete: `/kpi alert delete N` · pause for D days: `/kpi alert mute N D`")
    return "\n".join(lines)
