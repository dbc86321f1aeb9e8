"""Terminal edge: ``python -m bot generate|build|catalog|ask|demo|serve|digest|alerts``.

Thin by design: parse arguments, call the library, print, and turn failures into exit
codes and one-line messages (0 = answered, 1 = failed, 2 = not understood / bad usage).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from bot.progress import Progress
from bot.settings import Settings, SettingsError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEMO_QUESTIONS = (
    "revenue last 30 days",
    "ab",  # replaced by one `ab <id>` per demo experiment
    "retention",
    "funnel last 30 days",
    "revenue by traffic_source last 30 days",
)

log = logging.getLogger("bot")


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _count(minimum: int):
    """An argparse type: an integer of at least ``minimum``, with a plain message."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}: {text!r}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="kpi-bot: product KPIs from dbt marts, in Slack and in the terminal.",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log queries and timings (at least INFO, whatever KPI_LOG_LEVEL says)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = sub.add_parser(
        "generate",
        help="write deterministic TheLook-shaped demo data into a DuckDB file",
        description="Write demo raw tables into schema `thelook`.\n\n"
        "Example: python -m bot generate --db data/kpi.duckdb --users 20000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gen.add_argument("--db", type=Path, help="DuckDB file (default: KPI_DUCKDB_PATH)")
    gen.add_argument(
        "--users", type=_count(1), default=100_000, help="number of users (default 100k)"
    )
    gen.add_argument("--seed", type=_count(0), default=42, help="random seed (default 42)")
    gen.add_argument("--end", type=_iso_date, help="last day of data (default: yesterday, UTC)")

    build = sub.add_parser(
        "build",
        help="run dbt build into a fresh copy and swap it in atomically",
        description="Build the marts without disturbing live readers.\n\n"
        "Example: python -m bot build --db data/kpi.duckdb",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("--db", type=Path, help="DuckDB file (default: KPI_DUCKDB_PATH)")
    build.add_argument(
        "--no-alert-check",
        action="store_true",
        help="don't run an alert round after the swap (it runs when SLACK_BOT_TOKEN is set)",
    )

    catalog = sub.add_parser(
        "catalog",
        help="compile the semantic layer's catalog (metric vocabulary and common questions' SQL)",
        description="Compile dbt_project/target/semantic_catalog.json from the semantic "
        "manifest beside it with MetricFlow: the metric vocabulary and the SQL of common "
        "metric questions, so the first metric question after start-up needs no MetricFlow. "
        "`build` does this for DuckDB itself; the Docker image runs it after `dbt parse`. A "
        "catalog already compiled from the same definitions is kept.\n\n"
        "Example: python -m bot catalog",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    catalog.add_argument(
        "--dialect",
        action="append",
        choices=("duckdb", "bigquery"),
        help="SQL dialect to compile (repeatable; default: duckdb and bigquery)",
    )
    catalog.add_argument(
        "--manifest",
        type=Path,
        help="semantic_manifest.json (default: dbt_project/target/semantic_manifest.json)",
    )

    ask = sub.add_parser(
        "ask",
        help="answer one question in the terminal, as /kpi would",
        description="Answer a question and write its charts.\n\n"
        'Example: python -m bot ask "revenue last 30 days" --out out/',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ask.add_argument("question", help='e.g. "revenue last 30 days", "ab checkout_redesign"')
    ask.add_argument("--as-of", type=_iso_date, help="anchor date for relative windows")
    ask.add_argument("--out", type=Path, default=Path("out"), help="chart directory (default out/)")
    ask.add_argument("--json", action="store_true", help="print one JSON object instead of text")

    demo = sub.add_parser(
        "demo",
        help="generate demo data (if missing), build, and answer the standard questions",
        description="The main job on the embedded default (DuckDB + demo data).\n\n"
        "Example: python -m bot demo --users 20000 --out out/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--db", type=Path, help="DuckDB file (default: KPI_DUCKDB_PATH)")
    demo.add_argument(
        "--users", type=_count(1), default=100_000, help="users to generate (default 100k)"
    )
    demo.add_argument("--out", type=Path, default=Path("out"), help="chart directory")
    demo.add_argument("--fresh", action="store_true", help="regenerate data even if it exists")
    demo.add_argument("--end", type=_iso_date, help="last day of generated data")

    serve = sub.add_parser(
        "serve",
        help="run the Slack bot (Socket Mode if SLACK_APP_TOKEN is set, else HTTP)",
        description="Run the Slack bot.\n\nExample: SLACK_BOT_TOKEN=... SLACK_SIGNING_SECRET=... "
        "python -m bot serve --port 3000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    serve.add_argument(
        "--host",
        default="0.0.0.0",
        help="HTTP bind address (default 0.0.0.0: every interface, as a container needs; "
        "127.0.0.1 behind a reverse proxy on the same host)",
    )

    digest = sub.add_parser(
        "digest",
        help="build (and post) the weekly digest",
        description="Build the weekly digest; --dry-run prints Block Kit JSON and writes PNGs.\n\n"
        "Example: python -m bot digest --dry-run --out out/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    digest.add_argument("--dry-run", action="store_true", help="print instead of posting")
    digest.add_argument("--as-of", type=_iso_date, help="date the digest is for (default today)")
    digest.add_argument("--channel", action="append", help="channel ID (repeatable)")
    digest.add_argument("--out", type=Path, default=Path("out"), help="chart directory (dry run)")

    alerts = sub.add_parser(
        "alerts",
        help="evaluate the alert rules (as the scheduler does)",
        description="Evaluate every alert rule on the complete data days it hasn't been "
        "evaluated on, and post what fires (once).\n\n"
        "Example: python -m bot alerts check --dry-run",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    alerts_sub = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    check = alerts_sub.add_parser("check", help="one evaluation round")
    check.add_argument("--as-of", type=_iso_date, help="evaluate as if today were DATE")
    check.add_argument("--dry-run", action="store_true", help="print; write and post nothing")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as err:
        configure_logging("WARNING", args.verbose)
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(settings.log_level, args.verbose)
    handler = {
        "generate": _generate,
        "build": _build,
        "catalog": _catalog,
        "ask": _ask,
        "demo": _demo,
        "serve": _serve,
        "digest": _digest,
        "alerts": _alerts,
    }[args.command]
    try:
        return handler(args, settings)
    except SettingsError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_FAILED


def configure_logging(level_name: str, verbose: bool) -> int:
    """``KPI_LOG_LEVEL`` (validated by Settings); ``-v`` raises it to INFO, never lowers
    it (``KPI_LOG_LEVEL=DEBUG -v`` stays DEBUG). Returns the level applied."""
    level = logging.getLevelNamesMapping()[level_name]
    if verbose:
        level = min(level, logging.INFO)
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    return level


def _db(args: argparse.Namespace, settings: Settings) -> Path:
    return args.db or settings.duckdb_path


def _progress() -> Progress:
    """Progress of long work goes to stderr: stdout keeps only the results."""
    return Progress(sys.stderr)


def _generate(args: argparse.Namespace, settings: Settings) -> int:
    db = _db(args, settings)
    counts = _generate_into(db, args.users, args.seed, args.end, _progress())
    if counts is None:
        return EXIT_FAILED
    print(f"Wrote demo data to {db}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    return EXIT_OK


def _generate_into(
    db: Path, users: int, seed: int | None, end: date | None, progress: Progress
) -> dict[str, int] | None:
    """Generate with progress shown; None (after saying why) when the file can't be written."""
    import duckdb

    from bot.demo_data import generate

    db.parent.mkdir(parents=True, exist_ok=True)
    progress.start("Generating demo data", f" ({users:,} users) into {db}")
    try:
        seeded = {} if seed is None else {"seed": seed}  # None: the generator's default
        counts = generate(db, users=users, end=end, progress=progress.status, **seeded)
    except duckdb.Error as err:  # e.g. another process holds the file's write lock
        progress.done("failed")
        print(f"error: could not write demo data to {db}: {err}", file=sys.stderr)
        return None
    progress.done(f"{sum(counts.values()):,} rows in {len(counts)} tables")
    return counts


def _build(args: argparse.Namespace, settings: Settings) -> int:
    db = _db(args, settings)
    if not _build_with_progress(db, _progress()):
        return EXIT_FAILED
    print(f"Built the marts into {db}")
    if not args.no_alert_check:
        _check_alerts(settings, db)
    return EXIT_OK


def _catalog(args: argparse.Namespace, settings: Settings) -> int:
    from bot.warehouse.base import WarehouseError
    from bot.warehouse.semantic import write_catalog

    dialects = tuple(args.dialect or ("duckdb", "bigquery"))
    try:
        written = write_catalog(args.manifest, dialects)
    except (OSError, WarehouseError) as err:
        print(f"error: the semantic catalog wasn't written: {err}", file=sys.stderr)
        return EXIT_FAILED
    shapes = ", ".join(f"{written.shapes[d]} {d}" for d in dialects)
    done = f"compiled in {written.seconds:.1f} s" if written.compiled else "already current"
    print(f"Semantic catalog {written.path}: {shapes} question shapes ({done})")
    return EXIT_OK


def _check_alerts(settings: Settings, db: Path) -> None:
    """Alerts on the new data now, not at the next scheduled round."""
    from bot.alerts.cli import check_after_build

    outcomes = check_after_build(settings, db)
    sent = sum(o.status == "sent" for o in outcomes)
    failed = sum(o.status == "failed" for o in outcomes)
    if sent or failed:
        print(f"Alerts on the new data: {sent} sent, {failed} failed")
    if failed:
        print("warning: some alerts couldn't be delivered (see the log)", file=sys.stderr)


def _build_with_progress(db: Path, progress: Progress) -> bool:
    """``bot.build.build`` with its progress shown; False (after saying why) on failure."""
    from bot.build import BuildError, build

    progress.start("Building the dbt marts")
    try:
        result = build(db, progress=progress.status)
    except BuildError as err:
        progress.done("failed")
        print(f"error: {err}", file=sys.stderr)
        return False
    progress.done(f"{result.models} models, {result.tests + result.unit_tests} tests passed")
    return True


def _service(settings: Settings, db: Path | None = None):
    from dataclasses import replace

    from bot.service import KpiService

    if db is not None:
        settings = replace(settings, duckdb_path=db)
    return KpiService.from_settings(settings)


def write_charts(answer, out: Path, prefix: str = "") -> dict[str, str]:
    """Write each chart PNG; returns chart name → path."""
    paths = {}
    if answer.charts:
        out.mkdir(parents=True, exist_ok=True)
    for chart in answer.charts:
        path = out / f"{prefix}{chart.name}.png"
        path.write_bytes(chart.png)
        paths[chart.name] = str(path)
    return paths


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from bot.answers import ErrorAnswer
    from bot.kinds import render_text, to_json_dict

    answer = _service(settings).ask(args.question, as_of=args.as_of)
    paths = write_charts(answer, args.out)
    if isinstance(answer, ErrorAnswer):
        if args.json:
            print(json.dumps(to_json_dict(answer), indent=2))
        print(render_text(answer), file=sys.stderr)
        return EXIT_USAGE if answer.kind == "parse" else EXIT_FAILED
    if args.json:
        print(json.dumps(to_json_dict(answer, paths), indent=2))
    else:
        print(render_text(answer))
        for path in paths.values():
            print(f"Chart: {path}")
    return EXIT_OK


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.answers import ErrorAnswer, ExperimentListAnswer
    from bot.kinds import render_text

    db = _db(args, settings)
    progress = _progress()
    fresh = args.fresh or not db.exists()
    if fresh and _generate_into(db, args.users, None, args.end, progress) is None:
        return EXIT_FAILED
    if not _build_with_progress(db, progress):
        return EXIT_FAILED
    service = _service(settings, db)
    questions = list(DEMO_QUESTIONS)
    listing = service.ask("ab")
    if isinstance(listing, ExperimentListAnswer):
        questions[1:2] = [f"ab {e.experiment_id}" for e in listing.experiments]
    status = EXIT_OK
    for question in questions:
        answer = service.ask(question)
        print(f"\n$ /kpi {question}\n")
        print(render_text(answer))
        prefix = question.replace(" ", "_") + "-"
        for path in write_charts(answer, args.out, prefix).values():
            print(f"Chart: {path}")
        if isinstance(answer, ErrorAnswer):
            status = EXIT_FAILED
    print(f"\nCharts are in {args.out.resolve()}")
    return status


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    # No cyclic garbage collection until the server listens: start-up only builds what
    # lives as long as the process, and the collector would walk it over and over while
    # the libraries import (~50 ms of ~0.5 s). The warm-up resumes it, the start-up
    # heap frozen out of its sight (bot.slack.server._warm_up).
    gc.disable()
    try:
        # The chart workers start first: they import matplotlib on the other core while
        # this process imports the server (~0.5 s), so the first chart doesn't wait.
        from bot.chart_workers import ChartWorkers

        settings.require_slack(socket_mode=bool(settings.slack_app_token))  # before spawning
        workers = ChartWorkers(settings.chart_processes) if settings.chart_processes else None
        if workers is not None:
            workers.warm()
        from bot.slack.server import serve

        return serve(settings, host=args.host, port=args.port, workers=workers)
    finally:
        gc.enable()  # start-up failed, or the server stopped: the collector as it was


def _digest(args: argparse.Namespace, settings: Settings) -> int:
    from bot.digest.cli import run_digest_command

    return run_digest_command(args, settings)


def _alerts(args: argparse.Namespace, settings: Settings) -> int:
    from bot.alerts.cli import run_alerts_command

    return run_alerts_command(args, settings)
