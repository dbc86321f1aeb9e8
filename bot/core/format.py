"""Number formatting shared by chart titles, terminal text and Block Kit (pure).

One place decides how a figure reads, so the terminal and Slack never disagree.
Missing values read "n/a", never "nan".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def money(value: float | None, currency: str = "$") -> str:
    """$1,234 below 10k, $12.3k, $1.23M above: compact enough for a phone."""
    if _missing(value):
        return "n/a"
    assert value is not None
    sign = "-" if value < 0 else ""
    v = abs(value)
    if v >= 1_000_000:
        return f"{sign}{currency}{v / 1_000_000:.2f}M"
    if v >= 10_000:
        return f"{sign}{currency}{v / 1_000:.1f}k"
    if v >= 100:
        return f"{sign}{currency}{v:,.0f}"
    return f"{sign}{currency}{v:,.2f}"


def signed_money(value: float | None, currency: str = "$") -> str:
    if _missing(value):
        return "n/a"
    assert value is not None
    return ("+" if value >= 0 else "") + money(value, currency)


def count(value: float | None) -> str:
    if _missing(value):
        return "n/a"
    assert value is not None
    return f"{round(value):,}"


def signed_count(value: float | None) -> str:
    if _missing(value):
        return "n/a"
    assert value is not None
    return f"{round(value):+,}"


def pct(value: float | None, digits: int = 1) -> str:
    """A signed percentage change, e.g. +4.2 %; 'n/a' when undefined."""
    if _missing(value):
        return "n/a"
    assert value is not None
    return f"{value:+.{digits}f} %"


def rate(value: float | None, digits: int = 1) -> str:
    """A proportion in [0, 1] as a percentage, e.g. 12.3 %."""
    if _missing(value):
        return "n/a"
    assert value is not None
    return f"{value * 100:.{digits}f} %"


def pp(value: float | None, digits: int = 1) -> str:
    """A difference of proportions in percentage points, e.g. +1.8 pp."""
    if _missing(value):
        return "n/a"
    assert value is not None
    return f"{value * 100:+.{digits}f} pp"


def day(value: date | None) -> str:
    return "n/a" if value is None else f"{value:%a %Y-%m-%d}"


def timestamp(value: datetime | None) -> str:
    return "unknown" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


def date_range(start: date, end: date, *, weekday: bool = False, short_month: bool = False) -> str:
    """``Oct 06 – Nov 02, 2025``; the first year is written too when the years differ.

    ``weekday`` names the day of a one-day range (``Mon Oct 06, 2025``);
    ``short_month`` writes a range within one month as ``Oct 06 – 12, 2025``.
    """
    if start == end:
        return f"{start:%a %b %d, %Y}" if weekday else f"{start:%b %d, %Y}"
    if start.year != end.year:
        return f"{start:%b %d, %Y} – {end:%b %d, %Y}"
    if short_month and start.month == end.month:
        return f"{start:%b %d} – {end:%d, %Y}"
    return f"{start:%b %d} – {end:%b %d, %Y}"


def p_value(p: float | None) -> str:
    """``p = 0.034``, ``p < 0.001``, or ``n/a``."""
    if _missing(p):
        return "n/a"
    assert p is not None
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def plural(count: int, noun: str) -> str:
    """``1 cohort``, ``2 cohorts`` (regular English plurals only)."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def decimals_for(
    values: Iterable[float | None], scale: float = 100, minimum: int = 1, maximum: int = 6
) -> int:
    """The fewest decimals (at least ``minimum``) at which no non-zero value, times
    ``scale``, rounds to zero, so a significant effect and the bounds of an interval
    that excludes 0 never print as "+0.0". Capped at ``maximum``."""
    shown = [abs(v) * scale for v in values if not _missing(v) and v != 0]  # type: ignore[operator]
    for digits in range(minimum, maximum + 1):
        if all(round(v, digits) != 0 for v in shown):
            return digits
    return maximum


def pp_auto(value: float | None, *companions: float | None) -> str:
    """``pp`` with as many decimals as ``value`` and its ``companions`` (e.g. the bounds of
    its interval) need not to round to 0."""
    return pp(value, decimals_for((value, *companions)))


def pct_auto(value: float | None, *companions: float | None) -> str:
    """A relative change given as a fraction (0.12 → +12.0 %), decimals as ``pp_auto``."""
    digits = decimals_for((value, *companions))
    return "n/a" if _missing(value) else pct(value * 100, digits)  # type: ignore[operator]
