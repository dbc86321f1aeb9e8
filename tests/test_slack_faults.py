"""Slack faults: retry where it is safe, say so plainly where it isn't, never post twice.

Everything runs through the production wiring (signed command → waitress → Bolt → the
real WebClient) against the Slack double's failure controls. What the Slack app tests
(``tests/test_slack_app.py``) already cover is not repeated here: one 429 on
``chat.postMessage``, a 5xx on ``chat.postMessage``, a 5xx on the upload URL that never
lifts, and ``not_in_channel`` for a channel the bot isn't in.

Added here: Retry-After honoured on every repeat, a rate limit that never lifts,
5xx/429 on the upload API calls and on the upload URL (retried, one file), a post that
times out after Slack took it (not reposted; the user isn't told "nothing was posted"),
``not_in_channel`` from Slack on a channel the bot thought it was in, and chart
completion failing or timing out after the message went out (never reposted).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from benchmarks.load import SECRET, TOKEN, running_bot
from bot.answers import RevenueAnswer
from bot.kinds import answer_blocks
from bot.sender import SlackSender, message_client, upload_client
from bot.service import KpiService
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.conftest import DEMO_END
from tests.slack_double import RESPONSE_URL, UPLOAD_URL, SentMessage, SlackDouble
from tests.slack_requests import post_signed, signed_headers, slash_command_body

CHANNEL = "C0FAULTS"
CLOCK = datetime.combine(DEMO_END + timedelta(days=1), datetime.min.time()) + timedelta(hours=8)


@dataclass
class Bot:
    url: str
    slack: SlackDouble
    sent: int = 0

    def ask(self, text: str, channel: str = CHANNEL) -> str:
        """Send a signed /kpi; returns the response_url name its private replies go to."""
        self.sent += 1
        name = f"cmd-{self.sent}"
        body = slash_command_body(
            text,
            channel_id=channel,
            response_url=self.slack.response_url(name),
            trigger_id=f"{self.sent}.faults.{name}",
        )
        assert post_signed(self.url, body, signed_headers(SECRET, body)) == (200, "")
        return name

    def private_reply(self, name: str, timeout: float = 30) -> SentMessage:
        [reply] = self.slack.wait_for(
            lambda: [m for m in self.slack.messages(RESPONSE_URL) if m.response_url_name == name],
            timeout=timeout,
        )
        return reply

    def posted(self, count: int = 1, timeout: float = 30) -> list[SentMessage]:
        return self.slack.wait_for(
            lambda: (lambda m: m if len(m) >= count else [])(
                self.slack.messages("chat.postMessage")
            ),
            timeout=timeout,
        )

    def shared(self, count: int = 1, timeout: float = 30) -> None:
        self.slack.wait_for(lambda: len(self.slack.uploads()) >= count, timeout=timeout)

    def settle(self) -> None:
        """Send ``help`` and wait for its reply: a round trip through the same pool that
        gives a late private reply from an earlier command time to show up."""
        name = self.ask("help")
        self.private_reply(name)


@contextmanager
def bot_on(db: Path, client_timeout_s: float | None = None) -> Iterator[Bot]:
    with SlackDouble(token=TOKEN) as slack:
        client = None
        if client_timeout_s is not None:
            # The production client (only rate limits retried), with a shorter timeout so
            # a test needn't wait the production 10 s.
            client = message_client(TOKEN, slack.base_url)
            client.timeout = client_timeout_s
        with running_bot(db, slack, client=client) as url:
            yield Bot(url, slack)
        assert slack.errors == []


def headers(messages: list[SentMessage]) -> list[str]:
    return [b["text"]["text"] for m in messages for b in m.blocks or [] if b["type"] == "header"]


# --------------------------------------------------------------------------- rate limits


def test_retry_after_is_honoured_on_every_repeat_and_one_message_posted(built_db: Path) -> None:
    with bot_on(built_db) as bot:
        bot.slack.rate_limit_next("chat.postMessage", retry_after=1, times=2)

        bot.ask("revenue last 7 days")
        bot.shared()

        calls = bot.slack.calls("chat.postMessage")
        assert [c.status for c in calls] == [429, 429, 200]
        # Slack's contract: don't come back before Retry-After.
        assert all(b.time - a.time >= 1.0 for a, b in itertools.pairwise(calls))
        assert headers(bot.slack.messages("chat.postMessage")) == ["Revenue · last 7 days"]
        assert len(bot.slack.uploads(include_incomplete=True)) == 1
        assert bot.slack.messages(RESPONSE_URL) == []


def test_a_rate_limit_that_never_lifts_is_reported_and_nothing_is_posted(built_db: Path) -> None:
    with bot_on(built_db) as bot:
        bot.slack.rate_limit_next("chat.postMessage", retry_after=1, times=10)

        reply = bot.private_reply(bot.ask("revenue last 7 days"))

        calls = bot.slack.calls("chat.postMessage")
        assert len(calls) == 4 and all(c.status == 429 for c in calls)  # 1 + 3 retries, then stop
        assert reply.ephemeral
        assert "ratelimited" in reply.all_text and "try again" in reply.all_text
        assert bot.slack.messages("chat.postMessage") == []
        assert bot.slack.calls("files.getUploadURLExternal") == []  # no chart without a message

        bot.slack.clear_faults()
        bot.ask("revenue last 7 days")
        assert headers(bot.posted()) == ["Revenue · last 7 days"]


# --------------------------------------------------------------------------- uploads


def test_upload_api_5xx_and_429_are_retried_and_the_chart_shared_once(built_db: Path) -> None:
    with bot_on(built_db) as bot:
        bot.slack.server_error_next("files.getUploadURLExternal", status=503)
        bot.slack.rate_limit_next("files.completeUploadExternal", retry_after=1)
        bot.slack.server_error_next("files.completeUploadExternal", status=500)

        bot.ask("ab checkout_redesign")
        bot.shared()
        bot.settle()

        assert [c.status for c in bot.slack.calls("files.getUploadURLExternal")] == [503, 200]
        assert [c.status for c in bot.slack.calls("files.completeUploadExternal")] == [
            429,
            500,
            200,
        ]
        [upload] = bot.slack.uploads()
        assert upload.filename == "experiment.png" and upload.channel == CHANNEL
        assert upload.data is not None and upload.data.startswith(b"\x89PNG")
        assert headers(bot.slack.messages("chat.postMessage")) == ["Experiment · checkout_redesign"]
        assert [m.response_url_name for m in bot.slack.messages(RESPONSE_URL)] == ["cmd-2"]


def test_upload_url_5xx_and_429_get_a_fresh_upload_and_one_shared_file(built_db: Path) -> None:
    with bot_on(built_db) as bot:
        bot.slack.server_error_next(UPLOAD_URL, status=503)
        bot.slack.rate_limit_next(UPLOAD_URL, retry_after=1)

        name = bot.ask("revenue last 7 days")
        bot.shared()
        bot.settle()

        assert [c.status for c in bot.slack.calls(UPLOAD_URL)] == [503, 429, 200]
        # Each retry asked for a new upload URL; only the last one was completed and shared.
        assert len(bot.slack.calls("files.getUploadURLExternal")) == 3
        assert len(bot.slack.calls("files.completeUploadExternal")) == 1
        assert len(bot.slack.uploads(include_incomplete=True)) == 3
        [upload] = bot.slack.uploads()
        assert upload.data is not None and upload.data.startswith(b"\x89PNG")
        assert headers(bot.slack.messages("chat.postMessage")) == ["Revenue · last 7 days"]
        # The answer is whole, so the asker gets no private warning.
        assert [m.response_url_name for m in bot.slack.messages(RESPONSE_URL)] == ["cmd-2"]
        assert name == "cmd-1"


def test_chart_completion_refused_after_the_message_is_not_reposted(built_db: Path) -> None:
    with bot_on(built_db) as bot:
        bot.slack.fail_next("files.completeUploadExternal", "internal_error")

        name = bot.ask("retention")
        reply = bot.private_reply(name)

        assert headers(bot.slack.messages("chat.postMessage")) == ["Weekly retention"]
        assert len(bot.slack.calls("chat.postMessage")) == 1
        assert "chart couldn't be uploaded" in reply.all_text and "internal_error" in reply.all_text
        assert bot.slack.uploads() == []

        bot.ask("retention")  # the next one is whole again
        bot.shared()
        assert headers(bot.posted(2)) == ["Weekly retention", "Weekly retention"]


# --------------------------------------------------------------------------- timeouts


def test_a_post_that_times_out_after_slack_took_it_is_not_reposted(built_db: Path) -> None:
    with bot_on(built_db, client_timeout_s=1.0) as bot:
        bot.slack.delay_next("chat.postMessage", seconds=3.0)  # done, then answered late

        reply = bot.private_reply(bot.ask("revenue last 7 days"))

        # Slack took it: one message in the channel, and the bot didn't send another.
        assert len(bot.slack.calls("chat.postMessage")) == 1
        assert headers(bot.slack.messages("chat.postMessage")) == ["Revenue · last 7 days"]
        # The user isn't told something false: it may well have been posted.
        assert reply.ephemeral
        assert "Nothing was posted" not in reply.all_text
        assert "may" in reply.all_text and "channel" in reply.all_text
        assert bot.slack.calls("files.getUploadURLExternal") == []

        bot.ask("revenue last 7 days")  # Slack is answering in time again
        bot.shared()
        assert len(bot.posted(2)) == 2


def test_an_upload_that_times_out_is_not_repeated_and_the_message_stays_single(
    built_db: Path,
) -> None:
    """The sender with clients on short timeouts (the production ones take 10 s)."""
    kpi = KpiService(MartReader(DuckDBWarehouse(built_db)), clock=lambda: CLOCK)
    answer = kpi.ask("revenue last 7 days")
    kpi.reader.warehouse.close()
    assert isinstance(answer, RevenueAnswer)
    with SlackDouble(token=TOKEN) as slack:
        messages, uploads = (
            message_client(TOKEN, slack.base_url),
            upload_client(TOKEN, slack.base_url),
        )
        messages.timeout = uploads.timeout = 1
        sender = SlackSender(messages, uploads)
        slack.delay_next("files.completeUploadExternal", seconds=3.0)

        result = sender.post_answer(CHANNEL, answer)

        assert result.posted and result.error is None
        assert result.upload_errors == ["transport_error"]
        assert len(slack.calls("chat.postMessage")) == 1
        assert len(slack.calls("files.completeUploadExternal")) == 1  # not repeated
        [message] = slack.messages("chat.postMessage")
        assert message.blocks == answer_blocks(answer)
        assert len(slack.uploads()) == 1  # Slack did share it, once
        assert [c.method for c in slack.calls()].count(UPLOAD_URL) == 1


# --------------------------------------------------------------------------- membership


@pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found"])
def test_slack_refusing_the_channel_gets_a_private_hint_with_the_figures(
    built_db: Path, error: str
) -> None:
    with bot_on(built_db) as bot:
        bot.slack.fail_next("chat.postMessage", error)

        reply = bot.private_reply(bot.ask("ab checkout_redesign"))

        assert reply.ephemeral and reply.replace_original is False
        if error == "not_in_channel":
            assert "/invite @kpi-bot" in reply.all_text
        else:
            assert "can't post in this conversation" in reply.all_text
        assert "Experiment · checkout_redesign" in headers([reply])  # the figures, privately
        assert bot.slack.messages("chat.postMessage") == []
        assert len(bot.slack.calls("chat.postMessage")) == 1  # a refusal is not retried
        assert bot.slack.calls("files.getUploadURLExternal") == []
