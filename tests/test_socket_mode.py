"""Socket Mode end to end: the real ``python -m bot serve`` with ``SLACK_APP_TOKEN`` set.

The bot gets its websocket URL from the Slack double's ``apps.connections.open``,
connects to a local Socket Mode peer (``tests/socket_mode_peer.py``), receives
``/kpi`` envelopes as Slack sends them, acks each over the socket before any query
runs, and answers through the Web API double — message, chart, private replies — the
same as over HTTP. A redelivered envelope (``retry_attempt`` 1) is acked, not answered.
The chart worker processes end with the bot.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from tests.slack_double import RESPONSE_URL, SlackDouble
from tests.slack_requests import slash_command_body
from tests.socket_mode_peer import SocketModePeer

ROOT = Path(__file__).resolve().parents[1]
BOT_TOKEN = "xoxb-socket-mode-test"
APP_TOKEN = "xapp-1-socket-mode-test"
CHANNEL = "C0SOCKET"


def command(slack: SlackDouble, text: str, name: str) -> dict[str, str]:
    """A slash command's payload as Socket Mode carries it (the form fields, as JSON)."""
    body = slash_command_body(
        text,
        channel_id=CHANNEL,
        response_url=slack.response_url(name),
        trigger_id=f"777.{name}.socket",
    )
    return dict(parse_qsl(body, keep_blank_values=True))


def descendants(pid: int) -> list[int]:
    """Child processes, recursively (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in map(int, children):
            found += [child, *descendants(child)]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited, only its parent hasn't reaped it


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@contextlib.contextmanager
def socket_mode_serve(
    slack: SlackDouble,
    peer: SocketModePeer,
    built_db: Path,
    tmp_path: Path,
    stderr: Any = subprocess.DEVNULL,
    **env: str,
) -> Iterator[subprocess.Popen]:
    """The real ``python -m bot serve`` in Socket Mode (``SLACK_APP_TOKEN``): Web API calls
    to the double, the socket to ``peer``, on a copy of ``built_db``; ``env``: more
    variables. Terminated (SIGTERM) when the block ends."""
    db = tmp_path / "kpi.duckdb"
    shutil.copyfile(built_db, db)
    slack.allow_socket_mode(APP_TOKEN, peer.url)
    variables = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": slack.base_url,
        "KPI_DUCKDB_PATH": str(db),
        "KPI_STATE_DB": f"sqlite:///{tmp_path / 'state.sqlite'}",
    }
    serve = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "0"],
        cwd=ROOT,
        env=variables | env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    try:
        yield serve
    finally:
        serve.terminate()
        serve.wait(timeout=30)


def test_socket_mode_acks_over_the_socket_and_answers_once(tmp_path: Path, built_db: Path) -> None:
    with SlackDouble(token=BOT_TOKEN) as slack, SocketModePeer() as peer:
        with socket_mode_serve(slack, peer, built_db, tmp_path) as serve:
            peer.wait_connected(timeout=120)
            payload = command(slack, "revenue 2026-11-01..2026-11-14", "revenue")
            first = peer.send_slash_command(payload)
            assert peer.wait_for_ack(first) < 3.0  # Slack's limit, over the socket

            [message] = slack.wait_for(lambda: slack.messages("chat.postMessage"), timeout=60)
            [upload] = slack.wait_for(lambda: slack.uploads(), timeout=60)
            # Acked before the answer was posted: the work runs after the ack.
            assert peer.acks[first][0][0] < message.call.time

            again = peer.send_slash_command(payload, retry_attempt=1)  # Slack redelivers
            peer.wait_for_ack(again)
            peer.send_slash_command(command(slack, "help", "help"))  # a later command
            slack.wait_for(lambda: slack.messages(RESPONSE_URL), timeout=60)
            assert serve.poll() is None  # still serving
            workers = descendants(serve.pid)
        # SIGTERM ends Socket Mode at once; its chart worker processes leave with it.
        assert workers, "serve renders charts in worker processes by default"
        assert wait_until(lambda: not any(alive(pid) for pid in workers), timeout=15)

    assert message.channel == CHANNEL
    [header] = [b["text"]["text"] for b in message.blocks or [] if b["type"] == "header"]
    assert header.startswith("Revenue")
    assert upload.channel == CHANNEL and upload.data and upload.data.startswith(b"\x89PNG")
    assert len(slack.messages("chat.postMessage")) == 1  # the redelivery was not answered
    assert len(slack.uploads(include_incomplete=True)) == 1
    [help_reply] = slack.messages(RESPONSE_URL)
    assert help_reply.response_url_name == "help" and help_reply.ephemeral
    assert "/kpi revenue" in help_reply.all_text
    assert {c.token for c in slack.calls("apps.connections.open")} == {APP_TOKEN}
