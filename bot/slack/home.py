"""The App Home tab: an overview, and each person's pinned questions.

``app_home_opened`` (an Events API event, over HTTP or Socket Mode) → ``views.publish``
of the person's Home view (``bot.render.home``). Bolt acks the event at once; the view
is then published from what the answer cache already holds, so opening the tab never
waits for the warehouse. Parts not cached yet show "working it out" and are computed
(through ``KpiService.answer``, which caches them) and published again. A redelivered
event (same ``event_id``) publishes nothing more.

Revenue-derived parts (revenue and orders, experiment verdicts) follow the one allowlist
decision (``bot.access``) for the viewer, with no channel: the tab is private to them,
so with a user allowlist only allowed users see them, and with a channel allowlist
nobody does there (as in a direct message).

Pins: the Pin button under an answer (``kpi_pin_question``, value: the question as
typed) stores it in ``KPI_STATE_DB`` (``bot.pins``) after checking it parses as a
question; Remove (``kpi_unpin_question``) deletes it. Both republish the tab.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.access import Audience
from bot.answers import Answer, ExperimentAnswer, ExperimentListAnswer, Freshness
from bot.core.alerts import AlertCommand
from bot.core.questions import (
    DigestCommand,
    ExperimentQuestion,
    ParseError,
    RetentionQuestion,
    escape_mrkdwn,
    parse_question,
)
from bot.pins import MAX_PINS_PER_USER
from bot.render.buttons import PIN_ACTION
from bot.render.home import UNPIN_ACTION, HomeContent, home_view, is_running
from bot.slack.context import Services
from bot.slack.dedupe import SeenRequests
from bot.slack.interactive import question_of, run_later
from bot.warehouse.base import WarehouseError

log = logging.getLogger("bot.slack")

HOME_REVENUE = ("revenue last 7 days", "revenue last 30 days")
HOME_RETENTION = RetentionQuestion(12)  # the default `/kpi retention`: one cache entry
NOT_PINNABLE = (DigestCommand, AlertCommand)  # commands, not questions with an answer


def register(
    app: App, services: Services, seen: SeenRequests, work: ThreadPoolExecutor | None
) -> None:
    client = app.client

    @app.event("app_home_opened")
    def home_opened(event: dict, body: dict) -> None:
        if event.get("tab", "home") != "home":
            return  # the Messages tab opens the same event
        if not seen.first_time(f"event:{body.get('event_id')}"):
            log.info("dropped a repeated app_home_opened")
            return
        run_later(work, publish_home, client, services, str(event.get("user", "")))

    @app.action(PIN_ACTION)
    def pin(ack: Ack, body: dict, action: dict, respond: Respond) -> None:
        ack()
        if not seen.first_time(f"action:{body.get('trigger_id')}"):
            return  # a redelivery: pinned (and said so) already
        user = str((body.get("user") or {}).get("id", ""))
        reply = pin_question(services, user, question_of(action))
        if respond is not None and (body.get("response_url")):
            respond(text=reply, response_type="ephemeral", replace_original=False)
        run_later(work, publish_home, client, services, user)

    @app.action(UNPIN_ACTION)
    def unpin(ack: Ack, body: dict, action: dict) -> None:
        ack()
        user = str((body.get("user") or {}).get("id", ""))
        if services.pins is not None:
            services.pins.unpin(user, question_of(action))
        run_later(work, publish_home, client, services, user)


def pin_question(services: Services, user: str, text: str) -> str:
    """Pin ``text`` for ``user`` if it is a question; what to tell them."""
    if services.pins is None:
        return ":warning: Pins aren't available on this bot (it has no state database)."
    kpi = services.kpi
    parsed = parse_question(text, kpi.today(), kpi.vocabulary_for(text))
    if isinstance(parsed, (ParseError, *NOT_PINNABLE)):
        return ":warning: Only questions can be pinned, and that isn't one."
    try:
        outcome = services.pins.pin(user, text)
    except SQLAlchemyError as err:
        log.warning("could not store a pin: %s", type(err).__name__)
        return ":warning: I couldn't save the pin just now; please try again in a minute."
    if outcome == "full":
        return (
            f":warning: Your Home tab already has {MAX_PINS_PER_USER} pins; remove one there first."
        )
    shown = escape_mrkdwn(" ".join(text.split()))
    if outcome == "already":
        return f":pushpin: `/kpi {shown}` is already on your Home tab."
    return f":pushpin: Pinned `/kpi {shown}` to your Home tab (the bot's Home)."


def publish_home(client: WebClient, services: Services, user: str) -> None:
    """Publish from the cache at once; if anything was missing, compute and publish
    again."""
    try:
        first = home_content(services, user, compute=False)
        _publish(client, user, home_view(first))
        if _complete(first):
            return
        _publish(client, user, home_view(home_content(services, user, compute=True)))
    except Exception:
        log.exception("could not publish the Home tab")


def home_content(services: Services, user: str, compute: bool) -> HomeContent:
    kpi = services.kpi
    visible = services.settings.allowlists.audience("", user, restricted=True) in (
        Audience.PUBLIC,
        Audience.PRIVATE,
    )

    def get(text_or_question) -> Answer | None:
        question = text_or_question
        if isinstance(question, str):
            question = parse_question(question, kpi.today())
        answer = kpi.answer(question, charts=False) if compute else kpi.cached_answer(question)
        return answer  # an ErrorAnswer (only when computed) is shown as such

    revenue = tuple(get(q) for q in HOME_REVENUE) if visible else ()
    experiments = _experiments(get) if visible else ()
    retention = get(HOME_RETENTION)
    freshness = next(
        (a.freshness for a in (*revenue, retention) if getattr(a, "freshness", None)), None
    ) or _freshness(services)
    return HomeContent(
        freshness=freshness,
        revenue=revenue,
        experiments=experiments,
        retention=retention,  # type: ignore[arg-type]
        pins=_pins(services, user),
        revenue_visible=visible,
    )


def _experiments(get) -> tuple[ExperimentAnswer, ...] | None:
    listing = get(ExperimentQuestion(None))
    if not isinstance(listing, ExperimentListAnswer):
        return None if listing is None else ()
    answers = [get(ExperimentQuestion(e.experiment_id)) for e in listing.experiments]
    if any(a is None for a in answers):
        return None
    return tuple(a for a in answers if isinstance(a, ExperimentAnswer) and is_running(a))


def _pins(services: Services, user: str) -> tuple[str, ...]:
    """The person's pins; none shown (the rest of the tab still is) if the state
    database can't be read."""
    if services.pins is None:
        return ()
    try:
        return services.pins.pins(user)
    except SQLAlchemyError as err:
        log.warning("pins unavailable: %s", type(err).__name__)
        return ()


def _freshness(services: Services) -> Freshness | None:
    try:
        return services.kpi.freshness(services.kpi.reader.data_status())
    except WarehouseError:
        return None


def _complete(content: HomeContent) -> bool:
    parts = [content.retention, content.freshness]
    if content.revenue_visible:
        parts += [*content.revenue, content.experiments]
    return all(p is not None for p in parts)


def _publish(client: WebClient, user: str, view: dict) -> None:
    try:
        client.views_publish(user_id=user, view=view)
    except SlackApiError as err:
        log.warning("views.publish failed: %s", err.response.get("error"))
