"""``alert …`` outside Slack (``python -m bot ask``): where to run it instead."""

from __future__ import annotations

from typing import Any

from bot.answers import AlertCommandAnswer
from bot.render.blocks import section

TERMINAL = (
    "Alert commands run in Slack (`/kpi alert …`, `/kpi alerts`); in a terminal, "
    "`python -m bot alerts check --dry-run` evaluates the rules."
)


def alert_command_text(answer: AlertCommandAnswer) -> list[str]:
    return [TERMINAL]


def alert_command_blocks(answer: AlertCommandAnswer) -> list[dict]:
    return [section(TERMINAL)]


def alert_command_json(answer: AlertCommandAnswer) -> dict[str, Any]:
    command = answer.command
    return {
        "kind": "alert_command",
        "action": command.action,
        "rule": command.rule.describe() if command.rule else None,
        "alert_id": command.alert_id,
        "days": command.days,
    }
