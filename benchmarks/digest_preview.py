"""`/kpi digest preview` cost: wall and CPU time of ``DigestService.preview``.

Runs the same snippet against this tree and, with ``--compare REV``, against a git
revision checked out in a temporary worktree (e.g. the commit before charts were drawn
only when shown), on the same cached demo warehouse, interleaved, one process each.

    .venv/bin/python -m benchmarks.digest_preview [--quick] [--compare edc6422]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import (
    DEFAULT_USERS,
    ROOT,
    ensure_warehouse,
    fmt_ms,
    ratio,
    summary,
    table,
    write_result,
)

# Works on both sides of the refactor: only constructors and ``preview`` that both have.
SNIPPET = r"""
import json, sys, time
from datetime import datetime, UTC
from zoneinfo import ZoneInfo
from bot.digest.service import DigestService
from bot.digest.store import DigestStore
from bot.service import KpiService
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse

db, state, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
now = datetime(2026, 11, 25, 6, 0)
kpi = KpiService(MartReader(DuckDBWarehouse(db)), clock=lambda: now)
digest = DigestService(kpi, DigestStore(state), None, timezone=ZoneInfo("UTC"),
                       clock=lambda: now.replace(tzinfo=UTC))
digest.preview("C0BENCH")  # warm: connection, imports
walls, cpus = [], []
for _ in range(runs):
    w, c = time.perf_counter(), time.process_time()
    blocks, text = digest.preview("C0BENCH")
    walls.append(time.perf_counter() - w)
    cpus.append(time.process_time() - c)
print(json.dumps({"wall": walls, "cpu": cpus, "blocks": len(blocks)}))
"""


def run_tree(tree: Path, db: Path, runs: int, state_dir: Path) -> dict:
    state = f"sqlite:///{state_dir / (tree.name + '.sqlite')}"
    done = subprocess.run(
        [sys.executable, "-c", SNIPPET, str(db), state, str(runs)],
        cwd=tree, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"preview failed in {tree}:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k users, 3 runs")
    parser.add_argument("--compare", help="a git revision to measure beside this tree")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    users, runs = (10_000, 3) if args.quick else (DEFAULT_USERS, args.runs)
    db = ensure_warehouse(users)
    trees = {"this tree": ROOT}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if args.compare:
            other = tmp_path / "compare"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(other), args.compare],
                cwd=ROOT, check=True, capture_output=True,
            )  # fmt: skip
            trees = {args.compare: other, **trees}
        try:
            results = {name: run_tree(tree, db, runs, tmp_path) for name, tree in trees.items()}
        finally:
            if args.compare:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(tmp_path / "compare")],
                    cwd=ROOT, check=False, capture_output=True,
                )  # fmt: skip
    rows, summaries = [], {}
    for name, r in results.items():
        wall, cpu = summary(r["wall"]), summary(r["cpu"])
        summaries[name] = {"wall": wall, "cpu": cpu, "blocks": r["blocks"]}
        rows.append([name, fmt_ms(wall["p50_ms"]), fmt_ms(cpu["p50_ms"]), str(r["blocks"])])
    print(f"digest preview at {users:,} users, median of {runs}")
    print(table(["code", "wall p50 ms", "CPU p50 ms", "blocks"], rows))
    if args.compare:
        before, after = summaries[args.compare], summaries["this tree"]
        wall = ratio(after["wall"]["p50_ms"], before["wall"]["p50_ms"])
        cpu = ratio(after["cpu"]["p50_ms"], before["cpu"]["p50_ms"])
        print(f"wall after/before: {wall}, CPU after/before: {cpu}")
    write_result("digest_preview", {"users": users, "runs": runs, "results": summaries})


if __name__ == "__main__":
    main()
