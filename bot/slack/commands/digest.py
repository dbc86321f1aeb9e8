"""/kpi digest preview|subscribe|unsubscribe — the weekly digest for this channel.

All three answer privately. The allowlists apply to all three: a preview shows the same
revenue figures as ``/kpi revenue``, so it is refused where those are.
"""

from __future__ import annotations

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
    if not ctx.settings.is_allowed(ctx.channel_id, ctx.user_id):
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
