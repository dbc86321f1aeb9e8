"""Metric answers (``MetricAnswer``, ``MetricCatalogAnswer``) as terminal text, Block
Kit, notification text and JSON (pure). Tables are monospace so columns line up in a
terminal and in Slack alike; every number shown is also in the JSON."""

from __future__ import annotations

from typing import Any

from bot.answers import MetricAnswer, MetricCatalogAnswer
from bot.core import format as fmt
from bot.core.metric_report import Figure, MetricReport, Row, value_text
from bot.core.metrics import MetricInfo
from bot.core.questions import echo, escape_mrkdwn
from bot.render import blocks as bk

LABEL_CHARS = 24  # a dimension value's column in a table


# --- shared words -----------------------------------------------------------------------


def _span(report: MetricReport) -> str:
    w = report.current
    return f"{w.label} ({fmt.date_range(w.start, w.end)})"


def _comparison(answer: MetricAnswer) -> str:
    w = answer.report.previous
    name = "last year" if answer.question.comparison == "last_year" else "previous"
    return f"vs {name} ({fmt.date_range(w.start, w.end)})"


def _filters(answer: MetricAnswer) -> str:
    parts = []
    for flt in answer.question.filters:
        values = ", ".join(echo(v) for v in flt.values)
        op = "≠" if flt.negate else "="
        parts.append(
            f"{flt.dimension} {op} {values}"
            if len(flt.values) == 1
            else f"{flt.dimension} {'not in' if flt.negate else 'in'} ({values})"
        )
    return ("where " + "; ".join(parts)) if parts else ""


def _title(answer: MetricAnswer) -> str:
    report = answer.report
    names = ", ".join(m.label for m in report.metrics)
    by = f" by {report.dimension.replace('_', ' ')}" if report.dimension else ""
    return f"{names}{by} · {report.current.label}"


def _change(figure: Figure) -> str:
    return fmt.pct(figure.delta_pct)


def _headline(metric: MetricInfo, figure: Figure, answer: MetricAnswer) -> str:
    return (
        f"*{metric.label}*: {value_text(figure.current, metric.unit)} "
        f"({_change(figure)} {_comparison(answer)}: {value_text(figure.previous, metric.unit)})"
    )


def _table(answer: MetricAnswer) -> list[str]:
    """Monospace rows: a breakdown, or several metrics' totals."""
    report = answer.report
    if report.dimension is not None:
        return _breakdown_table(report)
    lines = [f"{'metric':<{LABEL_CHARS}} {'now':>10} {'before':>10} {'change':>9}"]
    for metric, figure in zip(report.metrics, report.totals, strict=True):
        lines.append(
            f"{_cut(metric.label):<{LABEL_CHARS}} {value_text(figure.current, metric.unit):>10} "
            f"{value_text(figure.previous, metric.unit):>10} {_change(figure):>9}"
        )
    return lines


def _breakdown_table(report: MetricReport) -> list[str]:
    head = f"{_cut(report.dimension or ''):<{LABEL_CHARS}}"
    widths = [min(18, max(10, len(m.label))) for m in report.metrics]
    for metric, width in zip(report.metrics, widths, strict=True):
        head += f" {_cut(metric.label, width):>{width}} {'before':>10} {'change':>9}"
    lines = [head]
    for row in (*report.rows, Row("Total", report.totals)):
        label = f"{row.label} ({row.folded})" if row.folded else row.label
        line = f"{_cut(label):<{LABEL_CHARS}}"
        for metric, figure, width in zip(report.metrics, row.figures, widths, strict=True):
            line += (
                f" {value_text(figure.current, metric.unit):>{width}}"
                f" {value_text(figure.previous, metric.unit):>10} {_change(figure):>9}"
            )
        lines.append(line)
    return lines


def _cut(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _notes(answer: MetricAnswer) -> list[str]:
    report = answer.report
    notes = list(report.notes)
    if report.rows and report.rows[-1].folded:
        how = "summed"
        if any(not m.additive for m in report.metrics):
            how = "sums summed; ratios and distinct counts recomputed over them"
        notes.append(
            f"“All others”: the remaining {report.rows[-1].folded} values of "
            f"{report.dimension} ({how})."
        )
    series = report.series
    if series is not None and (series.partial_first or series.partial_last):
        which = " and ".join(
            w for w, p in (("first", series.partial_first), ("last", series.partial_last)) if p
        )
        verb = "are" if series.partial_first and series.partial_last else "is"
        notes.append(f"The {which} {series.grain} {verb} partial: the window cuts it short.")
    return notes


# --- metric answers -------------------------------------------------------------------------


def metric_lines(answer: MetricAnswer) -> list[str]:
    """The answer's mrkdwn lines (both text and blocks build on them)."""
    report = answer.report
    lines = [f"{_span(report)}" + (f" · {_filters(answer)}" if answer.question.filters else "")]
    if report.dimension is None and len(report.metrics) == 1:
        lines.append(_headline(report.metrics[0], report.totals[0], answer))
    else:
        lines.append(f"Compared {_comparison(answer)}.")
    return lines


def metric_text(answer: MetricAnswer) -> list[str]:
    lines = [_title(answer), *metric_lines(answer)]
    if answer.report.dimension is not None or len(answer.report.metrics) > 1:
        lines += [""] + [f"  {row}" for row in _table(answer)]
    notes = _notes(answer)
    return lines + ([""] + [f"Note: {n}" for n in notes] if notes else [])


def metric_blocks(answer: MetricAnswer) -> list[dict]:
    blocks = [bk.header(_title(answer)), bk.section("\n".join(metric_lines(answer)))]
    if answer.report.dimension is not None or len(answer.report.metrics) > 1:
        blocks += _code_sections(_table(answer))
    notes = _notes(answer)
    if notes:
        blocks.append(bk.context([f":information_source: {n}" for n in notes]))
    return blocks


def _code_sections(rows: list[str]) -> list[dict]:
    """Rows in ``` code blocks, as many per section as fit Slack's section limit."""
    out, chunk = [], []
    for row in rows:
        row = escape_mrkdwn(row)
        if chunk and len("\n".join([*chunk, row])) + 8 > bk.MAX_SECTION:
            out.append(bk.section("```" + "\n".join(chunk) + "```"))
            chunk = []
        chunk.append(row)
    if chunk:
        out.append(bk.section("```" + "\n".join(chunk) + "```"))
    return out


def metric_fallback(answer: MetricAnswer) -> str:
    report = answer.report
    metric, figure = report.metrics[0], report.totals[0]
    head = f"{_title(answer)}: {metric.label} {value_text(figure.current, metric.unit)}"
    return f"{head} ({_change(figure)} {_comparison(answer)})"


def _figure_json(figure: Figure) -> dict[str, Any]:
    return {
        "current": figure.current,
        "previous": figure.previous,
        "delta": figure.delta,
        "delta_pct": figure.delta_pct,
    }


def metric_json(answer: MetricAnswer) -> dict[str, Any]:
    report, question = answer.report, answer.question
    body: dict[str, Any] = {
        "kind": "metric",
        "metrics": [
            {
                "name": m.name,
                "label": m.label,
                "unit": m.unit,
                "restricted": m.restricted,
                "additive": m.additive,
            }
            for m in report.metrics
        ],
        "window": _window(report.current),
        "comparison": question.comparison,
        "comparison_window": _window(report.previous),
        "filters": [
            {
                "dimension": asked.dimension,
                "values": list(asked.values),
                "negate": asked.negate,
                "matched_values": list(run.values),
            }
            for asked, run in zip(question.filters, report.filters, strict=True)
        ],
        "totals": {
            m.name: _figure_json(f) for m, f in zip(report.metrics, report.totals, strict=True)
        },
        "dimension": report.dimension,
        "notes": _notes(answer),
    }
    if report.dimension is not None:
        body["values_count"] = report.values_count
        body["rows"] = [
            {
                "value": row.label,
                "others_count": row.folded,
                "metrics": {
                    m.name: _figure_json(f)
                    for m, f in zip(report.metrics, row.figures, strict=True)
                },
            }
            for row in report.rows
        ]
    if report.series is not None:
        s = report.series
        body["series"] = {
            "grain": s.grain,
            "periods": list(s.periods),
            "previous_periods": list(s.previous_periods),
            "values": {k: list(v) for k, v in s.values.items()},
            "previous_values": {k: list(v) for k, v in s.previous_values.items()},
            "partial_first": s.partial_first,
            "partial_last": s.partial_last,
        }
    return body


def _window(w) -> dict[str, Any]:
    return {"start": w.start, "end": w.end, "label": w.label, "days": w.days}


# --- catalog ---------------------------------------------------------------------------------


def _dimension_names(answer: MetricCatalogAnswer) -> dict[str, str]:
    return {d.name: d.label for d in answer.dimensions}


def catalog_lines(answer: MetricCatalogAnswer) -> list[str]:
    if answer.question.listing == "dimensions":
        metric = answer.metrics[0]
        lines = [f"*{escape_mrkdwn(metric.label)}* (`{metric.name}`) can be broken down by:"]
        lines += [
            f"• `{d.name}` — {escape_mrkdwn(d.description or d.label)}" for d in answer.dimensions
        ]
        example = answer.dimensions[0].name if answer.dimensions else "country"
        return [*lines, f"e.g. `/kpi {metric.name} by {example} last 30 days`"]
    lines = []
    for m in answer.metrics:
        restricted = " (restricted)" if m.restricted else ""
        lines.append(
            f"• `{m.name}` — *{escape_mrkdwn(m.label)}*{restricted}: "
            f"{escape_mrkdwn(m.description)} By: {', '.join(m.dimensions) or '—'}"
        )
    return [*lines, "`/kpi help metrics` shows the grammar."]


def catalog_title(answer: MetricCatalogAnswer) -> str:
    if answer.question.listing == "dimensions":
        return f"Dimensions of {answer.metrics[0].label}"
    return f"Metrics ({len(answer.metrics)})"


def catalog_text(answer: MetricCatalogAnswer) -> list[str]:
    return [catalog_title(answer), "", *catalog_lines(answer)]


def catalog_blocks(answer: MetricCatalogAnswer) -> list[dict]:
    return [bk.header(catalog_title(answer)), *bk.lines_sections(catalog_lines(answer))]


def catalog_fallback(answer: MetricCatalogAnswer) -> str:
    return f"{catalog_title(answer)}: " + ", ".join(m.name for m in answer.metrics)


def catalog_json(answer: MetricCatalogAnswer) -> dict[str, Any]:
    return {
        "kind": "metric_catalog",
        "listing": answer.question.listing,
        "metrics": [
            {
                "name": m.name,
                "label": m.label,
                "description": m.description,
                "unit": m.unit,
                "restricted": m.restricted,
                "dimensions": list(m.dimensions),
            }
            for m in answer.metrics
        ],
        "dimensions": [
            {"name": d.name, "label": d.label, "description": d.description}
            for d in answer.dimensions
        ],
    }
