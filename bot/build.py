"""Build the dbt marts without disturbing live readers: copy → ``dbt build`` → atomic swap.

DuckDB allows one writer per file, and a reader's lock makes ``dbt build`` fail at once.
So the build never touches the live file: it copies it into a fresh directory beside it
(same file system, so the final rename is atomic), runs ``dbt build`` on the copy and
``os.replace``-s the copy over the live file. A reader that has the old file open keeps
reading the old inode; ``DuckDBWarehouse`` sees the new file identity and reopens.

After a successful swap the build's ``target/semantic_manifest.json`` (dbt's validated
semantic models and metrics) is copied to ``<project>/target/``, where
``bot.warehouse.semantic`` reads it; the build's own target directory goes with its work
directory. Then the semantic layer's compiled catalog (``semantic_catalog.json``: the
vocabulary and common questions' SQL, so the first metric question needs no MetricFlow)
is compiled beside it for DuckDB, the engine this build builds for; unchanged
definitions keep the catalog as it is (a hash comparison), and a failure to compile it
is logged, never a failed build: the bot then compiles lazily.

The copy keeps the live file's *name*: dbt-duckdb qualifies the views it creates with the
catalog, which is the file stem, so a copy called ``kpi-build.duckdb`` would leave views
pointing at a catalog that no longer exists once renamed back to ``kpi.duckdb``.

dbt runs in a subprocess (``python -m dbt.cli.main``), not in-process via ``dbtRunner``:
dbt keeps process-global state (flags, adapter registry, logging handlers, an open DuckDB
connection) and is not safe to run twice at once in one process, while a child process is
isolated, can be stopped on timeout, and gives the bot process back all its memory. The
price is ~2 s of interpreter start-up per build. Its progress comes from its structured
log (``--log-format json``, one event per line, read as it is written): the same events
``dbtRunner(callbacks=…)`` would deliver, counted into ``DbtProgress``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

log = logging.getLogger("bot.build")

DEFAULT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
RAW_SCHEMA = "thelook"
RAW_TABLES = ("users", "orders", "order_items", "events", "experiment_assignments", "products")
MARTS = (
    "revenue_daily",
    "funnel_users",
    "funnel_sessions_daily",
    "ab_group",
    "ab_experiments",
    "ab_metrics",
    "ab_funnel",
    "ab_registry",
    "retention_weekly",
    "data_freshness",
)
# The marts the semantic layer reads (dbt_project/models/marts/semantic).
SEMANTIC_MARTS = (
    "fct_orders",
    "fct_order_items",
    "dim_users",
    "dim_products",
    "fct_session_days",
    "metricflow_time_spine",
)
# Where dbt's semantic manifest is kept after a build (bot/warehouse/semantic.py reads it):
# the build's own target directory is deleted with its work directory.
SEMANTIC_MANIFEST = "semantic_manifest.json"
_FAILED_STATUSES = {"error", "fail", "runtime error"}
_OUTPUT_TAIL_CHARS = 2000


class BuildError(Exception):
    """The marts could not be built; the live file was left exactly as it was."""

    def __init__(self, message: str, failed_nodes: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.failed_nodes = failed_nodes


# dbt's resource types as counted in progress: data and unit tests are both "tests".
_KINDS = {"model": "model", "seed": "seed", "snapshot": "snapshot", "test": "test",
          "unit_test": "test"}  # fmt: skip
_FOUND = re.compile(r"(\d+) (model|seed|snapshot|data test|unit test)s?\b")
_FOUND_KINDS = {"data test": "test", "unit test": "test"}
_NODE_DONE_EVENTS = ("Result", "SkippingDetails")  # LogModelResult, LogTestResult, …


@dataclass
class DbtProgress:
    """How far a ``dbt build`` is, from its log events: ``feed`` each JSON line."""

    stage: str = "starting dbt"  # → "parsing the project" → "running" (→ "finished")
    totals: dict[str, int] = field(default_factory=dict)  # by kind, from "Found …"
    done: dict[str, int] = field(default_factory=dict)  # by kind, nodes finished
    failed: int = 0

    def feed(self, line: str) -> bool:
        """Count one log line; True when it changed what there is to show."""
        try:
            event = json.loads(line)
            name, data = event["info"]["name"], event.get("data", {})
        except (ValueError, KeyError, TypeError):
            return False  # not an event (a warning printed by a library, …)
        if name == "MainReportVersion":
            self.stage = "parsing the project"
        elif name == "FoundStats":
            self.stage = "running"
            for count, kind in _FOUND.findall(str(data.get("stat_line", ""))):
                key = _FOUND_KINDS.get(kind, kind)
                self.totals[key] = self.totals.get(key, 0) + int(count)
        elif name.endswith(_NODE_DONE_EVENTS) and isinstance(data.get("node_info"), dict):
            kind = _KINDS.get(data["node_info"].get("resource_type", ""))
            if kind is None:
                return False
            self.done[kind] = self.done.get(kind, 0) + 1
            if str(data.get("status", "")).lower() in _FAILED_STATUSES:
                self.failed += 1
        elif name == "EndOfRunSummary":
            self.stage = "finished"
        else:
            return False
        return True

    def describe(self) -> str:
        """``dbt build: 14/14 models, 1/1 seed, 52/103 tests``."""
        if self.stage in ("starting dbt", "parsing the project"):
            return f"dbt build: {self.stage}"
        parts = []
        for kind in ("model", "seed", "snapshot", "test"):
            total, done = self.totals.get(kind, 0), self.done.get(kind, 0)
            if total or done:
                noun = kind if total == 1 else f"{kind}s"
                parts.append(f"{done}/{total} {noun}")
        failed = f", {self.failed} failed" if self.failed else ""
        return "dbt build: " + (", ".join(parts) or "nothing to run") + failed


@dataclass(frozen=True)
class BuildResult:
    db_path: Path
    seconds: float
    # Counts of dbt nodes that ran, by resource type (model, test, unit_test).
    models: int
    tests: int
    unit_tests: int


def build(
    db_path: Path,
    *,
    project_dir: Path | None = None,
    threads: int | None = None,
    timeout_s: float | None = 3600.0,
    progress: Callable[[str], None] | None = None,
) -> BuildResult:
    """Run ``dbt build`` on a copy of ``db_path`` and swap the copy in atomically.

    ``threads`` overrides the profile's thread count (None keeps it). ``progress`` is
    told in plain words how far the build is (``DbtProgress.describe``). On any failure
    a ``BuildError`` is raised and ``db_path`` is untouched.
    """
    report = progress or _quiet
    db_path = Path(db_path).absolute()
    project_dir = Path(project_dir or DEFAULT_PROJECT_DIR).absolute()
    if not db_path.is_file():
        raise BuildError(
            f"There's no warehouse file at {db_path}. "
            "Run `python -m bot generate --db PATH` (or load TheLook tables) first."
        )
    if not (project_dir / "dbt_project.yml").is_file():
        raise BuildError(f"No dbt project at {project_dir} (dbt_project.yml missing).")
    _refuse_open_writer(db_path)
    remove_stale_build_dirs(db_path)

    started = time.perf_counter()
    try:
        with _build_dir(db_path) as work:
            copy = work / db_path.name  # same name: the catalog dbt-duckdb writes into views
            report("copying the warehouse file")
            shutil.copyfile(db_path, copy)
            _check_raw_tables(copy)
            counts = _run_dbt(copy, work, project_dir, threads, timeout_s, report)
            report("checking the built copy and swapping it in")
            _finalise(copy)
            os.replace(copy, db_path)
            _fsync_dir(db_path.parent)
            _keep_semantic_manifest(work / "target", project_dir / "target")
        report("compiling the semantic catalog")
        keep_semantic_catalog(project_dir / "target")
    except OSError as err:  # no room for the copy, directory not writable, ...
        raise BuildError(f"Couldn't build beside {db_path}: {err}") from err
    seconds = time.perf_counter() - started
    log.info("build db=%s seconds=%.1f nodes=%s", db_path, seconds, counts)
    return BuildResult(
        db_path=db_path,
        seconds=seconds,
        models=counts.get("model", 0),
        tests=counts.get("test", 0),
        unit_tests=counts.get("unit_test", 0),
    )


def _quiet(status: str) -> None:
    """No progress wanted."""


def _refuse_open_writer(db_path: Path) -> None:
    # A write-ahead log beside the file means a writer has it open (or died with it
    # open): a copy could miss committed data, and the stale log would be replayed over
    # the swapped-in file. Readers never leave one.
    wal = db_path.with_name(db_path.name + ".wal")
    if wal.exists():
        raise BuildError(
            f"{db_path} has a write-ahead log ({wal.name}): a writer has it open or did "
            "not close it cleanly. Close the writer (or open and close the file once) "
            "and build again."
        )


STALE_BUILD_DIR_S = 6 * 3600  # longer than any build's timeout: such a dir's owner is dead


def remove_stale_build_dirs(db_path: Path, older_than_s: float = STALE_BUILD_DIR_S) -> int:
    """Delete work directories left beside ``db_path`` by killed builds; returns how many."""
    cutoff = time.time() - older_than_s
    removed = 0
    for work in db_path.parent.glob(f".{db_path.name}.build-*"):
        try:
            if work.is_dir() and work.stat().st_mtime < cutoff:
                shutil.rmtree(work, ignore_errors=True)
                removed += 1
        except OSError:  # raced with another cleaner: nothing to do
            continue
    if removed:
        log.info("removed %d stale build directories beside %s", removed, db_path.name)
    return removed


@contextmanager
def _build_dir(db_path: Path) -> Iterator[Path]:
    # Beside the live file so os.replace is a same-file-system rename (atomic), and per
    # run so concurrent builds never share a copy, a dbt target or a log directory.
    work = Path(tempfile.mkdtemp(prefix=f".{db_path.name}.build-", dir=db_path.parent))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check_raw_tables(copy: Path) -> None:
    try:
        with duckdb.connect(str(copy), read_only=True) as conn:
            present = {
                name
                for (name,) in conn.execute(
                    "select table_name from information_schema.tables where table_schema = ?",
                    [RAW_SCHEMA],
                ).fetchall()
            }
    except duckdb.Error as err:
        raise BuildError(f"The warehouse file couldn't be opened: {err}") from err
    missing = [name for name in RAW_TABLES if name not in present]
    if missing:
        raise BuildError(
            f"The warehouse has no raw data to build from: schema {RAW_SCHEMA!r} lacks "
            f"{', '.join(missing)}. Run `python -m bot generate --db PATH` first."
        )


def _run_dbt(
    copy: Path,
    work: Path,
    project_dir: Path,
    threads: int | None,
    timeout_s: float | None,
    report: Callable[[str], None],
) -> dict[str, int]:
    target_path, log_path = work / "target", work / "logs"
    command = [
        sys.executable,
        "-m",
        "dbt.cli.main",
        "build",
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target",
        "duckdb",
        "--target-path",
        str(target_path),
        "--log-path",
        str(log_path),
        "--log-format",
        "json",  # one event per line on stdout: progress, and the text of any failure
        "--no-use-colors",
    ]
    if threads is not None:
        command += ["--threads", str(threads)]
    env = {
        **os.environ,
        "KPI_DUCKDB_PATH": str(copy),
        "DBT_PROFILES_DIR": str(project_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    tracker = DbtProgress()
    report(tracker.describe())

    def on_line(line: str) -> None:
        if tracker.feed(line):
            report(tracker.describe())

    returncode, output = _run_streaming(command, project_dir, env, timeout_s, on_line)
    results = _read_run_results(target_path / "run_results.json")
    failed = tuple(
        r["unique_id"] for r in results if str(r.get("status", "")).lower() in _FAILED_STATUSES
    )
    if returncode != 0 or failed:
        raise BuildError(_failure_message(returncode, output, results, failed), failed)

    counts: dict[str, int] = {}
    for r in results:
        kind = r["unique_id"].split(".", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _run_streaming(
    command: list[str],
    cwd: Path,
    env: dict[str, str],
    timeout_s: float | None,
    on_line: Callable[[str], None],
) -> tuple[int, str]:
    """Run ``command``, handing each output line to ``on_line`` as it comes; returns the
    exit code and the output as text (each JSON event's message)."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream: a reader thread, no pipe left to fill
        text=True,
        bufsize=1,
    )
    text: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            text.append(_message_of(line))
            try:
                on_line(line)
            except Exception:  # progress is a nicety: it never stops a build
                log.debug("progress callback failed", exc_info=True)

    reader = threading.Thread(target=pump, name="dbt-output", daemon=True)
    reader.start()
    try:
        returncode = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        reader.join(timeout=5)
        raise BuildError(f"dbt build took longer than {timeout_s:g} s and was stopped.") from None
    reader.join()
    return returncode, "".join(text)


def _message_of(line: str) -> str:
    """A JSON log event's message (what dbt would have printed), or the line as is."""
    try:
        return str(json.loads(line)["info"]["msg"]).rstrip("\n") + "\n"
    except (ValueError, KeyError, TypeError):
        return line


def _read_run_results(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text())["results"]
    except (OSError, ValueError, KeyError):
        return []  # dbt stopped before running anything (e.g. a parse error)


def _failure_message(
    returncode: int, output: str, results: list[dict], failed: tuple[str, ...]
) -> str:
    if failed:
        lines = [f"dbt build failed on {len(failed)} node(s): {', '.join(failed)}"]
        for r in results:
            if r["unique_id"] in failed and r.get("message"):
                first_line = str(r["message"]).strip().splitlines()[0]
                lines.append(f"  {r['unique_id']}: {first_line[:300]}")
        return "\n".join(lines)
    # No per-node result: dbt failed before running nodes (parse/compile/profile error).
    output = output.strip()
    tail = output[-_OUTPUT_TAIL_CHARS:] if output else "(no output)"
    return f"dbt build failed (exit code {returncode}):\n{tail}"


def _finalise(copy: Path) -> None:
    # Fold any write-ahead log into the file (a stale .wal must never travel with the
    # swap), check the contract's marts exist, and make the bytes durable before the
    # rename makes them live.
    try:
        with duckdb.connect(str(copy)) as conn:
            conn.execute("checkpoint")
            present = {
                name
                for (name,) in conn.execute(
                    "select table_name from information_schema.tables "
                    "where table_schema = 'main' and table_type = 'BASE TABLE'"
                ).fetchall()
            }
    except duckdb.Error as err:
        raise BuildError(f"The built copy couldn't be checked: {err}") from err
    missing = [name for name in (*MARTS, *SEMANTIC_MARTS) if name not in present]
    if missing:
        raise BuildError(f"dbt build succeeded but these marts are missing: {', '.join(missing)}")
    if copy.with_name(copy.name + ".wal").exists():
        raise BuildError("The built copy still has a write-ahead log after a checkpoint.")
    with open(copy, "rb+") as handle:
        os.fsync(handle.fileno())


def _keep_semantic_manifest(built_target: Path, project_target: Path) -> None:
    """Copy the build's semantic manifest to ``<project>/target`` (atomically: a reader
    never sees half a file). It describes the dbt project, not the data (the semantic
    layer points its relations at the warehouse it reads), so one copy serves every
    warehouse file. A read-only project directory (a container image) keeps the one made
    by ``dbt parse`` at image build time; that is logged, not an error: the marts are
    built and swapped in already."""
    source = built_target / SEMANTIC_MANIFEST
    try:
        project_target.mkdir(parents=True, exist_ok=True)
        partial = project_target / f".{SEMANTIC_MANIFEST}.{os.getpid()}.tmp"
        shutil.copyfile(source, partial)
        os.replace(partial, project_target / SEMANTIC_MANIFEST)
    except OSError as err:
        log.warning("semantic manifest not kept in %s: %s", project_target, err)


def keep_semantic_catalog(project_target: Path, dialects: tuple[str, ...] = ("duckdb",)) -> None:
    """Compile the semantic catalog of ``project_target``'s manifest (MetricFlow is
    imported here, in the build's process). Any failure is a warning: the marts are
    swapped in already, and without a current catalog the bot compiles lazily."""
    try:
        from bot.warehouse.semantic import write_catalog

        write_catalog(project_target / SEMANTIC_MANIFEST, dialects)
    except Exception as err:  # never fail a swapped-in build over it
        log.warning("semantic catalog not written in %s: %s", project_target, err)


def _fsync_dir(directory: Path) -> None:
    # The rename itself is durable only once the directory entry is flushed (POSIX).
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
