"""Terminal parity: ``python -m bot ask --json`` and ``/kpi`` give the same figures.

Both edges call the one service layer. The Slack side here is the real thing (signed
request → Bolt on waitress → WebClient → the Slack double); a thin subclass of
KpiService keeps each answer it gave, so the answer the Slack path rendered can be put
through the same JSON form as the CLI's output. The posted message is also checked to
show the CLI's numbers, so the parity covers what people actually read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.answers import Answer
from bot.cli import main
from bot.core import format as fmt
from bot.core.questions import Question, escape_mrkdwn
from bot.kinds import to_json_dict
from bot.service import KpiService
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.slack_double import SlackDouble
from tests.test_slack_app import AS_OF, CLOCK, TOKEN, Bot, fields_of, running_bot


class RecordingKpiService(KpiService):
    """The real service; it also keeps what it answered (the Slack path's answers)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers: list[Answer] = []

    def answer(self, question: Question, *, charts: bool = True) -> Answer:
        result = super().answer(question, charts=charts)
        self.answers.append(result)
        return result


@pytest.fixture
def recorded(built_db: Path) -> RecordingKpiService:
    return RecordingKpiService(MartReader(DuckDBWarehouse(built_db)), clock=lambda: CLOCK)


@pytest.fixture
def bot(built_db: Path, recorded: RecordingKpiService) -> Iterator[Bot]:
    with SlackDouble(token=TOKEN) as slack, running_bot(slack, recorded) as running:
        yield running


def cli_json(question: str, built_db: Path, out: Path, monkeypatch, capsys) -> dict:
    monkeypatch.setenv("KPI_DUCKDB_PATH", str(built_db))
    code = main(["ask", question, "--json", "--as-of", AS_OF.isoformat(), "--out", str(out)])
    assert code == 0
    return json.loads(capsys.readouterr().out)


def comparable(result: dict) -> dict:
    """Everything but what legitimately differs: chart paths and the freshness age
    (the CLI measures it against the real clock, the bot against its fixed one)."""
    result = json.loads(json.dumps(result))  # the same JSON normalisation as the CLI's
    result.pop("charts")
    result["freshness"] = {"data_as_of": result["freshness"]["data_as_of"]}
    return result


@pytest.mark.parametrize(
    "question",
    [
        "revenue last 30 days",
        "revenue last month vs last year",
        "ab checkout_redesign",
        "ab pricing_page_abn",
        "retention 8",
    ],
)
def test_cli_and_slash_command_carry_the_same_figures(
    question: str,
    bot: Bot,
    recorded: RecordingKpiService,
    built_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    terminal = cli_json(question, built_db, tmp_path, monkeypatch, capsys)
    bot.ask(question)
    message = bot.channel_message()

    [slack_answer] = recorded.answers
    assert comparable(to_json_dict(slack_answer)) == comparable(terminal)

    # What people read in Slack shows the terminal's numbers.
    if terminal["kind"] == "revenue":
        current, previous = terminal["current"], terminal["previous"]
        asked = terminal[terminal["compared_with"]]  # the headline's comparison
        fields = fields_of(message)
        assert fields["Revenue"].startswith(fmt.money(current["revenue"]))
        assert fields["Orders"].startswith(fmt.count(current["orders"]))
        assert fmt.pct(asked["revenue"]["delta_pct"]) in message.text
        assert fmt.money(previous["window"]["revenue"]) in fields["Previous period"]
    elif terminal["kind"] == "experiment":
        assert escape_mrkdwn(terminal["verdict"]) in message.all_text
        for v in terminal["variants"]:
            users, converted = fmt.count(v["users"]), fmt.count(v["converters"])
            assert f"{users} users · {converted} converted" in message.all_text
    else:
        week1 = terminal["week1"]
        assert f"Week-1 retention: *{fmt.rate(week1['rate'])}*" in message.all_text
        assert f"{len(terminal['cohorts'])} signup cohorts" in message.all_text
