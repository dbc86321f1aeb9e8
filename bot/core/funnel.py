"""Funnels (pure: step counts in, frozen dataclasses out; no I/O).

Every figure follows METRICS.md "Funnel". The marts hand over closed-funnel counts
(``funnel_sessions_daily`` summed over a window, per segment, or ``ab_funnel`` per
variant); everything here is computed from those counts with the statistics of
:mod:`bot.core.stats`, so no event row ever reaches Python.

- Steps: entered (sessions, or an experiment's exposed users) → product → cart →
  purchase. Closed: each count is at most the one before it.
- Step conversion = at step / at previous step; overall = purchase / entered; each with
  a Wilson interval (``stats.proportion_interval``).
- Biggest drop-off: the transition with the largest share leaving (1 − step
  conversion); ties go to the earlier transition.
- Against the previous window: each step conversion (product, cart, purchase) compared
  with the pooled two-proportion z-test (``stats.pooled_z_test``), p-values
  Holm-adjusted across the steps that could be tested (``stats.holm_adjust``); only a
  change with adjusted p < α is a change.
- Segments: rows by sessions descending (ties by name), the top ``top`` kept; the rest
  are summed into one "all others" row (each session has exactly one value, so the
  counts add up).
- Experiment: each treatment's step conversion vs control (``stats.compare``: z-test,
  Wald CI of the absolute lift, delta-method CI of the relative lift); Holm across
  steps × treatments. SRM of exposed users as for ``/kpi ab`` (a flagged SRM makes every
  verdict "don't trust").

The report is data only; its words (the drop-off, the changes, each treatment's
verdict) are written by ``bot.render.funnel``.

Degenerate input (no sessions, a step without entrants, counts that are not a closed
funnel) gives a report whose ``message`` says why: never an exception, never NaN.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from bot.core.stats import (
    HOLM,
    Comparison,
    ExperimentSettings,
    Interval,
    SrmCheck,
    VariantData,
    choose_control,
    compare,
    holm_adjust,
    pooled_z_test,
    proportion_interval,
    srm_check,
)

STEP_NAMES = ("product", "cart", "purchase")  # the steps after the entry step
SESSION_ENTRY = "sessions"
EXPERIMENT_ENTRY = "users"
TOP_SEGMENTS = 10
OTHERS = "all others"
DIMENSIONS = ("traffic_source", "browser")

# FunnelReport.kind
WINDOW = "window"
SEGMENTS = "segments"
EXPERIMENT = "experiment"


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class FunnelCounts:
    """Closed-funnel counts: ``entered`` (sessions or exposed users), then the units
    that reached product, cart and purchase."""

    entered: int
    product: int
    cart: int
    purchase: int

    @property
    def counts(self) -> tuple[int, int, int, int]:
        return (self.entered, self.product, self.cart, self.purchase)

    @property
    def problem(self) -> str | None:
        """Why these counts can't be a closed funnel, or None."""
        if any(c < 0 for c in self.counts):
            return "a step has a negative count"
        if not self.entered >= self.product >= self.cart >= self.purchase:
            return "a step has more than the step before it (not a closed funnel)"
        return None

    def __add__(self, other: FunnelCounts) -> FunnelCounts:
        return FunnelCounts(*(a + b for a, b in zip(self.counts, other.counts, strict=True)))


@dataclass(frozen=True)
class SegmentCounts:
    value: str  # a traffic_source or browser
    counts: FunnelCounts


@dataclass(frozen=True)
class VariantCounts:
    name: str
    counts: FunnelCounts  # entered = the variant's exposed (analysed) users


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Step:
    """One step of one funnel."""

    name: str
    count: int
    conversion: float | None  # from the previous step; None for the entry step or 0 before
    conversion_ci: Interval | None
    of_entered: float | None  # count / entered (the bar length of the chart)


@dataclass(frozen=True)
class DropOff:
    """The transition where the largest share of units leaves."""

    from_step: str
    to_step: str
    lost: int
    share_leaving: float  # 1 − step conversion


@dataclass(frozen=True)
class FunnelSummary:
    counts: FunnelCounts
    steps: tuple[Step, ...]  # entry step first, then product, cart, purchase
    overall: float | None  # purchase / entered
    overall_ci: Interval | None
    drop_off: DropOff | None
    message: str | None  # why figures are missing (no entrants, invalid counts)


@dataclass(frozen=True)
class StepChange:
    """One step conversion (from_step → step), this window against the previous one."""

    from_step: str
    step: str
    current: float | None
    previous: float | None
    diff: float | None  # current − previous (a proportion; shown in pp)
    z: float | None
    p_value: float | None
    p_adjusted: float | None  # Holm across the tested steps
    significant: bool  # p_adjusted < alpha: only these are called changes
    message: str | None  # why there was no test


@dataclass(frozen=True)
class SegmentRow:
    value: str
    summary: FunnelSummary
    is_others: bool  # the "all others" row summing the values below the top


@dataclass(frozen=True)
class StepLift:
    """One treatment's step conversion against the control's."""

    step: str
    comparison: Comparison  # abs/rel lift with CIs, z, p, Holm-adjusted p, significant

    @property
    def wins(self) -> bool:
        return self.comparison.significant and (self.comparison.abs_lift or 0) > 0

    @property
    def loses(self) -> bool:
        return self.comparison.significant and (self.comparison.abs_lift or 0) < 0


# TreatmentVerdict.kind (the words are bot.render.funnel's)
SRM = "srm"  # the split is broken: no step's figure is trusted
NOT_TESTABLE = "not_testable"  # no step could be tested
NO_DIFFERENCE = "no_difference"
DIFFERS = "differs"  # wins and/or loses at some step


@dataclass(frozen=True)
class TreatmentVerdict:
    treatment: str
    lifts: tuple[StepLift, ...]  # product, cart, purchase
    wins_at: tuple[str, ...]  # steps where the treatment's conversion is higher
    loses_at: tuple[str, ...]  # steps where it is lower
    kind: str  # SRM | NOT_TESTABLE | NO_DIFFERENCE | DIFFERS


@dataclass(frozen=True)
class ExperimentFunnel:
    experiment_id: str
    control: str
    variants: tuple[tuple[str, FunnelSummary], ...]  # control first, then by name
    treatments: tuple[TreatmentVerdict, ...]
    srm: SrmCheck
    adjustment: str | None  # "Holm–Bonferroni" when more than one test was made


@dataclass(frozen=True)
class FunnelReport:
    """Everything a reply about a funnel shows. ``kind`` says which parts are filled:
    window (current, previous, changes), segments (dimension, segments, current = the
    total), experiment (experiment)."""

    kind: str
    entry_step: str  # "sessions" or "users"
    current: FunnelSummary | None
    previous: FunnelSummary | None
    changes: tuple[StepChange, ...]
    dimension: str | None
    segments: tuple[SegmentRow, ...]
    other_values: int  # values summed into the "all others" row
    experiment: ExperimentFunnel | None
    alpha: float
    level: float
    message: str | None  # why the report can't say more (no data, invalid data)

    @property
    def significant_changes(self) -> tuple[StepChange, ...]:
        return tuple(c for c in self.changes if c.significant)


# --------------------------------------------------------------------------- one funnel


def _step_labels(entry: str) -> tuple[str, ...]:
    return (entry, *STEP_NAMES)


def summarize(
    counts: FunnelCounts, entry: str = SESSION_ENTRY, level: float = 0.95
) -> FunnelSummary:
    """Step counts, step conversions and the overall conversion with Wilson intervals,
    and the biggest drop-off."""
    names = _step_labels(entry)
    problem = counts.problem
    if problem is not None:
        steps = tuple(
            Step(n, c, None, None, None) for n, c in zip(names, counts.counts, strict=True)
        )
        return FunnelSummary(counts, steps, None, None, None, f"Invalid data: {problem}")
    values = counts.counts
    steps = [Step(names[0], values[0], None, None, 1.0 if values[0] else None)]
    for i in range(1, len(values)):
        before, now = values[i - 1], values[i]
        steps.append(
            Step(
                names[i],
                now,
                now / before if before else None,
                proportion_interval(now, before, level),
                now / values[0] if values[0] else None,
            )
        )
    if counts.entered == 0:
        return FunnelSummary(counts, tuple(steps), None, None, None, f"No {entry} in this window")
    return FunnelSummary(
        counts,
        tuple(steps),
        counts.purchase / counts.entered,
        proportion_interval(counts.purchase, counts.entered, level),
        _biggest_drop_off(steps),
        None,
    )


def _biggest_drop_off(steps: Sequence[Step]) -> DropOff | None:
    best: DropOff | None = None
    for before, step in itertools.pairwise(steps):
        if step.conversion is None:
            continue  # nobody reached the step before: nothing can leave
        leaving = 1 - step.conversion
        if best is None or leaving > best.share_leaving:
            best = DropOff(before.name, step.name, before.count - step.count, leaving)
    return best


# --------------------------------------------------------------------------- window


def compare_windows(
    current: FunnelCounts, previous: FunnelCounts, alpha: float
) -> tuple[StepChange, ...]:
    """Each step conversion this window vs the previous one, Holm across the steps."""
    raw: list[StepChange] = []
    cur, prev = current.counts, previous.counts
    names = _step_labels(SESSION_ENTRY)
    for i, name in enumerate(STEP_NAMES, start=1):
        x1, n1, x2, n2 = cur[i], cur[i - 1], prev[i], prev[i - 1]
        p1 = x1 / n1 if n1 else None
        p0 = x2 / n2 if n2 else None
        diff = p1 - p0 if p1 is not None and p0 is not None else None
        test = pooled_z_test(x1, n1, x2, n2)
        if test is None:
            why = _why_no_test(n1, n2)
            raw.append(StepChange(names[i - 1], name, p1, p0, diff, None, None, None, False, why))
        else:
            z, p = test
            raw.append(StepChange(names[i - 1], name, p1, p0, diff, z, p, p, p < alpha, None))
    tested = [i for i, c in enumerate(raw) if c.p_value is not None]
    adjusted = holm_adjust([raw[i].p_value for i in tested])  # type: ignore[misc]
    for i, p_adj in zip(tested, adjusted, strict=True):
        raw[i] = replace(raw[i], p_adjusted=p_adj, significant=p_adj < alpha)
    return tuple(raw)


def _why_no_test(n_current: int, n_previous: int) -> str:
    if n_current == 0 or n_previous == 0:
        return "no units reached the step before in one of the windows"
    return "no variation: the step converts 0 % or 100 % in both windows"


def analyze_window(
    current: FunnelCounts,
    previous: FunnelCounts | None = None,
    settings: ExperimentSettings | None = None,
) -> FunnelReport:
    """The session funnel of a window, against the previous window when given."""
    settings = settings or ExperimentSettings()
    level = settings.level
    now = summarize(current, SESSION_ENTRY, level)
    before = summarize(previous, SESSION_ENTRY, level) if previous is not None else None
    changes: tuple[StepChange, ...] = ()
    message = now.message
    if previous is not None and before is not None and message is None:
        if before.message is None:
            changes = compare_windows(current, previous, settings.alpha)
        elif previous.entered == 0 and previous.problem is None:
            message = "No sessions in the previous window: nothing to compare with"
        else:
            message = f"Previous window: {before.message}"
    return FunnelReport(
        kind=WINDOW,
        entry_step=SESSION_ENTRY,
        current=now,
        previous=before,
        changes=changes,
        dimension=None,
        segments=(),
        other_values=0,
        experiment=None,
        alpha=settings.alpha,
        level=level,
        message=message,
    )


# --------------------------------------------------------------------------- segments


def analyze_segments(
    dimension: str,
    rows: Sequence[SegmentCounts],
    top: int = TOP_SEGMENTS,
    settings: ExperimentSettings | None = None,
) -> FunnelReport:
    """One funnel per value of ``dimension`` (top ``top`` by sessions, the rest summed)."""
    settings = settings or ExperimentSettings()
    level = settings.level

    def report(
        segments: tuple[SegmentRow, ...],
        others: int,
        total: FunnelSummary | None,
        message: str | None,
    ) -> FunnelReport:
        return FunnelReport(
            kind=SEGMENTS,
            entry_step=SESSION_ENTRY,
            current=total,
            previous=None,
            changes=(),
            dimension=dimension,
            segments=segments,
            other_values=others,
            experiment=None,
            alpha=settings.alpha,
            level=level,
            message=message,
        )

    if dimension not in DIMENSIONS:
        return report(
            (), 0, None, f"Unknown dimension {dimension!r}: use {' or '.join(DIMENSIONS)}"
        )
    if top < 1:
        return report((), 0, None, "top must be at least 1")
    duplicates = sorted(v for v, n in Counter(r.value for r in rows).items() if n > 1)
    if duplicates:
        return report((), 0, None, f"Invalid data: {', '.join(duplicates)} appears more than once")
    problems = [f"{r.value}: {r.counts.problem}" for r in rows if r.counts.problem]
    if problems:
        return report((), 0, None, f"Invalid data: {problems[0]}")
    ordered = sorted(rows, key=lambda r: (-r.counts.entered, r.value))
    ordered = [r for r in ordered if r.counts.entered > 0]
    if not ordered:
        return report(
            (), 0, summarize(FunnelCounts(0, 0, 0, 0), level=level), "No sessions in this window"
        )
    kept, rest = ordered[:top], ordered[top:]
    segments = [SegmentRow(r.value, summarize(r.counts, level=level), False) for r in kept]
    if rest:
        summed = _sum_counts(r.counts for r in rest)
        segments.append(SegmentRow(OTHERS, summarize(summed, level=level), True))
    total = summarize(_sum_counts(r.counts for r in ordered), level=level)
    return report(tuple(segments), len(rest), total, None)


def _sum_counts(counts: Iterable[FunnelCounts]) -> FunnelCounts:
    total = FunnelCounts(0, 0, 0, 0)
    for c in counts:
        total = total + c
    return total


# --------------------------------------------------------------------------- experiment


def _step_variant(name: str, counts: FunnelCounts, i: int) -> VariantData:
    """Step i's conversion as a stats.VariantData: n = the step before, x = the step."""
    return VariantData(name, counts.counts[i - 1], counts.counts[i], 0.0, 0.0)


def analyze_experiment_funnel(
    experiment_id: str,
    variants: Sequence[VariantCounts],
    settings: ExperimentSettings | None = None,
) -> FunnelReport:
    """Each variant's funnel; each treatment's step conversions vs control, Holm across
    steps × treatments; per treatment the steps where it wins or loses."""
    settings = settings or ExperimentSettings()
    level = settings.level

    def report(experiment: ExperimentFunnel | None, message: str | None) -> FunnelReport:
        return FunnelReport(
            kind=EXPERIMENT,
            entry_step=EXPERIMENT_ENTRY,
            current=None,
            previous=None,
            changes=(),
            dimension=None,
            segments=(),
            other_values=0,
            experiment=experiment,
            alpha=settings.alpha,
            level=level,
            message=message,
        )

    if not variants:
        return report(None, f"No exposed users in {experiment_id}")
    names = [v.name for v in variants]
    duplicates = sorted(n for n, k in Counter(names).items() if k > 1)
    if duplicates:
        return report(None, f"Invalid data: variant {', '.join(duplicates)} appears more than once")
    problems = [f"variant {v.name}: {v.counts.problem}" for v in variants if v.counts.problem]
    if problems:
        return report(None, f"Invalid data: {problems[0]}")

    control_name = choose_control(names)
    control = next(v for v in variants if v.name == control_name)
    treatments = sorted((v for v in variants if v.name != control_name), key=lambda v: v.name)
    ordered = (control, *treatments)
    summaries = tuple((v.name, summarize(v.counts, EXPERIMENT_ENTRY, level)) for v in ordered)
    srm = srm_check([VariantData(v.name, v.counts.entered, 0, 0.0, 0.0) for v in ordered], settings)
    lifts = [
        [
            StepLift(
                step,
                compare(
                    _step_variant(control.name, control.counts, i),
                    _step_variant(t.name, t.counts, i),
                    settings,
                ),
            )
            for i, step in enumerate(STEP_NAMES, start=1)
        ]
        for t in treatments
    ]
    lifts, adjustment = _holm_across(lifts, settings.alpha)
    verdicts = tuple(
        _treatment_verdict(t.name, tuple(row), srm)
        for t, row in zip(treatments, lifts, strict=True)
    )
    experiment = ExperimentFunnel(experiment_id, control_name, summaries, verdicts, srm, adjustment)
    message = None if treatments else f"Only one variant ({control_name}): nothing to compare"
    return report(experiment, message)


def _holm_across(
    lifts: list[list[StepLift]], alpha: float
) -> tuple[list[list[StepLift]], str | None]:
    """Holm over every tested (treatment, step) pair; untestable pairs are no hypothesis."""
    tested = [
        (r, s) for r, row in enumerate(lifts) for s, lift in enumerate(row)
        if lift.comparison.p_value is not None
    ]  # fmt: skip
    if len(tested) < 2:
        return lifts, None
    adjusted = holm_adjust([lifts[r][s].comparison.p_value for r, s in tested])  # type: ignore[misc]
    out = [list(row) for row in lifts]
    for (r, s), p_adj in zip(tested, adjusted, strict=True):
        old = out[r][s].comparison
        out[r][s] = StepLift(
            out[r][s].step, replace(old, p_adjusted=p_adj, significant=p_adj < alpha)
        )
    return out, HOLM


def _treatment_verdict(
    treatment: str, lifts: tuple[StepLift, ...], srm: SrmCheck
) -> TreatmentVerdict:
    wins = tuple(lift.step for lift in lifts if lift.wins)
    loses = tuple(lift.step for lift in lifts if lift.loses)
    if srm.flagged:
        kind = SRM
    elif not any(lift.comparison.p_value is not None for lift in lifts):
        kind = NOT_TESTABLE
    elif not wins and not loses:
        kind = NO_DIFFERENCE
    else:
        kind = DIFFERS
    return TreatmentVerdict(treatment, lifts, wins, loses, kind)
