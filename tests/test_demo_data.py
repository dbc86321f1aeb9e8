"""The demo-data generator: determinism, TheLook schema, integrity and planted behaviour.

Checks read the written DuckDB file with plain SQL, independent of the generator's code;
statistics are checked with scipy/statsmodels.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest
from scipy.stats import chisquare
from statsmodels.stats.proportion import proportions_ztest

from bot import demo_data
from bot.demo_data import EXPERIMENTS, HISTORY_DAYS, generate, planted_anomalies

ROOT = Path(__file__).resolve().parents[1]
END = date(2026, 11, 24)
SMALL = 2000
SEED = 11
TABLES = ("users", "orders", "order_items", "events", "experiment_assignments")
KEYS = {"users": "id", "orders": "order_id", "order_items": "id", "events": "id"}


def _gen(path: Path, users: int = SMALL, seed: int = SEED, end: date = END) -> dict[str, int]:
    return generate(path, users=users, seed=seed, end=end)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("demo") / "small.duckdb"
    return path, _gen(path)


@pytest.fixture(scope="module")
def con(small: tuple[Path, dict[str, int]]):
    connection = duckdb.connect(str(small[0]), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory):
    """Large enough (50k users) for the planted effects to rise well above the noise."""
    path = tmp_path_factory.mktemp("demo") / "medium.duckdb"
    generate(path, users=50_000, seed=5, end=END)
    connection = duckdb.connect(str(path), read_only=True)
    yield connection
    connection.close()


def _rows(connection: duckdb.DuckDBPyConnection, sql: str, *params) -> list[tuple]:
    return connection.execute(sql, list(params)).fetchall()


def _one(connection: duckdb.DuckDBPyConnection, sql: str, *params):
    return connection.execute(sql, list(params)).fetchone()[0]


# ----------------------------------------------------------------------------- determinism


def _dump(path: Path) -> dict[str, list[tuple]]:
    # Written order (no ORDER BY): the tables must be written in the same order too.
    with duckdb.connect(str(path), read_only=True) as c:
        return {t: c.execute(f"select * from thelook.{t}").fetchall() for t in TABLES}


def test_same_seed_gives_identical_tables(small, tmp_path: Path) -> None:
    again = tmp_path / "again.duckdb"
    assert _gen(again) == small[1]
    first, second = _dump(small[0]), _dump(again)
    for table in TABLES:
        assert first[table] == second[table], table


def test_progress_names_each_table_with_its_rows(small, tmp_path: Path) -> None:
    statuses: list[str] = []
    again = tmp_path / "again.duckdb"
    counts = generate(again, users=SMALL, seed=SEED, end=END, progress=statuses.append)
    assert counts == small[1]  # reporting changes nothing
    planned = _one(
        duckdb.connect(str(again), read_only=True),
        "select count(*) from thelook.experiment_assignments "
        "where experiment_id in ('checkout_cautious_rollout', 'bundle_discount')",
    )
    written = dict(counts, experiment_assignments=counts["experiment_assignments"] - planned)
    assert statuses == [
        f"simulating {SMALL:,} users",
        *(
            f"writing {table} ({i}/{len(demo_data.TABLES)} tables, {written[table]:,} rows)"
            for i, table in enumerate(demo_data.TABLES, start=1)
        ),
        "adding the planned experiments",
    ]


def test_different_seed_gives_different_data(small, tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    _gen(other, seed=SEED + 1)
    first, second = _dump(small[0]), _dump(other)
    for table in TABLES:
        assert first[table] != second[table], table


def test_regenerating_replaces_the_tables(tmp_path: Path) -> None:
    path = tmp_path / "kpi.duckdb"
    _gen(path, users=300, seed=1)
    counts = _gen(path, users=600, seed=2)
    with duckdb.connect(str(path), read_only=True) as c:
        for table in TABLES:
            assert _one(c, f"select count(*) from thelook.{table}") == counts[table]
        assert _one(c, "select count(*) from thelook.users") == 600


# ---------------------------------------------------------------------------------- schema


def _documented_schema() -> dict[str, list[tuple[str, str]]]:
    """The raw-table schema as written in docs/ARCHITECTURE.md ("Raw tables")."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    section = text.split("## Raw tables", 1)[1].split("\n## ", 1)[0]
    schema = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] in TABLES:
            columns = re.findall(r"(\w+) (BIGINT|VARCHAR|DOUBLE|TIMESTAMP)", cells[1])
            schema[cells[0]] = columns
    return schema


def test_schema_matches_architecture_doc(con) -> None:
    documented = _documented_schema()
    assert set(documented) == set(TABLES)
    for table, columns in documented.items():
        actual = _rows(
            con,
            "select column_name, data_type from information_schema.columns"
            " where table_schema = 'thelook' and table_name = ? order by ordinal_position",
            table,
        )
        assert actual == columns, table


def test_every_column_the_staging_models_read_exists_with_its_type(con) -> None:
    types = {"bigint": "BIGINT", "string": "VARCHAR", "timestamp": "TIMESTAMP"}
    types["double"] = "DOUBLE"
    staging = sorted((ROOT / "dbt_project/models/staging/thelook").glob("stg_*.sql"))
    assert len(staging) == 6  # one view per source table, products included
    checked = 0
    for model in staging:
        sql = model.read_text()
        sources = re.findall(r"source\('thelook', '(\w+)'\)", sql)
        available = {}
        for table in sources:
            available.update(
                _rows(
                    con,
                    "select column_name, data_type from information_schema.columns"
                    " where table_schema = 'thelook' and table_name = ?",
                    table,
                )
            )
        for column, kind in re.findall(
            r"cast\((\w+) as \{\{ (?:dbt|kpi_bot)\.type_(\w+)\(\) \}\}\)", sql
        ):
            assert available.get(column) == types[kind], (model.name, column)
            checked += 1
    assert checked >= 25


# ---------------------------------------------------------------------------------- counts


def test_counts_scale_with_users(small, tmp_path: Path) -> None:
    double = _gen(tmp_path / "double.duckdb", users=2 * SMALL)
    for table in TABLES:
        assert 1.75 < double[table] / small[1][table] < 2.25, table


def test_counts_per_user_are_near_thelook(small) -> None:
    counts = small[1]
    assert counts["users"] == SMALL
    # TheLook: ~100k users, ~125k orders, ~180k items, ~2.4M events.
    assert 1.0 < counts["orders"] / SMALL < 1.5
    assert 1.3 < counts["order_items"] / counts["orders"] < 1.6
    assert 19 < counts["events"] / SMALL < 29


def test_returned_counts_match_the_tables(small, con) -> None:
    for table in TABLES:
        assert _one(con, f"select count(*) from thelook.{table}") == small[1][table]


def test_tables_are_written_in_key_order(con) -> None:
    for table, key in KEYS.items():
        unsorted = _one(
            con,
            f"""select count(*) from (
                  select {key} <= lag({key}) over (order by rowid) as back
                  from thelook.{table}) where back""",
        )
        assert unsorted == 0, table


def test_keys_are_unique_and_not_null(con) -> None:
    for table, key in KEYS.items():
        n, distinct, nulls = _rows(
            con,
            f"select count(*), count(distinct {key}), count(*) - count({key}) from thelook.{table}",
        )[0]
        assert n == distinct and nulls == 0, table


# --------------------------------------------------------------------------- value domains


def test_value_domains(con) -> None:
    statuses = {r[0] for r in _rows(con, "select distinct status from thelook.orders")}
    assert statuses == {"Processing", "Shipped", "Complete", "Cancelled", "Returned"}
    item_statuses = {r[0] for r in _rows(con, "select distinct status from thelook.order_items")}
    assert item_statuses <= statuses
    types = {r[0] for r in _rows(con, "select distinct event_type from thelook.events")}
    assert types == {"home", "department", "product", "cart", "purchase", "cancel"}
    genders = {r[0] for r in _rows(con, "select distinct gender from thelook.users")}
    assert genders == {"M", "F"}
    assert _one(
        con, "select min(sale_price) > 0 and max(sale_price) < 1000 from thelook.order_items"
    )
    assert _one(con, "select min(num_of_item) = 1 and max(num_of_item) = 4 from thelook.orders")
    assert _one(con, "select min(age) >= 12 and max(age) <= 70 from thelook.users")
    for exp in EXPERIMENTS:
        variants = {
            r[0]
            for r in _rows(
                con,
                "select distinct variant from thelook.experiment_assignments"
                " where experiment_id = ?",
                exp.experiment_id,
            )
        }
        assert variants == set(exp.variants), exp.experiment_id


def test_sale_prices_are_right_skewed(con) -> None:
    mean, median, p99 = _rows(
        con,
        "select avg(sale_price), median(sale_price), quantile_cont(sale_price, 0.99)"
        " from thelook.order_items",
    )[0]
    assert 20 < median < mean < 100 and p99 > 4 * median


def test_num_of_item_matches_the_items(con) -> None:
    mismatches = _one(
        con,
        """select count(*) from thelook.orders o
           join (select order_id, count(*) n, count(distinct user_id) users,
                        count(distinct status) statuses, min(created_at) first_at
                 from thelook.order_items group by order_id) i using (order_id)
           where o.num_of_item != i.n or i.users != 1 or i.statuses != 1
              or i.first_at != o.created_at""",
    )
    assert mismatches == 0
    assert _one(con, "select count(*) from thelook.order_items i anti join thelook.orders o"
                     " on o.order_id = i.order_id and o.user_id = i.user_id"
                     " and o.status = i.status") == 0  # fmt: skip


# ---------------------------------------------------------------------- referential integrity


def test_referential_integrity(con) -> None:
    orphans = {
        "items→orders": "select count(*) from thelook.order_items i"
        " anti join thelook.orders o using (order_id)",
        "orders→users": "select count(*) from thelook.orders o"
        " anti join thelook.users u on u.id = o.user_id",
        "events→users": "select count(*) from thelook.events e"
        " anti join thelook.users u on u.id = e.user_id where e.user_id is not null",
        "assignments→users": "select count(*) from thelook.experiment_assignments a"
        " anti join thelook.users u on u.id = a.user_id",
    }
    for name, sql in orphans.items():
        assert _one(con, sql) == 0, name
    assert _one(con, "select count(*) from thelook.orders o join thelook.users u"
                     " on u.id = o.user_id where o.gender != u.gender") == 0  # fmt: skip


def test_nothing_happens_before_sign_up(con) -> None:
    for sql in (
        "select count(*) from thelook.orders o join thelook.users u on u.id = o.user_id"
        " where o.created_at < u.created_at",
        "select count(*) from thelook.events e join thelook.users u on u.id = e.user_id"
        " where e.created_at < u.created_at",
        "select count(*) from thelook.experiment_assignments a join thelook.users u"
        " on u.id = a.user_id where a.assigned_at < u.created_at",
    ):
        assert _one(con, sql) == 0


# ----------------------------------------------------------------------- sessions and orders


def test_every_order_lines_up_with_a_purchase_event_of_its_user(con) -> None:
    # Each order has exactly one purchase event of the same user at the same instant,
    # and each purchase event belongs to exactly one order.
    unmatched = _one(
        con,
        """select count(*) from thelook.orders o
           anti join thelook.events e
             on e.user_id = o.user_id and e.event_type = 'purchase'
             and e.created_at = o.created_at""",
    )
    assert unmatched == 0
    purchases = _one(con, "select count(*) from thelook.events where event_type = 'purchase'")
    assert purchases == _one(con, "select count(*) from thelook.orders")


def test_purchase_sessions_walk_the_whole_funnel(con) -> None:
    walks = _rows(
        con,
        """select string_agg(event_type, '>' order by sequence_number)
           from thelook.events group by session_id""",
    )
    pattern = re.compile(r"^home(>department(>product(>product)*(>cart(>(purchase|cancel))?)?)?)?$")
    assert all(pattern.match(w) for (w,) in walks)
    paths = [w for (w,) in walks]
    assert sum(p.endswith("purchase") for p in paths) > 0
    for depth in ("home", "home>department", "home>department>product"):
        assert depth in paths  # drop-off at each step


def test_sessions_are_consistent(con) -> None:
    bad = _one(
        con,
        """select count(*) from (
             select session_id,
                    count(distinct coalesce(user_id, -1)) users,
                    count(distinct ip_address) ips,
                    max(sequence_number) = count(*) and min(sequence_number) = 1 numbered,
                    max(created_at) - min(created_at) span
             from thelook.events group by session_id)
           where users != 1 or ips != 1 or not numbered or span > interval 1 hour""",
    )
    assert bad == 0
    out_of_order = _one(
        con,
        """select count(*) from (
             select created_at < lag(created_at) over (
                      partition by session_id order by sequence_number) as back
             from thelook.events) where back""",
    )
    assert out_of_order == 0


def test_anonymous_sessions_exist_and_never_buy(con) -> None:
    anonymous, total = _rows(
        con,
        """select count(distinct session_id) filter (where user_id is null),
                  count(distinct session_id) from thelook.events""",
    )[0]
    assert 0.15 < anonymous / total < 0.5
    assert (
        _one(
            con,
            "select count(*) from thelook.events where user_id is null and event_type = 'purchase'",
        )
        == 0
    )


def test_data_ends_on_end_and_spans_two_years(con) -> None:
    last = datetime(END.year, END.month, END.day, 23, 59, 59)
    first_day = END - timedelta(days=HISTORY_DAYS - 1)
    for table in ("users", "orders", "order_items", "events"):
        lo, hi = _rows(con, f"select min(created_at), max(created_at) from thelook.{table}")[0]
        assert lo.date() >= first_day and hi <= last, table
    assert _one(con, "select max(created_at) from thelook.events").date() == END
    assert _one(con, "select min(created_at) from thelook.users").date() < first_day + timedelta(7)
    for column in ("shipped_at", "delivered_at", "returned_at"):
        assert _one(con, f"select max({column}) from thelook.orders") <= last
    assert _one(con, "select max(assigned_at) from thelook.experiment_assignments") <= last


def test_growth_trend_and_weekly_pattern(con) -> None:
    first_q, last_q = _rows(
        con,
        """select count(*) filter (where created_at < ?), count(*) filter (where created_at >= ?)
           from thelook.users""",
        END - timedelta(days=HISTORY_DAYS - 120),
        END - timedelta(days=119),
    )[0]
    assert last_q > 2 * first_q  # traffic roughly triples over two years
    by_dow = dict(_rows(con, "select isodow(created_at), count(*) from thelook.events group by 1"))
    assert by_dow[1] > by_dow[6]  # Mondays busier than Saturdays


def test_order_status_lifecycle(con) -> None:
    share = dict(
        _rows(con, "select status, count(*) / sum(count(*)) over () from thelook.orders group by 1")
    )
    assert share["Complete"] > 0.6
    # Timestamps follow the status: NULL until that step happened, and in order.
    bad = _one(
        con,
        """select count(*) from thelook.orders where not (
             (shipped_at is null) = (status in ('Processing', 'Cancelled'))
             and (delivered_at is null) = (status not in ('Complete', 'Returned'))
             and (returned_at is null) = (status != 'Returned')
             and coalesce(shipped_at >= created_at, true)
             and coalesce(delivered_at >= shipped_at, true)
             and coalesce(returned_at >= delivered_at, true))""",
    )
    assert bad == 0
    # Recent orders are still in flight instead of returned.
    returned_recently, in_flight_recent, in_flight_old = _rows(
        con,
        """select count(*) filter (where status = 'Returned' and created_at >= ?),
                  avg((status in ('Processing', 'Shipped'))::int) filter (where created_at >= ?),
                  avg((status in ('Processing', 'Shipped'))::int) filter (where created_at < ?)
           from thelook.orders""",
        END - timedelta(days=4),
        END - timedelta(days=13),
        END - timedelta(days=60),
    )[0]
    assert returned_recently == 0
    assert in_flight_recent > 2 * in_flight_old


def test_retention_decays_over_weeks(con) -> None:
    # Independent of the dbt mart: Monday-week cohorts signed up in the first 18 months.
    rows = _rows(
        con,
        """with u as (select id, date_trunc('week', created_at) cohort from thelook.users
                      where created_at < ?),
                a as (select distinct user_id, date_trunc('week', created_at) as active_week
                      from thelook.events where user_id is not null)
           select datediff('week', u.cohort, a.active_week) as n,
                  count(*) / (select count(*) from u) as rate
           from u join a on a.user_id = u.id group by 1 having n between 0 and 12 order by 1""",
        END - timedelta(days=180),
    )
    rate = dict(rows)
    assert rate[0] == 1.0  # the sign-up session
    assert 0.15 < rate[1] < 0.40
    assert rate[12] < rate[4] < rate[1]


# ----------------------------------------------------------------------------- experiments


def test_experiment_assignments_shape(con) -> None:
    for exp in EXPERIMENTS:
        lo, hi, users, rows = _rows(
            con,
            """select min(assigned_at), max(assigned_at), count(distinct user_id), count(*)
               from thelook.experiment_assignments where experiment_id = ?""",
            exp.experiment_id,
        )[0]
        assert lo.date() >= END - timedelta(days=exp.start_offset_days)
        assert hi.date() <= END and users > 50
        assert rows > users  # repeated exposure rows exist
    multi = _one(
        con,
        """select count(*) / (select count(distinct (experiment_id, user_id))
                              from thelook.experiment_assignments)
           from (select experiment_id, user_id from thelook.experiment_assignments
                 group by all having count(distinct variant) > 1)""",
    )
    assert 0 < multi < 0.01  # a few data-quality exclusions


def _first_exposure_conversion(connection, experiment_id: str) -> dict[str, tuple[int, int]]:
    """METRICS.md: first exposure, multi-variant users out, converted = Complete order at or
    after it. Returns variant → (users, converters)."""
    rows = _rows(
        connection,
        """with a as (select * from thelook.experiment_assignments where experiment_id = ?),
                single as (select user_id, min(assigned_at) exposed_at, min(variant) variant
                           from a group by user_id having count(distinct variant) = 1)
           select s.variant, count(*),
                  count(*) filter (where exists (
                      select 1 from thelook.orders o where o.user_id = s.user_id
                      and o.status = 'Complete' and o.created_at >= s.exposed_at))
           from single s group by 1""",
        experiment_id,
    )
    return {variant: (n, x) for variant, n, x in rows}


@pytest.mark.slow
def test_checkout_redesign_has_a_real_lift(medium) -> None:
    arms = _first_exposure_conversion(medium, "checkout_redesign")
    (n_c, x_c), (n_t, x_t) = arms["control"], arms["treatment"]
    _, p = proportions_ztest([x_t, x_c], [n_t, n_c])
    lift = (x_t / n_t) / (x_c / n_c) - 1
    assert p < 0.01 and 0.05 < lift < 0.35


@pytest.mark.slow
def test_checkout_treatment_buys_more_per_session_after_exposure(medium) -> None:
    # The mechanism behind the lift: sessions at or after exposure end in a purchase
    # more often in treatment (configured ratio 1.28, a little less after capping).
    rows = _rows(
        medium,
        """with a as (select * from thelook.experiment_assignments
                      where experiment_id = 'checkout_redesign'),
                single as (select user_id, min(assigned_at) exposed_at, min(variant) variant
                           from a group by user_id having count(distinct variant) = 1),
                s as (select session_id, any_value(user_id) user_id, min(created_at) started,
                             bool_or(event_type = 'purchase') bought
                      from thelook.events where user_id is not null group by session_id)
           select variant, count(*), count(*) filter (where bought)
           from single join s on s.user_id = single.user_id and s.started >= single.exposed_at
           group by 1""",
    )
    arms = {variant: (n, x) for variant, n, x in rows}
    (n_c, x_c), (n_t, x_t) = arms["control"], arms["treatment"]
    _, p = proportions_ztest([x_t, x_c], [n_t, n_c])
    assert p < 1e-4 and 1.1 < (x_t / n_t) / (x_c / n_c) < 1.45


@pytest.mark.slow
def test_aa_and_abn_experiments(medium) -> None:
    aa = _first_exposure_conversion(medium, "homepage_copy_aa")
    rates = [x / n for n, x in aa.values()]
    assert abs(rates[0] / rates[1] - 1) < 0.12
    assert chisquare([n for n, _ in aa.values()]).pvalue > 0.001
    abn = _first_exposure_conversion(medium, "pricing_page_abn")
    assert set(abn) == {"control", "B", "C"}
    assert chisquare([n for n, _ in abn.values()]).pvalue > 0.001


@pytest.mark.slow
def test_recs_widget_split_is_broken(medium) -> None:
    arms = _first_exposure_conversion(medium, "recs_widget_srm")
    n_c, n_t = arms["control"][0], arms["treatment"][0]
    # Configured 50/50 but ~11.5 % of treatment exposures are lost (expected ratio
    # 0.885); at 50k users the mismatch shows (at the default 100k, p is far below 0.001).
    assert 0.80 < n_t / n_c < 0.96
    assert chisquare([n_c, n_t]).pvalue < 0.01


# ------------------------------------------------------------------------------- anomalies


def test_planted_anomaly_dates() -> None:
    days = planted_anomalies(END)
    assert len(days) == 3 and days == sorted(days)
    assert all(END - timedelta(days=56) < d < END for d in days)
    assert len({d.weekday() for d in days}) == 3


@pytest.mark.slow
def test_planted_anomalies_stand_out_from_their_weekday_median(medium) -> None:
    revenue = dict(
        _rows(
            medium,
            """select o.created_at::date, sum(i.sale_price) from thelook.orders o
               join thelook.order_items i using (order_id)
               where o.status = 'Complete' group by 1""",
        )
    )
    ratios = []
    for day in planted_anomalies(END):
        baseline = [revenue.get(day - timedelta(weeks=k), 0.0) for k in range(1, 9)]
        ratios.append(revenue.get(day, 0.0) / float(np.median(baseline)))
    # Oldest first: payment incident (×0.45), flash sale (×2.6), checkout outage (×0.3).
    assert ratios[0] < 0.75 and ratios[1] > 1.8 and ratios[2] < 0.55
    # Ordinary days stay near their weekday median.
    ordinary = [END - timedelta(days=k) for k in (1, 2, 5, 6, 8)]
    for day in ordinary:
        baseline = [revenue.get(day - timedelta(weeks=k), 0.0) for k in range(1, 9)]
        assert 0.55 < revenue.get(day, 0.0) / float(np.median(baseline)) < 1.6, day


# ------------------------------------------------------------------------------------- CLI


def test_cli_generate(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "generate", "--db", str(db), "--users", "500",
         "--seed", "3", "--end", "2026-01-31"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "users 500" in result.stdout
    with duckdb.connect(str(db), read_only=True) as c:
        assert _one(c, "select count(*) from thelook.users") == 500
        assert _one(c, "select max(created_at)::date from thelook.events") == date(2026, 1, 31)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "generate", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--end", "yesterday"], "not a date"),
        (["--users", "0"], "must be at least 1"),
        (["--users", "lots"], "not a whole number"),
        (["--seed", "-1"], "must be at least 0"),
    ],
)
def test_cli_rejects_bad_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    result = _cli("--db", str(tmp_path / "x.duckdb"), *args)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.duckdb").exists()


def test_cli_reports_a_locked_file_without_a_traceback(tmp_path: Path) -> None:
    db = tmp_path / "locked.duckdb"
    with duckdb.connect(str(db)):  # this process holds the write lock
        result = _cli("--db", str(db), "--users", "50")
    assert result.returncode == 1
    assert "could not write demo data" in result.stderr and "Traceback" not in result.stderr


def test_generate_rejects_no_users_and_negative_seeds(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate(tmp_path / "x.duckdb", users=0, end=END)
    with pytest.raises(ValueError, match="non-negative"):
        generate(tmp_path / "x.duckdb", seed=-1, end=END)


@pytest.mark.parametrize("users", [1, 7])
def test_tiny_warehouses_work(tmp_path: Path, users: int) -> None:
    counts = generate(tmp_path / "tiny.duckdb", users=users, seed=1, end=END)
    assert counts["users"] == users and counts["events"] >= users
