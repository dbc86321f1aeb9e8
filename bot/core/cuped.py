"""CUPED for revenue per user: regression adjustment on pre-exposure revenue (pure).

Each user's covariate x is their revenue in the 28 days before first exposure, y their
revenue after it (the ``ab_metrics`` mart's per-variant sums). As GrowthBook's
``gbstats`` ``RegressionAdjustedStatistic``:

- θ = Cov(y, x) / Var(x) over the two compared arms pooled (one θ for both arms, so the
  adjustment can't manufacture a difference); θ = 0 when either pooled variance is 0,
  and then the plain (unadjusted) difference is used;
- adjusted mean per arm ȳ − θ·x̄, adjusted unit variance Var(y) + θ²Var(x) − 2θCov(y, x)
  (sample moments with n − 1);
- absolute lift = difference of adjusted means, variance Σ var/n; relative lift = that
  difference over the control's *unadjusted* mean, delta-method variance with the
  unadjusted means; Welch–Satterthwaite df from the adjusted variances.

The variance reduction reported is 1 − Var(adjusted lift) / Var(unadjusted lift).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.sequential import Estimate, welch_df

CUPED_WINDOW_DAYS = 28


@dataclass(frozen=True)
class CovariateStats:
    """Sufficient statistics of one arm: n, Σy, Σy², Σx, Σx², Σxy (y post, x pre)."""

    n: int
    post_sum: float
    post_sum_squares: float
    pre_sum: float
    pre_sum_squares: float
    post_pre_sum_products: float

    @property
    def post_mean(self) -> float:
        return self.post_sum / self.n if self.n > 0 else 0.0

    @property
    def pre_mean(self) -> float:
        return self.pre_sum / self.n if self.n > 0 else 0.0

    @property
    def post_variance(self) -> float:
        return _moment(self.n, self.post_sum, self.post_sum, self.post_sum_squares)

    @property
    def pre_variance(self) -> float:
        return _moment(self.n, self.pre_sum, self.pre_sum, self.pre_sum_squares)

    @property
    def covariance(self) -> float:
        return _moment(self.n, self.post_sum, self.pre_sum, self.post_pre_sum_products)

    def adjusted_mean(self, theta: float) -> float:
        return self.post_mean - theta * self.pre_mean

    def adjusted_variance(self, theta: float) -> float:
        return self.post_variance + theta**2 * self.pre_variance - 2 * theta * self.covariance


@dataclass(frozen=True)
class CupedEstimate:
    theta: float
    absolute: Estimate  # adjusted treatment − control
    relative: Estimate | None  # over the control's unadjusted mean; None when that is 0
    unadjusted: Estimate
    variance_reduction: float  # 1 − Var(adjusted) / Var(unadjusted), 0 when θ = 0


def _moment(n: int, sum_a: float, sum_b: float, sum_products: float) -> float:
    """Sample (co)variance with n − 1 from sums; 0 below two users."""
    if n <= 1:
        return 0.0
    return (sum_products - sum_a * sum_b / n) / (n - 1)


def pooled_theta(control: CovariateStats, treatment: CovariateStats) -> float:
    """θ from both arms pooled; 0 when the pooled x or y has no variance."""
    pooled = CovariateStats(
        control.n + treatment.n,
        control.post_sum + treatment.post_sum,
        control.post_sum_squares + treatment.post_sum_squares,
        control.pre_sum + treatment.pre_sum,
        control.pre_sum_squares + treatment.pre_sum_squares,
        control.post_pre_sum_products + treatment.post_pre_sum_products,
    )
    if pooled.pre_variance <= 0 or pooled.post_variance <= 0:
        return 0.0
    return pooled.covariance / pooled.pre_variance


def _difference(
    control: CovariateStats, treatment: CovariateStats, theta: float
) -> tuple[Estimate, Estimate | None]:
    n_c, n_t = control.n, treatment.n
    var_c, var_t = control.adjusted_variance(theta), treatment.adjusted_variance(theta)
    df = welch_df(var_c, n_c, var_t, n_t)
    diff = treatment.adjusted_mean(theta) - control.adjusted_mean(theta)
    absolute = Estimate(diff, var_c / n_c + var_t / n_t, n_c + n_t, df)
    mu_c, mu_t = control.post_mean, treatment.post_mean
    # mu_c**4 underflows to 0 for a tiny but non-zero control mean: no ratio then either.
    if mu_c == 0 or mu_c**4 * n_c == 0:
        return absolute, None
    rel_variance = var_t / (mu_c**2 * n_t) + var_c * mu_t**2 / (mu_c**4 * n_c)
    return absolute, Estimate(diff / mu_c, rel_variance, n_c + n_t, df)


def cuped_estimate(control: CovariateStats, treatment: CovariateStats) -> CupedEstimate | None:
    """The adjusted lift of ``treatment`` over ``control``; None below two users per arm."""
    if control.n < 2 or treatment.n < 2:
        return None
    theta = pooled_theta(control, treatment)
    absolute, relative = _difference(control, treatment, theta)
    unadjusted, _ = _difference(control, treatment, 0.0)
    reduction = 0.0
    if theta != 0 and unadjusted.variance > 0:
        reduction = 1 - absolute.variance / unadjusted.variance
    return CupedEstimate(theta, absolute, relative, unadjusted, reduction)
