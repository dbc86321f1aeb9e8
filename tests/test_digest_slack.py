"""/kpi digest preview|subscribe|unsubscribe end to end: signed slash commands over
loopback HTTP into the real Bolt app on waitress, replies read from the Slack double.
The preview must be exactly the blocks the scheduled digest then posts."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.digest.schedule import naive_utc
from bot.digest.service import DigestService
from bot.digest.store import DigestStore
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

TOKEN = "xoxb-test-digest-slack"
SECRET = "digest-signing-secret"
BERLIN = ZoneInfo("Europe/Berlin")
AS_OF = DEMO_END + timedelta(days=1)
FIRE = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, 0, tzinfo=BERLIN)
CHANNEL, USER = "C0DIGEST", "U0TEST"


@contextmanager
def running(slack: SlackDouble, built_db: Path, tmp_path: Path, **settings) -> Iterator:
    config = Settings(
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack.base_url,
        timezone=BERLIN,
        digest_cron="0 9 * * wed",
        **settings,
    )
    kpi = KpiService(
        MartReader(DuckDBWarehouse(built_db, timeout_s=20)),
        timezone=BERLIN,
        clock=lambda: naive_utc(FIRE),
    )
    store = DigestStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    digest = DigestService.from_settings(
        config,
        kpi,
        store,
        SlackSender(message_client(TOKEN, slack.base_url)),
        clock=lambda: FIRE,
    )
    app = build_app(config, Services(settings=config, kpi=kpi, digest=digest))
    server = make_http_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}/slack/events", digest
    finally:
        stop(server, thread)
        kpi.reader.warehouse.close()


def stop(server, thread: threading.Thread) -> None:
    server.task_dispatcher.shutdown()  # let in-flight requests finish first
    server.close()
    join_or_fail(thread, 5)


def command(slack: SlackDouble, url: str, text: str, channel: str = CHANNEL, user: str = USER):
    """Send a signed /kpi command and wait for its private reply."""
    name = uuid.uuid4().hex[:10]
    body = slash_command_body(
        text,
        channel_id=channel,
        user_id=user,
        response_url=slack.response_url(name),
        trigger_id=f"{uuid.uuid4().int % 10**10}.{name}",  # each command is a new one
    )
    status, answer = post_signed(url, body, signed_headers(SECRET, body))
    assert (status, answer) == (200, "")
    replies = slack.wait_for(
        lambda: [m for m in slack.messages(RESPONSE_URL) if m.response_url_name == name],
        timeout=60,
    )
    return replies[0]


def test_preview_is_private_and_equals_the_posted_digest(slack, built_db, tmp_path) -> None:
    with running(slack, built_db, tmp_path) as (url, digest):
        preview = command(slack, url, "digest preview")
        assert preview.ephemeral
        assert slack.messages("chat.postMessage") == []  # nothing in the channel
        assert command(slack, url, "digest subscribe").all_text.startswith(
            ":white_check_mark: This channel will get the weekly digest"
        )
        [outcome] = digest.run_due()
        assert outcome.status == "sent"
        [posted] = slack.messages("chat.postMessage")
        assert preview.blocks == posted.blocks
        assert preview.text == f"Preview: {posted.text}"


def test_subscribe_and_unsubscribe_the_current_channel(slack, built_db, tmp_path) -> None:
    with running(slack, built_db, tmp_path) as (url, digest):
        assert digest.channels() == []
        command(slack, url, "digest subscribe")
        assert digest.channels() == [CHANNEL]
        again = command(slack, url, "digest subscribe")
        assert "already gets the weekly digest" in again.all_text
        assert "won't get the weekly digest" in command(slack, url, "digest unsubscribe").all_text
        assert digest.channels() == []
        assert "wasn't subscribed" in command(slack, url, "digest unsubscribe").all_text


def test_the_allowlist_applies_to_all_digest_commands(slack, built_db, tmp_path) -> None:
    with running(slack, built_db, tmp_path, allowed_channels=frozenset({"C0ALLOWED"})) as (
        url,
        digest,
    ):
        for action in ("preview", "subscribe", "unsubscribe"):
            reply = command(slack, url, f"digest {action}")
            assert reply.ephemeral and "isn't available in this channel" in reply.all_text
        assert digest.channels() == []
        command(slack, url, "digest subscribe", channel="C0ALLOWED")
        assert digest.channels() == ["C0ALLOWED"]


def test_a_bot_without_the_digest_says_so(slack, built_db) -> None:
    config = Settings(
        slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=slack.base_url
    )
    kpi = KpiService(MartReader(DuckDBWarehouse(built_db, timeout_s=20)))
    app = build_app(config, Services(settings=config, kpi=kpi))
    server = make_http_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.effective_port}/slack/events"
        assert "isn't enabled" in command(slack, url, "digest preview").all_text
    finally:
        stop(server, thread)
        kpi.reader.warehouse.close()
