"""Alerts on new data as soon as it arrives, not at the next ``KPI_ALERT_CRON`` round:
``python -m bot build`` runs a round after its swap, and ``serve``'s scheduler runs one
when its warehouse shows new data (``AlertService.check_if_new_data``).

"Old" data is the built demo warehouse with its last day taken out of the marts
(``revenue_daily`` and ``data_freshness``, what the data status reads); the new data is
the full build, swapped in with ``os.replace`` as ``bot.build`` does (or by a real
``python -m bot build``, which rebuilds the marts from the raw tables).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from bot.alerts.cli import check_after_build
from bot.alerts.service import AlertService
from bot.alerts.store import AlertStore
from bot.cli import main
from bot.core.alerts import AlertRule
from bot.digest.runtime import ALERT_NEW_DATA_JOB_ID, DigestScheduler
from bot.digest.schedule import naive_utc
from bot.digest.service import DigestService
from bot.digest.store import DigestStore
from bot.sender import SlackSender, message_client
from bot.service import KpiService
from bot.settings import Settings
from bot.state import state_engine
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.conftest import DEMO_END
from tests.slack_double import SlackDouble

TOKEN = "xoxb-test-alerts-new-data"
CHANNEL = "C0ALERTS"
NOW = datetime(2026, 11, 25, 8, 20, tzinfo=UTC)  # DEMO_END + 1: DEMO_END is complete
NEVER = "0 9 1 1 *"  # neither the digest nor the alert cron fires during a test


def without_last_day(built_db: Path, path: Path) -> Path:
    """A copy of the warehouse as it was before DEMO_END's data arrived."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built_db, path)
    with duckdb.connect(str(path)) as con:
        con.execute("delete from main.revenue_daily where day = ?", [DEMO_END])
        con.execute("update main.data_freshness set data_as_of = data_as_of - interval 1 day")
    return path


def posts(slack: SlackDouble) -> list:
    return [m for m in slack.messages("chat.postMessage") if m.channel == CHANNEL]


def add_rule(state: str, rule: AlertRule) -> int:
    """A rule already evaluated through DEMO_END − 1: only DEMO_END is left."""
    store = AlertStore(state)
    before = DEMO_END - timedelta(days=1)
    stored = store.add(CHANNEL, rule, "U0CREATOR", naive_utc(NOW), before)
    store.mark_evaluated(stored.id, before)
    return stored.id


@pytest.fixture
def live(built_db: Path, tmp_path: Path) -> Path:
    return without_last_day(built_db, tmp_path / "live" / "kpi.duckdb")


@pytest.fixture
def scheduler(live: Path, slack: SlackDouble, state_db_url: str) -> Iterator[DigestScheduler]:
    kpi = KpiService(MartReader(DuckDBWarehouse(live, timeout_s=20)), clock=lambda: naive_utc(NOW))
    engine = state_engine(state_db_url)
    sender = SlackSender(message_client(TOKEN, slack.base_url))
    digest = DigestService(
        kpi, DigestStore(engine), sender, timezone=ZoneInfo("UTC"), cron=NEVER, grace_hours=48
    )
    alerts = AlertService(
        kpi, AlertStore(engine), DigestStore(engine), sender, clock=lambda: NOW, charts=False
    )
    running = DigestScheduler(
        digest, engine, 48, alerts=alerts, alert_cron=NEVER, alert_new_data_poll_s=0.3
    )
    yield running
    if running.scheduler.running:
        running.shutdown(wait=True)
    kpi.reader.warehouse.close()


def test_serve_checks_alerts_when_a_rebuild_swaps_in_new_data(
    scheduler, live, built_db, slack, state_db_url, tmp_path
) -> None:
    add_rule(state_db_url, AlertRule("orders", "above", 0.0))  # the daily mart
    add_rule(state_db_url, AlertRule("new_users", "below", 1e6))  # the semantic layer
    scheduler.start(catch_up=True)
    assert scheduler.scheduler.get_job(ALERT_NEW_DATA_JOB_ID) is not None
    threading.Event().wait(1.5)  # the catch-up round and a few polls: nothing new
    assert posts(slack) == []

    rebuilt = tmp_path / "build" / "kpi.duckdb"  # the build's output: every day
    rebuilt.parent.mkdir()
    shutil.copyfile(built_db, rebuilt)
    os.replace(rebuilt, live)  # the swap, as bot.build does it
    slack.wait_for(lambda: len(posts(slack)) >= 2, timeout=30)
    threading.Event().wait(1.0)  # more polls: no second round posts again
    texts = [m.text or "" for m in posts(slack)]
    assert len(texts) == 2, texts
    assert all(f"{DEMO_END:%Y-%m-%d}" in t for t in texts), texts
    assert {t.split(":")[1].split(" on ")[0].strip() for t in texts} == {"Orders", "New users"}
    assert scheduler.alerts.problem() is None


def test_build_runs_an_alert_round_after_the_swap(
    live, slack, monkeypatch, tmp_path, capsys
) -> None:
    state = f"sqlite:///{tmp_path / 'state.sqlite'}"
    monkeypatch.setenv("KPI_DUCKDB_PATH", str(live))
    monkeypatch.setenv("KPI_STATE_DB", state)
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_API_URL", slack.base_url)
    add_rule(state, AlertRule("orders", "above", 0.0))
    # Before the build: DEMO_END isn't in the marts, so a round finds nothing to post.
    assert main(["alerts", "check", "--as-of", NOW.date().isoformat()]) == 0
    assert posts(slack) == []

    assert main(["build", "--db", str(live)]) == 0  # a real dbt build from the raw tables
    out = capsys.readouterr().out
    assert "Alerts on the new data: 1 sent, 0 failed" in out
    [message] = posts(slack)
    assert f"Orders on {DEMO_END:%a %Y-%m-%d}" in (message.text or "")
    # Exactly once: the scheduled round after it posts nothing more.
    assert main(["alerts", "check"]) == 0
    assert len(posts(slack)) == 1


def test_without_a_token_the_build_checks_nothing(tmp_path) -> None:
    state = tmp_path / "state.sqlite"
    settings = Settings(state_db_url=f"sqlite:///{state}")
    assert check_after_build(settings, tmp_path / "kpi.duckdb") == []
    assert not state.exists()  # nothing opened: no rules read, nothing claimed


def test_a_rules_table_from_before_semantic_metrics_is_widened(state_db_url) -> None:
    """``alert_rules.metric`` was VARCHAR(16): PostgreSQL refused ``cancellation_rate``
    (17). A table created that way is widened when the store opens (replicas may race)."""
    from sqlalchemy import MetaData, String, inspect

    from bot.alerts.store import rules

    engine = state_engine(state_db_url)
    old = MetaData()
    rules.to_metadata(old).c.metric.type = String(16)  # as the first alerts release had it
    old.create_all(engine)
    stores = []
    threads = [
        threading.Thread(target=lambda: stores.append(AlertStore(state_engine(state_db_url))))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(stores) == 2
    stored = stores[0].add(
        CHANNEL, AlertRule("cancellation_rate", "above", 0.1), None, naive_utc(NOW), DEMO_END
    )
    assert stores[1].get(stored.id).rule.metric == "cancellation_rate"
    if engine.dialect.name == "postgresql":  # SQLite doesn't enforce lengths
        [metric] = [c for c in inspect(engine).get_columns("alert_rules") if c["name"] == "metric"]
        assert metric["type"].length == 64


def test_a_round_that_breaks_in_the_scheduler_shows_in_health(scheduler, monkeypatch) -> None:
    def state_db_gone(channel=None):
        raise RuntimeError("the state database went away")

    monkeypatch.setattr(scheduler.alerts.store, "active", state_db_gone)
    scheduler.start(catch_up=True)  # the start-up round (and the watcher's) fail
    deadline = threading.Event()
    for _ in range(100):
        if scheduler.alerts.problem() is not None:
            break
        deadline.wait(0.1)
    assert scheduler.alerts.problem() == "alert_round_error"
