"""Tests of one difference (treatment − control) from its estimate and variance (pure).

Two kinds, each an interval and a p-value computed from the *same* standard error, so
"p < α'" and "the 1 − α' interval excludes 0" are the same statement:

- fixed horizon: the estimate over its standard error against a normal (``df=None``) or a
  Student t with Welch–Satterthwaite degrees of freedom;
- sequential (always valid, safe to look at every day): the asymptotic confidence sequence
  of Waudby-Smith et al. (2023, arXiv:2103.06476 eq. 9, 155, 161), the one GrowthBook's
  ``gbstats`` ``SequentialTwoSidedTTest`` implements, with N = n_C + n_T and the tuning
  parameter (GrowthBook's default 5000: the N around which the sequence is tightest).

A relative lift's estimate and variance (delta method) go through the same functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.core import special

DEFAULT_TUNING = 5000.0
FIXED = "fixed_horizon"
SEQUENTIAL = "sequential"


@dataclass(frozen=True)
class Estimate:
    """A difference with the variance of its estimator.

    ``n_total`` (both arms' users) is what the confidence sequence is indexed by;
    ``df`` is the Welch–Satterthwaite degrees of freedom, or None for a normal reference."""

    value: float
    variance: float
    n_total: int
    df: float | None = None


@dataclass(frozen=True)
class TestOutcome:
    """Two-sided p-value and the matching interval [low, high] (unclipped)."""

    p_value: float
    low: float
    high: float
    method: str


def welch_df(var_c: float, n_c: int, var_t: float, n_t: int) -> float | None:
    """Welch–Satterthwaite degrees of freedom from unit variances; None when undefined.

    Written with shares of the total so tiny variances can't underflow to 0 / 0."""
    if n_c < 2 or n_t < 2:
        return None
    a, b = var_c / n_c, var_t / n_t
    total = a + b
    if not total > 0:
        return None
    share_c, share_t = a / total, b / total
    return 1 / (share_c**2 / (n_c - 1) + share_t**2 / (n_t - 1))


def fixed_horizon(estimate: Estimate, alpha: float) -> TestOutcome | None:
    """Two-sided test and 1 − ``alpha`` interval; None when the variance is not positive."""
    if not (estimate.variance > 0 and math.isfinite(estimate.variance)):
        return None
    se = math.sqrt(estimate.variance)
    stat = estimate.value / se
    if estimate.df is None:
        p = float(2 * special.ndtr(-abs(stat)))
        q = float(special.ndtri(1 - alpha / 2))
    else:
        p = float(2 * special.stdtr(estimate.df, -abs(stat)))
        q = float(special.stdtrit(estimate.df, 1 - alpha / 2))
    return TestOutcome(p, estimate.value - q * se, estimate.value + q * se, FIXED)


def rho(alpha: float, tuning: float = DEFAULT_TUNING) -> float:
    """The mixing parameter chosen so the sequence is tightest near N = ``tuning`` (eq. 161)."""
    return math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / tuning)


def sequential(
    estimate: Estimate,
    alpha: float,
    tuning: float = DEFAULT_TUNING,
    design_alpha: float | None = None,
) -> TestOutcome | None:
    """Always-valid p-value and 1 − ``alpha`` confidence-sequence interval.

    ``design_alpha`` (default ``alpha``) fixes ρ: the experiment's α. Passing a smaller
    ``alpha`` with the same ``design_alpha`` gives the interval that excludes 0 exactly
    when the p-value is below ``alpha`` (used for Holm step-down levels). None when the
    variance or N is not positive."""
    n = estimate.n_total
    if not (estimate.variance > 0 and math.isfinite(estimate.variance)) or n <= 0:
        return None
    r = rho(design_alpha if design_alpha is not None else alpha, tuning)
    s2 = estimate.variance * n  # per-observation variance, as gbstats' s2
    nr2 = n * r * r
    width = math.sqrt(s2 * 2 * (nr2 + 1) * math.log(math.sqrt(nr2 + 1) / alpha)) / (n * r)
    # eq. 155: p = 1 / e-value, e = exp(ρ² S²/(2(Nρ² + 1))) / √(Nρ² + 1), S² = d² N / s2.
    # Computed on the log scale: the exponent overflows for large effects.
    st2 = estimate.value**2 * n / estimate.variance
    log_e = r * r * st2 / (2 * (nr2 + 1)) - 0.5 * math.log(nr2 + 1)
    p = 1.0 if log_e <= 0 else math.exp(-log_e)
    return TestOutcome(p, estimate.value - width, estimate.value + width, SEQUENTIAL)


def run(
    estimate: Estimate,
    alpha: float,
    *,
    always_valid: bool,
    tuning: float = DEFAULT_TUNING,
    design_alpha: float | None = None,
) -> TestOutcome | None:
    """The sequential test while an experiment runs, the fixed-horizon one after its end."""
    if always_valid:
        return sequential(estimate, alpha, tuning, design_alpha)
    return fixed_horizon(estimate, alpha)
