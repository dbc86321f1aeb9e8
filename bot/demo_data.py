"""Deterministic TheLook-shaped demo data for the embedded (DuckDB) warehouse.

``generate(db_path, users, seed, end)`` writes the raw tables of docs/ARCHITECTURE.md
("Raw tables") into schema ``thelook`` of a DuckDB file, replacing them if present:
``users``, ``orders``, ``order_items``, ``events``, ``experiment_assignments`` and
``products``. Identical arguments give byte-for-byte identical tables: every random draw
comes from one ``numpy.random.Generator`` in a fixed order (the products' attributes from
a second one seeded from the same seed, so that adding them changed no other table), and
every table is sorted by its key before it is written.

How the data is simulated (everything vectorised with numpy; no loop per row):

* **Time span.** ``HISTORY_DAYS`` (730) UTC days ending on ``end`` (default: yesterday,
  UTC). Nothing is created after ``end`` 23:59:59.
* **Users** sign up on days drawn with an exponential growth trend (traffic triples over
  the two years), a weekly pattern (``WEEKDAY_WEIGHTS``) and an evening-heavy time of day.
* **Sessions.** Every user has a sign-up session at ``created_at``. About 60 % of users
  come back: each returner has a visit rate and an exponential "lifetime", so week-n
  retention decays over the weeks (week 1 ≈ 26 %, week 12 ≈ 8 %). Anonymous sessions
  (``user_id`` NULL, about a third of all sessions) follow the same traffic curve and
  never buy.
* **Funnel.** A session walks home → department → product (1–4 views) → cart →
  purchase, dropping off at each step; some abandoned carts end in ``cancel``. A signed-in
  session buys with a probability that depends on the user's propensity, the day (planted
  anomalies) and the experiments the user was exposed to before the session began. A
  buying session ends with a ``purchase`` event and the order's ``created_at`` is that
  event's time, so every order lines up with a purchase session of its user.
* **Orders** have 1–4 items with prices from a fixed, skewed (log-normal) product
  catalogue of ``PRODUCTS`` products (popular ones sell more). ``products`` holds that
  catalogue as TheLook does: ``retail_price`` is the price its items sell for, ``cost``
  35–65 % of it, a department (Men/Women), a category that department sells, a brand,
  a name, a sku and a distribution centre. About 75 % of orders are ``Complete``
  whatever their date, so recent revenue is not biased downwards; ~11 % are
  ``Cancelled``; the rest are ``Returned`` once old enough, otherwise still
  ``Processing`` (first two days) or ``Shipped``.
* **Experiments** (``EXPERIMENTS``) expose users at their first signed-in session inside
  the experiment's window (the last 3–6 weeks); that session and every later one of the
  user buys with the variant's multiplier, so conversion (a Complete order created at or
  after ``assigned_at``) depends on the variant. The multipliers are rescaled to average
  1 over the split, so an experiment moves conversion between its arms but not the
  site-wide revenue. ``checkout_redesign`` has a real lift (≈ +17 % conversion, p ≈ 1e-13
  at 100k users), ``homepage_copy_aa`` none, ``pricing_page_abn`` three variants with
  modest effects, and ``recs_widget_srm`` loses ~11.5 % of its treatment exposure rows (a
  logging bug), so its observed split is ~53/47 instead of 50/50 (SRM χ² p ≈ 1e-7 at
  100k users; at a few thousand users the mismatch is within noise). About 0.3 % of
  exposed users (at least one per experiment) also get a row in a different variant
  (data-quality exclusions) and ~8 % a repeated row of their own variant later on (only
  the first exposure counts).

Default scale (100k users, seed 42): ~123k orders, ~180k items, ~2.47M events, ~52k
exposure rows; about 13 s and 0.7 GB peak RSS on a shared 2-core machine.

Planted revenue anomalies (``ANOMALIES``): the purchase probability of every session on
``end − 3 days`` is multiplied by 0.3 (a checkout outage), on ``end − 11 days`` by 2.6
(a flash sale; ≈ 2.1× revenue after the 0.9 cap on a session's purchase probability)
and on ``end − 26 days`` by 0.45 (a payment-provider incident). The three days fall on
three different weekdays, so each is judged against eight clean same-weekday days by a
median ± k·MAD detector. ``planted_anomalies(end)`` returns their dates. They stand out
from about 30k users up; at a few thousand users a day has only a handful of orders and
they drown in the noise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

HISTORY_DAYS = 730
DAY = 86_400
MISSING = -(1 << 62)  # epoch-seconds stand-in for a NULL timestamp (any real one is valid)
# A session lasts at most MAX_EVENTS_PER_SESSION - 1 gaps of MAX_GAP_S seconds, so no
# session starting before ``end`` 23:59:59 − SESSION_GUARD_S can spill past the end.
MAX_GAP_S = 300
MAX_EVENTS_PER_SESSION = 8
SESSION_GUARD_S = MAX_GAP_S * (MAX_EVENTS_PER_SESSION - 1) + 60

# Mon..Sun traffic multipliers (Sunday/Monday evenings busiest, Saturday quietest).
WEEKDAY_WEIGHTS = np.array([1.00, 0.96, 0.94, 0.95, 0.86, 0.80, 0.92])
# UTC hour-of-day weights: quiet at night, busy in the evening.
HOUR_WEIGHTS = np.array(
    [3, 2, 1.5, 1, 1, 1.2, 1.8, 2.5, 3.2, 3.8, 4, 4.2,
     4.4, 4.5, 4.6, 4.8, 5, 5.4, 6, 6.4, 6.2, 5.6, 4.8, 3.8]
)  # fmt: skip
GROWTH = np.log(3.0)  # traffic triples over the history

RETURNER_SHARE = 0.6
VISIT_RATE_PER_DAY = 0.12  # mean return-visit rate of a returner while "alive"
LIFETIME_MEAN_DAYS = 70.0
ANON_SESSIONS_PER_USER = 2.35
BASE_PURCHASE_PROB = 0.25
MAX_PURCHASE_PROB = 0.9
PROPENSITY_SHAPE = 2.0  # gamma shape of per-user purchase propensity (mean 1)

PRODUCTS = 29_120  # TheLook's catalogue size; fixed, not scaled with users
ITEMS_PER_ORDER_P = np.array([0.70, 0.18, 0.08, 0.04])  # 1..4 items
PRODUCT_VIEWS_P = np.array([0.50, 0.27, 0.15, 0.08])  # 1..4 product views
# Non-buying sessions stop after: home, department, product, cart.
DEPTH_P_SIGNED_IN = np.array([0.22, 0.20, 0.38, 0.20])
DEPTH_P_ANONYMOUS = np.array([0.35, 0.22, 0.33, 0.10])
CANCEL_AFTER_CART_P = 0.3

EVENT_TYPES = ("home", "department", "product", "cart", "purchase", "cancel")
HOME, DEPARTMENT, PRODUCT, CART, PURCHASE, CANCEL = range(6)
STATUSES = ("Processing", "Shipped", "Complete", "Cancelled", "Returned")
PROCESSING, SHIPPED, COMPLETE, CANCELLED, RETURNED = range(5)
COMPLETE_SHARE = 0.75
CANCELLED_SHARE = 0.11
STUCK_SHARE = 0.03  # old orders still Shipped/Processing

FIRST_NAMES_M = (
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph",
    "Thomas", "Charles", "Daniel", "Matthew", "Anthony", "Mark", "Paul", "Steven",
    "Andrew", "Kevin", "Brian", "George", "Luis", "Carlos", "Wei", "Hiroshi", "Lukas",
)  # fmt: skip
FIRST_NAMES_F = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica",
    "Sarah", "Karen", "Nancy", "Lisa", "Betty", "Margaret", "Sandra", "Ashley",
    "Emily", "Donna", "Michelle", "Carol", "Ana", "Sofia", "Mei", "Yuki", "Emma",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
    "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
    "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Wang", "Li", "Kim",
    "Silva", "Santos", "Muller", "Schmidt", "Dubois", "Rossi", "Tanaka",
)  # fmt: skip
STREET_NAMES = (
    "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park",
    "Main", "Sunset", "River", "Church", "Mill", "Spring",
)  # fmt: skip
STREET_SUFFIXES = ("Street", "Avenue", "Road", "Lane", "Drive", "Way")
# (city, state, postal_code, country, latitude, longitude, weight)
LOCATIONS = (
    ("Shanghai", "Shanghai", "200000", "China", 31.23, 121.47, 14),
    ("Beijing", "Beijing", "100000", "China", 39.90, 116.40, 11),
    ("Guangzhou", "Guangdong", "510000", "China", 23.13, 113.26, 9),
    ("New York", "New York", "10001", "United States", 40.71, -74.01, 7),
    ("Los Angeles", "California", "90001", "United States", 34.05, -118.24, 6),
    ("Chicago", "Illinois", "60601", "United States", 41.88, -87.63, 4),
    ("Houston", "Texas", "77001", "United States", 29.76, -95.37, 4),
    ("Seattle", "Washington", "98101", "United States", 47.61, -122.33, 2),
    ("Sao Paulo", "Sao Paulo", "01000-000", "Brasil", -23.55, -46.63, 8),
    ("Rio de Janeiro", "Rio de Janeiro", "20000-000", "Brasil", -22.91, -43.17, 5),
    ("Seoul", "Seoul", "04524", "South Korea", 37.57, 126.98, 4),
    ("Paris", "Ile-de-France", "75001", "France", 48.86, 2.35, 4),
    ("Lyon", "Auvergne-Rhone-Alpes", "69001", "France", 45.76, 4.84, 1),
    ("London", "England", "EC1A 1BB", "United Kingdom", 51.51, -0.13, 4),
    ("Manchester", "England", "M1 1AE", "United Kingdom", 53.48, -2.24, 1),
    ("Berlin", "Berlin", "10115", "Germany", 52.52, 13.40, 3),
    ("Munich", "Bayern", "80331", "Germany", 48.14, 11.58, 1),
    ("Madrid", "Madrid", "28001", "Spain", 40.42, -3.70, 3),
    ("Barcelona", "Catalonia", "08001", "Spain", 41.39, 2.17, 1),
    ("Tokyo", "Tokyo", "100-0001", "Japan", 35.68, 139.69, 2),
    ("Sydney", "New South Wales", "2000", "Australia", -33.87, 151.21, 2),
    ("Brussels", "Brussels", "1000", "Belgium", 50.85, 4.35, 1),
    ("Warsaw", "Mazowieckie", "00-001", "Poland", 52.23, 21.01, 1),
    ("Bogota", "Bogota", "110111", "Colombia", 4.71, -74.07, 1),
    ("Vienna", "Wien", "1010", "Austria", 48.21, 16.37, 1),
)
# (value, weight) pairs.
USER_TRAFFIC = (
    ("Search", 0.70), ("Organic", 0.15), ("Facebook", 0.06), ("Email", 0.05), ("Display", 0.04),
)  # fmt: skip
EVENT_TRAFFIC = (
    ("Email", 0.45), ("Adwords", 0.30), ("Facebook", 0.10), ("YouTube", 0.10), ("Organic", 0.05),
)  # fmt: skip
BROWSERS = (
    ("Chrome", 0.50), ("Safari", 0.20), ("Firefox", 0.20), ("IE", 0.05), ("Other", 0.05),
)  # fmt: skip
DEPARTMENTS = ("men", "women")
# The products table (TheLook's catalogue). Its attributes come from a generator of their
# own (``_product_rng``), so adding it changed no draw of the tables above: sale prices
# are still the catalogue prices drawn in ``_orders``, now also the products' retail_price.
PRODUCT_DEPARTMENTS = ("Men", "Women")
# (category as TheLook spells it, item noun for product names, departments that sell it:
# 0 Men, 1 Women, 2 both)
PRODUCT_CATEGORIES = (
    ("Jeans", "Jean", 2), ("Tops & Tees", "Tee", 2), ("Sweaters", "Sweater", 2),
    ("Outerwear & Coats", "Jacket", 2), ("Shorts", "Short", 2), ("Swim", "Swimsuit", 2),
    ("Accessories", "Belt", 2), ("Active", "Training Top", 2),
    ("Sleep & Lounge", "Lounge Pant", 2), ("Socks", "Crew Sock", 2), ("Pants", "Chino", 2),
    ("Fashion Hoodies & Sweatshirts", "Hoodie", 2), ("Underwear", "Boxer Brief", 0),
    ("Suits & Sport Coats", "Blazer", 0), ("Intimates", "Bralette", 1), ("Dresses", "Dress", 1),
    ("Skirts", "Skirt", 1), ("Leggings", "Legging", 1), ("Blazers & Jackets", "Blazer", 1),
    ("Jumpsuits & Rompers", "Romper", 1), ("Maternity", "Maternity Top", 1),
)  # fmt: skip
PRODUCT_BRANDS = (
    "Allegra K", "Calvin Klein", "Carhartt", "Hanes", "Volcom", "Nautica", "Quiksilver",
    "Levi's", "Tommy Hilfiger", "Columbia", "Dockers", "Diesel", "Champion", "Hurley",
    "Wrangler", "Lucky Brand", "Adidas", "Nike", "Under Armour", "Speedo", "Jockey",
    "Fruit of the Loom", "Ray-Ban", "Patagonia", "Ralph Lauren", "FineBrandShop",
)  # fmt: skip
PRODUCT_STYLES = ("Classic", "Slim Fit", "Relaxed", "Essential", "Vintage", "Premium", "Stretch")
COST_SHARE = (0.35, 0.65)  # cost / retail_price, uniform: every cost is below its price
DISTRIBUTION_CENTERS = 10
PRODUCT_STREAM = 1  # SeedSequence key of the products' own generator
CATEGORIES = (
    "jeans", "tops-tees", "sweaters", "outerwear-coats", "shorts", "swim", "dresses",
    "intimates", "accessories", "active", "sleep-lounge", "socks", "pants", "suits",
)  # fmt: skip


@dataclass(frozen=True)
class Anomaly:
    """A day whose purchase probability is multiplied by ``factor``."""

    offset_days: int  # days before ``end``
    factor: float
    label: str


ANOMALIES = (
    Anomaly(3, 0.30, "checkout outage"),
    Anomaly(11, 2.6, "flash sale"),
    Anomaly(26, 0.45, "payment-provider incident"),
)


def planted_anomalies(end: date) -> list[date]:
    """Dates of the planted revenue anomalies for data ending on ``end`` (oldest first)."""
    return sorted(end - timedelta(days=a.offset_days) for a in ANOMALIES)


@dataclass(frozen=True)
class Experiment:
    """A demo experiment: exposure window, split, logging loss and conversion effects."""

    experiment_id: str
    variants: tuple[str, ...]
    split: tuple[float, ...]  # intended randomisation probabilities
    effects: tuple[float, ...]  # purchase-probability multiplier from exposure on
    start_offset_days: int  # window runs from end − start_offset_days to end
    coverage: float  # share of eligible users exposed
    logged: tuple[float, ...] = ()  # probability an exposure row is recorded (default 1)

    def multipliers(self) -> np.ndarray:
        """Per-variant purchase multipliers, rescaled to average 1 over the split.

        The ratios between variants are ``effects``; the rescaling keeps site-wide
        revenue level when an experiment starts, so the planted anomalies stay the only
        revenue anomalies in the data."""
        effects = np.asarray(self.effects, dtype=float)
        return effects / float(np.dot(self.split, effects))


EXPERIMENTS = (
    Experiment(
        experiment_id="checkout_redesign",
        variants=("control", "treatment"),
        split=(0.5, 0.5),
        effects=(1.0, 1.28),  # a real lift (≈ +15–20 % in conversion)
        start_offset_days=41,
        coverage=1.0,
    ),
    Experiment(
        experiment_id="homepage_copy_aa",
        variants=("control", "treatment"),
        split=(0.5, 0.5),
        effects=(1.0, 1.0),  # A/A: no effect
        start_offset_days=27,
        coverage=0.9,
    ),
    Experiment(
        experiment_id="pricing_page_abn",
        variants=("control", "B", "C"),
        split=(1 / 3, 1 / 3, 1 / 3),
        effects=(1.0, 1.08, 0.95),  # modest effects both ways
        start_offset_days=34,
        coverage=0.9,
    ),
    Experiment(
        experiment_id="recs_widget_srm",
        variants=("control", "treatment"),
        split=(0.5, 0.5),
        effects=(1.0, 1.03),
        start_offset_days=20,
        coverage=0.9,
        logged=(1.0, 0.885),  # treatment exposures partly lost: sample-ratio mismatch
    ),
)
DUAL_VARIANT_SHARE = 0.003
REPEAT_ROW_SHARE = 0.08

TABLES = ("users", "orders", "order_items", "events", "experiment_assignments", "products")


def default_end() -> date:
    """Yesterday in UTC: the last complete day."""
    return datetime.now(UTC).date() - timedelta(days=1)


def generate(
    db_path: Path,
    users: int = 100_000,
    seed: int = 42,
    end: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write the demo raw tables into schema ``thelook`` of ``db_path``; return row counts.

    ``progress`` is told, in plain words, what is being done (table by table, with row
    counts): the terminal edge shows it (``bot.progress``).
    """
    if users < 1:
        raise ValueError("users must be at least 1")
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    report = progress or _quiet
    end = end or default_end()
    report(f"simulating {users:,} users")
    tables = _simulate(np.random.default_rng(seed), users, end)
    tables["products"] = _products(_product_rng(seed), tables.pop("catalogue_prices"))
    _write(Path(db_path), tables, seed, report)
    report("adding the planned experiments")
    counts = {name: tables[name].num_rows for name in TABLES}
    counts["experiment_assignments"] += _add_planned_experiments(Path(db_path), seed, end)
    return counts


def _quiet(status: str) -> None:
    """No progress wanted."""


# --------------------------------------------------------------------------- simulation


@dataclass(frozen=True)
class _Clock:
    t0: int  # epoch seconds of the first day 00:00 UTC
    days: int
    end_ts: int  # epoch seconds of end 23:59:59 UTC

    def day_of(self, ts: np.ndarray) -> np.ndarray:
        return (ts - self.t0) // DAY

    def weekday_of_day(self, day: np.ndarray) -> np.ndarray:
        # Monday = 0, like date.weekday().
        return (day + _weekday(self.t0)) % 7


def _weekday(ts: int) -> int:
    return datetime.fromtimestamp(ts, UTC).weekday()


def _clock(end: date) -> _Clock:
    start = end - timedelta(days=HISTORY_DAYS - 1)
    t0 = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
    return _Clock(t0=t0, days=HISTORY_DAYS, end_ts=t0 + HISTORY_DAYS * DAY - 1)


def _pick(rng: np.random.Generator, weights: Sequence[float], size: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum()).astype(np.int16)


def _time_of_day(rng: np.random.Generator, size: int) -> np.ndarray:
    hour = _pick(rng, HOUR_WEIGHTS, size).astype(np.int64)
    return hour * 3600 + rng.integers(0, 3600, size)


def _traffic_day_weights(clock: _Clock) -> np.ndarray:
    day = np.arange(clock.days)
    trend = np.exp(GROWTH * day / (clock.days - 1))
    return trend * WEEKDAY_WEIGHTS[clock.weekday_of_day(day)]


def _start_times(rng: np.random.Generator, clock: _Clock, day: np.ndarray) -> np.ndarray:
    ts = clock.t0 + day.astype(np.int64) * DAY + _time_of_day(rng, len(day))
    # Keep every session (at most SESSION_GUARD_S long) inside the data span.
    return np.minimum(ts, clock.end_ts - SESSION_GUARD_S)


def _simulate(rng: np.random.Generator, n_users: int, end: date) -> dict[str, pa.Table]:
    clock = _clock(end)
    day_w = _traffic_day_weights(clock)
    signup_day = rng.choice(clock.days, size=n_users, p=day_w / day_w.sum())
    signup_day.sort()  # user ids follow sign-up order
    created = np.sort(_start_times(rng, clock, signup_day))
    home = _pick(rng, [loc[6] for loc in LOCATIONS], n_users)  # users' home locations
    sessions = _sessions(rng, clock, created, day_w)
    exposures = _exposures(rng, clock, sessions)
    buy = _purchases(rng, clock, sessions, exposures, n_users)
    events, purchase_ts = _events(rng, sessions, buy, home)
    # The catalogue prices are drawn inside _orders, where they always were (moving the
    # draw would change every later draw); they come back for the products table.
    orders, items, prices = _orders(rng, clock, sessions, buy, purchase_ts)
    return {
        "catalogue_prices": pa.table({"retail_price": prices}),
        "users": _users(rng, created, home),
        "orders": orders,
        "order_items": items,
        "events": events,
        "experiment_assignments": _assignments(rng, clock, exposures),
    }


def _sessions(
    rng: np.random.Generator, clock: _Clock, created: np.ndarray, day_w: np.ndarray
) -> dict[str, np.ndarray]:
    """All sessions sorted by start: user index (−1 = anonymous) and start time."""
    n = len(created)
    signup_day = clock.day_of(created)
    returner = rng.random(n) < RETURNER_SHARE
    rate = rng.gamma(1.5, VISIT_RATE_PER_DAY / 1.5, n)
    life = rng.exponential(LIFETIME_MEAN_DAYS, n)
    span = np.minimum(life, clock.days - 1 - signup_day)
    visits = rng.poisson(rate * span) * returner
    owner = np.repeat(np.arange(n), visits)
    # Return visits fall on days 1..span after sign-up, thinned by the weekday pattern.
    offset = np.maximum(1, np.ceil(rng.random(len(owner)) * span[owner])).astype(np.int64)
    day = signup_day[owner] + offset
    keep = rng.random(len(owner)) < WEEKDAY_WEIGHTS[clock.weekday_of_day(day)]
    owner, day = owner[keep], day[keep]
    returns = _start_times(rng, clock, day)

    n_anon = round(ANON_SESSIONS_PER_USER * n)
    anon_day = rng.choice(clock.days, size=n_anon, p=day_w / day_w.sum())
    anon = _start_times(rng, clock, anon_day)

    user = np.concatenate([np.arange(n), owner, np.full(n_anon, -1)])
    start = np.concatenate([created, returns, anon])
    order = np.lexsort((user, start))
    return {"user": user[order], "start": start[order]}


def _exposures(
    rng: np.random.Generator, clock: _Clock, sessions: dict
) -> list[dict[str, np.ndarray]]:
    """Per experiment: exposed users, their variant, exposure time and logging flag."""
    out = []
    user, start = sessions["user"], sessions["start"]
    for exp in EXPERIMENTS:
        window_start = clock.t0 + (clock.days - 1 - exp.start_offset_days) * DAY
        eligible = (user >= 0) & (start >= window_start)
        # Sessions are sorted by start, so the first occurrence is the first visit.
        who, first = np.unique(user[eligible], return_index=True)
        assigned_at = start[eligible][first]
        covered = rng.random(len(who)) < exp.coverage
        who, assigned_at = who[covered], assigned_at[covered]
        variant = _pick(rng, exp.split, len(who))
        logged_p = np.asarray(exp.logged or (1.0,) * len(exp.variants))
        logged = rng.random(len(who)) < logged_p[variant]
        out.append({"user": who, "variant": variant, "at": assigned_at, "logged": logged})
    return out


def _purchases(
    rng: np.random.Generator, clock: _Clock, sessions: dict, exposures: list, n_users: int
) -> np.ndarray:
    """Whether each session ends in a purchase (anonymous sessions never do)."""
    user, start = sessions["user"], sessions["start"]
    signed_in = user >= 0
    propensity = rng.gamma(PROPENSITY_SHAPE, 1 / PROPENSITY_SHAPE, n_users)
    prob = np.where(signed_in, BASE_PURCHASE_PROB * propensity[np.maximum(user, 0)], 0.0)

    day_factor = np.ones(clock.days)
    for anomaly in ANOMALIES:
        day_factor[clock.days - 1 - anomaly.offset_days] = anomaly.factor
    prob *= day_factor[clock.day_of(start)]

    for exp, exposure in zip(EXPERIMENTS, exposures, strict=True):
        at = np.full(n_users, np.iinfo(np.int64).max)
        effect = np.ones(n_users)
        at[exposure["user"]] = exposure["at"]
        effect[exposure["user"]] = exp.multipliers()[exposure["variant"]]
        uid = np.maximum(user, 0)
        after = signed_in & (start >= at[uid])
        prob = np.where(after, prob * effect[uid], prob)
    return rng.random(len(user)) < np.minimum(prob, MAX_PURCHASE_PROB)


def _events(
    rng: np.random.Generator, sessions: dict, buy: np.ndarray, home: np.ndarray
) -> tuple[pa.Table, np.ndarray]:
    """Expand sessions into funnel events; also return each session's purchase time."""
    user, start = sessions["user"], sessions["start"]
    n = len(user)
    views = _pick(rng, PRODUCT_VIEWS_P, n).astype(np.int64) + 1
    depth_in = _pick(rng, DEPTH_P_SIGNED_IN, n)
    depth_anon = _pick(rng, DEPTH_P_ANONYMOUS, n)
    depth = np.where(user >= 0, depth_in, depth_anon).astype(np.int64)  # 0 home .. 3 cart
    depth[buy] = 4
    cancel = (depth == 3) & (rng.random(n) < CANCEL_AFTER_CART_P)
    # Events per session: home, department, `views` products, cart, purchase|cancel.
    length = np.minimum(depth, 2) + 1 + np.where(depth >= 2, views - 1, 0)
    # (bool + bool is a logical or in numpy, hence the int casts)
    length += (depth >= 3).astype(np.int64) + (depth == 4) + cancel

    sid = np.repeat(np.arange(n), length)
    first = np.cumsum(length) - length
    pos = np.arange(len(sid)) - first[sid]  # 0-based position in the session
    v = views[sid]
    etype = np.where(depth[sid] == 4, PURCHASE, CANCEL).astype(np.int8)  # the last step
    etype[pos == 2 + v] = CART
    etype[pos < 2 + v] = PRODUCT
    etype[pos == 1] = DEPARTMENT
    etype[pos == 0] = HOME

    gap = np.minimum(rng.exponential(55, len(sid)).astype(np.int64) + 5, MAX_GAP_S)
    gap[first] = 0
    elapsed = np.cumsum(gap) - np.repeat(np.cumsum(gap)[first], length)
    ts = start[sid] + elapsed
    purchase_ts = np.full(n, MISSING, dtype=np.int64)
    is_purchase = etype == PURCHASE
    purchase_ts[sid[is_purchase]] = ts[is_purchase]

    # Session-level attributes, spread over the session's events.
    anon_loc = _pick(rng, [loc[6] for loc in LOCATIONS], n)
    loc = np.where(user >= 0, home[np.maximum(user, 0)], anon_loc)
    browser = _pick(rng, [w for _, w in BROWSERS], n)
    traffic = _pick(rng, [w for _, w in EVENT_TRAFFIC], n)
    ip = rng.integers(1 << 24, (224 << 24) - 1, n)
    dept = rng.integers(0, len(DEPARTMENTS), len(sid)).astype(np.int8)
    category = rng.integers(0, len(CATEGORIES), len(sid)).astype(np.int8)
    product = rng.integers(1, PRODUCTS + 1, len(sid))

    # Ids follow time; sessions are already in start order and events within a session
    # in sequence order, so a stable sort on the timestamp keeps sessions together.
    order = np.argsort(ts, kind="stable")
    table = pa.table(
        {
            "id": np.arange(1, len(sid) + 1),
            "user_id": user[sid][order],
            "sequence_number": pos[order] + 1,
            "session_no": sid[order],
            "created_at": ts[order],
            "ip": ip[sid][order],
            "loc": loc[sid][order],
            "browser": browser[sid][order],
            "traffic": traffic[sid][order],
            "event_type": etype[order],
            "dept": dept[order],
            "category": category[order],
            "product": product[order],
        }
    )
    return table, purchase_ts


def _orders(
    rng: np.random.Generator,
    clock: _Clock,
    sessions: dict,
    buy: np.ndarray,
    purchase_ts: np.ndarray,
) -> tuple[pa.Table, pa.Table, np.ndarray]:
    created = purchase_ts[buy]
    owner = sessions["user"][buy]
    order = np.lexsort((owner, created))
    created, owner = created[order], owner[order]
    n = len(created)
    n_items = _pick(rng, ITEMS_PER_ORDER_P, n).astype(np.int64) + 1

    # Status: Complete and Cancelled shares do not depend on the date; the remainder is
    # Returned once the order is old enough to have come back, else still in flight.
    age = clock.days - 1 - clock.day_of(created)
    u = rng.random(n)
    returned_by_now = rng.random(n) < np.clip((age - 5) / 20, 0, 1)
    in_flight = np.where(age < 2, PROCESSING, SHIPPED)
    status = np.select(
        [u < COMPLETE_SHARE, u < COMPLETE_SHARE + CANCELLED_SHARE, u > 1 - STUCK_SHARE],
        [COMPLETE, CANCELLED, np.where(u > 1 - STUCK_SHARE / 2, PROCESSING, SHIPPED)],
        default=np.where(returned_by_now, RETURNED, in_flight),
    ).astype(np.int8)

    # Fulfilment times; squeezed proportionally when they would pass the end of the data.
    ship = rng.uniform(0.1, 3.0, n) * DAY
    deliver = rng.uniform(1.0, 5.0, n) * DAY
    back = rng.uniform(1.0, 10.0, n) * DAY
    steps = np.select([status == SHIPPED, status == COMPLETE, status == RETURNED], [1, 2, 3], 0)
    total = ship + np.where(steps >= 2, deliver, 0) + np.where(steps >= 3, back, 0)
    room = (clock.end_ts - created).astype(float)
    squeeze = np.minimum(1.0, room / np.maximum(total, 1.0))
    shipped_at = created + (ship * squeeze).astype(np.int64)
    delivered_at = shipped_at + (deliver * squeeze).astype(np.int64)
    returned_at = delivered_at + (back * squeeze).astype(np.int64)
    shipped_at = np.where(steps >= 1, shipped_at, MISSING)
    delivered_at = np.where(steps >= 2, delivered_at, MISSING)
    returned_at = np.where(steps >= 3, returned_at, MISSING)

    order_id = np.arange(1, n + 1)
    orders = pa.table(
        {
            "order_id": order_id,
            "user_id": owner,
            "status": status,
            "created_at": created,
            "returned_at": returned_at,
            "shipped_at": shipped_at,
            "delivered_at": delivered_at,
            "num_of_item": n_items,
        }
    )

    idx = np.repeat(np.arange(n), n_items)
    prices = _catalogue_prices(rng)
    popularity = 1.0 / (np.arange(PRODUCTS) + 10.0) ** 0.8
    product = rng.choice(PRODUCTS, size=len(idx), p=popularity / popularity.sum())
    items = pa.table(
        {
            "id": np.arange(1, len(idx) + 1),
            "order_id": order_id[idx],
            "user_id": owner[idx],
            "product_id": product + 1,
            "inventory_item_id": rng.permutation(len(idx)) + 1,
            "status": status[idx],
            "created_at": created[idx],
            "shipped_at": shipped_at[idx],
            "delivered_at": delivered_at[idx],
            "returned_at": returned_at[idx],
            "sale_price": prices[product],
        }
    )
    return orders, items, prices


def _catalogue_prices(rng: np.random.Generator) -> np.ndarray:
    """Retail prices: log-normal around $40 (mean ≈ $58), from $1.50 to $999."""
    price = np.exp(rng.normal(np.log(40.0), 0.85, PRODUCTS))
    return np.round(np.clip(price, 1.5, 999.0), 2)


def _product_rng(seed: int) -> np.random.Generator:
    """The products' own generator: seeded from ``seed`` but a separate stream, so the
    products table could be added without changing any draw of the other tables."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(PRODUCT_STREAM,)))


def _products(rng: np.random.Generator, prices: pa.Table) -> pa.Table:
    """The catalogue: product ``i + 1`` sells at ``prices[i]`` (order_items.sale_price), its
    cost a uniform 35–65 % of that, its category one its department sells."""
    retail = prices.column("retail_price").to_numpy()
    n = len(retail)
    department = rng.integers(0, len(PRODUCT_DEPARTMENTS), n).astype(np.int8)
    sells = [[i for i, c in enumerate(PRODUCT_CATEGORIES) if c[2] in (d, 2)] for d in (0, 1)]
    u = rng.random(n)  # a uniform category among those the product's department sells
    category = np.empty(n, dtype=np.int16)
    for d, options in enumerate(sells):
        mine = department == d
        category[mine] = np.asarray(options)[(u[mine] * len(options)).astype(np.int64)]
    brand_w = 1.0 / (np.arange(len(PRODUCT_BRANDS)) + 3.0)  # a few big brands, a long tail
    cost = np.round(retail * rng.uniform(*COST_SHARE, n), 2)
    return pa.table(
        {
            "id": np.arange(1, n + 1),
            "cost": cost,
            "category": category,
            "brand": _pick(rng, brand_w, n),
            "style": rng.integers(0, len(PRODUCT_STYLES), n).astype(np.int8),
            "retail_price": retail,
            "department": department,
            "distribution_center_id": rng.integers(1, DISTRIBUTION_CENTERS + 1, n),
        }
    )


def _users(rng: np.random.Generator, created: np.ndarray, loc: np.ndarray) -> pa.Table:
    n = len(created)
    gender = rng.integers(0, 2, n).astype(np.int8)  # 0 = M, 1 = F
    first_m = rng.integers(0, len(FIRST_NAMES_M), n)
    first_f = rng.integers(0, len(FIRST_NAMES_F), n)
    lat = np.array([x[4] for x in LOCATIONS])[loc] + rng.uniform(-0.05, 0.05, n)
    lon = np.array([x[5] for x in LOCATIONS])[loc] + rng.uniform(-0.05, 0.05, n)
    return pa.table(
        {
            "id": np.arange(1, n + 1),
            "gender": gender,
            "first": np.where(gender == 0, first_m, first_f),
            "last": rng.integers(0, len(LAST_NAMES), n),
            "age": rng.integers(12, 71, n),
            "loc": loc,
            "street_no": rng.integers(1, 9999, n),
            "street": rng.integers(0, len(STREET_NAMES), n),
            "suffix": rng.integers(0, len(STREET_SUFFIXES), n),
            "latitude": np.round(lat, 6),
            "longitude": np.round(lon, 6),
            "traffic": _pick(rng, [w for _, w in USER_TRAFFIC], n),
            "created_at": created,
        }
    )


def _some(rng: np.random.Generator, n: int, share: float) -> np.ndarray:
    """A mask of round(share·n) rows, but at least one when n > 1, so that even small
    demo warehouses show every data-quality case."""
    k = min(n, max(1 if n > 1 else 0, round(share * n)))
    mask = np.zeros(n, dtype=bool)
    mask[rng.choice(n, size=k, replace=False)] = True
    return mask


def _assignments(rng: np.random.Generator, clock: _Clock, exposures: list) -> pa.Table:
    """Exposure rows: first exposures (if logged), repeats, and a few wrong-variant rows."""
    parts = []
    for e, (exp, x) in enumerate(zip(EXPERIMENTS, exposures, strict=True)):
        user, variant, at = x["user"][x["logged"]], x["variant"][x["logged"]], x["at"][x["logged"]]
        n, k = len(user), len(exp.variants)
        later = at + (rng.random(n) * (clock.end_ts - at)).astype(np.int64)
        repeat = _some(rng, n, REPEAT_ROW_SHARE)
        dual = _some(rng, n, DUAL_VARIANT_SHARE)
        other = (variant + rng.integers(1, k, n)) % k  # any variant but the user's own
        later2 = at + (rng.random(n) * (clock.end_ts - at)).astype(np.int64)
        parts.append(
            (
                np.full(n + repeat.sum() + dual.sum(), e, dtype=np.int8),
                np.concatenate([user, user[repeat], user[dual]]),
                np.concatenate([variant, variant[repeat], other[dual]]),
                np.concatenate([at, later[repeat], later2[dual]]),
            )
        )
    exp_no, user, variant, at = (np.concatenate(cols) for cols in zip(*parts, strict=True))
    order = np.lexsort((variant, user, at, exp_no))
    return pa.table(
        {
            "experiment": exp_no[order],
            "user_id": user[order] + 1,
            "variant": variant[order],
            "assigned_at": at[order],
        }
    )


# ------------------------------------------------------------------------------ writing


def _sql_list(values: Sequence[str]) -> str:
    """A DuckDB list literal of module constants (never user text)."""
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _ts(column: str) -> str:
    """Epoch seconds (MISSING = NULL) → naive UTC TIMESTAMP."""
    return f"make_timestamp(nullif({column}, {MISSING}) * 1000000)"


def _session_uuid(seed: int) -> str:
    # A per-seed salt so different seeds give different session ids; md5 is only a
    # deterministic spreader here, not security.
    return f"md5('{_salt(seed)}:' || session_no)"


def _salt(seed: int) -> str:
    return hashlib.md5(f"kpi-bot-demo:{seed}".encode()).hexdigest()[:12]


def _select_sql(seed: int) -> dict[str, str]:
    """Per table: a SELECT over the registered arrow table ``src`` that decodes the
    integer codes into TheLook's strings and epoch seconds into timestamps."""
    loc = {name: _sql_list([x[i] for x in LOCATIONS]) for i, name in enumerate(
        ("city", "state", "postal_code", "country"))}  # fmt: skip
    statuses = _sql_list(STATUSES)
    variants = {e: _sql_list(exp.variants) for e, exp in enumerate(EXPERIMENTS)}
    brands = _sql_list(PRODUCT_BRANDS)
    variant_case = " ".join(
        f"when experiment = {e} then {lst}[variant + 1]" for e, lst in variants.items()
    )
    return {
        "users": f"""
            select
                id::bigint as id,
                (case when gender = 0 then {_sql_list(FIRST_NAMES_M)}
                      else {_sql_list(FIRST_NAMES_F)} end)[first + 1] as first_name,
                {_sql_list(LAST_NAMES)}[last + 1] as last_name,
                lower(first_name || '.' || last_name) || id::varchar
                    || '@example.' || ['com', 'net', 'org'][id % 3 + 1] as email,
                age::bigint as age,
                ['M', 'F'][gender + 1] as gender,
                {loc["state"]}[loc + 1] as state,
                street_no::varchar || ' ' || {_sql_list(STREET_NAMES)}[street + 1] || ' '
                    || {_sql_list(STREET_SUFFIXES)}[suffix + 1] as street_address,
                {loc["postal_code"]}[loc + 1] as postal_code,
                {loc["city"]}[loc + 1] as city,
                {loc["country"]}[loc + 1] as country,
                latitude::double as latitude,
                longitude::double as longitude,
                {_sql_list([s for s, _ in USER_TRAFFIC])}[traffic + 1] as traffic_source,
                {_ts("created_at")} as created_at
            from src""",
        "orders": f"""
            select
                order_id::bigint as order_id,
                (user_id + 1)::bigint as user_id,
                {statuses}[status + 1] as status,
                u.gender as gender,
                {_ts("o.created_at")} as created_at,
                {_ts("returned_at")} as returned_at,
                {_ts("shipped_at")} as shipped_at,
                {_ts("delivered_at")} as delivered_at,
                num_of_item::bigint as num_of_item
            from src as o
            join thelook.users as u on u.id = o.user_id + 1
            order by order_id""",
        "order_items": f"""
            select
                id::bigint as id,
                order_id::bigint as order_id,
                (user_id + 1)::bigint as user_id,
                product_id::bigint as product_id,
                inventory_item_id::bigint as inventory_item_id,
                {statuses}[status + 1] as status,
                {_ts("created_at")} as created_at,
                {_ts("shipped_at")} as shipped_at,
                {_ts("delivered_at")} as delivered_at,
                {_ts("returned_at")} as returned_at,
                sale_price::double as sale_price
            from src""",
        "events": f"""
            select
                id::bigint as id,
                (nullif(user_id, -1) + 1)::bigint as user_id,
                sequence_number::bigint as sequence_number,
                concat_ws('-', h[1:8], h[9:12], h[13:16], h[17:20], h[21:32]) as session_id,
                {_ts("created_at")} as created_at,
                concat_ws('.', ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255)
                    as ip_address,
                {loc["city"]}[loc + 1] as city,
                {loc["state"]}[loc + 1] as state,
                {loc["postal_code"]}[loc + 1] as postal_code,
                {_sql_list([s for s, _ in BROWSERS])}[browser + 1] as browser,
                {_sql_list([s for s, _ in EVENT_TRAFFIC])}[traffic + 1] as traffic_source,
                case event_type
                    when {HOME} then '/'
                    when {DEPARTMENT} then '/department/'
                        || {_sql_list(DEPARTMENTS)}[dept + 1] || '/category/'
                        || {_sql_list(CATEGORIES)}[category + 1]
                    when {PRODUCT} then '/product/' || product::varchar
                    else '/' || {_sql_list(EVENT_TYPES)}[event_type + 1]
                end as uri,
                {_sql_list(EVENT_TYPES)}[event_type + 1] as event_type
            from (select *, {_session_uuid(seed)} as h from src)""",
        "products": f"""
            select
                id::bigint as id,
                cost::double as cost,
                {_sql_list([c[0] for c in PRODUCT_CATEGORIES])}[category + 1] as category,
                {brands}[brand + 1] || ' ' || ['Men''s', 'Women''s'][department + 1] || ' '
                    || {_sql_list(PRODUCT_STYLES)}[style + 1] || ' '
                    || {_sql_list([c[1] for c in PRODUCT_CATEGORIES])}[category + 1] as name,
                {brands}[brand + 1] as brand,
                retail_price::double as retail_price,
                {_sql_list(PRODUCT_DEPARTMENTS)}[department + 1] as department,
                upper(md5('{_salt(seed)}:product:' || id::varchar)) as sku,
                distribution_center_id::bigint as distribution_center_id
            from src""",
        "experiment_assignments": f"""
            select
                (user_id)::bigint as user_id,
                {_sql_list([e.experiment_id for e in EXPERIMENTS])}[experiment + 1]
                    as experiment_id,
                case {variant_case} end as variant,
                {_ts("assigned_at")} as assigned_at
            from src""",
    }


def _write(
    db_path: Path, tables: dict[str, pa.Table], seed: int, report: Callable[[str], None]
) -> None:
    statements = _select_sql(seed)
    con = duckdb.connect(str(db_path))
    try:
        con.execute("set enable_progress_bar = false")
        # The arrow tables arrive sorted by key; keeping insertion order writes them in
        # that order without a sort (orders alone re-sorts after its join).
        con.execute("set preserve_insertion_order = true")
        con.execute("begin transaction")
        con.execute("create schema if not exists thelook")
        for i, name in enumerate(TABLES, start=1):  # users first: orders read its gender
            # One statement per table: written in chunks, events took twice as long.
            report(f"writing {name} ({i}/{len(TABLES)} tables, {tables[name].num_rows:,} rows)")
            con.register("src", tables[name])
            con.execute(f"create or replace table thelook.{name} as {statements[name]}")
            con.unregister("src")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.close()


# ------------------------------------------------------------------ planned experiments
# Experiments with a registry entry (dbt_project/seeds/experiment_registry.csv), added
# after the main simulation from their own Generator so the streams above (and every
# table but experiment_assignments) stay exactly as they were. Users are exposed at their
# first signed-in event in the window; their variant is drawn with a probability tilted
# by what they went on to do (converted, spent a little or a lot), which is how these
# demo arms get an effect without touching orders. The tilt is normalised so each arm's
# expected share is the planned split: the SRM check passes.


@dataclass(frozen=True)
class PlannedExperiment:
    experiment_id: str
    variants: tuple[str, str]  # control, treatment
    treatment_share: float  # planned share of the treatment
    start_offset_days: int  # exposures from end − start_offset_days to end
    coverage: float
    tilt_converter_low: float  # treatment odds multiplier: converters spending ≤ median
    tilt_converter_high: float  # ... converters spending more than the median


PLANNED_EXPERIMENTS = (
    # Designed 90/10, still running on the data's last day (registry: 100k users per arm).
    PlannedExperiment(
        "checkout_cautious_rollout", ("control", "treatment"), 0.1, 20, 0.8, 1.3, 1.3
    ),
    # Conversion up, revenue per user down: cheap baskets move to the treatment.
    PlannedExperiment("bundle_discount", ("control", "treatment"), 0.5, 30, 0.8, 1.5, 0.7),
)
PLANNED_STREAM = 17  # mixed with the seed: a Generator of its own


def _add_planned_experiments(db_path: Path, seed: int, end: date) -> int:
    """Insert the PLANNED_EXPERIMENTS' exposure rows; return how many were added."""
    if not PLANNED_EXPERIMENTS:
        return 0
    rng = np.random.default_rng([seed, PLANNED_STREAM])
    con = duckdb.connect(str(db_path))
    try:
        rows = [_planned_rows(con, rng, exp, end) for exp in PLANNED_EXPERIMENTS]
        table = pa.concat_tables(rows)
        con.register("planned", table)
        con.execute(
            "insert into thelook.experiment_assignments "
            "select user_id, experiment_id, variant, assigned_at from planned"
        )
        con.unregister("planned")
        return table.num_rows
    finally:
        con.close()


def _planned_rows(con, rng: np.random.Generator, exp: PlannedExperiment, end: date) -> pa.Table:
    first_day = end - timedelta(days=exp.start_offset_days)
    window_start = datetime(first_day.year, first_day.month, first_day.day)  # naive = UTC
    user, at, orders, revenue = (
        con.execute(
            """with first_visit as (
               select user_id, min(created_at) as at
               from thelook.events
               where user_id is not null and created_at >= ?
               group by user_id
           ),
           order_revenue as (
               select o.user_id, o.order_id, o.created_at, sum(i.sale_price) as revenue
               from thelook.orders as o
               join thelook.order_items as i on i.order_id = o.order_id
               where o.status = 'Complete'
               group by o.user_id, o.order_id, o.created_at
           )
           select f.user_id, f.at, count(r.order_id), coalesce(sum(r.revenue), 0)
           from first_visit as f
           left join order_revenue as r on r.user_id = f.user_id and r.created_at >= f.at
           group by f.user_id, f.at
           order by f.user_id""",
            [window_start],
        )
        .fetchnumpy()
        .values()
    )
    covered = rng.random(len(user)) < exp.coverage
    user, at, orders, revenue = user[covered], at[covered], orders[covered], revenue[covered]
    converted = orders > 0
    median = float(np.median(revenue[converted])) if converted.any() else 0.0
    tilt = np.where(
        converted,
        np.where(revenue <= median, exp.tilt_converter_low, exp.tilt_converter_high),
        1.0,
    )
    mean_tilt = float(tilt.mean()) if len(tilt) else 1.0  # a tiny warehouse may have no one
    p_treatment = np.clip(exp.treatment_share * tilt / mean_tilt, 0.0, 1.0)
    treated = rng.random(len(user)) < p_treatment
    return pa.table(
        {
            "user_id": pa.array(user, pa.int64()),
            "experiment_id": pa.array([exp.experiment_id] * len(user), pa.string()),
            "variant": pa.array(np.where(treated, exp.variants[1], exp.variants[0]), pa.string()),
            "assigned_at": pa.array(at),
        }
    )
