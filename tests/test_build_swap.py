"""Rebuilds never break a live reader, and a failed build never touches the live file.

The reader runs in another process (multiprocessing, spawn) and loops the bot's own
queries through ``DuckDBWarehouse`` while ``build()`` copies, builds and swaps twice. The
raw tables are regenerated with a later end date before the first rebuild (the marts
still hold the old numbers), so the reader must go from the old ``data_as_of`` to the
new one without a single failed query.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from bot.build import BuildError, build
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.conftest import DEMO_END, DEMO_SEED, DEMO_USERS
from tests.threads import join_or_fail

NEW_END = DEMO_END + timedelta(days=10)
# A window inside both the old and the new data span: always 30 rows.
WINDOW = {"start_day": DEMO_END - timedelta(days=59), "end_day": DEMO_END - timedelta(days=30)}


def _reader(path: str, stop, progress, results) -> None:
    """Loop the bot's queries until told to stop; report failures and data_as_of seen."""
    from bot.warehouse.duckdb_adapter import DuckDBWarehouse

    warehouse = DuckDBWarehouse(path)
    failures: list[str] = []
    seen: list[str] = []  # distinct data_as_of values, in the order first seen
    queries = 0
    while not stop.is_set():
        for name, params in (
            ("data_status", None),
            ("revenue_daily", WINDOW),
            ("experiments", None),
            ("retention", None),
        ):
            try:
                frame = warehouse.run(name, params)
                if name == "data_status":
                    as_of = str(frame["data_as_of"][0])
                    if not seen or seen[-1] != as_of:
                        seen.append(as_of)
                elif name == "revenue_daily" and len(frame) != 30:
                    failures.append(f"revenue_daily returned {len(frame)} rows, not 30")
                elif frame.empty:
                    failures.append(f"{name} returned no rows")
            except Exception as err:  # every kind of failure counts
                failures.append(f"{name}: {type(err).__name__}: {err}")
            queries += 1
        progress.value = queries
    warehouse.close()
    results.put({"queries": queries, "failures": failures, "seen": seen})


def _data_as_of(path: Path) -> str:
    with duckdb.connect(str(path), read_only=True) as conn:
        return str(conn.execute("select data_as_of from main.data_freshness").fetchone()[0])


def _raw_max_created_at(path: Path) -> str:
    with duckdb.connect(str(path), read_only=True) as conn:
        return str(
            conn.execute(
                "select max(m) from ("
                + " union all ".join(
                    f"select max(created_at) as m from thelook.{t}"
                    for t in ("users", "orders", "order_items", "events")
                )
                + ")"
            ).fetchone()[0]
        )


def _wait_for(progress, target: int, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while progress.value < target:
        assert time.monotonic() < deadline, f"reader stalled at {progress.value} queries"
        time.sleep(0.05)


def _fingerprint(path: Path) -> tuple[str, int, int]:
    stat = os.stat(path)
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_ino, stat.st_mtime_ns


def test_reader_in_another_process_survives_two_rebuilds(built_db: Path, tmp_path: Path) -> None:
    from bot.demo_data import generate

    live = tmp_path / "live" / built_db.name
    live.parent.mkdir()
    shutil.copy(built_db, live)
    old_as_of = _data_as_of(live)
    # New raw data, old marts: only a rebuild can move data_as_of.
    generate(live, users=DEMO_USERS, seed=DEMO_SEED, end=NEW_END)
    new_as_of = _raw_max_created_at(live)
    assert date.fromisoformat(new_as_of[:10]) == NEW_END
    assert _data_as_of(live) == old_as_of

    # A reader in this process too: it must not be handed the old file by DuckDB's
    # per-process instance cache after the swap.
    local = DuckDBWarehouse(live)
    assert str(local.run("data_status")["data_as_of"][0]) == old_as_of

    ctx = mp.get_context("spawn")
    stop, progress, results = ctx.Event(), ctx.Value("i", 0), ctx.Queue()
    reader = ctx.Process(target=_reader, args=(str(live), stop, progress, results))
    reader.start()
    try:
        _wait_for(progress, 20)
        # The reader really holds the file: an in-place writer (another process) could
        # not open it, which is why build() never writes to the live file.
        writer = subprocess.run(
            [sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1])", str(live)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert writer.returncode != 0 and "lock" in writer.stderr.lower(), writer.stderr

        during = []
        for _ in range(2):
            before = progress.value
            build(live)
            during.append(progress.value - before)
            assert str(local.run("data_status")["data_as_of"][0]) == new_as_of
            _wait_for(progress, progress.value + 20)  # queries after the swap, too
    finally:
        stop.set()
        report = results.get(timeout=60)
        join_or_fail(reader, 60)
        local.close()

    assert report["failures"] == []
    assert report["seen"] == [old_as_of, new_as_of]
    assert all(n > 0 for n in during), f"reader idle during a build: {during}"
    assert _data_as_of(live) == new_as_of
    assert sorted(os.listdir(live.parent)) == [live.name]  # temp dirs cleaned up


def test_failed_build_leaves_the_live_file_untouched(built_db: Path, tmp_path: Path) -> None:
    live = tmp_path / built_db.name
    shutil.copy(built_db, live)
    with duckdb.connect(str(live)) as conn:  # raw data a dbt test rejects
        conn.execute(
            "update thelook.orders set status = 'Lost' "
            "where order_id = (select min(order_id) from thelook.orders)"
        )
    before = _fingerprint(live)

    with pytest.raises(BuildError) as caught:
        build(live)

    failed = caught.value.failed_nodes
    assert any("accepted_values_stg_thelook__orders_status" in node for node in failed), failed
    assert "accepted_values_stg_thelook__orders_status" in str(caught.value)
    assert _fingerprint(live) == before
    assert sorted(os.listdir(tmp_path)) == [live.name]


def test_missing_raw_data_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "kpi.duckdb"
    duckdb.connect(str(empty)).close()
    before = _fingerprint(empty)
    with pytest.raises(BuildError, match=r"no raw data.*users.*python -m bot generate"):
        build(empty)
    assert _fingerprint(empty) == before
    assert sorted(os.listdir(tmp_path)) == [empty.name]


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="no warehouse file"):
        build(tmp_path / "absent.duckdb")
    assert os.listdir(tmp_path) == []


def test_broken_project_reports_dbt_error(built_db: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    source = Path(__file__).resolve().parent.parent / "dbt_project"
    shutil.copytree(source, project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "models" / "marts" / "broken.sql").write_text("select {{ not_a_macro( }}\n")
    live = tmp_path / "db" / built_db.name
    live.parent.mkdir()
    shutil.copy(built_db, live)
    before = _fingerprint(live)
    with pytest.raises(BuildError, match=r"(?s)dbt build failed.*broken"):
        build(live, project_dir=project)
    assert _fingerprint(live) == before
    assert sorted(os.listdir(live.parent)) == [live.name]


def test_stale_build_directories_of_killed_builds_are_removed(tmp_path):
    from bot.build import remove_stale_build_dirs

    live = tmp_path / "kpi.duckdb"
    old = tmp_path / ".kpi.duckdb.build-old"
    fresh = tmp_path / ".kpi.duckdb.build-running"
    other = tmp_path / ".other.duckdb.build-old"
    for work in (old, fresh, other):
        work.mkdir()
        (work / "kpi.duckdb").write_bytes(b"partial copy")
    long_ago = time.time() - 7 * 3600
    os.utime(old, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))

    assert remove_stale_build_dirs(live) == 1
    assert not old.exists()
    assert fresh.exists()  # a build in progress keeps its directory
    assert other.exists()  # another warehouse's directories are not ours
