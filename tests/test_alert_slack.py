"""/kpi alert … and /kpi alerts end to end: signed slash commands over loopback HTTP
into the real Bolt app, replies and posts read from the Slack double. Only the new
alert's confirmation is seen by the channel; everything else is private."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bot.alerts.cli import alert_service
from bot.digest.schedule import naive_utc
from bot.sender import SlackSender, message_client
from bot.service import KpiService
from bot.settings import Settings
from bot.slack.app import build_app
from bot.slack.context import Services
from bot.slack.server import make_http_server
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.conftest import DEMO_END
from tests.slack_double import RESPONSE_URL, SlackDouble
from tests.slack_requests import post_signed, signed_headers, slash_command_body
from tests.threads import join_or_fail

TOKEN = "xoxb-test-alert-slack"
SECRET = "alert-signing-secret"
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # DEMO_END + 1
CHANNEL, OTHER = "C0ALERTS", "C0OTHER"
USER, ADMIN, STRANGER = "U0CREATOR", "U0ADMIN", "U0STRANGER"


@contextmanager
def running(slack: SlackDouble, built_db: Path, tmp_path: Path, **settings) -> Iterator:
    config = Settings(
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack.base_url,
        state_db_url=f"sqlite:///{tmp_path / 'state.sqlite'}",
        alert_admins=frozenset({ADMIN}),
        **settings,
    )
    kpi = KpiService(
        MartReader(DuckDBWarehouse(built_db, timeout_s=20)), clock=lambda: naive_utc(NOW)
    )
    sender = SlackSender(message_client(TOKEN, slack.base_url))
    alerts = alert_service(config, kpi, sender, clock=lambda: NOW, charts=False)
    app = build_app(config, Services(settings=config, kpi=kpi, alerts=alerts))
    server = make_http_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}/slack/events", alerts
    finally:
        server.task_dispatcher.shutdown()
        server.close()
        join_or_fail(thread, 5)
        kpi.reader.warehouse.close()


def command(slack: SlackDouble, url: str, text: str, user: str = USER, channel: str = CHANNEL):
    """Send a signed /kpi command; its private reply, if any, within the timeout."""
    name = uuid.uuid4().hex[:10]
    body = slash_command_body(
        text,
        channel_id=channel,
        user_id=user,
        response_url=slack.response_url(name),
        trigger_id=f"{uuid.uuid4().int % 10**10}.{name}",
    )
    status, answer = post_signed(url, body, signed_headers(SECRET, body))
    assert (status, answer) == (200, "")
    return name


def private_reply(slack: SlackDouble, name: str):
    replies = slack.wait_for(
        lambda: [m for m in slack.messages(RESPONSE_URL) if m.response_url_name == name],
        timeout=60,
    )
    [reply] = replies
    assert reply.ephemeral
    return reply


def channel_posts(slack: SlackDouble) -> list:
    return [m for m in slack.messages("chat.postMessage") if m.channel == CHANNEL]


def test_create_list_mute_delete(slack, built_db, tmp_path) -> None:
    with running(slack, built_db, tmp_path) as (url, alerts):
        command(slack, url, "alert orders above 0")
        # The confirmation, in the channel; then the alert for DEMO_END (it holds).
        posted = slack.wait_for(lambda: len(channel_posts(slack)) >= 2 or None, timeout=60)
        assert posted
        confirmation, alert = channel_posts(slack)
        assert f"<@{USER}> set alert #1" in confirmation.all_text
        assert "`orders above 0`" in confirmation.all_text
        assert "Alert #1" in alert.all_text and f"{DEMO_END:%Y-%m-%d}" in alert.all_text
        assert slack.messages(RESPONSE_URL) == []  # nothing private for a good rule
        slack.wait_for(lambda: alerts.store.get(1).last_fired_day, timeout=10)  # recorded

        listing = private_reply(slack, command(slack, url, "alerts"))
        assert "#1 `orders above 0`" in listing.all_text
        assert f"by <@{USER}>" in listing.all_text and f"{DEMO_END:%Y-%m-%d}" in listing.all_text

        muted = private_reply(slack, command(slack, url, "alert mute 1 3"))
        assert "Muted alert #1" in muted.all_text
        assert "muted until" in private_reply(slack, command(slack, url, "alerts")).all_text

        refused = private_reply(slack, command(slack, url, "alert delete 1", user=STRANGER))
        assert "Only the alert's creator" in refused.all_text
        done = private_reply(slack, command(slack, url, "alert delete 1", user=ADMIN))
        assert "Deleted alert #1" in done.all_text
        assert "no alerts" in private_reply(slack, command(slack, url, "alerts")).all_text
        assert len(channel_posts(slack)) == 2  # every reply since was private


def test_a_bad_rule_gets_a_private_specific_message(slack, built_db, tmp_path) -> None:
    with running(slack, built_db, tmp_path) as (url, _):
        reply = private_reply(slack, command(slack, url, "alert revenue drops lots"))
        assert "needs a percentage" in reply.all_text
        assert "/kpi alert revenue drops 30%" in reply.all_text
        assert channel_posts(slack) == []


def test_revenue_alerts_obey_the_allowlists(slack, built_db, tmp_path) -> None:
    with running(slack, built_db, tmp_path, allowed_channels=frozenset({OTHER})) as (url, alerts):
        reply = private_reply(slack, command(slack, url, "alert revenue below 1000"))
        assert "aren't shared" in reply.all_text
        assert channel_posts(slack) == [] and alerts.rules(CHANNEL) == []
        # orders aren't revenue-derived: allowed anywhere
        command(slack, url, "alert orders below 1")
        slack.wait_for(lambda: channel_posts(slack) or None, timeout=60)
        assert [r.rule.describe() for r in alerts.rules(CHANNEL)] == ["orders below 1"]


def test_an_unknown_experiment_is_refused(slack, built_db, tmp_path) -> None:
    with running(slack, built_db, tmp_path) as (url, _):
        reply = private_reply(slack, command(slack, url, "alert ab no_such_test"))
        assert "There is no experiment `no_such_test`" in reply.all_text
        assert "`checkout_redesign`" in reply.all_text
        command(slack, url, "alert ab checkout_redesign")
        [confirmation] = slack.wait_for(lambda: channel_posts(slack) or None, timeout=60)
        assert "`ab checkout_redesign`" in confirmation.all_text


def test_semantic_metric_alerts_from_slack(slack, built_db, tmp_path) -> None:
    with running(slack, built_db, tmp_path) as (url, alerts):
        reply = private_reply(
            slack, command(slack, url, "alert orders where country = brasill below 5")
        )
        assert "Did you mean `Brasil`" in reply.all_text
        assert "`/kpi alert orders where country = Brasil below 5`" in reply.all_text
        reply = private_reply(slack, command(slack, url, "alert new_user below 5"))
        assert "Did you mean `new_users`" in reply.all_text
        assert channel_posts(slack) == [] and alerts.rules(CHANNEL) == []

        command(slack, url, "alert new_users where country = china below 100000")
        posted = slack.wait_for(lambda: len(channel_posts(slack)) >= 2 or None, timeout=60)
        assert posted
        confirmation, alert = channel_posts(slack)
        assert "`new_users where country = China below 100000`" in confirmation.all_text
        assert "New users (country = China)" in alert.all_text
        [actions] = [b for b in alert.blocks if b["type"] == "actions"]
        [button] = actions["elements"]
        assert button["action_id"] == "kpi_ask_question"
        assert button["value"] == "new_users where country = China last 28 days daily"
