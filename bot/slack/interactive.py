"""Buttons under answers: one click asks the next question.

Every button (and the "by …" picker) is the one re-ask action, ``kpi_ask_question``
(``:<n>`` appended to keep ids unique in a block; matched by ``ASK_ACTION_PATTERN``),
whose value is a question exactly as typed after ``/kpi``. The click is treated as if
the clicker had typed that text where the clicked message is: parsed and validated
again, the allowlists asked for the clicker in that channel, so a forged value can ask
nothing a typed question couldn't. Other modules (alerts, "did you mean") put such
buttons on their messages and get the same handling.

The answer goes into the clicked message's thread (channel history is never
rewritten); a click on an ephemeral answer replaces that answer through the click's
``response_url``. Like /kpi: ack first, before any query; Bolt has checked the
signature; a redelivered payload (same ``trigger_id``) and a double click (the same
button on the same message by the same person within ``DOUBLE_CLICK_S``) answer once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk.errors import SlackApiError

from bot.render.buttons import ASK_ACTION_PATTERN
from bot.sender import SlackSender
from bot.slack.context import CommandContext, Services
from bot.slack.dedupe import SeenRequests

log = logging.getLogger("bot.slack")

# Two clicks on one button this close together are one click (a double click, or an
# impatient second one while the first answer is on its way).
DOUBLE_CLICK_S = 5.0
RunCommand = Callable[[CommandContext, str], None]


def register(
    app: App,
    services: Services,
    sender: SlackSender,
    seen: SeenRequests,
    work: ThreadPoolExecutor | None,
    run_command: RunCommand,
    clicks: SeenRequests | None = None,
) -> None:
    clicks = clicks or SeenRequests(ttl_s=DOUBLE_CLICK_S)

    @app.action(re.compile(ASK_ACTION_PATTERN))
    def ask_question(ack: Ack, body: dict, action: dict, respond: Respond) -> None:
        ack()
        if not seen.first_time(_delivery_key(body, action)):
            log.info("dropped a repeated delivery of a button click")
            return
        if not clicks.first_time(_click_key(body, action)):
            log.info("dropped a double click")
            return
        if (body.get("container") or {}).get("type") == "view":  # a pin on the Home tab
            run_later(work, _ask_in_direct_message, body, sender, services, run_command, action)
            return
        ctx = click_context(body, respond, sender, services)
        run_later(work, run_command, ctx, question_of(action))


def run_later(work: ThreadPoolExecutor | None, run: Callable, *args: Any) -> None:
    """After the ack, on the work pool (here if there is none or it is shutting down)."""
    if work is None:
        run(*args)
        return
    try:
        work.submit(run, *args)
    except RuntimeError:  # the pool is shutting down: answer here, never drop an acked click
        run(*args)


def question_of(action: dict) -> str:
    """The question a button or picker option carries, as typed text ("" if none)."""
    value = action.get("value")
    if value is None:
        value = (action.get("selected_option") or {}).get("value")
    return value if isinstance(value, str) else ""


def click_context(
    body: dict, respond: Respond, sender: SlackSender, services: Services
) -> CommandContext:
    """The clicker, in the clicked message's channel; answers go into its thread, or
    replace it when it was ephemeral."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    ephemeral = bool(container.get("is_ephemeral"))
    return CommandContext(
        channel_id=str((body.get("channel") or {}).get("id") or container.get("channel_id", "")),
        user_id=str((body.get("user") or {}).get("id", "")),
        respond=respond,
        sender=sender,
        services=services,
        thread_ts=None if ephemeral else (message.get("thread_ts") or container.get("message_ts")),
        replace_source=ephemeral,
    )


class DirectReply:
    """``Respond`` for a click with no message to answer under (the Home tab): what
    would be an ephemeral reply is a message in the person's direct message with the
    bot, which only they see."""

    def __init__(self, sender: SlackSender, channel: str) -> None:
        self.sender, self.channel = sender, channel

    def __call__(self, *, blocks: list[dict], text: str, **_: Any) -> Any:
        posted = self.sender.post_blocks(self.channel, blocks, text)
        return SimpleNamespace(status_code=200 if posted.posted else 500)


def _ask_in_direct_message(
    body: dict, sender: SlackSender, services: Services, run_command: RunCommand, action: dict
) -> None:
    """A pinned question asked from the Home tab is answered in the person's direct
    message with the bot (the allowlists decide for that conversation)."""
    user = str((body.get("user") or {}).get("id", ""))
    try:
        channel = sender.messages.conversations_open(users=user)["channel"]["id"]
    except (SlackApiError, OSError, KeyError, TypeError) as err:
        log.warning("conversations.open failed: %s", type(err).__name__)
        return
    ctx = CommandContext(
        channel_id=channel,
        user_id=user,
        respond=DirectReply(sender, channel),  # type: ignore[arg-type]
        sender=sender,
        services=services,
    )
    run_command(ctx, question_of(action))


def _delivery_key(body: dict, action: dict) -> str:
    """A redelivery repeats the payload, trigger_id and action_ts included."""
    trigger = body.get("trigger_id")
    if trigger:
        return f"action:{trigger}"
    return f"action:{(body.get('user') or {}).get('id')}:{action.get('action_ts')}"


def _click_key(body: dict, action: dict) -> str:
    container = body.get("container") or {}
    # A message's ts is unique only within its channel.
    message = container.get("message_ts") or container.get("view_id") or ""
    where = f"{container.get('channel_id', '')}:{message}"
    who = (body.get("user") or {}).get("id", "")
    return f"click:{who}:{where}:{action.get('action_id')}:{question_of(action)}"
