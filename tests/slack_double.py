"""A local stand-in for Slack's Web API: a real threaded HTTP server on 127.0.0.1, port 0.

Point the real client at it and assert on what Slack would have received::

    with SlackDouble() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url)
        client.chat_postMessage(channel="C0TEST", text="hi")
        assert slack.messages()[0].text == "hi"

As a pytest fixture named ``slack_double``: either import the fixture function in a test
module, ``from tests.slack_double import slack_double_fixture  # noqa: F401``, or list
``pytest_plugins = ["tests.slack_double"]`` in ``tests/conftest.py``.

It answers like Slack: JSON bodies with an ``ok`` field, form-encoded or JSON requests as
slack_sdk sends them, ``files_upload_v2``'s three steps (the upload URL points back here),
and slash-command ``response_url`` POSTs. Every request is recorded, including rejected
ones; ``messages()`` and ``uploads()`` hold only what Slack would have accepted. Faults
(``ok: false``, 429 with Retry-After, 5xx, slow answers, dropped connections) are queued
per method with ``fail_next`` and friends. A delayed or failed answer is still recorded,
so a test can tell "Slack never got it" (rate limited, 5xx) from "Slack did it but the
answer was lost" (delayed, ``disconnect_next(..., processed=True)``).

Tokens are recorded (``RecordedCall.token``) so tests can check which one was used, and are
never printed: reprs leave out headers and bodies, and the server logs nothing.
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest

UPLOAD_URL = "upload_url"  # the method name recorded for the bytes POSTed to an upload_url
RESPONSE_URL = "response_url"  # the method name recorded for POSTs to a response_url

RESPONSE_URL_MAX_POSTS = 5  # Slack accepts up to 5 responses per response_url
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_ACTIONS_ELEMENTS = 25
MAX_MESSAGE_TEXT = 40_000

T = TypeVar("T")
Payload = dict[str, Any]


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, repr=False)
class RecordedCall:
    """One HTTP request the double received, with what it answered.

    ``method`` is the Web API method ("chat.postMessage"), or ``UPLOAD_URL`` /
    ``RESPONSE_URL``. ``time`` is ``time.monotonic()`` at arrival, for measuring gaps.
    """

    method: str
    path: str
    headers: dict[str, str]
    body_raw: bytes
    form: dict[str, str] | None
    json: Any
    time: float
    query: dict[str, str] = field(default_factory=dict)
    # What the double answered: a JSON payload (dict) or text. After disconnect_next the
    # answer was never sent; status is 0 unless the work was done (processed=True).
    status: int = 200
    response: Any = None
    fault: str | None = None  # "fail", "rate_limit", "server_error", "delay", "disconnect"

    def header(self, name: str, default: str | None = None) -> str | None:
        """A request header, looked up case-insensitively."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return default

    @property
    def args(self) -> dict[str, Any]:
        """The method's arguments: query string, then the form or JSON body."""
        merged: dict[str, Any] = dict(self.query)
        if self.form:
            merged.update(self.form)
        if isinstance(self.json, dict):
            merged.update(self.json)
        return merged

    @property
    def token(self) -> str | None:
        """The token sent: ``Authorization: Bearer ...`` or a ``token`` form field."""
        auth = self.header("Authorization") or ""
        if auth.startswith("Bearer "):
            return auth[len("Bearer ") :]
        token = (self.form or {}).get("token") or self.query.get("token")
        return token or None

    @property
    def ok(self) -> bool:
        if isinstance(self.response, dict):
            return self.status == 200 and bool(self.response.get("ok"))
        return self.status == 200

    def __repr__(self) -> str:  # headers and bodies may hold tokens: never shown
        return (
            f"RecordedCall(method={self.method!r}, path={self.path!r}, status={self.status}, "
            f"fault={self.fault!r})"
        )


@dataclass(frozen=True)
class SentMessage:
    """A message Slack accepted: chat.postMessage, chat.postEphemeral or a response_url POST."""

    method: str
    channel: str | None
    text: str | None
    blocks: list[dict[str, Any]] | None
    ts: str | None = None
    thread_ts: str | None = None
    user: str | None = None  # the recipient of an ephemeral message
    response_url_name: str | None = None
    response_type: str | None = None  # response_url: "ephemeral" (default) or "in_channel"
    replace_original: bool | None = None
    delete_original: bool | None = None
    payload: dict[str, Any] = field(default_factory=dict, repr=False)
    call: RecordedCall | None = field(default=None, repr=False, compare=False)

    @property
    def ephemeral(self) -> bool:
        if self.method == "chat.postEphemeral":
            return True
        return self.method == RESPONSE_URL and self.response_type != "in_channel"

    @property
    def block_texts(self) -> list[str]:
        """Every text string inside the blocks, in order (section text, fields, context…)."""
        return list(_texts_in(self.blocks or []))

    @property
    def all_text(self) -> str:
        """The fallback text and every block text, newline-joined, for substring asserts."""
        return "\n".join([self.text or "", *self.block_texts])


@dataclass(frozen=True)
class Upload:
    """One file of ``files_upload_v2``, joined across its three HTTP calls."""

    file_id: str
    filename: str
    length: int  # as declared to files.getUploadURLExternal
    data: bytes | None  # the bytes POSTed to the upload_url (None if never uploaded)
    title: str | None
    channel: str | None  # channel_id of files.completeUploadExternal
    channels: list[str] | None
    initial_comment: str | None
    thread_ts: str | None
    alt_txt: str | None
    snippet_type: str | None
    completed: bool

    def __repr__(self) -> str:  # leave the bytes out
        size = None if self.data is None else len(self.data)
        return (
            f"Upload(file_id={self.file_id!r}, filename={self.filename!r}, bytes={size}, "
            f"title={self.title!r}, channel={self.channel!r}, completed={self.completed})"
        )


@dataclass
class _PendingUpload:
    file_id: str
    filename: str
    length: int
    alt_txt: str | None = None
    snippet_type: str | None = None
    data: bytes | None = None
    title: str | None = None
    channel: str | None = None
    channels: list[str] | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None
    completed: bool = False

    def frozen(self) -> Upload:
        return Upload(
            file_id=self.file_id,
            filename=self.filename,
            length=self.length,
            data=self.data,
            title=self.title,
            channel=self.channel,
            channels=list(self.channels) if self.channels is not None else None,
            initial_comment=self.initial_comment,
            thread_ts=self.thread_ts,
            alt_txt=self.alt_txt,
            snippet_type=self.snippet_type,
            completed=self.completed,
        )


@dataclass
class _Fault:
    kind: str  # "fail", "rate_limit", "server_error", "delay", "disconnect"
    remaining: int | None  # None: until clear_faults()
    error: str = ""
    status: int = 200
    retry_after: int = 1
    seconds: float = 0.0
    processed: bool = False  # disconnect: did the work happen before the connection dropped?


@dataclass
class _Answer:
    status: int
    body: Payload | str
    headers: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- the double


class SlackDouble:
    """A threaded HTTP server standing in for Slack's Web API, upload URLs and response_urls."""

    def __init__(
        self,
        *,
        token: str | None = None,
        team_id: str = "T0TEST",
        team: str = "KPI Test",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        bot_name: str = "kpibot",
        check_blocks: bool = True,
    ) -> None:
        """``token``: if given, API calls carrying any other token get ``invalid_auth``.
        ``check_blocks``: refuse messages over Slack's Block Kit limits (``invalid_blocks``).
        """
        self.expected_token = token
        self.team_id = team_id
        self.team = team
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.check_blocks = check_blocks
        self._lock = threading.Condition(threading.RLock())
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []  # exceptions raised while handling (a bug in the double)
        self._reset_state()

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> SlackDouble:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"slack-double-{self.port}",
            daemon=True,
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
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SlackDouble:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ----------------------------------------------------------------- addresses

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("SlackDouble is not started")
        return self._server.server_address[1]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``WebClient(token=..., base_url=slack.base_url)``."""
        return f"{self.origin}/api/"

    def response_url(self, name: str = "command") -> str:
        """A slash command's response_url; POSTs to it are recorded under ``name``."""
        return f"{self.origin}/response/{quote(name, safe='')}"

    # ----------------------------------------------------------------- workspace

    def add_channel(
        self,
        channel_id: str,
        name: str | None = None,
        *,
        is_member: bool = True,
        is_private: bool = False,
        is_archived: bool = False,
    ) -> None:
        """Declare a channel. Posting where the bot is not a member gets ``not_in_channel``
        until ``conversations.join``; channels never declared accept posts."""
        with self._lock:
            self._channels[channel_id] = {
                "id": channel_id,
                "name": name or channel_id.lower(),
                "is_channel": not is_private,
                "is_group": False,
                "is_im": False,
                "is_private": is_private,
                "is_archived": is_archived,
                "is_member": is_member,
            }

    # ----------------------------------------------------------------- faults

    def fail_next(self, method: str, error: str = "not_in_channel", times: int | None = 1) -> None:
        """Answer ``ok: false`` with ``error``. On an upload_url: HTTP 400; on a
        response_url: HTTP 404 with ``{"ok": false, "error": ...}``. ``times=None``: always."""
        self._add_fault(method, _Fault("fail", times, error=error))

    def fail_always(self, method: str, error: str = "not_in_channel") -> None:
        self.fail_next(method, error, times=None)

    def rate_limit_next(self, method: str, retry_after: int = 1, times: int | None = 1) -> None:
        """HTTP 429, ``Retry-After: retry_after``, ``{"ok": false, "error": "ratelimited"}``."""
        self._add_fault(method, _Fault("rate_limit", times, status=429, retry_after=retry_after))

    def server_error_next(self, method: str, status: int = 500, times: int | None = 1) -> None:
        """HTTP ``status`` (500, 503…); the work is not done."""
        self._add_fault(method, _Fault("server_error", times, status=status))

    def delay_next(self, method: str, seconds: float, times: int | None = 1) -> None:
        """Do the work, then wait ``seconds`` before answering (a client timeout after
        Slack acted, the case that makes retrying a post unsafe)."""
        self._add_fault(method, _Fault("delay", times, seconds=seconds))

    def disconnect_next(
        self, method: str, times: int | None = 1, *, processed: bool = False
    ) -> None:
        """Close the connection without an answer; ``processed=True`` does the work first."""
        self._add_fault(method, _Fault("disconnect", times, processed=processed))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._standing_faults.clear()

    def _add_fault(self, method: str, fault: _Fault) -> None:
        with self._lock:
            if fault.remaining is None:
                self._standing_faults[method] = fault
            elif fault.remaining > 0:
                self._faults.setdefault(method, deque()).append(fault)

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if queue:
            fault = queue[0]
            assert fault.remaining is not None
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.popleft()
            return fault
        return self._standing_faults.get(method)

    # ----------------------------------------------------------------- inspection

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        """Every request received (rejected ones too), oldest first."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def messages(self, method: str | None = None) -> list[SentMessage]:
        """Accepted chat.postMessage / chat.postEphemeral / response_url messages, in order."""
        with self._lock:
            return [m for m in self._messages if method is None or m.method == method]

    def uploads(self, *, include_incomplete: bool = False) -> list[Upload]:
        """Files shared by files.completeUploadExternal (or every started upload)."""
        with self._lock:
            return [u.frozen() for u in self._uploads.values() if include_incomplete or u.completed]

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Poll ``predicate`` until it returns something truthy, and return that.

        Work happens after the ack, so assert with ``slack.wait_for(lambda: slack.messages())``.
        Raises AssertionError (listing the calls seen) after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [f"{c.method}:{c.status}" for c in self.calls()]
                raise AssertionError(f"condition not met within {timeout}s; calls seen: {seen}")
            with self._lock:
                self._lock.wait(min(remaining, 0.05))

    def reset(self) -> None:
        """Forget calls, messages, uploads, channels and faults (the server keeps running)."""
        with self._lock:
            self._reset_state()

    def _reset_state(self) -> None:
        self._calls: list[RecordedCall] = []
        self._messages: list[SentMessage] = []
        self._uploads: dict[str, _PendingUpload] = {}
        self._posted: dict[tuple[str, str], Payload] = {}  # (channel, ts) -> message
        self._channels: dict[str, Payload] = {}
        self._response_url_posts: dict[str, int] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._standing_faults: dict[str, _Fault] = {}
        self._counter = 0
        self._ts_base = int(time.time())

    # ----------------------------------------------------------------- HTTP handling

    def _handle(self, handler: _Handler) -> None:
        arrived = time.monotonic()
        url = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        headers = dict(handler.headers.items())
        body = _read_body(handler)
        content_type = handler.headers.get("Content-Type") or ""  # boundaries are case-sensitive

        if url.path.startswith("/api/"):
            method, kind = url.path[len("/api/") :], "api"
        elif url.path.startswith("/upload/v1/"):
            method, kind = UPLOAD_URL, "upload"
        elif url.path.startswith("/response/"):
            method, kind = RESPONSE_URL, "response"
        else:
            _send(handler, _Answer(404, "not_found"))
            return

        form: dict[str, str] | None = None
        parsed_json: Any = None
        bad_json = False
        if kind != "upload":  # upload bodies are file bytes, whatever urllib labels them
            if "json" in content_type.lower():
                try:
                    parsed_json = json.loads(body.decode("utf-8") or "null")
                except (UnicodeDecodeError, json.JSONDecodeError):
                    bad_json = True
            elif "multipart/form-data" in content_type.lower():
                form = {
                    k: v for k, v in _multipart(body, content_type).items() if isinstance(v, str)
                }
            elif body:
                form = {
                    k: v[-1]
                    for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()
                }

        with self._lock:
            fault = self._take_fault(method)
            first_new_message = len(self._messages)
            call_args = {
                "method": method,
                "path": url.path,
                "headers": headers,
                "body_raw": body,
                "form": form,
                "json": parsed_json,
                "time": arrived,
                "query": query,
            }
            try:
                if (
                    fault is None
                    or fault.kind == "delay"
                    or (fault.kind == "disconnect" and fault.processed)
                ):
                    probe = RecordedCall(**call_args)
                    if bad_json:
                        answer = _Answer(200, {"ok": False, "error": "invalid_json"})
                    elif kind == "api":
                        answer = self._api(method, probe)
                    elif kind == "upload":
                        answer = self._upload(url.path, probe, content_type)
                    else:
                        answer = self._respond(unquote(url.path[len("/response/") :]), probe)
                else:
                    answer = _fault_answer(fault, kind)
            except Exception as err:  # a bug in the double: answer 500, keep it visible
                self.errors.append(f"{method}: {type(err).__name__}: {err}")
                answer = _Answer(500, {"ok": False, "error": "double_internal_error"})
            call = RecordedCall(
                **call_args,
                status=answer.status,
                response=answer.body,
                fault=fault.kind if fault else None,
            )
            self._calls.append(call)
            for i in range(first_new_message, len(self._messages)):
                self._messages[i] = replace(self._messages[i], call=call)
            self._lock.notify_all()

        if fault is not None and fault.kind == "delay":
            self._stopping.wait(fault.seconds)
        if fault is not None and fault.kind == "disconnect":
            handler.close_connection = True
            return
        _send(handler, answer)

    # ----------------------------------------------------------------- Web API methods

    def _api(self, method: str, call: RecordedCall) -> _Answer:
        handlers: dict[str, Callable[[dict[str, Any], RecordedCall], Payload]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "conversations.info": self._conversations_info,
            "conversations.join": self._conversations_join,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }
        handle = handlers.get(method)
        if handle is None:
            return _Answer(200, {"ok": False, "error": "unknown_method", "req_method": method})
        token = call.token
        if not token:
            return _Answer(200, {"ok": False, "error": "not_authed"})
        if self.expected_token is not None and token != self.expected_token:
            return _Answer(200, {"ok": False, "error": "invalid_auth"})
        return _Answer(200, handle(call.args, call))

    def _auth_test(self, args: dict[str, Any], call: RecordedCall) -> Payload:
        return {
            "ok": True,
            "url": f"https://{self.team.lower().replace(' ', '-')}.slack.com/",
            "team": self.team,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any], call: RecordedCall) -> Payload:
        channel = args.get("channel")
        refusal = self._refuse_post(channel, args)
        if refusal:
            return _error(refusal)
        blocks = _blocks_arg(args.get("blocks"))
        ts = self._next_ts()
        message = self._bot_message(args.get("text"), blocks, ts, args.get("thread_ts"))
        self._posted[(channel, ts)] = message
        self._record_message("chat.postMessage", args, channel=channel, ts=ts)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_post_ephemeral(self, args: dict[str, Any], call: RecordedCall) -> Payload:
        channel = args.get("channel")
        if not args.get("user"):
            return _error("user_not_found")
        refusal = self._refuse_post(channel, args)
        if refusal:
            return _error(refusal)
        ts = self._next_ts()
        self._record_message("chat.postEphemeral", args, channel=channel, ts=ts)
        return {"ok": True, "message_ts": ts}

    def _chat_update(self, args: dict[str, Any], call: RecordedCall) -> Payload:
        channel, ts = args.get("channel"), args.get("ts")
        if not channel:
            return _error("channel_not_found")
        if (channel, ts) not in self._posted:
            return _error("message_not_found")
        refusal = self._refuse_content(args)
        if refusal:
            return _error(refusal)
        old = self._posted[(channel, ts)]
        blocks = _blocks_arg(args.get("blocks"))
        message = {**old, "text": args.get("text", ""), "blocks": blocks or []}
        self._posted[(channel, ts)] = message
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message["text"],
            "message": message,
        }

    def _conversations_info(self, args: dict[str, Any], call: RecordedCall) -> Payload:
        channel = args.get("channel")
        if not channel:
            return _error("channel_not_found")
        return {"ok": True, "channel": dict(self._channel(channel))}

    def _conversations_join(self, args: dict[str, Any], call: RecordedCall) -> Payload:
        channel = args.get("channel")
        if not channel:
            return _error("channel_not_found")
        info = self._channel(channel)
        if info["is_archived"]:
            return _error("is_archived")
        if info["is_private"] and not info["is_member"]:
            return _error("method_not_supported_for_channel_type")
        info["is_member"] = True
        self._channels[channel] = info
        return {"ok": True, "channel": dict(info)}

    def _files_get_upload_url(self, args: dict[str, Any], call: RecordedCall) -> Payload:
        filename, length = args.get("filename"), args.get("length")
        try:
            size = int(length)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return _error("invalid_arguments")
        if not filename or size < 0:
            return _error("invalid_arguments")
        self._counter += 1
        file_id = f"F{self._counter:08d}"
        self._uploads[file_id] = _PendingUpload(
            file_id=file_id,
            filename=str(filename),
            length=size,
            alt_txt=args.get("alt_txt"),
            snippet_type=args.get("snippet_type"),
        )
        return {"ok": True, "upload_url": f"{self.origin}/upload/v1/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: dict[str, Any], call: RecordedCall) -> Payload:
        raw_files = args.get("files")
        try:
            files = json.loads(raw_files) if isinstance(raw_files, str) else raw_files
        except json.JSONDecodeError:
            return _error("invalid_arguments")
        if not isinstance(files, list) or not files:
            return _error("invalid_arguments")
        channel = args.get("channel_id") or None
        channels_arg = args.get("channels")
        channels = (
            channels_arg.split(",") if isinstance(channels_arg, str) and channels_arg else None
        )
        for target in ([channel] if channel else []) + (channels or []):
            refusal = self._refuse_channel(target)
            if refusal:
                return _error(refusal)
        pending: list[tuple[_PendingUpload, dict[str, Any]]] = []
        for item in files:
            upload = self._uploads.get(item.get("id", "")) if isinstance(item, dict) else None
            if upload is None or upload.data is None:
                return _error("file_not_found")
            pending.append((upload, item))
        shared_to = [c for c in [channel, *(channels or [])] if c]
        results = []
        for upload, item in pending:
            upload.title = item.get("title") or upload.filename
            upload.channel = channel
            upload.channels = channels
            upload.initial_comment = args.get("initial_comment")
            upload.thread_ts = args.get("thread_ts")
            upload.completed = True
            mimetype = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
            results.append(
                {
                    "id": upload.file_id,
                    "created": self._ts_base,
                    "timestamp": self._ts_base,
                    "name": upload.filename,
                    "title": upload.title,
                    "mimetype": mimetype,
                    "filetype": upload.filename.rsplit(".", 1)[-1].lower()
                    if "." in upload.filename
                    else "binary",
                    "user": self.bot_user_id,
                    "size": len(upload.data or b""),
                    "channels": shared_to,
                }
            )
        return {"ok": True, "files": results}

    # ----------------------------------------------------------------- upload URL, response_url

    def _upload(self, path: str, call: RecordedCall, content_type: str) -> _Answer:
        file_id = path.rsplit("/", 1)[-1]
        upload = self._uploads.get(file_id)
        if upload is None:
            return _Answer(404, "file_not_found")
        data = call.body_raw
        if "multipart/form-data" in content_type.lower():
            parts = _multipart(data, content_type)
            files = [v for v in parts.values() if isinstance(v, bytes)]
            data = files[0] if files else b""
        upload.data = data
        return _Answer(200, f"OK - {len(data)}")

    def _respond(self, name: str, call: RecordedCall) -> _Answer:
        payload = call.json if isinstance(call.json, dict) else None
        if payload is None and call.form is not None:
            try:
                payload = json.loads(call.form.get("payload", ""))
            except json.JSONDecodeError:
                payload = None
        if not isinstance(payload, dict):
            return _Answer(400, {"ok": False, "error": "invalid_payload"})
        if self._response_url_posts.get(name, 0) >= RESPONSE_URL_MAX_POSTS:
            return _Answer(404, {"ok": False, "error": "used_url"})
        refusal = None if payload.get("delete_original") else self._refuse_content(payload)
        if refusal:
            return _Answer(400, {"ok": False, "error": refusal})
        self._response_url_posts[name] = self._response_url_posts.get(name, 0) + 1
        self._record_message(RESPONSE_URL, payload, channel=None, response_url_name=name)
        return _Answer(200, {"ok": True})

    # ----------------------------------------------------------------- helpers

    def _next_ts(self) -> str:
        self._counter += 1
        return f"{self._ts_base}.{self._counter:06d}"

    def _channel(self, channel_id: str) -> Payload:
        if channel_id not in self._channels:
            self.add_channel(channel_id)
        return self._channels[channel_id]

    def _refuse_channel(self, channel: str | None) -> str | None:
        if not channel:
            return "channel_not_found"
        info = self._channels.get(channel)
        if info is None:
            return None
        if info["is_archived"]:
            return "is_archived"
        if not info["is_member"]:
            return "not_in_channel"
        return None

    def _refuse_post(self, channel: str | None, args: dict[str, Any]) -> str | None:
        return self._refuse_channel(channel) or self._refuse_content(args)

    def _refuse_content(self, args: dict[str, Any]) -> str | None:
        text = args.get("text")
        blocks_raw = args.get("blocks")
        if not text and not blocks_raw and not args.get("attachments"):
            return "no_text"
        if text and len(str(text)) > MAX_MESSAGE_TEXT:
            return "msg_too_long"
        if blocks_raw is None or blocks_raw == "":
            return None
        try:
            blocks = _blocks_arg(blocks_raw)
        except ValueError:
            return "invalid_blocks_format"
        if self.check_blocks:
            return _block_kit_violation(blocks or [])
        return None

    def _bot_message(
        self, text: Any, blocks: list[dict[str, Any]] | None, ts: str, thread_ts: Any
    ) -> Payload:
        message: Payload = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "text": text or "",
            "ts": ts,
            "team": self.team_id,
        }
        if blocks:
            message["blocks"] = blocks
        if thread_ts:
            message["thread_ts"] = thread_ts
        return message

    def _record_message(
        self,
        method: str,
        args: dict[str, Any],
        *,
        channel: str | None,
        ts: str | None = None,
        response_url_name: str | None = None,
    ) -> None:
        payload = dict(args)
        payload["blocks"] = _blocks_arg(args.get("blocks"))
        self._messages.append(
            SentMessage(
                method=method,
                channel=channel,
                text=args.get("text"),
                blocks=payload["blocks"],
                ts=ts,
                thread_ts=args.get("thread_ts") or None,
                user=args.get("user") or None,
                response_url_name=response_url_name,
                response_type=args.get("response_type"),
                replace_original=_as_bool(args.get("replace_original")),
                delete_original=_as_bool(args.get("delete_original")),
                payload=payload,
            )
        )


# --------------------------------------------------------------------------- server plumbing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, double: SlackDouble) -> None:
        self.double = double
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is expected here; anything else is a bug.
        self.double.errors.append("unhandled error while serving a request")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self.server.double._handle(self)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the double never writes requests (or tokens) to the test output."""


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if (handler.headers.get("Transfer-Encoding") or "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _send(handler: BaseHTTPRequestHandler, answer: _Answer) -> None:
    if isinstance(answer.body, str):
        data = answer.body.encode("utf-8")
        content_type = "text/plain; charset=utf-8"
    else:
        data = json.dumps(answer.body).encode("utf-8")
        content_type = "application/json; charset=utf-8"
    # The client may have timed out and gone away; that is the point of delay_next.
    with contextlib.suppress(OSError):
        handler.send_response(answer.status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
        handler.wfile.flush()


def _fault_answer(fault: _Fault, kind: str) -> _Answer:
    if fault.kind == "rate_limit":
        return _Answer(
            429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(fault.retry_after)}
        )
    if fault.kind == "server_error":
        return _Answer(fault.status, {"ok": False, "error": "internal_error"})
    if fault.kind == "disconnect":
        return _Answer(0, "")
    # "fail"
    if kind == "upload":
        return _Answer(400, fault.error)
    if kind == "response":
        return _Answer(404, {"ok": False, "error": fault.error})
    return _Answer(200, {"ok": False, "error": fault.error})


def _error(error: str) -> Payload:
    return {"ok": False, "error": error}


def _as_bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.lower() in {"1", "true", "yes"}
    return bool(value)


def _blocks_arg(raw: Any) -> list[dict[str, Any]] | None:
    """Blocks arrive as a list (JSON requests) or a JSON string (form requests)."""
    if raw is None or raw == "":
        return None
    blocks = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        raise ValueError("blocks must be a list of objects")
    return blocks


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text", ""))
    return str(obj or "")


def _block_kit_violation(blocks: list[dict[str, Any]]) -> str | None:
    """The documented per-block limits; Slack answers ``invalid_blocks``."""
    if len(blocks) > MAX_BLOCKS:
        return "invalid_blocks"
    for block in blocks:
        kind = block.get("type")
        if kind == "section":
            fields = block.get("fields") or []
            if "text" in block and len(_text_of(block["text"])) > MAX_SECTION_TEXT:
                return "invalid_blocks"
            if len(fields) > MAX_FIELDS or any(len(_text_of(f)) > MAX_FIELD_TEXT for f in fields):
                return "invalid_blocks"
            if "text" not in block and not fields:
                return "invalid_blocks"
        elif kind == "header":
            if len(_text_of(block.get("text"))) > MAX_HEADER_TEXT:
                return "invalid_blocks"
        elif kind == "actions":
            if len(block.get("elements") or []) > MAX_ACTIONS_ELEMENTS:
                return "invalid_blocks"
        elif not kind:
            return "invalid_blocks"
    return None


def _texts_in(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _texts_in(item)
    elif isinstance(node, dict):
        text = node.get("text")
        if isinstance(text, str):
            yield text
        for key, value in node.items():
            if key != "text" or not isinstance(value, str):
                yield from _texts_in(value)


def _multipart(body: bytes, content_type: str) -> dict[str, str | bytes]:
    """Fields of a multipart/form-data body: text fields as str, file parts as bytes."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, str | bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            fields[str(name)] = payload
        else:
            fields[str(name)] = payload.decode("utf-8", errors="replace")
    return fields


# --------------------------------------------------------------------------- pytest


@pytest.fixture(name="slack_double")
def slack_double_fixture() -> Iterator[SlackDouble]:
    """The ``slack_double`` fixture: a running SlackDouble, stopped after the test."""
    with SlackDouble() as double:
        yield double
