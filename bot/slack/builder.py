"""The question builder: ``/kpi`` with no text opens a modal; submitting it asks.

The modal (``bot.render.builder``) offers the semantic layer's metrics, a window, an
optional breakdown and a comparison. On submit the choices become the question as
typed (``orders by country last 30 days vs last year``), which is parsed and validated
like typed text: a choice that can't make a question (a breakdown the metric doesn't
have) is answered inline in the modal (``response_action: errors``), anything else
closes it and is answered in the channel where ``/kpi`` was typed, exactly as the typed
question would be (allowlists for the person who submitted, in that channel). The
channel and the command's ``response_url`` travel in the view's ``private_metadata``,
which Slack keeps on its side and hands back with the submission.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.questions import ParseError, parse_question
from bot.render.builder import (
    BREAKDOWN,
    CALLBACK_ID,
    METRIC,
    WINDOW,
    BuilderChoice,
    builder_view,
    question_text,
    read_choice,
)
from bot.sender import SlackSender
from bot.service import KpiService
from bot.slack.context import CommandContext, Services
from bot.slack.dedupe import SeenRequests
from bot.slack.interactive import RunCommand, run_later

log = logging.getLogger("bot.slack")
MAX_INLINE_ERROR = 150


def open_builder(client: WebClient, services: Services, command: dict) -> bool:
    """``views.open`` with the command's trigger_id (valid 3 s: call it right after the
    ack, not behind queued answers). False when Slack refused it."""
    metadata = json.dumps(
        {"channel_id": command.get("channel_id", ""), "response_url": command.get("response_url")}
    )
    view = builder_view(services.kpi.semantic.vocabulary(), metadata)
    try:
        client.views_open(trigger_id=command.get("trigger_id", ""), view=view)
    except (SlackApiError, OSError) as err:
        log.warning("views.open failed: %s", type(err).__name__)
        return False
    return True


def register(
    app: App,
    services: Services,
    sender: SlackSender,
    seen: SeenRequests,
    work: ThreadPoolExecutor | None,
    run_command: RunCommand,
) -> None:
    @app.view(CALLBACK_ID)
    def submit(ack: Ack, body: dict, view: dict) -> None:
        choice = read_choice((view.get("state") or {}).get("values") or {})
        errors = inline_errors(services.kpi, choice)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        if not seen.first_time(f"view:{view.get('id')}:{body.get('trigger_id')}"):
            log.info("dropped a repeated delivery of a builder submission")
            return
        metadata = _metadata(view.get("private_metadata"))
        ctx = CommandContext(
            channel_id=str(metadata.get("channel_id") or ""),
            user_id=str((body.get("user") or {}).get("id", "")),
            respond=Respond(response_url=metadata.get("response_url")),
            sender=sender,
            services=services,
        )
        run_later(work, run_command, ctx, question_text(choice))


def inline_errors(kpi: KpiService, choice: BuilderChoice) -> dict[str, str]:
    """Per input block, why the choices can't make a question (empty: they can)."""
    if not choice.metric:
        return {METRIC: "Choose a metric."}
    if not choice.window:
        return {WINDOW: "Choose a window."}
    # Without the breakdown first: an error then is the metric's (or a forged window's).
    for with_breakdown, block in ((False, METRIC), (True, BREAKDOWN)):
        text = question_text(choice, with_breakdown)
        parsed = parse_question(text, kpi.today(), kpi.vocabulary_for(text))
        if isinstance(parsed, ParseError):
            return {block: _plain(parsed.message)}
    return {}


def _plain(message: str) -> str:
    """Inline errors are plain text: no mrkdwn markers or escapes."""
    text = message.replace("`", "").replace("*", "")
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text if len(text) <= MAX_INLINE_ERROR else text[: MAX_INLINE_ERROR - 1] + "…"


def _metadata(raw: object) -> dict:
    try:
        value = json.loads(raw) if isinstance(raw, str) else {}
    except json.JSONDecodeError:
        value = {}
    return value if isinstance(value, dict) else {}
