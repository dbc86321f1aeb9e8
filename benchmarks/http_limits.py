"""Hostile HTTP against the real ``python -m bot serve``: big bodies, slow clients, junk.

    .venv/bin/python -m benchmarks.http_limits                 # all three, ~1–3 min
    .venv/bin/python -m benchmarks.http_limits --skip-slow     # big bodies and junk only

The bot runs as a child process (HTTP mode, 127.0.0.1, a free port, a 3,000-user demo
warehouse, its Slack Web API pointed at the local double), so its memory is measured
apart from the client's:

* **Big bodies**: ``--bodies`` (4) parallel POSTs of ``--body-mb`` (64) MB to
  ``/slack/events`` with a current timestamp and a forged signature (what anyone on the
  internet can send). The server's peak RSS (``VmHWM``) before and after, each
  request's status (or how the connection ended).
* **Slow clients**: ``--slow`` (110) connections send the headers of a 4 KiB POST and 10
  bytes of body, then nothing. While they are connected, signed ``/kpi`` commands and
  ``GET /healthz`` (10 each, one every 0.3 s, 10 s client timeout): latency and how many
  missed Slack's 3 s. Then how long the server keeps the stalled sockets open.
* **Junk**: 50 requests with a 400-digit ``X-Slack-Request-Timestamp`` and 50 with a
  body that is not UTF-8: their statuses and how many bytes they added to the log.

Exit code 0 when it ran; the figures are printed and written to ``benchmarks/results``.
"""

from __future__ import annotations

import argparse
import contextlib
import select
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.common import ensure_warehouse, machine, write_result
from benchmarks.latency import SECRET
from benchmarks.serving import TOKEN, proc_status, running_serve

ACK_LIMIT_S = 3.0
CLIENT_TIMEOUT_S = 10.0


def _request_head(method: str, path: str, length: int, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _status_of(reply: bytes) -> str:
    first = reply.split(b"\r\n", 1)[0].decode("latin-1")
    parts = first.split()
    return parts[1] if len(parts) > 1 else "no reply"


def raw_post(
    port: int, body: bytes, headers: dict[str, str], timeout: float = 60.0
) -> tuple[str, float]:
    """POST ``body`` over a raw socket, stopping early if the server answers first
    (e.g. 413 before reading the body). Returns (status or how it ended, seconds)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(_request_head("POST", "/slack/events", len(body), headers))
        select.select([sock], [], [], 0.2)  # a server refusing on the headers answers now
        view, sent = memoryview(body), 0
        try:
            while sent < len(body):
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break  # the server answered (or closed) before the body was sent
                sent += sock.send(view[sent : sent + 65536])
        except OSError as err:
            return f"send failed ({type(err).__name__})", time.monotonic() - started
        try:
            reply = sock.recv(4096)
        except OSError as err:
            return f"no reply ({type(err).__name__})", time.monotonic() - started
    return _status_of(reply), time.monotonic() - started


def forged_headers() -> dict[str, str]:
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "0" * 64,
    }


def big_bodies(pid: int, port: int, count: int, megabytes: int) -> dict[str, Any]:
    body = b"text=" + b"x" * (megabytes * 1024 * 1024 - 5)
    before = proc_status(pid)
    results: list[tuple[str, float]] = []
    lock = threading.Lock()

    def one() -> None:
        outcome = raw_post(port, body, forged_headers())
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(0.5)
    after = proc_status(pid)
    return {
        "bodies": count,
        "body_mb": megabytes,
        "statuses": dict(Counter(status for status, _ in results)),
        "seconds_max": round(max(s for _, s in results), 2),
        "rss_before_mib": round(before["VmRSS"] / 2**20, 1),
        "peak_before_mib": round(before["VmHWM"] / 2**20, 1),
        "peak_after_mib": round(after["VmHWM"] / 2**20, 1),
    }


def _timed_get(url: str) -> float | None:
    import urllib.request

    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=CLIENT_TIMEOUT_S) as response:
            response.read()
    except OSError:
        return None
    return time.monotonic() - started


def _timed_command(url: str, slack: Any, n: int) -> float | None:
    from tests.slack_requests import post_signed, signed_headers, slash_command_body

    body = slash_command_body(
        "help", response_url=slack.response_url(f"slow-{n}"), trigger_id=f"{time.time()}.{n}"
    )
    started = time.monotonic()
    try:
        status, _ = post_signed(url, body, signed_headers(SECRET, body), CLIENT_TIMEOUT_S)
    except OSError:
        return None
    return time.monotonic() - started if status == 200 else None


def _summary(samples: list[float | None]) -> dict[str, Any]:
    done = sorted(s for s in samples if s is not None)
    return {
        "sent": len(samples),
        "timed_out_or_failed": len(samples) - len(done),
        "over_3s": sum(s > ACK_LIMIT_S for s in done) + len(samples) - len(done),
        "max_ms": round(done[-1] * 1000, 1) if done else None,
        "median_ms": round(done[len(done) // 2] * 1000, 1) if done else None,
    }


def slow_clients(port: int, slack: Any, count: int, hold_limit_s: float) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    stalled = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(_request_head("POST", "/slack/events", 4096, forged_headers()) + b"x" * 10)
        stalled.append(sock)
    opened = time.monotonic()
    time.sleep(1.0)
    commands, health = [], []
    for n in range(10):
        commands.append(_timed_command(f"{base}/slack/events", slack, n))
        health.append(_timed_get(f"{base}/healthz"))
        time.sleep(0.3)
    # How long the server keeps the stalled connections (they never send more).
    open_socks = set(stalled)
    closed_after: list[float] = []
    while open_socks and time.monotonic() - opened < hold_limit_s:
        readable, _, _ = select.select(list(open_socks), [], [], 1.0)
        for sock in readable:
            with contextlib.suppress(OSError):
                sock.recv(4096)
            open_socks.discard(sock)
            closed_after.append(time.monotonic() - opened)
    for sock in stalled:
        sock.close()
    return {
        "slow_connections": count,
        "commands": _summary(commands),
        "healthz": _summary(health),
        "closed_by_server": len(closed_after),
        "closed_after_s_max": round(max(closed_after), 1) if closed_after else None,
        "still_open_after_s": None if not open_socks else round(hold_limit_s, 1),
    }


def junk(port: int, log: Path, count: int) -> dict[str, Any]:
    size_before = log.stat().st_size
    statuses: Counter[str] = Counter()
    body = b"text=revenue"
    for _ in range(count):
        headers = forged_headers() | {"X-Slack-Request-Timestamp": "9" * 400}
        statuses["timestamp " + raw_post(port, body, headers)[0]] += 1
        statuses["non-UTF-8 " + raw_post(port, b"text=\xff\xfe\xfa", forged_headers())[0]] += 1
    time.sleep(0.5)
    return {
        "requests": 2 * count,
        "statuses": dict(statuses),
        "log_bytes_added": log.stat().st_size - size_before,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tests.slack_double import SlackDouble

    db = ensure_warehouse(3000)
    with tempfile.TemporaryDirectory() as tmp, SlackDouble(token=TOKEN) as slack:
        log = Path(tmp) / "serve.log"
        # One process: its VmHWM is the whole server.
        env = {"KPI_CHART_PROCESSES": "0"}
        with running_serve(slack, db, Path(tmp) / "state.sqlite", log, env=env) as served:
            port, result = served.port, {}
            result["junk"] = junk(port, log, args.junk)
            print("junk:", result["junk"], flush=True)
            result["big_bodies"] = big_bodies(served.proc.pid, port, args.bodies, args.body_mb)
            print("big bodies:", result["big_bodies"], flush=True)
            if not args.skip_slow:
                result["slow_clients"] = slow_clients(port, slack, args.slow, args.hold_limit)
                print("slow clients:", result["slow_clients"], flush=True)
            result["log_tail"] = log.read_text(errors="replace")[-3000:]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bodies", type=int, default=4, help="parallel big bodies (4)")
    parser.add_argument("--body-mb", type=int, default=64, help="size of each, MB (64)")
    parser.add_argument("--slow", type=int, default=110, help="stalled connections (110)")
    parser.add_argument("--junk", type=int, default=50, help="malformed requests of each kind")
    parser.add_argument(
        "--hold-limit", type=float, default=160.0, help="wait at most this for stalled closes"
    )
    parser.add_argument("--skip-slow", action="store_true", help="skip the slow clients")
    parser.add_argument("--label", default="", help="a name for this run (e.g. before/after)")
    args = parser.parse_args(argv)
    result = run(args)
    write_result("http_limits", {"label": args.label, "machine": machine(), **result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
