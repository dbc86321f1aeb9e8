"""Answers as plain terminal text (pure). Slack's Block Kit lives in ``blocks.py``;
both read the same figures through ``bot.render.summary``."""

from __future__ import annotations

import re

from bot import answers
from bot.core.questions import topic_usage
from bot.render import summary


def revenue_text(answer: answers.RevenueAnswer) -> list[str]:
    lines = [summary.revenue_headline(answer), ""]
    return lines + [f"  {label:<23} {value}" for label, value in summary.revenue_fields(answer)]


def experiment_text(answer: answers.ExperimentAnswer) -> list[str]:
    lines = [summary.experiment_headline(answer), "", summary.experiment_verdict(answer)]
    lines += [*summary.experiment_status(answer), ""]
    lines += [f"  {row}" for row in summary.experiment_table(answer)]
    return lines + [""] + [f"  {note}" for note in summary.experiment_notes(answer)]


def experiment_list_text(answer: answers.ExperimentListAnswer) -> list[str]:
    return ["Experiments", ""] + [f"  {row}" for row in summary.experiment_list(answer)]


def retention_text(answer: answers.RetentionAnswer) -> list[str]:
    lines = [summary.retention_headline(answer), ""]
    return lines + [f"  {line}" for line in summary.retention_lines(answer)]


def help_text(answer: answers.HelpAnswer) -> list[str]:
    return topic_usage(answer.topic).splitlines()


def digest_command_text(answer: answers.DigestCommandAnswer) -> list[str]:
    return ["Digest commands run in Slack; in a terminal use `python -m bot digest --dry-run`."]


def error_text(answer: answers.ErrorAnswer) -> list[str]:
    example = f"\nExample: {answer.example}" if answer.example else ""
    return [answer.message + example]


def finish_text(answer: answers.Answer, lines: list[str]) -> str:
    """Notes and the freshness stamp after the kind's own lines; Slack markup removed."""
    notes = summary.notes(answer)
    if notes:
        lines = [*lines, ""] + [f"Note: {note}" for note in notes]
    freshness = getattr(answer, "freshness", None)
    if freshness is not None:
        lines = [*lines, "", summary.freshness_line(freshness)]
    return plain("\n".join(lines))


# Every Slack emoji code the renderers, the digest and the Slack edge write, as the
# symbol a terminal shows (tests/test_terminal_plain.py fails when a code in bot/ lacks one).
EMOJI = {
    ":white_check_mark:": "✅",
    ":x:": "❌",
    ":hourglass_flowing_sand:": "⏳",
    ":warning:": "⚠️",
    ":grey_question:": "❔",
    ":information_source:": "ℹ️",
    ":small_red_triangle_down:": "🔻",
    ":chart_with_upwards_trend:": "📈",
    ":rotating_light:": "🚨",
    ":thread:": "🧵",
    ":lock:": "🔒",
    ":wave:": "👋",
    ":bell:": "🔔",
    ":pushpin:": "📌",
}
_EMOJI_CODE = re.compile("|".join(re.escape(code) for code in EMOJI))


def plain(text: str) -> str:
    """mrkdwn to terminal text: emoji codes as symbols, emphasis markers dropped, Slack's
    entities unescaped (``&amp;`` last, so an escaped ``&lt;`` stays as typed)."""
    text = _EMOJI_CODE.sub(lambda m: EMOJI[m.group(0)], text)
    for marker in ("*", "`"):
        text = text.replace(marker, "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
