"""The terminal shows plain text, never Slack markup (issue #19, item 4).

Every registered kind's example question, every demo experiment (every verdict icon)
and error answers go through ``python -m bot ask``; nothing printed may hold a Slack
emoji code or a Slack entity. Block Kit keeps its emoji codes.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from bot import kinds
from bot.answers import ErrorAnswer, Freshness
from bot.cli import main
from bot.core import questions
from bot.render import text as tx
from bot.service import KpiService
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse

AS_OF = "2026-11-25"
SLACK_EMOJI = re.compile(r":[a-z_]+:")
SLACK_ENTITIES = ("&lt;", "&gt;", "&amp;")
BOT = Path(__file__).resolve().parent.parent / "bot"

EXAMPLES = [spec.example.removeprefix("/kpi ") for spec in questions.GRAMMAR] + ["ab"]
ERRORS = [
    "revenue <!channel> & friends",  # not a window: echoed back, escaped for Slack
    "ab <b>nope</b>",  # unknown experiment: the known ones are listed
    "frobnicate <x>",  # unknown command
    "revenue 1999-01-01",  # a window without data
    "ab checkout_redesign --alpha 5",  # an option out of range
]


def assert_plain(text: str) -> None:
    assert not SLACK_EMOJI.search(text), SLACK_EMOJI.findall(text)
    for entity in SLACK_ENTITIES:
        assert entity not in text, entity


def ask(capsys: pytest.CaptureFixture[str], question: str, out: Path) -> tuple[int, str]:
    code = main(["ask", question, "--as-of", AS_OF, "--out", str(out)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture
def db_env(built_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KPI_DUCKDB_PATH", str(built_db))
    return built_db


@pytest.fixture(scope="module")
def experiment_ids(built_db: Path) -> list[str]:
    service = KpiService(MartReader(DuckDBWarehouse(built_db)))
    return [e.experiment_id for e in service.ask("ab").experiments]


def test_every_kinds_example_prints_plain_text(db_env, tmp_path, capsys) -> None:
    assert {spec.name for spec in questions.GRAMMAR} == {k.name for k in kinds.KINDS}
    stale = []
    for question in EXAMPLES:
        code, printed = ask(capsys, question, tmp_path)
        assert code == 0, printed
        assert_plain(printed)
        # The demo data ends 2026-11-24: against today's clock it is stale, so answers
        # with figures carry the stale-data warning, which was ":warning: Stale data".
        if "⚠️ Stale data" in printed:
            stale.append(question.split()[0])
    assert {"revenue", "ab", "retention"} <= set(stale)


def test_every_experiment_verdict_prints_plain_text(
    db_env, tmp_path, capsys, experiment_ids
) -> None:
    symbols = set()
    for experiment in experiment_ids:
        code, printed = ask(capsys, f"ab {experiment}", tmp_path)
        assert code == 0, printed
        assert_plain(printed)
        symbols |= {s for s in tx.EMOJI.values() if s in printed}
    # The small demo's experiments: no difference yet, and a broken split (SRM).
    assert {"⏳", "⚠️"} <= symbols


def test_error_answers_print_plain_text(db_env, tmp_path, capsys) -> None:
    for question in ERRORS:
        code, printed = ask(capsys, question, tmp_path)
        assert code in (1, 2), printed
        assert_plain(printed)
    code, printed = ask(capsys, "revenue <!channel> & friends", tmp_path)
    assert "<!channel> & friends" in printed  # shown as typed, not as Slack escapes


def test_the_error_renderer_itself_is_plain() -> None:
    answer = ErrorAnswer("parse", ":warning: a <b> & c &lt;", "/kpi revenue")
    assert kinds.render_text(answer) == "⚠️ a <b> & c <\nExample: /kpi revenue"


def test_block_kit_keeps_its_emoji_codes(built_db: Path) -> None:
    service = KpiService(MartReader(DuckDBWarehouse(built_db)))
    answer = service.ask("retention", as_of=None, charts=False)
    stale = Freshness(datetime(2026, 11, 24), datetime(2026, 12, 2), 36)
    blocks = kinds.answer_blocks(type(answer)(answer.question, answer.report, stale))
    assert ":warning: *Stale data*" in str(blocks)


def emoji_codes_in_bot() -> set[str]:
    """Emoji codes written in string literals anywhere in bot/ (not ``:memory:`` paths or
    Sphinx roles like ``:func:``)."""
    codes = set()
    for path in BOT.rglob("*.py"):
        for literal in re.findall(r"\"[^\"\n]*\"", path.read_text()):
            codes |= set(SLACK_EMOJI.findall(literal))
    return codes - {":memory:", ":func:", ":class:", ":meth:"}


def test_every_emoji_code_in_the_bot_has_a_terminal_symbol() -> None:
    codes = emoji_codes_in_bot()
    assert {":white_check_mark:", ":warning:", ":x:"} <= codes  # the scan finds them
    assert codes <= set(tx.EMOJI), codes - set(tx.EMOJI)
    for code, symbol in tx.EMOJI.items():
        assert tx.plain(f"a {code} b") == f"a {symbol} b"
