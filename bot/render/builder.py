"""The question builder: the modal ``/kpi`` (no text) opens, and its answers as text.

Pure: a view dict out, and the submitted state turned back into the question as typed
after /kpi (``metric [by dimension] window [vs last year]``), which the Slack edge then
parses and validates exactly like typed text. Choices come from the semantic layer's
vocabulary (metrics, and the dimensions each can be broken down by).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core.metric_questions import Vocabulary

CALLBACK_ID = "kpi_question_builder"
METRIC, WINDOW, BREAKDOWN, COMPARE = "metric", "window", "breakdown", "compare"
ACTION = "value"  # every input's one element
WINDOWS: tuple[tuple[str, str], ...] = (
    ("Last 7 days", "last 7 days"),
    ("Last 30 days", "last 30 days"),
    ("Last 90 days", "last 90 days"),
    ("Month to date", "mtd"),
    ("Last month", "last month"),
    ("Quarter to date", "qtd"),
    ("Year to date", "ytd"),
)
COMPARISONS = (("The previous period", "previous"), ("The same period last year", "last_year"))
MAX_OPTIONS = 100
MAX_TEXT = 75
FALLBACK_METRICS = (("revenue", "Revenue"),)  # the semantic layer isn't loaded yet


@dataclass(frozen=True)
class BuilderChoice:
    metric: str | None
    window: str | None
    breakdown: str | None
    last_year: bool


def builder_view(vocabulary: Vocabulary | None, private_metadata: str) -> dict[str, Any]:
    metrics = (
        [(m.name, m.label) for m in vocabulary.metrics] if vocabulary else list(FALLBACK_METRICS)
    )
    dimensions = [(d.name, d.label) for d in vocabulary.dimensions] if vocabulary else []
    blocks = [
        _select(METRIC, "Metric", metrics),
        _select(WINDOW, "Window", [(phrase, label) for label, phrase in WINDOWS]),
    ]
    if dimensions:
        blocks.append(_select(BREAKDOWN, "Break down by (optional)", dimensions, optional=True))
    blocks.append(
        {
            "type": "input",
            "block_id": COMPARE,
            "optional": True,
            "label": _plain("Compare with"),
            "element": {
                "type": "radio_buttons",
                "action_id": ACTION,
                "options": [_option(value, label) for label, value in COMPARISONS],
            },
        }
    )
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": _plain("Ask a KPI question"),
        "submit": _plain("Ask"),
        "close": _plain("Cancel"),
        "private_metadata": private_metadata,
        "blocks": blocks,
    }


def read_choice(state_values: dict[str, Any]) -> BuilderChoice:
    """What was picked (None for nothing; anything not a string is nothing)."""

    def picked(block: str) -> str | None:
        element = (state_values.get(block) or {}).get(ACTION) or {}
        value = (element.get("selected_option") or {}).get("value")
        return value if isinstance(value, str) and value else None

    return BuilderChoice(
        picked(METRIC), picked(WINDOW), picked(BREAKDOWN), picked(COMPARE) == "last_year"
    )


def question_text(choice: BuilderChoice, with_breakdown: bool = True) -> str:
    """The question as typed after /kpi (``revenue by country last 30 days vs last year``)."""
    parts = [choice.metric or ""]
    if with_breakdown and choice.breakdown:
        parts.append(f"by {choice.breakdown}")
    parts.append(choice.window or "")
    if choice.last_year:
        parts.append("vs last year")
    return " ".join(p for p in parts if p)


def _select(
    block_id: str, label: str, choices: list[tuple[str, str]], optional: bool = False
) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": _plain(label),
        "element": {
            "type": "static_select",
            "action_id": ACTION,
            "placeholder": _plain("Choose …"),
            "options": [_option(value, text) for value, text in choices[:MAX_OPTIONS]],
        },
    }


def _option(value: str, text: str) -> dict[str, Any]:
    return {"text": _plain(text), "value": value}


def _plain(text: str) -> dict[str, Any]:
    clipped = text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
    return {"type": "plain_text", "text": clipped}
