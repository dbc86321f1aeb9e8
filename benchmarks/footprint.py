"""Footprint of ``serve`` (issue #20): cold start, first answers, RSS, imports.

    .venv/bin/python -m benchmarks.footprint                         # this tree
    .venv/bin/python -m benchmarks.footprint --compare ../before     # and another checkout
    .venv/bin/python -m benchmarks.footprint --quick                 # 10k users, 1 start/kind

* **Cold start**: ``python -m bot serve`` (HTTP mode, 127.0.0.1, a free port) of a
  checkout (``PYTHONPATH`` and cwd = that tree) is started with ``SLACK_API_URL`` pointing
  at a Slack Web API double in this process. *Listening*: ``/healthz`` answers 200,
  measured from just before ``Popen``. The moment it listens, one signed ``/kpi`` of one
  kind (revenue, ab, retention, metrics, funnel; each answered with a chart) is posted:
  its HTTP ack time, and its *first answer* (message and shared PNG at the double) after
  listening. One start per kind and tree per round, trees alternating.
* **Base libraries**: wall time of ``python -c "import slack_bolt, slack_sdk, duckdb,
  waitress, apscheduler, sqlalchemy, scipy.special"``, sampled between the starts, so
  "listening within 1.3× of it" is measured side by side on the same machine and load.
* **Bytecode**: each tree's ``bot/`` is compiled first (``compileall``), as the
  Dockerfile does: this machine sets PYTHONDONTWRITEBYTECODE=1, under which every start
  would compile the bot's ~100 modules again (the libraries' bytecode pip compiled).
* **RSS**: ``VmRSS`` of the serving process and of each chart worker (its children) after
  ``--questions`` mixed questions of every kind (one start per tree).
* **Imports**: ``python -X importtime -c "import bot.slack.server"`` per tree: the
  largest top-level packages (cumulative) and which of pandas/matplotlib/metricflow load.

The bot answers with its real clock here (it's a separate process), so questions name
explicit dates inside the generated data. The helpers behind the figures quoted before
#20 (``serve_once``, ``dependency_sizes``, ``import_times``) are in this file at f946c01.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import (
    BENCH_END,
    DEFAULT_USERS,
    ROOT,
    ensure_warehouse,
    load_average,
    machine,
    python_env,
    table,
    write_result,
)
from benchmarks.latency import double_errors
from benchmarks.serving import TOKEN, proc_status, running_serve

_SPAN = f"{BENCH_END - timedelta(days=29):%Y-%m-%d} to {BENCH_END:%Y-%m-%d}"
REVENUE = f"revenue {_SPAN}"
# One question per kind, each answered with a chart (issue #20's "first answer of each kind").
KINDS = {
    "revenue": REVENUE,
    "ab": "ab checkout_redesign",
    "retention": "retention",
    "metrics": f"revenue by country {_SPAN}",
    "funnel": f"funnel {_SPAN}",
}
MIXED_ALL = (
    *KINDS.values(),
    "ab pricing_page_abn",
    f"orders by traffic_source {_SPAN}",
    "retention 8",
    f"funnel {_SPAN} by browser",
    f"revenue {BENCH_END - timedelta(days=6):%Y-%m-%d} to {BENCH_END:%Y-%m-%d}",
)
# What any server of this kind imports (Slack, HTTP, warehouse, scheduler, state, stats).
BASE_LIBRARIES = (
    "slack_bolt",
    "slack_sdk",
    "duckdb",
    "waitress",
    "apscheduler",
    "sqlalchemy",
    "scipy.special",
)


# --------------------------------------------------------------------------- serving


def _ask(url: str, slack: Any, text: str) -> tuple[float, float]:
    """POST a signed /kpi and wait for message + PNG; returns (its HTTP ack in seconds,
    the PNG's monotonic arrival time)."""
    from benchmarks.latency import send_command, shared_pngs

    shared = len(shared_pngs(slack))
    posted = len(slack.messages("chat.postMessage"))
    _, ack, name = send_command(url, slack, text)
    try:
        slack.wait_for(lambda: slack.messages("chat.postMessage")[posted:], timeout=60)
        done = slack.wait_for(
            lambda: shared_pngs(slack)[shared:],
            timeout=60,
        )
    except AssertionError:
        private = [m.text for m in slack.messages("response_url") if m.response_url_name == name]
        raise SystemExit(f"/kpi {text!r} was not answered in the channel: {private}") from None
    return ack, done[0].time


_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)$")


# --------------------------------------------------------------------------- issue #20


def _children_rss(pid: int) -> list[int]:
    """VmRSS of each child process of ``pid`` (the chart workers), bytes."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                out.append(proc_status(int(child)).get("VmRSS", 0))
    return out


def _root_env(root: Path) -> dict[str, str]:
    return python_env() | {"PYTHONPATH": str(root)}


def base_import_s() -> float:
    """Wall time of a fresh interpreter importing the libraries any server needs."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", f"import {', '.join(BASE_LIBRARIES)}"],
        cwd=ROOT,
        env=python_env(),
        check=True,
    )
    return time.perf_counter() - started


def serve_kind(
    root: Path,
    db: Path,
    log_dir: Path,
    index: int,
    first: str,
    then: tuple[str, ...] = (),
    chart_processes: str | None = None,
) -> dict[str, Any]:
    """Start ``python -m bot serve`` from checkout ``root``; the moment it listens, ask
    ``first`` (its ack, and its answer's arrival after listening), then ``then`` one by
    one; RSS of the serving process and of each chart worker at the end."""
    from tests.slack_double import SlackDouble

    env = {"KPI_CHART_PROCESSES": chart_processes} if chart_processes is not None else {}
    state, log = log_dir / f"state-{index}.sqlite", log_dir / f"serve-{index}.log"
    with SlackDouble(token=TOKEN) as slack:
        with running_serve(slack, db, state, log, root=root, env=env) as served:
            url = f"{served.base_url}/slack/events"
            first_ack, arrived = _ask(url, slack, first)
            for text in then:
                _ask(url, slack, text)
            serving = proc_status(served.proc.pid)
            workers = _children_rss(served.proc.pid)
        if double_errors(slack):
            raise SystemExit(f"the Slack double failed: {double_errors(slack)}")
    return {
        "listening_s": served.listening - served.started,
        "first_ack_s": first_ack,
        "first_answer_after_listening_s": arrived - served.listening,
        "questions": 1 + len(then),
        "serving_rss": serving["VmRSS"],
        "serving_hwm": serving["VmHWM"],
        "worker_rss": workers,
    }


def import_profile(root: Path, module: str = "bot.slack.server") -> dict[str, Any]:
    """``-X importtime`` of ``module`` in checkout ``root``: cumulative time of the
    largest top-level packages and whether pandas / matplotlib / metricflow are in it."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=root,
        env=_root_env(root),
        capture_output=True,
        text=True,
        check=True,
    )
    cumulative: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match and match[4] == match[4].split(".")[0]:  # a top-level package's own line
            cumulative[match[4]] = max(cumulative.get(match[4], 0), int(match[2]))
    top = sorted(cumulative.items(), key=lambda kv: kv[1], reverse=True)[:10]
    return {
        "module": module,
        "top_cumulative_ms": {k: round(v / 1000, 1) for k, v in top},
        "heavy_imported": sorted(set(cumulative) & {"pandas", "matplotlib", "metricflow"}),
    }


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f}"


def _median_s(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.footprint",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small data, one start per kind")
    parser.add_argument("--starts", type=int, help="cold starts per kind and tree (default 3)")
    parser.add_argument("--questions", type=int, help="mixed questions for RSS (default 30)")
    parser.add_argument("--users", type=int, help=f"demo users (default {DEFAULT_USERS:,})")
    parser.add_argument(
        "--compare",
        metavar="DIR",
        help="another checkout (e.g. a worktree at 63c7637) measured in the same run, "
        "its starts alternating with this tree's",
    )
    parser.add_argument(
        "--chart-processes", help="KPI_CHART_PROCESSES for serve (default: serve's default, 1)"
    )
    args = parser.parse_args(argv)
    starts = args.starts or (1 if args.quick else 3)
    questions = args.questions if args.questions is not None else 30
    users = args.users or (10_000 if args.quick else DEFAULT_USERS)
    db = ensure_warehouse(users)
    trees = {"this tree": ROOT}
    if args.compare:
        trees["compare"] = Path(args.compare).resolve()
    for root in trees.values():  # as the Dockerfile does (PYTHONDONTWRITEBYTECODE=1 here)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "bot")], check=True)
    load_before = load_average()
    print(f"footprint: {users:,} users, {starts} start(s) per kind and tree, load {load_before}")

    listening: dict[str, list[float]] = {t: [] for t in trees}
    firsts: dict[str, dict[str, list[float]]] = {t: {k: [] for k in KINDS} for t in trees}
    acks: dict[str, list[float]] = {t: [] for t in trees}
    base: list[float] = []
    index = 0
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(starts):
            for kind, text in KINDS.items():
                base.append(base_import_s())
                for tree, root in trees.items():
                    run = serve_kind(
                        root, db, Path(tmp), index, text, chart_processes=args.chart_processes
                    )
                    index += 1
                    listening[tree].append(run["listening_s"])
                    firsts[tree][kind].append(run["first_answer_after_listening_s"])
                    acks[tree].append(run["first_ack_s"])
                    print(
                        f"  {tree:9} {kind:9} listening {run['listening_s']:.2f} s, "
                        f"ack {run['first_ack_s'] * 1000:.0f} ms, answer "
                        f"+{run['first_answer_after_listening_s']:.2f} s after listening",
                        flush=True,
                    )
        mixed = tuple(MIXED_ALL[i % len(MIXED_ALL)] for i in range(questions))
        rss = {}
        for tree, root in trees.items():
            run = serve_kind(root, db, Path(tmp), index, mixed[0], mixed[1:], args.chart_processes)
            index += 1
            rss[tree] = run
    profiles = {tree: import_profile(root) for tree, root in trees.items()}
    base_s = _median_s(base)

    print(f"\nBase server libraries ({', '.join(BASE_LIBRARIES)}): import {base_s:.2f} s (p50)")
    rows = []
    for tree in trees:
        listen = _median_s(listening[tree])
        rows.append(
            [
                tree,
                f"{listen:.2f}",
                f"{listen / base_s:.2f}×",
                *(f"{_median_s(firsts[tree][k]):.2f}" for k in KINDS),
                f"{max(acks[tree]) * 1000:.0f}",
            ]
        )
    print("\nCold start (s, p50): listening, and each kind's first answer after listening")
    print(table(["tree", "listening", "÷ base", *KINDS, "max first ack ms"], rows))
    print(f"\nRSS after {questions} mixed questions (MiB)")
    rows = [
        [
            tree,
            _mib(r["serving_rss"]),
            " + ".join(_mib(w) for w in r["worker_rss"]) or "-",
            _mib(r["serving_rss"] + sum(r["worker_rss"])),
            _mib(r["serving_hwm"]),
        ]
        for tree, r in rss.items()
    ]
    print(table(["tree", "serving", "chart worker(s)", "total", "serving peak"], rows))
    for tree, prof in profiles.items():
        print(
            f"\n-X importtime, import bot.slack.server ({tree}): heavy "
            f"{prof['heavy_imported'] or 'none'}; top packages (cumulative ms): "
            + ", ".join(f"{k} {v}" for k, v in prof["top_cumulative_ms"].items())
        )
    write_result(
        "footprint" + ("-quick" if args.quick else ""),
        {
            "command": "python -m benchmarks.footprint"
            + (" --quick" if args.quick else "")
            + (f" --compare {args.compare}" if args.compare else ""),
            "users": users,
            "machine": machine(),
            "load_average_before": load_before,
            "load_average_after": load_average(),
            "trees": {k: str(v) for k, v in trees.items()},
            "base_import_s": base,
            "listening_s": listening,
            "first_answer_after_listening_s": firsts,
            "first_ack_s": acks,
            "rss": rss,
            "import_profile": profiles,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
