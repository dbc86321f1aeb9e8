"""Answers as plain terminal text (pure). Slack's Block Kit lives in ``blocks.py``;
both read the same figures through ``bot.render.summary``."""

from __future__ import annotations

from bot.core.questions import USAGE
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


def render_text(answer: Answer) -> str:
    if isinstance(answer, RevenueAnswer):
        lines = [summary.revenue_headline(answer), ""]
        lines += [f"  {label:<22} {value}" for label, value in summary.revenue_fields(answer)]
    elif isinstance(answer, ExperimentAnswer):
        lines = [summary.experiment_headline(answer), "", summary.experiment_verdict(answer), ""]
        lines += [f"  {row}" for row in summary.experiment_table(answer)]
        lines += [""] + [f"  {note}" for note in summary.experiment_notes(answer)]
    elif isinstance(answer, ExperimentListAnswer):
        lines = ["Experiments", ""] + [f"  {row}" for row in summary.experiment_list(answer)]
    elif isinstance(answer, RetentionAnswer):
        lines = [summary.retention_headline(answer), ""]
        lines += [f"  {line}" for line in summary.retention_lines(answer)]
    elif isinstance(answer, HelpAnswer):
        return _plain(USAGE)
    elif isinstance(answer, DigestCommandAnswer):
        return "Digest commands run in Slack; in a terminal use `python -m bot digest --dry-run`."
    else:
        assert isinstance(answer, ErrorAnswer)
        example = f"\nExample: {answer.example}" if answer.example else ""
        return _plain(answer.message) + _plain(example)
    notes = summary.notes(answer)
    if notes:
        lines += [""] + [f"Note: {note}" for note in notes]
    freshness = getattr(answer, "freshness", None)
    if freshness is not None:
        lines += ["", summary.freshness_line(freshness)]
    return _plain("\n".join(lines))


def _plain(text: str) -> str:
    """mrkdwn to terminal: drop emphasis markers, unescape Slack's entities."""
    for marker in ("*", "`"):
        text = text.replace(marker, "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
