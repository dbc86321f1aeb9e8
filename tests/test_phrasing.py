"""Loosely phrased questions end to end: the service answers the canonical question and
every surface says what it understood (text, Block Kit, ``--json``); ambiguous questions
and misspellings are asked with buttons (action_id ``kpi_ask_question``) whose values
are questions the grammar reads. Real DuckDB warehouse (the small built one), real Bolt
app and Slack Web API double for the Slack surface."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from slack_sdk.models.blocks import Block

from bot import kinds
from bot.answers import ErrorAnswer, ExperimentAnswer, HelpAnswer, MetricAnswer, RevenueAnswer
from bot.core.questions import ParseError, parse_question
from bot.core.understanding import Understanding
from bot.render.buttons import ASK_ACTION as ASK_ACTION_ID
from bot.service import KpiService
from tests.phrasing_support import AS_OF as CORPUS_AS_OF
from tests.phrasing_support import yaml_vocabulary
from tests.test_slack_app import TOKEN, Bot, running_bot, service_for

TOKEN = TOKEN  # the Slack double (conftest) expects the bot harness's token
AS_OF = CORPUS_AS_OF


def _buttons(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def assert_valid_buttons(blocks: list[dict], expected: list[str]) -> None:
    """One button per reading, action_id kpi_ask_question, each action_id unique within
    its block (Slack's rule), value = a question the grammar reads; slack_sdk accepts."""
    buttons = _buttons(blocks)
    assert [b["value"] for b in buttons] == expected
    for block in blocks:
        Block.parse(block).validate_json()
        if block["type"] == "actions":
            ids = [e["action_id"] for e in block["elements"]]
            assert len(ids) == len(set(ids))
    for button in buttons:
        assert button["action_id"] == ASK_ACTION_ID and button["type"] == "button"
        assert not isinstance(parse_question(button["value"], AS_OF, VOCAB), ParseError)


VOCAB = yaml_vocabulary()


def test_an_ambiguous_question_is_asked_with_one_button_per_reading() -> None:
    parsed = parse_question("sales from women last month", AS_OF, VOCAB)
    assert isinstance(parsed, ParseError)
    answer = ErrorAnswer("parse", parsed.message, parsed.example, choices=parsed.choices)
    readings = [
        "revenue where department = Women last month",
        "revenue where gender = F last month",
    ]
    assert_valid_buttons(kinds.answer_blocks(answer), readings)
    text = kinds.render_text(answer)
    assert all(f"/kpi {r}" in text for r in readings)
    assert kinds.to_json_dict(answer)["choices"] == readings


def test_an_understood_answer_says_so_first_on_every_surface() -> None:
    understood = Understanding("help", ("`halp` read as `help`.",))
    answer = HelpAnswer(None, understood=understood)
    assert kinds.render_text(answer).startswith("Understood as: help — halp read as help.")
    first = kinds.answer_blocks(answer)[0]
    assert first["type"] == "context" and "Understood as: `help`" in first["elements"][0]["text"]
    body = kinds.to_json_dict(answer)
    assert body["understood_as"] == "help" and body["understood_notes"] == [understood.notes[0]]
    assert kinds.to_json_dict(HelpAnswer(None))["understood_as"] is None


@pytest.fixture(scope="module")
def kpi(built_db: Path) -> KpiService:
    service = service_for(built_db)
    yield service
    service.reader.warehouse.close()


def test_a_loose_question_gets_the_canonical_answer_and_says_what_it_ran(kpi) -> None:
    loose = kpi.ask("what were sales in the past fortnight?", as_of=AS_OF, charts=False)
    strict = kpi.ask("revenue last 14 days", as_of=AS_OF, charts=False)
    assert isinstance(loose, RevenueAnswer) and isinstance(strict, RevenueAnswer)
    assert loose.understood.canonical == "revenue last 14 days"
    assert loose.report.current.revenue == strict.report.current.revenue
    assert loose.report.current.orders == strict.report.current.orders
    assert strict.understood is None
    assert kinds.render_text(loose).startswith("Understood as: revenue last 14 days")
    assert "Understood as" not in kinds.render_text(strict)
    blocks = kinds.answer_blocks(loose)
    assert "Understood as: `revenue last 14 days`" in blocks[0]["elements"][0]["text"]
    body = kinds.to_json_dict(loose)
    assert body["understood_as"] == "revenue last 14 days" and body["kind"] == "revenue"
    assert kinds.to_json_dict(strict)["understood_as"] is None


def test_values_and_synonyms_come_from_the_warehouse_and_dbt(kpi) -> None:
    """`Brazil` is TheLook's `Brasil` (a known value), `margin` dbt's synonym."""
    answer = kpi.ask("revenue for Brazil in September", as_of=AS_OF, charts=False)
    assert isinstance(answer, MetricAnswer), answer
    assert answer.understood.canonical == "revenue where country = Brasil september"
    assert [(f.dimension, f.values) for f in answer.report.filters] == [("country", ("Brasil",))]
    ranked = kpi.ask("best 3 categories by margin last month", as_of=AS_OF, charts=False)
    assert isinstance(ranked, MetricAnswer), ranked
    assert ranked.understood.canonical == "gross_margin by category last month top 3"
    assert len(ranked.report.rows) == 4  # three categories and "All others"


def test_experiments_by_loose_name_and_misspelt_id(kpi) -> None:
    answer = kpi.ask("how's the pricing test going", as_of=AS_OF, charts=False)
    assert isinstance(answer, ExperimentAnswer), answer
    assert answer.info.experiment_id == "pricing_page_abn"
    assert answer.understood.canonical == "ab pricing_page_abn"
    typo = kpi.ask("ab checkout_redsign", as_of=AS_OF, charts=False)  # grammatical: the
    assert isinstance(typo, ErrorAnswer) and typo.kind == "unknown_experiment"  # answerer
    assert "Did you mean `checkout_redesign`" in typo.message  # the closest first
    assert typo.choices[0] == "ab checkout_redesign"
    asked = kpi.ask("how's the checkout test going", as_of=AS_OF, charts=False)
    assert isinstance(asked, ErrorAnswer)
    assert set(asked.choices) == {"ab checkout_redesign", "ab checkout_cautious_rollout"}


def test_nothing_close_is_a_clear_i_dont_know_with_examples(kpi) -> None:
    answer = kpi.ask("revenue in narnia last week", as_of=AS_OF, charts=False)
    assert isinstance(answer, ErrorAnswer) and answer.kind == "parse"
    assert "I don't know `narnia`" in answer.message and "revenue last 30 days" in answer.message
    assert answer.choices == ("revenue last week",)


def test_in_slack_an_understood_answer_and_an_ask_with_buttons(slack, built_db: Path) -> None:
    with running_bot(slack, service_for(built_db)) as bot:
        assert isinstance(bot, Bot)
        bot.ask("what were sales in the past fortnight?")
        posted = bot.channel_message()
        assert posted.blocks[0]["type"] == "context"
        assert "Understood as: `revenue last 14 days`" in posted.blocks[0]["elements"][0]["text"]

        reply = bot.private_reply(bot.ask("sales from women last month"))
        assert reply.ephemeral
        assert_valid_buttons(
            reply.blocks,
            [
                "revenue where department = Women last month",
                "revenue where gender = F last month",
            ],
        )


def test_ask_json_carries_understood_as(built_db: Path, monkeypatch, capsys) -> None:
    """`python -m bot ask --json`: `understood_as` is the canonical question run (null
    for a question read as typed); an ask lists its readings as `choices` (exit 2)."""
    from bot.cli import main

    monkeypatch.setenv("KPI_DUCKDB_PATH", str(built_db))
    code = main(["ask", "AOV so far this month", "--json", "--as-of", "2026-11-25"])
    body = json.loads(capsys.readouterr().out)
    assert code == 0 and body["understood_as"] == "aov this month", body
    assert body["kind"] == "metric"
    code = main(["ask", "aov mtd", "--json", "--as-of", "2026-11-25"])
    assert code == 0 and json.loads(capsys.readouterr().out)["understood_as"] is None
    code = main(["ask", "how's the checkout test going", "--json", "--as-of", "2026-11-25"])
    body = json.loads(capsys.readouterr().out)
    assert code == 2 and body["kind"] == "error"
    assert sorted(body["choices"]) == ["ab checkout_cautious_rollout", "ab checkout_redesign"]
