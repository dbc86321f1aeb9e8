"""Long work shows progress (issue #19, item 5): generation by table, dbt's nodes counted
from its own log events, elapsed time; status lines on stderr only, nothing in --json."""

from __future__ import annotations

import io
import json
import re
import shutil
import time
from pathlib import Path

import pytest

from bot.build import DbtProgress
from bot.cli import main
from bot.demo_data import TABLES
from bot.progress import Progress, elapsed_text


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_when_not_a_tty_at_most_one_every_5_s() -> None:
    out, clock = io.StringIO(), FakeClock()
    progress = Progress(out, tty=False, clock=clock)
    progress.start("Building")
    for second in range(12):
        clock.now = 100.0 + second
        progress.status(f"step {second}")
    clock.now = 175.0
    progress.done("finished")
    assert out.getvalue().splitlines() == [
        "Building …",
        "Building: step 0 (0 s)",
        "Building: step 5 (5 s)",
        "Building: step 10 (10 s)",
        "Building: finished (1 min 15 s)",
    ]
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_on_a_tty_one_line_is_redrawn_in_place() -> None:
    out, clock = io.StringIO(), FakeClock()
    progress = Progress(out, tty=True, clock=clock, tick_s=0)
    progress.start("Generating")
    clock.now += 1
    progress.status("writing events")
    clock.now += 1
    progress.done("done")
    assert out.getvalue() == (
        "\r\x1b[KGenerating …"
        "\r\x1b[KGenerating: writing events (1 s)"
        "\r\x1b[KGenerating: done (2 s)\n"
    )


def test_on_a_tty_the_elapsed_time_keeps_moving_during_a_long_step() -> None:
    out, clock = io.StringIO(), FakeClock()
    progress = Progress(out, tty=True, clock=clock, tick_s=0.01)
    progress.start("Generating")
    progress.status("writing events")
    clock.now += 7
    deadline = time.monotonic() + 5
    while "writing events (7 s)" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    progress.done("done")
    assert "\r\x1b[KGenerating: writing events (7 s)" in out.getvalue()
    assert out.getvalue().endswith("\r\x1b[KGenerating: done (7 s)\n")
    assert progress._ticker is None  # stopped with the task


def test_no_stream_reports_nothing() -> None:
    progress = Progress(None)
    progress.start("x")
    progress.status("y")
    progress.done("z")  # nothing to write to, nothing raised


def test_elapsed_text() -> None:
    assert [elapsed_text(s) for s in (0, 4.9, 59, 60, 65, 3600)] == [
        "0 s", "4 s", "59 s", "1 min 00 s", "1 min 05 s", "60 min 00 s",
    ]  # fmt: skip


def event(name: str, **data) -> str:
    return json.dumps({"info": {"name": name, "msg": name}, "data": data})


def node(name: str, resource_type: str, status: str) -> str:
    return event(name, status=status, node_info={"resource_type": resource_type})


def test_dbt_progress_counts_nodes_by_kind_against_dbts_totals() -> None:
    tracker = DbtProgress()
    assert tracker.describe() == "dbt build: starting dbt"
    assert tracker.feed(event("MainReportVersion", version="=1.11.16"))
    assert tracker.describe() == "dbt build: parsing the project"
    assert tracker.feed(
        event("FoundStats", stat_line="14 models, 1 seed, 98 data tests, 5 sources, "
              "561 macros, 5 unit tests")
    )  # fmt: skip
    assert tracker.describe() == "dbt build: 0/14 models, 0/1 seed, 0/103 tests"
    assert not tracker.feed(event("LogStartLine", node_info={"resource_type": "model"}))
    assert not tracker.feed("not json at all\n")
    assert tracker.feed(node("LogModelResult", "model", "success"))
    assert tracker.feed(node("LogSeedResult", "seed", "success"))
    assert tracker.feed(node("LogTestResult", "test", "pass"))
    assert tracker.feed(node("LogTestResult", "unit_test", "fail"))
    assert tracker.describe() == "dbt build: 1/14 models, 1/1 seed, 2/103 tests, 1 failed"


@pytest.fixture
def live_copy(built_db: Path, tmp_path: Path) -> Path:
    live = tmp_path / built_db.name
    shutil.copy(built_db, live)
    return live


def test_build_reports_dbt_progress_on_stderr_only(live_copy: Path, capsys) -> None:
    assert main(["build", "--db", str(live_copy)]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"Built the marts into {live_copy}\n"
    lines = captured.err.splitlines()  # not a TTY here: plain lines
    assert lines[0] == "Building the dbt marts …"
    last = r"Building the dbt marts: \d+ models, \d+ tests passed \(\d+ s\)"
    assert re.fullmatch(last, lines[-1]), lines[-1]
    models, tests = map(int, re.findall(r"\d+", lines[-1])[:2])
    # The counts were followed as they happened: every status names dbt's totals.
    statuses = [line for line in lines if "/" in line]
    assert statuses, lines
    for line in statuses:
        counted = re.findall(r"(\d+)/(\d+) (\w+)", line)
        done = {kind: int(n) for n, _, kind in counted}
        totals = {kind: int(t) for _, t, kind in counted}
        assert totals["models"] == models and totals["tests"] == tests, line
        assert all(done[k] <= totals[k] for k in done), line
    assert "\r" not in captured.err


def test_build_progress_callback_sees_every_node(live_copy: Path) -> None:
    from bot.build import build

    statuses: list[str] = []
    result = build(live_copy, progress=statuses.append)
    dbt = [s for s in statuses if s.startswith("dbt build: ")]
    assert dbt[0] == "dbt build: starting dbt"
    final = [s for s in dbt if "/" in s][-1]
    tests = result.tests + result.unit_tests
    models = f"{result.models}/{result.models} models"
    assert final == f"dbt build: {models}, 1/1 seed, {tests}/{tests} tests"
    assert statuses[-2:] == [
        "checking the built copy and swapping it in",
        "compiling the semantic catalog",  # after the swap: its failure can't undo the build
    ]


def test_generate_reports_tables_and_rows(tmp_path: Path, capsys) -> None:
    db = tmp_path / "g.duckdb"
    args = ["generate", "--db", str(db), "--users", "300", "--end", "2026-01-31"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"Wrote demo data to {db}: users 300, ")
    lines = captured.err.splitlines()
    assert lines[0] == f"Generating demo data (300 users) into {db} …"
    assert lines[1] == "Generating demo data: simulating 300 users (0 s)"
    # Plain lines at most every 5 s: the table lines are shown when the run is that slow;
    # what generate reports is checked in tests/test_demo_data.py.
    tables = len(TABLES)
    pattern = rf"Generating demo data: [\d,]+ rows in {tables} tables \(\d+ s\)"
    assert re.fullmatch(pattern, lines[-1])


def test_ask_json_prints_only_json(built_db: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("KPI_DUCKDB_PATH", str(built_db))
    code = main(["ask", "revenue last 30 days", "--json", "--as-of", "2026-11-25",
                 "--out", str(tmp_path)])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0
    json.loads(captured.out)
    assert captured.err == ""
