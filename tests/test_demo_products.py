"""The generator's products table: TheLook's shape, integrity, and no change to the rest.

Checks read the written DuckDB file with plain SQL, independent of the generator's code.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from bot.demo_data import generate

ROOT = Path(__file__).resolve().parents[1]
END = date(2026, 11, 24)
COLUMNS = [
    ("id", "BIGINT"),
    ("cost", "DOUBLE"),
    ("category", "VARCHAR"),
    ("name", "VARCHAR"),
    ("brand", "VARCHAR"),
    ("retail_price", "DOUBLE"),
    ("department", "VARCHAR"),
    ("sku", "VARCHAR"),
    ("distribution_center_id", "BIGINT"),
]
# sha256 of repr(rows) of each table as the generator wrote it *before* products existed
# (commit edc6422, users=500, seed=3, end=2026-11-24): products come from a random stream
# of their own, so adding them must not have changed one value of the other tables.
BEFORE_PRODUCTS = {
    "users": "0aab741608482e8f016c5ef9c17735646ed81ad262f05fedd7e75ac83afa6a4c",
    "orders": "6b2b8e6dc834e37b4ea3c6bc598f1a3a1628391e5865d05f950c2099e7d913bb",
    "order_items": "71496e8f65eb0ec30a95d5a4522f37daa1cd6a31f5999d5501c166a5ecfed484",
    "events": "5120a9aa8de94526eabebac5b738c2672694c25df685cb523300c2174582a5c5",
    "experiment_assignments": "e9fc96f9cdefb0befaba3abfde7448c2af3ef04ca166691c8275a4d46784018d",
}


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("products") / "small.duckdb"
    counts = generate(path, users=500, seed=3, end=END)
    assert counts["products"] > 0
    connection = duckdb.connect(str(path), read_only=True)
    yield connection
    connection.close()


def _one(con, sql: str):
    return con.execute(sql).fetchone()[0]


def test_other_tables_are_unchanged_by_adding_products(con) -> None:
    for table, digest in BEFORE_PRODUCTS.items():
        rows = con.execute(f"select * from thelook.{table}").fetchall()
        assert hashlib.sha256(repr(rows).encode()).hexdigest() == digest, table


def test_products_have_thelooks_columns_as_documented(con) -> None:
    actual = con.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'thelook' and table_name = 'products' order by ordinal_position"
    ).fetchall()
    assert actual == COLUMNS
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    row = next(line for line in doc.splitlines() if line.startswith("| products |"))
    assert re.findall(r"(\w+) (BIGINT|VARCHAR|DOUBLE)", row) == COLUMNS


def test_every_item_points_at_a_product_selling_at_its_retail_price(con) -> None:
    orphans = _one(
        con,
        """select count(*) from thelook.order_items as i
           left join thelook.products as p on p.id = i.product_id
           where p.id is null or p.retail_price <> i.sale_price""",
    )
    assert orphans == 0
    assert _one(con, "select count(*) - count(distinct id) from thelook.products") == 0


def test_cost_is_positive_and_below_retail_price(con) -> None:
    assert _one(con, "select count(*) from thelook.products where cost <= 0") == 0
    assert _one(con, "select count(*) from thelook.products where cost >= retail_price") == 0
    share = _one(con, "select sum(cost) / sum(retail_price) from thelook.products")
    assert 0.4 < share < 0.6


def test_categories_brands_and_departments_look_like_thelook(con) -> None:
    departments = {
        r[0] for r in con.execute("select distinct department from thelook.products").fetchall()
    }
    assert departments == {"Men", "Women"}
    assert 15 <= _one(con, "select count(distinct category) from thelook.products") <= 30
    assert _one(con, "select count(distinct brand) from thelook.products") >= 20
    # Dresses are a women's category, suits a men's one (as in TheLook).
    assert {
        r[0]
        for r in con.execute(
            "select distinct department from thelook.products where category = 'Dresses'"
        ).fetchall()
    } == {"Women"}
    assert _one(con, "select count(*) from thelook.products where name not like brand || ' %'") == 0
    assert (
        _one(
            con,
            "select count(*) from thelook.products"
            " where not regexp_full_match(sku, '[0-9A-F]{32}')",
        )
        == 0
    )
    assert (
        _one(
            con,
            "select count(*) from thelook.products"
            " where distribution_center_id not between 1 and 10",
        )
        == 0
    )


def test_products_are_deterministic_and_depend_on_the_seed(con, tmp_path: Path) -> None:
    again, other = tmp_path / "again.duckdb", tmp_path / "other.duckdb"
    generate(again, users=500, seed=3, end=END)
    generate(other, users=500, seed=4, end=END)
    mine = con.execute("select * from thelook.products order by id").fetchall()
    with duckdb.connect(str(again), read_only=True) as c:
        assert c.execute("select * from thelook.products order by id").fetchall() == mine
    with duckdb.connect(str(other), read_only=True) as c:
        assert c.execute("select * from thelook.products order by id").fetchall() != mine
