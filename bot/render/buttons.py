"""The buttons under an answer, as Block Kit (pure: dicts out, nothing sent).

Every button (and every option of the "by …" picker) asks a question through the one
re-ask action: ``action_id`` is ``kpi_ask_question`` (``:<n>`` appended so ids are
unique within the block, as Slack requires) and ``value`` is the question exactly as
typed after ``/kpi``. The Slack edge matches ``^kpi_ask_question(:\\d+)?$`` and treats
the value as typed text (docs/ARCHITECTURE.md, "Buttons"). Which follow-ups an answer
gets is declared per answer type in ``bot.kinds`` (``Presentation.follow_ups``).
"""

from __future__ import annotations

from typing import Any

from bot.answers import (
    Answer,
    ExperimentAnswer,
    ExperimentListAnswer,
    FunnelAnswer,
    MetricAnswer,
    RetentionAnswer,
    RevenueAnswer,
)
from bot.core import follow_ups as fu

ASK_ACTION = "kpi_ask_question"
ASK_ACTION_PATTERN = r"^kpi_ask_question(:\d+)?$"
PIN_ACTION = "kpi_pin_question"
BLOCK_ID = "kpi_follow_ups"
# Slack's limits: button text ≤ 75 chars, value ≤ 2000; option text ≤ 75, value ≤ 150;
# ≤ 25 elements per actions block, ≤ 100 options per select.
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_OPTION_VALUE = 150
MAX_ELEMENTS = 25
MAX_OPTIONS = 100
Block = dict[str, Any]


def no_follow_ups(answer: Answer) -> fu.FollowUps:
    return fu.NONE


def revenue_follow_ups(answer: RevenueAnswer) -> fu.FollowUps:
    return fu.revenue_follow_ups(answer.question)


def experiment_follow_ups(answer: ExperimentAnswer) -> fu.FollowUps:
    return fu.experiment_follow_ups(answer.question)


def experiment_list_follow_ups(answer: ExperimentListAnswer) -> fu.FollowUps:
    return fu.experiment_list_follow_ups([e.experiment_id for e in answer.experiments])


def retention_follow_ups(answer: RetentionAnswer) -> fu.FollowUps:
    return fu.retention_follow_ups(answer.question)


def funnel_follow_ups(answer: FunnelAnswer) -> fu.FollowUps:
    return fu.funnel_follow_ups(answer.question)


def metric_follow_ups(answer: MetricAnswer) -> fu.FollowUps:
    """The picker offers the dimensions every metric asked has in the semantic layer."""
    metrics = answer.report.metrics
    shared = set(metrics[0].dimensions) if metrics else set()
    for metric in metrics[1:]:
        shared &= set(metric.dimensions)
    return fu.metric_follow_ups(answer.question, tuple(sorted(shared)))


def follow_up_blocks(follow_ups: fu.FollowUps) -> list[Block]:
    """One actions block: the buttons, the picker, then a Pin button (pins the answer's
    own question, the one Refresh asks, to the App Home tab). Nothing when there is
    nothing to offer."""
    pin = next((b.question for b in follow_ups.buttons if b.label == fu.REFRESH_LABEL), None)
    elements: list[Block] = []
    for n, item in enumerate(follow_ups.buttons):
        if len(item.question) <= MAX_BUTTON_VALUE:
            elements.append(_button(item.label, item.question, f"{ASK_ACTION}:{n}"))
    options = [
        {"text": _plain(item.label), "value": item.question}
        for item in follow_ups.picker
        if len(item.question) <= MAX_OPTION_VALUE
    ][:MAX_OPTIONS]
    if options:
        elements.append(
            {
                "type": "static_select",
                "action_id": f"{ASK_ACTION}:{len(follow_ups.buttons)}",
                "placeholder": _plain(follow_ups.picker_label or "More …"),
                "options": options,
            }
        )
    if pin is not None and len(pin) <= MAX_BUTTON_VALUE:
        elements.append(_button(":pushpin: Pin", pin, PIN_ACTION))
    if not elements:
        return []
    return [{"type": "actions", "block_id": BLOCK_ID, "elements": elements[:MAX_ELEMENTS]}]


def ask_button_block(question: str, label: str, block_id: str) -> Block:
    """An actions block of one re-ask button (``value`` = ``question`` as typed after
    ``/kpi``): a reading offered by the phrasing front end, an alert's full answer."""
    return {
        "type": "actions",
        "block_id": block_id,
        "elements": [_button(label, question[:MAX_BUTTON_VALUE], ASK_ACTION)],
    }


def _button(label: str, value: str, action_id: str) -> Block:
    return {"type": "button", "text": _plain(label), "value": value, "action_id": action_id}


def _plain(text: str) -> dict[str, Any]:
    clipped = text if len(text) <= MAX_BUTTON_TEXT else text[: MAX_BUTTON_TEXT - 1] + "…"
    return {"type": "plain_text", "text": clipped, "emoji": True}
