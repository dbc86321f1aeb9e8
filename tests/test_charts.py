"""Charts: structure, not pixels.

The PNGs are checked for format, size and determinism; everything else is read back
from the ``Figure`` the chart is built from (lines, bars, whiskers, cell texts, colour
bar) and compared with the input data, so a chart that draws the wrong numbers, drops
a window or writes into absent cells fails here.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import struct
import subprocess
import sys
import zlib
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.text import Text

from bot.core import charts
from bot.core.charts import VariantBar

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PNG_BYTES = 250_000

CURRENT_START = date(2026, 10, 26)
PREVIOUS_START = date(2026, 9, 26)
REVENUE_TITLE = "Revenue last 30 days: $41.2k (+4.2 % vs previous)"


# ---------------------------------------------------------------------------------
# Inputs


def revenue_frames(days: int = 30, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Current and previous windows of ``days`` days with distinct, random revenue."""
    rng = np.random.default_rng(seed)
    current = pd.DataFrame(
        {
            "day": [CURRENT_START + timedelta(days=i) for i in range(days)],
            "revenue": rng.gamma(5.0, 300.0, days).round(2),
        }
    )
    previous = pd.DataFrame(
        {
            "day": [CURRENT_START - timedelta(days=days - i) for i in range(days)],
            "revenue": rng.gamma(5.0, 280.0, days).round(2),
        }
    )
    return current, previous


def revenue_png(seed: int = 1) -> bytes:
    current, previous = revenue_frames(seed=seed)
    return charts.revenue_chart(
        current,
        previous,
        title=REVENUE_TITLE,
        current_label="Oct 26 – Nov 24, 2026",
        previous_label="Sep 26 – Oct 25, 2026",
    )


def variant_bars() -> list[VariantBar]:
    # Treatments first on purpose: the chart must still put the control on top.
    return [
        VariantBar("B", 0.125, 0.113, 0.137, 5010, False),
        VariantBar("A", 0.112, 0.100, 0.124, 5000, True),
        VariantBar("C", 0.118, 0.106, 0.131, 4990, False),
    ]


def retention_inputs(cohorts: int = 10, weeks: int = 8, seed: int = 3):
    """A realistic triangle: week 0 = 100 %, decaying later weeks, NaN where a week
    isn't complete yet; one exact 0 and one tiny rate to exercise the labels."""
    rng = np.random.default_rng(seed)
    index = [date(2026, 8, 3) + timedelta(weeks=i) for i in range(cohorts)]
    values = np.full((cohorts, weeks + 1), np.nan)
    for row in range(cohorts):
        values[row, 0] = 1.0
        for week in range(1, min(weeks, cohorts - 1 - row) + 1):
            values[row, week] = round(0.42 * 0.8**week + rng.normal(0, 0.02), 4)
    values[0, weeks] = 0.0
    values[1, weeks - 1] = 0.0004
    matrix = pd.DataFrame(values, index=index, columns=list(range(weeks + 1)))
    sizes = pd.Series(rng.integers(40, 400, cohorts), index=index)
    return matrix, sizes


def retention_png() -> bytes:
    matrix, sizes = retention_inputs()
    return charts.retention_heatmap(matrix, sizes, title="Weekly retention by signup cohort")


def experiment_png() -> bytes:
    return charts.experiment_chart(
        variant_bars(), title="checkout_v2: conversion by variant", subtitle="95% Wilson"
    )


PNG_MAKERS = {"revenue": revenue_png, "experiment": experiment_png, "retention": retention_png}


# ---------------------------------------------------------------------------------
# Reading figures and PNGs back


def png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    chunks, offset = [], len(PNG_SIGNATURE)
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        data = png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", png[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + data) == crc, kind
        chunks.append((kind, data))
        offset += 12 + length
    return chunks


def drawn(fig: Figure) -> FigureCanvasAgg:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas


def texts_by_gid(fig: Figure, gid: str) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_gid() == gid]


def all_visible_texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def one_line(text: Text) -> str:
    return " ".join(text.get_text().split())


def luminance(colour) -> float:
    """WCAG relative luminance, written out here independently of the module."""
    channels = []
    for c in to_rgba(colour)[:3]:
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def assert_everything_inside(fig: Figure) -> None:
    """Every axes (with its ticks, labels, legend and texts) and every figure-level
    text lies inside the image: nothing is cut off at the edges."""
    canvas = drawn(fig)
    renderer = canvas.get_renderer()
    bounds = fig.bbox
    extents = [ax.get_tightbbox(renderer) for ax in fig.axes]
    extents += [t.get_window_extent(renderer) for t in fig.texts if t.get_text()]
    for box in extents:
        assert box.x0 >= bounds.x0 - 1 and box.x1 <= bounds.x1 + 1, box
        assert box.y0 >= bounds.y0 - 1 and box.y1 <= bounds.y1 + 1, box


def assert_phone_legible(fig: Figure) -> None:
    """Large type: a bold title of 16 pt or more; axis text 10 pt or more; only the
    dense heatmap's cell values and row labels may go smaller, never below 7 pt."""
    texts = all_visible_texts(fig)
    titles = [t for t in texts if t.get_gid() == "title"]
    assert len(titles) == 1 and titles[0].get_fontsize() >= 16
    for text in texts:
        floor = 7.0 if text.get_gid() in {"cell-value", "cohort-label"} else 10.0
        assert text.get_fontsize() >= floor, (text.get_text(), text.get_fontsize())


# ---------------------------------------------------------------------------------
# Every chart: format, size, determinism, no pyplot


@pytest.mark.parametrize("kind", sorted(PNG_MAKERS))
def test_png_is_a_phone_sized_image_without_metadata(kind: str) -> None:
    png = PNG_MAKERS[kind]()
    assert png.startswith(PNG_SIGNATURE)
    chunks = png_chunks(png)
    kinds = [k for k, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert (width, height) == (1200, 675)
    # No tEXt/iTXt/zTXt (the "Software" tag) or tIME chunk that could differ by run.
    assert not {b"tEXt", b"iTXt", b"zTXt", b"tIME"} & set(kinds)
    assert 10_000 < len(png) < MAX_PNG_BYTES


@pytest.mark.parametrize("kind", sorted(PNG_MAKERS))
def test_same_data_gives_identical_bytes(kind: str) -> None:
    assert PNG_MAKERS[kind]() == PNG_MAKERS[kind]()


def test_different_data_gives_different_bytes() -> None:
    # Guards the determinism test: the bytes do depend on the data.
    assert revenue_png(seed=1) != revenue_png(seed=2)


def test_no_pyplot_and_same_bytes_in_a_fresh_interpreter() -> None:
    script = (
        "import hashlib, sys\n"
        "import bot.core.charts\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported by charts'\n"
        "from tests.test_charts import PNG_MAKERS\n"
        "for kind in sorted(PNG_MAKERS):\n"
        "    print(kind, hashlib.sha256(PNG_MAKERS[kind]()).hexdigest())\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported by rendering'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    here = {kind: hashlib.sha256(make()).hexdigest() for kind, make in PNG_MAKERS.items()}
    there = dict(line.split() for line in done.stdout.splitlines())
    assert there == here


def test_module_source_never_mentions_pyplot() -> None:
    source = Path(charts.__file__).read_text(encoding="utf-8")
    assert "pyplot" not in re.sub(r'""".*?"""|#.*', "", source, flags=re.S)


# ---------------------------------------------------------------------------------
# Revenue


def build_revenue(current, previous, **overrides) -> Figure:
    kwargs = {
        "title": REVENUE_TITLE,
        "current_label": "Oct 26 – Nov 24, 2026",
        "previous_label": "Sep 26 – Oct 25, 2026",
    }
    kwargs.update(overrides)
    return charts.build_revenue_figure(current, previous, **kwargs)


def lines_by_gid(fig: Figure) -> dict[str, object]:
    (ax,) = fig.axes
    return {line.get_gid(): line for line in ax.get_lines() if line.get_gid()}


def test_revenue_overlays_previous_window_on_the_same_day_axis() -> None:
    current, previous = revenue_frames()
    # Shuffled rows: the chart must order by day itself.
    fig = build_revenue(current.sample(frac=1, random_state=0), previous)
    lines = lines_by_gid(fig)
    assert set(lines) == {"current", "previous"}
    assert len(fig.axes[0].get_lines()) == 2
    for gid, frame in (("current", current), ("previous", previous)):
        x, y = lines[gid].get_xdata(), lines[gid].get_ydata()
        assert list(x) == list(range(len(frame)))  # day 1..n → offsets 0..n-1
        np.testing.assert_allclose(y, frame["revenue"].to_numpy())


def test_revenue_x_labels_are_the_current_windows_dates() -> None:
    current, previous = revenue_frames()
    fig = build_revenue(current, previous)
    drawn(fig)
    ax = fig.axes[0]
    ticks = ax.get_xticks()
    labels = [label.get_text() for label in ax.get_xticklabels()]
    assert len(ticks) >= 3
    for tick, label in zip(ticks, labels, strict=True):
        day = CURRENT_START + timedelta(days=int(tick))
        assert label.split("\n")[0] == f"{day:%b} {day.day}"


def test_revenue_title_and_legend() -> None:
    current, previous = revenue_frames()
    fig = build_revenue(current, previous)
    (title,) = texts_by_gid(fig, "title")
    assert "+4.2 % vs previous" in one_line(title)
    assert one_line(title) == REVENUE_TITLE
    legend = fig.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [
        "Oct 26 – Nov 24, 2026",
        "Sep 26 – Oct 25, 2026",
    ]
    assert_phone_legible(fig)
    assert_everything_inside(fig)


def test_revenue_without_previous_draws_one_line() -> None:
    current, _ = revenue_frames()
    fig = build_revenue(current, pd.DataFrame(columns=["day", "revenue"]))
    assert set(lines_by_gid(fig)) == {"current"}
    assert len(fig.axes[0].get_legend().get_texts()) == 1


def test_revenue_one_day_window_shows_points() -> None:
    current, previous = revenue_frames(days=1)
    fig = build_revenue(current, previous, current_label="Nov 24, 2026")
    lines = lines_by_gid(fig)
    for line in lines.values():
        assert len(line.get_xdata()) == 1
        assert line.get_marker() not in ("", "None", None)  # a lone point must be visible
    assert_everything_inside(fig)
    assert charts.to_png(fig).startswith(PNG_SIGNATURE)


def test_revenue_all_zero_window_has_a_usable_axis() -> None:
    current, previous = revenue_frames(days=7)
    current["revenue"] = 0.0
    previous["revenue"] = 0.0
    fig = build_revenue(current, previous, title="Revenue last 7 days: $0 (n/a vs previous)")
    bottom, top = fig.axes[0].get_ylim()
    assert bottom == 0.0 and top > 0.0
    assert charts.to_png(fig).startswith(PNG_SIGNATURE)


def test_revenue_year_long_window_thins_ticks_without_overlap() -> None:
    current, previous = revenue_frames(days=365)
    fig = build_revenue(current, previous)
    canvas = drawn(fig)
    ax = fig.axes[0]
    labels = [label for label in ax.get_xticklabels() if label.get_text()]
    assert 4 <= len(labels) <= 10
    boxes = [label.get_window_extent(canvas.get_renderer()) for label in labels]
    assert not any(overlaps(a, b) for a, b in itertools.combinations(boxes, 2))
    assert len(charts.to_png(fig)) < MAX_PNG_BYTES
    assert_everything_inside(fig)


def test_revenue_missing_days_leave_gaps_not_zeros() -> None:
    current, previous = revenue_frames(days=7)
    current.loc[3, "revenue"] = np.nan
    fig = build_revenue(current, previous)
    y = lines_by_gid(fig)["current"].get_ydata()
    assert math.isnan(y[3]) and not np.isnan(np.delete(y, 3)).any()


@pytest.mark.parametrize(
    "current, previous",
    [
        (pd.DataFrame(columns=["day", "revenue"]), pd.DataFrame(columns=["day", "revenue"])),
        (pd.DataFrame(), pd.DataFrame()),
        (None, None),
    ],
)
def test_revenue_empty_data_says_no_data(current, previous) -> None:
    fig = build_revenue(current, previous)
    assert [t.get_text() for t in texts_by_gid(fig, "empty")] == [charts.NO_DATA]
    assert not fig.axes
    assert charts.to_png(fig).startswith(PNG_SIGNATURE)


def test_revenue_text_with_dollars_backslashes_and_unicode_is_literal() -> None:
    # Unbalanced or odd mathtext would raise at draw time if it were parsed.
    title = r"Umsätze — $5 \alpha_1 {x^2 $\frac{ € 😀"
    current, previous = revenue_frames(days=5)
    fig = build_revenue(
        current, previous, title=title, current_label=r"$5 \frac{ $x", previous_label="$ $ ^"
    )
    assert one_line(texts_by_gid(fig, "title")[0]) == title
    assert charts.to_png(fig).startswith(PNG_SIGNATURE)


def test_long_title_is_wrapped_inside_the_image() -> None:
    current, previous = revenue_frames()
    long_title = "Revenue 2026-09-14 to 2026-10-14 for every channel: $1,234,567 " * 3
    fig = build_revenue(current, previous, title=long_title)
    (title,) = texts_by_gid(fig, "title")
    assert title.get_text().count("\n") == 1  # at most two lines
    assert_everything_inside(fig)


# ---------------------------------------------------------------------------------
# Experiment


def experiment_figure(bars, subtitle: str | None = "95% Wilson intervals") -> Figure:
    return charts.build_experiment_figure(bars, title="checkout_v2", subtitle=subtitle)


def bar_patches(fig: Figure) -> dict[str, object]:
    (ax,) = fig.axes
    return {p.get_gid().removeprefix("bar:"): p for p in ax.patches if p.get_gid()}


def test_experiment_draws_one_bar_per_variant_at_its_rate() -> None:
    bars = variant_bars()
    fig = experiment_figure(bars)
    patches = bar_patches(fig)
    assert set(patches) == {bar.name for bar in bars}
    for bar in bars:
        assert patches[bar.name].get_width() == pytest.approx(bar.rate)
        (value,) = texts_by_gid(fig, f"value:{bar.name}")
        assert float(value.get_text().rstrip(" %")) == pytest.approx(bar.rate * 100, abs=0.05)
    assert_phone_legible(fig)
    assert_everything_inside(fig)


def test_experiment_whiskers_span_the_confidence_intervals() -> None:
    bars = variant_bars()
    fig = experiment_figure(bars)
    containers = [c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer)]
    assert len(containers) == len(bars)
    spans = set()
    for container in containers:
        _, _, (whisker,) = container.lines
        ((x0, _), (x1, _)) = whisker.get_segments()[0]
        spans.add((round(min(x0, x1), 6), round(max(x0, x1), 6)))
    assert spans == {(round(b.ci_low, 6), round(b.ci_high, 6)) for b in bars}


def test_experiment_marks_the_control() -> None:
    bars = variant_bars()
    fig = experiment_figure(bars)
    ax = fig.axes[0]
    drawn(fig)
    labels = ax.get_yticklabels()
    top = min(range(len(labels)), key=lambda i: ax.get_yticks()[i])  # y axis is inverted
    assert labels[top].get_text().startswith("A (control)")
    assert labels[top].get_fontweight() == "bold"
    assert all(
        label.get_fontweight() != "bold" and "control" not in label.get_text()
        for i, label in enumerate(labels)
        if i != top
    )
    patches = bar_patches(fig)
    control_colour = patches["A"].get_facecolor()
    assert all(patches[n].get_facecolor() != control_colour for n in ("B", "C"))
    (reference,) = [line for line in ax.get_lines() if line.get_gid() == "control-rate"]
    assert set(reference.get_xdata()) == {0.112}


def test_experiment_without_interval_draws_no_whisker() -> None:
    bars = [
        VariantBar("control", 0.1, 0.09, 0.11, 1000, True),
        VariantBar("B", 0.0, None, None, 0, False),
        VariantBar("C", float("nan"), None, None, 0, False),
    ]
    fig = experiment_figure(bars, subtitle=None)
    containers = [c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer)]
    assert len(containers) == 1
    assert [t.get_text() for t in texts_by_gid(fig, "value:C")] == ["n/a"]
    assert charts.to_png(fig).startswith(PNG_SIGNATURE)


def test_experiment_long_variant_names_stay_distinct_and_inside() -> None:
    prefix = "new_checkout_flow_with_one_click_payment_"
    bars = [
        VariantBar(prefix + "control", 0.1, 0.09, 0.11, 1000, True),
        *(
            VariantBar(prefix + f"v{i} ${i} \\frac{{ $", 0.11, 0.1, 0.12, 1000, False)
            for i in range(1, 5)
        ),
    ]
    fig = experiment_figure(bars)
    drawn(fig)
    names = [label.get_text().split("\n")[0] for label in fig.axes[0].get_yticklabels()]
    assert len(set(names)) == len(bars)
    assert all(len(name) <= 40 for name in names)
    assert_everything_inside(fig)
    assert charts.to_png(fig).startswith(PNG_SIGNATURE)


def test_experiment_names_with_dollars_are_literal() -> None:
    bars = [
        VariantBar(r"$0 \frac{ $", 0.1, 0.09, 0.11, 1000, True),
        VariantBar("$5 off", 0.11, 0.1, 0.12, 1000, False),
    ]
    fig = charts.build_experiment_figure(bars, title="$ test $^", subtitle=r"$\alpha_$ $")
    assert charts.to_png(fig).startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    "bars, message",
    [
        ([], charts.NO_DATA),
        (
            [VariantBar("A", 0.0, None, None, 0, True), VariantBar("B", 0.0, None, None, 0, False)],
            "No users in this experiment yet",
        ),
    ],
)
def test_experiment_without_data_says_so(bars, message) -> None:
    fig = experiment_figure(bars)
    assert [t.get_text() for t in texts_by_gid(fig, "empty")] == [message]
    assert charts.to_png(fig).startswith(PNG_SIGNATURE)


# ---------------------------------------------------------------------------------
# Retention


def heatmap(matrix, sizes, title: str = "Weekly retention") -> tuple[Figure, object]:
    fig = charts.build_retention_figure(matrix, sizes, title=title)
    meshes = [c for ax in fig.axes for c in ax.collections if c.get_gid() == "cells"]
    assert len(meshes) == 1
    return fig, meshes[0]


def parse_percent(text: str) -> tuple[float, float]:
    """A cell label as (low, high) bounds of the rate it can stand for."""
    if text == "<0.1%":
        return 0.0, 0.001
    number = text.removesuffix("%")
    half_step = 0.5 * 10 ** -len(number.partition(".")[2])
    value = float(number)
    return (value - half_step) / 100, (value + half_step) / 100


def test_heatmap_cells_print_each_rate_where_it_belongs() -> None:
    matrix, sizes = retention_inputs()
    fig, _ = heatmap(matrix, sizes)
    cells = texts_by_gid(fig, "cell-value")
    finite = {(r, c) for r, c in zip(*np.nonzero(np.isfinite(matrix.to_numpy())), strict=True)}
    positions = {(round(t.get_position()[1]), round(t.get_position()[0])): t for t in cells}
    assert len(positions) == len(cells)
    assert set(positions) == finite  # every value printed, NaN cells have no text
    for (row, col), text in positions.items():
        low, high = parse_percent(text.get_text())
        assert low <= matrix.iat[row, col] <= high, (text.get_text(), matrix.iat[row, col])
    # A real zero is printed as such, unlike an absent week.
    assert positions[(0, matrix.shape[1] - 1)].get_text() == "0.0%"
    assert_phone_legible(fig)
    assert_everything_inside(fig)


def test_heatmap_absent_weeks_are_blank_not_zero() -> None:
    matrix, sizes = retention_inputs()
    fig, mesh = heatmap(matrix, sizes)
    array = mesh.get_array()
    assert np.array_equal(np.ma.getmaskarray(array).reshape(matrix.shape), matrix.isna().to_numpy())
    # The pixel at the centre of an absent cell is neither the scale's zero colour nor
    # any colour of the scale near it; it is the figure's "not yet" grey.
    canvas = drawn(fig)
    pixels = np.asarray(canvas.buffer_rgba())
    ax = mesh.axes
    row, col = matrix.shape[0] - 1, matrix.shape[1] - 1
    assert math.isnan(matrix.iat[row, col])
    x, y = ax.transData.transform((col, row))
    pixel = pixels[round(fig.bbox.height - y), round(x)][:3] / 255
    np.testing.assert_allclose(pixel, to_rgba(charts.EMPTY_CELL)[:3], atol=2 / 255)
    zero = np.array(mesh.cmap(mesh.norm(0.0))[:3])
    assert np.abs(pixel - zero).max() > 0.5


def test_heatmap_has_a_colour_bar_on_a_sequential_scale() -> None:
    matrix, sizes = retention_inputs()
    fig, mesh = heatmap(matrix, sizes)
    assert mesh.colorbar is not None and mesh.colorbar.ax in fig.axes
    lum = [luminance(mesh.cmap(x)) for x in np.linspace(0, 1, 21)]
    assert all(b > a for a, b in itertools.pairwise(lum))  # one direction: light = more
    assert mesh.norm.vmin == 0.0
    # Scaled on weeks >= 1, so the 100 % week 0 doesn't wash out the later weeks.
    later = matrix.iloc[:, 1:].to_numpy()
    assert np.nanmax(later) <= mesh.norm.vmax < 1.0


def test_heatmap_text_contrasts_with_its_cell() -> None:
    matrix, sizes = retention_inputs()
    fig, mesh = heatmap(matrix, sizes)
    for text in texts_by_gid(fig, "cell-value"):
        col, row = (round(v) for v in text.get_position())
        cell = mesh.cmap(mesh.norm(matrix.iat[row, col]))
        assert contrast(text.get_color(), cell) >= 4.0, (text.get_text(), cell)


def test_heatmap_rows_are_cohorts_oldest_first_with_sizes() -> None:
    matrix, sizes = retention_inputs()
    # Sizes keyed by Timestamp while the index holds dates: still matched.
    fig, _ = heatmap(matrix, pd.Series(sizes.to_numpy(), index=pd.to_datetime(sizes.index)))
    labels = sorted(texts_by_gid(fig, "cohort-label"), key=lambda t: t.get_position()[1])
    assert [t.get_text() for t in labels] == [
        f"{cohort:%Y-%m-%d} (n={size:,})" for cohort, size in sizes.items()
    ]
    weeks = sorted(texts_by_gid(fig, "week-label"), key=lambda t: t.get_position()[0])
    assert [t.get_text() for t in weeks] == [str(c) for c in matrix.columns]


def test_heatmap_many_cohorts_stays_readable() -> None:
    matrix, sizes = retention_inputs(cohorts=26, weeks=12)
    fig, _ = heatmap(matrix, dict(sizes.items()))
    canvas = drawn(fig)
    labels = texts_by_gid(fig, "cohort-label")
    boxes = [t.get_window_extent(canvas.get_renderer()) for t in labels]
    assert not any(overlaps(a, b) for a, b in itertools.combinations(boxes, 2))
    assert labels[-1].get_text().startswith(f"{matrix.index[-1]:%Y-%m-%d}")  # newest shown
    cells = texts_by_gid(fig, "cell-value")
    if not cells:  # too dense to print: the note must say so
        assert any("print" in t.get_text() for t in texts_by_gid(fig, "note"))
    assert_phone_legible(fig)
    assert_everything_inside(fig)
    assert len(charts.to_png(fig)) < MAX_PNG_BYTES


def test_heatmap_a_quarter_of_cohorts_prints_every_value() -> None:
    matrix, sizes = retention_inputs(cohorts=13, weeks=12)
    fig, _ = heatmap(matrix, sizes)
    assert len(texts_by_gid(fig, "cell-value")) == int(matrix.notna().to_numpy().sum())
    assert_phone_legible(fig)
    assert len(charts.to_png(fig)) < MAX_PNG_BYTES


def test_heatmap_empty_matrix_says_no_data() -> None:
    fig = charts.build_retention_figure(pd.DataFrame(), pd.Series(dtype=float), title="x")
    assert [t.get_text() for t in texts_by_gid(fig, "empty")] == [charts.NO_DATA]
    assert charts.to_png(fig).startswith(PNG_SIGNATURE)


def test_heatmap_with_only_absent_cells_renders_blank() -> None:
    matrix = pd.DataFrame([[np.nan, np.nan]], index=[date(2026, 11, 23)], columns=[0, 1])
    fig, _ = heatmap(matrix, {})
    assert texts_by_gid(fig, "cell-value") == []
    assert texts_by_gid(fig, "empty")
    assert charts.to_png(fig).startswith(PNG_SIGNATURE)


def test_heatmap_single_cohort_and_dollar_title() -> None:
    matrix = pd.DataFrame([[1.0]], index=[pd.Timestamp("2026-11-23")], columns=[0])
    fig, _ = heatmap(matrix, {date(2026, 11, 23): 5}, title="Retention $ \\alpha_ 100%")
    assert [t.get_text() for t in texts_by_gid(fig, "cell-value")] == ["100%"]
    assert [t.get_text() for t in texts_by_gid(fig, "cohort-label")] == ["2026-11-23 (n=5)"]
    assert charts.to_png(fig).startswith(PNG_SIGNATURE)
