"""/kpi digest preview|subscribe|unsubscribe — the weekly digest for this channel.

All three answer privately. The digest shows revenue, so the allowlists apply (``bot.access``): a
preview needs an asker allowed to see revenue; subscribing (and unsubscribing) needs a
channel where revenue may appear publicly.
"""

from __future__ import annotations

from bot.access import Audience
from bot.core.questions import DigestCommand
from bot.slack.context import CommandContext

NOT_CONFIGURED = "The weekly digest isn't enabled on this bot (no state database configured)."
REFUSAL = (
    ":lock: The weekly digest isn't available in this channel: revenue figures aren't "
    "shared here. Ask your workspace admins to allow this channel."
)


def handle(ctx: CommandContext, command: DigestCommand) -> None:
    digest = ctx.services.digest
    if digest is None:
        ctx.say_private(NOT_CONFIGURED)
        return
    audience = ctx.audience(restricted=True)
    if audience is Audience.REFUSED or (
        audience is Audience.PRIVATE and command.action != "preview"
    ):
        ctx.say_private(REFUSAL)
        return
    if command.action == "preview":
        ctx.reply_blocks_private(*digest.preview(ctx.channel_id))
    elif command.action == "subscribe":
        created = digest.subscribe(ctx.channel_id, ctx.user_id)
        ctx.say_private(
            f":white_check_mark: This channel will get the weekly digest ({_when(digest)})."
            if created
            else "This channel already gets the weekly digest."
        )
    else:
        removed = digest.unsubscribe(ctx.channel_id, ctx.user_id)
        ctx.say_private(
            "This channel won't get the weekly digest any more."
            if removed
            else "This channel wasn't subscribed to the weekly digest."
        )


def _when(digest) -> str:
    return f"schedule `{digest.cron}` in {digest.timezone.key}"
