"""``/kpi funnel`` end to end on the small built warehouse (``built_db``).

Every figure is checked against independent references: the counts against SQL written
here over the raw ``thelook.events`` (the helpers of tests/test_funnel_marts.py), the
intervals, tests and Holm adjustment against statsmodels. Then the renderings: text and
Block Kit within Slack's limits, JSON holding every number the text shows, the weekly
digest's funnel line, ``python -m bot ask --json``, and a Slack round trip (message, then
the PNG, from the real Bolt app to the Slack double).
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from bot import kinds
from bot.answers import ErrorAnswer, FunnelAnswer
from bot.cli import main
from bot.core import chart_data
from bot.core import format as fmt
from bot.core.funnel import FunnelCounts
from bot.digest.blocks import funnel_line, render_digest
from bot.digest.content import gather_content
from bot.digest.schedule import period_for_date
from bot.render.funnel import drop_off_sentence, verdict_sentence
from bot.service import KpiService
from tests.conftest import DEMO_END
from tests.slack_double import SlackDouble
from tests.test_funnel_marts import CLOSED_COUNTS, RAW_EXPERIMENT_FUNNEL, RAW_SESSIONS
from tests.test_slack_app import (
    CHANNEL,
    PNG_SIGNATURE,
    TOKEN,
    assert_within_block_kit_limits,
    header_of,
    mart,
    running_bot,
    service_for,
)

TOKEN = TOKEN  # the Slack double (conftest) expects the bot harness's token
AS_OF = DEMO_END + timedelta(days=1)
LAST_30 = (date(2026, 10, 26), date(2026, 11, 24))
PREVIOUS_30 = (date(2026, 9, 26), date(2026, 10, 25))
EXPERIMENT = "checkout_redesign"
STEPS = ("sessions", "product", "cart", "purchase")


@pytest.fixture(scope="module")
def kpi(built_db: Path):
    service = service_for(built_db)
    yield service
    service.reader.warehouse.close()


def ask(kpi: KpiService, text: str, charts: bool = False) -> FunnelAnswer:
    answer = kpi.ask(text, as_of=AS_OF, charts=charts)
    assert isinstance(answer, FunnelAnswer), answer
    return answer


def raw_window(db: Path, start: date, end: date) -> FunnelCounts:
    [row] = mart(
        db,
        f"select {CLOSED_COUNTS} from ({RAW_SESSIONS}) where session_day between ? and ?",
        [start, end],
    )
    return FunnelCounts(*map(int, row))


def raw_segments(db: Path, dimension: str, start: date, end: date) -> dict[str, FunnelCounts]:
    assert dimension in ("browser", "traffic_source")  # a column name, never user text
    rows = mart(
        db,
        f"select {dimension}, {CLOSED_COUNTS} from ({RAW_SESSIONS}) "
        f"where session_day between ? and ? group by 1",
        [start, end],
    )
    return {str(value): FunnelCounts(*map(int, counts)) for value, *counts in rows}


def raw_experiment(db: Path, experiment_id: str) -> dict[str, FunnelCounts]:
    rows = mart(db, RAW_EXPERIMENT_FUNNEL)
    return {v: FunnelCounts(*map(int, c)) for e, v, *c in rows if e == experiment_id}


def wilson(x: int, n: int) -> tuple[float, float]:
    return proportion_confint(x, n, alpha=0.05, method="wilson")


# --------------------------------------------------------------------------- figures


def test_window_vs_previous_matches_raw_events_and_statsmodels(kpi, built_db) -> None:
    answer = ask(kpi, "funnel last 30 days")
    report = answer.report
    current, previous = raw_window(built_db, *LAST_30), raw_window(built_db, *PREVIOUS_30)
    assert current.entered > 100 and previous.entered > 100
    assert report.current.counts == current and report.previous.counts == previous
    steps = report.current.steps
    assert [s.name for s in steps] == list(STEPS)
    for i in range(1, 4):
        x, n = current.counts[i], current.counts[i - 1]
        assert steps[i].conversion == pytest.approx(x / n)
        ci = steps[i].conversion_ci
        assert (ci.low, ci.high) == pytest.approx(wilson(x, n), abs=1e-9)
    assert report.current.overall == pytest.approx(current.purchase / current.entered)
    ci = report.current.overall_ci
    assert (ci.low, ci.high) == pytest.approx(wilson(current.purchase, current.entered))
    # Each step conversion against the previous window, Holm across the three steps.
    raw_p = []
    for i, change in enumerate(report.changes, start=1):
        counts = [current.counts[i], previous.counts[i]]
        nobs = [current.counts[i - 1], previous.counts[i - 1]]
        z, p = proportions_ztest(counts, nobs)
        assert change.z == pytest.approx(z) and change.p_value == pytest.approx(p)
        raw_p.append(p)
    _, adjusted, _, _ = multipletests(raw_p, method="holm")
    for change, p_adj in zip(report.changes, adjusted, strict=True):
        assert change.p_adjusted == pytest.approx(p_adj)
        assert change.significant == (p_adj < 0.05)
    # The biggest drop-off is the transition with the largest share leaving.
    leaving = [1 - current.counts[i] / current.counts[i - 1] for i in range(1, 4)]
    worst = max(range(3), key=lambda i: leaving[i])
    drop = report.current.drop_off
    assert (drop.from_step, drop.to_step) == (STEPS[worst], STEPS[worst + 1])
    assert drop.share_leaving == pytest.approx(leaving[worst])


def test_vs_last_year_compares_with_the_same_days_a_year_earlier(kpi, built_db) -> None:
    report = ask(kpi, "funnel last week vs last year").report
    assert report.current.counts == raw_window(built_db, date(2026, 11, 16), date(2026, 11, 22))
    assert report.previous.counts == raw_window(built_db, date(2025, 11, 17), date(2025, 11, 23))


@pytest.mark.parametrize("dimension", ["browser", "traffic_source"])
def test_segments_one_row_per_value_match_raw_events(kpi, built_db, dimension) -> None:
    report = ask(kpi, f"funnel last 30 days by {dimension}").report
    expected = raw_segments(built_db, dimension, *LAST_30)
    assert len(expected) <= 10  # the demo's values all fit: no "all others" row
    assert {s.value: s.summary.counts for s in report.segments} == expected
    sessions = [s.summary.counts.entered for s in report.segments]
    assert sessions == sorted(sessions, reverse=True)
    total = raw_window(built_db, *LAST_30)
    assert report.current.counts == total


def test_experiment_funnel_matches_raw_events_and_statsmodels(kpi, built_db) -> None:
    exp = ask(kpi, f"funnel for {EXPERIMENT}").report.experiment
    expected = raw_experiment(built_db, EXPERIMENT)
    assert {name: s.counts for name, s in exp.variants} == expected
    assert exp.control == "control"
    control, treatment = expected["control"], expected["treatment"]
    (verdict,) = exp.treatments
    raw_p = []
    for i, lift in enumerate(verdict.lifts, start=1):
        c = lift.comparison
        p_t = treatment.counts[i] / treatment.counts[i - 1]
        p_c = control.counts[i] / control.counts[i - 1]
        assert c.abs_lift == pytest.approx(p_t - p_c)
        _, p = proportions_ztest(
            [treatment.counts[i], control.counts[i]],
            [treatment.counts[i - 1], control.counts[i - 1]],
        )
        assert c.p_value == pytest.approx(p)
        raw_p.append(p)
    _, adjusted, _, _ = multipletests(raw_p, method="holm")
    for lift, p_adj in zip(verdict.lifts, adjusted, strict=True):
        assert lift.comparison.p_adjusted == pytest.approx(p_adj)
    wins = tuple(
        s for s, lift, p in zip(STEPS[1:], verdict.lifts, adjusted, strict=True)
        if p < 0.05 and lift.comparison.abs_lift > 0
    )  # fmt: skip
    assert verdict.wins_at == wins


def test_unknown_experiment_lists_the_known_ones(kpi, built_db) -> None:
    answer = kpi.ask("funnel for no_such_test", as_of=AS_OF)
    assert isinstance(answer, ErrorAnswer) and answer.kind == "unknown_experiment"
    known = [e for (e,) in mart(built_db, "select experiment_id from main.ab_experiments")]
    for name in known:
        assert f"`{name}`" in answer.message
    assert answer.example == f"/kpi funnel for {sorted(known)[0]}"


def test_a_window_without_sessions_says_what_the_data_covers(kpi) -> None:
    answer = kpi.ask("funnel 2020-01", as_of=AS_OF)
    assert isinstance(answer, ErrorAnswer) and answer.kind == "empty"
    assert "No sessions in" in answer.message and "the data covers" in answer.message
    assert answer.example == "/kpi funnel last 30 days"


# --------------------------------------------------------------------------- renderings

QUESTIONS = [
    "funnel",
    "funnel last week vs last year",
    "funnel by traffic_source",
    "funnel last 30 days by browser",
    "funnel for checkout_redesign",
    "funnel for pricing_page_abn",
    "funnel for recs_widget_srm",
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_text_and_blocks_show_the_answer_within_block_kit_limits(kpi, text) -> None:
    answer = ask(kpi, text)
    shown = kinds.render_text(answer)
    blocks = kinds.answer_blocks(answer)
    assert_within_block_kit_limits(blocks)
    assert "$" not in shown + str(blocks)  # nothing revenue-derived: unrestricted is honest
    assert not kinds.is_restricted(answer)
    report = answer.report
    if report.experiment is not None:
        for verdict in report.experiment.treatments:
            words = verdict_sentence(verdict, report.experiment, detail=False)
            assert words.replace("*", "") in shown
        if report.experiment.srm.flagged:
            assert "Sample ratio mismatch" in shown
    else:
        assert drop_off_sentence(report.current.drop_off) in shown
        for segment in report.segments:
            assert segment.value[:12] in shown
    assert kinds.answer_text(answer)


def test_only_significant_changes_are_called_changes(kpi) -> None:
    answer = ask(kpi, "funnel last week vs last year")
    shown = kinds.render_text(answer)
    significant = answer.report.significant_changes
    if significant:
        assert "Changed against" in shown
        for change in significant:
            assert f"{change.from_step} → {change.step} {fmt.rate(change.current)}" in shown
    else:
        assert "No step conversion changed significantly" in shown
    assert shown.count("†") == len(significant) + 1  # the marks and the note explaining them


TOKEN_RE = re.compile(r"(?<![\w.])[+-]?\d[\d,]*(?:\.\d+)?")
DATE_RE = re.compile(r"[A-Z][a-z]{2} \d{2}(?:, \d{4})?")  # the comparison window's span


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    items = value.values() if isinstance(value, dict) else value
    return [n for item in items for n in _numbers(item)]


def _renderings(x: float) -> set[str]:
    """The ways the answer may print a number from the JSON."""
    shown = {f"{x:,.0f}", f"{x * 100:.0f}", f"{x:.3f}", f"{x * 100:g}", f"{x:g}"}
    for digits in range(1, 7):
        shown |= {f"{x * 100:.{digits}f}", f"{x * 100:+.{digits}f}"}
    return shown


@pytest.mark.parametrize("text", QUESTIONS)
def test_json_holds_every_number_the_tables_and_findings_show(kpi, text) -> None:
    answer = ask(kpi, text)
    body = kinds.to_json_dict(answer)
    json.dumps(body)  # plain JSON
    assert body["kind"] == "funnel" and body["funnel"] == answer.report.kind
    known = set().union(*(_renderings(x) for x in _numbers(body)))
    lines = kinds.render_text(answer).splitlines()
    # The headline and the freshness line carry dates; the rest carries the figures.
    figures = [line for line in lines[1:] if not line.startswith("Data as of")]
    tokens = [t for line in figures for t in TOKEN_RE.findall(DATE_RE.sub("", line))]
    assert tokens
    missing = sorted({t for t in tokens if t not in known and t.lstrip("+") not in known})
    assert missing == [], missing


def test_cli_json_of_an_experiment_funnel(built_db, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("KPI_DUCKDB_PATH", str(built_db))
    code = main(
        ["ask", f"funnel for {EXPERIMENT}", "--json", "--as-of", str(AS_OF), "--out", str(tmp_path)]
    )
    body = json.loads(capsys.readouterr().out)
    assert code == 0
    expected = raw_experiment(built_db, EXPERIMENT)
    variants = {
        v["variant"]: [s["count"] for s in v["steps"]] for v in body["experiment"]["variants"]
    }
    assert variants == {name: list(c.counts) for name, c in expected.items()}
    (treatment,) = body["experiment"]["treatments"]
    assert [lift["step"] for lift in treatment["lifts"]] == list(STEPS[1:])
    assert all(lift["abs_ci"]["level"] == 0.95 for lift in treatment["lifts"])
    assert Path(body["charts"]["funnel"]).read_bytes().startswith(PNG_SIGNATURE)


def test_the_chart_is_drawn_through_the_chart_renderer(kpi) -> None:
    calls = []

    def counting(chart, *args, **kwargs):
        calls.append((chart, args))
        return chart(*args, **kwargs)

    counted = KpiService(kpi.reader, clock=kpi.clock, render=counting)
    plain = ask(counted, "funnel", charts=False)
    assert plain.charts == () and calls == []
    drawn = counted.with_charts(plain)
    [(chart, (steps, series))] = calls
    # The chart by name (the serving process never imports the drawing code).
    assert chart == chart_data.funnel_chart and list(steps) == list(STEPS)
    assert [s.counts for s in series] == [
        plain.report.current.counts.counts,
        plain.report.previous.counts.counts,
    ]
    assert [s.is_reference for s in series] == [False, True]
    [png] = drawn.charts
    assert png.name == "funnel" and png.png.startswith(PNG_SIGNATURE)


# --------------------------------------------------------------------------- digest


def test_the_digest_gains_one_funnel_line_and_stays_one_message(kpi, built_db) -> None:
    content = gather_content(kpi, period_for_date(AS_OF), charts=False)
    funnel = content.funnel
    assert isinstance(funnel, FunnelAnswer)
    week, before = (date(2026, 11, 16), date(2026, 11, 22)), (date(2026, 11, 9), date(2026, 11, 15))
    current, previous = raw_window(built_db, *week), raw_window(built_db, *before)
    assert funnel.report.current.counts == current
    assert funnel.report.previous.counts == previous
    line = funnel_line(funnel)
    overall, was = current.purchase / current.entered, previous.purchase / previous.entered
    assert f"*{fmt.rate(overall)}* of {fmt.count(current.entered)} sessions" in line
    assert f"vs {fmt.rate(was)} the week before ({fmt.pp_auto(overall - was)})" in line
    moved = max(funnel.report.changes, key=lambda c: abs(c.diff))
    assert f"the step that moved most: {moved.from_step} → {moved.step}" in line
    assert ("a real change" in line) == moved.significant
    message = render_digest(content)
    assert [t for b in message.blocks for t in [b.get("text", {}).get("text")] if t == line]
    assert_within_block_kit_limits(message.blocks)


# --------------------------------------------------------------------------- Slack


def test_slack_funnel_posts_the_message_then_the_png(slack: SlackDouble, built_db) -> None:
    with running_bot(slack, service_for(built_db)) as bot:
        bot.ask("funnel")
        message = bot.channel_message()
        upload = bot.upload()
    assert header_of(message) == "Funnel · last 30 days"
    current = raw_window(built_db, *LAST_30)
    assert f"{fmt.count(current.entered)} sessions" in message.all_text
    assert fmt.rate(current.purchase / current.entered) in message.all_text
    assert_within_block_kit_limits(message.blocks or [])
    assert upload.data is not None and upload.data.startswith(PNG_SIGNATURE)
    assert (upload.channel, upload.filename) == (CHANNEL, "funnel.png")
    assert "Funnel last 30 days" in (upload.title or "")
