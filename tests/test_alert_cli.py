"""``python -m bot alerts check [--as-of DATE] [--dry-run]``: the scheduler's round from the
terminal (``bot.cli.main``, in process, on the built demo warehouse)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts.store import AlertStore, day_key
from bot.cli import main
from bot.core.alerts import AlertRule
from bot.digest.store import DigestStore
from tests.conftest import DEMO_END

TOKEN = "xoxb-test-alerts-cli"
CHANNEL = "C0ALERTS"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, built_db: Path, tmp_path: Path) -> str:
    state = f"sqlite:///{tmp_path / 'state.sqlite'}"
    monkeypatch.setenv("KPI_DUCKDB_PATH", str(built_db))
    monkeypatch.setenv("KPI_STATE_DB", state)
    return state


def _add(state: str, text: AlertRule) -> int:
    store = AlertStore(state)
    stored = store.add(CHANNEL, text, "U0CREATOR", datetime(2026, 11, 25), DEMO_END)
    return stored.id


def test_dry_run_prints_what_would_fire_and_writes_nothing(env: str, capsys) -> None:
    rule_id = _add(env, AlertRule("orders", "above", 0.0))
    as_of = (DEMO_END + timedelta(days=1)).isoformat()
    assert main(["alerts", "check", "--dry-run", "--as-of", as_of]) == 0
    out = capsys.readouterr().out
    assert f"alert #{rule_id} {CHANNEL} {DEMO_END.isoformat()}: would_send" in out
    assert f"Orders on {DEMO_END:%a %Y-%m-%d}:" in out and "above your threshold of 0" in out
    assert DigestStore(env).deliveries() == []
    assert AlertStore(env).get(rule_id).evaluated_through is None


def test_posting_needs_a_token(env: str, capsys) -> None:
    assert main(["alerts", "check"]) == 2
    assert "SLACK_BOT_TOKEN" in capsys.readouterr().err


def test_check_posts_once_then_nothing(env, slack, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_API_URL", slack.base_url)
    rule_id = _add(env, AlertRule("orders", "above", 0.0))
    as_of = (DEMO_END + timedelta(days=1)).isoformat()
    assert main(["alerts", "check", "--as-of", as_of]) == 0
    assert f"{DEMO_END.isoformat()}: sent" in capsys.readouterr().out
    assert main(["alerts", "check", "--as-of", as_of]) == 0
    assert "No alert rule had a new complete data day" in capsys.readouterr().out
    assert len(slack.messages("chat.postMessage")) == 1
    row = DigestStore(env).delivery(CHANNEL, day_key(rule_id, DEMO_END))
    assert row is not None and row.status == "sent"


def test_bad_date_is_a_usage_error(env: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["alerts", "check", "--as-of", "yesterday"])
    assert exit_.value.code == 2
    assert "not a date" in capsys.readouterr().err
