"""`/kpi alert ab <id>`: posts once when the experiment's SRM is first detected and once
when its result first becomes significant — judged by the same analysis `/kpi ab`
shows. The demo warehouse (3,000 users) shows neither; a "rebuild" then plants both in a
copy of the ``ab_metrics`` mart (a tripled conversion count in one treatment, a doubled
arm in the A/A test), and the rules fire on the next check, once."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from bot.alerts.service import AlertService
from bot.alerts.store import AlertStore, event_key
from bot.answers import ExperimentAnswer
from bot.core.alerts import AlertRule
from bot.core.questions import ExperimentQuestion
from bot.digest.schedule import naive_utc
from bot.digest.store import SENT, DigestStore
from bot.sender import SlackSender, message_client
from bot.service import KpiService
from bot.state import state_engine
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse

TOKEN = "xoxb-test-alert-ab"
CHANNEL = "C0ALERTS"
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
WINNER, SRM = "bundle_discount", "homepage_copy_aa"


@pytest.fixture
def warehouses(built_db: Path, tmp_path: Path) -> tuple[Path, Path]:
    before, after = tmp_path / "before.duckdb", tmp_path / "after.duckdb"
    shutil.copy(built_db, before)
    shutil.copy(built_db, after)
    with duckdb.connect(str(after)) as con:
        con.execute(
            "update main.ab_metrics set converters = least(users, converters * 3) "
            "where experiment_id = ? and variant = 'treatment'",
            [WINNER],
        )
        con.execute(
            "update main.ab_metrics set users = users * 2 "
            "where experiment_id = ? and variant = 'treatment'",
            [SRM],
        )
    return before, after


@pytest.fixture
def make(slack, state_db_url) -> Callable[[Path], AlertService]:
    opened: list[KpiService] = []

    def factory(db: Path) -> AlertService:
        kpi = KpiService(MartReader(DuckDBWarehouse(db)), clock=lambda: naive_utc(NOW))
        opened.append(kpi)
        engine = state_engine(state_db_url)
        sender = SlackSender(message_client(TOKEN, slack.base_url))
        return AlertService(kpi, AlertStore(engine), DigestStore(engine), sender, clock=lambda: NOW)

    yield factory
    for kpi in opened:
        kpi.reader.warehouse.close()


def verdict(service: AlertService, experiment_id: str) -> tuple[bool, str]:
    answer = service.kpi.answer(ExperimentQuestion(experiment_id), charts=False)
    assert isinstance(answer, ExperimentAnswer)
    return answer.result.srm.flagged, answer.result.verdict_kind


def test_srm_and_significance_fire_once_when_first_seen(make, warehouses, slack) -> None:
    before, after = warehouses
    service = make(before)
    assert verdict(service, WINNER) == (False, "no_difference")
    assert verdict(service, SRM)[0] is False
    rules = {}
    for experiment_id in (WINNER, SRM):
        created = service.create(
            CHANNEL, "U0CREATOR", AlertRule("ab", "ab", experiment_id=experiment_id)
        )
        assert not isinstance(created, str), created
        stored, outcomes = created
        assert outcomes == []  # nothing to report yet
        rules[experiment_id] = stored.id
    assert slack.messages("chat.postMessage") == []

    rebuilt = make(after)  # the marts were rebuilt: what /kpi ab now shows
    assert verdict(rebuilt, WINNER) == (False, "winner")
    assert verdict(rebuilt, SRM) == (True, "srm")
    outcomes = rebuilt.check()
    assert sorted((o.key, o.status) for o in outcomes) == sorted(
        [(event_key(rules[WINNER], "significant"), "sent"), (event_key(rules[SRM], "srm"), "sent")]
    )
    texts = [m.all_text for m in slack.messages("chat.postMessage")]
    assert any(f"`{WINNER}` now shows a significant result" in t for t in texts)
    assert any(f"`{SRM}` now shows a sample ratio mismatch" in t for t in texts)
    ledger = rebuilt.ledger.delivery(CHANNEL, event_key(rules[SRM], "srm"))
    assert ledger is not None and ledger.status == SENT

    # Still significant, still mismatched an hour later: not posted again.
    assert {o.status for o in make(after).check()} == {"already_sent"}
    assert len(slack.messages("chat.postMessage")) == 2
