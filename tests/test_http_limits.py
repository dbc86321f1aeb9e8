"""What an unsigned client can do to the HTTP server: big bodies, stalled connections,
unparseable requests, and what ``/healthz`` says about the warehouse.

All over real HTTP on 127.0.0.1 (waitress + Bolt, the production ``make_http_server``),
with raw sockets where a client must misbehave in ways urllib won't.
"""

from __future__ import annotations

import json
import logging
import select
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from bot.service import KpiService
from bot.settings import Settings
from bot.slack.app import build_app, work_pool
from bot.slack.context import Services
from bot.slack.health import WarehouseCheck
from bot.slack.server import HttpLimits, make_http_server, stop_http_server
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.slack_double import SlackDouble
from tests.slack_requests import post_signed, signed_headers, slash_command_body

TOKEN = "xoxb-test-http-limits"
SECRET = "http-limits-signing-secret"
CLOCK = datetime(2026, 11, 25, 8, 0)
PRODUCTION = HttpLimits()
LIMIT = PRODUCTION.max_body_bytes


@dataclass
class Server:
    port: int
    slack: SlackDouble
    adj: object

    @property
    def events(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    @property
    def health(self) -> str:
        return f"http://127.0.0.1:{self.port}/healthz"


@contextmanager
def serving(
    slack: SlackDouble, db: Path, limits: HttpLimits = PRODUCTION, health_ttl_s: float = 0.0
) -> Iterator[Server]:
    kpi = KpiService(MartReader(DuckDBWarehouse(db, timeout_s=10)), clock=lambda: CLOCK)
    config = Settings(
        slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=slack.base_url
    )
    work = work_pool()
    app = build_app(config, Services(settings=config, kpi=kpi), work=work)
    checks = {"warehouse": WarehouseCheck(kpi.reader, ttl_s=health_ttl_s)}
    server = make_http_server(app, "127.0.0.1", 0, checks=checks, limits=limits)
    thread = threading.Thread(target=server.run, name="limits-http", daemon=True)
    thread.start()
    try:
        yield Server(server.effective_port, slack, server.adj)
    finally:
        stop_http_server(server)
        thread.join(timeout=5)
        server.task_dispatcher.shutdown()
        work.shutdown(wait=True)
        kpi.reader.warehouse.close()


def forged(timestamp: str | None = None) -> dict[str, str]:
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp or str(int(time.time())),
        "X-Slack-Signature": "v0=" + "0" * 64,
    }


def head(length: int, headers: dict[str, str]) -> bytes:
    lines = ["POST /slack/events HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    return ("\r\n".join(lines + [f"{k}: {v}" for k, v in headers.items()]) + "\r\n\r\n").encode()


def reply_status(sock: socket.socket, timeout: float) -> int | None:
    """The status of the server's reply, or None if nothing came within ``timeout``."""
    readable, _, _ = select.select([sock], [], [], timeout)
    if not readable:
        return None
    data = sock.recv(4096)
    return int(data.split()[1]) if data.startswith(b"HTTP/") else None


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


def nothing_sent(slack: SlackDouble) -> bool:
    """No Slack call beyond the app's start-up ``auth.test``."""
    return [c.method for c in slack.calls() if c.method != "auth.test"] == []


@pytest.fixture
def server(slack: SlackDouble, built_db: Path) -> Iterator[Server]:
    with serving(slack, built_db) as running:
        yield running


def signed_command(server: Server, name: str, pad_to: int | None = None) -> tuple[int, str]:
    body = slash_command_body(
        "help", response_url=server.slack.response_url(name), trigger_id=f"1.{name}.t"
    )
    if pad_to is not None:  # an extra form field Bolt ignores, to reach an exact size
        body += "&pad=" + "x" * (pad_to - len(body) - len("&pad="))
        assert len(body) == pad_to
    return post_signed(server.events, body, signed_headers(SECRET, body), timeout=5)


# --------------------------------------------------------------------------- body size


def test_an_oversized_body_is_refused_413_before_it_is_sent(server: Server) -> None:
    """waitress answers on the headers: the client has sent 10 bytes of a 64 MB body."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head(64 * 1024 * 1024, forged()) + b"text=xxxxx")
        assert reply_status(sock, timeout=3) == 413
    assert nothing_sent(server.slack)


def test_the_limit_is_64_kib_signed_bodies_up_to_it_are_answered(server: Server) -> None:
    assert signed_command(server, "at-limit", pad_to=LIMIT)[0] == 200
    server.slack.wait_for(lambda: server.slack.messages("response_url"), timeout=10)
    assert signed_command(server, "over-limit", pad_to=LIMIT + 1)[0] == 413


# --------------------------------------------------------------------------- slow clients


def test_110_stalled_clients_dont_delay_acks_or_the_health_check(server: Server) -> None:
    """Before: waitress's limit of 100 connections was full, and both timed out."""
    stalled = []
    try:
        for _ in range(110):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            sock.sendall(head(4096, forged()) + b"text=x")  # then nothing more
            stalled.append(sock)
        time.sleep(0.5)
        for n in range(3):
            started = time.monotonic()
            status, body = signed_command(server, f"during-{n}")
            assert (status, body) == (200, "")
            assert time.monotonic() - started < 3.0
            started = time.monotonic()
            assert get(server.health)[0] == 200
            assert time.monotonic() - started < 3.0
    finally:
        for sock in stalled:
            sock.close()


def test_production_limits_are_applied_to_waitress(server: Server) -> None:
    adj = server.adj
    assert adj.max_request_body_size == LIMIT + 1  # waitress refuses length >= this
    assert (adj.channel_timeout, adj.cleanup_interval) == (10, 2)
    assert adj.connection_limit == 500 and adj.asyncore_use_poll


def test_a_stalled_client_is_disconnected_after_the_channel_timeout(
    slack: SlackDouble, built_db: Path
) -> None:
    limits = HttpLimits(channel_timeout_s=1, cleanup_interval_s=1)
    with (
        serving(slack, built_db, limits) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock,
    ):
        sock.sendall(head(4096, forged()) + b"text=x")
        started = time.monotonic()
        readable, _, _ = select.select([sock], [], [], 8)
        assert readable and sock.recv(4096) == b""  # closed by the server
        assert time.monotonic() - started < 4


# --------------------------------------------------------------------------- junk


@pytest.mark.parametrize(
    ("timestamp", "body", "status"),
    [
        ("9" * 400, b"text=revenue", 401),  # OverflowError in slack_sdk before the fix
        ("9" * 5000, b"text=revenue", 401),  # int() refuses > 4300 digits
        ("1" + "0" * 12, b"text=revenue", 401),
        (None, b"text=\xff\xfe\xfa", 400),  # UnicodeDecodeError in Bolt's adapter before
        (None, b"\xc3(", 400),
    ],
)
def test_unparseable_requests_get_4xx_and_one_short_log_line(
    server: Server, caplog: pytest.LogCaptureFixture, timestamp, body, status
) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head(len(body), forged(timestamp)) + body)
        assert reply_status(sock, timeout=5) == status
    time.sleep(0.2)
    # waitress.queue's "Task queue depth is 1" says the machine was busy, not the request.
    mine = [
        r
        for r in caplog.records
        if r.name.startswith(("bot", "slack_bolt", "waitress")) and r.name != "waitress.queue"
    ]
    assert len(mine) == 1, [r.getMessage() for r in mine]
    assert mine[0].name == "bot.slack" and "refused a request" in mine[0].getMessage()
    assert len(mine[0].getMessage()) < 120 and mine[0].exc_info is None
    assert nothing_sent(server.slack)


def test_a_forged_signature_logs_one_short_line_without_the_body(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = "text=" + "secret-looking-body-" * 100
    assert post_signed(server.events, body, forged())[0] == 401
    time.sleep(0.2)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "secret-looking-body" not in logged
    assert "bad or stale signature" in logged


# --------------------------------------------------------------------------- health


def test_healthz_is_503_naming_the_warehouse_while_it_cant_be_read(
    slack: SlackDouble, built_db: Path, tmp_path: Path
) -> None:
    live = tmp_path / built_db.name
    shutil.copyfile(built_db, live)
    with serving(slack, live) as server:
        assert get(server.health) == (200, {"ok": True})
        live.unlink()
        status, body = get(server.health)
        assert status == 503
        assert body == {"ok": False, "unhealthy": {"warehouse": "warehouse_unavailable"}}
        assert str(tmp_path) not in json.dumps(body)
        shutil.copyfile(built_db, live)
        assert get(server.health) == (200, {"ok": True})


def test_the_warehouse_check_reads_at_most_once_per_ttl(built_db: Path) -> None:
    reads = []

    class CountingReader(MartReader):
        def data_status(self):  # type: ignore[override]
            reads.append(1)
            return super().data_status()

    now = [0.0]
    reader = CountingReader(DuckDBWarehouse(built_db, timeout_s=10))
    check = WarehouseCheck(reader, ttl_s=10, clock=lambda: now[0])
    try:
        assert [check() for _ in range(5)] == [None] * 5
        assert len(reads) == 1
        now[0] = 10.5
        check()
        assert len(reads) == 2
    finally:
        reader.warehouse.close()
