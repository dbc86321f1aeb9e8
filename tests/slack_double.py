"""A local stand-in for Slack's Web API: a real threaded HTTP server on 127.0.0.1, port 0.

Point the real client at it and assert on what Slack would have received::

    with SlackDouble() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url)
        client.chat_postMessage(channel="C0TEST", text="hi")
        assert slack.messages()[0].text == "hi"

It answers the methods the bot uses as Slack does (JSON with ``ok``): ``auth.test``,
``chat.postMessage``, ``chat.postEphemeral``, the three steps of ``files_upload_v2``
(``files.getUploadURLExternal`` → POST of the bytes to an ``upload_url`` that points
back here → ``files.completeUploadExternal``), POSTs to slash-command
``response_url``s (``response_url(name)``), and ``apps.connections.open`` for Socket
Mode once told where the socket is (``allow_socket_mode``). Like Slack it refuses messages over the
Block Kit limits, posts into channels the bot isn't a member of (``add_channel``), and
a sixth reply to one response_url.

Every request is recorded, refused ones too (``calls``); ``messages`` and ``uploads``
hold only what Slack would have accepted. Faults are queued per method: ``fail_next``
(``ok: false``), ``rate_limit_next`` (429 + Retry-After), ``server_error_next`` (5xx,
nothing done) and ``delay_next`` (done, then a slow answer). Work happens after a
command's ack, so tests poll with ``wait_for``. Tokens are recorded but never shown:
reprs leave headers and bodies out, and the server logs nothing.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, unquote, urlsplit

from tests.threads import join_or_fail

UPLOAD_URL = "upload_url"  # the method name recorded for bytes POSTed to an upload_url
RESPONSE_URL = "response_url"  # the method name recorded for POSTs to a response_url
RESPONSE_URL_MAX_POSTS = 5  # Slack accepts up to 5 responses per response_url

# Block Kit limits Slack enforces (answering invalid_blocks / msg_too_long).
MAX_BLOCKS, MAX_SECTION_TEXT, MAX_FIELDS, MAX_FIELD_TEXT, MAX_HEADER_TEXT = 50, 3000, 10, 2000, 150
MAX_MESSAGE_TEXT = 40_000
MAX_VIEW_BLOCKS = 100  # modals and the Home tab

T = TypeVar("T")
Payload = dict[str, Any]


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, repr=False)
class RecordedCall:
    """One HTTP request the double received and what it answered.

    ``method`` is the Web API method (``chat.postMessage``), ``UPLOAD_URL`` or
    ``RESPONSE_URL``; ``time`` is ``time.monotonic()`` at arrival.
    """

    method: str
    path: str
    headers: dict[str, str]
    body_raw: bytes
    args: dict[str, Any]  # query string + form fields or JSON body
    time: float
    status: int = 200
    response: Any = None  # the JSON payload (dict) or text answered
    fault: str | None = None  # "fail", "rate_limit", "server_error", "delay"

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)

    @property
    def token(self) -> str | None:
        auth = self.header("Authorization") or ""
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None

    def __repr__(self) -> str:  # headers and bodies may hold tokens: never shown
        return f"RecordedCall({self.method!r}, status={self.status}, fault={self.fault!r})"


@dataclass(frozen=True)
class SentMessage:
    """A message Slack accepted: chat.postMessage, chat.postEphemeral or a response_url POST."""

    method: str
    channel: str | None
    text: str | None
    blocks: list[dict[str, Any]] | None
    ts: str | None = None
    user: str | None = None  # the recipient of chat.postEphemeral
    response_url_name: str | None = None
    response_type: str | None = None  # response_url: "ephemeral" (Slack's default) or "in_channel"
    replace_original: bool | None = None
    call: RecordedCall | None = field(default=None, repr=False, compare=False)

    @property
    def ephemeral(self) -> bool:
        if self.method == "chat.postEphemeral":
            return True
        return self.method == RESPONSE_URL and self.response_type != "in_channel"

    @property
    def block_texts(self) -> list[str]:
        """Every text inside the blocks, in order (section text, fields, context…)."""
        return list(_texts_in(self.blocks or []))

    @property
    def all_text(self) -> str:
        """The fallback text and every block text, newline-joined, for substring asserts."""
        return "\n".join([self.text or "", *self.block_texts])


@dataclass
class Upload:
    """One file of ``files_upload_v2``, joined across its three HTTP calls."""

    file_id: str
    filename: str
    length: int  # as declared to files.getUploadURLExternal
    alt_txt: str | None = None
    data: bytes | None = field(default=None, repr=False)  # POSTed to the upload_url
    title: str | None = None
    channel: str | None = None  # channel_id of files.completeUploadExternal
    initial_comment: str | None = None
    thread_ts: str | None = None
    completed: bool = False


@dataclass
class _Fault:
    kind: str  # "fail", "rate_limit", "server_error", "delay"
    remaining: int | None  # None: until clear_faults()
    error: str = ""
    status: int = 200
    retry_after: int = 1
    seconds: float = 0.0


# --------------------------------------------------------------------------- the double


class SlackDouble:
    """A threaded HTTP server standing in for Slack's Web API, upload URLs and response_urls."""

    def __init__(self, *, token: str | None = None, bot_user_id: str = "U0BOT") -> None:
        """``token``: if given, API calls carrying any other token get ``invalid_auth``."""
        self.expected_token = token
        self.bot_user_id = bot_user_id
        self.errors: list[str] = []  # exceptions while handling: a bug in the double
        self._socket_mode: tuple[str, str] | None = None  # (app token, websocket URL)
        self._lock = threading.Condition(threading.RLock())
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> SlackDouble:
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.double = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes handlers sleeping in a delay
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            join_or_fail(self._thread, 5)
        self._server = self._thread = None

    def __enter__(self) -> SlackDouble:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        assert self._server is not None, "SlackDouble is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """For ``WebClient(token=..., base_url=slack.base_url)``."""
        return f"{self.origin}/api/"

    def response_url(self, name: str = "command") -> str:
        """A slash command's response_url; POSTs to it are recorded under ``name``."""
        return f"{self.origin}/response/{quote(name, safe='')}"

    # ----------------------------------------------------------------- setup

    def add_channel(
        self, channel_id: str, *, is_member: bool = True, archived: bool = False
    ) -> None:
        """Declare a channel. Channels never declared accept posts; one where the bot is
        not a member refuses them with ``not_in_channel``, an archived one ``is_archived``."""
        with self._lock:
            self._channels[channel_id] = {"is_member": is_member, "archived": archived}

    def allow_socket_mode(self, app_token: str, url: str) -> None:
        """Answer ``apps.connections.open`` for ``app_token`` with the websocket ``url``
        (a ``tests/socket_mode_peer.py`` on loopback); otherwise it is refused."""
        self._socket_mode = (app_token, url)

    def fail_next(self, method: str, error: str = "not_in_channel", times: int | None = 1) -> None:
        """Answer ``ok: false`` with ``error`` (an upload_url answers 400, a response_url
        404). ``times=None``: until ``clear_faults``."""
        self._add_fault(method, _Fault("fail", times, error=error))

    def rate_limit_next(self, method: str, retry_after: int = 1, times: int | None = 1) -> None:
        """HTTP 429 with ``Retry-After``; nothing is done."""
        self._add_fault(method, _Fault("rate_limit", times, status=429, retry_after=retry_after))

    def server_error_next(self, method: str, status: int = 500, times: int | None = 1) -> None:
        """HTTP ``status`` (500, 503…); nothing is done."""
        self._add_fault(method, _Fault("server_error", times, status=status))

    def delay_next(self, method: str, seconds: float, times: int | None = 1) -> None:
        """Do the work, then wait before answering: a client that times out never learns
        that Slack acted (why retrying a post is unsafe)."""
        self._add_fault(method, _Fault("delay", times, seconds=seconds))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _add_fault(self, method: str, fault: _Fault) -> None:
        with self._lock:
            self._faults.setdefault(method, []).append(fault)

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method) or []
        if not queue:
            return None
        fault = queue[0]
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.pop(0)
        return fault

    # ----------------------------------------------------------------- inspection

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        """Every request received (refused ones too), oldest first."""
        with self._lock:
            return [c for c in self._calls if method in (None, c.method)]

    def messages(self, method: str | None = None) -> list[SentMessage]:
        """Accepted chat.postMessage / chat.postEphemeral / response_url messages, in order."""
        with self._lock:
            return [m for m in self._messages if method in (None, m.method)]

    def uploads(self, *, include_incomplete: bool = False) -> list[Upload]:
        """Files shared by files.completeUploadExternal (or every upload started)."""
        with self._lock:
            return [u for u in self._uploads.values() if include_incomplete or u.completed]

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Poll ``predicate`` until it returns something truthy, and return that;
        AssertionError (listing the calls seen) after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not (result := predicate()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [f"{c.method}:{c.status}" for c in self.calls()]
                raise AssertionError(f"condition not met within {timeout}s; calls seen: {seen}")
            with self._lock:
                self._lock.wait(min(remaining, 0.05))
        return result

    def reset(self) -> None:
        """Forget calls, messages, uploads, channels and faults (the server keeps running)."""
        with self._lock:
            self._calls: list[RecordedCall] = []
            self._messages: list[SentMessage] = []
            self._uploads: dict[str, Upload] = {}
            self._channels: dict[str, dict[str, bool]] = {}
            self._response_posts: dict[str, int] = {}
            self._faults: dict[str, list[_Fault]] = {}
            self._pending_message: Payload | None = None  # set by a method, taken by _handle
            self._counter = 0

    # ----------------------------------------------------------------- HTTP handling

    def _handle(self, handler: _Handler) -> None:
        arrived = time.monotonic()
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        if url.path.startswith("/api/"):
            method = url.path.removeprefix("/api/")
        elif url.path.startswith("/upload/"):
            method = UPLOAD_URL
        elif url.path.startswith("/response/"):
            method = RESPONSE_URL
        else:
            _send(handler, 404, "not_found")
            return
        args = {k: v[-1] for k, v in parse_qs(url.query).items()}
        content_type = (handler.headers.get("Content-Type") or "").lower()
        if method != UPLOAD_URL:  # upload bodies are file bytes, whatever they're labelled
            args |= _parse_body(body, content_type)

        with self._lock:
            self._pending_message = None
            fault = self._take_fault(method)
            if fault is None or fault.kind == "delay":
                auth = handler.headers.get("Authorization") or ""
                status, answer = self._answer(method, url.path, args, auth, body)
            else:
                status, answer = _fault_answer(fault, method)
            call = RecordedCall(
                method=method,
                path=url.path,
                headers=dict(handler.headers.items()),
                body_raw=body,
                args=args,
                time=arrived,
                status=status,
                response=answer,
                fault=fault.kind if fault else None,
            )
            self._calls.append(call)
            if self._pending_message is not None:
                self._messages.append(
                    SentMessage(**self._pending_message, call=call)  # type: ignore[arg-type]
                )
                self._pending_message = None
            self._lock.notify_all()

        if fault is not None and fault.kind == "delay":
            self._stopping.wait(fault.seconds)
        extra = (
            {"Retry-After": str(fault.retry_after)} if fault and fault.kind == "rate_limit" else {}
        )
        _send(handler, status, answer, extra)

    def _answer(
        self, method: str, path: str, args: Payload, authorization: str, body: bytes
    ) -> tuple[int, Any]:
        try:
            if method == UPLOAD_URL:
                return self._upload(path.rsplit("/", 1)[-1], body)
            if method == RESPONSE_URL:
                return self._respond(unquote(path.removeprefix("/response/")), args)
            return 200, self._api(method, args, authorization)
        except Exception as err:  # a bug in the double: answer 500 and keep it visible
            self.errors.append(f"{method}: {type(err).__name__}: {err}")
            return 500, {"ok": False, "error": "double_internal_error"}

    def _api(self, method: str, args: Payload, authorization: str) -> Payload:
        handlers: dict[str, Callable[[Payload], Payload]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "views.open": self._views_open,
            "conversations.open": self._conversations_open,
            "views.publish": self._views_publish,
        }
        token = authorization.removeprefix("Bearer ") if authorization else args.get("token")
        if method == "apps.connections.open":  # takes the app-level token, not the bot's
            if self._socket_mode is None:
                return _error("not_allowed_token_type")
            app_token, url = self._socket_mode
            return {"ok": True, "url": url} if token == app_token else _error("invalid_auth")
        if method not in handlers:
            return _error("unknown_method")
        if not token:
            return _error("not_authed")
        if self.expected_token is not None and token != self.expected_token:
            return _error("invalid_auth")
        return handlers[method](args)

    # ----------------------------------------------------------------- Web API methods

    def _auth_test(self, args: Payload) -> Payload:
        return {
            "ok": True,
            "url": "https://kpi-test.slack.com/",
            "team": "KPI Test",
            "user": "kpibot",
            "team_id": "T0TEST",
            "user_id": self.bot_user_id,
            "bot_id": "B0BOT",
        }

    def _chat_post_message(self, args: Payload) -> Payload:
        channel = args.get("channel")
        refusal = self._refuse_channel(channel) or _refuse_content(args)
        if refusal:
            return _error(refusal)
        ts = self._next_ts()
        self._accept_message("chat.postMessage", args, channel=channel, ts=ts)
        message = {"type": "message", "user": self.bot_user_id, "text": args.get("text"), "ts": ts}
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_post_ephemeral(self, args: Payload) -> Payload:
        channel = args.get("channel")
        if not args.get("user"):
            return _error("user_not_found")
        refusal = self._refuse_channel(channel) or _refuse_content(args)
        if refusal:
            return _error(refusal)
        ts = self._next_ts()
        self._accept_message("chat.postEphemeral", args, channel=channel, ts=ts)
        return {"ok": True, "message_ts": ts}

    def _conversations_open(self, args: Payload) -> Payload:
        """A direct message with one user (``users``): its id is ``D`` + the user's."""
        users = str(args.get("users") or "")
        if not users or "," in users:
            return _error("invalid_arguments")
        return {"ok": True, "channel": {"id": "D" + users.removeprefix("U")}}

    def _views_open(self, args: Payload) -> Payload:
        """A modal: needs a trigger_id; ≤ 100 blocks, a title of ≤ 24 characters."""
        if not args.get("trigger_id"):
            return _error("invalid_arguments")
        return self._view(args, "modal")

    def _views_publish(self, args: Payload) -> Payload:
        """The Home tab of ``user_id``: a ``home`` view of ≤ 100 blocks."""
        if not args.get("user_id"):
            return _error("invalid_arguments")
        return self._view(args, "home")

    def _view(self, args: Payload, kind: str) -> Payload:
        view = args.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except json.JSONDecodeError:
                return _error("invalid_arguments")
        if not isinstance(view, dict) or view.get("type") != kind:
            return _error("invalid_arguments")
        blocks = view.get("blocks") or []
        title = (view.get("title") or {}).get("text", "")
        if len(blocks) > MAX_VIEW_BLOCKS or (kind == "modal" and not 0 < len(title) <= 24):
            return _error("invalid_arguments")
        self._counter += 1
        return {"ok": True, "view": {**view, "id": f"V{self._counter:08d}", "hash": "h"}}

    def _files_get_upload_url(self, args: Payload) -> Payload:
        try:
            length = int(args.get("length", ""))
        except ValueError:
            return _error("invalid_arguments")
        if not args.get("filename") or length < 0:
            return _error("invalid_arguments")
        self._counter += 1
        file_id = f"F{self._counter:08d}"
        self._uploads[file_id] = Upload(file_id, args["filename"], length, args.get("alt_txt"))
        return {"ok": True, "upload_url": f"{self.origin}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: Payload) -> Payload:
        try:
            files = json.loads(args.get("files") or "[]")
        except json.JSONDecodeError:
            return _error("invalid_arguments")
        channel = args.get("channel_id")
        refusal = self._refuse_channel(channel) if channel else None
        if refusal:
            return _error(refusal)
        uploads = [self._uploads.get(f.get("id", "")) for f in files if isinstance(f, dict)]
        if not files or len(uploads) != len(files):
            return _error("invalid_arguments")
        if any(u is None or u.data is None for u in uploads):
            return _error("file_not_found")
        shared = []
        for upload, item in zip(uploads, files, strict=True):
            assert upload is not None
            upload.title = item.get("title") or upload.filename
            upload.channel = channel
            upload.initial_comment = args.get("initial_comment")
            upload.thread_ts = args.get("thread_ts")
            upload.completed = True
            shared.append(
                {"id": upload.file_id, "name": upload.filename, "title": upload.title,
                 "size": len(upload.data or b""), "channels": [channel] if channel else []}
            )  # fmt: skip
        return {"ok": True, "files": shared}

    # ----------------------------------------------------------------- upload URL, response_url

    def _upload(self, file_id: str, body: bytes) -> tuple[int, str]:
        upload = self._uploads.get(file_id)
        if upload is None:
            return 404, "file_not_found"
        upload.data = body
        return 200, f"OK - {len(body)}"

    def _respond(self, name: str, payload: Payload) -> tuple[int, Payload]:
        if self._response_posts.get(name, 0) >= RESPONSE_URL_MAX_POSTS:
            return 404, _error("used_url")
        refusal = _refuse_content(payload)
        if refusal:
            return 400, _error(refusal)
        self._response_posts[name] = self._response_posts.get(name, 0) + 1
        self._accept_message(RESPONSE_URL, payload, channel=None, response_url_name=name)
        return 200, {"ok": True}

    # ----------------------------------------------------------------- helpers

    def _next_ts(self) -> str:
        self._counter += 1
        return f"1700000000.{self._counter:06d}"

    def _refuse_channel(self, channel: str | None) -> str | None:
        if not channel:
            return "channel_not_found"
        info = self._channels.get(channel)
        if info is None:
            return None
        if info["archived"]:
            return "is_archived"
        return None if info["is_member"] else "not_in_channel"

    def _accept_message(self, method: str, args: Payload, **where: Any) -> None:
        """Record the message; ``_handle`` attaches the call once it is recorded."""
        self._pending_message = {
            "method": method,
            "text": args.get("text"),
            "blocks": _blocks_arg(args.get("blocks")),
            "user": args.get("user"),
            "response_type": args.get("response_type"),
            "replace_original": _as_bool(args.get("replace_original")),
            **where,
        }


# --------------------------------------------------------------------------- plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    double: SlackDouble

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.double.errors.append("unhandled error while serving a request")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self.server.double._handle(self)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the double never writes requests (or tokens) to the test output."""


def _parse_body(body: bytes, content_type: str) -> Payload:
    """slack_sdk sends form fields (WebClient) or JSON (WebhookClient, JSON methods)."""
    if not body:
        return {}
    if "json" in content_type:
        parsed = json.loads(body)
        return parsed if isinstance(parsed, dict) else {}
    return {k: v[-1] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}


def _send(
    handler: BaseHTTPRequestHandler, status: int, body: Any, headers: dict | None = None
) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    data = text.encode("utf-8")
    kind = "text/plain" if isinstance(body, str) else "application/json"
    with contextlib.suppress(OSError):  # a client that timed out has gone: that's the point
        handler.send_response(status)
        handler.send_header("Content-Type", f"{kind}; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)


def _fault_answer(fault: _Fault, method: str) -> tuple[int, Any]:
    if fault.kind == "rate_limit":
        return 429, _error("ratelimited")
    if fault.kind == "server_error":
        return fault.status, _error("internal_error")
    if method == UPLOAD_URL:
        return 400, fault.error
    return (404 if method == RESPONSE_URL else 200), _error(fault.error)


def _error(error: str) -> Payload:
    return {"ok": False, "error": error}


def _as_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    return str(value).lower() in {"1", "true"}


def _blocks_arg(raw: Any) -> list[dict[str, Any]] | None:
    """Blocks arrive as a list (JSON requests) or a JSON string (form requests)."""
    if raw in (None, ""):
        return None
    blocks = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        raise ValueError("blocks must be a list of objects")
    return blocks


def _refuse_content(args: Payload) -> str | None:
    """Slack's refusals for a message body: no text, too long, or over the block limits."""
    text, raw_blocks = args.get("text"), args.get("blocks")
    if not text and not raw_blocks:
        return "no_text"
    if text and len(str(text)) > MAX_MESSAGE_TEXT:
        return "msg_too_long"
    try:
        blocks = _blocks_arg(raw_blocks) or []
    except (ValueError, json.JSONDecodeError):
        return "invalid_blocks_format"
    return "invalid_blocks" if _over_block_limits(blocks) else None


def _over_block_limits(blocks: list[dict[str, Any]]) -> bool:
    if len(blocks) > MAX_BLOCKS:
        return True
    for block in blocks:
        text = (block.get("text") or {}).get("text", "")
        fields = block.get("fields") or []
        if block.get("type") == "section" and (
            len(text) > MAX_SECTION_TEXT
            or len(fields) > MAX_FIELDS
            or any(len(f.get("text", "")) > MAX_FIELD_TEXT for f in fields)
            or not (text or fields)
        ):
            return True
        if block.get("type") == "header" and len(text) > MAX_HEADER_TEXT:
            return True
        if not block.get("type"):
            return True
    return False


def _texts_in(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _texts_in(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from _texts_in(value)
