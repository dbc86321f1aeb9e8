"""Requests built the way Slack sends them: slash-command bodies, signatures, retry headers.

    body = slash_command_body("revenue last 7 days", response_url=slack.response_url("rev"))
    status, text = post_signed(app_url, body, signed_headers(SECRET, body))

Signatures are computed here with ``hmac`` from Slack's published v0 scheme (not with
slack_sdk), so a test signed this way checks Bolt's verification independently.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"
# A loopback port nothing listens on: a test that forgets to pass a response_url fails
# fast instead of posting to the real hooks.slack.com.
UNREACHABLE_RESPONSE_URL = "http://127.0.0.1:9/commands/T0TEST/0/unset"


def slash_command_body(
    text: str,
    *,
    command: str = "/kpi",
    channel_id: str = "C0TEST",
    channel_name: str = "kpi-test",
    user_id: str = "U0TEST",
    user_name: str = "tester",
    team_id: str = "T0TEST",
    team_domain: str = "kpi-test",
    api_app_id: str = "A0TEST",
    response_url: str | None = None,
    trigger_id: str = "1000000000.0000000000.0123456789abcdef0123456789abcdef",
) -> str:
    """An ``application/x-www-form-urlencoded`` slash-command payload, fields in Slack's order.

    ``response_url`` should come from ``SlackDouble.response_url(name)``; without one it
    points at a closed loopback port. The deprecated verification ``token`` field is sent
    as Slack still does, with a dummy value (Bolt checks the signature, not this).
    """
    fields = {
        "token": "verification-token-unused",
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url or UNREACHABLE_RESPONSE_URL,
        "trigger_id": trigger_id,
    }
    return urlencode(fields)  # spaces as "+", "/" as "%2F", like Slack


def signed_headers(
    signing_secret: str,
    body: str | bytes,
    *,
    timestamp: int | str | None = None,
    content_type: str = FORM_CONTENT_TYPE,
) -> dict[str, str]:
    """``X-Slack-Request-Timestamp``, ``X-Slack-Signature`` and ``Content-Type`` for ``body``.

    ``timestamp`` defaults to now; pass an old one to test replay rejection (> 5 minutes).
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    raw = body.encode("utf-8") if isinstance(body, str) else body
    basestring = b"v0:" + ts.encode() + b":" + raw
    digest = hmac.new(signing_secret.encode(), basestring, hashlib.sha256).hexdigest()
    signature = f"v0={digest}"
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": content_type,
    }


def retry_headers(num: int, reason: str = "http_timeout") -> dict[str, str]:
    """The headers Slack adds when it redelivers a request (``num`` = 1, 2 or 3)."""
    return {"X-Slack-Retry-Num": str(num), "X-Slack-Retry-Reason": reason}


def post_signed(
    url: str, body: str | bytes, headers: dict[str, str], timeout: float = 5.0
) -> tuple[int, str]:
    """POST ``body`` over real HTTP; returns (status, response text), 4xx/5xx included."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read().decode("utf-8", errors="replace")


def block_actions_body(action: dict[str, Any], **fields: Any) -> str:
    """A ``block_actions`` interaction as Slack POSTs it: a form with one field,
    ``payload``, holding the JSON (``block_actions_payload``)."""
    return urlencode({"payload": json.dumps(block_actions_payload(action, **fields))})


def block_actions_payload(
    action: dict[str, Any],
    *,
    channel_id: str = "C0TEST",
    user_id: str = "U0TEST",
    team_id: str = "T0TEST",
    message_ts: str = "1700000000.000001",
    thread_ts: str | None = None,
    ephemeral: bool = False,
    response_url: str | None = None,
    trigger_id: str = "2000000000.0000000000.0123456789abcdef0123456789abcdef",
) -> dict[str, Any]:
    """A ``block_actions`` payload (over HTTP form-encoded, over Socket Mode as is).
    ``action`` is the clicked element as Slack reports it (``action_id``, ``block_id``,
    ``type`` and ``value`` or ``selected_option``)."""
    container = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel_id,
        "is_ephemeral": ephemeral,
    }
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": "tester", "team_id": team_id},
        "api_app_id": "A0TEST",
        "token": "verification-token-unused",
        "container": container,
        "trigger_id": trigger_id,
        "team": {"id": team_id, "domain": "kpi-test"},
        "channel": {"id": channel_id, "name": "kpi-test"},
        "response_url": response_url or UNREACHABLE_RESPONSE_URL,
        "actions": [{"action_ts": str(time.time()), **action}],
    }
    if not ephemeral:
        message = {"type": "message", "ts": message_ts, "text": "an answer"}
        if thread_ts:
            message["thread_ts"] = thread_ts
        payload["message"] = message
    return payload


def view_submission_body(
    values: dict[str, Any],
    *,
    callback_id: str = "kpi_question_builder",
    private_metadata: str = "",
    user_id: str = "U0TEST",
    team_id: str = "T0TEST",
    view_id: str = "V0TEST",
    trigger_id: str = "3000000000.0000000000.0123456789abcdef0123456789abcdef",
) -> str:
    """A modal's ``view_submission`` as Slack POSTs it (form field ``payload``, JSON).
    ``values``: ``view.state.values`` (block_id → action_id → the element's state)."""
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "kpi-test"},
        "user": {"id": user_id, "username": "tester", "team_id": team_id},
        "api_app_id": "A0TEST",
        "token": "verification-token-unused",
        "trigger_id": trigger_id,
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "hash": "1700000000.abcdef",
            "state": {"values": values},
            "blocks": [],
        },
        "response_urls": [],
    }
    return urlencode({"payload": json.dumps(payload)})


def app_home_opened_payload(
    *, user_id: str = "U0TEST", event_id: str = "Ev0HOME", team_id: str = "T0TEST"
) -> dict[str, Any]:
    """An ``app_home_opened`` Events API callback (over HTTP as a JSON body, over
    Socket Mode as an ``events_api`` envelope's payload)."""
    return {
        "token": "verification-token-unused",
        "team_id": team_id,
        "api_app_id": "A0TEST",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": {
            "type": "app_home_opened",
            "user": user_id,
            "channel": "D" + user_id.removeprefix("U"),
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        },
    }
