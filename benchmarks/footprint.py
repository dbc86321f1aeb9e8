"""Footprint: cold start to first answer, RSS while serving, dependency size, imports.

    .venv/bin/python -m benchmarks.footprint            # 1× data, 5 cold starts, 30 commands
    .venv/bin/python -m benchmarks.footprint --quick    # 10k users, 2 cold starts, 9 commands

* **Cold start**: ``python -m bot serve`` (HTTP mode, 127.0.0.1, a free port) is started
  as a child process with ``SLACK_API_URL`` pointing at a Slack Web API double running in
  this process. We poll ``/healthz`` until it answers (*listening*), then POST one signed
  ``/kpi revenue …`` and stop the clock when the double has the message and the shared
  PNG (*first answer*). Both are measured from just before ``Popen``.
* **RSS**: ``VmRSS``/``VmHWM`` from ``/proc/<pid>/status`` once listening, after the first
  answer, and after a stream of mixed commands (revenue, ab, retention).
* **Installed dependencies**: the runtime closure of ``requirements.txt`` (what a
  production image installs; dev/test packages excluded), summed from each installed
  distribution's RECORD, and the whole virtualenv for comparison: the dependency layer
  the Dockerfile's ``pip install -r requirements.txt`` adds (base image not counted).
* **Imports**: ``python -X importtime -c "import bot.service"`` — the top costs by
  top-level package — and the wall time of importing the modules each entry point needs.

The bot answers with its real clock here (it's a separate process), so the revenue
question names explicit dates inside the generated data.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.common import (
    BENCH_END,
    DEFAULT_USERS,
    ROOT,
    ensure_warehouse,
    fmt_ms,
    load_average,
    machine,
    python_env,
    summary,
    table,
    write_result,
)
from benchmarks.latency import SECRET, TOKEN, double_errors  # the same signing secret and token

REVENUE = f"revenue {BENCH_END - timedelta(days=29):%Y-%m-%d} to {BENCH_END:%Y-%m-%d}"
MIXED = (REVENUE, "ab checkout_redesign", "retention")
START_TIMEOUT_S = 120


# --------------------------------------------------------------------------- serving


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _proc_status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "VmHWM", "Threads"}:
            number = int(value.split()[0])
            out[key] = number * 1024 if key != "Threads" else number
    return out


def _tree_rss(pid: int) -> int:
    """VmRSS of ``pid`` and all its descendants (the chart worker processes), bytes."""
    total = _proc_status(pid).get("VmRSS", 0)
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(FileNotFoundError):
                total += _tree_rss(int(child))
    return total


def _wait_healthy(url: str, proc: subprocess.Popen, deadline: float) -> None:
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


def _ask(url: str, slack: Any, text: str) -> float:
    """POST a signed /kpi and wait for message + PNG; returns the monotonic arrival time."""
    from benchmarks.latency import send_command, shared_pngs

    shared = len(shared_pngs(slack))
    posted = len(slack.messages("chat.postMessage"))
    _, _, name = send_command(url, slack, text)
    try:
        slack.wait_for(lambda: slack.messages("chat.postMessage")[posted:], timeout=60)
        done = slack.wait_for(
            lambda: shared_pngs(slack)[shared:],
            timeout=60,
        )
    except AssertionError:
        private = [m.text for m in slack.messages("response_url") if m.response_url_name == name]
        raise SystemExit(f"/kpi {text!r} was not answered in the channel: {private}") from None
    return done[0].time


def serve_once(
    db: Path, commands: int, log_dir: Path, index: int, chart_processes: str | None = None
) -> dict[str, Any]:
    from tests.slack_double import SlackDouble

    port = _free_port()
    with SlackDouble(token=TOKEN) as slack:
        env = python_env() | {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.base_url,
            "KPI_DUCKDB_PATH": str(db),
            "KPI_STATE_DB": f"sqlite:///{log_dir}/state-{index}.sqlite",
        }
        if chart_processes is not None:
            env["KPI_CHART_PROCESSES"] = chart_processes
        log = (log_dir / f"serve-{index}.log").open("w")
        base = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_healthy(f"{base}/healthz", proc, started + START_TIMEOUT_S)
            listening = time.monotonic() - started
            rss_listening = _proc_status(proc.pid)
            rss_listening["tree"] = _tree_rss(proc.pid)
            first = _ask(f"{base}/slack/events", slack, REVENUE) - started
            rss_first = _proc_status(proc.pid)
            rss_first["tree"] = _tree_rss(proc.pid)
            for n in range(commands):
                _ask(f"{base}/slack/events", slack, MIXED[n % len(MIXED)])
            rss_serving = _proc_status(proc.pid)
            rss_serving["tree"] = _tree_rss(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
        if double_errors(slack):
            raise SystemExit(f"the Slack double failed: {double_errors(slack)}")
    return {
        "listening_s": listening,
        "first_answer_s": first,
        "rss_listening": rss_listening,
        "rss_after_first_answer": rss_first,
        "rss_after_commands": rss_serving,
        "commands": commands + 1,
    }


# --------------------------------------------------------------------------- dependencies


def _dist_size(dist: metadata.Distribution, seen: set[Path]) -> int:
    total = 0
    for file in dist.files or []:
        path = Path(dist.locate_file(file)).resolve()
        if path in seen:
            continue
        seen.add(path)
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


def runtime_closure() -> dict[str, metadata.Distribution]:
    """Installed distributions needed by requirements.txt (markers evaluated, no extras)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    wanted: list[Requirement] = []
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            wanted.append(Requirement(line))
    found: dict[str, metadata.Distribution] = {}
    while wanted:
        req = wanted.pop()
        name = canonicalize_name(req.name)
        if name in found or (req.marker and not req.marker.evaluate({"extra": ""})):
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue
        found[name] = dist
        for sub in dist.requires or []:
            sub_req = Requirement(sub)
            if not sub_req.marker or sub_req.marker.evaluate({"extra": ""}):
                wanted.append(sub_req)
    return found


def dependency_sizes() -> dict[str, Any]:
    closure = runtime_closure()
    seen: set[Path] = set()
    sizes = {name: _dist_size(dist, seen) for name, dist in closure.items()}
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    venv_total = sum(
        f.stat().st_size for f in site.rglob("*") if f.is_file() and not f.is_symlink()
    )
    top = sorted(sizes.items(), key=lambda kv: kv[1], reverse=True)[:12]
    return {
        "runtime_closure_packages": len(sizes),
        "runtime_closure_mib": round(sum(sizes.values()) / 2**20, 1),
        "site_packages_mib": round(venv_total / 2**20, 1),
        "largest_runtime_mib": {k: round(v / 2**20, 1) for k, v in top},
    }


# --------------------------------------------------------------------------- imports

_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)$")


def import_costs(module: str) -> dict[str, Any]:
    """``-X importtime``: total, and *self* time summed per top-level package (so nested
    imports are not counted twice), largest first."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    by_package: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            package = match[4].split(".")[0]
            by_package[package] = by_package.get(package, 0) + int(match[1])
    top = sorted(by_package.items(), key=lambda kv: kv[1], reverse=True)[:12]
    return {
        "module": module,
        "total_ms": round(sum(by_package.values()) / 1000, 1),
        "top_self_ms": {k: round(v / 1000, 1) for k, v in top},
    }


def import_times(modules: list[str], runs: int) -> dict[str, Any]:
    """Wall and CPU (user + system) time of ``python -c "import m"``, per module."""
    out: dict[str, Any] = {}
    for module in ["", *modules]:
        code = f"import {module}" if module else "pass"
        wall, cpu = [], []
        for _ in range(runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=python_env(), check=True)
            wall.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        out[module or "(bare interpreter)"] = {"wall": summary(wall), "cpu": summary(cpu)}
    return out


# --------------------------------------------------------------------------- main


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.footprint",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small data, fewer starts")
    parser.add_argument("--starts", type=int, help="cold starts (default 5; quick 2)")
    parser.add_argument("--commands", type=int, help="commands after the first (default 30)")
    parser.add_argument("--users", type=int, help=f"demo users (default {DEFAULT_USERS:,})")
    parser.add_argument(
        "--chart-processes", help="KPI_CHART_PROCESSES for serve (default: serve's default, 1)"
    )
    args = parser.parse_args(argv)
    starts = args.starts or (2 if args.quick else 5)
    commands = args.commands if args.commands is not None else (9 if args.quick else 30)
    users = args.users or (10_000 if args.quick else DEFAULT_USERS)
    db = ensure_warehouse(users)
    before = load_average()
    print(f"footprint: {users:,} users, {starts} cold starts, load {before}")

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(starts):
            runs.append(
                serve_once(db, commands if i == 0 else 0, Path(tmp), i, args.chart_processes)
            )
            print(
                f"  start {i + 1}: listening {runs[-1]['listening_s']:.2f} s, "
                f"first answer {runs[-1]['first_answer_s']:.2f} s",
                flush=True,
            )
    cold = {
        "listening": summary(r["listening_s"] for r in runs),
        "first_answer": summary(r["first_answer_s"] for r in runs),
    }
    serving = runs[0]
    deps = dependency_sizes()
    imports = [import_costs(m) for m in ("bot.service", "bot.slack.server")]
    wall = import_times(
        [
            "bot.cli",
            "bot.service",
            "bot.slack.server",
            "matplotlib.figure",
            "pandas",
            "scipy.special",
            "scipy.stats",
        ],
        runs=3 if args.quick else 5,
    )

    print("\nCold start of `python -m bot serve` (s, median over starts)")
    print(f"  listening (/healthz 200)   {cold['listening']['p50_ms'] / 1000:.2f}")
    print(f"  first answer (msg + PNG)   {cold['first_answer']['p50_ms'] / 1000:.2f}")
    print("\nRSS of the serving process (MiB; 'with workers' adds its child processes)")
    rows = [
        [
            label,
            _mib(serving[key]["VmRSS"]),
            _mib(serving[key]["VmHWM"]),
            serving[key]["Threads"],
            _mib(serving[key]["tree"]),
        ]
        for label, key in (
            ("listening", "rss_listening"),
            ("after first answer", "rss_after_first_answer"),
            (f"after {serving['commands']} commands", "rss_after_commands"),
        )
    ]
    print(table(["when", "VmRSS", "VmHWM (peak)", "threads", "with workers"], rows))
    print(
        f"\nInstalled runtime dependencies (requirements.txt closure, "
        f"{deps['runtime_closure_packages']} packages): {deps['runtime_closure_mib']} MiB; "
        f"whole venv site-packages: {deps['site_packages_mib']} MiB"
    )
    print("  largest: " + ", ".join(f"{k} {v}" for k, v in deps["largest_runtime_mib"].items()))
    for imp in imports:
        print(
            f"\n-X importtime: import {imp['module']} = {imp['total_ms']} ms; "
            "self time by top-level package (ms):"
        )
        print("  " + ", ".join(f"{k} {v}" for k, v in imp["top_self_ms"].items()))
    print("\n`python -c 'import …'` in a fresh interpreter (ms, p50)")
    rows = [[k, fmt_ms(v["wall"]["p50_ms"]), fmt_ms(v["cpu"]["p50_ms"])] for k, v in wall.items()]
    print(table(["module", "wall", "cpu (user+sys)"], rows))
    write_result(
        "footprint" + ("-quick" if args.quick else ""),
        {
            "command": "python -m benchmarks.footprint" + (" --quick" if args.quick else ""),
            "users": users,
            "machine": machine(),
            "load_average_before": before,
            "load_average_after": load_average(),
            "cold_start": cold,
            "cold_start_runs": [
                {k: round(r[k], 3) for k in ("listening_s", "first_answer_s")} for r in runs
            ],
            "serving": serving,
            "dependencies": deps,
            "importtime": imports,
            "import_times": wall,
            "median_first_answer_s": round(statistics.median(r["first_answer_s"] for r in runs), 3),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
