"""``python -m bot ask|demo``: the terminal edge, its exit codes and its JSON form."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from bot.cli import main
from tests.conftest import DEMO_END

AS_OF = "2026-11-25"


@pytest.fixture
def db_env(built_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KPI_DUCKDB_PATH", str(built_db))
    return built_db


def ask_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["ask", *args, "--json", "--as-of", AS_OF])
    return code, json.loads(capsys.readouterr().out)


def test_ask_revenue_json_holds_windows_numbers_and_chart(db_env, tmp_path, capsys):
    code, result = ask_json(capsys, "revenue last 30 days", "--out", str(tmp_path))
    assert code == 0
    with duckdb.connect(str(db_env), read_only=True) as con:
        revenue, orders = con.execute(
            "select sum(revenue), sum(orders) from main.revenue_daily "
            "where day between '2026-10-26' and '2026-11-24'"
        ).fetchone()
    text = json.dumps(result)
    assert "2026-10-26" in text and "2026-11-24" in text
    assert str(DEMO_END) in text  # data as of
    current = result["current"]
    assert current["revenue"] == pytest.approx(revenue)
    assert current["orders"] == orders
    charts = result["charts"]
    assert charts, result
    for path in charts.values():
        assert Path(path).read_bytes().startswith(b"\x89PNG")


def test_ask_experiment_json_has_verdict_and_statistics(db_env, tmp_path, capsys):
    code, result = ask_json(capsys, "ab pricing_page_abn", "--out", str(tmp_path))
    assert code == 0
    assert result["verdict"]
    assert len(result["variants"]) == 3
    assert len(result["comparisons"]) == 2
    assert result["adjustment"]  # Holm with more than two variants
    assert {"chi2", "p_value", "flagged"} <= set(result["srm"])


def test_ask_text_prints_answer_and_chart_path(db_env, tmp_path, capsys):
    code = main(["ask", "retention", "--as-of", AS_OF, "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "retention" in out.lower()
    assert f"Chart: {tmp_path}" in out
    assert (tmp_path / "retention.png").exists()


def test_ununderstood_question_exits_2_with_message_on_stderr(db_env, tmp_path, capsys):
    code = main(["ask", "revenue for ever and ever", "--as-of", AS_OF, "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert "ever" in captured.err
    assert "Traceback" not in captured.err


def test_unknown_experiment_exits_1_and_lists_known(db_env, tmp_path, capsys):
    code = main(["ask", "ab no_such_test", "--as-of", AS_OF, "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 1
    assert "checkout_redesign" in captured.err


def test_missing_warehouse_is_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KPI_DUCKDB_PATH", str(tmp_path / "absent.duckdb"))
    code = main(["ask", "revenue last 7 days", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.err
    assert "warehouse file is missing" in captured.err  # the path itself goes to the log


@pytest.mark.slow
def test_demo_runs_end_to_end_in_a_subprocess(tmp_path):
    """The README's main job, small: generate → dbt build → answer → charts on disk.

    Data ends yesterday (the default), so "last 30 days" always has data whatever the date.
    """
    db, out = tmp_path / "kpi.duckdb", tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "demo",
            "--users",
            "1500",
            "--db",
            str(db),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for question in (
        "revenue last 30 days",
        "ab checkout_redesign",
        "retention",
        "funnel last 30 days",
        "revenue by traffic_source last 30 days",
    ):
        assert f"/kpi {question}" in proc.stdout
    assert "Revenue by traffic source" in proc.stdout or "by traffic source" in proc.stdout
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert any(name.startswith("revenue") for name in pngs)
    assert any(name.startswith("retention") for name in pngs)
    assert any(name.startswith("funnel") for name in pngs)
    assert sum(name.startswith("ab_") for name in pngs) >= 4
