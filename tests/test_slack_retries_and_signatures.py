"""Slack's redeliveries never answer twice; unverifiable requests never do anything.

Complements ``tests/test_slack_app.py`` (forged, missing, stale-by-301 s and tampered
signatures → 401; one ``X-Slack-Retry-Num`` redelivery after a normal answer). Here:

* redeliveries 1–3 arriving while the first delivery's work is still running (a slow
  warehouse query), and one arriving after the answer: one answer in all;
* a captured, answered request replayed with its original signature and timestamp but
  a modified body → 401 and the double records nothing; replayed unmodified → acked,
  and still nothing new happens;
* timestamps more than 5 minutes in the future, garbage timestamps, each header
  missing on its own, a signature of the wrong version, an empty body → 401, nothing
  recorded.

All over real HTTP (waitress + Bolt) with the Slack double.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from benchmarks.load import SECRET, running_bot
from benchmarks.load import TOKEN as TOKEN  # the conftest `slack` double expects the bot's token
from bot.slack.dedupe import PURGE_EVERY, SeenRequests, SharedSeenRequests
from bot.state import state_engine
from tests.slack_double import RESPONSE_URL, SlackDouble
from tests.slack_requests import post_signed, retry_headers, signed_headers, slash_command_body

CHANNEL = "C0RETRY"


@dataclass
class Bot:
    url: str
    slack: SlackDouble

    def body(self, text: str, name: str, channel: str = CHANNEL) -> str:
        return slash_command_body(
            text,
            channel_id=channel,
            response_url=self.slack.response_url(name),
            trigger_id=f"4242.{name}.trigger",
        )

    def post(self, body: str, headers: dict[str, str]) -> tuple[int, str]:
        return post_signed(self.url, body, headers)


@pytest.fixture
def bot(slack: SlackDouble, built_db: Path) -> Iterator[Bot]:
    with running_bot(built_db, slack) as url:
        yield Bot(url, slack)


def slow_retention_copy(built_db: Path, path: Path) -> Path:
    """A copy whose retention mart takes seconds to read (a slow warehouse)."""
    shutil.copyfile(built_db, path)
    with duckdb.connect(str(path)) as con:
        con.execute("alter table main.retention_weekly rename to retention_weekly_real")
        con.execute(
            "create view main.retention_weekly as select r.* from main.retention_weekly_real r "
            "where (select count(*) from range(1000000000) t where t.range % 7 = 8) = 0"
        )
    return path


# --------------------------------------------------------------------------- redelivery


def test_redeliveries_during_and_after_the_work_produce_one_answer(
    slack: SlackDouble, built_db: Path, tmp_path: Path
) -> None:
    db = slow_retention_copy(built_db, tmp_path / built_db.name)
    with running_bot(db, slack) as url:
        bot = Bot(url, slack)
        body = bot.body("retention", "slow")  # Slack redelivers the identical body

        assert bot.post(body, signed_headers(SECRET, body)) == (200, "")
        for n in (1, 2, 3):  # as Slack does when it thinks the ack was too slow
            resent = signed_headers(SECRET, body) | retry_headers(n, "http_timeout")
            assert bot.post(body, resent) == (200, ""), f"retry {n} not acked"
        # The first delivery's query is still running: nothing has been answered yet.
        assert slack.messages("chat.postMessage") == []
        assert slack.messages(RESPONSE_URL) == []

        slack.wait_for(lambda: slack.uploads(), timeout=120)
        late = signed_headers(SECRET, body) | retry_headers(3, "http_error")
        assert bot.post(body, late) == (200, "")  # after the answer, too
        help_body = bot.body("help", "sentinel")  # a later command's reply: work drained
        bot.post(help_body, signed_headers(SECRET, help_body))
        slack.wait_for(lambda: slack.messages(RESPONSE_URL), timeout=30)

        [message] = slack.messages("chat.postMessage")
        assert message.channel == CHANNEL
        assert any(b["type"] == "header" and b["text"]["text"] == "Weekly retention"
                   for b in message.blocks or [])  # fmt: skip
        assert len(slack.uploads(include_incomplete=True)) == 1
        assert [m.response_url_name for m in slack.messages(RESPONSE_URL)] == ["sentinel"]


# --------------------------------------------------------------------------- replay


def test_a_replay_with_a_modified_body_is_refused_and_does_nothing(bot: Bot) -> None:
    body = bot.body("help", "original")
    captured = signed_headers(SECRET, body)
    assert bot.post(body, captured) == (200, "")
    bot.slack.wait_for(lambda: bot.slack.messages(RESPONSE_URL))
    before = len(bot.slack.calls())

    modified = [
        body.replace("text=help", "text=revenue+last+30+days"),
        body.replace(CHANNEL, "C0ELSEWHERE"),
        body.replace("original", "attacker"),  # the response_url: where replies go
        body + "&text=revenue",
        body[:-1],
    ]
    for tampered in modified:
        assert tampered != body
        status, _ = bot.post(tampered, captured)  # the original signature and timestamp
        assert status == 401, tampered

    # The exact replay verifies (within 5 minutes it can't be told from a retry) but is
    # the same command: acknowledged, not answered again.
    assert bot.post(body, captured) == (200, "")
    sentinel = bot.body("help", "sentinel", channel="C0SENTINEL")
    assert bot.post(sentinel, signed_headers(SECRET, sentinel)) == (200, "")
    bot.slack.wait_for(
        lambda: [m for m in bot.slack.messages(RESPONSE_URL) if m.response_url_name == "sentinel"]
    )
    later = bot.slack.calls()[before:]
    assert [(c.method, c.path.rsplit("/", 1)[-1]) for c in later] == [(RESPONSE_URL, "sentinel")]


# --------------------------------------------------------------------------- bad headers


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != name}


@pytest.mark.parametrize(
    "case",
    [
        "future-timestamp",
        "stale-by-an-hour",
        "timestamp-not-a-number",
        "timestamp-empty",
        "timestamp-superscript",
        "no-timestamp-header",
        "no-signature-header",
        "signature-v1",
        "signature-uppercase-hex",
        "signature-empty",
        "empty-body",
    ],
)
def test_unverifiable_requests_get_401_and_the_double_records_nothing(bot: Bot, case: str) -> None:
    body = bot.body("revenue last 30 days", "refused")
    now = int(time.time())
    good = signed_headers(SECRET, body)
    sig = good["X-Slack-Signature"]
    headers, sent = {
        "future-timestamp": (signed_headers(SECRET, body, timestamp=now + 301), body),
        "stale-by-an-hour": (signed_headers(SECRET, body, timestamp=now - 3600), body),
        "timestamp-not-a-number": (good | {"X-Slack-Request-Timestamp": "soon"}, body),
        "timestamp-empty": (good | {"X-Slack-Request-Timestamp": ""}, body),
        "timestamp-superscript": (good | {"X-Slack-Request-Timestamp": "\u00b2"}, body),
        "no-timestamp-header": (_without(good, "X-Slack-Request-Timestamp"), body),
        "no-signature-header": (_without(good, "X-Slack-Signature"), body),
        "signature-v1": (good | {"X-Slack-Signature": "v1=" + sig[3:]}, body),
        "signature-uppercase-hex": (good | {"X-Slack-Signature": "v0=" + sig[3:].upper()}, body),
        "signature-empty": (good | {"X-Slack-Signature": ""}, body),
        "empty-body": (good, ""),
    }[case]
    before = len(bot.slack.calls())

    status, _ = bot.post(sent, headers)

    assert status == 401
    # A correctly signed command afterwards is answered, and is the only thing Slack saw.
    sentinel = bot.body("help", "sentinel")
    assert bot.post(sentinel, signed_headers(SECRET, sentinel)) == (200, "")
    bot.slack.wait_for(lambda: bot.slack.messages(RESPONSE_URL))
    assert [c.path.rsplit("/", 1)[-1] for c in bot.slack.calls()[before:]] == ["sentinel"]


# --------------------------------------------------------------------------- replicas


@pytest.mark.parametrize("store", ["sqlite", "postgresql", "memory"])
def test_a_redelivery_to_another_replica_is_answered_once_with_a_shared_state_db(
    request: pytest.FixtureRequest, slack: SlackDouble, built_db: Path, tmp_path: Path, store: str
) -> None:
    """Two replicas behind a load balancer: the first delivery reaches one, Slack's
    retry the other. With ``KPI_STATE_DB`` shared (what ``serve`` uses; SQLite and
    PostgreSQL) one answers; with memory only, both do — the case the table exists for."""
    shared = store != "memory"
    if store == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    elif store == "postgresql":
        url = request.getfixturevalue("postgres").new_database()
    replica_db = tmp_path / built_db.name  # each replica reads its own warehouse file
    shutil.copyfile(built_db, replica_db)

    def seen() -> SeenRequests:  # each replica has its own engine, as separate processes do
        return SharedSeenRequests(state_engine(url)) if shared else SeenRequests()

    def posted() -> list[str]:
        return [
            b["text"]["text"]
            for m in slack.messages("chat.postMessage")
            for b in m.blocks or []
            if b["type"] == "header"
        ]

    with (
        running_bot(built_db, slack, seen=seen()) as first,
        running_bot(replica_db, slack, seen=seen()) as second,
    ):
        bot = Bot(first, slack)
        body = bot.body("revenue last 7 days", "lb")
        assert post_signed(first, body, signed_headers(SECRET, body)) == (200, "")
        resent = signed_headers(SECRET, body) | retry_headers(1, "http_timeout")
        assert post_signed(second, body, resent) == (200, "")

        expected = ["Revenue · last 7 days"] * (1 if shared else 2)
        slack.wait_for(lambda: len(slack.uploads()) >= len(expected), timeout=60)
        time.sleep(1.0)  # an answer takes ~0.1 s: a second one would be here by now

    assert posted() == expected
    assert slack.messages(RESPONSE_URL) == []


def test_the_shared_check_claims_once_across_replicas_and_expires(state_db_url: str) -> None:
    url = state_db_url
    now = [datetime(2026, 11, 30, 9, 0)]
    one = SharedSeenRequests(state_engine(url), ttl_s=60, clock=lambda: now[0])
    other = SharedSeenRequests(state_engine(url), ttl_s=60, clock=lambda: now[0])

    assert one.first_time("trigger:1") is True
    assert one.first_time("trigger:1") is False  # this process remembers
    assert other.first_time("trigger:1") is False  # the other replica sees the claim
    assert other.first_time("trigger:2") is True and one.first_time("trigger:2") is False
    assert one.first_time("payload:" + "x" * 20_000) is True  # long keys are hashed

    # Old claims are purged every PURGE_EVERY claims; after that a key is new again.
    now[0] += timedelta(minutes=5)
    for n in range(PURGE_EVERY):
        assert other.first_time(f"filler:{n}") is True
    third = SharedSeenRequests(state_engine(url), ttl_s=60, clock=lambda: now[0])
    assert third.first_time("trigger:1") is True


def test_the_shared_check_fails_open_when_the_state_db_is_gone(tmp_path: Path, caplog) -> None:
    """A state DB that can't be written: answer anyway (a lost answer is worse)."""
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    broken = SharedSeenRequests(state_engine(url))
    (tmp_path / "state.sqlite").unlink()
    (tmp_path / "state.sqlite").mkdir()
    broken.engine.dispose()
    with caplog.at_level("WARNING", logger="bot.slack"):
        assert broken.first_time("trigger:3") is True
        assert broken.first_time("trigger:3") is False  # this process still remembers
    assert "state DB unavailable" in caplog.text
