"""Tokens and the signing secret never reach logs, replies, error messages or the console.

Distinctive fake values (a bot token, a signing secret and an app-level token, each with
a random marker) go in through the same doors as in production: ``Settings`` from the
environment, ``python -m bot serve``, the Bolt app. Then the bot works and fails in
every way we can provoke: good answers with charts, bad input, a missing warehouse,
Slack refusing or failing calls (errors, 5xx, 429), unverifiable requests, bad settings,
a token Slack rejects at start-up, an unreachable Slack, and Socket Mode whose app
token Slack rejects. Every log record (all loggers at DEBUG: bot, slack_sdk, slack_bolt,
urllib3, waitress, …), every reply the Slack double received and everything written to
stdout/stderr (file-descriptor level, so child output and C libraries count too) is
searched for each secret and for its random marker alone.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.load import running_bot
from bot.cli import main
from bot.settings import Settings, SettingsError
from tests.slack_double import RESPONSE_URL, SlackDouble
from tests.slack_requests import post_signed, signed_headers, slash_command_body

MARK = uuid.uuid4().hex[:12]
BOT_TOKEN = f"xoxb-1111-2222-BOTTOKEN{MARK}"
SIGNING_SECRET = f"SIGNINGSECRET{MARK}deadbeef"
APP_TOKEN = f"xapp-1-A0APP-3333-APPTOKEN{MARK}"
SECRETS = (BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, MARK)
LOGGERS = ("", "bot", "slack_sdk", "slack_bolt", "urllib3", "waitress", "apscheduler", "duckdb")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def all_log_text(caplog: pytest.LogCaptureFixture) -> str:
    """Messages, arguments and formatted tracebacks of every record."""
    handler = logging.Handler()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    parts = []
    for record in caplog.records:
        parts.append(handler.format(record))
        parts.append(repr(record.args))
    return "\n".join(parts)


def slack_seen(slack: SlackDouble) -> str:
    """Every message text and block Slack accepted, and every answer the double gave."""
    texts = [m.all_text for m in slack.messages()]
    texts += [repr(c.response) for c in slack.calls()]
    texts += [u.title or "" for u in slack.uploads(include_incomplete=True)]
    return "\n".join(texts)


def command(url: str, slack: SlackDouble, text: str, name: str, channel: str = "C0SECRET") -> None:
    body = slash_command_body(
        text, channel_id=channel, response_url=slack.response_url(name), trigger_id=f"7.{name}"
    )
    assert post_signed(url, body, signed_headers(SIGNING_SECRET, body)) == (200, "")


def private_reply(slack: SlackDouble, name: str) -> str:
    """Wait for the private reply to command ``name`` (one at a time: faults are queued
    per Slack method, so commands in parallel could take each other's)."""
    [reply] = slack.wait_for(
        lambda: [m for m in slack.messages(RESPONSE_URL) if m.response_url_name == name],
        timeout=60,
    )
    return reply.all_text


def test_secrets_stay_out_of_logs_and_replies_while_the_bot_works_and_fails(
    everything_logged: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    built_db: Path,
    tmp_path: Path,
) -> None:
    with SlackDouble(token=BOT_TOKEN) as slack:
        with running_bot(built_db, slack, token=BOT_TOKEN, secret=SIGNING_SECRET) as url:
            command(url, slack, "revenue last 7 days", "ok")  # message + chart
            slack.wait_for(lambda: slack.uploads(), timeout=60)
            replies = {}
            command(url, slack, "ab <!channel> '; drop table x; --", "bad-input")
            replies["bad-input"] = private_reply(slack, "bad-input")
            command(url, slack, "help", "help")
            replies["help"] = private_reply(slack, "help")

            slack.fail_next("chat.postMessage", "invalid_auth")  # Slack refuses the token
            command(url, slack, "retention", "refused")
            replies["refused"] = private_reply(slack, "refused")
            slack.server_error_next("chat.postMessage", status=503)
            command(url, slack, "retention 4", "5xx")
            replies["5xx"] = private_reply(slack, "5xx")
            slack.rate_limit_next("chat.postMessage", retry_after=1)
            slack.server_error_next("files.getUploadURLExternal", status=500, times=3)
            command(url, slack, "ab checkout_redesign", "upload-fails")
            replies["upload-fails"] = private_reply(slack, "upload-fails")

            forged = slash_command_body("revenue", response_url=slack.response_url("forged"))
            assert post_signed(url, forged, signed_headers("wrong-secret", forged))[0] == 401
            stale = signed_headers(SIGNING_SECRET, forged, timestamp=1)
            assert post_signed(url, forged, stale)[0] == 401
        # A warehouse that isn't there.
        with running_bot(
            tmp_path / "missing.duckdb", slack, token=BOT_TOKEN, secret=SIGNING_SECRET
        ) as url:
            command(url, slack, "revenue last 7 days", "no-warehouse")
            replies["no-warehouse"] = private_reply(slack, "no-warehouse")
        seen = slack_seen(slack)
        # The token really was used (so a leak had every chance to happen).
        assert {c.token for c in slack.calls("chat.postMessage")} == {BOT_TOKEN}
        assert slack.errors == []

    assert "invalid_auth" in replies["refused"]  # the failures really happened
    assert "internal_error" in replies["5xx"]
    assert "chart couldn't be uploaded" in replies["upload-fails"]
    assert "warehouse file is missing" in replies["no-warehouse"]
    logs = all_log_text(everything_logged)
    assert any(r.name.startswith("slack_sdk") and r.levelno == logging.DEBUG
               for r in everything_logged.records)  # fmt: skip
    out, err = capfd.readouterr()
    assert leaks(seen) == []
    assert leaks(logs) == []
    assert leaks(out + err) == []


def test_settings_errors_and_reprs_never_show_secrets(
    everything_logged: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    good = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_APP_TOKEN": APP_TOKEN,
    }
    texts = [repr(Settings.from_env(good)), str(Settings.from_env(good))]
    broken = [
        {"KPI_QUERY_TIMEOUT_S": "soon"},
        {"SLACK_API_URL": "slack.com/api"},
        {"KPI_ALLOWED_CHANNELS": "general,#random"},
        {"KPI_WAREHOUSE": "oracle"},
        {"KPI_TIMEZONE": "Mars/Olympus"},
        {"KPI_WAREHOUSE": "bigquery"},  # no project
    ]
    for extra in broken:
        with pytest.raises(SettingsError) as caught:
            Settings.from_env(good | extra)
        texts.append(str(caught.value))
        texts.append(repr(caught.value))
    wrong_kinds = [
        Settings(slack_bot_token=f"xoxp-user-{MARK}", slack_signing_secret=SIGNING_SECRET),
        Settings(slack_bot_token=BOT_TOKEN, slack_app_token=f"xoxb-not-an-app-token-{MARK}"),
    ]
    for settings, socket_mode in zip(wrong_kinds, (False, True), strict=True):
        with pytest.raises(SettingsError) as caught:
            settings.require_slack(socket_mode=socket_mode)
        texts.append(str(caught.value))

    assert [t for t in texts if leaks(t)] == []
    out, err = capfd.readouterr()
    assert leaks(out + err + all_log_text(everything_logged)) == []


def test_serve_failing_at_start_up_never_prints_secrets(
    everything_logged: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    built_db: Path,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("KPI_DUCKDB_PATH", str(built_db))
    monkeypatch.setenv("KPI_STATE_DB", f"sqlite:///{tmp_path / 'state.sqlite'}")
    serve = ["serve", "--host", "127.0.0.1", "--port", "0"]
    codes = []
    with SlackDouble(token="xoxb-the-only-token-slack-accepts") as slack:
        monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)  # Slack rejects it (invalid_auth)
        monkeypatch.setenv("SLACK_API_URL", slack.base_url)
        codes.append(main(serve))
        assert slack.calls("auth.test")[0].token == BOT_TOKEN
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")  # nothing listens
    codes.append(main(serve))
    monkeypatch.setenv("SLACK_BOT_TOKEN", f"xoxp-a-user-token-{MARK}")  # the wrong kind
    codes.append(main(serve))

    out, err = capfd.readouterr()
    assert codes == [2, 2, 2]
    assert err.count("error:") == 3
    assert leaks(out + err) == []
    assert leaks(all_log_text(everything_logged)) == []


def test_socket_mode_with_a_rejected_app_token_never_prints_it(tmp_path: Path) -> None:
    """In a child process (Socket Mode blocks): auth.test passes, Slack then refuses to
    open a socket for the app token. Whatever the process prints, no secret is in it."""
    with SlackDouble(token=BOT_TOKEN) as slack:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.base_url,
            "KPI_DUCKDB_PATH": str(tmp_path / "missing.duckdb"),
            "KPI_STATE_DB": f"sqlite:///{tmp_path / 'state.sqlite'}",
            "KPI_LOG_LEVEL": "DEBUG",
        }
        done = subprocess.run(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "0"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        opened = slack.calls("apps.connections.open")
    assert opened and opened[0].token == APP_TOKEN  # the app token really was used
    assert done.returncode != 0
    assert leaks(done.stdout + done.stderr) == []
