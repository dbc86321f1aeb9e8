"""Slack's end of a Socket Mode connection, on 127.0.0.1 (a ``websockets`` server).

The bot asks the Slack double's ``apps.connections.open`` for a URL
(``SlackDouble.allow_socket_mode(app_token, peer.url)``), connects here, and gets
``hello``. The test then pushes envelopes as Slack does (``send_slash_command``) and
reads the bot's acks (``wait_for_ack``); answers still go to the Web API double.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve


class SocketModePeer:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._connection: ServerConnection | None = None
        self._sent_at: dict[str, float] = {}
        self.acks: dict[str, list[tuple[float, dict[str, Any]]]] = {}  # envelope → acks
        self.connections = 0
        self._server: Server | None = None

    def start(self) -> SocketModePeer:
        self._server = serve(self._serve, "127.0.0.1", 0)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def __enter__(self) -> SocketModePeer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "SocketModePeer is not started"
        port = self._server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket=kpi-test"

    def _serve(self, connection: ServerConnection) -> None:
        hello = {
            "type": "hello",
            "num_connections": 1,
            "connection_info": {"app_id": "A0KPI"},
            "debug_info": {"host": "kpi-test", "approximate_connection_time": 3600},
        }
        connection.send(json.dumps(hello))
        with self._cond:
            self._connection = connection
            self.connections += 1
            self._cond.notify_all()
        try:
            for raw in connection:
                message = json.loads(raw)
                with self._cond:
                    key = message.get("envelope_id", "")
                    self.acks.setdefault(key, []).append((time.monotonic(), message))
                    self._cond.notify_all()
        except ConnectionClosed:
            pass

    def wait_connected(self, timeout: float = 60) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self._connection is not None, timeout):
                raise TimeoutError("the bot never opened the Socket Mode connection")

    def send_slash_command(self, payload: dict[str, Any], retry_attempt: int = 0) -> str:
        """Push a ``slash_commands`` envelope; returns its ``envelope_id``."""
        return self.send_envelope("slash_commands", payload, retry_attempt)

    def send_envelope(self, kind: str, payload: dict[str, Any], retry_attempt: int = 0) -> str:
        """Push an envelope of ``kind`` (``slash_commands``, ``interactive``,
        ``events_api``); returns its ``envelope_id``."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "accepts_response_payload": True,
            "payload": payload,
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        with self._cond:
            assert self._connection is not None, "no Socket Mode connection yet"
            self._sent_at[envelope_id] = time.monotonic()
            self._connection.send(json.dumps(envelope))
        return envelope_id

    def wait_for_ack(self, envelope_id: str, timeout: float = 10) -> float:
        """Seconds from sending the envelope to the bot's ack."""
        with self._cond:
            if not self._cond.wait_for(lambda: envelope_id in self.acks, timeout):
                raise TimeoutError(f"no ack for envelope {envelope_id}")
            return self.acks[envelope_id][0][0] - self._sent_at[envelope_id]
