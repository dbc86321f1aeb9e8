"""The answer cache (bot.answer_cache) and the service's use of it, on the real built
DuckDB file: a repeated question (however typed) is answered without the warehouse, a
swapped-in file (as ``bot build`` does) empties it, errors are never kept, the size is
bounded, charts drawn later are kept, and BigQuery-style versions are read at most once
per interval.
"""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from bot.answer_cache import AnswerCache, CacheKey, DataAsOfVersion
from bot.answers import Chart, ErrorAnswer, HelpAnswer
from bot.service import KpiService
from bot.settings import Settings
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.test_slack_app import CLOCK


class CountingWarehouse:
    """The real DuckDB adapter, counting the queries that reach it."""

    def __init__(self, inner: DuckDBWarehouse) -> None:
        self.inner, self.queries = inner, 0

    def run(self, name, params=None):
        self.queries += 1
        return self.inner.run(name, params)

    def data_version(self):
        return self.inner.data_version()

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def db(built_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "kpi.duckdb"
    shutil.copyfile(built_db, copy)
    return copy


def service(db: Path, cache: AnswerCache | None = None) -> tuple[KpiService, CountingWarehouse]:
    warehouse = CountingWarehouse(DuckDBWarehouse(db))
    kpi = KpiService(MartReader(warehouse), clock=lambda: CLOCK, cache=cache or AnswerCache())
    return kpi, warehouse


def test_a_repeated_question_however_typed_is_answered_without_the_warehouse(db: Path) -> None:
    kpi, warehouse = service(db)
    first = kpi.ask("revenue last 30 days")
    asked = warehouse.queries
    assert asked > 0 and first.charts and first.charts[0].png.startswith(b"\x89PNG")
    again = kpi.ask("rev   30d")
    assert warehouse.queries == asked  # nothing reached the warehouse
    assert again is first  # text, blocks and PNG bytes as they were
    assert (kpi.cache.hits, kpi.cache.misses) == (1, 1)


def test_a_rebuild_swap_empties_the_cache(db: Path, built_db: Path) -> None:
    kpi, warehouse = service(db)
    kpi.ask("retention 8", charts=False)
    fresh = db.with_name("new.duckdb")
    shutil.copyfile(built_db, fresh)
    os.replace(fresh, db)  # what bot build does
    asked = warehouse.queries
    kpi.ask("retention 8", charts=False)
    assert warehouse.queries > asked and kpi.cache.misses == 2
    assert len(kpi.cache) == 1  # the old version's entry is gone


def test_charts_drawn_later_are_kept_for_the_next_ask(db: Path) -> None:
    kpi, _ = service(db)
    plain = kpi.ask("retention 8", charts=False)
    assert plain.charts == ()
    drawn = kpi.with_charts(plain)
    assert drawn.charts
    assert kpi.ask("retention 8").charts == drawn.charts


def test_errors_are_never_kept(db: Path) -> None:
    kpi, warehouse = service(db)
    kpi.ask("ab no_such_experiment")
    asked = warehouse.queries
    kpi.ask("ab no_such_experiment")
    assert warehouse.queries > asked
    assert len(kpi.cache) == 0


def test_the_cache_is_bounded_least_recently_used_first_out() -> None:
    cache = AnswerCache(max_entries=2, max_bytes=250)
    key = lambda n: CacheKey(("q", n), date(2026, 1, 1), "v1")  # noqa: E731
    png = lambda size: (Chart("c", "c", b"x" * size),)  # noqa: E731
    cache.put(key(1), HelpAnswer(None, png(100)))
    cache.put(key(2), HelpAnswer(None, png(100)))
    assert cache.get(key(1)) is not None  # 1 is now the most recently used
    cache.put(key(3), HelpAnswer(None, png(100)))
    assert cache.peek(key(2)) is None and cache.peek(key(1)) is not None  # over 2 entries
    cache.put(key(4), HelpAnswer(None, png(200)))  # 300 bytes with another: over the bytes
    assert len(cache) == 1 and cache.peek(key(4)) is not None
    cache.put(key(5), ErrorAnswer("warehouse", "down"))
    assert cache.peek(key(5)) is None


def test_data_as_of_version_is_read_at_most_once_per_interval() -> None:
    now, reads = [0.0], []

    def read():
        reads.append(now[0])
        return f"as-of-{len(reads)}"

    version = DataAsOfVersion(read, check_every_s=60, clock=lambda: now[0])
    assert version() == "as-of-1"
    now[0] = 59
    assert version() == "as-of-1" and len(reads) == 1
    now[0] = 60
    assert version() == "as-of-2"


def test_settings_turn_the_cache_on_by_default_and_off_with_zero(db: Path) -> None:
    on = KpiService.from_settings(Settings(duckdb_path=db))
    assert on.cache is not None and on.cache.max_entries == 256
    off = KpiService.from_settings(
        Settings.from_env({"KPI_DUCKDB_PATH": str(db), "KPI_ANSWER_CACHE_ENTRIES": "0"})
    )
    assert off.cache is None


def test_a_bad_cache_size_names_the_variable() -> None:
    from bot.settings import SettingsError

    with pytest.raises(SettingsError, match="KPI_ANSWER_CACHE_ENTRIES must be a whole number"):
        Settings.from_env({"KPI_ANSWER_CACHE_ENTRIES": "lots"})


def test_an_answer_whose_data_turned_stale_is_answered_afresh(db: Path) -> None:
    """Same as-of day, same data: only the clock moves past the staleness threshold."""
    from datetime import timedelta

    now = [CLOCK]  # 08:00, data as of the evening before: ~9 h old
    warehouse = CountingWarehouse(DuckDBWarehouse(db))
    kpi = KpiService(
        MartReader(warehouse), clock=lambda: now[0], stale_after_hours=10, cache=AnswerCache()
    )
    first = kpi.ask("retention 8", charts=False)
    assert not first.freshness.stale
    assert kpi.ask("retention 8", charts=False) is first  # still fresh: from memory
    now[0] = CLOCK + timedelta(hours=4)  # 12:00 the same day: ~13 h old, stale
    asked = warehouse.queries
    again = kpi.ask("retention 8", charts=False)
    assert again.freshness.stale and warehouse.queries > asked  # its age is current
    assert kpi.cached_answer(again.question) is None
    kpi.ask("retention 8", charts=False)
    assert warehouse.queries > asked + 1  # stale answers are never served from memory


class WithoutDataVersion(CountingWarehouse):
    """A warehouse with no cheap data version (as BigQuery): the marts' data-as-of is."""

    data_version = None  # type: ignore[assignment]


def test_without_a_data_version_the_marts_data_as_of_decides(db: Path, built_db: Path) -> None:
    import duckdb

    warehouse = WithoutDataVersion(DuckDBWarehouse(db))
    kpi = KpiService(
        MartReader(warehouse), clock=lambda: CLOCK, cache=AnswerCache(), data_as_of_check_s=0
    )
    first = kpi.ask("retention 8", charts=False)
    assert kpi.ask("retention 8", charts=False) is first  # same data-as-of: a hit
    # New data loaded (a new data-as-of), the same way BigQuery's marts would change.
    fresh = db.with_name("reloaded.duckdb")
    shutil.copyfile(built_db, fresh)
    with duckdb.connect(str(fresh)) as con:
        con.execute("update main.data_freshness set data_as_of = data_as_of + interval 1 hour")
    os.replace(fresh, db)
    again = kpi.ask("retention 8", charts=False)
    assert again is not first and kpi.cache.misses == 2
    assert again.freshness.data_as_of > first.freshness.data_as_of


def test_a_cached_answer_says_how_each_asker_was_understood(db: Path) -> None:
    """The cache keys on the question: a loose phrasing and the typed question share one
    entry, and each answer says (or doesn't) how its own text was read."""
    kpi, warehouse = service(db)
    loose = kpi.ask("how is retention doing?", charts=False)
    asked = warehouse.queries
    typed = kpi.ask("retention", charts=False)
    again = kpi.ask("how is retention doing?", charts=False)
    assert warehouse.queries == asked  # both repeats came from the cache
    assert loose.understood is not None and loose.understood.canonical == "retention"
    assert typed.understood is None
    assert again.understood == loose.understood
