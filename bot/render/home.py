"""The App Home tab as a Block Kit ``home`` view (pure: dicts out, nothing sent).

What one person sees when they open the bot's Home tab: the data's as-of (flagged when
stale), revenue and orders for the last 7 and 30 days with their change against the
period before, each running experiment's verdict in one line, week-1 retention of the
latest cohort with a complete week 1, and their pinned questions, each with a button
that asks it (the re-ask action) and one that removes it. A part not computed yet says
so (the Slack edge publishes again once it is); revenue-derived parts are replaced by a
lock line for someone the allowlists refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.answers import ErrorAnswer, ExperimentAnswer, Freshness, RetentionAnswer, RevenueAnswer
from bot.core import format as fmt
from bot.core.questions import escape_mrkdwn
from bot.render import summary
from bot.render.blocks import context, divider, header, section
from bot.render.buttons import ASK_ACTION

UNPIN_ACTION = "kpi_unpin_question"
LOADING = "_Working it out… this tab refreshes in a moment._"
LOCKED = ":lock: Revenue figures aren't shown to you here (the bot's allowlists)."
MAX_PINS = 10
MAX_EXPERIMENTS = 20


@dataclass(frozen=True)
class HomeContent:
    """Each part None while not computed (an ErrorAnswer when it couldn't be, e.g. no
    data in the window); ``revenue_visible`` False: the allowlists refuse."""

    freshness: Freshness | None
    revenue: tuple[RevenueAnswer | ErrorAnswer | None, ...]  # last 7 days, last 30 days
    experiments: tuple[ExperimentAnswer, ...] | None
    retention: RetentionAnswer | ErrorAnswer | None
    pins: tuple[str, ...]
    revenue_visible: bool


def home_view(content: HomeContent) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [header("KPI overview")]
    if content.freshness is None:
        blocks.append(context([LOADING]))
    else:
        blocks.append(section(summary.freshness_line(content.freshness)))
    blocks += [divider(), section("*Revenue and orders*")]
    if not content.revenue_visible:
        blocks.append(section(LOCKED))
    else:
        blocks += [section(_part(a, _revenue_line)) for a in content.revenue]
    blocks += [divider(), section("*Running experiments*")]
    if not content.revenue_visible:
        blocks.append(section(LOCKED))
    elif content.experiments is None:
        blocks.append(section(LOADING))
    else:
        lines = [_experiment_line(a) for a in content.experiments[:MAX_EXPERIMENTS]]
        blocks.append(section("\n".join(lines) or "No experiment is running."))
    blocks += [divider(), section("*Retention*")]
    blocks.append(section(_part(content.retention, _retention_line)))
    blocks += [divider(), *pin_blocks(content.pins)]
    return {"type": "home", "blocks": blocks}


def pin_blocks(pins: tuple[str, ...]) -> list[dict[str, Any]]:
    if not pins:
        return [
            section("*Pinned questions*"),
            context(["Pin an answer (its :pushpin: Pin button) to ask it again from here."]),
        ]
    blocks = [section("*Pinned questions*")]
    for question in pins[:MAX_PINS]:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    _button(f"/kpi {question}", question, f"{ASK_ACTION}:0"),
                    _button("Remove", question, UNPIN_ACTION),
                ],
            }
        )
    return blocks


def _part(answer: Any, line: Any) -> str:
    if answer is None:
        return LOADING
    if isinstance(answer, ErrorAnswer):
        return f":warning: {answer.message}"
    return line(answer)


def _revenue_line(answer: RevenueAnswer) -> str:
    report = answer.report
    current, against = report.current, report.primary
    return (
        f"*{escape_mrkdwn(current.window.label.capitalize())}*: "
        f"{fmt.money(current.revenue)} revenue ({fmt.pct(against.revenue.delta_pct)}), "
        f"{fmt.count(current.orders)} orders ({fmt.pct(against.orders.delta_pct)}) "
        f"vs {summary.revenue_baseline_name(report)}"
    )


def _experiment_line(answer: ExperimentAnswer) -> str:
    return f"`{escape_mrkdwn(answer.info.experiment_id)}`: {summary.experiment_verdict(answer)}"


def is_running(answer: ExperimentAnswer) -> bool:
    """Running per its plan in the registry (unregistered ones count as running)."""
    decision = answer.result.decision
    return decision is None or decision.plan.status == "running"


def _retention_line(answer: RetentionAnswer) -> str:
    matrix = answer.report.matrix
    for cohort in reversed(answer.report.cohorts):
        rate = matrix.row(cohort).get(1)
        if rate is not None and rate == rate:  # NaN: week 1 not complete yet
            size = answer.report.cohort_sizes.get(cohort)
            users = f" of {fmt.count(int(size))} users" if size is not None else ""
            return (
                f"Week-1 retention of the latest complete cohort (week of {cohort:%Y-%m-%d}"
                f"{users}): *{fmt.rate(float(rate))}*"
            )
    return "No cohort has a complete week 1 yet."


def _button(label: str, value: str, action_id: str) -> dict[str, Any]:
    text = label if len(label) <= 75 else label[:74] + "…"
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "value": value,
        "action_id": action_id,
    }
