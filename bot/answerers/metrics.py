"""``<metric> [by …] [where …] …``, ``metrics`` and ``dimensions <metric>``: answered by
the semantic layer (``bot.warehouse.semantic``), figures arranged by
``bot.core.metric_report``.

One ``SemanticLayer`` per warehouse adapter (``layer_for``): the service's vocabulary
and the answerer share it, so the manifest is loaded and MetricFlow started once.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bot.answerers import AnswerContext
from bot.answers import ErrorAnswer, MetricAnswer, MetricCatalogAnswer
from bot.core import metric_report as mr
from bot.core.metric_grammar import closest, did_you_mean
from bot.core.metric_questions import MetricFilter, MetricQuestion, Vocabulary
from bot.core.metrics import DimensionFilter, MetricInfo, MetricRequest
from bot.core.questions import echo
from bot.core.table import Rows
from bot.core.windows import DateWindow, span_text
from bot.warehouse.base import MartReader, WarehouseError
from bot.warehouse.semantic import (
    MAX_FILTER_VALUES,
    VALUES_TTL_S,
    SemanticLayer,
    SemanticRequestError,
)

log = logging.getLogger("bot.answerers.metrics")
NOT_LOADED = (
    "The semantic layer (metrics and dimensions from dbt) isn't available: {reason} "
    "Run `python -m bot build` to build the marts and the semantic manifest."
)

_LAYERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LAYERS_LOCK = threading.Lock()


def layer_for(reader: MartReader, manifest_path: Path | None = None) -> SemanticLayer:
    """The one semantic layer of ``reader``'s warehouse (created on first use; loading
    the manifest waits for the first question or ``SemanticSource.warm``)."""
    with _LAYERS_LOCK:
        layer = _LAYERS.get(reader.warehouse)
        if layer is None or (manifest_path is not None and layer.manifest_path != manifest_path):
            layer = SemanticLayer(reader.warehouse, manifest_path)
            _LAYERS[reader.warehouse] = layer
        return layer


class SemanticSource:
    """The service's handle on the semantic layer: the vocabulary, loaded once.

    Nothing is loaded at construction (MetricFlow costs ~1.7 s of imports); the first
    metric question or ``warm()`` (serve's warm-up thread) loads it. A failed load (no manifest
    yet) is logged and tried again on the next metric question."""

    def __init__(
        self,
        reader: MartReader,
        manifest_path: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reader = reader
        self.layer = layer_for(reader, manifest_path)
        self._vocabulary: Vocabulary | None = None
        self._loaded_at = 0.0
        self._clock = clock
        self._lock = threading.Lock()

    def vocabulary(self) -> Vocabulary | None:
        """Metrics and dimensions (once), with the dimensions' known values and the
        experiment ids for the loose-phrasing front end (re-read every VALUES_TTL_S: a
        rebuild may add a country or an experiment)."""
        vocabulary = self._vocabulary
        if vocabulary is not None and self._clock() - self._loaded_at < VALUES_TTL_S:
            return vocabulary
        with self._lock:
            if self._vocabulary is None or self._clock() - self._loaded_at >= VALUES_TTL_S:
                try:
                    metrics, dimensions = self.layer.metrics(), self.layer.dimensions()
                    self._vocabulary = Vocabulary.of(
                        metrics, dimensions, self._values(metrics), self._experiments()
                    )
                    self._loaded_at = self._clock()
                except WarehouseError as err:
                    log.warning("semantic layer not loaded: %s", err)
                except Exception:
                    log.exception("semantic layer failed to load")
            return self._vocabulary

    def _values(self, metrics: dict[str, MetricInfo]) -> dict[str, tuple[str, ...]]:
        """Each dimension's known values (for `revenue in Brazil`), over every metric that
        has it (`traffic_source` is the user's channel for orders, the session's for
        sessions; the layer caches one query per column); none if unreadable."""
        values: dict[str, set[str]] = {}
        for metric in metrics.values():
            for name in metric.dimensions:
                try:
                    found = self.layer.dimension_values(name, (metric.name,))
                except WarehouseError as err:
                    log.warning("values of %s not read: %s", name, err)
                    continue
                values.setdefault(name, set()).update(found)
        return {name: tuple(sorted(found)) for name, found in values.items()}

    def _experiments(self) -> tuple[str, ...]:
        try:
            return tuple(e.experiment_id for e in self.reader.experiments())
        except WarehouseError as err:
            log.warning("experiments not read: %s", err)
            return ()

    def warm(self) -> None:
        """The vocabulary, then MetricFlow: the compiled catalog answers common shapes
        without it, and a shape it lacks is then compiled without the import's wait."""
        if self.vocabulary() is None:
            return  # logged; the next metric question tries again
        try:
            self.layer.warm()
        except Exception:
            log.exception("MetricFlow failed to load")


# --- the answerer ---------------------------------------------------------------------


def answer_metric(
    ctx: AnswerContext, question: MetricQuestion
) -> MetricAnswer | MetricCatalogAnswer | ErrorAnswer:
    layer = layer_for(ctx.reader)
    try:
        if question.listing is not None:
            return _catalog(layer, question)
        return _answer(ctx, layer, question)
    except SemanticRequestError as err:
        return ErrorAnswer("parse", echo(str(err), 600), "/kpi metrics")
    except WarehouseError as err:
        if question.listing is not None or not layer_loaded(layer):
            return ErrorAnswer("warehouse", NOT_LOADED.format(reason=echo(str(err), 300)))
        raise


def layer_loaded(layer: SemanticLayer) -> bool:
    try:
        layer.metrics()
        return True
    except WarehouseError:
        return False


def _catalog(layer: SemanticLayer, question: MetricQuestion) -> MetricCatalogAnswer:
    metrics = layer.metrics()
    dimensions = layer.dimensions()
    if question.listing == "dimensions":
        info = metrics[question.metrics[0]]
        return MetricCatalogAnswer(
            question, (info,), tuple(dimensions[d] for d in info.dimensions if d in dimensions)
        )
    shown = tuple(sorted(metrics.values(), key=lambda m: m.name))
    used = sorted({d for m in shown for d in m.dimensions})
    return MetricCatalogAnswer(question, shown, tuple(dimensions[d] for d in used))


def _answer(
    ctx: AnswerContext, layer: SemanticLayer, question: MetricQuestion
) -> MetricAnswer | ErrorAnswer:
    assert question.current is not None and question.previous is not None
    status = ctx.reader.data_status()
    outside = _outside_the_data(question.current, status)
    if outside is not None:
        return outside
    infos = tuple(layer.metrics()[m] for m in question.metrics)
    filters = _filters(layer, question)
    if isinstance(filters, ErrorAnswer):
        return filters
    run = _Runner(layer, question.metrics, filters)
    current, previous = question.current, question.previous
    if question.group_by is not None:
        report = _breakdown(run, infos, question)
    else:
        totals = mr.totals(infos, run.frame(current), run.frame(previous))
        report = mr.MetricReport(infos, current, previous, totals)
        if len(infos) == 1 or question.grain is not None:
            grain = question.grain or mr.default_grain(current)
            report = replace(
                report,
                series=mr.series(
                    infos,
                    grain,
                    current,
                    previous,
                    run.frame(current, grain=grain),
                    run.frame(previous, grain=grain),
                ),
            )
    return MetricAnswer(question, replace(report, filters=filters), ctx.freshness(status))


def _outside_the_data(window: DateWindow, status) -> ErrorAnswer | None:
    """A window with no day of data gets the revenue answer's "no data" reply, not a
    page of zeros."""
    first, last = status.first_day, status.last_day
    if first is not None and last is not None and first <= window.end and window.start <= last:
        return None
    cover = (
        f"the data covers {first:%Y-%m-%d} to {last:%Y-%m-%d}"
        if first is not None and last is not None
        else "there is no data yet"
    )
    span = span_text(window.start, window.end)
    where = window.label if span in window.label else f"{window.label} ({span})"
    return ErrorAnswer("empty", f"No data for {where}: {cover}.", "/kpi orders last 30 days")


class _Runner:
    """Runs the question's requests over a window (same metrics and filters)."""

    def __init__(
        self, layer: SemanticLayer, metrics: tuple[str, ...], filters: tuple[DimensionFilter, ...]
    ) -> None:
        self.layer, self.metrics, self.filters = layer, metrics, filters

    def frame(
        self,
        window: DateWindow,
        *,
        group_by: str | None = None,
        grain=None,
        metrics: tuple[str, ...] | None = None,
        extra: tuple[DimensionFilter, ...] = (),
    ) -> Rows:
        request = MetricRequest(
            metrics=metrics or self.metrics,
            group_by=group_by,
            filters=self.filters + extra,
            start=window.start,
            end=window.end,
            grain=grain,
        )
        return self.layer.query(request).rows


def _breakdown(
    run: _Runner, infos: tuple[MetricInfo, ...], question: MetricQuestion
) -> mr.MetricReport:
    assert question.current is not None and question.previous is not None
    dim = question.group_by
    assert dim is not None
    now = run.frame(question.current, group_by=dim)
    before = run.frame(question.previous, group_by=dim)
    if all(m.additive for m in infos):
        # Sums and counts of the groups (NULL one included) add up to the total: two
        # queries fewer on the hot path. Ratios and distinct counts need their own.
        totals = mr.summed_totals(infos, now, before)
    else:
        totals = mr.totals(infos, run.frame(question.current), run.frame(question.previous))
    labels = mr.ranked_labels(now, dim, infos[0].name)
    shown, rest = labels[: question.rows], labels[question.rows :]
    notes: list[str] = []
    others = None
    if rest:
        others = _others(run, infos, question, totals, now, before, shown, rest, notes)
    rows, _ = mr.breakdown_rows(infos, dim, now, before, question.rows, others)
    return mr.MetricReport(
        infos,
        question.current,
        question.previous,
        totals,
        dim,
        rows,
        len(labels),
        notes=tuple(notes),
    )


def _others(
    run: _Runner,
    infos: tuple[MetricInfo, ...],
    question: MetricQuestion,
    totals: tuple[mr.Figure, ...],
    now: Rows,
    before: Rows,
    shown: list[str],
    rest: list[str],
    notes: list[str],
) -> list[mr.Figure]:
    """The "All others" row: additive metrics as the total minus the shown rows; the
    others recomputed by the semantic layer over the remaining values (a filter of them)."""
    dim = question.group_by
    figures: dict[str, mr.Figure] = {}
    for info, total in zip(infos, totals, strict=True):
        if info.additive:
            figures[info.name] = mr.additive_others(info, total, now, before, dim, shown)
    ratios = tuple(m.name for m in infos if not m.additive)
    values = tuple(v for v in rest if v != mr.NOT_SET)
    if ratios and values and len(values) <= MAX_FILTER_VALUES and len(values) == len(rest):
        extra = (DimensionFilter(dim, values),)
        cur = run.frame(question.current, metrics=ratios, extra=extra)
        prev = run.frame(question.previous, metrics=ratios, extra=extra)
        for figure, name in zip(
            mr.totals([m for m in infos if not m.additive], cur, prev), ratios, strict=True
        ):
            figures[name] = figure
    elif ratios:
        why = (
            "one of the remaining values is not set"
            if len(values) < len(rest)
            else f"the remaining values are more than the {MAX_FILTER_VALUES} a filter takes"
        )
        notes.append(f"\u201cAll others\u201d of {', '.join(ratios)} isn't shown: {why}.")
        for name in ratios:
            figures[name] = mr.Figure(None, None)
    return [figures[m.name] for m in infos]


# --- filters ------------------------------------------------------------------------------


def _filters(
    layer: SemanticLayer, question: MetricQuestion
) -> tuple[DimensionFilter, ...] | ErrorAnswer:
    """Each filter's values matched against the dimension's known values (a typo gets
    "did you mean"). ``!=``: DimensionFilter has no negation, so the complement — every
    known value but those — becomes an ``in`` filter (NULLs are left out, as SQL's
    ``<>`` leaves them out)."""
    out = []
    for flt in question.filters:
        known = layer.dimension_values(flt.dimension, question.metrics)
        matched = _match_values(flt, known)
        if isinstance(matched, ErrorAnswer):
            return matched
        if flt.negate:
            matched = tuple(v for v in known if v not in matched)
            if not matched:
                return ErrorAnswer(
                    "empty", f"Nothing is left of {flt.dimension} once those values are excluded."
                )
            if len(matched) > MAX_FILTER_VALUES:
                return ErrorAnswer(
                    "parse",
                    f"`!=` on {flt.dimension} leaves {len(matched)} values, more than the "
                    f"{MAX_FILTER_VALUES} one filter takes. Name the values you want with "
                    "`in (…)`.",
                    f"/kpi {question.metrics[0]} where {flt.dimension} in ({known[0]})",
                )
        out.append(DimensionFilter(flt.dimension, matched))
    return tuple(out)


def _match_values(flt: MetricFilter, known: tuple[str, ...]) -> tuple[str, ...] | ErrorAnswer:
    by_folded = {v.casefold(): v for v in known}
    matched = []
    for value in flt.values:
        hit = by_folded.get(" ".join(value.split()).casefold())
        if hit is None:
            found = closest(value, known)
            shown = ", ".join(f"`{echo(v)}`" for v in known[:15]) + (
                ", …" if len(known) > 15 else ""
            )
            return ErrorAnswer(
                "parse",
                f"`{echo(value)}` isn't a known {flt.dimension}.{did_you_mean(found)} "
                f"Known values: {shown or '(none)'}.",
                f"/kpi orders where {flt.dimension} = {echo(found[0] if found else known[0])}"
                if known
                else "/kpi metrics",
            )
        if hit not in matched:
            matched.append(hit)
    return tuple(matched)
