"""One real ``python -m bot serve`` child process against the Slack Web API double, for
the benchmarks that measure the server from outside (footprint, http_limits)."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, python_env
from benchmarks.latency import SECRET, TOKEN  # the same signing secret and token

START_TIMEOUT_S = 120


@dataclass(frozen=True)
class Served:
    proc: subprocess.Popen
    base_url: str  # http://127.0.0.1:<port>
    started: float  # time.monotonic() just before Popen
    listening: float  # time.monotonic() when /healthz first answered 200

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (bytes) and Threads of a process, from /proc."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "VmHWM", "Threads"}:
            number = int(value.split()[0])
            out[key] = number * 1024 if key != "Threads" else number
    return out


def wait_healthy(url: str, proc: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the bot exited with {proc.returncode} before listening")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.005)
    raise SystemExit("the bot did not start listening in time")


@contextlib.contextmanager
def running_serve(
    slack: Any,
    db: Path,
    state_db: Path,
    log: Path,
    *,
    root: Path = ROOT,
    env: Mapping[str, str] | None = None,
) -> Iterator[Served]:
    """``python -m bot serve`` from checkout ``root`` (its cwd and PYTHONPATH) on a free
    loopback port, reading ``db``, posting to the Slack double ``slack``, logging to
    ``log``; yields once ``/healthz`` answers 200, stops it with SIGTERM afterwards."""
    port = free_port()
    full_env = (
        python_env()
        | {
            "PYTHONPATH": str(root),
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.base_url,
            "KPI_DUCKDB_PATH": str(db),
            "KPI_STATE_DB": f"sqlite:///{state_db}",
        }
        | dict(env or {})
    )
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=root,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_healthy(f"{base}/healthz", proc, started + START_TIMEOUT_S)
        yield Served(proc, base, started, time.monotonic())
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
