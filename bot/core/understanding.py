"""What a loosely phrased question was taken to mean (pure data).

Set by the loose-phrasing front end (``bot.core.phrasing``) on the question it
returns, copied onto the answer by the service, and shown by every renderer
("Understood as: `revenue by country last month top 5`"). Its own module because both
``bot.core.questions`` and ``bot.core.metric_questions`` carry it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Understanding:
    canonical: str  # the canonical question that was run, e.g. "revenue by country last month"
    notes: tuple[str, ...] = ()  # mrkdwn, user text escaped: readings and corrections made
