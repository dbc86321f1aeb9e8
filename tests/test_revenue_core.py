"""Pure revenue maths against hand-computed figures (METRICS.md, Revenue)."""

from __future__ import annotations

from datetime import date, timedelta

from bot.core.revenue import Change, revenue_report, summarize_window
from bot.core.table import Rows
from bot.core.windows import DateWindow

D = date.fromisoformat


def daily(rows: list[tuple[str, int, float]]) -> Rows:
    return Rows(("day", "orders", "revenue"), tuple((D(r[0]), r[1], r[2]) for r in rows))


# Two weeks of a mart: the second week has a zero day (no orders).
MART = daily(
    [
        ("2026-11-01", 2, 100.0),
        ("2026-11-02", 1, 50.0),
        ("2026-11-03", 3, 90.0),
        ("2026-11-04", 1, 10.0),
        ("2026-11-05", 2, 40.0),
        ("2026-11-06", 1, 30.0),
        ("2026-11-07", 0, 0.0),
        ("2026-11-08", 4, 200.0),
        ("2026-11-09", 1, 20.0),
        ("2026-11-10", 0, 0.0),
        ("2026-11-11", 2, 60.0),
        ("2026-11-12", 1, 25.0),
        ("2026-11-13", 5, 300.0),
        ("2026-11-14", 1, 15.0),
    ]
)
CURRENT = DateWindow(D("2026-11-08"), D("2026-11-14"), "last 7 days")
PREVIOUS = DateWindow(D("2026-11-01"), D("2026-11-07"), "previous 7 days")


def test_totals_and_aov_over_the_span() -> None:
    t = summarize_window(MART, CURRENT, D("2026-11-01"), D("2026-11-14"))
    # 200 + 20 + 0 + 60 + 25 + 300 + 15 = 620 over 4+1+0+2+1+5+1 = 14 orders
    assert t.revenue == 620.0
    assert t.orders == 14
    assert t.aov == 620.0 / 14  # not the mean of daily AOVs (which would be ~52.6)
    assert t.covered_days == 7 and t.complete
    assert (t.best_day.day, t.best_day.revenue) == (D("2026-11-13"), 300.0)
    assert (t.worst_day.day, t.worst_day.revenue) == (D("2026-11-10"), 0.0)


def test_deltas_vs_previous_window() -> None:
    report = revenue_report(MART, CURRENT, PREVIOUS, None, D("2026-11-01"), D("2026-11-14"))
    # previous: 100+50+90+10+40+30+0 = 320 over 10 orders, AOV 32
    assert report.previous.revenue.previous == 320.0
    assert report.previous.revenue.delta == 300.0
    assert report.previous.revenue.delta_pct == 300.0 / 320.0 * 100
    assert report.previous.orders.delta == 4.0
    assert report.previous.aov.previous == 32.0
    assert report.notes == ()


def test_delta_pct_is_na_when_previous_is_zero() -> None:
    assert Change(10.0, 0.0).delta_pct is None
    assert Change(10.0, 0.0).delta == 10.0
    assert Change(None, 5.0).delta is None


def test_days_outside_the_data_are_not_zeros() -> None:
    # The window runs three days past the data: only 4 covered days, said in a note.
    late = DateWindow(D("2026-11-11"), D("2026-11-17"), "last 7 days")
    before = DateWindow(D("2026-11-04"), D("2026-11-10"), "previous 7 days")
    report = revenue_report(MART, late, before, None, D("2026-11-01"), D("2026-11-14"))
    assert report.current.covered_days == 4
    assert report.current.revenue == 400.0
    assert any("Data ends 2026-11-14" in n and "4 of 7 days" in n for n in report.notes)


def test_window_before_the_data_has_no_totals() -> None:
    early = DateWindow(D("2026-10-01"), D("2026-10-07"), "early")
    t = summarize_window(MART, early, D("2026-11-01"), D("2026-11-14"))
    assert not t.has_data and t.revenue is None and t.aov is None
    report = revenue_report(MART, CURRENT, early, None, D("2026-11-01"), D("2026-11-14"))
    assert report.previous.revenue.delta is None
    assert any(n.startswith("No data for early") for n in report.notes)


def test_last_year_comparison_is_optional() -> None:
    year = DateWindow(CURRENT.start - timedelta(days=364), CURRENT.end - timedelta(days=364), "ly")
    report = revenue_report(MART, CURRENT, PREVIOUS, year, D("2026-11-01"), D("2026-11-14"))
    assert report.last_year is not None and report.last_year.revenue.delta is None
