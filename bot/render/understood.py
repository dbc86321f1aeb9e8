"""What a loosely phrased question was understood as, and the readings offered (pure).

Every answer to a question the front end rewrote (``bot.core.phrasing``) shows the
canonical question it ran — "Understood as: `revenue by country last month top 5`" —
in the terminal, in Block Kit (a context block before the answer) and in ``--json``
(``understood_as``, ``understood_notes``). An error that offers readings
(``ErrorAnswer.choices``) gets one Slack button per reading: ``action_id``
``kpi_ask_question``, ``value`` the canonical question, which the Slack edge's action
handler asks as if typed after ``/kpi``. Each button sits in its own actions block
(Slack wants an action_id unique within its block).
"""

from __future__ import annotations

from typing import Any

from bot.answers import Answer
from bot.core.questions import echo
from bot.render.blocks import Block, context
from bot.render.buttons import ask_button_block

ASK_BLOCK_PREFIX = "kpi_ask_"
MAX_BUTTONS = 5


def understood_line(answer: Answer) -> str | None:
    understood = getattr(answer, "understood", None)
    if understood is None:
        return None
    notes = " ".join(understood.notes)
    return f"Understood as: `{echo(understood.canonical, 200)}`" + (f" — {notes}" if notes else "")


def understood_lines(answer: Answer) -> list[str]:
    """Terminal lines: the reading first, then the answer; offered readings last."""
    line = understood_line(answer)
    return [line, ""] if line else []


def choice_lines(answer: Answer) -> list[str]:
    choices = getattr(answer, "choices", ())
    return ["", "Did you mean:", *(f"  /kpi {c}" for c in choices)] if choices else []


def understood_blocks(answer: Answer) -> list[Block]:
    line = understood_line(answer)
    return [context([line])] if line else []


def choice_blocks(answer: Answer) -> list[Block]:
    """One button per offered reading (the value is the question to ask)."""
    return [
        ask_button_block(choice, f"/kpi {choice}", f"{ASK_BLOCK_PREFIX}{i}")
        for i, choice in enumerate(getattr(answer, "choices", ())[:MAX_BUTTONS])
    ]


def understood_json(answer: Answer) -> dict[str, Any]:
    """``understood_as`` (null for a question read as typed) and any offered readings."""
    understood = getattr(answer, "understood", None)
    body: dict[str, Any] = {
        "understood_as": None if understood is None else understood.canonical,
        "understood_notes": [] if understood is None else list(understood.notes),
    }
    if getattr(answer, "choices", ()):
        body["choices"] = list(answer.choices)
    return body
