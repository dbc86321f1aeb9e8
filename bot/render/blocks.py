"""Answers as Slack Block Kit (pure: dicts out, nothing sent).

Within Slack's limits: ≤ 50 blocks, header ≤ 150 chars, section text ≤ 3000 chars,
≤ 10 fields of ≤ 2000 chars. ``fit`` enforces them at the end, so no answer — however
long an experiment list or a note — produces a message Slack refuses.
"""

from __future__ import annotations

from typing import Any

from bot.core.questions import USAGE, escape_mrkdwn
from bot.render import summary
from bot.service import (
    Answer,
    DigestCommandAnswer,
    ErrorAnswer,
    ExperimentAnswer,
    ExperimentListAnswer,
    HelpAnswer,
    RetentionAnswer,
    RevenueAnswer,
)

MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION = 3000
MAX_FIELDS = 10
MAX_FIELD = 2000
MAX_CONTEXT_ELEMENTS = 10
Block = dict[str, Any]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def header(text: str) -> Block:
    plain = text.replace("*", "").replace("`", "")
    return {"type": "header", "text": {"type": "plain_text", "text": _clip(plain, MAX_HEADER)}}


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, MAX_SECTION)}}


def fields(pairs: list[tuple[str, str]]) -> list[Block]:
    """Label/value pairs as section fields, ten per section."""
    items = [
        {"type": "mrkdwn", "text": _clip(f"*{label}*\n{value}", MAX_FIELD)}
        for label, value in pairs
    ]
    return [
        {"type": "section", "fields": items[i : i + MAX_FIELDS]}
        for i in range(0, len(items), MAX_FIELDS)
    ]


def context(lines: list[str]) -> Block:
    elements = [
        {"type": "mrkdwn", "text": _clip(line, MAX_SECTION)}
        for line in lines[:MAX_CONTEXT_ELEMENTS]
    ]
    return {"type": "context", "elements": elements}


def divider() -> Block:
    return {"type": "divider"}


def lines_sections(lines: list[str]) -> list[Block]:
    """Pack lines into as few sections as fit under the section text limit."""
    blocks: list[Block] = []
    chunk: list[str] = []
    for line in lines:
        line = _clip(line, MAX_SECTION)
        if chunk and len("\n".join([*chunk, line])) > MAX_SECTION:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(section("\n".join(chunk)))
    return blocks


def fit(blocks: list[Block]) -> list[Block]:
    """Drop blocks beyond Slack's limit, saying so in the last one."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return [*blocks[: MAX_BLOCKS - 1], context(["…more than fits in one message."])]


def freshness_context(answer: Answer) -> list[Block]:
    freshness = getattr(answer, "freshness", None)
    if freshness is None:
        return []
    line = summary.freshness_line(freshness)
    # A stale warning is a section (prominent), a normal stamp is small context.
    return [section(line)] if freshness.stale else [context([line])]


def answer_blocks(answer: Answer) -> list[Block]:
    blocks: list[Block]
    if isinstance(answer, RevenueAnswer):
        blocks = [
            header(f"Revenue · {answer.report.current.window.label}"),
            section(summary.revenue_headline(answer)),
            *fields(summary.revenue_fields(answer)),
        ]
        if answer.report.notes:
            blocks.append(context([f":information_source: {n}" for n in answer.report.notes]))
    elif isinstance(answer, ExperimentAnswer):
        blocks = [
            header(f"Experiment · {answer.info.experiment_id}"),
            section(summary.experiment_headline(answer)),
            section(summary.experiment_verdict(answer)),
            divider(),
            *lines_sections(summary.experiment_table(answer)),
            *lines_sections(summary.experiment_notes(answer)),
        ]
    elif isinstance(answer, ExperimentListAnswer):
        blocks = [header("Experiments"), *lines_sections(summary.experiment_list(answer))]
    elif isinstance(answer, RetentionAnswer):
        blocks = [
            header("Weekly retention"),
            section(summary.retention_headline(answer)),
            *lines_sections(summary.retention_lines(answer)),
        ]
    elif isinstance(answer, HelpAnswer):
        blocks = [header("kpi-bot help"), *lines_sections(USAGE.splitlines())]
    elif isinstance(answer, DigestCommandAnswer):
        blocks = [section("Digest commands: `/kpi digest preview|subscribe|unsubscribe`.")]
    else:
        assert isinstance(answer, ErrorAnswer)
        text = f":warning: {answer.message}"
        if answer.example:
            text += f"\nTry: `{answer.example}`"
        blocks = [section(text)]
    return fit(blocks + freshness_context(answer))


def answer_text(answer: Answer) -> str:
    """The plain fallback text Slack shows in notifications and to screen readers."""
    if isinstance(answer, RevenueAnswer):
        return summary.revenue_headline(answer)
    if isinstance(answer, ExperimentAnswer):
        return escape_mrkdwn(f"{answer.info.experiment_id}: {answer.result.verdict}")
    if isinstance(answer, ExperimentListAnswer):
        return f"{len(answer.experiments)} experiments"
    if isinstance(answer, RetentionAnswer):
        return summary.retention_headline(answer)
    if isinstance(answer, ErrorAnswer):
        return answer.message
    return "kpi-bot help"
