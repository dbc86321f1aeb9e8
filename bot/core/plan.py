"""An experiment's design, from the registry seed, and how far along it is (pure).

The analysts' registry (dbt seed ``experiment_registry``, exposed by the mart
``ab_registry``) gives per experiment: name, hypothesis, owner, primary metric, guardrail
metrics, planned split, start date, planned end date and/or planned users per arm, status.
An experiment without an entry gets ``default_plan``: equal split, conversion as the
primary metric with revenue per user as its guardrail, and a fixed horizon (no planned
end, so the fixed-horizon test is used from the first look, as before the registry).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

CONVERSION = "conversion"
REVENUE_PER_USER = "revenue_per_user"
METRICS = (CONVERSION, REVENUE_PER_USER)
STATUSES = ("planned", "running", "stopped", "completed")


@dataclass(frozen=True)
class ExperimentPlan:
    experiment_id: str
    name: str | None = None
    hypothesis: str | None = None
    owner: str | None = None
    primary_metric: str = CONVERSION
    guardrails: tuple[str, ...] = (REVENUE_PER_USER,)
    split: Mapping[str, float] | None = None  # variant → weight; None = equal
    start_date: date | None = None
    planned_end_date: date | None = None
    # The average arm's planned users: the plan is complete at planned_users_per_arm ×
    # number of arms users in total, shared by the split's weights.
    planned_users_per_arm: int | None = None
    status: str = "running"
    registered: bool = False  # False: the defaults of an experiment without an entry
    # A registry row that couldn't be read at all (``plan_from_row``'s message): the
    # analysis then says "Registry entry unusable: …" instead of using defaults silently.
    unreadable: str | None = None

    @property
    def has_planned_end(self) -> bool:
        return self.planned_end_date is not None or self.planned_users_per_arm is not None

    @property
    def problem(self) -> str | None:
        """Why this registry entry can't be used as written, or None."""
        if self.unreadable:
            return self.unreadable
        if self.primary_metric not in METRICS:
            return f"unknown primary metric {self.primary_metric!r} (one of {', '.join(METRICS)})"
        unknown = [g for g in self.guardrails if g not in METRICS]
        if unknown:
            return f"unknown guardrail metric {', '.join(map(repr, unknown))}"
        if self.primary_metric in self.guardrails:
            return "the primary metric can't also be a guardrail"
        if self.split is not None:
            if len(self.split) < 2:
                return "the planned split needs at least two variants"
            if any(not (math.isfinite(w) and w > 0) for w in self.split.values()):
                return "every weight of the planned split must be positive"
        if self.planned_users_per_arm is not None and self.planned_users_per_arm <= 0:
            return "planned users per arm must be positive"
        if self.start_date and self.planned_end_date and self.planned_end_date < self.start_date:
            return "the planned end date is before the start date"
        if self.status not in STATUSES:
            return f"unknown status {self.status!r} (one of {', '.join(STATUSES)})"
        return None

    def weight_share(self, variant: str, variants: tuple[str, ...]) -> float:
        """The variant's planned share of users (equal when there is no split)."""
        if self.split is None or variant not in self.split:
            return 1 / len(variants)
        return self.split[variant] / sum(self.split.values())


def unreadable_plan(experiment_id: str, message: str) -> ExperimentPlan:
    """The plan of a registry row ``plan_from_row`` refused (``message`` says why)."""
    reason = message.removeprefix(f"{experiment_id}: ")
    return ExperimentPlan(experiment_id, registered=True, unreadable=reason)


def default_plan(experiment_id: str) -> ExperimentPlan:
    """Sane defaults for an experiment without a registry entry."""
    return ExperimentPlan(experiment_id)


@dataclass(frozen=True)
class Progress:
    day: int | None  # 1 on the start date; None without a start date or as-of date
    planned_days: int | None  # start to planned end, both inclusive
    users: int
    planned_users: int | None  # all arms together
    finished: bool  # the planned end (date or users) has been reached
    always_valid: bool  # sequential (peeking-safe) intervals are in use

    @property
    def user_share(self) -> float | None:
        """Users so far as a share of the planned users (e.g. 0.61), or None."""
        return self.users / self.planned_users if self.planned_users else None


def progress(plan: ExperimentPlan, as_of: date | None, users: int, arms: int) -> Progress:
    """How far the experiment is along its plan on ``as_of`` (the data's last full day).

    Sequential until the planned end, by date or by users, whichever comes first; an
    experiment without a planned end (the default) is analysed at a fixed horizon. With
    an end date but no as-of date the end can't be known to be reached: sequential."""
    day = planned_days = planned_users = None
    if plan.start_date is not None and as_of is not None:
        day = (as_of - plan.start_date).days + 1
    if plan.start_date is not None and plan.planned_end_date is not None:
        planned_days = (plan.planned_end_date - plan.start_date).days + 1
    if plan.planned_users_per_arm is not None:
        planned_users = plan.planned_users_per_arm * max(arms, 1)
    by_date = (
        plan.planned_end_date is not None and as_of is not None and as_of >= plan.planned_end_date
    )
    by_users = planned_users is not None and users >= planned_users
    finished = by_date or by_users
    return Progress(
        day, planned_days, users, planned_users, finished, plan.has_planned_end and not finished
    )


# --------------------------------------------------------------------------- registry rows


def parse_split(text: str | None) -> Mapping[str, float] | str | None:
    """``control=90;treatment=10`` → {control: 90, treatment: 10}; None when empty;
    a message when malformed."""
    if text is None or not str(text).strip():
        return None
    weights: dict[str, float] = {}
    for part in str(text).split(";"):
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            weight = float(value)
        except ValueError:
            weight = float("nan")
        if not sep or not name or not math.isfinite(weight) or weight <= 0:
            return f"bad planned split {text!r} (write e.g. control=90;treatment=10)"
        if name in weights:
            return f"variant {name!r} appears twice in the planned split"
        weights[name] = weight
    return weights


def _date(value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):  # also pandas' Timestamp, a datetime subclass
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def plan_from_row(row: Mapping[str, object]) -> ExperimentPlan | str:
    """One ``ab_registry`` (or seed) row → a plan, or a message saying what is wrong with it.
    Missing values may be None or absent; dates may be dates, datetimes or ISO strings."""
    experiment_id = str(row.get("experiment_id") or "")
    if not experiment_id:
        return "a registry row has no experiment_id"
    split = parse_split(row.get("planned_split"))  # type: ignore[arg-type]
    if isinstance(split, str):
        return f"{experiment_id}: {split}"
    guardrails = tuple(
        g.strip() for g in str(row.get("guardrail_metrics") or "").split(";") if g.strip()
    )
    try:
        start, end = _date(row.get("start_date")), _date(row.get("planned_end_date"))
    except ValueError:
        return f"{experiment_id}: a date isn't YYYY-MM-DD"
    users = row.get("planned_users_per_arm")
    try:
        planned_users = None if users in (None, "") else int(users)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return f"{experiment_id}: planned_users_per_arm isn't a whole number"
    plan = ExperimentPlan(
        experiment_id=experiment_id,
        name=_text(row.get("name")),
        hypothesis=_text(row.get("hypothesis")),
        owner=_text(row.get("owner")),
        primary_metric=str(row.get("primary_metric") or CONVERSION),
        guardrails=guardrails,
        split=split,
        start_date=start,
        planned_end_date=end,
        planned_users_per_arm=planned_users,
        status=str(row.get("status") or "running"),
        # ab_registry says; a bare seed row is registered by definition.
        registered=bool(row.get("registered", True)),
    )
    problem = plan.problem
    return f"{experiment_id}: {problem}" if problem else plan


def _text(value: object) -> str | None:
    return None if value is None or str(value) == "" else str(value)
