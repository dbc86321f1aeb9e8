"""The funnel marts and their warehouse reads, checked against independent SQL over the
raw events (METRICS.md "Funnel").

The warehouse is the shared small demo warehouse (``built_db``) copied, with planted raw
events for the cases the generator never produces (its sessions walk the funnel in
order and keep one source, browser and day), then rebuilt with the real ``dbt build``:

* a session with cart and purchase but no product, and one with product and purchase but
  no cart (closed funnel: they stop at sessions / product);
* a session whose first event is at 23:59:30 with a source and browser that its later
  events (after midnight) don't have (day, source and browser of the first event);
* a session without source and browser ('(not set)');
* two first events at the same second (sequence_number decides);
* an exposed user's cart event one minute before exposure and product and purchase
  events after it (only events at or after exposure count; closed).

The expected numbers come from SQL written here against ``thelook.events`` (and
``main.ab_group`` for the exposures, itself checked against the raw assignments in
test_dbt_build.py), in another shape than the models: QUALIFY, bool_or and EXISTS.
"""

from __future__ import annotations

import random
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from bot.build import build
from bot.core.funnel import FunnelCounts, SegmentCounts, VariantCounts
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse

PLANT_DAY = datetime(2026, 11, 14)
EXPERIMENT = "checkout_redesign"

# Per session from the raw events: first event (by time, then sequence_number, then id)
# and whether the session has each event type.
RAW_SESSIONS = """
with firsts as (
    select
        session_id,
        cast(created_at as date) as session_day,
        coalesce(traffic_source, '(not set)') as traffic_source,
        coalesce(browser, '(not set)') as browser
    from thelook.events
    where session_id is not null
    qualify row_number() over (
        partition by session_id order by created_at, sequence_number, id
    ) = 1
),
kinds as (
    select
        session_id,
        bool_or(event_type = 'product') as has_product,
        bool_or(event_type = 'cart') as has_cart,
        bool_or(event_type = 'purchase') as has_purchase
    from thelook.events
    where session_id is not null
    group by session_id
)
select f.*, k.has_product, k.has_cart, k.has_purchase
from firsts as f
join kinds as k using (session_id)
"""

CLOSED_COUNTS = """
    count(*) as sessions,
    count(*) filter (where has_product) as product_sessions,
    count(*) filter (where has_product and has_cart) as cart_sessions,
    count(*) filter (where has_product and has_cart and has_purchase) as purchase_sessions
"""

RAW_EXPERIMENT_FUNNEL = """
select
    g.experiment_id,
    g.variant,
    count(*) as users,
    count(*) filter (where p) as product_users,
    count(*) filter (where p and c) as cart_users,
    count(*) filter (where p and c and b) as purchase_users
from (
    select
        g.*,
        exists (select 1 from thelook.events as e where e.user_id = g.user_id
                and e.event_type = 'product' and e.created_at >= g.assigned_at) as p,
        exists (select 1 from thelook.events as e where e.user_id = g.user_id
                and e.event_type = 'cart' and e.created_at >= g.assigned_at) as c,
        exists (select 1 from thelook.events as e where e.user_id = g.user_id
                and e.event_type = 'purchase' and e.created_at >= g.assigned_at) as b
    from main.ab_group as g
) as g
group by g.experiment_id, g.variant
order by g.experiment_id, g.variant
"""


def _plant(path: Path) -> None:
    """Insert the edge-case events into the raw table."""
    with duckdb.connect(str(path)) as conn:
        next_id = conn.execute("select max(id) + 1 from thelook.events").fetchone()[0]
        user = conn.execute("select min(id) from thelook.users").fetchone()[0]
        exposed, assigned_at = conn.execute(
            "select user_id, assigned_at from main.ab_group where experiment_id = ? "
            "and assigned_at < ? order by assigned_at desc, user_id limit 1",
            [EXPERIMENT, PLANT_DAY],
        ).fetchone()
        d = PLANT_DAY
        minute = timedelta(minutes=1)

        def at(hours: int, minutes: int = 0) -> datetime:
            return d + timedelta(hours=hours, minutes=minutes)

        rows = [
            # session, user, seq, time, source, browser, type
            ("planted-1", None, 1, at(10), "Email", "Chrome", "home"),
            ("planted-1", None, 2, at(10, 1), "Email", "Chrome", "cart"),
            ("planted-1", None, 3, at(10, 2), "Email", "Chrome", "purchase"),
            ("planted-2", user, 1, at(11), "Search", "Safari", "product"),
            ("planted-2", user, 2, at(11, 1), "Search", "Safari", "purchase"),
            ("planted-3", None, 1, d - timedelta(seconds=30), "Planted", "PlantedBrowser", "home"),
            ("planted-3", None, 2, d + timedelta(seconds=10), "Email", "Chrome", "product"),
            ("planted-3", None, 3, d + timedelta(seconds=20), "Email", "Chrome", "cart"),
            ("planted-4", None, 1, at(12), None, None, "home"),
            ("planted-4", None, 2, at(12, 1), None, None, "product"),
            ("planted-5", None, 2, at(13), "Email", "Chrome", "home"),
            ("planted-5", None, 1, at(13), "Organic", "Firefox", "home"),
            ("planted-6", exposed, 1, assigned_at - minute, "Email", "Chrome", "cart"),
            ("planted-7", exposed, 1, assigned_at, "Email", "Chrome", "product"),
            ("planted-7", exposed, 2, assigned_at + minute, "Email", "Chrome", "purchase"),
        ]  # fmt: skip
        conn.executemany(
            "insert into thelook.events (id, session_id, user_id, sequence_number, created_at,"
            " traffic_source, browser, event_type) values (?, ?, ?, ?, ?, ?, ?, ?)",
            [(next_id + i, *row) for i, row in enumerate(rows)],
        )


@pytest.fixture(scope="module")
def planted(built_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("funnel") / "kpi.duckdb"
    shutil.copy(built_db, path)
    _plant(path)
    build(path)  # the real dbt build, with its data tests and unit tests
    return path


@pytest.fixture(scope="module")
def conn(planted):
    connection = duckdb.connect(str(planted), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def reader(planted):
    warehouse = DuckDBWarehouse(planted)
    yield MartReader(warehouse)
    warehouse.close()


def raw_window(conn, start: date, end: date) -> tuple[int, ...]:
    return conn.execute(
        f"select {CLOSED_COUNTS} from ({RAW_SESSIONS}) where session_day between ? and ?",
        [start, end],
    ).fetchone()


def raw_segments(conn, dimension: str, start: date, end: date) -> list[tuple]:
    assert dimension in ("traffic_source", "browser")  # a column name, never user text
    return conn.execute(
        f"select {dimension}, {CLOSED_COUNTS} from ({RAW_SESSIONS}) "
        f"where session_day between ? and ? group by {dimension} "
        f"order by sessions desc, {dimension}",
        [start, end],
    ).fetchall()


# --- the session mart ------------------------------------------------------------------


def test_every_mart_row_matches_the_raw_sessions(conn) -> None:
    expected = conn.execute(
        f"select session_day, traffic_source, browser, {CLOSED_COUNTS} from ({RAW_SESSIONS}) "
        "group by all order by all"
    ).fetchall()
    got = conn.execute(
        "select session_day, traffic_source, browser, sessions, product_sessions, "
        "cart_sessions, purchase_sessions from main.funnel_sessions_daily order by all"
    ).fetchall()
    assert len(got) > 1000
    assert got == expected


def test_the_planted_sessions_are_where_the_definition_puts_them(conn) -> None:
    """Guards that the comparison above can fail: an open funnel, or the day, source or
    browser of any event but the first, would each give other rows on this data."""
    day = PLANT_DAY.date()
    sessions = {
        row[0]: row[1:]
        for row in conn.execute(
            "select session_id, session_day, traffic_source, browser, reached_product, "
            "reached_cart, reached_purchase from main.int_thelook__sessions "
            "where session_id like 'planted-%'"
        ).fetchall()
    }
    assert sessions == {
        "planted-1": (day, "Email", "Chrome", False, False, False),
        "planted-2": (day, "Search", "Safari", True, False, False),
        "planted-3": (day - timedelta(days=1), "Planted", "PlantedBrowser", True, True, False),
        "planted-4": (day, "(not set)", "(not set)", True, False, False),
        "planted-5": (day, "Organic", "Firefox", False, False, False),
        "planted-6": (*sessions["planted-6"][:3], False, False, False),
        "planted-7": (*sessions["planted-7"][:3], True, False, False),
    }
    rows = {
        row[:3]: row[3:]
        for row in conn.execute(
            "select session_day, traffic_source, browser, sessions, product_sessions, "
            "cart_sessions, purchase_sessions from main.funnel_sessions_daily"
        ).fetchall()
    }
    assert rows[(day - timedelta(days=1), "Planted", "PlantedBrowser")] == (1, 1, 1, 0)
    assert (day, "Planted", "PlantedBrowser") not in rows
    assert rows[(day, "(not set)", "(not set)")] == (1, 1, 0, 0)
    open_purchases = conn.execute(
        f"select count(*) filter (where has_purchase) from ({RAW_SESSIONS}) where session_day = ?",
        [day],
    ).fetchone()[0]
    assert open_purchases >= raw_window(conn, day, day)[3] + 2  # planted-1 and planted-2


def test_windows_read_through_the_warehouse_match_raw(conn, reader) -> None:
    first, last = conn.execute(
        "select min(session_day), max(session_day) from main.funnel_sessions_daily"
    ).fetchone()
    rng = random.Random(5)
    windows = [(PLANT_DAY.date() - timedelta(days=1), PLANT_DAY.date()), (first, last)]
    for _ in range(8):
        length = rng.choice([1, 7, 30, 90])
        start = first + timedelta(days=rng.randrange((last - first).days - length + 2))
        windows.append((start, start + timedelta(days=length - 1)))
    for start, end in windows:
        expected = raw_window(conn, start, end)
        assert reader.funnel_window(start, end) == FunnelCounts(*expected), (start, end)
    # A window before the data: zeros, not an error.
    assert reader.funnel_window(date(2000, 1, 1), date(2000, 1, 31)) == FunnelCounts(0, 0, 0, 0)


def test_a_window_and_its_comparison_in_one_read_match_raw(conn, reader) -> None:
    end = PLANT_DAY.date()
    for days in (1, 7, 30):
        start = end - timedelta(days=days - 1)
        previous = (start - timedelta(days=days), start - timedelta(days=1))
        last_year = (start - timedelta(days=364), end - timedelta(days=364))
        for other_start, other_end in (previous, last_year):
            current, other = reader.funnel_windows(start, end, other_start, other_end)
            assert current == FunnelCounts(*raw_window(conn, start, end))
            assert other == FunnelCounts(*raw_window(conn, other_start, other_end))
            assert other.entered > 0
    # A comparison window before the data: zeros beside the real window.
    current, other = reader.funnel_windows(end, end, date(2000, 1, 1), date(2000, 1, 1))
    assert current == FunnelCounts(*raw_window(conn, end, end))
    assert other == FunnelCounts(0, 0, 0, 0)


@pytest.mark.parametrize("dimension", ["traffic_source", "browser"])
def test_segments_read_through_the_warehouse_match_raw(conn, reader, dimension: str) -> None:
    for start, end in [
        (PLANT_DAY.date() - timedelta(days=29), PLANT_DAY.date()),
        (date(2026, 1, 1), date(2026, 3, 31)),
    ]:
        expected = [
            SegmentCounts(row[0], FunnelCounts(*row[1:]))
            for row in raw_segments(conn, dimension, start, end)
        ]
        got = reader.funnel_segments(dimension, start, end)
        assert got == expected
        assert len(got) >= 5
        total = FunnelCounts(0, 0, 0, 0)
        for segment in got:
            total = total + segment.counts
        assert total == reader.funnel_window(start, end)


def test_an_unknown_dimension_is_refused_before_any_query(reader) -> None:
    with pytest.raises(ValueError, match="not a funnel dimension"):
        reader.funnel_segments("country; drop table x", date(2026, 1, 1), date(2026, 1, 2))


# --- the experiment mart ---------------------------------------------------------------


def test_experiment_funnel_matches_raw_for_every_experiment(conn, reader) -> None:
    expected = conn.execute(RAW_EXPERIMENT_FUNNEL).fetchall()
    got = conn.execute(
        "select experiment_id, variant, users, product_users, cart_users, purchase_users "
        "from main.ab_funnel order by experiment_id, variant"
    ).fetchall()
    assert got == expected
    experiments = sorted({row[0] for row in expected})
    assert len(experiments) >= 4
    for experiment_id in experiments:
        assert reader.experiment_funnel(experiment_id) == [
            VariantCounts(row[1], FunnelCounts(*row[2:]))
            for row in expected
            if row[0] == experiment_id
        ]
    assert reader.experiment_funnel("no_such_experiment") == []
    # User text travels as a bound parameter: SQL in it is just an unknown experiment.
    assert reader.experiment_funnel("x' or '1'='1") == []


def test_experiment_users_are_the_analysed_users(conn) -> None:
    mismatched = conn.execute(
        "select count(*) from main.ab_funnel as f join main.ab_metrics as m "
        "using (experiment_id, variant) where f.users != m.users"
    ).fetchone()[0]
    assert mismatched == 0
    assert (
        conn.execute("select count(*) from main.ab_funnel").fetchone()[0]
        == conn.execute("select count(*) from main.ab_metrics").fetchone()[0]
    )


def test_only_events_after_exposure_count(conn) -> None:
    """Guard for the comparison above: counting events from before exposure would give
    more users at some step of some experiment on this data."""
    ever = conn.execute(
        RAW_EXPERIMENT_FUNNEL.replace(" and e.created_at >= g.assigned_at", "")
    ).fetchall()
    after = conn.execute(RAW_EXPERIMENT_FUNNEL).fetchall()
    assert len(ever) == len(after)
    assert any(e[3:] != a[3:] for e, a in zip(ever, after, strict=True))
