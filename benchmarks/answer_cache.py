"""The answer cache: a question asked the first time beside the same question repeated.

    .venv/bin/python -m benchmarks.answer_cache            # 1× demo data, 30 pairs per question
    .venv/bin/python -m benchmarks.answer_cache --quick    # 10k users, 8 pairs

The real Bolt app (``build_app``) on waitress on 127.0.0.1, its WebClient pointed at the
Slack double, a ``KpiService`` with an ``AnswerCache`` (what ``serve`` builds). For each
question, interleaved: clear the cache, send a signed ``/kpi`` (a miss: the warehouse,
the answer, the chart) and wait for its message and PNG at the double; then send the
same question again, typed differently where the grammar allows (a hit: the parsed
question is the key), and wait again. Times are from the POST to the arrival at the
double of ``chat.postMessage`` (*message*) and of ``files.completeUploadExternal``
(*PNG*). Charts are drawn in the answering thread. The cache's hit and miss counts
(also logged by ``bot.cache``) are checked against the sends.

Then the App Home tab: a signed ``app_home_opened`` event with the cache cleared (cold:
the first ``views.publish`` comes from the cache alone, a second once every part is
computed) and again with the cache warm (one publish), timed from the POST to each
``views.publish`` at the double.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import (
    DEFAULT_USERS,
    bench_clock,
    ensure_warehouse,
    fmt_ms,
    load_average,
    machine,
    summary,
    table,
    write_result,
)
from benchmarks.latency import (
    SECRET,
    TOKEN,
    double_errors,
    send_command,
    shared_pngs,
)
from benchmarks.load import running_bot

# (first as typed, then the repeat): the repeat is the same parsed question.
PAIRS = (
    ("revenue last 30 days", "revenue last 30 days"),
    ("rev 30d", "revenue   last 30 days"),
    ("ab checkout_redesign", "ab checkout_redesign"),
    ("retention", "retention 12"),
)
TARGET_REPEAT_PNG_P50_MS = 50.0


class CacheLog(logging.Handler):
    """Counts the cache's own hit/miss log lines."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines = {"hit": 0, "miss": 0}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for kind in self.lines:
            if message.startswith(f"answer cache {kind}"):
                self.lines[kind] += 1


def bench(db: Path, runs: int, warmup: int) -> dict[str, Any]:
    from bot.answer_cache import AnswerCache
    from bot.service import KpiService
    from bot.warehouse.base import MartReader
    from bot.warehouse.duckdb_adapter import DuckDBWarehouse
    from tests.slack_double import SlackDouble

    samples = {
        first: {k: [] for k in ("first_message", "first_png", "repeat_message", "repeat_png")}
        for first, _ in PAIRS
    }
    cache_log = CacheLog()
    logger = logging.getLogger("bot.cache")
    logger.addHandler(cache_log)
    logger.setLevel(logging.INFO)
    cache = AnswerCache()
    sends = {"first": 0, "repeat": 0}
    with SlackDouble(token=TOKEN) as slack:
        warehouse = DuckDBWarehouse(db, timeout_s=60)
        kpi = KpiService(MartReader(warehouse), clock=bench_clock, cache=cache)
        try:
            with running_bot(db, slack, token=TOKEN, secret=SECRET, kpi=kpi) as url:
                for i in range(warmup + runs):
                    for first, repeat in PAIRS:
                        cache.clear()
                        first_msg, first_png = _answer_times(url, slack, first)
                        repeat_msg, repeat_png = _answer_times(url, slack, repeat)
                        sends["first"] += 1
                        sends["repeat"] += 1
                        if i < warmup:
                            continue
                        s = samples[first]
                        s["first_message"].append(first_msg)
                        s["first_png"].append(first_png)
                        s["repeat_message"].append(repeat_msg)
                        s["repeat_png"].append(repeat_png)
        finally:
            warehouse.close()
            logger.removeHandler(cache_log)
        if double_errors(slack):
            raise SystemExit(f"the Slack double failed: {double_errors(slack)}")
    counts = {"hits": cache.hits, "misses": cache.misses, "logged": dict(cache_log.lines)}
    # Every first ask is a miss and every repeat a hit, or the figures mean nothing.
    if (cache.hits, cache.misses) != (sends["repeat"], sends["first"]):
        raise SystemExit(f"unexpected cache counts {counts} for sends {sends}")
    return {
        "questions": {q: {k: summary(v) for k, v in s.items()} for q, s in samples.items()},
        "cache": counts,
    }


def bench_home(db: Path, runs: int) -> dict[str, Any]:
    import json
    import time
    import uuid

    from bot.answer_cache import AnswerCache
    from bot.service import KpiService
    from bot.warehouse.base import MartReader
    from bot.warehouse.duckdb_adapter import DuckDBWarehouse
    from tests.slack_double import SlackDouble
    from tests.slack_requests import (
        JSON_CONTENT_TYPE,
        app_home_opened_payload,
        post_signed,
        signed_headers,
    )

    samples: dict[str, list[float]] = {"cold_first": [], "cold_complete": [], "warm": []}
    cache = AnswerCache()
    with SlackDouble(token=TOKEN) as slack:
        warehouse = DuckDBWarehouse(db, timeout_s=60)
        kpi = KpiService(MartReader(warehouse), clock=bench_clock, cache=cache)

        def open_home(url: str, expected: int) -> list[float]:
            before = len(slack.calls("views.publish"))
            body = json.dumps(app_home_opened_payload(event_id=uuid.uuid4().hex))
            sent = time.monotonic()
            status, _ = post_signed(
                url, body, signed_headers(SECRET, body, content_type=JSON_CONTENT_TYPE)
            )
            if status != 200:
                raise SystemExit(f"app_home_opened was answered HTTP {status}")
            slack.wait_for(
                lambda: slack.calls("views.publish")[before:][expected - 1 :] or None, timeout=120
            )
            time.sleep(0.2)  # a publish too many would show here
            published = slack.calls("views.publish")[before:]
            if len(published) != expected:
                raise SystemExit(f"expected {expected} publishes, got {len(published)}")
            return [c.time - sent for c in published]

        try:
            with running_bot(db, slack, token=TOKEN, secret=SECRET, kpi=kpi) as url:
                open_home(url, 2)  # warm-up: imports, connections
                for _ in range(runs):
                    cache.clear()
                    first, complete = open_home(url, 2)
                    samples["cold_first"].append(first)
                    samples["cold_complete"].append(complete)
                    [warm] = open_home(url, 1)
                    samples["warm"].append(warm)
        finally:
            warehouse.close()
    return {k: summary(v) for k, v in samples.items()}


def _answer_times(url: str, slack: Any, text: str) -> tuple[float, float]:
    """Seconds from the POST to the message, and to the PNG, at the double."""
    posted = len(slack.messages("chat.postMessage"))
    shared = len(shared_pngs(slack))
    sent, _, _ = send_command(url, slack, text)
    message = slack.wait_for(lambda: slack.messages("chat.postMessage")[posted:], timeout=60)[0]
    complete = slack.wait_for(lambda: shared_pngs(slack)[shared:], timeout=60)[0]
    upload = slack.uploads()[-1]
    if not (upload.data or b"").startswith(b"\x89PNG"):
        raise SystemExit(f"/kpi {text!r}: the upload is not a PNG")
    return message.call.time - sent, complete.time - sent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k users, 8 pairs")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--home-runs", type=int, default=None)
    args = parser.parse_args(argv)
    users = 10_000 if args.quick else DEFAULT_USERS
    runs = args.runs or (8 if args.quick else 30)
    db = ensure_warehouse(users)
    before = load_average()
    result = bench(db, runs, warmup=2)
    home_runs = args.home_runs or (3 if args.quick else 10)
    result["home"] = bench_home(db, home_runs)
    rows = []
    for question, parts in result["questions"].items():
        first, repeat = parts["first_png"]["p50_ms"], parts["repeat_png"]["p50_ms"]
        rows.append(
            [
                question,
                fmt_ms(parts["first_message"]["p50_ms"]),
                fmt_ms(first),
                fmt_ms(parts["repeat_message"]["p50_ms"]),
                fmt_ms(repeat),
                fmt_ms(parts["repeat_png"]["p95_ms"]),
                f"{first / repeat:.0f}×" if repeat else "—",
            ]
        )
    print(f"\n{users:,} users, {runs} pairs per question (ms from the signed POST, p50)")
    print(
        table(
            ["question (first)", "first → msg", "first → PNG", "repeat → msg", "repeat → PNG",
             "repeat PNG p95", "PNG speed-up"],
            rows,
        )
    )  # fmt: skip
    print(f"cache: {result['cache']}")
    home = result["home"]
    print(
        f"\nApp Home, {home_runs} runs (ms from the signed event to views.publish, p50 / max): "
        f"cold first {home['cold_first']['p50_ms']:.1f} / {home['cold_first']['max_ms']:.1f}, "
        f"cold complete {home['cold_complete']['p50_ms']:.1f} / "
        f"{home['cold_complete']['max_ms']:.1f}, "
        f"warm {home['warm']['p50_ms']:.1f} / {home['warm']['max_ms']:.1f}"
    )
    revenue = result["questions"]["revenue last 30 days"]["repeat_png"]["p50_ms"]
    ok = revenue < TARGET_REPEAT_PNG_P50_MS
    print(
        f"repeated `revenue last 30 days` → PNG p50 {revenue:.1f} ms "
        f"({'under' if ok else 'NOT under'} {TARGET_REPEAT_PNG_P50_MS:.0f} ms)"
    )
    write_result(
        "answer_cache",
        {
            "users": users,
            "runs": runs,
            "machine": machine(),
            "load_before": before,
            "load_after": load_average(),
            **result,
        },
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
