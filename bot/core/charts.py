"""KPI charts as PNG bytes (pure: data in, bytes out; no Slack, SQL or environment).

Charts are uploaded to Slack and mostly looked at on phones, so each one is a fixed
1200 × 675 px (16:9) image with large type, labelled axes and the caller's headline
(which carries the headline number) as a left-aligned title. Every chart has a
``build_*_figure`` returning a :class:`~matplotlib.figure.Figure` (for structural tests)
and a ``*_chart`` returning the PNG.

Only matplotlib's object-oriented API is used, never ``pyplot``: pyplot keeps global
figure state, which a threaded server must not share. For the same reason nothing here
touches ``rcParams``; every size and colour is passed to the artist that uses it.

Output is deterministic: fixed size and dpi, no randomness, no clock, and the PNG's
"Software" text chunk is dropped, so the same input gives byte-identical PNGs.

Empty inputs never raise: they give a chart saying "No data in this window".
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.markers import TICKDOWN
from matplotlib.patches import Rectangle
from matplotlib.textpath import text_to_path
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator
from matplotlib.transforms import ScaledTranslation
from PIL import Image

from bot.core import format as fmt
from bot.core.chart_data import FunnelSeries, VariantBar
from bot.core.table import Grid, Rows, as_date, is_null

__all__ = [
    "NO_DATA",
    "FunnelSeries",
    "VariantBar",
    "build_experiment_figure",
    "build_funnel_figure",
    "build_metric_bar_figure",
    "build_metric_line_figure",
    "build_retention_figure",
    "build_revenue_figure",
    "experiment_chart",
    "funnel_chart",
    "metric_bar_chart",
    "metric_line_chart",
    "retention_heatmap",
    "revenue_chart",
    "to_png",
]

# 8 × 4.5 in at 150 dpi = 1200 × 675 px. At 150 dpi one point is ~2.1 px, so the
# 18 pt title is ~37 px tall: still ~20 px when a phone shows the image full-screen.
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.5, 150
TITLE_PT = 18
SUBTITLE_PT = 12.5
LABEL_PT = 14
TICK_PT = 13
VALUE_PT = 14
NOTE_PT = 10.5
NO_DATA = "No data in this window"

# Okabe–Ito colours: distinguishable with every common colour-vision deficiency.
BLUE = "#0072B2"
VERMILLION = "#D55E00"
GREY = "#8C8C8C"
CONTROL_GREY = "#A6A6A6"
INK = "#1A1A1A"  # near-black for text
MUTED = "#555555"  # secondary text
GRID = "#E3E3E3"
EMPTY_CELL = "#F2F2F2"  # retention cells that don't exist yet: not a colour of the scale
HEATMAP_CMAP = "viridis"  # perceptually uniform, colour-blind safe, no white in it

MARGIN_IN = 0.14  # outer margin of title and notes
LONG_WINDOW_DAYS = 60
MAX_ANNOTATED_DAYS = 4
MAX_XTICKS = 8


# ---------------------------------------------------------------------------------
# Shared pieces


def to_png(fig: Figure) -> bytes:
    """Render ``fig`` to PNG bytes, identical for identical figures.

    Encoded by Pillow (a required dependency of matplotlib) rather than ``print_png``:
    every chart has an opaque white background, so the alpha channel carries nothing,
    and an RGB file is ~10 % smaller and quicker to compress. Pillow writes no text
    chunks (no "Software" tag, no timestamp), so equal figures give equal bytes.
    """
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    width, height = canvas.get_width_height()
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buffer = io.BytesIO()
    # Level 3 zlib: ~10 ms faster than the default 6 here, for files within 3 % of size.
    image.convert("RGB").save(buffer, format="PNG", compress_level=3, dpi=(DPI, DPI))
    return buffer.getvalue()


def _text_width_pt(text: str, size: float, weight: str = "normal") -> float:
    """Width of one line of text in points, measured from the font (no renderer).
    Outline widths scale linearly with size, so widths are cached per 1 pt."""
    return _unit_width(text, weight) * size


@functools.lru_cache(maxsize=4096)
def _unit_width(text: str, weight: str) -> float:
    prop = FontProperties(size=1.0, weight=weight)
    width, _, _ = text_to_path.get_text_width_height_descent(text, prop, ismath=False)
    return width


def _wrap(text: str, size: float, weight: str, max_width_pt: float, max_lines: int) -> list[str]:
    """Greedy word wrap by measured width; the last line is cut with an ellipsis."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and _text_width_pt(candidate, size, weight) > max_width_pt:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip() + " …"
    return [_shorten(line, size, weight, max_width_pt) for line in lines]


def _shorten(text: str, size: float, weight: str, max_width_pt: float) -> str:
    if _text_width_pt(text, size, weight) <= max_width_pt:
        return text
    while len(text) > 1 and _text_width_pt(text + "…", size, weight) > max_width_pt:
        text = text[:-1]
    return text.rstrip() + "…"


def _escape_dollars(text: str) -> str:
    """For texts we can't create with parse_math=False (ticks, legends): "$" stays literal."""
    return text.replace("$", r"\$")


def _fit_title(title: str, width_pt: float) -> tuple[list[str], float]:
    """One line if the title fits at 16 pt or more; else two lines at full size, broken
    before the parenthesised comparison when there is one ("… $12.3k" / "(+4 % vs …)")."""
    for size in (TITLE_PT, TITLE_PT - 1, TITLE_PT - 2):
        if _text_width_pt(title, size, "bold") <= width_pt:
            return [title], size
    head, sep, tail = title.partition(" (")
    if sep and _text_width_pt(head, TITLE_PT, "bold") <= width_pt:
        return [head, _shorten("(" + tail, TITLE_PT, "bold", width_pt)], TITLE_PT
    return _wrap(title, TITLE_PT, "bold", width_pt, max_lines=2), TITLE_PT


def _new_figure(
    title: str,
    subtitle: str | None = None,
    note: str | None = None,
    *,
    constrained: bool = True,
) -> tuple[Figure, float, float]:
    """A 1200 × 675 figure with a left-aligned title block on top and an optional
    footnote at the bottom. Returns the figure and the free band for the plot, as
    (bottom, top) in inches from the figure's bottom edge.

    The title and subtitle are figure-level texts aligned with the figure's left edge,
    not the axes', so a long headline gets the full width; their height is computed
    from the measured, wrapped text. With ``constrained`` the free band is handed to
    constrained layout (via its ``rect``); otherwise the caller places its axes.
    """
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, facecolor="white")
    width_pt = (WIDTH_IN - 2 * MARGIN_IN) * 72
    title_lines, title_pt = _fit_title(title, width_pt)
    subtitle_lines = (
        _wrap(subtitle, SUBTITLE_PT, "normal", width_pt, max_lines=2) if subtitle else []
    )
    note_lines = _wrap(note, NOTE_PT, "normal", width_pt, max_lines=2) if note else []

    top_in = MARGIN_IN
    fig.text(
        MARGIN_IN / WIDTH_IN,
        1 - top_in / HEIGHT_IN,
        "\n".join(title_lines),
        ha="left",
        va="top",
        fontsize=title_pt,
        fontweight="bold",
        color=INK,
        linespacing=1.15,
        parse_math=False,
        gid="title",
    )
    top_in += len(title_lines) * title_pt * 1.2 / 72 + 0.04
    if subtitle_lines:
        fig.text(
            MARGIN_IN / WIDTH_IN,
            1 - top_in / HEIGHT_IN,
            "\n".join(subtitle_lines),
            ha="left",
            va="top",
            fontsize=SUBTITLE_PT,
            color=MUTED,
            linespacing=1.2,
            parse_math=False,
            gid="subtitle",
        )
        top_in += len(subtitle_lines) * SUBTITLE_PT * 1.25 / 72 + 0.02
    top_in += 0.06

    bottom_in = 0.0
    if note_lines:
        fig.text(
            MARGIN_IN / WIDTH_IN,
            MARGIN_IN / 2 / HEIGHT_IN,
            "\n".join(note_lines),
            ha="left",
            va="bottom",
            fontsize=NOTE_PT,
            color=MUTED,
            linespacing=1.2,
            parse_math=False,
            gid="note",
        )
        bottom_in = MARGIN_IN / 2 + len(note_lines) * NOTE_PT * 1.25 / 72 + 0.02

    band_top_in = HEIGHT_IN - top_in
    if constrained:
        bottom = bottom_in / HEIGHT_IN
        top = band_top_in / HEIGHT_IN
        fig.set_layout_engine(
            ConstrainedLayoutEngine(rect=(0.0, bottom, 1.0, top - bottom), h_pad=0.06, w_pad=0.08)
        )
    return fig, bottom_in, band_top_in


def _empty_figure(title: str, subtitle: str | None = None, message: str = NO_DATA) -> Figure:
    fig, _, _ = _new_figure(title, subtitle, constrained=False)
    fig.text(
        0.5,
        0.45,
        message,
        ha="center",
        va="center",
        fontsize=20,
        color=MUTED,
        parse_math=False,
        gid="empty",
    )
    return fig


def _style_axes(ax, *, grid_axis: str | None) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color("#BBBBBB")
    ax.tick_params(labelsize=TICK_PT, colors=INK, length=4, color="#BBBBBB")
    if grid_axis:
        ax.grid(axis=grid_axis, color=GRID, linewidth=1.0)
        ax.set_axisbelow(True)


def _as_date(value) -> date | None:
    try:
        return as_date(value)
    except (TypeError, ValueError):
        return None


def _finite(value: float | None) -> bool:
    return value is not None and isinstance(value, int | float) and math.isfinite(value)


def _percent_ticks(top: float, nbins: int, symbol: str = "%") -> tuple[list[float], list[str]]:
    """Ticks for a [0, top] proportion axis, labelled with as few decimals as the tick
    step needs: "0%, 5%, 10%", but "0%, 0.5%, 1.0%"."""
    ticks = [
        t
        for t in MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10]).tick_values(0, top)
        if -1e-12 <= t <= top + 1e-12
    ]
    decimals = 0
    while decimals < 4 and any(
        abs(t * 100 * 10**decimals - round(t * 100 * 10**decimals)) > 1e-6 for t in ticks
    ):
        decimals += 1
    return ticks, [f"{t * 100:.{decimals}f}{symbol}" for t in ticks]


# ---------------------------------------------------------------------------------
# Revenue: current window vs previous window, overlaid by day offset


def _daily_points(frame) -> list[tuple[date, float]]:
    """(day, revenue) pairs sorted by day from a table with those columns (``Rows``, or
    a DataFrame); rows without a day are dropped, a missing revenue stays NaN (a gap in
    the line, never a made-up zero)."""
    if frame is None or len(frame) == 0 or not {"day", "revenue"} <= set(frame.columns):
        return []
    points = []
    for raw_day, raw_value in zip(frame["day"], frame["revenue"], strict=True):
        day = _as_date(raw_day)
        if day is not None:
            points.append((day, _as_float(raw_value)))
    return sorted(points, key=lambda point: point[0])


def _as_float(value) -> float:
    """A number as a float; NULL or anything unreadable as NaN."""
    if is_null(value):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _day_step(n_days: int) -> int:
    """Tick spacing in days: every day for a week, then whole weeks, then 4-week steps."""
    for step in (1, 2, 7, 14, 28, 56, 91, 182, 364):
        if math.ceil(n_days / step) <= MAX_XTICKS:
            return step
    return max(1, math.ceil(n_days / MAX_XTICKS))


def _currency_formatter(currency: str, top: float) -> FuncFormatter:
    """Compact currency ticks: $800, $1,500, $15k, $1.2M (unit chosen from the axis top)."""
    if top >= 1_000_000:
        scale, suffix = 1_000_000.0, "M"
    elif top >= 10_000:
        scale, suffix = 1_000.0, "k"
    else:
        scale, suffix = 1.0, ""

    def format_tick(value: float, _position: int) -> str:
        sign = "-" if value < 0 else ""
        scaled = abs(value) / scale
        if value == 0:
            return _escape_dollars(f"{currency}0")
        if suffix:
            number = f"{scaled:,.1f}".removesuffix(".0")
        elif top < 10:
            number = f"{scaled:,.2f}"
        else:
            number = f"{scaled:,.0f}"
        return _escape_dollars(f"{sign}{currency}{number}{suffix}")

    return FuncFormatter(format_tick)


def build_revenue_figure(
    current: Rows,
    previous: Rows,
    *,
    title: str,
    current_label: str,
    previous_label: str,
    currency: str = "$",
    highlight_days: Sequence[date] = (),
) -> Figure:
    """Daily revenue of the current window (solid) over the previous one (dashed grey).

    The previous window is aligned by day offset: its first day sits on the current
    window's first day, so "day 5" of both windows share an x position, and the x axis
    shows the current window's dates. Either window may be shorter or empty.
    ``highlight_days`` (days of the current window) get a ring and a value label.
    """
    current_points = _daily_points(current)
    previous_points = _daily_points(previous)
    if not current_points and not previous_points:
        return _empty_figure(title)

    fig, _, _ = _new_figure(title)
    ax = fig.add_subplot()
    _style_axes(ax, grid_axis="y")
    # A little extra gap so the first date doesn't touch the "$0" tick beside it.
    ax.tick_params(axis="x", pad=7)

    def offsets(points: list[tuple[date, float]]) -> list[int]:
        first = points[0][0]
        return [(day - first).days for day, _ in points]

    current_x = offsets(current_points) if current_points else []
    previous_x = offsets(previous_points) if previous_points else []
    n_days = max([*current_x, *previous_x]) + 1
    long_window = n_days > LONG_WINDOW_DAYS
    marker_size = 0.0 if long_window else (5.0 if n_days <= 31 else 3.0)

    if previous_points:
        ax.plot(
            previous_x,
            [value for _, value in previous_points],
            color=GREY,
            linewidth=2.0,
            linestyle=(0, (4, 2.5)),
            marker="o" if len(previous_points) == 1 else "",
            markersize=5,
            label=_escape_dollars(previous_label),
            gid="previous",
            zorder=2,
        )
    if current_points:
        ax.plot(
            current_x,
            [value for _, value in current_points],
            color=BLUE,
            linewidth=2.8,
            marker="o" if marker_size else "",
            markersize=max(marker_size, 6.0 if len(current_points) == 1 else 0.0),
            label=_escape_dollars(current_label),
            gid="current",
            zorder=3,
        )

    values = [value for _, value in (*current_points, *previous_points) if math.isfinite(value)]
    top = max(values, default=0.0)
    bottom = min(0.0, min(values, default=0.0))
    headroom = (top - bottom) * 0.14 if top > bottom else 1.0
    ax.set_ylim(bottom, top + headroom)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
    ax.yaxis.set_major_formatter(_currency_formatter(currency, top + headroom))

    pad = 0.4 if n_days <= 31 else n_days * 0.012
    ax.set_xlim(-pad, n_days - 1 + pad)
    step = _day_step(n_days)
    ticks = list(range(0, n_days, step))
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    if current_points:
        first_day = current_points[0][0]
        tick_days = [first_day + timedelta(days=offset) for offset in ticks]
        labels = []
        for i, day in enumerate(tick_days):
            label = f"{day:%b} {day.day}"
            if (i == 0 and tick_days[-1].year != day.year) or (
                i and tick_days[i - 1].year != day.year
            ):
                label += f"\n{day.year}"
            labels.append(label)
        ax.set_xticks(ticks, labels)
        ax.set_xlabel("Date", fontsize=LABEL_PT, color=INK)
    else:
        ax.set_xticks(ticks, [f"Day {offset + 1}" for offset in ticks])
        ax.set_xlabel("Day of window", fontsize=LABEL_PT, color=INK)
    if not long_window:
        # A small grey mark under every day, drawn as one marker collection rather than
        # as minor ticks: matplotlib builds a Tick (five artists) per minor tick, which
        # cost ~20 ms of CPU per 30-day chart, a fifth of its rendering time. Same look:
        # the minor-tick marker (TICKDOWN), 2.5 pt long, 0.6 pt wide, none under a major.
        major = set(ticks)
        days = [x for x in range(n_days) if x not in major]
        ax.scatter(
            days,
            [0.0] * len(days),
            s=2.5**2,
            marker=TICKDOWN,
            c="#BBBBBB",
            linewidths=0.6,
            transform=ax.get_xaxis_transform(),
            clip_on=False,
            zorder=2.01,
            gid="day-marks",
        )
    ax.set_ylabel("Revenue per day", fontsize=LABEL_PT, color=INK)

    if current_points and highlight_days:
        _mark_days(ax, current_points, current_x, highlight_days, currency, n_days, top + headroom)

    # Current window first; the rings explain themselves through their labels, and a
    # third entry would not fit on one line above the plot.
    by_gid = {line.get_gid(): line for line in ax.lines}
    handles = [by_gid[gid] for gid in ("current", "previous") if gid in by_gid]
    # Side by side when both entries fit above the plot, else stacked.
    entries_pt = (
        sum((2.6 + 0.8) * TICK_PT + _text_width_pt(line.get_label(), TICK_PT) for line in handles)
        + 1.6 * TICK_PT
    )
    legend = ax.legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=2 if entries_pt <= (WIDTH_IN - 1.2) * 72 else 1,
        frameon=False,
        fontsize=TICK_PT,
        handlelength=2.6,
        borderaxespad=0.2,
        columnspacing=1.6,
    )
    for text in legend.get_texts():
        text.set_color(INK)
    return fig


def _mark_days(
    ax,
    points: list[tuple[date, float]],
    xs: list[int],
    highlight_days: Sequence[date],
    currency: str,
    n_days: int,
    y_top: float,
) -> None:
    wanted = {d for d in (_as_date(day) for day in highlight_days) if d is not None}
    marked = [
        (x, day, value)
        for x, (day, value) in zip(xs, points, strict=True)
        if day in wanted and math.isfinite(value)
    ]
    if not marked:
        return
    ax.plot(
        [x for x, _, _ in marked],
        [value for _, _, value in marked],
        linestyle="none",
        marker="o",
        markersize=13,
        markerfacecolor="none",
        markeredgecolor=VERMILLION,
        markeredgewidth=2.6,
        label="_unusual day",
        gid="highlight",
        zorder=4,
    )
    for x, day, value in marked[:MAX_ANNOTATED_DAYS]:
        above = value < y_top * 0.72
        position = x / max(n_days - 1, 1)
        ha = "left" if position < 0.12 else "right" if position > 0.88 else "center"
        ax.annotate(
            f"{day:%a %b} {day.day}\n{fmt.money(value, currency)}",
            xy=(x, value),
            xytext=(0, 16 if above else -16),
            textcoords="offset points",
            ha=ha,
            va="bottom" if above else "top",
            fontsize=12,
            fontweight="bold",
            color=VERMILLION,
            linespacing=1.1,
            parse_math=False,
            gid="highlight-label",
            bbox={
                "boxstyle": "round,pad=0.2",
                "facecolor": "white",
                "edgecolor": "none",
                "alpha": 0.85,
            },
            zorder=5,
        )


def revenue_chart(current: Rows, previous: Rows, **options: Any) -> bytes:
    """PNG of :func:`build_revenue_figure` (same keyword options)."""
    return to_png(build_revenue_figure(current, previous, **options))


def alert_metric_chart(
    days: Rows,
    *,
    title: str,
    label: str,
    ylabel: str,
    day: date,
    day_text: str,
    currency: str = "",
) -> bytes:
    """An alert's chart: the revenue chart's daily line of ``days`` (columns day,
    revenue: any metric's values) with ``day`` ringed, its axis and ringed value
    relabelled for the metric (``ylabel``, ``day_text``)."""
    figure = build_revenue_figure(
        days,
        Rows(("day", "revenue")),
        title=title,
        current_label=label,
        previous_label="",
        currency=currency,
        highlight_days=[day],
    )
    ax = figure.axes[0]
    ax.set_ylabel(ylabel)
    for text in ax.texts:
        if text.get_gid() == "highlight-label":
            text.set_text(day_text)
    return to_png(figure)


# ---------------------------------------------------------------------------------
# Experiment: conversion rate per variant with confidence whiskers


MAX_VARIANT_CHARS = 22


def _middle_ellipsis(text: str, limit: int) -> str:
    """Cut the middle, not the end: variants often differ only in a suffix
    ("new_checkout_flow_v1" / "…_v2"), which must stay visible."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2 + (limit - 1) % 2
    return text[:head] + "…" + text[len(text) - (limit - 1 - head) :]


def _percent_label(rate: float) -> str:
    return fmt.rate(rate) if _finite(rate) else "n/a"


def build_experiment_figure(
    bars: Sequence[VariantBar], *, title: str, subtitle: str | None = None
) -> Figure:
    """Horizontal bars of conversion rate per variant, control first, in grey and
    labelled "(control)"; whiskers show the interval, the rate is printed at the end
    of each bar and the variant's user count under its name. A dashed line marks the
    control's rate so treatments read against it."""
    if not bars:
        return _empty_figure(title, subtitle)
    if all(bar.users <= 0 for bar in bars):
        return _empty_figure(title, subtitle, "No users in this experiment yet")
    # Control(s) on top, the rest in the caller's order.
    ordered = [bar for bar in bars if bar.is_control] + [bar for bar in bars if not bar.is_control]
    fig, _, _ = _new_figure(title, subtitle)
    ax = fig.add_subplot()
    _style_axes(ax, grid_axis="x")

    rates = [bar.rate if _finite(bar.rate) else 0.0 for bar in ordered]
    ends = [
        max(rate, bar.ci_high if _finite(bar.ci_high) else rate)
        for rate, bar in zip(rates, ordered, strict=True)
    ]
    x_max = max(ends) * 1.24 if max(ends) > 0 else 0.01
    positions = list(range(len(ordered)))
    label_pt = TICK_PT if len(ordered) <= 4 else 11.5

    for y, rate, bar in zip(positions, rates, ordered, strict=True):
        colour = CONTROL_GREY if bar.is_control else BLUE
        ax.barh(y, rate, height=0.62, color=colour, gid=f"bar:{bar.name}", zorder=2)
        if _finite(bar.ci_low) and _finite(bar.ci_high):
            low = min(bar.ci_low, rate)
            high = max(bar.ci_high, rate)
            ax.errorbar(
                rate,
                y,
                xerr=[[rate - low], [high - rate]],
                fmt="none",
                ecolor=INK,
                elinewidth=2.0,
                capsize=7,
                capthick=2.0,
                gid=f"ci:{bar.name}",
                zorder=3,
            )
        ax.text(
            max(rate, bar.ci_high if _finite(bar.ci_high) else rate) + x_max * 0.015,
            y,
            _percent_label(bar.rate),
            va="center",
            ha="left",
            fontsize=VALUE_PT,
            fontweight="bold",
            color=INK,
            parse_math=False,
            gid=f"value:{bar.name}",
            bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"},
            zorder=4,
        )

    control = next((bar for bar in ordered if bar.is_control), None)
    if control is not None and _finite(control.rate) and len(ordered) > 1:
        ax.axvline(
            control.rate,
            color=MUTED,
            linewidth=1.2,
            linestyle=(0, (3, 3)),
            zorder=1,
            gid="control-rate",
        )

    labels = []
    for bar in ordered:
        name = _middle_ellipsis(bar.name, MAX_VARIANT_CHARS)
        # Don't say "control (control)"; the grey bar and bold label still mark it.
        suffix = " (control)" if bar.is_control and "control" not in name.lower() else ""
        labels.append(_escape_dollars(f"{name}{suffix}\nn = {bar.users:,}"))
    ax.set_yticks(positions, labels)
    for tick_label, bar in zip(ax.get_yticklabels(), ordered, strict=True):
        tick_label.set_fontsize(label_pt)
        tick_label.set_linespacing(1.25)
        if bar.is_control:
            tick_label.set_fontweight("bold")
    ax.tick_params(axis="y", length=0, pad=8)
    ax.set_ylim(len(ordered) - 0.5, -0.5)  # first bar on top
    ax.set_xlim(0, x_max)
    ax.set_xticks(*_percent_ticks(x_max, nbins=5, symbol=" %"))
    ax.set_xlabel("Conversion rate", fontsize=LABEL_PT, color=INK)
    ax.spines["left"].set_visible(False)
    return fig


def experiment_chart(
    bars: Sequence[VariantBar], *, title: str, subtitle: str | None = None
) -> bytes:
    """PNG of :func:`build_experiment_figure`."""
    return to_png(build_experiment_figure(bars, title=title, subtitle=subtitle))


# ---------------------------------------------------------------------------------
# Retention: cohort × week heatmap

CELL_TEXT_MAX_PT = 12.5
CELL_TEXT_MIN_PT = 7.0  # below this cell values are left out (the colours still show)
ROW_LABEL_MAX_PT = 11.0
ROW_LABEL_MIN_PT = 7.5
COLOURBAR_WIDTH_IN = 0.17


def _cell_text(value: float) -> str:
    """Whole percent from 10 % up, one decimal below (retention after week 1 is often
    a few percent, where the decimal matters)."""
    percent = value * 100
    if 0 < percent < 0.05:
        return "<0.1%"
    return f"{percent:.0f}%" if percent >= 9.95 else f"{percent:.1f}%"


def _is_week_zero(column) -> bool:
    try:
        return int(column) == 0
    except (TypeError, ValueError):
        return False


def _colour_scale_top(values: np.ndarray, week_zero: np.ndarray) -> float:
    """Top of the colour scale: the largest week ≥ 1 rate, rounded up to 5 %.

    Week 0 is ~100 % by construction (signing up is activity) and would squash every
    later week into the bottom of the scale, so it is left out of the scaling: its
    cells show the top colour (the colour bar's arrow says "off scale") while their
    printed value stays exact. Without any week ≥ 1 value, the scale is 0–100 %."""
    later = values[:, ~week_zero]
    later = later[np.isfinite(later)]
    if later.size and later.max() > 0:
        return min(1.0, math.ceil(later.max() * 20 - 1e-9) / 20)
    return 1.0


def _relative_luminance(rgba: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of RGBA rows in [0, 1]."""
    rgb = rgba[..., :3]
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def _contrast(a: float | np.ndarray, b: float | np.ndarray) -> np.ndarray:
    """WCAG contrast ratio between two relative luminances (1:1 to 21:1)."""
    high, low = np.maximum(a, b), np.minimum(a, b)
    return (high + 0.05) / (low + 0.05)


_INK_LUMINANCE = float(_relative_luminance(np.array(to_rgba(INK))))


def _cohort_label(cohort, sizes: Mapping | None) -> str:
    day = _as_date(cohort)
    label = f"{day:%Y-%m-%d}" if day is not None else str(cohort)
    size = None
    if sizes is not None:
        midnight = None if day is None else datetime(day.year, day.month, day.day)
        for key in (cohort, day, midnight):  # a pandas Timestamp key equals the datetime
            if key is None:
                continue
            try:
                size = sizes[key]
                break
            except (KeyError, TypeError, ValueError, IndexError):
                continue
    try:
        size = float(size) if size is not None else None
    except (TypeError, ValueError):
        size = None
    if _finite(size):
        label += f" (n={int(size):,})"
    return label


def build_retention_figure(matrix: Grid, cohort_sizes: Mapping, *, title: str) -> Figure:
    """Cohorts (oldest on top) × weeks since signup; each cell is the share of the
    cohort active that week, printed in the cell while it fits (up to ~30 cohorts),
    dark text on light cells and white on dark ones (chosen per cell by luminance).
    Cells that don't exist yet (NaN) are light grey, a colour outside the scale.
    Colours are viridis scaled on weeks ≥ 1; see ``_colour_scale_top``.

    The layout is computed here from measured label widths rather than by constrained
    layout: the grid is a table whose every label is known up front, and skipping the
    layout pass keeps a 12-cohort heatmap (~80 printed cells) fast to render."""
    if matrix is None or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        return _empty_figure(title)
    values = matrix.to_numpy(dtype="float64", na_value=np.nan)
    n_rows, n_cols = values.shape
    finite = np.isfinite(values)
    has_values = bool(finite.any())
    week_zero = np.array([_is_week_zero(column) for column in matrix.columns])
    vmax = _colour_scale_top(values, week_zero)
    off_scale = has_values and float(values[finite].max()) > vmax
    norm = Normalize(vmin=0.0, vmax=vmax)
    cmap = colormaps[HEATMAP_CMAP]

    # -- layout (inches from the bottom-left corner) --------------------------------
    # Notes are decided before the layout, so cell sizes are estimated from the band.
    fig_probe_rows_pt = (HEIGHT_IN - 1.9) * 72 / n_rows
    printable = has_values and min(CELL_TEXT_MAX_PT, fig_probe_rows_pt * 0.5) >= CELL_TEXT_MIN_PT
    what = "Cells" if printable else "Colours"
    notes = [f"{what}: % of the cohort active that week. Grey: week not complete yet."]
    extra = []
    if off_scale:
        extra.append("Colours are scaled to weeks 1+ (week 0 is off the scale).")
    if has_values and not printable:
        extra.append("Too many cohorts to print values.")
    if extra:
        notes.append(" ".join(extra))
    fig, band_bottom_in, band_top_in = _new_figure(title, note="\n".join(notes), constrained=False)

    top_in = band_top_in - (TICK_PT * 1.3 + LABEL_PT * 1.3 + 6) / 72
    bottom_in = band_bottom_in + 0.12
    grid_h_in = top_in - bottom_in
    row_pt = grid_h_in * 72 / n_rows
    row_label_pt = min(ROW_LABEL_MAX_PT, max(ROW_LABEL_MIN_PT, row_pt * 0.75))
    row_step = max(1, math.ceil(row_label_pt * 1.25 / row_pt))
    shown_rows = list(range(n_rows - 1, -1, -row_step))[::-1]  # always label the newest
    row_labels = [_cohort_label(matrix.index[i], cohort_sizes) for i in shown_rows]
    row_labels_w_in = max(_text_width_pt(label, row_label_pt) for label in row_labels) / 72
    # "Signup week" heads the row labels (like a table's column header) instead of
    # running up the side, which leaves the cells ~0.3 in more width.
    left_in = MARGIN_IN + max(row_labels_w_in, _text_width_pt("Signup week", LABEL_PT) / 72) + 0.1

    tick_values, tick_labels = _percent_ticks(vmax, nbins=4)
    bar_labels_w_in = max(_text_width_pt(label, TICK_PT - 1) for label in tick_labels) / 72
    right_in = 0.14 + COLOURBAR_WIDTH_IN + 0.06 + bar_labels_w_in + MARGIN_IN
    grid_w_in = WIDTH_IN - left_in - right_in
    col_pt = grid_w_in * 72 / n_cols
    widest = max(
        (_text_width_pt(text, 1.0) for text in {_cell_text(v) for v in values[finite]}),
        default=1.0,
    )
    cell_pt = min(CELL_TEXT_MAX_PT, row_pt * 0.58, col_pt * 0.84 / widest)
    show_values = printable and cell_pt >= CELL_TEXT_MIN_PT

    ax = fig.add_axes(
        (left_in / WIDTH_IN, bottom_in / HEIGHT_IN, grid_w_in / WIDTH_IN, grid_h_in / HEIGHT_IN)
    )
    colourbar_ax = fig.add_axes(
        (
            (left_in + grid_w_in + 0.14) / WIDTH_IN,
            bottom_in / HEIGHT_IN,
            COLOURBAR_WIDTH_IN / WIDTH_IN,
            grid_h_in / HEIGHT_IN,
        )
    )

    # -- cells ----------------------------------------------------------------------
    # A mesh, not imshow: no resampling pass, so it draws faster. Masked (NaN) cells
    # aren't drawn at all and show the axes' background: the "not yet" grey.
    ax.set_facecolor(EMPTY_CELL)
    cells = ax.pcolormesh(
        np.arange(n_cols + 1) - 0.5,
        np.arange(n_rows + 1) - 0.5,
        np.ma.masked_invalid(values),
        cmap=cmap,
        norm=norm,
        gid="cells",
    )
    ax.set_xlim(-0.5, n_cols - 0.5)
    ax.set_ylim(n_rows - 0.5, -0.5)  # oldest cohort on top
    # White gutters between cells (two line collections: far cheaper than minor ticks).
    # Rows thinner than a gutter's worth of space get none (they'd be mostly white).
    if n_rows <= 26:
        ax.hlines(np.arange(0.5, n_rows - 1), -0.5, n_cols - 0.5, colors="white", linewidth=2.0)
    ax.vlines(np.arange(0.5, n_cols - 1), -0.5, n_rows - 0.5, colors="white", linewidth=2.0)
    for spine in ax.spines.values():
        spine.set_visible(False)

    # Row and column labels are plain texts, not ticks: a matplotlib tick costs several
    # times a text to build and draw, and a 12-cohort grid would need 25 of them.
    ax.set_xticks([])
    ax.set_yticks([])
    header_gap_in = 4 / 72
    column_transform = ax.get_xaxis_transform() + ScaledTranslation(
        0, header_gap_in, fig.dpi_scale_trans
    )
    for col, column in enumerate(matrix.columns):
        ax.text(
            col,
            1.0,
            str(column),
            transform=column_transform,
            ha="center",
            va="bottom",
            fontsize=TICK_PT,
            color=INK,
            parse_math=False,
            gid="week-label",
        )
    row_transform = ax.get_yaxis_transform() + ScaledTranslation(-5 / 72, 0, fig.dpi_scale_trans)
    for row, label in zip(shown_rows, row_labels, strict=True):
        ax.text(
            0.0,
            row,
            label,
            transform=row_transform,
            ha="right",
            va="center",
            fontsize=row_label_pt,
            color=INK,
            parse_math=False,
            gid="cohort-label",
        )
    ax.xaxis.set_label_position("top")
    ax.set_xlabel("Weeks since signup", fontsize=LABEL_PT, color=INK)
    ax.xaxis.set_label_coords(0.5, 1 + (header_gap_in + TICK_PT * 1.3 / 72 + 0.04) / grid_h_in)
    ax.set_ylabel("Signup week", fontsize=LABEL_PT, color=INK, rotation=0, ha="right", va="bottom")
    ax.yaxis.set_label_coords(-(5 / 72) / grid_w_in, 1 + header_gap_in / grid_h_in)

    if show_values:
        # Per cell, whichever of white and ink contrasts more with the cell (WCAG
        # ratio): the crossover sits at a luminance of ~0.2, so every cell gets >= 4:1.
        luminance = _relative_luminance(cmap(norm(values)))
        light_text_on = _contrast(1.0, luminance) > _contrast(_INK_LUMINANCE, luminance)
        for row, col in zip(*np.nonzero(finite), strict=True):
            ax.text(
                col,
                row,
                _cell_text(values[row, col]),
                ha="center",
                va="center",
                fontsize=cell_pt,
                color="white" if light_text_on[row, col] else INK,
                parse_math=False,
                gid="cell-value",
            )
    elif not has_values:
        ax.text(
            (n_cols - 1) / 2,
            (n_rows - 1) / 2,
            "No complete weeks yet",
            ha="center",
            va="center",
            fontsize=16,
            color=MUTED,
            parse_math=False,
            gid="empty",
        )

    # -- colour bar -----------------------------------------------------------------
    colourbar = fig.colorbar(
        cells,
        cax=colourbar_ax,
        extend="max" if off_scale else "neither",
        extendfrac=0.04,
    )
    colourbar.set_ticks(tick_values, labels=tick_labels)
    colourbar.ax.tick_params(labelsize=TICK_PT - 1, colors=INK, length=3)
    colourbar.outline.set_visible(False)
    colourbar.ax.set_title("active", fontsize=TICK_PT - 1, color=INK, pad=6, loc="left")
    return fig


def retention_heatmap(matrix: Grid, cohort_sizes: Mapping, *, title: str) -> bytes:
    """PNG of :func:`build_retention_figure`."""
    return to_png(build_retention_figure(matrix, cohort_sizes, title=title))


# ---------------------------------------------------------------------------------
# Funnel: share of entrants reaching each step, one bar per series, grouped by step


# Okabe–Ito colours after blue and vermillion, for experiments with several treatments.
SERIES_COLOURS = (BLUE, VERMILLION, "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
MAX_FUNNEL_SERIES = 6
FUNNEL_NOTE = (
    "Bars: share of {unit} reaching the step. Labels: count · conversion from the step before."
)


def _funnel_label(counts: Sequence[int], i: int) -> str:
    """'12,832 · 60.0 %': the count and the step conversion (the entry step: count only)."""
    count = f"{counts[i]:,}"
    if i == 0:
        return count
    before = counts[i - 1]
    return f"{count} · {fmt.rate(counts[i] / before) if before > 0 else 'n/a'}"


def _funnel_x_max(
    shares: Sequence[float], label_widths_pt: Sequence[float], axes_pt: float
) -> float:
    """Axis end leaving room for each bar's label after it: share + width·x_max/axes ≤
    x_max for every bar, solved for x_max (labels are sized in points, bars in data)."""
    x_max = 1.0
    for share, width in zip(shares, label_widths_pt, strict=True):
        room = 1 - (width + 10) / axes_pt
        if room > 0.2:
            x_max = max(x_max, share / room)
    return x_max


def build_funnel_figure(
    steps: Sequence[str],
    series: Sequence[FunnelSeries],
    *,
    title: str,
    subtitle: str | None = None,
    unit: str = "sessions",
) -> Figure:
    """Horizontal bars per step (first step on top, so the bars descend like a funnel),
    one bar per series inside each step, in the caller's order. A bar's length is the
    share of the series' entrants that reached the step, so a window and its previous
    window, or variants of different sizes, read against each other; each bar is labelled
    with its count and its conversion from the step before. Reference series (the
    previous window, the control) are grey with muted labels; others take Okabe–Ito
    colours. Up to six series are drawn."""
    series = list(series)[:MAX_FUNNEL_SERIES]
    if not steps or not series:
        return _empty_figure(title, subtitle)
    if any(len(s.counts) != len(steps) for s in series):
        return _empty_figure(title, subtitle, "The funnel's steps don't match its counts")
    if all(s.counts[0] <= 0 for s in series):
        return _empty_figure(title, subtitle, f"No {unit} in this window")

    # Axes placed by hand rather than by constrained layout: the same result for these
    # short step labels, and ~20 % less drawing time (issue #14's latency budget).
    fig, band_bottom_in, band_top_in = _new_figure(
        title, subtitle, note=FUNNEL_NOTE.format(unit=unit), constrained=False
    )
    steps_w_in = max(_text_width_pt(_escape_dollars(s), LABEL_PT) for s in steps) / 72
    left_in = MARGIN_IN + steps_w_in + (8 + 6) / 72  # tick pad, then a little air
    bottom_in = band_bottom_in + (TICK_PT * 1.3 + LABEL_PT * 1.3 + 10) / 72
    top_in = band_top_in - 0.08
    ax = fig.add_axes(
        (
            left_in / WIDTH_IN,
            bottom_in / HEIGHT_IN,
            (WIDTH_IN - left_in - MARGIN_IN) / WIDTH_IN,
            (top_in - bottom_in) / HEIGHT_IN,
        )
    )
    _style_axes(ax, grid_axis="x")
    value_pt = VALUE_PT if len(series) <= 2 else 11.5 if len(series) <= 4 else 10.5
    group = 0.8
    height = group / len(series)

    colours, colour_index = [], 0
    for s in series:
        if s.is_reference:
            colours.append(CONTROL_GREY)
        else:
            colours.append(SERIES_COLOURS[colour_index % len(SERIES_COLOURS)])
            colour_index += 1

    bars = []  # (y, share, label, series index, step index)
    for k, s in enumerate(series):
        entered = s.counts[0]
        for i, _step in enumerate(steps):
            share = s.counts[i] / entered if entered > 0 else 0.0
            y = i - group / 2 + height * (k + 0.5)
            label = _funnel_label(s.counts, i) if entered > 0 else "no data"
            bars.append((y, share, label, k, i))
    axes_pt = (WIDTH_IN - left_in - MARGIN_IN) * 72  # the axes' width
    x_max = _funnel_x_max(
        [b[1] for b in bars], [_text_width_pt(b[2], value_pt, "bold") for b in bars], axes_pt
    )

    for y, share, label, k, i in bars:
        s = series[k]
        gid = f"{s.name}:{steps[i]}"
        ax.barh(y, share, height=height * 0.9, color=colours[k], gid=f"bar:{gid}", zorder=2)
        ax.text(
            share + x_max * 0.01,
            y,
            label,
            va="center",
            ha="left",
            fontsize=value_pt,
            fontweight="normal" if s.is_reference else "bold",
            color=MUTED if s.is_reference else INK,
            parse_math=False,
            gid=f"value:{gid}",
            zorder=4,
        )

    ax.set_yticks(range(len(steps)), [_escape_dollars(step) for step in steps])
    ax.tick_params(axis="y", length=0, pad=8, labelsize=LABEL_PT)
    ax.set_ylim(len(steps) - 0.5, -0.5)  # first step on top
    ax.set_xlim(0, x_max)
    ticks, labels = _percent_ticks(1.0, nbins=5, symbol=" %")
    ax.set_xticks(ticks, labels)
    ax.set_xlabel(f"Share of {unit} reaching the step", fontsize=LABEL_PT, color=INK)
    ax.spines["left"].set_visible(False)
    if len(series) > 1:
        handles = [
            Rectangle((0, 0), 1, 1, facecolor=colour, gid=f"legend:{s.name}")
            for s, colour in zip(series, colours, strict=True)
        ]
        names = [_escape_dollars(_middle_ellipsis(s.name, MAX_VARIANT_CHARS)) for s in series]
        # Lower right: the last step's bars are the shortest, so that corner is free
        # ("best" searches every placement, a fifth of the drawing time).
        ax.legend(
            handles, names, loc="lower right", fontsize=TICK_PT - 1, frameon=False,
            handlelength=1.2,
        )  # fmt: skip
    return fig


def funnel_chart(
    steps: Sequence[str],
    series: Sequence[FunnelSeries],
    *,
    title: str,
    subtitle: str | None = None,
    unit: str = "sessions",
) -> bytes:
    """PNG of :func:`build_funnel_figure`."""
    return to_png(build_funnel_figure(steps, series, title=title, subtitle=subtitle, unit=unit))


# ---------------------------------------------------------------------------------
# Metrics (the semantic layer): a line over the comparison window, a bar breakdown


def _unit_formatter(unit: str, top: float) -> FuncFormatter:
    """Axis ticks in the metric's unit: money, counts or percentages."""
    if unit == "currency":
        return _currency_formatter("$", top)
    if unit == "ratio":
        digits = 1 if top < 0.1 else 0
        return FuncFormatter(lambda v, _p: f"{v * 100:.{digits}f}%")
    return FuncFormatter(lambda v, _p: f"{v:,.0f}" if top >= 10 else f"{v:,.2g}")


def _period_label(day: date, grain: str) -> str:
    if grain == "month":
        return f"{day:%b} {day.year}"
    return f"{day:%b} {day.day}"


def build_metric_line_figure(
    periods: Sequence[date],
    values: Sequence[float | None],
    previous_values: Sequence[float | None],
    *,
    title: str,
    unit: str,
    grain: str,
    axis_label: str,
    current_label: str,
    previous_label: str,
    partial_first: bool = False,
    partial_last: bool = False,
) -> Figure:
    """One metric per period (solid) over the comparison window's (dashed grey), aligned
    by position: the first period of both windows shares an x position. Missing values
    (a ratio over no rows) are gaps. Partial first/last periods are hollow markers and
    named in a note."""
    have = [v for v in (*values, *previous_values) if v is not None and math.isfinite(v)]
    if not periods or not have:
        return _empty_figure(title)
    partial = [w for w, p in (("first", partial_first), ("last", partial_last)) if p]
    verb, them = ("are", "them") if len(partial) == 2 else ("is", "it")
    note = (
        f"The {' and '.join(partial)} {grain} {verb} partial (the window cuts {them} short)."
        if partial
        else None
    )
    fig, _, _ = _new_figure(title, note=note)
    ax = fig.add_subplot()
    _style_axes(ax, grid_axis="y")
    n = max(len(values), len(previous_values))

    def ys(seq: Sequence[float | None]) -> list[float]:
        return [math.nan if v is None else float(v) for v in seq]

    if previous_values:
        ax.plot(
            range(len(previous_values)), ys(previous_values), color=GREY, linewidth=2.0,
            linestyle=(0, (4, 2.5)), marker="o" if n <= 31 else "", markersize=4,
            label=_escape_dollars(previous_label), gid="previous", zorder=2,
        )  # fmt: skip
    ax.plot(
        range(len(values)), ys(values), color=BLUE, linewidth=2.8,
        marker="o" if n <= 31 else "", markersize=5, label=_escape_dollars(current_label),
        gid="current", zorder=3,
    )  # fmt: skip
    for index, flag in ((0, partial_first), (len(values) - 1, partial_last)):
        if flag and values[index] is not None:
            ax.plot([index], [values[index]], marker="o", markersize=9, markerfacecolor="white",
                    markeredgecolor=BLUE, markeredgewidth=2, linestyle="", zorder=4,
                    gid="partial")  # fmt: skip
    top, bottom = max(have), min(0.0, min(have))
    headroom = (top - bottom) * 0.14 if top > bottom else 1.0
    ax.set_ylim(bottom, top + headroom)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.yaxis.set_major_formatter(_unit_formatter(unit, top + headroom))
    pad = 0.4 if n <= 31 else n * 0.012
    ax.set_xlim(-pad, n - 1 + pad)
    step = max(1, math.ceil(n / MAX_XTICKS))
    ticks = list(range(0, len(periods), step))
    ax.set_xticks(ticks, [_period_label(periods[i], grain) for i in ticks])
    ax.set_xlabel({"day": "Day", "week": "Week starting", "month": "Month"}.get(grain, grain),
                  fontsize=LABEL_PT, color=INK)  # fmt: skip
    ax.set_ylabel(axis_label, fontsize=LABEL_PT, color=INK)
    legend = ax.legend(
        loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, frameon=False, fontsize=TICK_PT,
        handlelength=2.6, borderaxespad=0.2, columnspacing=1.6,
    )  # fmt: skip
    for text in legend.get_texts():
        text.set_color(INK)
    return fig


def metric_line_chart(
    periods: Sequence[date],
    values: Sequence[float | None],
    previous_values: Sequence[float | None],
    **options: Any,
) -> bytes:
    return to_png(build_metric_line_figure(periods, values, previous_values, **options))


def build_metric_bar_figure(
    labels: Sequence[str],
    values: Sequence[float | None],
    changes: Sequence[str],
    *,
    title: str,
    unit: str,
    axis_label: str,
    muted: Sequence[bool] = (),
) -> Figure:
    """Horizontal bars, largest at the top, each labelled with its value's change
    (``changes``, e.g. "+4.2 %"); ``muted`` bars (e.g. "All others") are grey."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not labels or not finite:
        return _empty_figure(title)
    fig, _, _ = _new_figure(title)
    ax = fig.add_subplot()
    _style_axes(ax, grid_axis="x")
    y = list(range(len(labels)))[::-1]  # first row on top
    widths = [0.0 if v is None or not math.isfinite(v) else float(v) for v in values]
    colours = [GREY if (muted and muted[i]) else BLUE for i in range(len(labels))]
    ax.barh(y, widths, color=colours, height=0.7, gid="bars")
    top = max(max(widths), 0.0)
    bottom = min(min(widths), 0.0)
    span = (top - bottom) or 1.0
    ax.set_xlim(bottom, top + span * 0.22)  # room for the change labels
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.xaxis.set_major_formatter(_unit_formatter(unit, top))
    ax.set_yticks(y, [_middle_ellipsis(label, 22) for label in labels])
    size = TICK_PT if len(labels) <= 12 else max(7.0, TICK_PT * 12 / len(labels))
    ax.tick_params(axis="y", labelsize=size)
    for yi, width, change in zip(y, widths, changes, strict=True):
        ax.text(width + span * 0.01, yi, change, va="center", ha="left", fontsize=size * 0.9,
                color=MUTED, parse_math=False)  # fmt: skip
    ax.set_xlabel(axis_label, fontsize=LABEL_PT, color=INK)
    return fig


def metric_bar_chart(
    labels: Sequence[str], values: Sequence[float | None], changes: Sequence[str], **options: Any
) -> bytes:
    return to_png(build_metric_bar_figure(labels, values, changes, **options))
