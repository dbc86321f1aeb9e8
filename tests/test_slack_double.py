"""The Slack Web API double, driven by the real slack_sdk WebClient over loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import (
    FixedValueRetryIntervalCalculator,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from tests.slack_double import (
    RESPONSE_URL,
    UPLOAD_URL,
    SlackDouble,
    slack_double_fixture,  # noqa: F401 - provides the `slack_double` fixture
)
from tests.slack_requests import (
    post_signed,
    retry_headers,
    signed_headers,
    slash_command_body,
)

TOKEN = "xoxb-test-not-a-real-token"
SECRET = "test-signing-secret"
# A PNG signature followed by every byte value: catches any text decoding on the way.
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
FAST_RETRY = FixedValueRetryIntervalCalculator(0.05)


def client_for(slack: SlackDouble, **kwargs: object) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack.base_url, **kwargs)  # type: ignore[arg-type]


def test_auth_test_answers_bot_ids_and_records_the_token(slack_double: SlackDouble) -> None:
    response = client_for(slack_double).auth_test()

    assert response["ok"] is True
    assert (response["user_id"], response["team_id"]) == ("U0BOT", "T0TEST")
    [call] = slack_double.calls("auth.test")
    assert call.token == TOKEN
    assert call.header("authorization") == f"Bearer {TOKEN}"
    assert TOKEN not in repr(call)


def test_wrong_or_missing_token_is_refused() -> None:
    with SlackDouble(token=TOKEN) as slack:
        with pytest.raises(SlackApiError) as wrong:
            WebClient(token="xoxb-other", base_url=slack.base_url).auth_test()
        with pytest.raises(SlackApiError) as missing:
            WebClient(base_url=slack.base_url).auth_test()

    assert wrong.value.response["error"] == "invalid_auth"
    assert missing.value.response["error"] == "not_authed"


def test_post_message_records_text_and_blocks(slack_double: SlackDouble) -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Revenue"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*$1,234* last 7 days"}},
    ]

    response = client_for(slack_double).chat_postMessage(
        channel="C0TEST", text="Revenue $1,234", blocks=blocks, thread_ts="1.000001"
    )

    [message] = slack_double.messages()
    assert message.method == "chat.postMessage"
    assert (message.channel, message.text, message.blocks) == ("C0TEST", "Revenue $1,234", blocks)
    assert message.thread_ts == "1.000001"
    assert message.ts == response["ts"] == response["message"]["ts"]
    assert response["channel"] == "C0TEST"
    assert "*$1,234* last 7 days" in message.all_text
    assert message.call is not None and message.call.json["blocks"] == blocks


def test_post_message_is_refused_over_block_kit_limits(slack_double: SlackDouble) -> None:
    too_many = [{"type": "divider"}] * 51
    client = client_for(slack_double)

    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0TEST", text="x", blocks=too_many)
    with pytest.raises(SlackApiError) as no_text, pytest.warns(UserWarning, match="text"):
        client.chat_postMessage(channel="C0TEST", text="")

    assert err.value.response["error"] == "invalid_blocks"
    assert no_text.value.response["error"] == "no_text"
    assert slack_double.messages() == []


def test_post_ephemeral_and_update(slack_double: SlackDouble) -> None:
    client = client_for(slack_double)

    ephemeral = client.chat_postEphemeral(channel="C0TEST", user="U0TEST", text="only you")
    posted = client.chat_postMessage(channel="C0TEST", text="v1")
    updated = client.chat_update(channel="C0TEST", ts=posted["ts"], text="v2")

    first, second = slack_double.messages()
    assert first.ephemeral and first.user == "U0TEST" and first.ts == ephemeral["message_ts"]
    assert not second.ephemeral
    assert updated["message"]["text"] == "v2"
    assert slack_double.calls("chat.update")[0].args["ts"] == posted["ts"]
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel="C0TEST", ts="9.999999", text="nope")
    assert err.value.response["error"] == "message_not_found"


def test_files_upload_v2_stores_exact_bytes_and_joins_metadata(slack_double: SlackDouble) -> None:
    response = client_for(slack_double).files_upload_v2(
        channel="C0TEST",
        file=PNG,
        filename="revenue.png",
        title="Revenue, last 28 days",
        initial_comment="Here is the chart",
        thread_ts="1.000001",
        alt_txt="Revenue chart",
    )

    [upload] = slack_double.uploads()
    assert upload.data == PNG
    assert upload.length == len(PNG)
    assert upload.filename == "revenue.png"
    assert upload.title == "Revenue, last 28 days"
    assert upload.channel == "C0TEST"
    assert upload.initial_comment == "Here is the chart"
    assert upload.thread_ts == "1.000001"
    assert upload.alt_txt == "Revenue chart"
    assert response["file"]["id"] == upload.file_id
    assert response["files"][0]["size"] == len(PNG)
    assert [c.method for c in slack_double.calls()] == [
        "files.getUploadURLExternal",
        UPLOAD_URL,
        "files.completeUploadExternal",
    ]
    assert slack_double.calls(UPLOAD_URL)[0].token is None  # the upload URL is pre-signed


def test_upload_without_completion_is_not_shared(slack_double: SlackDouble) -> None:
    slack_double.fail_next("files.completeUploadExternal", error="not_in_channel")

    with pytest.raises(SlackApiError):
        client_for(slack_double).files_upload_v2(channel="C0TEST", file=PNG, filename="a.png")

    assert slack_double.uploads() == []
    [started] = slack_double.uploads(include_incomplete=True)
    assert started.data == PNG and not started.completed


def test_rate_limit_is_honoured_by_the_retry_handler(slack_double: SlackDouble) -> None:
    slack_double.rate_limit_next("chat.postMessage", retry_after=1)
    client = client_for(
        slack_double, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)]
    )

    response = client.chat_postMessage(channel="C0TEST", text="hello")

    assert response["ok"] is True
    first, second = slack_double.calls("chat.postMessage")
    assert (first.status, first.fault) == (429, "rate_limit")
    assert first.response["error"] == "ratelimited"
    assert second.status == 200
    assert second.time - first.time >= 1.0  # Retry-After was waited out
    assert len(slack_double.messages()) == 1  # the rate-limited attempt posted nothing


def test_rate_limit_without_retry_handler_raises(slack_double: SlackDouble) -> None:
    slack_double.rate_limit_next("chat.postMessage", retry_after=7)

    with pytest.raises(SlackApiError) as err:
        client_for(slack_double).chat_postMessage(channel="C0TEST", text="hello")

    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"


def test_not_in_channel_raises_slack_api_error(slack_double: SlackDouble) -> None:
    slack_double.fail_next("chat.postMessage", error="not_in_channel")
    client = client_for(slack_double)

    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0TEST", text="hello")
    client.chat_postMessage(channel="C0TEST", text="again")  # the fault was used up

    assert err.value.response["error"] == "not_in_channel"
    assert [m.text for m in slack_double.messages()] == ["again"]


def test_fail_always_until_cleared(slack_double: SlackDouble) -> None:
    slack_double.fail_always("chat.postMessage", error="channel_not_found")
    client = client_for(slack_double)

    for _ in range(3):
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel="C0TEST", text="hello")
    slack_double.clear_faults()

    assert client.chat_postMessage(channel="C0TEST", text="hello")["ok"] is True


def test_membership_is_enforced_until_join(slack_double: SlackDouble) -> None:
    slack_double.add_channel("C0PRIV", "metrics", is_member=False)
    client = client_for(slack_double)

    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0PRIV", text="hello")
    assert client.conversations_info(channel="C0PRIV")["channel"]["is_member"] is False
    client.conversations_join(channel="C0PRIV")

    assert err.value.response["error"] == "not_in_channel"
    assert client.conversations_info(channel="C0PRIV")["channel"]["is_member"] is True
    assert client.chat_postMessage(channel="C0PRIV", text="hello")["ok"] is True


def test_server_error_is_retried_by_the_server_error_handler(slack_double: SlackDouble) -> None:
    slack_double.server_error_next("files.getUploadURLExternal", status=500)
    handler = ServerErrorRetryHandler(max_retry_count=1, interval_calculator=FAST_RETRY)
    client = client_for(slack_double, retry_handlers=[handler])

    client.files_upload_v2(channel="C0TEST", file=PNG, filename="a.png")

    assert [c.status for c in slack_double.calls("files.getUploadURLExternal")] == [500, 200]
    assert slack_double.uploads()[0].data == PNG


def test_server_error_without_retry_raises(slack_double: SlackDouble) -> None:
    slack_double.server_error_next("chat.postMessage", status=503)

    with pytest.raises(SlackApiError) as err:
        client_for(slack_double).chat_postMessage(channel="C0TEST", text="hello")

    assert err.value.response.status_code == 503
    assert slack_double.messages() == []


def test_delay_makes_the_client_time_out_after_slack_acted(slack_double: SlackDouble) -> None:
    slack_double.delay_next("chat.postMessage", seconds=2.0)
    client = WebClient(token=TOKEN, base_url=slack_double.base_url, timeout=0.3)  # type: ignore[arg-type]

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C0TEST", text="slow")

    assert time.monotonic() - started < 1.5
    assert [m.text for m in slack_double.messages()] == ["slow"]  # posted, answer lost
    assert slack_double.calls("chat.postMessage")[0].fault == "delay"


def test_disconnect_is_retried_by_the_connection_error_handler(slack_double: SlackDouble) -> None:
    slack_double.disconnect_next("auth.test")
    handler = ConnectionErrorRetryHandler(max_retry_count=1, interval_calculator=FAST_RETRY)

    response = client_for(slack_double, retry_handlers=[handler]).auth_test()

    assert response["ok"] is True
    assert [c.fault for c in slack_double.calls("auth.test")] == ["disconnect", None]


def test_upload_url_fault_fails_the_upload(slack_double: SlackDouble) -> None:
    slack_double.server_error_next(UPLOAD_URL, status=500)

    with pytest.raises(OSError):  # urllib's HTTPError: files_upload_v2 does not retry this step
        client_for(slack_double).files_upload_v2(channel="C0TEST", file=PNG, filename="a.png")

    assert slack_double.uploads() == []
    assert slack_double.calls("files.completeUploadExternal") == []


def test_response_url_posts_are_recorded(slack_double: SlackDouble) -> None:
    url = slack_double.response_url("revenue")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*42*"}}]

    first = WebhookClient(url).send(text="working on it…")
    second = WebhookClient(url).send(
        text="answer", blocks=blocks, response_type="in_channel", replace_original=True
    )

    assert (first.status_code, json.loads(first.body)) == (200, {"ok": True})
    assert second.status_code == 200
    progress, answer = slack_double.messages(RESPONSE_URL)
    assert progress.response_url_name == "revenue" and progress.ephemeral
    assert answer.blocks == blocks and not answer.ephemeral and answer.replace_original is True


def test_response_url_accepts_five_posts_then_refuses(slack_double: SlackDouble) -> None:
    client = WebhookClient(slack_double.response_url("busy"))

    statuses = [client.send(text=f"reply {n}").status_code for n in range(6)]

    assert statuses == [200] * 5 + [404]
    assert json.loads(slack_double.calls(RESPONSE_URL)[-1].body_raw)["text"] == "reply 5"
    assert len(slack_double.messages()) == 5


def test_response_url_faults(slack_double: SlackDouble) -> None:
    slack_double.fail_next(RESPONSE_URL, error="expired_url")
    slack_double.rate_limit_next(RESPONSE_URL, retry_after=3)
    client = WebhookClient(slack_double.response_url())

    expired = client.send(text="a")
    limited = client.send(text="b")
    ok = client.send(text="c")

    assert (expired.status_code, json.loads(expired.body)["error"]) == (404, "expired_url")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")
    assert ok.status_code == 200
    assert [m.text for m in slack_double.messages()] == ["c"]


def test_unknown_method(slack_double: SlackDouble) -> None:
    with pytest.raises(SlackApiError) as err:
        client_for(slack_double).api_call("kpi.nonexistent")

    assert err.value.response["error"] == "unknown_method"


def test_wait_for_polls_until_work_done_after_the_ack(slack_double: SlackDouble) -> None:
    client = client_for(slack_double)
    later = threading.Timer(0.2, lambda: client.chat_postMessage(channel="C0TEST", text="late"))
    later.start()

    [message] = slack_double.wait_for(lambda: slack_double.messages(), timeout=3.0)

    later.join()
    assert message.text == "late"
    with pytest.raises(AssertionError, match="calls seen"):
        slack_double.wait_for(lambda: len(slack_double.messages()) > 1, timeout=0.1)


def test_reset_forgets_calls_and_faults(slack_double: SlackDouble) -> None:
    client = client_for(slack_double)
    client.chat_postMessage(channel="C0TEST", text="one")
    slack_double.fail_next("chat.postMessage")

    slack_double.reset()

    assert slack_double.calls() == [] and slack_double.messages() == []
    assert client.chat_postMessage(channel="C0TEST", text="two")["ok"] is True


# --------------------------------------------------------------------------- signed requests


def test_slash_command_body_is_form_encoded_like_slack() -> None:
    body = slash_command_body("revenue last 7 days", response_url="http://127.0.0.1:1/response/x")

    fields = {k: v[0] for k, v in parse_qs(body).items()}
    assert "command=%2Fkpi" in body and "text=revenue+last+7+days" in body
    assert fields["command"] == "/kpi" and fields["text"] == "revenue last 7 days"
    assert (fields["channel_id"], fields["user_id"], fields["team_id"]) == (
        "C0TEST",
        "U0TEST",
        "T0TEST",
    )
    assert fields["response_url"] == "http://127.0.0.1:1/response/x"


def test_signed_headers_pass_verification_and_a_modified_body_fails() -> None:
    body = slash_command_body("revenue")
    headers = signed_headers(SECRET, body)
    verifier = SignatureVerifier(SECRET)

    timestamp, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert verifier.is_valid(body, timestamp, signature)
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid(body.replace("revenue", "retention"), timestamp, signature)
    assert not SignatureVerifier("another-secret").is_valid(body, timestamp, signature)
    stale = signed_headers(SECRET, body, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, stale)


def test_retry_headers() -> None:
    assert retry_headers(2) == {"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_timeout"}


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def bolt_url(slack_double: SlackDouble) -> Iterator[str]:
    """A minimal Bolt app over real HTTP, its Web API pointed at the double."""
    app = App(client=client_for(slack_double), signing_secret=SECRET)

    @app.command("/kpi")
    def kpi(ack, command, respond) -> None:  # type: ignore[no-untyped-def]
        ack()
        respond(text=f"you asked: {command['text']}")

    server: WSGIServer = make_server(
        "127.0.0.1", 0, SlackRequestHandler(app), handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/slack/events"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_signed_slash_command_through_bolt_over_http(
    slack_double: SlackDouble, bolt_url: str
) -> None:
    body = slash_command_body("revenue", response_url=slack_double.response_url("cmd"))

    status, _ = post_signed(bolt_url, body, signed_headers(SECRET, body) | retry_headers(1))
    forged_status, _ = post_signed(bolt_url, body, signed_headers("wrong-secret", body))

    assert (status, forged_status) == (200, 401)
    [reply] = slack_double.wait_for(lambda: slack_double.messages(RESPONSE_URL))
    assert reply.text == "you asked: revenue" and reply.response_url_name == "cmd"
    assert slack_double.calls("auth.test")[0].token == TOKEN  # App verified the client's token
