"""/kpi end to end: Slack's signed HTTP request → the real Bolt app on waitress → the
service on the built demo warehouse → the real WebClient → the local Slack double.

Nothing here calls the bot's functions directly: every command goes over loopback HTTP
exactly as Slack sends it, and every assertion reads what the double received. Figures
are checked against the marts read with DuckDB, not through the bot.
"""

from __future__ import annotations

import gc
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from slack_sdk.models.blocks import Block

from bot.cli import main
from bot.core import format as fmt
from bot.core.plan import ExperimentPlan
from bot.core.questions import escape_mrkdwn
from bot.core.stats import VariantData, analyze_experiment
from bot.render.verdicts import verdict_text
from bot.service import KpiService
from bot.settings import Settings
from bot.slack.app import build_app, work_pool
from bot.slack.context import Services
from bot.slack.server import EVENTS_PATH, make_http_server, stop_http_server
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.conftest import DEMO_END
from tests.slack_double import RESPONSE_URL, UPLOAD_URL, SentMessage, SlackDouble, Upload
from tests.slack_requests import post_signed, retry_headers, signed_headers, slash_command_body

TOKEN = "xoxb-test-not-a-real-token"
SECRET = "test-signing-secret"
AS_OF = DEMO_END + timedelta(days=1)
CLOCK = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 8, 0)  # naive UTC, the morning after
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNEL, USER = "C0TEST", "U0TEST"
EXPERIMENTS = ("checkout_redesign", "homepage_copy_aa", "pricing_page_abn", "recs_widget_srm")


# --------------------------------------------------------------------------- harness


@dataclass
class Sent:
    """One slash command as delivered: the ack Slack got and where replies would go."""

    status: int
    body: str
    acked_at: float  # time.monotonic() when the ack arrived
    response_url_name: str


@dataclass
class Bot:
    url: str
    slack: SlackDouble

    def send(
        self,
        text: str,
        *,
        channel_id: str = CHANNEL,
        user_id: str = USER,
        trigger_id: str | None = None,
        headers: dict[str, str] | None = None,
        sign_with: str = SECRET,
    ) -> Sent:
        name = uuid.uuid4().hex[:12]
        body = slash_command_body(
            text,
            channel_id=channel_id,
            user_id=user_id,
            response_url=self.slack.response_url(name),
            trigger_id=trigger_id or f"{uuid.uuid4().int % 10**10}.{name}",
        )
        all_headers = signed_headers(sign_with, body) | (headers or {})
        status, answer = post_signed(self.url, body, all_headers)
        return Sent(status, answer, time.monotonic(), name)

    def ask(self, text: str, **kwargs: Any) -> Sent:
        sent = self.send(text, **kwargs)
        assert (sent.status, sent.body) == (200, ""), "the ack is an empty 200"
        return sent

    def channel_message(self, channel: str = CHANNEL, count: int = 1) -> SentMessage:
        """Wait for the ``count``-th chat.postMessage into ``channel`` and return it."""
        posted = self.slack.wait_for(
            lambda: [m for m in self.slack.messages("chat.postMessage") if m.channel == channel][
                count - 1 :
            ],
            timeout=30,
        )
        return posted[0]

    def private_reply(self, sent: Sent) -> SentMessage:
        replies = self.slack.wait_for(
            lambda: [
                m
                for m in self.slack.messages(RESPONSE_URL)
                if m.response_url_name == sent.response_url_name
            ],
            timeout=30,
        )
        return replies[0]

    def upload(self, count: int = 1) -> Upload:
        return self.slack.wait_for(lambda: self.slack.uploads()[count - 1 :], timeout=30)[0]


def service_for(path: Path, timeout_s: float = 10.0) -> KpiService:
    return KpiService(MartReader(DuckDBWarehouse(path, timeout_s=timeout_s)), clock=lambda: CLOCK)


@contextmanager
def running_bot(
    slack: SlackDouble, kpi: KpiService, pins: Any = None, **settings: Any
) -> Iterator[Bot]:
    """The production wiring (build_app + make_http_server) on an ephemeral loopback port
    (``pins``: App Home's PinStore, as ``serve`` makes one on KPI_STATE_DB)."""
    config = Settings(
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack.base_url,
        **settings,
    )
    work = work_pool()
    app = build_app(config, Services(settings=config, kpi=kpi, pins=pins), work=work)
    server = make_http_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, name="bot-http", daemon=True)
    thread.start()
    try:
        yield Bot(f"http://127.0.0.1:{server.effective_port}/slack/events", slack)
    finally:
        stop_http_server(server)
        thread.join(timeout=5)
        assert not thread.is_alive(), "the HTTP server didn't stop"
        server.task_dispatcher.shutdown()
        work.shutdown(wait=True)  # answers still in flight finish while the double listens
        kpi.reader.warehouse.close()


@pytest.fixture
def bot(slack: SlackDouble, built_db: Path) -> Iterator[Bot]:
    with running_bot(slack, service_for(built_db)) as running:
        yield running


def mart(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def assert_within_block_kit_limits(blocks: list[dict]) -> None:
    assert 0 < len(blocks) <= 50
    for block in blocks:
        Block.parse(block).validate_json()  # slack_sdk's own model checks
        if block["type"] == "section":
            assert len(block.get("text", {}).get("text", "")) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150


def fields_of(message: SentMessage) -> dict[str, str]:
    """Section fields as label → value (labels are the bold first line)."""
    pairs = {}
    for block in message.blocks or []:
        for field in block.get("fields", []):
            label, _, value = field["text"].partition("\n")
            pairs[label.strip("*")] = value
    return pairs


def header_of(message: SentMessage) -> str:
    [header] = [b for b in message.blocks or [] if b["type"] == "header"]
    return header["text"]["text"]


# --------------------------------------------------------------------------- answers


def test_revenue_posts_figures_then_the_chart_into_the_channel(bot: Bot, built_db: Path) -> None:
    sent = bot.ask("revenue last 30 days")

    message = bot.channel_message()
    upload = bot.upload()

    [(revenue, orders)] = mart(
        built_db,
        "select sum(revenue), sum(orders) from main.revenue_daily "
        "where day between '2026-10-26' and '2026-11-24'",
    )
    [(prev_revenue, prev_orders)] = mart(
        built_db,
        "select sum(revenue), sum(orders) from main.revenue_daily "
        "where day between '2026-09-26' and '2026-10-25'",
    )
    assert message.call is not None and message.call.time > sent.acked_at  # work after the ack
    assert header_of(message) == "Revenue · last 30 days"
    fields = fields_of(message)
    assert fields["Revenue"].startswith(fmt.money(revenue))
    assert fields["Orders"].startswith(
        f"{fmt.count(orders)} ({fmt.signed_count(orders - prev_orders)}"
    )
    assert fields["Average order value"].startswith(fmt.money(revenue / orders))
    assert fmt.money(prev_revenue) in fields["Previous period"]
    headline = message.block_texts[1]
    assert fmt.pct((revenue - prev_revenue) / prev_revenue * 100) in headline  # the verdict
    assert message.text == headline  # notification fallback carries the headline
    stamp = [b for b in message.blocks or [] if b["type"] == "context"][-1]  # above the buttons
    assert f"Data as of {DEMO_END:%Y-%m-%d}" in stamp["elements"][0]["text"]
    assert_within_block_kit_limits(message.blocks or [])

    assert upload.data is not None and upload.data.startswith(PNG_SIGNATURE)
    assert (upload.channel, upload.filename) == (CHANNEL, "revenue.png")
    assert upload.length == len(upload.data)
    assert fmt.money(revenue) in (upload.title or "")
    order = [c.method for c in bot.slack.calls() if c.method != "auth.test"]
    assert order == [
        "chat.postMessage",
        "files.getUploadURLExternal",
        UPLOAD_URL,
        "files.completeUploadExternal",
    ]
    assert all(c.token == TOKEN for c in bot.slack.calls("chat.postMessage"))
    assert bot.slack.messages(RESPONSE_URL) == []  # nothing private for a good answer


def test_ab_posts_the_verdict_computed_from_the_mart(bot: Bot, built_db: Path) -> None:
    bot.ask("ab checkout_redesign")

    message = bot.channel_message()
    upload = bot.upload()

    rows = mart(
        built_db,
        "select variant, users, converters, revenue_sum, revenue_sum_squares, pre_revenue_sum, "
        "pre_revenue_sum_squares, revenue_pre_revenue_sum_products "
        "from main.ab_metrics where experiment_id = 'checkout_redesign' order by variant",
    )
    [(excluded,)] = mart(
        built_db,
        "select excluded_users from main.ab_experiments where experiment_id = 'checkout_redesign'",
    )
    # The registry's plan, from the seed's row as the mart carries it.
    [(split, status)] = mart(
        built_db,
        "select planned_split, status from main.ab_registry "
        "where experiment_id = 'checkout_redesign'",
    )
    plan = ExperimentPlan(
        "checkout_redesign",
        name="Checkout redesign",
        hypothesis="A one-page checkout makes more visitors buy",
        owner="growth@example.com",
        split={k: float(w) for k, w in (part.split("=") for part in split.split(";"))},
        start_date=None,
        status=status,
        registered=True,
    )
    [(start,)] = mart(
        built_db,
        "select start_date from main.ab_registry where experiment_id = 'checkout_redesign'",
    )
    plan = replace(plan, start_date=start.date() if hasattr(start, "date") else start)
    expected = analyze_experiment(
        "checkout_redesign",
        [VariantData(v, int(n), int(c), *map(float, sums)) for v, n, c, *sums in rows],
        excluded_users=int(excluded),
        plan=plan,
        as_of=DEMO_END,
    )
    assert header_of(message) == "Experiment · checkout_redesign"
    assert escape_mrkdwn(verdict_text(expected)) in message.all_text
    assert "Method: fixed-horizon test" in message.all_text  # completed, no planned end
    for variant, users, converters, *_ in rows:
        assert f"*{variant}*" in message.all_text
        assert f"{fmt.count(users)} users · {fmt.count(converters)} converted" in message.all_text
    assert "Data as of" in message.all_text
    assert_within_block_kit_limits(message.blocks or [])
    assert upload.data is not None and upload.data.startswith(PNG_SIGNATURE)
    assert (upload.channel, upload.filename) == (CHANNEL, "experiment.png")


def test_retention_posts_pooled_rates_and_the_heatmap(bot: Bot, built_db: Path) -> None:
    bot.ask("retention")

    message = bot.channel_message()
    upload = bot.upload()

    [(cohorts, users, rate)] = mart(
        built_db,
        "with recent as (select distinct cohort_week from main.retention_weekly "
        "order by cohort_week desc limit 12) "
        "select count(*), sum(cohort_size), sum(active_users) / sum(cohort_size) "
        "from main.retention_weekly where week_n = 1 and cohort_week in (from recent)",
    )
    assert header_of(message) == "Weekly retention"
    expected = f"Week-1 retention: *{fmt.rate(rate)}* (pooled over {cohorts} cohorts, "
    assert expected + f"{fmt.count(users)} users)" in message.all_text
    assert_within_block_kit_limits(message.blocks or [])
    assert upload.data is not None and upload.data.startswith(PNG_SIGNATURE)
    assert (upload.channel, upload.filename) == (CHANNEL, "retention.png")


@pytest.mark.parametrize("text", ["help", "help revenue"])  # `/kpi` alone: test_slack_builder.py
def test_help_is_private_and_posts_nothing_in_the_channel(bot: Bot, text: str) -> None:
    sent = bot.ask(text)

    reply = bot.private_reply(sent)

    assert reply.ephemeral and reply.response_type == "ephemeral"
    assert reply.replace_original is False
    assert header_of(reply) == "kpi-bot help"
    examples = ("/kpi revenue last 30 days", "/kpi ab checkout_redesign", "/kpi retention")
    for example in examples[:1] if text == "help revenue" else examples:
        assert example in reply.all_text
    if text == "help revenue":  # a topic shows that topic's grammar, not everything
        assert "/kpi ab checkout_redesign" not in reply.all_text
        assert "`/kpi help`" in reply.all_text
    assert_within_block_kit_limits(reply.blocks or [])
    assert bot.slack.messages("chat.postMessage") == []


def test_experiment_list_is_private(bot: Bot) -> None:
    reply = bot.private_reply(bot.ask("ab"))

    assert reply.ephemeral
    for name in EXPERIMENTS:
        assert f"`{name}`" in reply.all_text
    assert bot.slack.messages("chat.postMessage") == []


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "text, expected",
    [
        ("forecast next week", ["I don't know the command `forecast`", "/kpi help"]),
        ("revenue since the dawn of time", ["couldn't read the window", "last 30 days"]),
        ("revenue 2019-01-01..2019-01-31", ["No revenue data", "2019-01-01", "data covers"]),
        ("ab no_such_test", ["I don't know an experiment called `no_such_test`", *EXPERIMENTS]),
        ("ab <!channel>", ["&lt;!channel&gt;"]),
    ],
    ids=["unknown-subcommand", "unparseable-window", "empty-window", "unknown-experiment", "ping"],
)
def test_bad_input_gets_a_specific_private_reply_and_the_next_command_works(
    bot: Bot, text: str, expected: list[str]
) -> None:
    reply = bot.private_reply(bot.ask(text))

    assert reply.ephemeral and reply.all_text.startswith(reply.text or "")
    for fragment in expected:
        assert fragment in reply.all_text
    assert "<!channel>" not in reply.all_text  # user text never pings anyone
    assert "Traceback" not in reply.all_text and "Something went wrong" not in reply.all_text
    assert bot.slack.messages("chat.postMessage") == []
    assert bot.slack.uploads(include_incomplete=True) == []

    bot.ask("revenue last 7 days")
    assert header_of(bot.channel_message()) == "Revenue · last 7 days"


def test_missing_warehouse_is_a_friendly_reply_and_recovers(
    slack: SlackDouble, built_db: Path, tmp_path: Path
) -> None:
    path = tmp_path / "kpi.duckdb"  # not there yet: the warehouse is unreachable
    with running_bot(slack, service_for(path)) as bot:
        reply = bot.private_reply(bot.ask("revenue last 30 days"))
        assert reply.ephemeral
        assert "warehouse file is missing" in reply.all_text
        assert str(tmp_path) not in reply.all_text  # the path is for the log, not the asker
        assert slack.messages("chat.postMessage") == []

        shutil.copy(built_db, path)
        bot.ask("revenue last 30 days")
        assert header_of(bot.channel_message()) == "Revenue · last 30 days"


@pytest.fixture
def slow_retention_db(built_db: Path, tmp_path: Path) -> Path:
    """A copy whose retention mart is a view that scans for ever, like a stuck warehouse."""
    path = tmp_path / "slow.duckdb"
    shutil.copy(built_db, path)
    with duckdb.connect(str(path)) as con:
        con.execute("alter table main.retention_weekly rename to retention_weekly_real")
        con.execute(
            "create view main.retention_weekly as select r.* from main.retention_weekly_real r "
            "where (select count(*) from range(1000000000000) t where t.range % 7 = 8) = 0"
        )
    return path


def test_warehouse_timeout_is_a_friendly_reply_and_the_next_command_works(
    slack: SlackDouble, slow_retention_db: Path
) -> None:
    with running_bot(slack, service_for(slow_retention_db, timeout_s=0.5)) as bot:
        sent = bot.ask("retention")  # acked although the query will run until stopped
        reply = bot.private_reply(sent)
        assert reply.ephemeral
        assert "took longer than 0.5 s and was stopped" in reply.all_text
        assert slack.messages("chat.postMessage") == []

        bot.ask("revenue last 7 days")
        assert header_of(bot.channel_message()) == "Revenue · last 7 days"


# --------------------------------------------------------------------------- who may see what


@pytest.mark.parametrize(
    "settings, channel, user",
    [
        ({"allowed_channels": frozenset({"C0FINANCE"})}, CHANNEL, USER),
        (
            {"allowed_channels": frozenset({"C0FINANCE"}), "allowed_users": frozenset({"U0CFO"})},
            "C0FINANCE",
            USER,
        ),
    ],
    ids=["channel-not-allowed", "user-not-allowed"],
)
def test_allowlists_refuse_revenue_politely(
    slack: SlackDouble, built_db: Path, settings: dict, channel: str, user: str
) -> None:
    with running_bot(slack, service_for(built_db), **settings) as bot:
        reply = bot.private_reply(bot.ask("revenue last 30 days", channel_id=channel, user_id=user))
        assert reply.ephemeral and "Revenue figures aren't shared" in reply.all_text
        assert "$" not in reply.all_text
        assert slack.messages("chat.postMessage") == []

        bot.ask("revenue last 30 days", channel_id="C0FINANCE", user_id="U0CFO")
        assert header_of(bot.channel_message("C0FINANCE")) == "Revenue · last 30 days"


def test_a_user_allowlist_alone_answers_revenue_privately(
    slack: SlackDouble, built_db: Path
) -> None:
    """KPI_ALLOWED_USERS decides who may ask, not who sees: without a channel allowlist
    no channel is public for revenue, so an allowed user's answer is private."""
    with running_bot(slack, service_for(built_db), allowed_users=frozenset({"U0CFO"})) as bot:
        reply = bot.private_reply(bot.ask("revenue last 30 days", user_id="U0CFO"))
        assert reply.ephemeral and "only shown privately" in reply.all_text
        assert header_of(reply) == "Revenue · last 30 days"
        refused = bot.private_reply(bot.ask("revenue last 30 days", user_id=USER))
        assert "aren't shared with you" in refused.all_text and "$" not in refused.all_text
        assert slack.messages("chat.postMessage") == []
        assert slack.messages("files.completeUploadExternal") == []


def test_allowlists_default_to_open(bot: Bot) -> None:
    bot.ask("revenue last 30 days", channel_id="C0ANYWHERE", user_id="U0ANYONE")
    assert header_of(bot.channel_message("C0ANYWHERE")) == "Revenue · last 30 days"


# --------------------------------------------------------------------------- Slack failures


@pytest.mark.parametrize(
    "channel, membership, error, hint",
    [
        ("C0PRIVATE", {"is_member": False}, "not_in_channel", "/invite @kpi-bot"),
        ("C0OLD", {"archived": True}, "is_archived", "This channel is archived"),
        ("D0SOMEDM", None, "channel_not_found", "I can't post in this conversation"),
    ],
)
def test_where_the_bot_cant_post_it_says_why_and_shows_the_figures_privately(
    bot: Bot, channel: str, membership: dict | None, error: str, hint: str
) -> None:
    if membership is None:  # a DM between two people: Slack says channel_not_found
        bot.slack.fail_next("chat.postMessage", error="channel_not_found")
    else:
        bot.slack.add_channel(channel, **membership)

    reply = bot.private_reply(bot.ask("revenue last 30 days", channel_id=channel))

    [refused] = bot.slack.calls("chat.postMessage")
    assert refused.response["error"] == error
    assert reply.ephemeral and hint in reply.all_text
    assert header_of(reply) == "Revenue · last 30 days"  # the figures, just for the asker
    assert_within_block_kit_limits(reply.blocks or [])
    assert bot.slack.messages("chat.postMessage") == []
    assert bot.slack.calls("files.getUploadURLExternal") == []  # no orphan chart


def test_rate_limited_post_is_retried_after_retry_after(bot: Bot) -> None:
    bot.slack.rate_limit_next("chat.postMessage", retry_after=1)

    bot.ask("revenue last 7 days")
    bot.upload()

    limited, accepted = bot.slack.calls("chat.postMessage")
    assert (limited.status, accepted.status) == (429, 200)
    assert len(bot.slack.messages("chat.postMessage")) == 1
    assert bot.slack.messages(RESPONSE_URL) == []


def test_server_error_on_post_is_not_retried_and_the_user_is_told(bot: Bot) -> None:
    bot.slack.server_error_next("chat.postMessage", status=500)

    reply = bot.private_reply(bot.ask("revenue last 7 days"))

    assert len(bot.slack.calls("chat.postMessage")) == 1  # a 5xx may have posted: no repeat
    assert reply.ephemeral and "Slack didn't accept the answer" in reply.all_text
    assert bot.slack.calls("files.getUploadURLExternal") == []


def test_failed_chart_upload_keeps_the_message_and_says_so(bot: Bot) -> None:
    bot.slack.server_error_next(UPLOAD_URL, status=500, times=None)

    sent = bot.ask("revenue last 7 days")
    reply = bot.private_reply(sent)

    assert header_of(bot.channel_message()) == "Revenue · last 7 days"
    assert "the chart couldn't be uploaded" in reply.all_text and "http_500" in reply.all_text
    assert len(bot.slack.calls(UPLOAD_URL)) == 3  # retried with fresh uploads, then given up
    assert bot.slack.uploads() == []
    bot.slack.clear_faults()


# --------------------------------------------------------------------------- request security


def _no_signature(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if not k.startswith("X-Slack")}


@pytest.mark.parametrize("kind", ["forged", "missing", "stale", "tampered"])
def test_unverified_requests_get_401_and_no_work_is_done(bot: Bot, kind: str) -> None:
    body = slash_command_body("revenue last 30 days", response_url=bot.slack.response_url("x"))
    headers = {
        "forged": signed_headers("not-the-secret", body),
        "missing": _no_signature(signed_headers(SECRET, body)),
        "stale": signed_headers(SECRET, body, timestamp=int(time.time()) - 301),
        "tampered": signed_headers(SECRET, body.replace("C0TEST", "C0OTHER")),
    }[kind]
    calls_before = len(bot.slack.calls())

    status, _ = post_signed(bot.url, body, headers)

    assert status == 401
    # A correctly signed command sent afterwards is answered; it is the only work done.
    sentinel = bot.ask("help")
    bot.private_reply(sentinel)
    later = bot.slack.calls()[calls_before:]
    assert [c.method for c in later] == [RESPONSE_URL]
    assert later[0].path.endswith(sentinel.response_url_name)


def test_redelivery_with_retry_num_gets_no_second_answer(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.slack")
    trigger = "1234567890.retry.trigger"

    first = bot.ask("revenue last 7 days", trigger_id=trigger)
    second = bot.send(
        "revenue last 7 days",
        trigger_id=trigger,
        headers=retry_headers(1, "http_timeout"),
    )

    assert (second.status, second.body) == (200, "")  # acked, so Slack stops retrying
    bot.upload()
    _wait(lambda: any("repeated delivery" in r.getMessage() for r in caplog.records))
    assert len(bot.slack.messages("chat.postMessage")) == 1
    assert len(bot.slack.uploads(include_incomplete=True)) == 1
    assert bot.slack.messages(RESPONSE_URL) == []
    assert first.response_url_name != second.response_url_name


def _wait(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.02)


# --------------------------------------------------------------------------- rendering limits


def test_a_huge_answer_still_fits_block_kit_and_is_accepted(slack: SlackDouble) -> None:
    """An answer far beyond Slack's limits is trimmed, and the double (which refuses
    anything over the limits, as Slack does) accepts it."""
    from bot.answers import ExperimentListAnswer, Freshness
    from bot.kinds import answer_blocks, answer_text
    from bot.sender import SlackSender, message_client
    from bot.warehouse.base import ExperimentInfo

    infos = tuple(
        ExperimentInfo(
            experiment_id=f"experiment_{n:04d}_" + "x" * 200,
            variants=3,
            users=1000 + n,
            excluded_users=0,
            first_assigned_at=CLOCK - timedelta(days=30),
            last_assigned_at=CLOCK,
        )
        for n in range(600)
    )
    answer = ExperimentListAnswer(infos, Freshness(CLOCK, CLOCK, 36.0))
    blocks = answer_blocks(answer)
    assert_within_block_kit_limits(blocks)

    sender = SlackSender(message_client(TOKEN, slack.base_url))
    result = sender.post_blocks(CHANNEL, blocks, answer_text(answer))

    assert result.posted and result.error is None
    [message] = slack.messages("chat.postMessage")
    assert "more than fits" in message.all_text


# --------------------------------------------------------------------------- python -m bot serve


@pytest.mark.parametrize(
    "env, variable",
    [
        ({}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxp-a-user-token", "SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": TOKEN}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": "xoxb-wrong-kind"}, "SLACK_APP_TOKEN"),
        ({"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
        ({"SLACK_BOT_TOKEN": TOKEN, "KPI_ALLOWED_CHANNELS": "general"}, "KPI_ALLOWED_CHANNELS"),
    ],
)
def test_serve_refuses_to_start_naming_the_variable(
    env: dict[str, str],
    variable: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    code = main(["serve", "--host", "127.0.0.1", "--port", "0"])

    err = capsys.readouterr().err
    assert code == 2
    [line] = [line for line in err.splitlines() if line.startswith("error:")]
    assert variable in line
    assert "Traceback" not in err


def test_serve_refuses_a_token_slack_rejects_or_an_unreachable_api(
    slack: SlackDouble, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
    monkeypatch.setenv("SLACK_API_URL", slack.base_url)

    rejected = main(["serve", "--host", "127.0.0.1", "--port", "0"])
    rejected_err = capsys.readouterr().err
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")  # nothing listens there
    unreachable = main(["serve", "--host", "127.0.0.1", "--port", "0"])
    unreachable_err = capsys.readouterr().err

    assert slack.calls("auth.test")[0].response["error"] == "invalid_auth"
    assert rejected == unreachable == 2
    assert gc.isenabled()  # serve pauses the collector for start-up; a failed start resumes it
    assert "error: Slack rejected SLACK_BOT_TOKEN" in rejected_err
    assert "error: Couldn't reach Slack's Web API at SLACK_API_URL=http://127.0.0.1:9/api/" in (
        unreachable_err
    )
    assert "Traceback" not in rejected_err + unreachable_err
    assert "xoxb-revoked" not in rejected_err + unreachable_err


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read().decode()


def test_python_m_bot_serve_answers_over_http_and_stops_on_sigterm(
    slack: SlackDouble, built_db: Path, tmp_path: Path
) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.base_url,
        "KPI_DUCKDB_PATH": str(built_db),
        "KPI_STATE_DB": f"sqlite:///{tmp_path / 'state.sqlite'}",  # the digest's ledger
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "0"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in process.stderr], daemon=True).start()
    try:
        port = _listening_port(lines)
        base = f"http://127.0.0.1:{port}"
        bot = Bot(f"{base}/slack/events", slack)

        assert _get(f"{base}/healthz") == (200, '{"ok": true}')
        assert _get(f"{base}/nowhere")[0] == 404
        reply = bot.private_reply(bot.ask("help"))
        bot.ask("ab checkout_redesign")
        process.send_signal(signal.SIGTERM)  # at once: the acked command is still answered
        message = bot.channel_message()
        upload = bot.upload()

        assert process.wait(timeout=30) == 0
        assert header_of(reply) == "kpi-bot help"
        assert header_of(message) == "Experiment · checkout_redesign"
        assert upload.data is not None and upload.data.startswith(PNG_SIGNATURE)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = "".join(iter_queue(lines))
    assert "Traceback" not in output and TOKEN not in output


def _listening_port(lines: queue.Queue[str]) -> int:
    seen = []
    while True:
        try:
            line = lines.get(timeout=60)
        except queue.Empty:
            raise AssertionError(f"the server never said where it listens: {seen}") from None
        seen.append(line)
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)/slack/events", line)
        if match:
            return int(match.group(1))


def iter_queue(lines: queue.Queue[str]) -> Iterator[str]:
    while not lines.empty():
        yield lines.get_nowait()


# --------------------------------------------------------------------------- the app manifest

# The bot scope each Web API method the bot calls needs (Slack's method docs).
SCOPE_OF_METHOD = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.postEphemeral": "chat:write",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "conversations.open": "im:write",  # Home's pinned questions (tests/test_slack_home.py)
    "views.open": None,
    "views.publish": None,
}
# Scopes of surfaces this file doesn't exercise (tests/test_slack_home.py checks them all).
HOME_ONLY_SCOPES = {"im:write"}


def test_manifest_declares_the_command_and_exactly_the_scopes_used(bot: Bot) -> None:
    manifest = yaml.safe_load((Path(__file__).parents[1] / "slack_app_manifest.yml").read_text())
    bot.ask("revenue last 7 days")
    bot.upload()
    bot.private_reply(bot.ask("help"))

    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/kpi" and command["url"].endswith(EVENTS_PATH)
    assert command["usage_hint"]
    api_methods = {c.method for c in bot.slack.calls()} - {UPLOAD_URL, RESPONSE_URL}
    used = {SCOPE_OF_METHOD[m] for m in api_methods} - {None}
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == used | {"commands"} | HOME_ONLY_SCOPES
    assert len(manifest["display_information"]["long_description"]) >= 175  # Slack's minimum
    assert manifest["settings"]["socket_mode_enabled"] is False  # HTTP by default


def test_socket_mode_health_server_has_no_slack_endpoint(
    slack: SlackDouble, built_db: Path
) -> None:
    """In Socket Mode there may be no signing secret to verify HTTP requests with, so the
    health server must not route Slack's endpoint at all: a clean 404, no work done."""
    config = Settings(
        slack_bot_token=TOKEN, slack_app_token="xapp-test", slack_api_url=slack.base_url
    )
    app = build_app(config, Services(settings=config, kpi=service_for(built_db)))
    server = make_http_server(app, "127.0.0.1", 0, serve_events=False)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.effective_port}"
        body = slash_command_body("revenue last 30 days", response_url=slack.response_url())
        status, _ = post_signed(f"{base}{EVENTS_PATH}", body, signed_headers("", body))
        health = _get(f"{base}/healthz")
    finally:
        stop_http_server(server)
        thread.join(timeout=5)
        assert not thread.is_alive(), "the HTTP server didn't stop"
        server.task_dispatcher.shutdown()

    assert status == 404 and health[0] == 200
    assert [c.method for c in slack.calls()] == ["auth.test"]  # only the App's start-up check
