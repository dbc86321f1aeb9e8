"""An experiment's verdict in words (``bot.core.stats.Verdict`` is the data).

One sentence a person can act on: who beats whom, by how much, with the interval and
the (adjusted) p-value; or why no result can be trusted or tested yet.
"""

from __future__ import annotations

from bot.core import format as fmt
from bot.core.stats import (
    LOSER,
    NO_DIFFERENCE,
    NOT_TESTABLE,
    SRM,
    WINNER,
    Comparison,
    ExperimentResult,
)

SRM_TEXT = "Sample ratio mismatch — don't trust this result"


def verdict_text(result: ExperimentResult) -> str:
    v = result.verdict
    if v.kind == SRM:
        return SRM_TEXT
    if v.kind == NOT_TESTABLE or v.subject is None:
        return v.message or "Not enough data to test"
    c, control = v.subject, result.control
    if v.kind == WINNER:
        text = f"{c.treatment} beats {control}: {_effect(c)}, {_p_text(c, v.adjusted)}"
        also = f" (also better than {control}: {', '.join(v.others)})"
        return text + (also if v.others else "")
    if v.kind == LOSER:
        text = f"{c.treatment} is worse than {control}: {_effect(c)}, {_p_text(c, v.adjusted)}"
        return text + (f" (also worse: {', '.join(v.others)})" if v.others else "")
    assert v.kind == NO_DIFFERENCE
    if len(result.comparisons) == 1:
        return (
            f"No detectable difference yet: {c.treatment} vs {control} {_effect(c)}, "
            f"{_p(c.p_value)}"
        )
    return (
        f"No detectable difference yet between any variant and {control} "
        f"(lowest: {c.treatment}, {_p_text(c, v.adjusted)})"
    )


def _p(p: float | None) -> str:
    return "p n/a" if p is None else fmt.p_value(p)


def _level(level: float) -> str:
    return f"{level * 100:g} %"


def _effect(c: Comparison) -> str:
    """'+1.8 pp (+12 %, 95 % CI +0.6 to +3.0 pp)' with what is available."""
    inner = []
    if c.rel_lift is not None:
        rel = c.rel_lift * 100
        inner.append(fmt.pct(rel, 0 if abs(rel) >= 10 else 1))
    if c.abs_ci is not None:
        low = fmt.pp(c.abs_ci.low).removesuffix(" pp")
        inner.append(f"{_level(c.abs_ci.level)} CI {low} to {fmt.pp(c.abs_ci.high)}")
    text = fmt.pp(c.abs_lift)
    return f"{text} ({', '.join(inner)})" if inner else text


def _p_text(c: Comparison, adjusted: bool) -> str:
    p = _p(c.p_adjusted)
    return f"Holm-adjusted {p}" if adjusted else p
