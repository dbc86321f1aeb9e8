"""The five distribution functions the statistics use, from ``scipy.special`` on first
call.

scipy.special (with numpy under it) takes ~0.15–0.4 s to import. ``serve`` must listen
before that is paid (issue #20): it imports this module at start-up and loads scipy in
its warm-up once it listens (``bot.slack.server._warm_up``), so only an experiment
question asked in the first second loads it itself. scipy.special, not scipy.stats:
the same functions scipy.stats' norm, t and chi2 call underneath, for ~0.5 s less CPU
at import.
"""

from __future__ import annotations

from typing import Any


def _special() -> Any:
    from scipy import special  # a dict lookup once loaded

    return special


def load() -> None:
    """Import scipy.special now (the server's warm-up)."""
    _special()


def ndtr(x: Any) -> Any:
    """Standard normal CDF."""
    return _special().ndtr(x)


def ndtri(p: Any) -> Any:
    """Standard normal quantile."""
    return _special().ndtri(p)


def stdtr(df: Any, t: Any) -> Any:
    """Student's t CDF."""
    return _special().stdtr(df, t)


def stdtrit(df: Any, p: Any) -> Any:
    """Student's t quantile."""
    return _special().stdtrit(df, p)


def chdtrc(df: Any, x: Any) -> Any:
    """Chi-square survival function."""
    return _special().chdtrc(df, x)
