"""Metric answers end to end (KpiService → semantic layer → DuckDB) on the small built
warehouse, every expected number recomputed from the raw ``thelook`` tables with SQL
written from shared/METRICS.md — never from the marts or MetricFlow's SQL."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from bot import kinds
from bot.answers import ErrorAnswer, MetricAnswer, MetricCatalogAnswer
from bot.core.metric_report import OTHERS, value_text
from bot.core.windows import parse_window, previous_window
from bot.service import KpiService
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from bot.warehouse.semantic import DEFAULT_MANIFEST_PATH
from tests.test_slack_app import (
    CLOCK,
    PNG_SIGNATURE,
    TOKEN,
    assert_within_block_kit_limits,
    header_of,
    running_bot,
    service_for,
)

TOKEN = TOKEN  # the Slack double (conftest) expects the bot harness's token
AS_OF = date(2026, 11, 25)
REL = 1e-9
LAST_30 = parse_window("last 30 days", AS_OF)
PREV_30 = previous_window(LAST_30)

COMPLETE_ORDERS = """
    select o.order_id, o.user_id from thelook.orders as o
    where o.status = 'Complete' and cast(o.created_at as date) between ? and ?
"""
REVENUE_BY_USER_COLUMN = f"""
    select u.{{column}} as value, sum(i.sale_price) as revenue
    from ({COMPLETE_ORDERS}) as o
    join thelook.order_items as i on i.order_id = o.order_id
    join thelook.users as u on u.id = o.user_id
    group by 1
"""
ORDERS_AND_REVENUE_BY_COUNTRY = f"""
    select u.country as value, count(distinct o.order_id) as orders,
           sum(i.sale_price) as revenue
    from ({COMPLETE_ORDERS}) as o
    join thelook.order_items as i on i.order_id = o.order_id
    join thelook.users as u on u.id = o.user_id
    {{where}}
    group by 1
"""


@pytest.fixture(scope="module")
def kpi(built_db: Path) -> KpiService:
    service = KpiService(MartReader(DuckDBWarehouse(built_db)), clock=lambda: CLOCK)
    yield service
    service.reader.warehouse.close()


@pytest.fixture(scope="module")
def raw(built_db: Path):
    connection = duckdb.connect(str(built_db), read_only=True)
    yield connection
    connection.close()


def _rows(raw, sql: str, *params) -> dict:
    return {r[0]: r[1:] for r in raw.execute(sql, list(params)).fetchall()}


def _ask(kpi: KpiService, text: str, charts: bool = False):
    answer = kpi.ask(text, as_of=AS_OF, charts=charts)
    assert not isinstance(answer, ErrorAnswer), answer
    return answer


def _json(answer) -> dict:
    return json.loads(json.dumps(kinds.to_json_dict(answer)))


# --- numbers against the raw tables -------------------------------------------------------


def test_revenue_by_traffic_source_matches_raw_with_previous_and_delta(kpi, raw) -> None:
    answer = _ask(kpi, "revenue by traffic source last 30 days")
    body = _json(answer)
    sql = REVENUE_BY_USER_COLUMN.format(column="traffic_source")
    now = _rows(raw, sql, LAST_30.start, LAST_30.end)
    before = _rows(raw, sql, PREV_30.start, PREV_30.end)
    rows = body["rows"]
    assert [r["value"] for r in rows] == sorted(now, key=lambda v: -now[v][0])  # descending
    for row in rows:
        figure = row["metrics"]["revenue"]
        assert figure["current"] == pytest.approx(now[row["value"]][0], rel=REL)
        assert figure["previous"] == pytest.approx(before[row["value"]][0], rel=REL)
        expected_pct = (now[row["value"]][0] / before[row["value"]][0] - 1) * 100
        assert figure["delta_pct"] == pytest.approx(expected_pct, rel=1e-6)
    total = body["totals"]["revenue"]
    assert total["current"] == pytest.approx(sum(v[0] for v in now.values()), rel=REL)
    assert total["previous"] == pytest.approx(sum(v[0] for v in before.values()), rel=REL)
    assert body["window"] == {"start": "2026-10-26", "end": "2026-11-24",
                              "label": "last 30 days", "days": 30}  # fmt: skip
    assert body["freshness"]["data_as_of"] and body["freshness"]["stale"] is False
    assert kinds.is_restricted(answer)


def test_aov_with_a_filter_is_a_ratio_of_raw_totals(kpi, raw) -> None:
    answer = _ask(kpi, "aov where country = brasil last 30 days")
    figure = _json(answer)["totals"]["aov"]
    for window, value in ((LAST_30, figure["current"]), (PREV_30, figure["previous"])):
        sql = ORDERS_AND_REVENUE_BY_COUNTRY.format(where="where u.country = 'Brasil'")
        [(orders, revenue)] = _rows(raw, sql, window.start, window.end).values()
        assert value == pytest.approx(revenue / orders, rel=REL)
    assert _json(answer)["filters"] == [
        {"dimension": "country", "values": ["brasil"], "negate": False,
         "matched_values": ["Brasil"]}
    ]  # fmt: skip
    assert answer.report.series is not None  # one metric over a window: a line by day


def test_not_equal_is_every_other_known_value(kpi, raw) -> None:
    answer = _ask(kpi, "orders where country != Brasil last 30 days")
    sql = ORDERS_AND_REVENUE_BY_COUNTRY.format(where="where u.country <> 'Brasil'")
    expected = sum(v[0] for v in _rows(raw, sql, LAST_30.start, LAST_30.end).values())
    assert _json(answer)["totals"]["orders"]["current"] == expected
    assert "Brasil" not in answer.report.filters[0].values


def test_all_others_sums_additive_and_recomputes_ratios(kpi, raw) -> None:
    answer = _ask(kpi, "revenue, aov by country last 30 days top 3")
    rows = _json(answer)["rows"]
    assert len(rows) == 4 and rows[-1]["value"] == OTHERS
    sql = ORDERS_AND_REVENUE_BY_COUNTRY.format(where="")
    now = _rows(raw, sql, LAST_30.start, LAST_30.end)
    before = _rows(raw, sql, PREV_30.start, PREV_30.end)
    shown = [r["value"] for r in rows[:3]]
    rest = [c for c in now if c not in shown]
    assert shown == sorted(now, key=lambda c: -now[c][1])[:3]
    assert rows[-1]["others_count"] == len(rest)
    others = rows[-1]["metrics"]
    revenue = sum(now[c][1] for c in rest)
    assert others["revenue"]["current"] == pytest.approx(revenue, rel=REL)
    assert others["aov"]["current"] == pytest.approx(revenue / sum(now[c][0] for c in rest))
    previous_rest = [c for c in before if c in rest]
    assert others["aov"]["previous"] == pytest.approx(
        sum(before[c][1] for c in previous_rest) / sum(before[c][0] for c in previous_rest)
    )
    mean_of_ratios = sum(now[c][1] / now[c][0] for c in rest) / len(rest)
    assert others["aov"]["current"] != pytest.approx(mean_of_ratios)  # never averaged


def test_series_fills_empty_days_and_the_total_is_over_the_window(kpi, raw) -> None:
    answer = _ask(kpi, "buyers last 30 days daily")
    body = _json(answer)
    daily = _rows(
        raw,
        """select cast(o.created_at as date), count(distinct o.user_id) from thelook.orders o
           where o.status = 'Complete' and cast(o.created_at as date) between ? and ?
           group by 1""",
        LAST_30.start,
        LAST_30.end,
    )
    periods = [date.fromisoformat(p) for p in body["series"]["periods"]]
    assert periods == [LAST_30.start + timedelta(days=i) for i in range(30)]
    values = body["series"]["values"]["buyers"]
    assert values == [daily.get(d, (0,))[0] for d in periods]
    [(distinct,)] = raw.execute(
        """select count(distinct user_id) from thelook.orders
           where status = 'Complete' and cast(created_at as date) between ? and ?""",
        [LAST_30.start, LAST_30.end],
    ).fetchall()
    assert body["totals"]["buyers"]["current"] == distinct  # not the sum of daily buyers


def test_weekly_grain_marks_partial_weeks_and_last_year(kpi) -> None:
    answer = _ask(kpi, "orders last 30 days weekly vs last year")
    series = answer.report.series
    assert series.grain == "week" and all(p.weekday() == 0 for p in series.periods)
    # Oct 26, 2026 is a Monday (a whole first week); Nov 24 a Tuesday (a partial last one).
    assert (series.partial_first, series.partial_last) == (False, True)
    assert series.periods[-1] == date(2026, 11, 23)
    a_year_ago = parse_window("last 30 days", AS_OF.replace(year=2025))
    previous = answer.report.previous
    assert (previous.start, previous.end) == (a_year_ago.start, a_year_ago.end)
    assert "partial" in kinds.render_text(answer)


# --- errors ---------------------------------------------------------------------------------


def test_an_unknown_value_gets_did_you_mean_not_a_traceback(kpi) -> None:
    answer = kpi.ask("orders where country = Brazl last 30 days", as_of=AS_OF)
    assert isinstance(answer, ErrorAnswer) and answer.kind == "parse"
    assert "Did you mean `Brasil`" in answer.message
    assert isinstance(kpi.ask(answer.example.removeprefix("/kpi "), as_of=AS_OF), MetricAnswer)


def test_a_missing_manifest_says_so(built_db: Path, tmp_path: Path) -> None:
    from bot.answerers.metrics import SemanticSource

    reader = MartReader(DuckDBWarehouse(built_db))
    kpi = KpiService(reader, semantic=SemanticSource(reader, tmp_path / "absent.json"))
    answer = kpi.ask("orders by country", as_of=AS_OF)
    assert isinstance(answer, ErrorAnswer) and "isn't loaded" in answer.message
    assert isinstance(kpi.ask("metrics", as_of=AS_OF), ErrorAnswer)
    assert not isinstance(kpi.ask("revenue last 30 days", as_of=AS_OF), ErrorAnswer)
    reader.warehouse.close()


# --- rendering ------------------------------------------------------------------------------


def test_catalog_lists_every_manifest_metric_with_its_dimensions(kpi) -> None:
    answer = _ask(kpi, "metrics")
    assert isinstance(answer, MetricCatalogAnswer)
    manifest = json.loads(DEFAULT_MANIFEST_PATH.read_text())
    assert {m["name"] for m in _json(answer)["metrics"]} == {m["name"] for m in manifest["metrics"]}
    text = kinds.render_text(answer)
    for metric in answer.metrics:
        assert metric.name in text and metric.label in text
    one = _ask(kpi, "dimensions Average Order Value")
    assert [d.name for d in one.dimensions] == ["age_band", "country", "gender", "traffic_source"]
    assert not kinds.is_restricted(answer)


@pytest.mark.parametrize(
    "text",
    [
        "revenue by traffic_source last 30 days",
        "items_sold, revenue, gross_margin by brand last 90 days top 50",
        "revenue, orders, aov, buyers, sessions last month vs last year",
        "sessions last 365 days daily",
    ],
)
def test_every_number_shown_is_in_the_json_and_blocks_fit_slack(kpi, text: str) -> None:
    answer = _ask(kpi, text)
    assert_within_block_kit_limits(kinds.answer_blocks(answer))
    shown = kinds.render_text(answer)
    body = _json(answer)
    metrics = {m["name"]: m["unit"] for m in body["metrics"]}
    for name, figure in body["totals"].items():
        assert value_text(figure["current"], metrics[name]) in shown
    for row in body.get("rows", []):
        for name, figure in row["metrics"].items():
            assert value_text(figure["current"], metrics[name]) in shown
            assert value_text(figure["previous"], metrics[name]) in shown


def test_restricted_comes_from_dbt_meta(kpi) -> None:
    assert kinds.is_restricted(_ask(kpi, "revenue by country"))
    assert kinds.is_restricted(_ask(kpi, "orders, aov by country"))
    assert not kinds.is_restricted(_ask(kpi, "orders by country"))
    assert "$" not in kinds.render_text(_ask(kpi, "orders, buyers by country"))


def test_charts_are_a_line_or_bars(kpi) -> None:
    line = _ask(kpi, "orders last 30 days", charts=True)
    bars = _ask(kpi, "orders by country last 30 days", charts=True)
    table = _ask(kpi, "orders, buyers last 30 days", charts=True)
    assert [c.name for c in line.charts] == ["orders_day"]
    assert [c.name for c in bars.charts] == ["orders_by_country"]
    assert table.charts == ()
    assert all(c.png.startswith(PNG_SIGNATURE) for c in (*line.charts, *bars.charts))
    again = _ask(kpi, "orders by country last 30 days", charts=True)
    assert again.charts[0].png == bars.charts[0].png  # deterministic


# --- Slack ----------------------------------------------------------------------------------


def test_slack_round_trip(slack, built_db: Path) -> None:
    with running_bot(slack, service_for(built_db)) as bot:
        bot.ask("orders by traffic source last 30 days")
        message = bot.channel_message()
        assert header_of(message) == "Orders by traffic source · last 30 days"
        assert "Search" in message.all_text and "Data as of" in message.all_text
        assert_within_block_kit_limits(message.blocks)
        upload = bot.upload()
        assert upload.filename == "orders_by_traffic_source.png"
        sent = bot.send("ordrs by country")
        reply = bot.private_reply(sent)
        assert "Did you mean `orders`" in reply.all_text
        listing = bot.private_reply(bot.send("metrics"))  # a list is for the asker
        assert "Metrics (" in listing.all_text and "cancellation_rate" in listing.all_text
        assert_within_block_kit_limits(listing.blocks)
        posted = [m for m in slack.messages("chat.postMessage") if "Metrics (" in m.all_text]
        assert posted == []


# --- start-up ---------------------------------------------------------------------------

LAZY = r"""
import sys
from datetime import date, datetime
from bot.service import KpiService
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
kpi = KpiService(MartReader(DuckDBWarehouse(sys.argv[1])), clock=lambda: datetime(2026, 11, 25, 8))
kpi.ask("revenue last 30 days", charts=False)
kpi.ask("retention", charts=False)
before = any(m.startswith("metricflow") for m in sys.modules)
kpi.semantic.warm()
after = any(m.startswith("metricflow") for m in sys.modules)
print(before, after, kpi.semantic.vocabulary() is not None)
"""


def test_metricflow_loads_only_for_metric_questions_or_a_background_warm(built_db: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", LAZY, str(built_db)], capture_output=True, text=True,
        cwd=Path(__file__).resolve().parent.parent, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "True", "True"]


def test_a_window_without_data_says_so(kpi) -> None:
    answer = kpi.ask("orders by country 2020-01-01..2020-01-31", as_of=AS_OF)
    assert isinstance(answer, ErrorAnswer) and answer.kind == "empty"
    assert "the data covers" in answer.message
