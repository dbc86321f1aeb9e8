"""What a /kpi subcommand handler gets: who asked where, and how to answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_bolt import Respond

from bot.access import Audience
from bot.answers import Answer, ErrorAnswer
from bot.kinds import answer_blocks, answer_text, is_restricted
from bot.render.blocks import fit, section
from bot.sender import NOT_A_MEMBER, SlackSender
from bot.service import KpiService
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.alerts.service import AlertService
    from bot.digest.service import DigestService
    from bot.pins import PinStore

log = logging.getLogger("bot.slack")

INVITE_HINT = (
    ":wave: I'm not a member of this channel, so I can't post the answer and chart here. "
    "Invite me with `/invite @kpi-bot` and ask again. Here are the figures, just for you:"
)
# Where the bot can't post for other reasons than membership (Slack's error codes).
CANT_POST_HINTS = {
    "channel_not_found": (
        ":wave: I can't post in this conversation (a direct message between other people, "
        "or a private channel I'm not in). Ask in a channel I'm in, or message me directly. "
        "Here are the figures, just for you:"
    ),
    "is_archived": "This channel is archived, so I can't post here. The figures, just for you:",
}


REFUSED_CHANNEL = (
    ":lock: Revenue figures aren't shared in this channel. Ask in one of the channels "
    "your workspace admins allowed, or ask them to add this one."
)
REFUSED_USER = (
    ":lock: Revenue figures aren't shared with you on this bot. Ask your workspace admins "
    "to add you to the people allowed to see them."
)
PRIVATE_ONLY = (
    ":lock: Revenue figures are only shown privately here, so this answer is just for you "
    "(no chart in private replies)."
)


@dataclass
class Services:
    """Everything the Slack edge calls; built once at start-up."""

    settings: Settings
    kpi: KpiService
    digest: DigestService | None = None
    alerts: AlertService | None = None
    pins: PinStore | None = None  # App Home's pinned questions (KPI_STATE_DB)


@dataclass
class CommandContext:
    channel_id: str
    user_id: str
    respond: Respond
    sender: SlackSender
    services: Services
    # Set when a button asked: public answers go into this thread (channel history is
    # never rewritten) ...
    thread_ts: str | None = None
    # ... or, when the clicked answer was ephemeral, the new answer replaces it through
    # the click's response_url (the only way to change an ephemeral message).
    replace_source: bool = False

    @property
    def settings(self) -> Settings:
        return self.services.settings

    def audience(self, restricted: bool) -> Audience:
        """The one allowlist decision (``bot.access``) for this asker, in this channel."""
        return self.settings.allowlists.audience(
            self.channel_id, self.user_id, restricted=restricted
        )

    def refuse(self) -> None:
        """Say privately why a revenue-derived figure isn't shown."""
        may_ask = self.settings.allowlists.may_ask(self.user_id)
        self.say_private(REFUSED_CHANNEL if may_ask else REFUSED_USER)

    def deliver(self, answer: Answer, private: bool = False) -> None:
        """Show an answer where the allowlists let it be seen: in the channel (with its
        charts), privately to the asker, or not at all (a private refusal)."""
        audience = self.audience(is_restricted(answer))
        if audience is Audience.REFUSED:
            self.refuse()
        elif audience is Audience.PRIVATE:
            self.reply_blocks_private(
                fit([section(PRIVATE_ONLY), *answer_blocks(answer, buttons=True)]),
                answer_text(answer),
                replaces=self.replace_source,
            )
        elif isinstance(answer, ErrorAnswer):
            self.reply_private(answer)
        elif private or self.replace_source:
            self.reply_blocks_private(
                answer_blocks(answer, buttons=True),
                answer_text(answer),
                replaces=self.replace_source,
            )
        else:
            self.publish(self.services.kpi.with_charts(answer))

    def reply_private(self, answer: Answer) -> None:
        """An ephemeral reply through response_url (works in any channel, no membership)."""
        self.reply_blocks_private(answer_blocks(answer), answer_text(answer))

    def reply_blocks_private(self, blocks: list[dict], text: str, replaces: bool = False) -> None:
        """``replaces``: this reply takes the place of the ephemeral message clicked."""
        response = self.respond(
            blocks=blocks, text=text, response_type="ephemeral", replace_original=replaces
        )
        # An expired or over-used response_url is the one failure the user can't be told
        # about; at least the log says so.
        status = getattr(response, "status_code", 200)
        if status != 200:
            log.warning("response_url refused the reply (HTTP %s)", status)

    def say_private(self, text: str) -> None:
        self.reply_blocks_private([section(text)], text)

    def publish(self, answer: Answer) -> None:
        """Post an answer in the channel; errors and refusals go privately to the asker."""
        if isinstance(answer, ErrorAnswer):
            self.reply_private(answer)
            return
        result = self.sender.post_answer(
            self.channel_id, answer, thread_ts=self.thread_ts, buttons=True
        )
        if result.error in NOT_A_MEMBER:
            hint = CANT_POST_HINTS.get(result.error, INVITE_HINT)
            self.reply_blocks_private(fit([section(hint), *answer_blocks(answer)]), hint)
        elif result.error == "transport_error":
            # A timeout or dropped connection: Slack may have posted it; we don't repost.
            self.say_private(
                ":warning: Slack didn't confirm the answer in time, so it may or may not be "
                "in the channel. Look there before asking again; I won't post it twice."
            )
        elif result.error:
            self.say_private(
                f":warning: Slack didn't accept the answer (`{result.error}`). "
                "Nothing was posted; please try again in a minute."
            )
        elif result.upload_errors == ["transport_error"]:
            self.say_private(
                ":warning: The answer is posted, but Slack didn't confirm the chart upload "
                "in time; it may still appear. The figures in the message are complete."
            )
        elif result.upload_errors:
            self.say_private(
                f":warning: The answer is posted, but the chart couldn't be uploaded "
                f"(`{result.upload_errors[0]}`). The figures in the message are complete."
            )
