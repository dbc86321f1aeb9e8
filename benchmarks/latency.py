"""Answer latency: in-process ``ask`` and signed ``/kpi`` over loopback HTTP.

    .venv/bin/python -m benchmarks.latency            # 1× demo data (100k users), 60 runs
    .venv/bin/python -m benchmarks.latency --quick    # 10k users, 12 runs, 5 senders × 2

Three parts, all in one run on the same warehouse:

1. In-process ``KpiService.ask`` for each question, interleaved, broken into *query*
   (time inside the DuckDB adapter's ``run``, timed by a ``Warehouse`` wrapper),
   *chart* (the answer's chart re-rendered through the service's public chart function
   right after, same inputs) and *core* (the rest: parsing, typing rows, statistics,
   assembling the answer ≈ total − query − chart). The calling thread's CPU time is
   recorded too (``cpu_*``): on a shared machine it moves far less than wall time, so
   before/after comparisons of a fix use it alongside the wall-clock figures. Also
   ``python -m bot ask`` run in-process (``bot.cli.main``: new settings, a new DuckDB
   connection, PNG files written) and the cost of opening a connection.
2. The Slack path: the real Bolt app from ``build_app`` served by ``make_http_server``
   (waitress) on 127.0.0.1, its WebClient pointed at ``tests.slack_double``. Signed
   ``/kpi`` commands are POSTed one at a time; we time the ack (HTTP response) and the
   arrival at the double of ``chat.postMessage`` and of ``files.completeUploadExternal``
   (the PNG shared). A ``KpiService`` subclass stamps when ``answer`` starts and ends.
3. Ack latency under load, 20 concurrent senders: a *burst* (each sends one command,
   all released together) and *sustained* (each sends 10 back to back, so 200 answers
   with charts queue up on 2 cores). waitress's "Task queue depth" warnings are counted.
   ``--acks-only --answer-slots 8,2 --repeat 3`` runs just this part, alternating
   ``KpiService`` answer-slot limits, and reports medians over the repeats.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.common import (
    BENCH_NOW,
    DEFAULT_USERS,
    QUESTIONS,
    TimingWarehouse,
    bench_clock,
    chart_renderer,
    ensure_warehouse,
    fmt_ms,
    load_average,
    machine,
    summary,
    table,
    timed_service,
    write_result,
)
from benchmarks.load import running_bot as bolt_app_over_http

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
CHANNEL = "C0BENCH"
TARGETS = {"revenue_p50_ms": 250, "revenue_p95_ms": 500, "ack_p99_ms": 50}


# --------------------------------------------------------------------------- in-process


def bench_in_process(db: Path, runs: int, warmup: int) -> dict[str, Any]:
    from bot.answers import ErrorAnswer

    service, warehouse = timed_service(db)
    for _ in range(warmup):
        for question in QUESTIONS:
            service.ask(question)
    parts: dict[str, dict[str, list[float]]] = {
        q: {"total": [], "query": [], "chart": [], "core": [], "cpu_total": [], "cpu_chart": []}
        for q in QUESTIONS
    }
    queries: dict[str, int] = {}
    for _ in range(runs):
        for question in QUESTIONS:
            warehouse.take()
            cpu = time.thread_time()
            started = time.perf_counter()
            answer = service.ask(question)
            total = time.perf_counter() - started
            cpu_total = time.thread_time() - cpu
            query, count = warehouse.take()
            if isinstance(answer, ErrorAnswer):
                raise SystemExit(f"{question!r} answered with an error: {answer.message}")
            render = chart_renderer(answer)
            cpu = time.thread_time()
            started = time.perf_counter()
            render()
            chart = time.perf_counter() - started
            cpu_chart = time.thread_time() - cpu
            samples = parts[question]
            samples["total"].append(total)
            samples["query"].append(query)
            samples["chart"].append(chart)
            samples["core"].append(max(total - query - chart, 0.0))
            samples["cpu_total"].append(cpu_total)
            samples["cpu_chart"].append(cpu_chart)
            queries[question] = count
    warehouse.close()
    return {
        q: {name: summary(values) for name, values in p.items()} | {"queries": queries[q]}
        for q, p in parts.items()
    }


def bench_cli_ask(db: Path, runs: int) -> dict[str, Any]:
    """``python -m bot ask`` in-process: settings, a fresh connection, text, PNG files."""
    from bot.cli import main

    as_of = (BENCH_NOW.date()).isoformat()
    saved = os.environ.get("KPI_DUCKDB_PATH")
    os.environ["KPI_DUCKDB_PATH"] = str(db)
    results: dict[str, list[float]] = {q: [] for q in QUESTIONS}
    try:
        with tempfile.TemporaryDirectory() as out:
            for i in range(runs + 1):
                for question in QUESTIONS:
                    sink = io.StringIO()
                    started = time.perf_counter()
                    with contextlib.redirect_stdout(sink):
                        code = main(["ask", question, "--as-of", as_of, "--out", out])
                    elapsed = time.perf_counter() - started
                    if code != 0:
                        raise SystemExit(f"bot ask {question!r} exited {code}")
                    if i:  # the first round warms imports
                        results[question].append(elapsed)
    finally:
        if saved is None:
            os.environ.pop("KPI_DUCKDB_PATH", None)
        else:
            os.environ["KPI_DUCKDB_PATH"] = saved
    return {q: summary(v) for q, v in results.items()}


def bench_connection(db: Path, runs: int) -> dict[str, Any]:
    """Opening a read-only DuckDB connection + first query, against a warm query."""
    from bot.warehouse.duckdb_adapter import DuckDBWarehouse

    cold, warm = [], []
    for _ in range(runs):
        warehouse = DuckDBWarehouse(db)
        started = time.perf_counter()
        warehouse.run("data_status")
        cold.append(time.perf_counter() - started)
        started = time.perf_counter()
        warehouse.run("data_status")
        warm.append(time.perf_counter() - started)
        warehouse.close()
    return {"first_query_new_connection": summary(cold), "same_query_warm": summary(warm)}


# --------------------------------------------------------------------------- Slack path


def _timed_kpi_service_class():
    from bot.service import KpiService

    class TimedKpiService(KpiService):
        """Stamps (monotonic) start and end of every ``answer`` and its query time; the
        end moves to the end of ``with_charts`` when the Slack edge draws the charts
        after the answer (one question at a time)."""

        def __init__(self, *args: Any, warehouse: TimingWarehouse, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.timing_warehouse = warehouse
            self.records: list[list[float]] = []
            self._records_lock = threading.Lock()

        def answer(self, question, *, charts=True):  # type: ignore[no-untyped-def]
            self.timing_warehouse.take()
            started = time.monotonic()
            try:
                return super().answer(question, charts=charts)
            finally:
                ended = time.monotonic()
                spent, _ = self.timing_warehouse.take()
                with self._records_lock:
                    self.records.append([started, ended, spent])

        def with_charts(self, answer):  # type: ignore[no-untyped-def]
            drawn = super().with_charts(answer)
            with self._records_lock:
                if self.records:
                    self.records[-1][1] = time.monotonic()
            return drawn

    return TimedKpiService


@contextlib.contextmanager
def running_bot(db: Path, answer_slots: int | None = None, chart_processes: int = 0):
    """The production wiring on an ephemeral loopback port, talking to a Slack double.

    ``answer_slots`` overrides ``KpiService``'s limit on answers computed at once;
    ``chart_processes`` > 0 renders charts in that many worker processes (as ``serve``
    does by default), 0 in the answering thread."""
    from bot.chart_workers import ChartWorkers, render_inline
    from bot.warehouse.base import MartReader
    from bot.warehouse.duckdb_adapter import DuckDBWarehouse
    from tests.slack_double import SlackDouble

    with SlackDouble(token=TOKEN) as slack:
        warehouse = TimingWarehouse(DuckDBWarehouse(db, timeout_s=60))
        slots = {} if answer_slots is None else {"answer_slots": answer_slots}
        workers = ChartWorkers(chart_processes) if chart_processes else None
        if workers is not None:
            workers.warm(wait=True)  # steady state: not timing the workers' start-up
        kpi = _timed_kpi_service_class()(
            MartReader(warehouse),
            warehouse=warehouse,
            clock=bench_clock,
            render=workers or render_inline,
            **slots,
        )
        try:
            with bolt_app_over_http(db, slack, token=TOKEN, secret=SECRET, kpi=kpi) as url:
                yield url, slack, kpi
        finally:
            warehouse.close()
            if workers is not None:
                workers.close()
            if double_errors(slack):
                raise SystemExit(f"the Slack double failed: {double_errors(slack)}")


def accepted(call: Any) -> bool:
    """Did the double accept this call (HTTP 200 and, for Web API methods, ``ok: true``)?"""
    body = call.response
    return call.status == 200 and (not isinstance(body, dict) or bool(body.get("ok")))


def shared_pngs(slack: Any) -> list[Any]:
    """Accepted ``files.completeUploadExternal`` calls: each shares one chart."""
    return [c for c in slack.calls("files.completeUploadExternal") if accepted(c)]


def double_errors(slack: Any) -> list[str]:
    return list(getattr(slack, "errors", []) or [])


def send_command(url: str, slack: Any, text: str) -> tuple[float, float, str]:
    """POST one signed /kpi; returns (monotonic send time, ack seconds, response_url name)."""
    from tests.slack_requests import post_signed, signed_headers, slash_command_body

    name = uuid.uuid4().hex
    body = slash_command_body(
        text,
        channel_id=CHANNEL,
        response_url=slack.response_url(name),
        trigger_id=f"{time.time():.6f}.{name}",  # unique: the bot drops repeated deliveries
    )
    headers = signed_headers(SECRET, body)
    sent = time.monotonic()
    status, reply = post_signed(url, body, headers, timeout=30)
    acked = time.monotonic() - sent
    if status != 200:
        raise SystemExit(f"/kpi {text!r} was answered HTTP {status}: {reply[:200]}")
    return sent, acked, name


def _check_answered(slack: Any, name: str) -> None:
    private = [m for m in slack.messages("response_url") if m.response_url_name == name]
    if private:
        raise SystemExit(f"the bot replied privately instead of answering: {private[0].text}")


def bench_slack(db: Path, runs: int, warmup: int, chart_processes: int = 0) -> dict[str, Any]:
    parts: dict[str, dict[str, list[float]]] = {
        q: {
            k: []
            for k in (
                "ack",
                "to_answer_start",
                "answer",
                "query",
                "post_message",
                "upload_png",
                "slack_calls",
                "to_message",
                "to_png",
            )
        }
        for q in QUESTIONS
    }
    with running_bot(db, chart_processes=chart_processes) as (url, slack, kpi):
        for i in range(warmup + runs):
            for question in QUESTIONS:
                posted = len(slack.messages("chat.postMessage"))
                shared = len(shared_pngs(slack))
                sent, ack, name = send_command(url, slack, question)
                try:
                    message = slack.wait_for(
                        lambda p=posted: slack.messages("chat.postMessage")[p:], timeout=60
                    )[0]
                    complete = slack.wait_for(lambda s=shared: shared_pngs(slack)[s:], timeout=60)[
                        0
                    ]
                except AssertionError:
                    _check_answered(slack, name)
                    raise
                upload = slack.uploads()[-1]
                if not (upload.data or b"").startswith(b"\x89PNG"):
                    raise SystemExit(f"/kpi {question!r}: the upload is not a PNG")
                if i < warmup:
                    continue
                started, ended, query = kpi.records[-1]
                msg_at, png_at = message.call.time, complete.time
                p = parts[question]
                p["ack"].append(ack)
                p["to_answer_start"].append(started - sent)
                p["answer"].append(ended - started)
                p["query"].append(query)
                p["post_message"].append(msg_at - ended)
                p["upload_png"].append(png_at - msg_at)
                p["slack_calls"].append(png_at - ended)
                p["to_message"].append(msg_at - sent)
                p["to_png"].append(png_at - sent)
    return {q: {k: summary(v) for k, v in p.items()} for q, p in parts.items()}


class QueueDepth(logging.Handler):
    """Counts waitress's "Task queue depth is N" warnings: requests waiting for a thread."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.max_depth = 0
        self.warnings = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.warnings += 1
        with contextlib.suppress(ValueError, IndexError, TypeError):
            self.max_depth = max(self.max_depth, int(str(record.args[0])))


def bench_concurrent_acks(
    db: Path,
    senders: int,
    per_sender: int,
    answer_slots: int | None = None,
    chart_processes: int = 0,
) -> dict[str, Any]:
    """``senders`` threads start together, each POSTing ``per_sender`` commands back to back."""
    acks: list[float] = []
    lock = threading.Lock()
    queue = QueueDepth()
    waitress_queue = logging.getLogger("waitress.queue")
    waitress_queue.addHandler(queue)
    waitress_queue.propagate = False
    with running_bot(db, answer_slots, chart_processes) as (url, slack, _kpi):
        # Warm the app (first request imports and builds Bolt's middleware state).
        send_command(url, slack, "help")
        slack.wait_for(lambda: slack.messages("response_url"), timeout=30)
        start = threading.Barrier(senders)

        def sender(index: int) -> None:
            start.wait()
            for n in range(per_sender):
                _, ack, _ = send_command(url, slack, QUESTIONS[(index + n) % len(QUESTIONS)])
                with lock:
                    acks.append(ack)

        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=senders) as pool:
            list(pool.map(sender, range(senders)))
        total = senders * per_sender
        slack.wait_for(
            lambda: len(shared_pngs(slack)) >= total,
            timeout=60 + total * 2,
        )
        drained = time.monotonic() - began
        failed = [c for c in slack.calls() if not accepted(c)]
    waitress_queue.removeHandler(queue)
    waitress_queue.propagate = True
    return {
        "senders": senders,
        "commands": total,
        "ack": summary(acks),
        "all_answered_s": round(drained, 2),
        "answers_per_s": round(total / drained, 2),
        "slack_calls_not_ok": len(failed),
        "waitress_queue_warnings": queue.warnings,
        "waitress_max_queue_depth": queue.max_depth,
    }


# --------------------------------------------------------------------------- report


def _print_in_process(result: dict[str, Any], cli: dict[str, Any], conn: dict[str, Any]) -> None:
    rows = []
    for q in QUESTIONS:
        r = result[q]
        rows.append(
            [
                q,
                fmt_ms(r["total"]["p50_ms"]),
                fmt_ms(r["total"]["p95_ms"]),
                fmt_ms(r["query"]["p50_ms"]),
                fmt_ms(r["core"]["p50_ms"]),
                fmt_ms(r["chart"]["p50_ms"]),
                fmt_ms(r["cpu_total"]["p50_ms"]),
                fmt_ms(r["cpu_chart"]["p50_ms"]),
                r["queries"],
                fmt_ms(cli[q]["p50_ms"]),
                fmt_ms(cli[q]["p95_ms"]),
            ]
        )
    print("\nIn-process KpiService.ask (ms; query/core/chart are medians of each part)")
    print(
        table(
            [
                "question",
                "p50",
                "p95",
                "query",
                "core",
                "chart",
                "cpu",
                "cpu chart",
                "#q",
                "cli p50",
                "cli p95",
            ],
            rows,
        )
    )
    c, w = conn["first_query_new_connection"], conn["same_query_warm"]
    print(
        f"\nDuckDB connection: new connection + first query p50 {fmt_ms(c['p50_ms'])} ms "
        f"vs warm query p50 {fmt_ms(w['p50_ms'])} ms"
    )


def _print_slack(result: dict[str, Any], load: dict[str, Any] | None) -> None:
    rows = []
    for q in QUESTIONS:
        r = result[q]
        rows.append(
            [
                q,
                fmt_ms(r["ack"]["p50_ms"]),
                fmt_ms(r["to_message"]["p50_ms"]),
                fmt_ms(r["to_png"]["p50_ms"]),
                fmt_ms(r["to_png"]["p95_ms"]),
                fmt_ms(r["query"]["p50_ms"]),
                fmt_ms(r["answer"]["p50_ms"]),
                fmt_ms(r["post_message"]["p50_ms"]),
                fmt_ms(r["upload_png"]["p50_ms"]),
            ]
        )
    print("\nSlack path, signed /kpi over loopback HTTP (ms, p50 unless noted)")
    print(
        table(
            [
                "question",
                "ack",
                "→message",
                "→PNG",
                "→PNG p95",
                "query",
                "answer",
                "post msg",
                "upload",
            ],
            rows,
        )
    )
    for kind, run in (load or {}).items():
        a = run["ack"]
        print(
            f"\n{kind}: {run['senders']} concurrent senders, {run['commands']} commands: ack "
            f"p50 {fmt_ms(a['p50_ms'])} / p95 {fmt_ms(a['p95_ms'])} / p99 {fmt_ms(a['p99_ms'])}"
            f" / max {fmt_ms(a['max_ms'])} ms; all answered in {run['all_answered_s']} s "
            f"({run['answers_per_s']}/s); waitress queue max {run['waitress_max_queue_depth']}"
        )


def _verdicts(in_process: dict | None, slack: dict | None, load: dict | None) -> dict[str, Any]:
    rev = "revenue last 30 days"
    out: dict[str, Any] = {}
    if in_process:
        out["in_process_revenue_p50_ms"] = in_process[rev]["total"]["p50_ms"]
        out["in_process_revenue_p95_ms"] = in_process[rev]["total"]["p95_ms"]
    if slack:
        out["slack_revenue_to_png_p50_ms"] = slack[rev]["to_png"]["p50_ms"]
        out["slack_revenue_to_png_p95_ms"] = slack[rev]["to_png"]["p95_ms"]
        out["revenue_p50_met"] = slack[rev]["to_png"]["p50_ms"] < TARGETS["revenue_p50_ms"]
        out["revenue_p95_met"] = slack[rev]["to_png"]["p95_ms"] < TARGETS["revenue_p95_ms"]
    for kind, run in (load or {}).items():
        out[f"{kind}_ack_p99_ms"] = run["ack"]["p99_ms"]
        out[f"{kind}_ack_p99_met"] = run["ack"]["p99_ms"] < TARGETS["ack_p99_ms"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.latency",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small data, few runs")
    parser.add_argument("--runs", type=int, help="timed runs per question (default 60; quick 12)")
    parser.add_argument("--users", type=int, help=f"demo users (default {DEFAULT_USERS:,})")
    parser.add_argument("--senders", type=int, help="concurrent senders (default 20; quick 5)")
    parser.add_argument("--per-sender", type=int, help="commands per sender (default 10)")
    parser.add_argument("--no-slack", action="store_true", help="in-process parts only")
    parser.add_argument(
        "--acks-only",
        action="store_true",
        help="only the concurrent-ack part, --repeat times for each --answer-slots value",
    )
    parser.add_argument(
        "--answer-slots", help="comma-separated KpiService answer_slots to compare, e.g. 8,2"
    )
    parser.add_argument(
        "--chart-processes",
        default="0",
        help="chart worker processes on the Slack path (0 = in the answering thread, as the "
        "figures in benchmarks/README.md; serve's default is 1); --acks-only takes a "
        "comma-separated list to compare, e.g. 0,2",
    )
    parser.add_argument("--repeat", type=int, default=1, help="repetitions (--acks-only)")
    args = parser.parse_args(argv)
    quick = args.quick
    runs = args.runs or (12 if quick else 60)
    users = args.users or (10_000 if quick else DEFAULT_USERS)
    senders = args.senders or (5 if quick else 20)
    per_sender = args.per_sender or (2 if quick else 10)
    warmup = 2 if quick else 5

    db = ensure_warehouse(users)
    if args.acks_only:
        return acks_only(db, senders, per_sender, args)
    print(f"latency: {users:,} users, {runs} runs per question, load {load_average()}")
    before = load_average()
    in_process = bench_in_process(db, runs, warmup)
    cli = bench_cli_ask(db, max(runs // 3, 3))
    conn = bench_connection(db, max(runs // 2, 5))
    _print_in_process(in_process, cli, conn)
    slack = load = None
    if not args.no_slack:
        processes = int(args.chart_processes)
        slack = bench_slack(db, runs, warmup, processes)
        load = {
            "burst": bench_concurrent_acks(db, senders, 1, chart_processes=processes),
            "sustained": bench_concurrent_acks(db, senders, per_sender, chart_processes=processes),
        }
        _print_slack(slack, load)
    verdicts = _verdicts(in_process, slack, load)
    print("\n" + "  ".join(f"{k}={v}" for k, v in verdicts.items()))
    write_result(
        "latency" + ("-quick" if quick else "") + ("-noslack" if args.no_slack else ""),
        {
            "command": "python -m benchmarks.latency " + " ".join(argv or sys.argv[1:]),
            "users": users,
            "runs": runs,
            "machine": machine(),
            "load_average_before": before,
            "load_average_after": load_average(),
            "targets": TARGETS,
            "in_process": in_process,
            "cli_ask_in_process": cli,
            "connection": conn,
            "slack": slack,
            "concurrent_acks": load,
            "verdicts": verdicts,
        },
    )
    return 0


def acks_only(db: Path, senders: int, per_sender: int, args: argparse.Namespace) -> int:
    """Burst and sustained acks, alternating the answer_slots × chart_processes
    combinations round by round."""
    slots: list[int | None] = (
        [int(x) for x in args.answer_slots.split(",")] if args.answer_slots else [None]
    )
    processes = [int(x) for x in args.chart_processes.split(",")]
    before = load_average()
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for _ in range(args.repeat):
        for slot, procs in itertools.product(slots, processes):
            label = f"{'default' if slot is None else slot} chart_processes={procs}"
            for kind, per in (("burst", 1), ("sustained", per_sender)):
                result = bench_concurrent_acks(db, senders, per, slot, procs)
                runs.setdefault(label, {}).setdefault(kind, []).append(result)
                a = result["ack"]
                print(
                    f"answer_slots={label} {kind}: ack p50 {fmt_ms(a['p50_ms'])} p99 "
                    f"{fmt_ms(a['p99_ms'])} ms; all answered in {result['all_answered_s']} s",
                    flush=True,
                )
    medians = {
        label: {
            kind: {
                "ack_p50_ms_median": statistics.median(r["ack"]["p50_ms"] for r in rs),
                "ack_p99_ms_median": statistics.median(r["ack"]["p99_ms"] for r in rs),
                "ack_p99_ms_runs": [r["ack"]["p99_ms"] for r in rs],
                "all_answered_s_median": statistics.median(r["all_answered_s"] for r in rs),
            }
            for kind, rs in by_kind.items()
        }
        for label, by_kind in runs.items()
    }
    print("\nmedians over repeats:")
    for label, by_kind in medians.items():
        for kind, m in by_kind.items():
            print(
                f"  answer_slots={label} {kind}: ack p50 {m['ack_p50_ms_median']} ms, p99 "
                f"{m['ack_p99_ms_median']} ms (runs {m['ack_p99_ms_runs']}), all answered in "
                f"{m['all_answered_s_median']} s"
            )
    write_result(
        "latency-acks",
        {
            "command": "python -m benchmarks.latency " + " ".join(sys.argv[1:]),
            "machine": machine(),
            "load_average_before": before,
            "load_average_after": load_average(),
            "senders": senders,
            "per_sender": per_sender,
            "medians": medians,
            "runs": runs,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
