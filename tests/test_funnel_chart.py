"""The funnel chart: structure read back from the Figure, PNG format and determinism
(the conventions of tests/test_charts.py, whose helpers are reused)."""

from __future__ import annotations

import hashlib
import re
import struct
import subprocess
import sys

import pytest
from matplotlib.patches import Rectangle

from bot.core import charts
from bot.core.charts import FunnelSeries
from tests.test_charts import (
    MAX_PNG_BYTES,
    PNG_SIGNATURE,
    ROOT,
    assert_everything_inside,
    assert_phone_legible,
    drawn,
    png_chunks,
    texts_by_gid,
)

STEPS = ("sessions", "product", "cart", "purchase")
TITLE = "Funnel last 30 days: 16.0 % of sessions buy (+0.9 pp vs previous)"
CURRENT = FunnelSeries("Oct 26 – Nov 24", (21_378, 12_832, 6_000, 3_410), False)
PREVIOUS = FunnelSeries("Sep 26 – Oct 25", (19_870, 11_500, 5_900, 3_000), True)
VARIANTS = [
    FunnelSeries("control", (120, 100, 76, 55), True),
    FunnelSeries("B", (129, 108, 85, 56), False),
    FunnelSeries("C", (124, 96, 71, 40), False),
]


def window_png(current: FunnelSeries = CURRENT) -> bytes:
    return charts.funnel_chart(STEPS, [current, PREVIOUS], title=TITLE, subtitle="subtitle")


def bars(fig) -> dict[str, Rectangle]:
    (ax,) = fig.axes
    return {p.get_gid(): p for p in ax.patches if (p.get_gid() or "").startswith("bar:")}


def test_png_is_phone_sized_deterministic_and_without_metadata() -> None:
    png = window_png()
    assert png.startswith(PNG_SIGNATURE)
    chunks = png_chunks(png)
    assert struct.unpack(">II", chunks[0][1][:8]) == (1200, 675)
    assert not {b"tEXt", b"iTXt", b"zTXt", b"tIME"} & {k for k, _ in chunks}
    assert 10_000 < len(png) < MAX_PNG_BYTES
    assert png == window_png()
    other = FunnelSeries(CURRENT.name, (21_378, 12_832, 6_001, 3_410), False)
    assert window_png(other) != png


def test_same_bytes_in_a_fresh_interpreter_without_pyplot() -> None:
    script = (
        "import hashlib, sys\n"
        "from tests.test_funnel_chart import window_png\n"
        "print(hashlib.sha256(window_png()).hexdigest())\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == hashlib.sha256(window_png()).hexdigest()


def test_bars_are_shares_of_entrants_descending_per_series() -> None:
    fig = charts.build_funnel_figure(STEPS, [CURRENT, PREVIOUS], title=TITLE)
    patches = bars(fig)
    assert len(patches) == 8
    for series in (CURRENT, PREVIOUS):
        widths = [patches[f"bar:{series.name}:{step}"].get_width() for step in STEPS]
        assert widths == pytest.approx([c / series.counts[0] for c in series.counts])
        assert widths == sorted(widths, reverse=True)
    # First step on top (the y axis is inverted), each series' bar inside its step's band.
    ax = fig.axes[0]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]
    for i, step in enumerate(STEPS):
        for series in (CURRENT, PREVIOUS):
            bar = patches[f"bar:{series.name}:{step}"]
            assert i - 0.5 < bar.get_y() < bar.get_y() + bar.get_height() < i + 0.5
    assert_phone_legible(fig)
    assert_everything_inside(fig)


def test_labels_carry_count_and_step_conversion() -> None:
    fig = charts.build_funnel_figure(STEPS, [CURRENT, PREVIOUS], title=TITLE)
    for series in (CURRENT, PREVIOUS):
        counts = series.counts
        (first,) = texts_by_gid(fig, f"value:{series.name}:sessions")
        assert first.get_text() == f"{counts[0]:,}"
        for i, step in enumerate(STEPS[1:], start=1):
            (label,) = texts_by_gid(fig, f"value:{series.name}:{step}")
            count, rate = label.get_text().split(" · ")
            assert int(count.replace(",", "")) == counts[i]
            assert float(rate.removesuffix(" %")) == pytest.approx(
                100 * counts[i] / counts[i - 1], abs=0.05
            )


def test_the_reference_is_grey_and_visible_the_current_window_is_not() -> None:
    fig = charts.build_funnel_figure(STEPS, [CURRENT, PREVIOUS], title=TITLE)
    patches = bars(fig)
    grey = patches[f"bar:{PREVIOUS.name}:cart"].get_facecolor()
    blue = patches[f"bar:{CURRENT.name}:cart"].get_facecolor()
    assert grey != blue and grey[0] == grey[1] == grey[2]  # a neutral grey
    assert all(patches[f"bar:{PREVIOUS.name}:{s}"].get_width() > 0 for s in STEPS)
    legend = fig.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [CURRENT.name, PREVIOUS.name]


def test_experiment_variants_side_by_side_per_step() -> None:
    fig = charts.build_funnel_figure(
        ("users", "product", "cart", "purchase"), VARIANTS, title="pricing", unit="exposed users"
    )
    drawn(fig)
    patches = bars(fig)
    assert len(patches) == 12
    for step in ("users", "product", "cart", "purchase"):
        ys = [patches[f"bar:{v.name}:{step}"].get_y() for v in VARIANTS]
        assert ys == sorted(ys)  # control first (top), then in the caller's order
    colours = {v.name: patches[f"bar:{v.name}:cart"].get_facecolor() for v in VARIANTS}
    assert len(set(colours.values())) == 3
    assert fig.axes[0].get_xlabel() == "Share of exposed users reaching the step"
    (note,) = texts_by_gid(fig, "note")
    assert "share of exposed users reaching" in note.get_text() and "{" not in note.get_text()
    assert_phone_legible(fig)
    assert_everything_inside(fig)


def test_a_one_series_chart_has_no_legend() -> None:
    fig = charts.build_funnel_figure(STEPS, [CURRENT], title=TITLE)
    assert fig.axes[0].get_legend() is None
    assert len(bars(fig)) == 4


@pytest.mark.parametrize(
    ("steps", "series", "message"),
    [
        (STEPS, [], charts.NO_DATA),
        ((), [CURRENT], charts.NO_DATA),
        (STEPS, [FunnelSeries("x", (0, 0, 0, 0), False)], "No sessions in this window"),
        (STEPS, [FunnelSeries("x", (3, 2), False)], "The funnel's steps don't match its counts"),
    ],
)
def test_without_data_says_so(steps, series, message: str) -> None:
    fig = charts.build_funnel_figure(steps, series, title=TITLE)
    assert [t.get_text() for t in texts_by_gid(fig, "empty")] == [message]
    assert charts.to_png(fig).startswith(PNG_SIGNATURE)


def test_an_empty_previous_window_is_labelled_not_drawn_as_zero_conversion() -> None:
    empty = FunnelSeries("Sep", (0, 0, 0, 0), True)
    fig = charts.build_funnel_figure(STEPS, [CURRENT, empty], title=TITLE)
    assert [t.get_text() for t in texts_by_gid(fig, "value:Sep:cart")] == ["no data"]
    assert_everything_inside(fig)


def test_long_and_dollar_names_are_literal_and_inside() -> None:
    series = [
        FunnelSeries(
            "$5 off \\frac{ $ new_checkout_flow_with_one_click_payment", (10, 5, 2, 1), True
        ),
        FunnelSeries("$10 off new_checkout_flow_with_one_click_payment_v2", (10, 9, 8, 7), False),
    ]
    fig = charts.build_funnel_figure(STEPS, series, title="$ test $^")
    assert_everything_inside(fig)
    assert charts.to_png(fig).startswith(PNG_SIGNATURE)


def test_module_source_still_never_mentions_pyplot() -> None:
    source = (ROOT / "bot" / "core" / "charts.py").read_text(encoding="utf-8")
    assert "pyplot" not in re.sub(r'""".*?"""|#.*', "", source, flags=re.S)
