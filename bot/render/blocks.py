"""Answers as Slack Block Kit (pure: dicts out, nothing sent).

Within Slack's limits: ≤ 50 blocks, header ≤ 150 chars, section text ≤ 3000 chars,
≤ 10 fields of ≤ 2000 chars. ``fit`` enforces them at the end, so no answer — however
long an experiment list or a note — produces a message Slack refuses.
"""

from __future__ import annotations

from typing import Any

from bot.answers import (
    Answer,
    DigestCommandAnswer,
    ErrorAnswer,
    ExperimentAnswer,
    ExperimentListAnswer,
    HelpAnswer,
    RetentionAnswer,
    RevenueAnswer,
)
from bot.core import format as fmt
from bot.core.questions import escape_mrkdwn, topic_usage
from bot.render import summary
from bot.render.verdicts import verdict_text

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


def fit(blocks: list[Block], limit: int = MAX_BLOCKS) -> list[Block]:
    """Drop blocks beyond Slack's limit (less room left for buttons: ``limit``), saying
    so in the last one."""
    if len(blocks) <= limit:
        return blocks
    return [*blocks[: limit - 1], context(["…more than fits in one message."])]


def freshness_context(answer: Answer) -> list[Block]:
    freshness = getattr(answer, "freshness", None)
    if freshness is None:
        return []
    line = summary.freshness_line(freshness)
    # A stale warning is a section (prominent), a normal stamp is small context.
    return [section(line)] if freshness.stale else [context([line])]


def revenue_blocks(answer: RevenueAnswer) -> list[Block]:
    blocks = [
        header(f"Revenue · {answer.report.current.window.label}"),
        section(summary.revenue_headline(answer)),
        *fields(summary.revenue_fields(answer)),
    ]
    if answer.report.notes:
        blocks.append(context([f":information_source: {n}" for n in answer.report.notes]))
    return blocks


def experiment_blocks(answer: ExperimentAnswer) -> list[Block]:
    return [
        header(f"Experiment · {answer.info.experiment_id}"),
        section(summary.experiment_headline(answer)),
        section(summary.experiment_verdict(answer)),
        *lines_sections(summary.experiment_status(answer)),
        divider(),
        *lines_sections(summary.experiment_table(answer)),
        *lines_sections(summary.experiment_notes(answer)),
    ]


def experiment_list_blocks(answer: ExperimentListAnswer) -> list[Block]:
    return [header("Experiments"), *lines_sections(summary.experiment_list(answer))]


def retention_blocks(answer: RetentionAnswer) -> list[Block]:
    return [
        header("Weekly retention"),
        section(summary.retention_headline(answer)),
        *lines_sections(summary.retention_lines(answer)),
    ]


def help_blocks(answer: HelpAnswer) -> list[Block]:
    return [header("kpi-bot help"), *lines_sections(topic_usage(answer.topic).splitlines())]


def digest_command_blocks(answer: DigestCommandAnswer) -> list[Block]:
    return [section("Digest commands: `/kpi digest preview|subscribe|unsubscribe`.")]


def error_blocks(answer: ErrorAnswer) -> list[Block]:
    text = f":warning: {answer.message}"
    if answer.example:
        text += f"\nTry: `{answer.example}`"
    return [section(text)]


# The plain fallback text Slack shows in notifications and to screen readers.


def experiment_fallback(answer: ExperimentAnswer) -> str:
    return escape_mrkdwn(f"{answer.info.experiment_id}: {verdict_text(answer.result)}")


def experiment_list_fallback(answer: ExperimentListAnswer) -> str:
    return fmt.plural(len(answer.experiments), "experiment")


def help_fallback(answer: HelpAnswer | DigestCommandAnswer) -> str:
    return "kpi-bot help"


def error_fallback(answer: ErrorAnswer) -> str:
    return answer.message
