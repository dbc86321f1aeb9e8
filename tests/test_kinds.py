"""The registry of answer kinds (``bot.kinds``) is complete and agrees with the grammar:
a kind that lacks its parser, answerer or any renderer fails here, not in front of a user."""

from __future__ import annotations

import typing
from dataclasses import fields
from datetime import date
from pathlib import Path

import pytest

from bot import answers, kinds
from bot.core import questions
from bot.render.charts import no_chart
from bot.service import KpiService
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.test_slack_app import CLOCK

AS_OF = date(2026, 11, 25)
# One question per answer type the registry can produce (the grammar's own examples,
# plus the experiment list). A new answer type needs an example here.
# Metric answers: one restricted by dbt's meta (revenue), one not (orders).
EXAMPLES = [spec.example.removeprefix("/kpi ") for spec in questions.GRAMMAR] + [
    "ab",
    "revenue by country last 30 days",
    "orders by country last 30 days",
]


def test_every_question_type_has_exactly_one_kind() -> None:
    question_types = set(typing.get_args(questions.Question))
    registered = [kind.spec.question_type for kind in kinds.KINDS]
    assert sorted(map(str, registered)) == sorted(map(str, question_types))
    assert len(set(registered)) == len(registered)


def test_the_registry_and_the_grammar_name_the_same_specs() -> None:
    assert [kind.spec for kind in kinds.KINDS] == list(questions.GRAMMAR)


def test_every_answer_type_has_a_complete_presentation() -> None:
    answer_types = set(typing.get_args(answers.Answer))
    presented = {p.answer_type for kind in kinds.KINDS for p in kind.presentations}
    assert presented | {answers.ErrorAnswer} == answer_types
    for kind in kinds.KINDS:
        for presentation in kind.presentations:
            for field in fields(presentation):
                assert getattr(presentation, field.name) is not None, (kind.name, field.name)


def test_commands_help_and_usage_come_from_the_grammar() -> None:
    for spec in questions.GRAMMAR:
        assert f"`{spec.name}`" in questions.COMMAND_LIST
        for word in (spec.name, *spec.aliases):
            assert questions.COMMANDS[word] is spec
        parsed = questions.parse_question(spec.example, AS_OF)
        assert isinstance(parsed, spec.question_type), spec.example
        for line in spec.usage:
            assert line in questions.USAGE
    assert questions.topic_usage("retention").startswith("*Retention*")
    assert "*Revenue*" not in questions.topic_usage("retention")


@pytest.fixture(scope="module")
def kpi(built_db: Path) -> KpiService:
    return KpiService(MartReader(DuckDBWarehouse(built_db)), clock=lambda: CLOCK)


def test_each_example_is_answered_and_rendered_by_its_kind(kpi: KpiService) -> None:
    produced = set()
    for text in EXAMPLES:
        answer = kpi.ask(text, as_of=AS_OF)
        assert not isinstance(answer, answers.ErrorAnswer), (text, answer)
        produced.add(type(answer))
        presentation = kinds.presentation(answer)
        assert kinds.render_text(answer).strip()
        assert kinds.answer_blocks(answer)
        assert kinds.answer_text(answer)
        body = kinds.to_json_dict(answer)
        assert body["kind"] and "charts" in body
        # Charts are drawn exactly for the kinds that declare one.
        assert bool(answer.charts) == (presentation.chart is not no_chart), text
        assert all(chart.png.startswith(b"\x89PNG") for chart in answer.charts)
    registry_types = {p.answer_type for kind in kinds.KINDS for p in kind.presentations}
    assert produced == registry_types, "an answer type without an example question"


def test_charts_are_drawn_only_when_asked(kpi: KpiService) -> None:
    calls = []

    def counting(chart, *args, **kwargs):
        calls.append(chart.__name__)
        return chart(*args, **kwargs)

    counted = KpiService(kpi.reader, clock=kpi.clock, render=counting)
    plain = counted.ask("revenue last 30 days", as_of=AS_OF, charts=False)
    assert plain.charts == () and calls == []
    drawn = counted.with_charts(plain)
    assert [c.name for c in drawn.charts] == ["revenue"] and calls == ["revenue_chart"]
    assert counted.with_charts(drawn) is drawn  # drawn once
