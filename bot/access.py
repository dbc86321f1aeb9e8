"""Who may see a revenue-derived figure, and where: the one allowlist decision.

Every surface that can show such a figure (a /kpi answer, a digest preview, a digest
subscription or delivery, and later buttons, App Home and alerts) asks ``audience``;
none repeats the rule. Which answers are revenue-derived is declared per answer type in
``bot.kinds`` (``restricted``). The rule (README, "Who sees what"):

* ``KPI_ALLOWED_USERS`` decides who may *ask* for a restricted figure;
* ``KPI_ALLOWED_CHANNELS`` decides where one may appear *publicly*;
* with only a user allowlist, no channel is public for such figures: allowed users get
  them privately, and no channel can get a revenue digest;
* with neither, everything is open.

Answers that show no revenue-derived figure (retention, the experiment list, help) are
open to everyone everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Audience(Enum):
    PUBLIC = "public"  # may be posted in the channel
    PRIVATE = "private"  # only to the asker (ephemeral)
    REFUSED = "refused"  # not shown at all


@dataclass(frozen=True)
class Allowlists:
    channels: frozenset[str] = frozenset()  # empty = no channel restriction
    users: frozenset[str] = frozenset()  # empty = anyone may ask

    @property
    def open(self) -> bool:
        return not self.channels and not self.users

    def may_ask(self, user: str) -> bool:
        return not self.users or user in self.users

    def public_in(self, channel: str) -> bool:
        """May a restricted figure be posted where everyone in ``channel`` sees it?"""
        if self.channels:
            return channel in self.channels
        return not self.users  # only a user allowlist: no channel is public

    def audience(self, channel: str, user: str | None, *, restricted: bool) -> Audience:
        """``user`` None: nobody asked (a scheduled digest or alert)."""
        if not restricted:
            return Audience.PUBLIC
        if user is not None and not self.may_ask(user):
            return Audience.REFUSED
        if self.public_in(channel):
            return Audience.PUBLIC
        if self.channels or user is None:
            return Audience.REFUSED  # a channel allowlist refuses this channel
        return Audience.PRIVATE


OPEN = Allowlists()  # no allowlist: everything is shown everywhere
