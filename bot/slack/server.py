"""Running the bot: HTTP (Bolt's WSGI adapter on waitress) or Socket Mode.

Bolt's ``app.start()`` is a single-threaded development server that drops connections
under concurrent load, so HTTP goes through ``slack_bolt.adapter.wsgi`` on waitress, a
production WSGI server with a thread pool. ``/healthz`` answers without touching Slack.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError

from bot.chart_workers import ChartRenderer, ChartWorkers, render_inline
from bot.digest.runtime import open_store, start_digest
from bot.service import KpiService
from bot.settings import Settings, SettingsError
from bot.slack.app import build_app, work_pool
from bot.slack.context import Services
from bot.slack.dedupe import SharedSeenRequests

log = logging.getLogger("bot.slack")

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
HTTP_THREADS = 16
StartResponse = Callable[..., Any]


def build_services(settings: Settings) -> Services:
    render: ChartRenderer = render_inline
    if settings.chart_processes:
        workers = ChartWorkers(settings.chart_processes)
        workers.warm()  # the workers start while the app connects to Slack
        render = workers
    kpi = KpiService.from_settings(settings, render)
    # MetricFlow (~1.5 s of imports) loads in the background: start-up doesn't wait.
    kpi.semantic.warm_in_background()
    return Services(settings=settings, kpi=kpi)


def wsgi_app(
    app: App, serve_events: bool = True
) -> Callable[[dict, StartResponse], Iterable[bytes]]:
    """Route Slack's endpoint to Bolt and answer the health check ourselves.

    ``serve_events=False`` answers only the health check. In Socket Mode events arrive
    over the socket and there may be no signing secret to verify HTTP requests with, so
    the endpoint must not exist at all (with an empty secret, slack_sdk's verifier raises
    and every request would end as a 500 with a traceback in the log).
    """
    slack = SlackRequestHandler(app) if serve_events else None

    def application(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH:
            return _json(start_response, "200 OK", {"ok": True})
        if path == EVENTS_PATH and slack is not None:
            if not _timestamp_is_integer(environ):
                # slack_sdk's verifier would raise on int() (a 500 and a traceback per
                # request); such a request can't be verified, so it is refused the same way.
                return _json(start_response, "401 Unauthorized", {"ok": False})
            return slack(environ, start_response)
        return _json(start_response, "404 Not Found", {"ok": False, "error": "not_found"})

    return application


def _timestamp_is_integer(environ: dict) -> bool:
    value = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "").strip()
    return value.isascii() and value.isdigit()  # int() refuses "²", which isdigit() allows


def _json(start_response: StartResponse, status: str, body: dict) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]


def make_http_server(app: App, host: str, port: int, serve_events: bool = True):
    """A waitress server (not yet running); ``port=0`` picks a free port."""
    from waitress import create_server

    return create_server(
        wsgi_app(app, serve_events),
        host=host,
        port=port,
        threads=HTTP_THREADS,
        ident="kpi-bot",
    )


def stop_http_server(server) -> None:
    """Stop a server running on another thread. The close runs inside the server's own
    loop (waitress's trigger), so no socket is closed under a select() in progress."""
    server.trigger.pull_trigger(server.close)


def serve(settings: Settings, host: str, port: int) -> int:
    socket_mode = bool(settings.slack_app_token)
    settings.require_slack(socket_mode=socket_mode)
    services = build_services(settings)
    # KPI_STATE_DB: the digest's job store and ledger, and the deliveries already seen.
    store, engine = open_store(settings)
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
    scheduler = start_digest(settings, services, app.client, (store, engine))
    try:
        if socket_mode:
            return _serve_socket_mode(app, settings, host, port)
        server = make_http_server(app, host, port)
        log.warning("kpi-bot listening on http://%s:%s%s", host, server.effective_port, EVENTS_PATH)
        _stop_on_sigterm(lambda: _close_after_inflight(server))
        server.run()
        return 0
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        # Commands already acknowledged still get their answer before the process ends.
        work.shutdown(wait=True)
        if isinstance(services.kpi.render, ChartWorkers):
            services.kpi.render.close()


def _serve_socket_mode(app: App, settings: Settings, host: str, port: int) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    # The health endpoint still listens, so container health checks work in both modes;
    # Slack's HTTP endpoint does not (events arrive over the socket, unsigned).
    health = make_http_server(app, host, port, serve_events=False)
    threading.Thread(target=health.run, daemon=True, name="health").start()
    log.warning("kpi-bot connecting over Socket Mode (health on port %s)", health.effective_port)
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
