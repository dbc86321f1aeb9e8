"""The digest's content on the built demo warehouse (as of DEMO_END + 1), checked
against the marts read directly with DuckDB and statistics recomputed with scipy; the
Block Kit message against Slack's limits (slack_sdk's own models); and
``python -m bot digest`` (dry run, and a real post through the ledger)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from scipy import stats
from slack_sdk.models.blocks import Block

from bot.answers import ExperimentAnswer, RevenueAnswer
from bot.cli import main
from bot.core.anomalies import check_days
from bot.core.questions import escape_mrkdwn
from bot.core.retention import PooledRate, Trend
from bot.digest.blocks import DigestNotes, MissedDigest, render_digest
from bot.digest.content import ExperimentLine, Week1Retention, gather_content
from bot.digest.schedule import period_for_date
from bot.kinds import answer_blocks, render_text, to_json_dict
from bot.render.verdicts import verdict_text
from bot.service import KpiService
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.conftest import DEMO_END
from tests.slack_double import SlackDouble

AS_OF = DEMO_END + timedelta(days=1)
WEEK = (date(2026, 11, 16), date(2026, 11, 22))
MORNING = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 8, 0)  # naive UTC


def mart(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def kpi_at(db: Path, now: datetime) -> KpiService:
    return KpiService(
        MartReader(DuckDBWarehouse(db, timeout_s=20)),
        timezone=ZoneInfo("Europe/Berlin"),
        clock=lambda: now,
    )


@pytest.fixture(scope="module")
def content(built_db: Path):
    kpi = kpi_at(built_db, MORNING)
    yield gather_content(kpi, period_for_date(AS_OF))
    kpi.reader.warehouse.close()


def totals(db: Path, start: date, end: date) -> tuple[float, int]:
    [(revenue, orders)] = mart(
        db,
        "select sum(revenue), sum(orders) from main.revenue_daily where day between ? and ?",
        [start, end],
    )
    return float(revenue), int(orders)


def test_week_revenue_orders_and_aov_vs_week_before_and_last_year(content, built_db) -> None:
    assert isinstance(content.revenue, RevenueAnswer)
    report = content.revenue.report
    assert (report.current.window.start, report.current.window.end) == WEEK
    revenue, orders = totals(built_db, *WEEK)
    prev_revenue, prev_orders = totals(built_db, date(2026, 11, 9), date(2026, 11, 15))
    ly_revenue, ly_orders = totals(built_db, date(2025, 11, 17), date(2025, 11, 23))  # −364 d
    assert report.current.revenue == pytest.approx(revenue)
    assert report.current.orders == orders
    assert report.current.aov == pytest.approx(revenue / orders)
    assert report.previous.revenue.delta_pct == pytest.approx(
        (revenue - prev_revenue) / prev_revenue * 100
    )
    assert report.previous.orders.delta == orders - prev_orders
    assert report.last_year is not None
    assert report.last_year.revenue.delta_pct == pytest.approx(
        (revenue - ly_revenue) / ly_revenue * 100
    )
    assert report.last_year.aov.previous == pytest.approx(ly_revenue / ly_orders)
    assert content.freshness is not None and not content.freshness.stale


def test_unusual_days_match_an_independent_run_on_the_mart(content, built_db) -> None:
    rows = mart(built_db, "select day, revenue from main.revenue_daily")
    series = {day: float(revenue) for day, revenue in rows}
    days = [WEEK[0] + timedelta(days=i) for i in range(7)]
    expected = check_days(series, days)
    assert [c.day for c in content.day_checks] == days
    assert [(c.direction, c.band) for c in content.day_checks] == [
        (c.direction, c.band) for c in expected
    ]
    assert all(c.assessed for c in content.day_checks)  # two years of history


def test_running_experiments_and_their_srm_flags(content, built_db) -> None:
    running = {
        e
        for (e,) in mart(
            built_db,
            "select experiment_id from main.ab_experiments "
            "where cast(first_assigned_at as date) <= ? and cast(last_assigned_at as date) >= ?",
            [WEEK[1], WEEK[0]],
        )
    }
    assert {line.experiment_id for line in content.experiments} == running
    assert running  # the demo experiments run over the last weeks
    for line in content.experiments:
        rows = mart(
            built_db,
            "select variant, users from main.ab_metrics where experiment_id = ? order by variant",
            [line.experiment_id],
        )
        [(split,)] = mart(
            built_db,
            "select planned_split from main.ab_registry where experiment_id = ?",
            [line.experiment_id],
        )
        # Against the registry's planned split (e.g. control=90;treatment=10), else equal.
        weights = {v: 1.0 for v, _ in rows}
        if split:
            weights = {k: float(w) for k, w in (part.split("=") for part in split.split(";"))}
        users = [n for _, n in rows]
        expected = [sum(users) * weights[v] / sum(weights.values()) for v, _ in rows]
        p = stats.chisquare(users, expected).pvalue
        assert line.srm_flagged == (p < 0.001)
        assert line.srm_p_value == pytest.approx(p, rel=1e-6)
        assert line.verdict


def test_ab_the_digest_and_the_json_carry_the_same_verdict(content, built_db) -> None:
    """Issue #17 (8): one experiment's verdict kind and sentence are the same in `/kpi ab`
    (KpiService.ask, its Block Kit), the digest's content and message, and `--json`."""
    kpi = kpi_at(built_db, MORNING)
    message = render_digest(content, DigestNotes())
    digest_text = json.dumps(message.blocks, ensure_ascii=False)
    planned, running = set(), set()
    try:
        for line in content.experiments:
            answer = kpi.ask(f"ab {line.experiment_id}", as_of=AS_OF)
            assert isinstance(answer, ExperimentAnswer), answer
            decision = answer.result.decision
            planned.add(decision.kind.value)
            sentence = verdict_text(answer.result)
            as_json = to_json_dict(answer)
            assert (line.verdict_kind, line.verdict) == (answer.result.verdict_kind, sentence)
            assert (as_json["verdict_kind"], as_json["verdict"]) == (line.verdict_kind, sentence)
            assert as_json["decision"]["kind"] == decision.kind.value
            # The sentence states its confidence level (or why nothing was tested).
            if decision.message is None and decision.kind.value != "srm":
                level = f"{round((1 - decision.alpha) * 100, 4):g} % confidence"
                assert level in sentence and f"α = {decision.alpha:g}" in sentence
            shown = escape_mrkdwn(sentence)
            assert shown in json.dumps(answer_blocks(answer), ensure_ascii=False)
            assert shown in digest_text
            assert escape_mrkdwn(line.experiment_id) in digest_text
            if decision.progress.always_valid:  # a running plan: its progress, as /kpi ab
                assert line.progress and line.progress in render_text(answer)
                running.add(line.experiment_id)
                assert f"still running: {line.progress}" in digest_text
            else:
                assert line.progress is None
    finally:
        kpi.reader.warehouse.close()
    assert planned  # every running experiment went through the planned analysis
    assert running == {"checkout_cautious_rollout"}  # the demo's sequential readout


def test_week1_retention_of_the_latest_complete_cohort_vs_the_eight_before(
    content, built_db
) -> None:
    rows = mart(
        built_db,
        "select cohort_week, cohort_size, active_users from main.retention_weekly "
        "where week_n = 1 and cohort_week + interval 13 day <= ? order by cohort_week",
        [WEEK[1]],
    )
    latest, before = rows[-1], rows[-9:-1]
    r = content.retention
    assert r is not None
    assert r.cohort_week == latest[0] == date(2026, 11, 9)
    assert (r.cohort_size, r.active_users) == (latest[1], latest[2])
    assert r.baseline_cohorts == 8
    assert r.baseline_size == sum(x[1] for x in before)
    assert r.baseline_rate == pytest.approx(sum(x[2] for x in before) / sum(x[1] for x in before))


def test_the_message_fits_slack_and_reads_top_down(content) -> None:
    message = render_digest(content)
    assert 0 < len(message.blocks) <= 50
    for block in message.blocks:
        Block.parse(block).validate_json()
    assert message.blocks[0]["text"]["text"] == "Weekly KPI digest · Nov 16 – 22, 2026"
    text = json.dumps(message.blocks, ensure_ascii=False)
    assert "Week before (Nov 09 – 15, 2026)" in text
    assert "Same week last year (Nov 17 – 23, 2025)" in text
    assert "Charts are in the thread" in text
    assert len(text) < 13_000  # Slack refuses much longer messages
    assert [c.name for c in message.charts] == ["revenue"]
    assert message.charts[0].png.startswith(b"\x89PNG")
    assert message.text.startswith("Weekly KPI digest, Nov 16 – 22, 2026: revenue $")


def test_stale_data_is_a_prominent_warning_near_the_top(built_db) -> None:
    kpi = kpi_at(built_db, MORNING + timedelta(days=3))  # data is ~3.5 days old
    try:
        content = gather_content(kpi, period_for_date(AS_OF))
    finally:
        kpi.reader.warehouse.close()
    blocks = render_digest(content).blocks
    assert blocks[1]["type"] == "section"
    assert "Stale data" in blocks[1]["text"]["text"]
    assert not any("Data as of" in json.dumps(b) for b in blocks if b["type"] == "context")


def test_late_and_missed_notes_and_srm_warning(content) -> None:
    srm = ExperimentLine("recs_widget_srm", "srm", "Sample ratio mismatch", 900, True, 1e-6)
    notes = DigestNotes(
        due_at=datetime(2026, 11, 25, 8, 0, tzinfo=ZoneInfo("UTC")),
        timezone=ZoneInfo("Europe/Berlin"),
        missed=(MissedDigest("2026-11-09", "not_in_channel"),),
    )
    message = render_digest(replace(content, experiments=(srm,)), notes)
    texts = [json.dumps(b, ensure_ascii=False) for b in message.blocks]
    assert "This digest is late" in texts[1] and "Wed Nov 25, 09:00 CET" in texts[1]
    assert "week of Nov 09, 2026" in texts[2] and "not_in_channel" in texts[2]
    assert any("*SRM* (p < 0.001)" in t for t in texts)
    assert "(late)" in message.text


def test_retention_line_says_whether_the_change_is_real() -> None:
    from bot.digest.blocks import retention_line

    cohort = date(2026, 11, 9)
    same = Week1Retention(
        Trend(1, PooledRate(25, 100, 1), PooledRate(200, 800, 8), 0.9, 0.05, cohort)
    )
    worse = Week1Retention(
        Trend(1, PooledRate(150, 1000, 1), PooledRate(2000, 8000, 8), 1e-9, 0.05, cohort)
    )
    assert "within normal variation" in retention_line(same)
    assert "+0.0 pp" in retention_line(same)
    assert "a real change (p < 0.001)" in retention_line(worse)
    assert "*15.0 %* vs 25.0 %" in retention_line(worse)


# ------------------------------------------------------------------ the CLI


def test_cli_dry_run_prints_block_kit_and_writes_the_png(
    built_db, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("KPI_DUCKDB_PATH", str(built_db))
    out = tmp_path / "out"
    code = main(["digest", "--dry-run", "--as-of", AS_OF.isoformat(), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0
    printed = json.loads(captured.out)
    assert printed["blocks"][0]["text"]["text"] == "Weekly KPI digest · Nov 16 – 22, 2026"
    png = out / "digest-2026-11-16-revenue.png"
    assert png.read_bytes().startswith(b"\x89PNG")
    assert str(png) in captured.err


def test_cli_posts_through_the_ledger_once(built_db, tmp_path, monkeypatch, capsys) -> None:
    with SlackDouble(token="xoxb-cli") as slack:
        monkeypatch.setenv("KPI_DUCKDB_PATH", str(built_db))
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-cli")
        monkeypatch.setenv("SLACK_API_URL", slack.base_url)
        monkeypatch.setenv("KPI_STATE_DB", f"sqlite:///{tmp_path / 'state.sqlite'}")
        args = ["digest", "--as-of", AS_OF.isoformat(), "--channel", "C0CLI"]
        assert main(args) == 0
        assert "C0CLI week of 2026-11-16: sent" in capsys.readouterr().out
        assert main(args) == 0
        assert "already_sent" in capsys.readouterr().out
        assert len(slack.messages("chat.postMessage")) == 1
        assert main(["digest", "--as-of", AS_OF.isoformat(), "--channel", "#general"]) == 2


def test_cli_without_channels_or_token_explains(built_db, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("KPI_DUCKDB_PATH", str(built_db))
    assert main(["digest", "--as-of", AS_OF.isoformat()]) == 2
    assert "SLACK_BOT_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-x")
    monkeypatch.setenv("KPI_STATE_DB", f"sqlite:///{tmp_path / 's.sqlite'}")
    assert main(["digest", "--as-of", AS_OF.isoformat()]) == 2
    assert "no channel" in capsys.readouterr().err
