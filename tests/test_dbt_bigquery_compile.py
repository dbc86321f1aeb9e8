"""The dbt project parses and compiles for BigQuery with no credentials, and the compiled
SQL is free of the known BigQuery traps.

No Google account is needed: the profile's service-account method gets a throwaway key
file (a freshly generated RSA key, never sent anywhere) and ``--no-populate-cache`` stops
dbt from listing datasets. The compiled SQL is then scanned for what DuckDB accepts but
BigQuery gets wrong or rejects:

* Sunday weeks: ``DATE_TRUNC(d, WEEK)`` (and any bare WEEK date part) starts weeks on
  Sunday; METRICS.md's weeks start on Monday (``WEEK(MONDAY)`` or ``ISOWEEK``).
* ``/``: BigQuery raises on division by zero; every ratio must use SAFE_DIVIDE.
* lateral column aliases: an alias defined in a SELECT list and used later in the same
  list (or in its WHERE) works on DuckDB and fails on BigQuery.

Each checker is proved on planted bad snippets, so a scan that finds nothing means
something.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from bot.core.metrics import DimensionFilter, MetricRequest
from bot.settings import BigQuerySettings
from bot.warehouse.bigquery_adapter import BigQueryWarehouse
from bot.warehouse.semantic import SemanticLayer

PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
MART_MODELS = {
    "revenue_daily",
    "funnel_users",
    "ab_group",
    "ab_experiments",
    "ab_metrics",
    "retention_weekly",
    "data_freshness",
}
# The marts the semantic layer reads (dbt_project/models/marts/semantic).
SEMANTIC_MODELS = {
    "fct_orders",
    "fct_order_items",
    "dim_users",
    "dim_products",
    "fct_session_days",
    "metricflow_time_spine",
}


# --- a small BigQuery SQL tokenizer ------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>--[^\n]*|\#[^\n]*|/\*.*?\*/)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<quoted>`[^`]*`)
  | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|!=|<>|\|\||[-+*/%=<>(),.;\[\]:@])
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str  # name, quoted, string, number, op
    value: str

    @property
    def word(self) -> str:
        return self.value.lower() if self.kind == "name" else ""


def tokenize(sql: str) -> list[Token]:
    """Tokens without whitespace and comments (so a `/` in a comment is not a division)."""
    tokens, pos = [], 0
    while pos < len(sql):
        match = _TOKEN_RE.match(sql, pos)
        if match is None:
            raise ValueError(f"cannot tokenize at {sql[pos : pos + 30]!r}")
        kind = match.lastgroup
        if kind not in ("ws", "comment"):
            tokens.append(Token(kind, match.group()))
        pos = match.end()
    return tokens


# BigQuery's reserved keywords: never a column reference.
_RESERVED_WORDS = """
    all and any array as asc assert_rows_modified at between by case cast collate contains
    create cross cube current default define desc distinct else end enum escape except exclude
    exists extract false fetch following for from full group grouping groups hash having if
    ignore in inner intersect interval into is join lateral left like limit lookup merge
    natural new no not null nulls of on or order outer over partition preceding proto qualify
    range recursive respects right rollup rows select set some struct tablesample then to treat
    true unbounded union unnest using when where window with within"""
RESERVED = frozenset(_RESERVED_WORDS.split())
_CLAUSE_END = {"from", "where", "group", "having", "qualify", "window", "order", "limit"}
_SET_OPS = {"union", "intersect", "except"}


# --- the three checks ----------------------------------------------------------------------


def sunday_weeks(sql: str) -> list[str]:
    """WEEK date parts that are not Monday-based (bare WEEK, WEEK(SUNDAY), 'week')."""
    tokens, found = tokenize(sql), []
    for i, tok in enumerate(tokens):
        if tok.kind == "string" and tok.value.strip("'\"").lower() == "week":
            found.append(_context(tokens, i))
        elif tok.word == "week":
            following = [t.value.lower() for t in tokens[i + 1 : i + 4]]
            if following != ["(", "monday", ")"]:
                found.append(_context(tokens, i))
    return found


def bare_divisions(sql: str) -> list[str]:
    """Every `/` operator (comments and strings are not searched)."""
    tokens = tokenize(sql)
    return [_context(tokens, i) for i, tok in enumerate(tokens) if tok.value == "/"]


def lateral_aliases(sql: str) -> list[str]:
    """Aliases defined in a SELECT list and referenced later in that list or its WHERE."""
    tokens, found = tokenize(sql), []
    depths = _depths(tokens)
    for start, tok in enumerate(tokens):
        if tok.word == "select":
            found += _lateral_in_select(tokens, depths, start)
    return found


def _depths(tokens: list[Token]) -> list[int]:
    # Parenthesis depth of each token (an opening paren belongs to the outer level).
    depths, depth = [], 0
    for tok in tokens:
        if tok.value == ")":
            depth -= 1
        depths.append(depth)
        if tok.value == "(":
            depth += 1
    return depths


def _lateral_in_select(tokens: list[Token], depths: list[int], start: int) -> list[str]:
    level = depths[start]
    items, current, i = [], [], start + 1
    # The SELECT list: up to FROM/WHERE/... or a set operation or the closing paren.
    while i < len(tokens) and depths[i] >= level:
        tok = tokens[i]
        if depths[i] == level and (
            tok.word in _CLAUSE_END
            or (tok.word in _SET_OPS and not _next_is(tokens, i, "("))
            or tok.value == ";"
        ):
            break
        if depths[i] == level and tok.value == ",":
            items.append(current)
            current = []
        else:
            current.append(i)
        i += 1
    items.append(current)

    found, new_aliases = [], set()
    for item in items:
        for name in _references(tokens, item) & new_aliases:
            found.append(f"alias {name!r} reused in its SELECT: {_span(tokens, item)}")
        alias = _alias(tokens, item)
        if alias and alias not in _all_names(tokens, item, exclude=item[-1]):
            new_aliases.add(alias)

    # Its WHERE clause (BigQuery resolves WHERE before the SELECT list).
    where = _where_clause(tokens, depths, i, level)
    for name in _references(tokens, where) & new_aliases:
        found.append(f"alias {name!r} used in WHERE: {_span(tokens, where)}")
    return found


def _where_clause(tokens: list[Token], depths: list[int], i: int, level: int) -> list[int]:
    while i < len(tokens) and depths[i] >= level:
        if depths[i] == level and tokens[i].word == "where":
            clause, i = [], i + 1
            while i < len(tokens) and depths[i] >= level:
                tok = tokens[i]
                if depths[i] == level and (tok.word in _CLAUSE_END | _SET_OPS or tok.value == ";"):
                    break
                clause.append(i)
                i += 1
            return clause
        if depths[i] == level and (tokens[i].word in _SET_OPS or tokens[i].value == ";"):
            break
        i += 1
    return []


def _alias(tokens: list[Token], item: list[int]) -> str | None:
    # Only explicit `expr AS name` (the project's style); a bare column keeps its name.
    if len(item) >= 3 and tokens[item[-2]].word == "as" and tokens[item[-1]].kind == "name":
        return tokens[item[-1]].word
    return None


def _all_names(tokens: list[Token], item: list[int], exclude: int) -> set[str]:
    return {tokens[i].word for i in item if tokens[i].kind == "name" and i != exclude}


def _references(tokens: list[Token], positions: list[int]) -> set[str]:
    """Unqualified column references: names that are not keywords, functions, table
    qualifiers, qualified columns, aliases or types after AS, or date parts / implicit
    aliases right after another operand."""
    refs = set()
    for i in positions:
        tok = tokens[i]
        if tok.kind != "name" or tok.word in RESERVED:
            continue
        before = tokens[i - 1] if i > 0 else None
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if after is not None and after.value in ("(", "."):
            continue  # function call or table qualifier
        if before is not None and (
            before.value == "." or before.word == "as" or _is_operand_end(before)
        ):
            continue  # qualified column, alias/type, or `interval 3 day`-style date part
        refs.add(tok.word)
    return refs


def _is_operand_end(tok: Token) -> bool:
    return (
        tok.kind in ("number", "string", "quoted")
        or tok.value == ")"
        or (tok.kind == "name" and tok.word not in RESERVED)
    )


def _next_is(tokens: list[Token], i: int, value: str) -> bool:
    return i + 1 < len(tokens) and tokens[i + 1].value == value


def _span(tokens: list[Token], positions: list[int]) -> str:
    return " ".join(tokens[i].value for i in positions)[:160]


def _context(tokens: list[Token], i: int) -> str:
    return " ".join(t.value for t in tokens[max(0, i - 6) : i + 6])


# --- the checkers catch planted traps -----------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "select date_trunc(date(created_at), week) as w from t",
        "select date_trunc(d, WEEK) from t",
        "select date_trunc(d, week(sunday)) from t",
        "select date_diff(a, b, week) from t",
        "select timestamp_trunc(ts, week) from t",
        "select date_trunc('week', d) from t",
    ],
)
def test_sunday_week_checker_catches_planted_traps(sql: str) -> None:
    assert sunday_weeks(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "select date_trunc(d, isoweek) as cohort_week, week_n from t",
        "select date_trunc(d, week(monday)) from t -- not date_trunc(d, week)",
        "select 'a week' as label, activity_week from t",
    ],
)
def test_sunday_week_checker_accepts_monday_weeks(sql: str) -> None:
    assert sunday_weeks(sql) == []


@pytest.mark.parametrize(
    "sql",
    [
        "select revenue / orders as aov from t",
        "select sum(x)/count(*) from t",
        "select a from t where b / 2 > 1",
    ],
)
def test_division_checker_catches_planted_traps(sql: str) -> None:
    assert bare_divisions(sql)


def test_division_checker_ignores_comments_strings_and_safe_divide() -> None:
    sql = (
        "-- aov = revenue / orders\n/* a / b */\n"
        "select safe_divide(revenue, orders) as aov, 'a/b' as path, `p-1`.`d`.`t/x` from t"
    )
    assert bare_divisions(sql) == []


@pytest.mark.parametrize(
    "sql",
    [
        "select price * qty as revenue, revenue * 2 as double_revenue from t",
        "select date(created_at) as day, day + 1 as next_day from t",
        "select a.x as total, case when total > 0 then 1 else 0 end as positive from a",
        "select count(*) as n, safe_divide(x, n) as rate from t group by x",
        "with c as (select y + 1 as z, z * 2 as w from t) select * from c",
        "select amount * 2 as doubled from t where doubled > 10",
    ],
)
def test_lateral_alias_checker_catches_planted_traps(sql: str) -> None:
    assert lateral_aliases(sql)


@pytest.mark.parametrize(
    "sql",
    [
        # renames that keep the source name: later uses mean the source column
        "select cast(user_id as int64) as user_id, concat('x', cast(user_id as string)) as k "
        "from t",
        "select o.day as day, o.revenue from o where day > '2026-01-01'",
        # aliases used in an outer query, GROUP BY or ORDER BY are fine on BigQuery
        "select n * 2 as m from (select count(*) as n from t) group by m order by m",
        "select date_add(d, interval 7 * w.week_n day) as day, w.week_n from w",
        "select a as b from t union all select b as a from u",
    ],
)
def test_lateral_alias_checker_accepts_portable_sql(sql: str) -> None:
    assert lateral_aliases(sql) == []


# --- dbt parse and compile for BigQuery ----------------------------------------------------


def _service_account_file(path: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "some-project",
        "private_key_id": "0" * 40,
        "private_key": pem,
        "client_email": "ci@some-project.iam.gserviceaccount.com",
        "client_id": "1",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path.write_text(json.dumps(info))
    return path


def _dbt(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dbt.cli.main", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def bigquery_compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Target path of `dbt parse` + `dbt compile --target bigquery`, credentials-free."""
    work = tmp_path_factory.mktemp("dbt_bigquery")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GOOGLE_", "KPI_", "DBT_", "CLOUDSDK_"))
    }
    env.update(
        KPI_BQ_PROJECT="some-project",
        KPI_BQ_METHOD="service-account",
        KPI_BQ_KEYFILE=str(_service_account_file(work / "service-account.json")),
        DBT_PROFILES_DIR=str(PROJECT_DIR),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    common = [
        "--project-dir",
        str(PROJECT_DIR),
        "--target",
        "bigquery",
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
    ]
    parsed = _dbt(["parse", *common], env)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    compiled = _dbt(["compile", *common, "--no-populate-cache"], env)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    return work / "target"


def _compiled_models(target: Path) -> dict[str, str]:
    root = target / "compiled" / "kpi_bot" / "models"
    # Generic tests compile under <schema file>.yml/; only the models themselves count.
    paths = (path for path in root.rglob("*.sql") if path.parent.suffix != ".yml")
    return {path.stem: path.read_text() for path in paths}


def test_compiles_every_model_for_bigquery(bigquery_compiled: Path) -> None:
    models = _compiled_models(bigquery_compiled)
    assert set(models) >= MART_MODELS
    assert {name for name in models if name.startswith("stg_thelook__")} == {
        "stg_thelook__users",
        "stg_thelook__orders",
        "stg_thelook__order_items",
        "stg_thelook__events",
        "stg_thelook__experiment_assignments",
        "stg_thelook__products",
    }
    assert set(models) >= SEMANTIC_MODELS
    assert (
        "`bigquery-public-data`.`thelook_ecommerce`.`products`" in models["stg_thelook__products"]
    )
    # Sources point at the public TheLook dataset; marts land in the profile's dataset.
    assert "`bigquery-public-data`.`thelook_ecommerce`.`orders`" in models["stg_thelook__orders"]
    assert "`some-project`.`kpi`.`stg_thelook__orders`" in models["fct_orders"]
    # revenue_daily reads the semantic layer's facts: one revenue in the project.
    assert "`some-project`.`kpi`.`fct_order_items`" in models["revenue_daily"]


def test_bigquery_uses_the_documented_fallback_split(bigquery_compiled: Path) -> None:
    sql = _compiled_models(bigquery_compiled)["stg_thelook__experiment_assignments"]
    assert "farm_fingerprint(" in sql.lower()
    assert "`thelook_ecommerce`.`users`" in sql
    assert "`experiment_assignments`" not in sql  # TheLook on BigQuery has no such table


def test_bigquery_weeks_are_monday_based(bigquery_compiled: Path) -> None:
    models = _compiled_models(bigquery_compiled)
    problems = {name: sunday_weeks(sql) for name, sql in models.items() if sunday_weeks(sql)}
    assert problems == {}
    # Monday = DAYOFWEEK 2: week_start subtracts MOD(DAYOFWEEK + 5, 7) days (ISOWEEK's
    # value; the BigQuery emulator can't run ISOWEEK, see macros/engine.sql).
    assert "mod(extract(dayofweek from" in models["retention_weekly"].lower()


def test_bigquery_sql_has_no_bare_division(bigquery_compiled: Path) -> None:
    models = _compiled_models(bigquery_compiled)
    problems = {name: bare_divisions(sql) for name, sql in models.items() if bare_divisions(sql)}
    assert problems == {}
    for ratio in ("revenue_daily", "ab_metrics", "retention_weekly"):
        assert "safe_divide(" in models[ratio].lower()


def test_bigquery_sql_has_no_lateral_aliases(bigquery_compiled: Path) -> None:
    models = _compiled_models(bigquery_compiled)
    problems = {name: lateral_aliases(sql) for name, sql in models.items() if lateral_aliases(sql)}
    assert problems == {}


def test_bigquery_marts_are_partitioned_and_clustered(bigquery_compiled: Path) -> None:
    nodes = json.loads((bigquery_compiled / "manifest.json").read_text())["nodes"]
    config = {
        node["name"]: node["config"] for node in nodes.values() if node["resource_type"] == "model"
    }
    for mart in MART_MODELS | SEMANTIC_MODELS:
        assert config[mart]["materialized"] == "table", mart
    assert config["revenue_daily"]["partition_by"]["field"] == "day"
    assert config["retention_weekly"]["partition_by"]["field"] == "cohort_week"
    assert config["ab_metrics"]["cluster_by"] == ["experiment_id"]
    assert config["funnel_users"]["cluster_by"] == ["user_id"]


# --- the semantic layer's BigQuery SQL ---------------------------------------------------

_REQUESTS = {
    "breakdown": MetricRequest(
        metrics=("revenue", "gross_margin"),
        group_by="category",
        start=date(2026, 9, 1),
        end=date(2026, 11, 30),
        limit=10,
    ),
    "filter": MetricRequest(
        metrics=("aov", "cancellation_rate"),
        filters=(DimensionFilter("country", ("Brasil", "Japan")),),
        start=date(2026, 9, 1),
        end=date(2026, 11, 30),
    ),
    "weekly": MetricRequest(
        metrics=("new_users",),
        group_by="traffic_source",
        grain="week",
        start=date(2026, 9, 1),
        end=date(2026, 11, 30),
    ),
    "sessions_monthly": MetricRequest(
        metrics=("sessions",), group_by="browser", grain="month", start=date(2026, 1, 1)
    ),
}


@pytest.fixture(scope="module")
def bigquery_semantic_sql(bigquery_compiled: Path) -> dict[str, str]:
    """MetricFlow's BigQuery SQL for a breakdown, a filter and a weekly grain, compiled
    from the semantic manifest `dbt parse --target bigquery` wrote (nothing is run)."""
    warehouse = BigQueryWarehouse(BigQuerySettings(project="some-project", dataset="kpi"))
    layer = SemanticLayer(warehouse, manifest_path=bigquery_compiled / "semantic_manifest.json")
    return {name: layer.compile(request).sql for name, request in _REQUESTS.items()}


def test_semantic_sql_names_only_the_marts(bigquery_semantic_sql: dict[str, str]) -> None:
    for name, sql in bigquery_semantic_sql.items():
        tables = re.findall(r"`([^`]+)`\.`([^`]+)`\.`([^`]+)`", sql)
        assert tables, name
        assert {(project, dataset) for project, dataset, _ in tables} == {("some-project", "kpi")}
        assert {table for _, _, table in tables} <= SEMANTIC_MODELS, name
        assert "thelook" not in sql and "stg_" not in sql, name


def test_semantic_sql_is_valid_bigquery_with_bound_values(
    bigquery_semantic_sql: dict[str, str],
) -> None:
    import sqlglot

    for name, sql in bigquery_semantic_sql.items():
        sqlglot.parse_one(sql, read="bigquery")  # raises on a syntax error
        assert "@window_start" in sql, name
    assert "@f0_0" in bigquery_semantic_sql["filter"]
    assert "@f0_1" in bigquery_semantic_sql["filter"]
    assert "Brasil" not in bigquery_semantic_sql["filter"]  # a value is bound, never pasted


def test_semantic_sql_weeks_are_monday_based(bigquery_semantic_sql: dict[str, str]) -> None:
    for name, sql in bigquery_semantic_sql.items():
        assert sunday_weeks(sql) == [], name
    assert "isoweek" in bigquery_semantic_sql["weekly"].lower()


def test_semantic_sql_divisions_are_guarded(bigquery_semantic_sql: dict[str, str]) -> None:
    """MetricFlow writes ratios as CAST(n AS FLOAT64) / CAST(NULLIF(d, 0) AS FLOAT64): a
    bare `/`, but never by zero (BigQuery raises on x / 0, not on x / NULL)."""
    sql = bigquery_semantic_sql["filter"]
    divisions = bare_divisions(sql)
    assert len(divisions) == 2  # aov and cancellation_rate
    tokens = [t.value.lower() for t in tokenize(sql)]
    for i, value in enumerate(tokens):
        if value == "/":
            assert tokens[i + 1 : i + 4] == ["cast", "(", "nullif"], tokens[i - 5 : i + 8]
