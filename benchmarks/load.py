"""Load: a burst of signed ``/kpi`` commands against the real HTTP server.

    .venv/bin/python -m benchmarks.load                      # 200 commands, 20 at a time
    .venv/bin/python -m benchmarks.load --n 400 --concurrency 40 --db path/to/kpi.duckdb

The production wiring (``build_app`` + ``make_http_server`` on waitress, 127.0.0.1,
port 0) answers a mix of revenue / ab / retention / help commands; its WebClient talks
to the local Slack double (``tests.slack_double``). Without ``--db`` a small demo
warehouse (3,000 users) is generated and built into a temporary directory first.

Each command gets its own channel, ``response_url`` and ``trigger_id``, so every reply
the double records can be traced to exactly one command. For each command we check:
acked with an empty 200 within Slack's 3 s; answered exactly once (one channel message
for answers, one private reply for help and the experiment list; no extra private
reply saying something failed); and the channel answers' charts shared once. We print
ack p50/p99 and answer p50/p95 (send → answer recorded by the double), and the lost
and duplicated counts. The exit code is 0 only if nothing was lost, late or repeated.

``run_load`` is also what ``tests/test_load.py`` drives with a smaller burst.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

ACK_LIMIT_S = 3.0  # Slack shows the user an error when the ack takes longer
TOKEN = "xoxb-load-test-token"
SECRET = "load-test-signing-secret"
DEMO_END = date(2026, 11, 24)
CLOCK = datetime(2026, 11, 25, 8, 0)  # naive UTC: the morning after the last day of data

# (text, where the answer goes, charts it shares). Cycled through in this order, so any
# prefix of the burst mixes all four kinds of command.
MIX: tuple[tuple[str, str, int], ...] = (
    ("revenue last 7 days", "channel", 1),
    ("ab checkout_redesign", "channel", 1),
    ("help", "private", 0),
    ("retention", "channel", 1),
    ("revenue last 30 days vs last year", "channel", 1),
    ("ab", "private", 0),
    ("retention 8", "channel", 1),
    ("ab pricing_page_abn --alpha 0.1", "channel", 1),
    ("help revenue", "private", 0),
    ("revenue mtd", "channel", 1),
)


@dataclass
class Command:
    index: int
    text: str
    kind: str  # "channel": posted in its channel; "private": via its response_url
    charts: int
    channel: str
    response_url_name: str
    trigger_id: str
    sent_at: float = 0.0  # time.monotonic() when the POST started
    status: int | None = None
    ack_body: str = ""
    ack_s: float | None = None
    error: str | None = None  # the POST itself failed (refused, timed out)


@dataclass
class Outcome:
    """What the double recorded for one command once the burst settled."""

    command: Command
    channel_messages: int
    private_replies: int
    uploads: int
    answer_s: float | None  # send → the answer's arrival at the double

    @property
    def acked(self) -> bool:
        return self.command.status == 200 and self.command.ack_body == ""

    @property
    def acked_in_time(self) -> bool:
        return self.acked and self.command.ack_s is not None and self.command.ack_s < ACK_LIMIT_S

    @property
    def replies(self) -> int:
        return self.channel_messages + self.private_replies

    @property
    def answered_once(self) -> bool:
        if self.command.kind == "channel":
            return (
                self.channel_messages == 1
                and self.private_replies == 0
                and self.uploads == self.command.charts
            )
        return self.private_replies == 1 and self.channel_messages == 0 and self.uploads == 0

    @property
    def lost(self) -> bool:
        return self.replies == 0

    @property
    def duplicated(self) -> bool:
        return self.replies > 1 or self.uploads > self.command.charts


@dataclass
class LoadResult:
    n: int
    concurrency: int
    outcomes: list[Outcome] = field(repr=False)
    wall_s: float
    double_errors: list[str]

    @property
    def lost(self) -> int:
        return sum(o.lost for o in self.outcomes)

    @property
    def duplicated(self) -> int:
        return sum(o.duplicated for o in self.outcomes)

    @property
    def not_acked_in_time(self) -> int:
        return sum(not o.acked_in_time for o in self.outcomes)

    @property
    def not_answered_once(self) -> int:
        return sum(not o.answered_once for o in self.outcomes)

    @property
    def ok(self) -> bool:
        return (
            self.not_acked_in_time == 0
            and self.not_answered_once == 0
            and not self.double_errors
            and len(self.outcomes) == self.n
        )

    def summary(self) -> dict[str, Any]:
        acks = [o.command.ack_s for o in self.outcomes if o.command.ack_s is not None]
        answers = [o.answer_s for o in self.outcomes if o.answer_s is not None]
        return {
            "n": self.n,
            "concurrency": self.concurrency,
            "wall_s": round(self.wall_s, 2),
            "acked_200": sum(o.acked for o in self.outcomes),
            "acked_within_3s": sum(o.acked_in_time for o in self.outcomes),
            "answered_exactly_once": sum(o.answered_once for o in self.outcomes),
            "lost": self.lost,
            "duplicates": self.duplicated,
            "ack_ms": _percentiles(acks, (50, 99)),
            "answer_ms": _percentiles(answers, (50, 95)),
            "double_errors": len(self.double_errors),
        }


def _percentiles(samples_s: list[float], which: tuple[int, ...]) -> dict[str, float]:
    if not samples_s:
        return {}
    values = np.asarray(samples_s) * 1000
    out = {f"p{p}": round(float(np.percentile(values, p)), 1) for p in which}
    out["max"] = round(float(values.max()), 1)
    return out


# --------------------------------------------------------------------------- the bot


@contextlib.contextmanager
def running_bot(
    db: Path,
    slack: Any,
    timeout_s: float = 60.0,
    client: Any = None,
    token: str = TOKEN,
    secret: str = SECRET,
    seen: Any = None,
    kpi: Any = None,
    **settings: Any,
) -> Iterator[str]:
    """build_app + make_http_server on 127.0.0.1:0 over ``db``; yields the events URL.

    ``client``: the WebClient to post with (default: the production one for the
    settings); ``seen``: the repeated-delivery check (default: in memory); ``kpi``: the
    KpiService to answer with (default: one over ``db``, closed afterwards; yours is
    left open); ``settings``: extra ``Settings`` fields."""
    from bot.service import KpiService
    from bot.settings import Settings
    from bot.slack.app import build_app
    from bot.slack.context import Services
    from bot.slack.server import make_http_server, stop_http_server
    from bot.warehouse.base import MartReader
    from bot.warehouse.duckdb_adapter import DuckDBWarehouse

    warehouse = None
    if kpi is None:
        warehouse = DuckDBWarehouse(db, timeout_s=timeout_s)
        kpi = KpiService(MartReader(warehouse), clock=lambda: CLOCK)
    config = Settings(
        duckdb_path=db,
        slack_bot_token=token,
        slack_signing_secret=secret,
        slack_api_url=slack.base_url,
        **settings,
    )
    app = build_app(config, Services(settings=config, kpi=kpi), client=client, seen=seen)
    server = make_http_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, name="load-bot-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}/slack/events"
    finally:
        # Let the HTTP threads finish (and exit) before the sockets close under them.
        server.task_dispatcher.shutdown()
        stop_http_server(server)  # closes inside the server's own loop, not under select()
        thread.join(timeout=5)
        if warehouse is not None:
            warehouse.close()


def make_commands(n: int, slack: Any, run_id: str) -> list[Command]:
    commands = []
    for i in range(n):
        text, kind, charts = MIX[i % len(MIX)]
        commands.append(
            Command(
                index=i,
                text=text,
                kind=kind,
                charts=charts,
                channel=f"C0LOAD{i:05d}",
                response_url_name=f"{run_id}-{i:05d}",
                trigger_id=f"{1_700_000_000 + i}.{run_id}.{i:05d}",
            )
        )
    return commands


def send(url: str, command: Command, slack: Any) -> None:
    from tests.slack_requests import post_signed, signed_headers, slash_command_body

    body = slash_command_body(
        command.text,
        channel_id=command.channel,
        user_id="U0LOAD",
        response_url=slack.response_url(command.response_url_name),
        trigger_id=command.trigger_id,
    )
    headers = signed_headers(SECRET, body)
    command.sent_at = time.monotonic()
    try:
        command.status, command.ack_body = post_signed(url, body, headers, timeout=30.0)
    except OSError as err:  # refused or timed out: counted as not acked
        command.error = type(err).__name__
    command.ack_s = time.monotonic() - command.sent_at


def _settled(slack: Any, commands: list[Command]) -> bool:
    """Every command has its answer (and, for channel answers, its charts shared)."""
    channels = {m.channel for m in slack.messages("chat.postMessage")}
    replied = {m.response_url_name for m in slack.messages("response_url")}
    shared = len(slack.uploads())
    expected_charts = sum(c.charts for c in commands)
    answered = all(
        (c.channel in channels) if c.kind == "channel" else (c.response_url_name in replied)
        for c in commands
    )
    return answered and shared >= expected_charts


def collect(slack: Any, commands: list[Command]) -> list[Outcome]:
    messages = slack.messages("chat.postMessage")
    replies = slack.messages("response_url")
    uploads = slack.uploads(include_incomplete=False)
    outcomes = []
    for c in commands:
        posted = [m for m in messages if m.channel == c.channel]
        private = [m for m in replies if m.response_url_name == c.response_url_name]
        shared = [u for u in uploads if u.channel == c.channel]
        first = posted if c.kind == "channel" else private
        arrived = [m.call.time for m in first if m.call is not None]
        answer_s = (min(arrived) - c.sent_at) if arrived else None
        outcomes.append(Outcome(c, len(posted), len(private), len(shared), answer_s))
    return outcomes


def run_load(
    db: Path,
    n: int = 200,
    concurrency: int = 20,
    *,
    settle_timeout_s: float = 300.0,
    quiet_s: float = 1.0,
) -> LoadResult:
    """Send ``n`` commands, ``concurrency`` at a time; wait for every answer (or the
    timeout), then a further ``quiet_s`` so a late duplicate would still be counted."""
    from tests.slack_double import SlackDouble

    with SlackDouble(token=TOKEN) as slack, running_bot(db, slack) as url:
        commands = make_commands(n, slack, run_id=f"r{int(time.time() * 1000) % 10**8}")
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="load-sender") as pool:
            list(pool.map(lambda c: send(url, c, slack), commands))
        deadline = time.monotonic() + settle_timeout_s
        while not _settled(slack, commands) and time.monotonic() < deadline:
            time.sleep(0.05)
        wall = time.monotonic() - started
        time.sleep(quiet_s)
        outcomes = collect(slack, commands)
        return LoadResult(n, concurrency, outcomes, wall, list(slack.errors))


# --------------------------------------------------------------------------- command line


def demo_warehouse(directory: Path, users: int) -> Path:
    from bot.build import build
    from bot.demo_data import generate

    db = directory / "kpi.duckdb"
    print(f"generating {users:,} demo users and building the marts in {directory} …")
    started = time.perf_counter()
    generate(db, users=users, seed=7, end=DEMO_END)
    build(db)
    print(f"  ready in {time.perf_counter() - started:.1f} s")
    return db


def report(result: LoadResult) -> str:
    s = result.summary()
    lines = [
        f"load: {s['n']} signed /kpi commands, {s['concurrency']} concurrent, "
        f"all answers in {s['wall_s']} s",
        f"  acked 200: {s['acked_200']}/{s['n']}   within 3 s: {s['acked_within_3s']}/{s['n']}",
        f"  ack    p50 {s['ack_ms'].get('p50')} ms   p99 {s['ack_ms'].get('p99')} ms   "
        f"max {s['ack_ms'].get('max')} ms",
        f"  answer p50 {s['answer_ms'].get('p50')} ms   p95 {s['answer_ms'].get('p95')} ms   "
        f"max {s['answer_ms'].get('max')} ms",
        f"  answered exactly once: {s['answered_exactly_once']}/{s['n']}   "
        f"lost: {s['lost']}   duplicates: {s['duplicates']}",
    ]
    for o in result.outcomes:
        if not (o.acked_in_time and o.answered_once):
            c = o.command
            lines.append(
                f"  ! #{c.index} {c.text!r}: status={c.status} error={c.error} "
                f"ack_s={c.ack_s and round(c.ack_s, 3)} channel={o.channel_messages} "
                f"private={o.private_replies} uploads={o.uploads}"
            )
    if result.double_errors:
        lines.append(f"  ! the Slack double failed: {result.double_errors[:3]}")
    lines.append("PASS" if result.ok else "FAIL")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    parser.add_argument("--n", type=int, default=200, help="commands in the burst")
    parser.add_argument("--concurrency", type=int, default=20, help="senders at once")
    parser.add_argument("--db", type=Path, help="a built warehouse (default: a fresh demo)")
    parser.add_argument("--users", type=int, default=3000, help="demo users without --db")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    args = parser.parse_args(argv)
    # waitress warns on every queued request; in a burst that is the expected state.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)

    with tempfile.TemporaryDirectory(prefix="kpi-load-") as tmp:
        db = args.db or demo_warehouse(Path(tmp), args.users)
        result = run_load(db, args.n, args.concurrency)
    print(report(result))
    if args.json:
        summary = result.summary() | {
            "failures": [
                asdict(o.command)
                for o in result.outcomes
                if not (o.acked_in_time and o.answered_once)
            ]
        }
        args.json.write_text(json.dumps(summary, indent=2))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
