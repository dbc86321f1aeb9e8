"""``revenue … vs last year``: the headline, the key figures and the chart compare with
last year (issue #19, item 2). Figures are checked against the ``revenue_daily`` mart
read directly with DuckDB, not through the bot's queries."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from bot import kinds
from bot.answers import RevenueAnswer
from bot.core import format as fmt
from bot.render import charts as answer_charts
from bot.service import KpiService
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.conftest import DEMO_END

AS_OF = DEMO_END + timedelta(days=1)  # Wed 2026-11-25: yesterday is Tue 2026-11-24


@pytest.fixture(scope="module")
def service(built_db: Path) -> KpiService:
    reader = MartReader(DuckDBWarehouse(built_db, timeout_s=10.0))
    return KpiService(reader, clock=lambda: datetime(2026, 11, 25, 8, 0))


def totals(db: Path, start: date, end: date) -> tuple[float, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        revenue, orders = con.execute(
            "select sum(revenue), sum(orders) from main.revenue_daily where day between ? and ?",
            [start, end],
        ).fetchone()
    return float(revenue), int(orders)


def change_pct(current: float, base: float) -> float:
    return (current - base) / base * 100


def revenue_answer(service: KpiService, text: str) -> RevenueAnswer:
    answer = service.ask(text, as_of=AS_OF, charts=False)
    assert isinstance(answer, RevenueAnswer), answer
    return answer


def block_fields(blocks: list[dict]) -> dict[str, str]:
    pairs = {}
    for block in blocks:
        for field in block.get("fields", []):
            label, _, value = field["text"].partition("\n")
            pairs[label.strip("*")] = value
    return pairs


def test_last_month_vs_last_year_headlines_and_key_figures_are_year_on_year(
    service: KpiService, built_db: Path
) -> None:
    answer = revenue_answer(service, "revenue last month vs last year")
    revenue, orders = totals(built_db, date(2026, 10, 1), date(2026, 10, 31))
    ly_revenue, ly_orders = totals(built_db, date(2025, 10, 1), date(2025, 10, 31))
    prev_revenue, _ = totals(built_db, date(2026, 9, 1), date(2026, 9, 30))
    year_pct = fmt.pct(change_pct(revenue, ly_revenue))
    orders_line = (
        f"{fmt.count(orders)} ({fmt.signed_count(orders - ly_orders)}, "
        f"{fmt.pct(change_pct(orders, ly_orders))})"
    )
    aov_pct = fmt.pct(change_pct(revenue / orders, ly_revenue / ly_orders))

    text = kinds.render_text(answer)
    headline = text.splitlines()[0]
    assert headline.endswith(f"{year_pct} vs last year (Oct 01 – Oct 31, 2025)"), headline
    assert "previous period" not in headline
    assert f"Orders                  {orders_line}" in text
    assert aov_pct in next(line for line in text.splitlines() if "Average order value" in line)
    # The previous period is still there, as a side line.
    assert f"Revenue vs previous     {fmt.signed_money(revenue - prev_revenue)}" in text

    blocks = kinds.answer_blocks(answer)
    assert blocks[1]["text"]["text"].endswith(f"{year_pct} vs last year (Oct 01 – Oct 31, 2025)")
    fields = block_fields(blocks)
    assert fields["Orders"] == orders_line
    assert fields["Last year"].startswith("Oct 01 – Oct 31, 2025: " + fmt.money(ly_revenue))
    assert kinds.answer_text(answer) == blocks[1]["text"]["text"]  # notification text too

    result = kinds.to_json_dict(answer)
    assert result["compared_with"] == "last_year"
    assert result["last_year"]["revenue"]["delta_pct"] == pytest.approx(
        change_pct(revenue, ly_revenue)
    )


def test_a_single_day_vs_last_year_is_the_same_weekday_52_weeks_back(
    service: KpiService, built_db: Path
) -> None:
    answer = revenue_answer(service, "revenue yesterday vs last year")
    day, compared = date(2026, 11, 24), date(2025, 11, 25)  # both Tuesdays, 364 days apart
    assert compared.weekday() == day.weekday() and (day - compared).days == 364
    revenue, _ = totals(built_db, day, day)
    ly_revenue, ly_orders = totals(built_db, compared, compared)

    text = kinds.render_text(answer)
    headline = text.splitlines()[0]
    expected = (
        f"{fmt.pct(change_pct(revenue, ly_revenue))} vs the same weekday last year "
        "(Tue Nov 25, 2025)"
    )
    assert headline.endswith(expected), headline
    assert (
        f"Same weekday last year  Tue Nov 25, 2025: {fmt.money(ly_revenue)} · "
        f"{fmt.count(ly_orders)} orders" in text
    )
    fields = block_fields(kinds.answer_blocks(answer))
    assert fields["Same weekday last year"].startswith("Tue Nov 25, 2025")
    assert kinds.to_json_dict(answer)["last_year"]["window"]["start"] == "2025-11-25"


def test_without_vs_last_year_the_previous_period_leads(service: KpiService) -> None:
    answer = revenue_answer(service, "revenue last month")
    headline = kinds.render_text(answer).splitlines()[0]
    pct = fmt.pct(answer.report.previous.revenue.delta_pct)
    assert headline.endswith(f"{pct} vs previous period")
    assert kinds.to_json_dict(answer)["compared_with"] == "previous"
    assert "Last year" not in block_fields(kinds.answer_blocks(answer))


class Recorder:
    """A chart renderer that keeps what it was asked to draw (and draws nothing)."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, chart, /, *args: Any, **kwargs: Any) -> bytes:
        self.calls.append((args, kwargs))
        return b""


def drawn_days(frame: pd.DataFrame) -> list[date]:
    return [pd.Timestamp(d).date() for d in frame["day"]]


def test_the_chart_overlays_last_years_days_when_asked(service: KpiService) -> None:
    answer = revenue_answer(service, "revenue last month vs last year")
    recorder = Recorder()
    [chart] = answer_charts.revenue_answer_chart(answer, recorder)
    [(args, kwargs)] = recorder.calls
    current, baseline = args
    assert drawn_days(current)[0] == date(2026, 10, 1)
    assert drawn_days(baseline) == [date(2025, 10, 1) + timedelta(days=i) for i in range(31)]
    assert kwargs["previous_label"] == "Oct 01 – Oct 31, 2025"
    year_pct = fmt.pct(answer.report.last_year.revenue.delta_pct)
    assert chart.title.endswith(f"({year_pct} vs last year)")


def test_the_chart_keeps_the_previous_period_when_not_asked(service: KpiService) -> None:
    answer = revenue_answer(service, "revenue last month")
    recorder = Recorder()
    [chart] = answer_charts.revenue_answer_chart(answer, recorder)
    [(args, kwargs)] = recorder.calls
    assert drawn_days(args[1])[0] == date(2026, 9, 1)
    assert kwargs["previous_label"] == "Sep 01 – Sep 30, 2026"
    assert chart.title.endswith("vs previous)")


def test_a_one_day_month_to_date_keeps_its_calendar_date(service: KpiService) -> None:
    # On Nov 2 `mtd` is Nov 1 alone: a month-to-date window compares the same dates.
    answer = service.ask("revenue mtd vs last year", as_of=date(2026, 11, 2), charts=False)
    assert isinstance(answer, RevenueAnswer)
    assert answer.report.last_year.baseline.window.start == date(2025, 11, 1)
    headline = kinds.render_text(answer).splitlines()[0]
    assert "same weekday" not in headline and "vs last year (" in headline
    assert "Last year" in block_fields(kinds.answer_blocks(answer))
