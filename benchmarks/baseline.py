"""The seed's approach (marts as views over the raw tables) against the bot's tables.

    .venv/bin/python -m benchmarks.baseline            # 1× demo data (100k users), 30 rounds
    .venv/bin/python -m benchmarks.baseline --quick    # 10k users, 6 rounds

ExecKPI computed every answer from dbt *views* (revenue_daily, ab_metrics,
retention_weekly, …) over the raw tables, so each question re-ran the whole
transformation. The bot reads the same models materialised as tables by ``dbt build``.

The baseline is built from the bot's own dbt project, so the definitions are
identical: a copy of the built warehouse (same file name, because dbt-duckdb qualifies
relations with the catalog = file stem), ``dbt compile --select marts`` against it, and
every mart table replaced by a view of its compiled SQL, created in dependency order
(ab_metrics is a view over the ab_group view; staging and intermediate models are views
in both). Before timing, every named query the bot runs is checked to return the same
rows from both warehouses.

Then the same three questions go through the same ``KpiService`` code against each
warehouse, interleaved (bot, baseline, baseline, bot, …) so both see the same machine
load. Reported per question: median and p95 of the whole answer and of the warehouse
time alone, and the ratio baseline / bot (target ≥ 20×).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from benchmarks.common import (
    BENCH_END,
    DEFAULT_USERS,
    QUESTIONS,
    ensure_warehouse,
    fmt_ms,
    load_average,
    machine,
    python_env,
    ratio,
    run_python,
    summary,
    table,
    timed_ask,
    timed_service,
    write_result,
)

TARGET_RATIO = 20.0
DBT_PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"
# Every named query of bot/warehouse/queries with the parameters a question binds.
CHECK_QUERIES: list[tuple[str, dict[str, Any] | None]] = [
    ("data_status", None),
    ("revenue_daily", {"start_day": BENCH_END.replace(day=1), "end_day": BENCH_END}),
    ("experiments", None),
    ("experiment_metrics", {"experiment_id": "checkout_redesign"}),
    ("retention", None),
]


def compiled_marts(db: Path) -> list[tuple[str, str]]:
    """(name, compiled SQL) of every mart model, dependencies first."""
    with tempfile.TemporaryDirectory() as tmp:
        env = python_env() | {
            "KPI_DUCKDB_PATH": str(db),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        command = [
            "-m", "dbt.cli.main", "compile", "--select", "path:models/marts",
            "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
            "--target", "duckdb", "--target-path", f"{tmp}/target", "--log-path", f"{tmp}/logs",
        ]  # fmt: skip
        proc = run_python(command, env=env, cwd=DBT_PROJECT)
        if proc.returncode != 0:
            raise SystemExit(f"dbt compile failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
        manifest = json.loads(Path(tmp, "target", "manifest.json").read_text())
    models = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
        and node["original_file_path"].startswith("models/marts/")
    }
    ordered: list[tuple[str, str]] = []
    done: set[str] = set()

    def visit(uid: str) -> None:
        if uid in done:
            return
        for parent in models[uid]["depends_on"]["nodes"]:
            if parent in models:
                visit(parent)
        done.add(uid)
        ordered.append((models[uid]["name"], models[uid]["compiled_code"]))

    for uid in sorted(models):
        visit(uid)
    return ordered


def build_views_copy(db: Path, fresh: bool = False) -> Path:
    """A copy of ``db`` whose marts are views over the raw tables (cached beside it)."""
    directory = db.parent / "views"
    copy, meta = directory / db.name, directory / "meta.json"
    source_mtime = db.stat().st_mtime_ns
    cached = copy.exists() and meta.exists() and not fresh
    if cached and json.loads(meta.read_text()).get("source_mtime_ns") == source_mtime:
        return copy
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    shutil.copyfile(db, copy)
    marts = compiled_marts(copy)
    with duckdb.connect(str(copy)) as conn:
        for name, _ in marts:
            conn.execute(f'drop table if exists main."{name}"')
        for name, sql in marts:
            conn.execute(f'create view main."{name}" as {sql}')
        kinds = dict(
            conn.execute(
                "select table_name, table_type from information_schema.tables "
                "where table_schema = 'main'"
            ).fetchall()
        )
        conn.execute("checkpoint")
    not_views = [name for name, _ in marts if kinds.get(name) != "VIEW"]
    if not_views:
        raise SystemExit(f"baseline marts are not views: {not_views}")
    meta.write_text(
        json.dumps({"source_mtime_ns": source_mtime, "views": [n for n, _ in marts]}, indent=2)
    )
    return copy


def check_same_answers(bot_db: Path, views_db: Path) -> list[str]:
    """Every named query returns the same rows from the tables and from the views."""
    from bot.warehouse.duckdb_adapter import DuckDBWarehouse

    tables, views = DuckDBWarehouse(bot_db, timeout_s=120), DuckDBWarehouse(views_db, 120)
    checked = []
    try:
        for name, params in CHECK_QUERIES:
            a, b = tables.run(name, params), views.run(name, params)
            if a.empty:
                raise SystemExit(f"query {name} returned no rows: nothing would be compared")
            pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9)
            checked.append(f"{name} ({len(a)} rows)")
    finally:
        tables.close()
        views.close()
    return checked


def bench(bot_db: Path, views_db: Path, rounds: int, warmup: int) -> dict[str, Any]:

    engines = {"bot": timed_service(bot_db), "views": timed_service(views_db, timeout_s=300)}
    samples = {e: {q: {"total": [], "query": []} for q in QUESTIONS} for e in engines}
    for i in range(warmup + rounds):
        order = ("bot", "views") if i % 2 == 0 else ("views", "bot")
        for question in QUESTIONS:
            for engine in order:
                total, query = timed_ask(*engines[engine], question, engine)
                if i >= warmup:
                    samples[engine][question]["total"].append(total)
                    samples[engine][question]["query"].append(query)
    for _, warehouse in engines.values():
        warehouse.close()
    out: dict[str, Any] = {}
    for question in QUESTIONS:
        bot = {k: summary(v) for k, v in samples["bot"][question].items()}
        views = {k: summary(v) for k, v in samples["views"][question].items()}
        out[question] = {
            "bot": bot,
            "views": views,
            "ratio_answer_p50": ratio(views["total"]["p50_ms"], bot["total"]["p50_ms"]),
            "ratio_query_p50": ratio(views["query"]["p50_ms"], bot["query"]["p50_ms"]),
        }
    bot_sum = sum(out[q]["bot"]["total"]["p50_ms"] for q in QUESTIONS)
    views_sum = sum(out[q]["views"]["total"]["p50_ms"] for q in QUESTIONS)
    bot_q = sum(out[q]["bot"]["query"]["p50_ms"] for q in QUESTIONS)
    views_q = sum(out[q]["views"]["query"]["p50_ms"] for q in QUESTIONS)
    out["all_three"] = {
        "bot_answer_p50_sum_ms": round(bot_sum, 2),
        "views_answer_p50_sum_ms": round(views_sum, 2),
        "ratio_answer": ratio(views_sum, bot_sum),
        "bot_query_p50_sum_ms": round(bot_q, 2),
        "views_query_p50_sum_ms": round(views_q, 2),
        "ratio_query": ratio(views_q, bot_q),
    }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.baseline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small data, few rounds")
    parser.add_argument("--rounds", type=int, help="timed rounds (default 30; quick 6)")
    parser.add_argument("--users", type=int, help=f"demo users (default {DEFAULT_USERS:,})")
    parser.add_argument("--fresh", action="store_true", help="rebuild the views copy")
    args = parser.parse_args(argv)
    rounds = args.rounds or (6 if args.quick else 30)
    users = args.users or (10_000 if args.quick else DEFAULT_USERS)

    db = ensure_warehouse(users)
    started = time.perf_counter()
    views_db = build_views_copy(db, fresh=args.fresh)
    print(f"views copy ready in {time.perf_counter() - started:.1f} s: {views_db}")
    checked = check_same_answers(db, views_db)
    print("same rows from tables and views: " + ", ".join(checked))
    print(f"baseline: {users:,} users, {rounds} interleaved rounds, load {load_average()}")
    before = load_average()
    result = bench(db, views_db, rounds, warmup=1 if args.quick else 2)

    rows = []
    for q in QUESTIONS:
        r = result[q]
        rows.append(
            [
                q,
                fmt_ms(r["bot"]["total"]["p50_ms"]),
                fmt_ms(r["views"]["total"]["p50_ms"]),
                f"{r['ratio_answer_p50']}×",
                fmt_ms(r["bot"]["query"]["p50_ms"]),
                fmt_ms(r["views"]["query"]["p50_ms"]),
                f"{r['ratio_query_p50']}×",
            ]
        )
    a = result["all_three"]
    rows.append(
        [
            "all three (sum of p50)",
            fmt_ms(a["bot_answer_p50_sum_ms"]),
            fmt_ms(a["views_answer_p50_sum_ms"]),
            f"{a['ratio_answer']}×",
            fmt_ms(a["bot_query_p50_sum_ms"]),
            fmt_ms(a["views_query_p50_sum_ms"]),
            f"{a['ratio_query']}×",
        ]
    )
    print("\nMedians (ms): whole answer (query + statistics + chart) and warehouse time alone")
    headers = ["question", "tables", "views", "ratio", "query tbl", "query views", "ratio"]
    print(table(headers, rows))
    met = {
        "answer_ratio_met": (a["ratio_answer"] or 0) >= TARGET_RATIO,
        "query_ratio_met": (a["ratio_query"] or 0) >= TARGET_RATIO,
    }
    print(f"\ntarget ≥ {TARGET_RATIO:g}×: " + "  ".join(f"{k}={v}" for k, v in met.items()))
    write_result(
        "baseline" + ("-quick" if args.quick else ""),
        {
            "command": "python -m benchmarks.baseline" + (" --quick" if args.quick else ""),
            "users": users,
            "rounds": rounds,
            "machine": machine(),
            "load_average_before": before,
            "load_average_after": load_average(),
            "checked_identical": checked,
            "target_ratio": TARGET_RATIO,
            "result": result,
            "verdicts": met,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
