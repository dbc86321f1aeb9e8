"""Running the bot: HTTP (Bolt's WSGI adapter on waitress) or Socket Mode.

Bolt's ``app.start()`` is a single-threaded development server that drops connections
under concurrent load, so HTTP goes through ``slack_bolt.adapter.wsgi`` on waitress, a
production WSGI server with a thread pool. ``/healthz`` answers without touching Slack
(``bot/slack/health.py``: 503 naming what is unhealthy).

Anyone who can reach the port can send anything, before any signature is checked, so
waitress bounds what an unsigned client can make the process hold (``HttpLimits``):
bodies over 64 KiB are answered 413 by waitress before the body is read, and idle or
stalled connections are closed after 10 s. Requests Bolt can't even parse (a timestamp
too long to be one, a body that is not UTF-8) are refused here with 401/400 and one
short log line. In production, run it behind a reverse proxy as well (README).
"""

from __future__ import annotations

import gc
import io
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError

from bot.chart_workers import ChartRenderer, ChartWorkers, render_inline
from bot.core import special
from bot.digest.runtime import open_store, start_digest
from bot.pins import PinStore
from bot.service import KpiService
from bot.settings import Settings, SettingsError
from bot.slack.app import build_app, work_pool
from bot.slack.context import Services
from bot.slack.dedupe import SharedSeenRequests
from bot.slack.health import Check, WarehouseCheck, report

log = logging.getLogger("bot.slack")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
HTTP_THREADS = 16
# Slack's request timestamps are Unix seconds (10 digits until the year 2286). Longer
# ones can't be verified: slack_sdk's int() refuses over 4,300 digits and subtracting
# one of hundreds of digits from time.time() overflows (a 500 and a traceback each).
MAX_TIMESTAMP_DIGITS = 12
StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class HttpLimits:
    """What one client can make the HTTP server hold, before any signature is checked.

    * ``max_body_bytes``: a /kpi payload is about 700 bytes of fields plus the text, and
      the question parser refuses text over 1,000 characters; Slack percent-encodes the
      text, at most 12 bytes per character (4-byte UTF-8), so a real command stays under
      13 KB. 64 KiB leaves room to spare; waitress's default is 1 GiB, and Bolt reads
      and decodes the whole body before it checks the signature.
    * ``channel_timeout_s``: Slack sends a request at once and gives up on the ack after
      3 s, so a connection idle (or stalled mid-body) for 10 s is closed; waitress's
      default keeps it 120 s. ``cleanup_interval_s`` is how often waitress looks.
    * ``connection_limit``: connections waitress holds before it stops accepting (then
      ``/healthz`` and Slack wait too). An idle connection costs a socket and a small
      buffer, no thread, so 500 rather than waitress's 100; with ``poll()`` instead of
      ``select()`` descriptors above 1024 are fine.
    """

    max_body_bytes: int = 64 * 1024
    channel_timeout_s: int = 10
    cleanup_interval_s: int = 2
    connection_limit: int = 500


def build_services(settings: Settings, workers: ChartWorkers | None = None) -> Services:
    """``workers``: chart workers started already (``python -m bot serve`` starts them
    before importing this module); else they start here when configured."""
    render: ChartRenderer = render_inline
    if workers is None and settings.chart_processes:
        workers = ChartWorkers(settings.chart_processes)
        workers.warm()  # the workers start while the app connects to Slack
    if workers is not None:
        render = workers
    kpi = KpiService.from_settings(settings, render)
    # MetricFlow (~1.7 s of imports) is warmed by serve() once it listens (_warm_up).
    return Services(settings=settings, kpi=kpi)


WARM_UP_DELAY_S = 1.0
WORKER_START_WAIT_S = 10.0


def _warm_up(services: Services, delay_s: float = WARM_UP_DELAY_S) -> threading.Thread:
    """Once the server listens and the chart worker can draw, in a background thread:
    import scipy.special (every experiment answer needs it; ~0.15–0.4 s that start-up
    no longer pays) and resume the garbage collector if start-up paused it, then,
    ``delay_s`` after listening, load the semantic layer's vocabulary (and MetricFlow).
    Before listening this work would share the GIL with start-up (imports are Python)
    and delay it; the delay leaves the first second's questions the CPU (a question
    that needs either loads it itself as soon as it arrives). Acks never wait for it
    (benchmarks/README.md, "Footprint")."""
    started = time.monotonic()
    render = services.kpi.render

    def warm() -> None:
        try:
            if isinstance(render, ChartWorkers):
                # The chart worker may still be importing matplotlib: the first answers'
                # charts wait for it, so it gets the CPU first (scipy is loaded on demand
                # by an experiment question asked meanwhile).
                render.wait_started(WORKER_START_WAIT_S)
            special.load()
        finally:
            if not gc.isenabled():  # paused for start-up (python -m bot serve): resume it
                # What start-up built lives as long as the process: out of the
                # collector's sight. No collection first (~70 ms of GIL while the first
                # questions are answered) for the ~1,000 cyclic leftovers it would free
                # (~0.1 MiB), once.
                gc.freeze()
                gc.enable()
        time.sleep(max(0.0, delay_s - (time.monotonic() - started)))
        services.kpi.semantic.warm()  # this thread is the background already

    thread = threading.Thread(target=warm, name="warm-up", daemon=True)
    thread.start()
    return thread


def wsgi_app(
    app: App,
    serve_events: bool = True,
    checks: Mapping[str, Check] | None = None,
    max_body_bytes: int = HttpLimits.max_body_bytes,
) -> Callable[[dict, StartResponse], Iterable[bytes]]:
    """Route Slack's endpoint to Bolt and answer the health check ourselves.

    ``serve_events=False`` answers only the health check. In Socket Mode events arrive
    over the socket and there may be no signing secret to verify HTTP requests with, so
    the endpoint must not exist at all (with an empty secret, slack_sdk's verifier raises
    and every request would end as a 500 with a traceback in the log).
    ``checks``: what ``/healthz`` checks (none: it only says the server answers).
    """
    slack = SlackRequestHandler(app) if serve_events else None
    checks = checks or {}
    # Bolt logs every request with a bad signature at INFO, whole body included (up to
    # max_body_bytes of anyone's junk per line); refusals get one short line below.
    logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)

    def application(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH:
            healthy, body = report(checks)
            return _json(start_response, "200 OK" if healthy else "503 Service Unavailable", body)
        if path == EVENTS_PATH and slack is not None:
            return _events(slack, environ, start_response, max_body_bytes)
        return _json(start_response, "404 Not Found", {"ok": False, "error": "not_found"})

    return application


def _events(
    slack: SlackRequestHandler, environ: dict, start_response: StartResponse, max_body: int
) -> Iterable[bytes]:
    """Refuse what Bolt can't parse (401/400, one log line), then hand over to Bolt."""
    if not _plausible_timestamp(environ):
        # slack_sdk's verifier would raise on int() or on the subtraction (a 500 and a
        # traceback per request); such a request can't be verified: refused the same way.
        return _refuse(environ, start_response, "401 Unauthorized", "bad timestamp")
    body = _read_body(environ, max_body)
    if body is None:  # only without waitress's limit in front (another WSGI server)
        return _refuse(environ, start_response, "413 Payload Too Large", "body too large")
    try:
        body.decode("utf-8")  # Bolt's WSGI adapter decodes it and raises otherwise
    except UnicodeDecodeError:
        return _refuse(environ, start_response, "400 Bad Request", "body is not UTF-8")
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return slack(environ, _logging_401(environ, start_response))


def _plausible_timestamp(environ: dict) -> bool:
    value = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "").strip()
    # isascii: int() refuses "²", which isdigit() allows.
    return value.isascii() and value.isdigit() and len(value) <= MAX_TIMESTAMP_DIGITS


def _read_body(environ: dict, max_body: int) -> bytes | None:
    """The body, or None when it is longer than ``max_body`` (not read past that)."""
    raw_length = (environ.get("CONTENT_LENGTH") or "0").strip()
    if not (raw_length.isascii() and raw_length.isdigit()):
        return b""  # no body announced (waitress itself refuses a malformed length)
    if len(raw_length) > 12 or int(raw_length) > max_body:
        return None
    length = int(raw_length)
    return environ["wsgi.input"].read(length) if length else b""


def _logging_401(environ: dict, start_response: StartResponse) -> StartResponse:
    """Bolt's signature refusals get the same one short line as ours (Bolt's own is
    silenced above)."""

    def logging_start_response(status: str, headers: list, exc_info: Any = None) -> Any:
        if status.startswith("401"):
            _log_refused(environ, "bad or stale signature")
        return start_response(status, headers, exc_info)

    return logging_start_response


def _refuse(environ: dict, start_response: StartResponse, status: str, why: str) -> list[bytes]:
    _log_refused(environ, why)
    return _json(start_response, status, {"ok": False})


def _log_refused(environ: dict, why: str) -> None:
    log.warning("refused a request from %s: %s", environ.get("REMOTE_ADDR", "?"), why)


def _json(start_response: StartResponse, status: str, body: dict) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]


def make_http_server(
    app: App,
    host: str,
    port: int,
    serve_events: bool = True,
    checks: Mapping[str, Check] | None = None,
    limits: HttpLimits = HttpLimits(),
):
    """A waitress server (not yet running); ``port=0`` picks a free port."""
    from waitress import create_server

    return create_server(
        wsgi_app(app, serve_events, checks, limits.max_body_bytes),
        host=host,
        port=port,
        threads=HTTP_THREADS,
        ident="kpi-bot",
        # waitress refuses a body whose length is >= this with 413, before reading it.
        max_request_body_size=limits.max_body_bytes + 1,
        channel_timeout=limits.channel_timeout_s,
        cleanup_interval=limits.cleanup_interval_s,
        connection_limit=limits.connection_limit,
        asyncore_use_poll=True,
    )


def stop_http_server(server) -> None:
    """Stop a server running on another thread. The close runs inside the server's own
    loop (waitress's trigger), so no socket is closed under a select() in progress."""
    try:
        server.trigger.pull_trigger(server.close)
    except OSError:  # the trigger's pipe is closed: the server has been closed already
        log.info("HTTP server already closed")


def serve(settings: Settings, host: str, port: int, workers: ChartWorkers | None = None) -> int:
    socket_mode = bool(settings.slack_app_token)
    settings.require_slack(socket_mode=socket_mode)
    services = build_services(settings, workers)
    # KPI_STATE_DB: the digest's job store and ledger, and the deliveries already seen.
    store, engine = open_store(settings)
    services.pins = PinStore(engine)  # App Home's pinned questions
    work = work_pool()
    try:
        app = build_app(settings, services, work=work, seen=SharedSeenRequests(engine))
    except (BoltError, SlackApiError) as err:
        raise SettingsError(
            "Slack rejected SLACK_BOT_TOKEN at start-up (auth.test failed). "
            "Check the token and SLACK_API_URL."
        ) from err
    except OSError as err:  # refused, unresolvable, timed out: the URL or the network
        raise SettingsError(
            f"Couldn't reach Slack's Web API at SLACK_API_URL={settings.slack_api_url} "
            f"({_reason(err)}). Check the URL and the network."
        ) from err
    # The weekly digest scheduler runs inside the serving process.
    scheduler = start_digest(settings, services.kpi, app.client, (store, engine))
    services.digest = scheduler.service
    services.alerts = scheduler.alerts
    checks = health_checks(services.kpi.reader, scheduler)
    try:
        if socket_mode:
            return _serve_socket_mode(app, settings, host, port, checks, services)
        server = make_http_server(app, host, port, checks=checks)
        log.warning("kpi-bot listening on http://%s:%s%s", host, server.effective_port, EVENTS_PATH)
        _stop_on_sigterm(lambda: _close_after_inflight(server))
        _warm_up(services)  # the socket is bound: connections queue while it starts
        server.run()
        return 0
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        # Commands already acknowledged still get their answer before the process ends.
        work.shutdown(wait=True)
        if isinstance(services.kpi.render, ChartWorkers):
            services.kpi.render.close()


def health_checks(reader, scheduler) -> dict[str, Check]:
    """What ``serve``'s ``/healthz`` checks: the warehouse, the digest's scheduler and,
    when alerts run, the last alert round (warehouse unreadable, Slack failing after
    retries)."""
    checks: dict[str, Check] = {
        "warehouse": WarehouseCheck(reader),
        "scheduler": scheduler.problem,
    }
    if scheduler.alerts is not None:
        checks["alerts"] = scheduler.alerts.problem
    return checks


def _serve_socket_mode(
    app: App,
    settings: Settings,
    host: str,
    port: int,
    checks: Mapping[str, Check],
    services: Services | None = None,
) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    # The health endpoint still listens, so container health checks work in both modes;
    # Slack's HTTP endpoint does not (events arrive over the socket, unsigned).
    health = make_http_server(app, host, port, serve_events=False, checks=checks)
    threading.Thread(target=health.run, daemon=True, name="health").start()
    log.warning("kpi-bot connecting over Socket Mode (health on port %s)", health.effective_port)
    if services is not None:
        _warm_up(services)  # the health endpoint is up; the socket connects meanwhile
    SocketModeHandler(app, settings.slack_app_token).start()
    return 0


def _close_after_inflight(server, timeout_s: float = 5.0) -> None:
    """Let waitress's worker threads finish the responses they are writing, then close
    the sockets: closing first makes a worker write to a closed descriptor (EBADF)."""
    server.task_dispatcher.shutdown(cancel_pending=False, timeout=timeout_s)
    server.close()


def _reason(err: OSError) -> str:
    """A short cause without the URL's query or a traceback (urllib nests the cause)."""
    cause = getattr(err, "reason", err)
    return getattr(cause, "strerror", None) or type(cause).__name__


def _stop_on_sigterm(stop: Callable[[], None]) -> None:
    def handler(signum: int, frame: Any) -> None:
        log.warning("stopping on signal %s", signum)
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, handler)
