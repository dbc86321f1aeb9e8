"""Number formatting: one reading of every figure, never 'nan'."""

from __future__ import annotations

import math

import pytest

from bot.core import format as fmt


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0, "$0.00"),
        (99.5, "$99.50"),
        (1234.4, "$1,234"),
        (12_345.0, "$12.3k"),
        (1_234_567.0, "$1.23M"),
        (-2500.0, "-$2,500"),
        (None, "n/a"),
        (math.nan, "n/a"),
    ],
)
def test_money(value: float | None, expected: str) -> None:
    assert fmt.money(value) == expected


def test_changes_and_rates() -> None:
    assert fmt.pct(4.25) == "+4.2 %" or fmt.pct(4.25) == "+4.3 %"  # banker's rounding either way
    assert fmt.pct(-12.0) == "-12.0 %"
    assert fmt.pct(None) == "n/a"
    assert fmt.rate(0.1234) == "12.3 %"
    assert fmt.pp(0.018) == "+1.8 pp"
    assert fmt.pp(-0.004) == "-0.4 pp"
    assert fmt.signed_money(1500.0) == "+$1,500"
    assert fmt.signed_count(-3) == "-3"
    assert fmt.count(math.inf) == "n/a"
