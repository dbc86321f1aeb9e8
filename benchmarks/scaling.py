"""Scaling: generate time, ``dbt build`` time and peak memory, and question latency by size.

    .venv/bin/python -m benchmarks.scaling                    # 0.1×, 1×, 10× (10k/100k/1M users)
    .venv/bin/python -m benchmarks.scaling --scales 0.1,1     # skip the 1M-user warehouse
    .venv/bin/python -m benchmarks.scaling --quick            # 0.01×, 0.1× (1k, 10k users)
    .venv/bin/python -m benchmarks.scaling --reuse            # latency only, cached warehouses

1× is the CLI's and ``make demo``'s default, 100,000 users. For each scale, smallest
first, a child process generates the demo data and another runs ``bot.build.build``
(copy → ``dbt build`` in its own subprocess → atomic swap); each child reports its own
peak RSS and, for the build, the peak RSS of the dbt process (``getrusage
(RUSAGE_CHILDREN).ru_maxrss`` in a fresh process whose only child is dbt). Before a
scale starts, the disk and memory it needs are extrapolated linearly from the scale
before it and checked against what is free now; a scale that would not fit is skipped
and reported as such, not silently dropped.

Then the three questions are timed in-process against every warehouse, interleaved
round by round, and the latency ratio of 10× to 1× is reported (target ≤ 1.2×; the
``dbt build`` target at 1× is < 60 s).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    BENCH_END,
    DEFAULT_USERS,
    QUESTIONS,
    SEED,
    fmt_ms,
    load_average,
    machine,
    mem_available_bytes,
    now_iso,
    ratio,
    run_python,
    summary,
    table,
    timed_ask,
    timed_service,
    warehouse_dir,
    write_result,
)

TARGET_LATENCY_RATIO = 1.2
TARGET_BUILD_1X_S = 60.0
SAFETY = 1.3  # head-room on extrapolated disk and memory needs


# --------------------------------------------------------------------------- child steps


def _child(step: str, users: int, db: Path) -> None:
    """Run one step in this (fresh) process and print a JSON line about it."""
    started = time.perf_counter()
    out: dict[str, Any] = {"step": step}
    if step == "generate":
        from bot.demo_data import generate

        db.parent.mkdir(parents=True, exist_ok=True)
        db.unlink(missing_ok=True)
        out["rows"] = generate(db, users=users, seed=SEED, end=BENCH_END)
    else:
        from bot.build import build

        result = build(db)
        out.update(models=result.models, tests=result.tests, unit_tests=result.unit_tests)
        # The only child this process waited for is dbt: its peak RSS.
        out["dbt_max_rss"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    out["seconds"] = time.perf_counter() - started
    out["max_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(out))


def _run_step(step: str, users: int, db: Path) -> dict[str, Any]:
    started = time.perf_counter()
    proc = run_python(
        ["-m", "benchmarks.scaling", "--step", step, "--users", str(users), "--db", str(db)]
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{step} at {users:,} users failed:\n{proc.stderr[-3000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    report["wall_s"] = round(wall, 2)
    return report


# --------------------------------------------------------------------------- preparation


def _gib(n: float | None) -> float | None:
    return None if n is None else round(n / 2**30, 2)


def prepare(users: int, previous: dict[str, Any] | None, reuse: bool) -> dict[str, Any]:
    directory = warehouse_dir(users)
    db, meta = directory / "kpi.duckdb", directory / "meta.json"
    entry: dict[str, Any] = {"users": users, "db": str(db)}
    if reuse:
        if not (db.exists() and meta.exists()):
            return entry | {"skipped": "no cached warehouse (run without --reuse first)"}
        return entry | {"cached": json.loads(meta.read_text()), "db_bytes": db.stat().st_size}

    if previous and "db_bytes" in previous:
        grow = users / previous["users"]
        # The build copies the file beside itself, so twice the file, plus dbt's temp.
        need_disk = previous["db_bytes"] * grow * 2 * SAFETY
        peak = max(previous["generate"]["max_rss"], previous["build"]["dbt_max_rss"])
        need_mem = peak * grow * SAFETY
        free_disk = shutil.disk_usage(directory.parent.parent).free
        free_mem = mem_available_bytes() or 0
        entry["preflight"] = {
            "need_disk_gib": _gib(need_disk),
            "free_disk_gib": _gib(free_disk),
            "need_mem_gib": _gib(need_mem),
            "available_mem_gib": _gib(free_mem),
        }
        if need_disk > free_disk or need_mem > free_mem:
            return entry | {"skipped": "would not fit on this machine"}

    print(f"  {users:,} users: generating …", flush=True)
    entry["generate"] = _run_step("generate", users, db)
    print(
        f"    {entry['generate']['seconds']:.1f} s, peak RSS "
        f"{_gib(entry['generate']['max_rss'])} GiB; dbt build …",
        flush=True,
    )
    entry["build"] = _run_step("build", users, db)
    print(
        f"    {entry['build']['seconds']:.1f} s, dbt peak RSS "
        f"{_gib(entry['build']['dbt_max_rss'])} GiB",
        flush=True,
    )
    entry["db_bytes"] = db.stat().st_size
    meta.write_text(
        json.dumps(
            {
                "users": users,
                "seed": SEED,
                "end": BENCH_END.isoformat(),
                "rows": entry["generate"]["rows"],
                "generate_s": round(entry["generate"]["seconds"], 3),
                "build_s": round(entry["build"]["seconds"], 3),
                "made_at": now_iso(),
            },
            indent=2,
        )
    )
    return entry


# --------------------------------------------------------------------------- latency


def latency(entries: list[dict[str, Any]], rounds: int) -> dict[int, dict[str, Any]]:

    ready = [e for e in entries if "skipped" not in e]
    services = {e["users"]: timed_service(Path(e["db"])) for e in ready}
    samples = {u: {q: {"total": [], "query": []} for q in QUESTIONS} for u in services}
    for i in range(rounds + 2):
        for users, (service, warehouse) in services.items():
            for question in QUESTIONS:
                total, query = timed_ask(service, warehouse, question, f"{users:,} users")
                if i >= 2:  # two warm-up rounds
                    samples[users][question]["total"].append(total)
                    samples[users][question]["query"].append(query)
    for _, warehouse in services.values():
        warehouse.close()
    return {
        u: {q: {k: summary(v) for k, v in parts.items()} for q, parts in by_q.items()}
        for u, by_q in samples.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scaling",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="scales 0.01,0.1 and 10 rounds")
    parser.add_argument("--scales", help="comma-separated multiples of 100k users (0.1,1,10)")
    parser.add_argument("--rounds", type=int, help="timed rounds per question (default 30)")
    parser.add_argument("--reuse", action="store_true", help="use cached warehouses")
    parser.add_argument("--step", choices=["generate", "build"], help=argparse.SUPPRESS)
    parser.add_argument("--users", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        _child(args.step, args.users, args.db)
        return 0

    scales = [
        float(s) for s in (args.scales or ("0.01,0.1" if args.quick else "0.1,1,10")).split(",")
    ]
    scales.sort()
    rounds = args.rounds or (10 if args.quick else 30)
    print(f"scaling: scales {scales} × {DEFAULT_USERS:,} users, load {load_average()}")
    before = load_average()
    entries: list[dict[str, Any]] = []
    previous = None
    for scale in scales:
        entry = prepare(round(scale * DEFAULT_USERS), previous, args.reuse)
        entry["scale"] = scale
        entries.append(entry)
        if "skipped" in entry:
            print(f"  {entry['users']:,} users skipped: {entry['skipped']}")
        elif not args.reuse:
            previous = entry
    print(f"timing questions, {rounds} interleaved rounds …", flush=True)
    lat = latency(entries, rounds)

    rows = []
    for e in entries:
        users = e["users"]
        gen = e.get("generate", {})
        bld = e.get("build", {})
        cached = e.get("cached", {})
        by_q = lat.get(users)
        rows.append(
            [
                f"{e['scale']:g}× ({users:,})",
                "skipped"
                if "skipped" in e
                else f"{gen.get('seconds', cached.get('generate_s', 0)):.1f}",
                f"{bld['seconds']:.1f}"
                if bld
                else (f"{cached['build_s']:.1f}*" if cached else "—"),
                f"{_gib(bld['dbt_max_rss'])}" if bld else "—",
                f"{_gib(gen['max_rss'])}" if gen else "—",
                f"{e['db_bytes'] / 2**20:.0f}" if "db_bytes" in e else "—",
                *(
                    [fmt_ms(by_q[q]["total"]["p50_ms"]) for q in QUESTIONS]
                    if by_q
                    else ["—"] * len(QUESTIONS)
                ),
            ]
        )
    headers = [
        "scale (users)",
        "generate s",
        "dbt build s",
        "dbt peak GiB",
        "gen peak GiB",
        "db MiB",
        *[f"{q} p50" for q in QUESTIONS],
    ]
    print()
    print(table(headers, rows))
    if args.reuse:
        print("* build time from meta.json, measured when the cached warehouse was made")

    ratios: dict[str, Any] = {}
    sizes = sorted(lat)
    base = DEFAULT_USERS if DEFAULT_USERS in lat else (sizes[0] if sizes else None)
    top = sizes[-1] if sizes else None
    if base is not None and top is not None and top != base:
        for q in QUESTIONS:
            ratios[q] = {
                "answer": ratio(lat[top][q]["total"]["p50_ms"], lat[base][q]["total"]["p50_ms"]),
                "query": ratio(lat[top][q]["query"]["p50_ms"], lat[base][q]["query"]["p50_ms"]),
            }
        print(
            f"\nlatency ratio {top:,} / {base:,} users (p50, answer and query alone): "
            + ", ".join(f"{q}: {r['answer']}× / {r['query']}×" for q, r in ratios.items())
        )
    build_1x = next(
        (e["build"]["seconds"] for e in entries if e["users"] == DEFAULT_USERS and "build" in e),
        None,
    )
    verdicts = {
        "latency_ratio_met": all(
            (r["answer"] or 99) <= TARGET_LATENCY_RATIO for r in ratios.values()
        )
        if ratios
        else None,
        "build_1x_s": round(build_1x, 1) if build_1x else None,
        "build_1x_met": build_1x < TARGET_BUILD_1X_S if build_1x else None,
    }
    print("  ".join(f"{k}={v}" for k, v in verdicts.items()))
    write_result(
        "scaling" + ("-quick" if args.quick else ""),
        {
            "command": "python -m benchmarks.scaling " + " ".join(argv or sys.argv[1:]),
            "machine": machine(),
            "load_average_before": before,
            "load_average_after": load_average(),
            "rounds": rounds,
            "scales": entries,
            "latency": {str(k): v for k, v in lat.items()},
            "ratio_top_to_1x": {"top_users": top, "base_users": base, "by_question": ratios},
            "verdicts": verdicts,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
