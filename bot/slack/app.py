"""The Bolt app: ``build_app(settings, services, client=None) -> App``.

No module-level App and no work at import time. The /kpi listener acks first (before
any query), drops repeated deliveries of the same command, then parses and hands the
question to the subcommand's module. Request signatures are verified by Bolt.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.answers import parse_error_answer
from bot.core.alerts import AlertCommand
from bot.core.questions import DigestCommand, ParseError, Question, parse_question
from bot.kinds import kind_of
from bot.sender import SlackSender, message_client
from bot.settings import Settings
from bot.slack import builder, home, interactive
from bot.slack.commands import alerts, digest
from bot.slack.context import CommandContext, Services
from bot.slack.dedupe import SeenRequests

log = logging.getLogger("bot.slack")

# Subcommands that act on Slack itself rather than answer a question (every other kind
# is answered by ``answer_question``, as ``bot.kinds`` declares it).
SLACK_COMMANDS: dict[type, Callable[[CommandContext, Any], None]] = {
    DigestCommand: digest.handle,
    AlertCommand: alerts.handle,
}
LISTENER_THREADS = 16
# Answers run on their own pool. Bolt acks only once a listener thread picks the request
# up, so if listeners did the work a burst (20 at once) left acks queued behind answers,
# close to Slack's 3 s; listeners now only ack and hand over, and stay free to ack.
WORK_THREADS = 8


def build_app(
    settings: Settings,
    services: Services,
    client: WebClient | None = None,
    work: ThreadPoolExecutor | None = None,
    seen: SeenRequests | None = None,
) -> App:
    """``work`` runs the answers (everything after the ack); pass your own to be able to
    wait for in-flight answers at shutdown (``work.shutdown(wait=True)``). ``seen``
    recognises repeated deliveries (default: this process's memory)."""
    client = client or message_client(settings.slack_bot_token, settings.slack_api_url)
    app = App(
        # Bolt's default name is its caller's file name, found with inspect.stack(),
        # which reads the source of every frame: ~0.13 s of start-up. Same name, given.
        name="app.py",
        client=client,
        signing_secret=settings.slack_signing_secret,
        listener_executor=ThreadPoolExecutor(
            max_workers=LISTENER_THREADS, thread_name_prefix="kpi-listener"
        ),
    )
    register(app, services, SlackSender(client), seen or SeenRequests(), work or work_pool())
    return app


def work_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=WORK_THREADS, thread_name_prefix="kpi-work")


def register(
    app: App,
    services: Services,
    sender: SlackSender,
    seen: SeenRequests,
    work: ThreadPoolExecutor | None = None,
) -> None:
    @app.command("/kpi")
    def kpi_command(ack: Ack, command: dict, respond: Respond) -> None:
        ack()
        if not seen.first_time(_delivery_key(command)):
            log.info("dropped a repeated delivery of /kpi")
            return
        ctx = CommandContext(
            channel_id=command.get("channel_id", ""),
            user_id=command.get("user_id", ""),
            respond=respond,
            sender=sender,
            services=services,
        )
        text = command.get("text", "")
        # `/kpi` alone opens the question builder (its trigger_id lives 3 s: now, not
        # behind queued answers); if Slack won't open it, the help answers instead.
        if not text.strip() and builder.open_builder(sender.messages, services, command):
            return
        if work is None:
            run_command(ctx, text)
            return
        try:
            work.submit(run_command, ctx, text)
        except RuntimeError:  # the pool is shutting down: answer here, never drop an acked command
            run_command(ctx, text)

    # Buttons under answers: a click is a question as typed (bot/slack/interactive.py).
    interactive.register(app, services, sender, seen, work, run_command)
    builder.register(app, services, sender, seen, work, run_command)
    home.register(app, services, seen, work)


def run_command(ctx: CommandContext, text: str) -> None:
    """Parse and dispatch; a failure here becomes a private reply, never silence."""
    try:
        kpi = ctx.services.kpi
        question = parse_question(text, kpi.today(), kpi.vocabulary_for(text))
        if isinstance(question, ParseError):
            ctx.reply_private(parse_error_answer(question))
            return
        SLACK_COMMANDS.get(type(question), answer_question)(ctx, question)
    except Exception:
        ref = uuid.uuid4().hex[:8]
        log.exception("unhandled error in /kpi (ref %s)", ref)
        try:
            ctx.say_private(f":warning: Something went wrong on our side (ref `{ref}`).")
        except Exception:
            log.exception("could not report error ref %s", ref)


def answer_question(ctx: CommandContext, question: Question) -> None:
    """Ack'd already: answer (charts only once it is known they will be shown), then
    show it where the allowlists let it be seen."""
    private = kind_of(question).private(question)
    ctx.deliver(ctx.services.kpi.answer(question, charts=False), private=private)


def _delivery_key(command: dict) -> str:
    """Retries of one command share its trigger_id; fall back to the whole payload."""
    trigger = command.get("trigger_id")
    if trigger:
        return f"trigger:{trigger}"
    parts = ("team_id", "channel_id", "user_id", "command", "text", "response_url")
    return "payload:" + "|".join(str(command.get(p, "")) for p in parts)
