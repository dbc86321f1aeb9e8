"""Plain tables: what the warehouse hands the answering code, and what a chart worker gets.

A question reads a few dozen mart rows, so the serving process needs no DataFrame
library for them (pandas costs ~2 s and ~117 MB to import; see benchmarks/README.md,
"Footprint"). ``Rows`` is column names plus tuples of Python values (``None`` for NULL);
``Grid`` is a labelled matrix (the retention heatmap's). Both are immutable, cheap to
pickle (chart workers get them as they are) and import nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class Rows:
    """Rows of a query: ``columns`` names, ``data`` one tuple per row in that order."""

    columns: tuple[str, ...]
    data: tuple[tuple[Any, ...], ...] = ()

    @classmethod
    def from_records(cls, columns: Sequence[str], records: Iterable[Mapping[str, Any]]) -> Rows:
        names = tuple(columns)
        return cls(names, tuple(tuple(r.get(c) for c in names) for r in records))

    def __len__(self) -> int:
        return len(self.data)

    @property
    def empty(self) -> bool:
        return not self.data

    def __getitem__(self, column: str) -> list[Any]:
        """One column's values, in row order."""
        i = self.columns.index(column)
        return [row[i] for row in self.data]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.data]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Each row as a dict of column → value."""
        return iter(self.records())

    def first(self) -> dict[str, Any] | None:
        return dict(zip(self.columns, self.data[0], strict=True)) if self.data else None

    def select(self, *columns: str) -> Rows:
        index = [self.columns.index(c) for c in columns]
        return Rows(tuple(columns), tuple(tuple(row[i] for i in index) for row in self.data))

    def where(self, keep: Iterable[bool]) -> Rows:
        return Rows(self.columns, tuple(r for r, k in zip(self.data, keep, strict=True) if k))

    def sorted_by(self, *columns: str) -> Rows:
        """A stable sort by the columns' values (rows keep their order on ties)."""
        index = [self.columns.index(c) for c in columns]
        return Rows(self.columns, tuple(sorted(self.data, key=lambda r: [r[i] for i in index])))

    def to_frame(self):  # -> pandas.DataFrame (for tools and tests; never the hot path)
        import pandas as pd

        return pd.DataFrame(list(self.data), columns=list(self.columns))


@dataclass(frozen=True)
class Grid:
    """A matrix with row labels (``index``) and column labels; ``nan`` marks an absent
    cell. Shaped like the small part of a DataFrame the heatmap reads."""

    index: tuple[Any, ...]
    columns: tuple[Any, ...]
    values: tuple[tuple[float, ...], ...]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.index), len(self.columns)

    def row(self, label: Any) -> dict[Any, float]:
        """The row of ``label`` as column → value."""
        return dict(zip(self.columns, self.values[self.index.index(label)], strict=True))

    def to_numpy(self, dtype: str = "float64", na_value: float = math.nan):
        import numpy as np

        array = np.array(self.values, dtype=dtype).reshape(self.shape)
        if not math.isnan(na_value):
            array[np.isnan(array)] = na_value
        return array


def is_null(value: Any) -> bool:
    """SQL NULL as any engine or library spells it: None, NaN, NaT, pandas' NA."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if type(value).__name__ in {"NAType", "NaTType"}:
        return True
    if isinstance(value, str | int | date):
        return False
    try:
        return bool(value != value)  # numpy's NaT and NaN
    except (TypeError, ValueError):
        return False


def as_date(value: Any) -> date | None:
    """A date from a date, a datetime (or pandas Timestamp), an ISO string, or None."""
    if is_null(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
