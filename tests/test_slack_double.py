"""The Slack Web API double and the request helpers, driven by the real slack_sdk clients."""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from tests.slack_double import RESPONSE_URL, UPLOAD_URL, SlackDouble
from tests.slack_requests import retry_headers, signed_headers, slash_command_body

TOKEN = "xoxb-test-not-a-real-token"
SECRET = "test-signing-secret"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # every byte value: no text decoding
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*$1,234* last 7 days"}}


@pytest.fixture
def client(slack: SlackDouble) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack.base_url)


def test_auth_test_and_tokens(slack: SlackDouble, client: WebClient) -> None:
    assert client.auth_test()["user_id"] == "U0BOT"
    with pytest.raises(SlackApiError) as wrong:
        WebClient(token="xoxb-other", base_url=slack.base_url).auth_test()
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=slack.base_url).auth_test()

    assert (wrong.value.response["error"], missing.value.response["error"]) == (
        "invalid_auth",
        "not_authed",
    )
    first = slack.calls("auth.test")[0]
    assert first.token == TOKEN and TOKEN not in repr(first)


def test_post_message_records_text_and_blocks(slack: SlackDouble, client: WebClient) -> None:
    response = client.chat_postMessage(channel="C0TEST", text="Revenue", blocks=[SECTION])

    [message] = slack.messages()
    assert (message.method, message.channel, message.text) == (
        "chat.postMessage",
        "C0TEST",
        "Revenue",
    )
    assert message.blocks == [SECTION] and not message.ephemeral
    assert message.ts == response["ts"]
    assert message.block_texts == ["*$1,234* last 7 days"]
    assert message.call is not None and message.call.args["channel"] == "C0TEST"


@pytest.mark.parametrize(
    "blocks, error",
    [
        ([{"type": "divider"}] * 51, "invalid_blocks"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}], "invalid_blocks"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "x"}] * 11}], "invalid_blocks"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}], "invalid_blocks"),
    ],
    ids=["51-blocks", "long-section", "11-fields", "long-header"],
)
def test_messages_over_block_kit_limits_are_refused(
    slack: SlackDouble, client: WebClient, blocks: list, error: str
) -> None:
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0TEST", text="x", blocks=blocks)

    assert err.value.response["error"] == error
    assert slack.messages() == []
    client.chat_postMessage(
        channel="C0TEST", text="x", blocks=blocks[:1] if len(blocks) > 1 else [SECTION]
    )
    assert len(slack.messages()) == 1  # just under the limit is fine


def test_post_ephemeral(slack: SlackDouble, client: WebClient) -> None:
    client.chat_postEphemeral(channel="C0TEST", user="U0TEST", text="only you")

    [message] = slack.messages("chat.postEphemeral")
    assert message.ephemeral and message.user == "U0TEST"


def test_files_upload_v2_stores_exact_bytes(slack: SlackDouble, client: WebClient) -> None:
    response = client.files_upload_v2(
        channel="C0TEST", file=PNG, filename="revenue.png", title="Revenue", alt_txt="chart"
    )

    [upload] = slack.uploads()
    assert upload.data == PNG and upload.length == len(PNG)
    assert (upload.filename, upload.title, upload.channel) == ("revenue.png", "Revenue", "C0TEST")
    assert upload.alt_txt == "chart" and response["file"]["id"] == upload.file_id
    assert [c.method for c in slack.calls()] == [
        "files.getUploadURLExternal",
        UPLOAD_URL,
        "files.completeUploadExternal",
    ]
    assert slack.calls(UPLOAD_URL)[0].token is None  # the upload URL is pre-signed


def test_upload_without_completion_is_not_shared(slack: SlackDouble, client: WebClient) -> None:
    slack.fail_next("files.completeUploadExternal", error="not_in_channel")

    with pytest.raises(SlackApiError):
        client.files_upload_v2(channel="C0TEST", file=PNG, filename="a.png")

    assert slack.uploads() == []
    [started] = slack.uploads(include_incomplete=True)
    assert started.data == PNG and not started.completed


def test_membership_and_queued_failures(slack: SlackDouble, client: WebClient) -> None:
    slack.add_channel("C0PRIV", is_member=False)
    slack.fail_next("chat.postMessage", error="channel_not_found", times=None)
    with pytest.raises(SlackApiError) as queued:
        client.chat_postMessage(channel="C0TEST", text="a")
    slack.clear_faults()
    with pytest.raises(SlackApiError) as not_member:
        client.chat_postMessage(channel="C0PRIV", text="b")
    with pytest.raises(SlackApiError) as upload_refused:
        client.files_upload_v2(channel="C0PRIV", file=PNG, filename="a.png")
    client.chat_postMessage(channel="C0TEST", text="c")

    assert queued.value.response["error"] == "channel_not_found"
    assert not_member.value.response["error"] == "not_in_channel"
    assert upload_refused.value.response["error"] == "not_in_channel"
    assert [m.text for m in slack.messages()] == ["c"]


def test_rate_limit_is_honoured_by_the_retry_handler(slack: SlackDouble) -> None:
    slack.rate_limit_next("chat.postMessage", retry_after=1)
    retrying = [RateLimitErrorRetryHandler(max_retry_count=1)]

    WebClient(token=TOKEN, base_url=slack.base_url, retry_handlers=retrying).chat_postMessage(
        channel="C0TEST", text="hello"
    )

    limited, accepted = slack.calls("chat.postMessage")
    assert (limited.status, limited.fault, accepted.status) == (429, "rate_limit", 200)
    assert accepted.time - limited.time >= 1.0  # Retry-After was waited out
    assert len(slack.messages()) == 1  # the refused attempt posted nothing


def test_rate_limit_without_retry_handler_raises(slack: SlackDouble, client: WebClient) -> None:
    slack.rate_limit_next("chat.postMessage", retry_after=7)

    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0TEST", text="hello")

    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"


def test_server_errors(slack: SlackDouble, client: WebClient) -> None:
    slack.server_error_next("chat.postMessage", status=503)
    slack.server_error_next("files.getUploadURLExternal", status=500)
    handler = ServerErrorRetryHandler(
        max_retry_count=1, interval_calculator=FixedValueRetryIntervalCalculator(0.05)
    )

    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0TEST", text="hello")
    WebClient(token=TOKEN, base_url=slack.base_url, retry_handlers=[handler]).files_upload_v2(
        channel="C0TEST", file=PNG, filename="a.png"
    )

    assert err.value.response.status_code == 503 and slack.messages() == []
    assert [c.status for c in slack.calls("files.getUploadURLExternal")] == [500, 200]
    assert slack.uploads()[0].data == PNG


def test_delay_means_slack_acted_but_the_client_never_heard(slack: SlackDouble) -> None:
    slack.delay_next("chat.postMessage", seconds=3.0)
    impatient = WebClient(token=TOKEN, base_url=slack.base_url, timeout=0.3)

    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel="C0TEST", text="slow")

    assert [m.text for m in slack.messages()] == ["slow"]
    assert slack.calls("chat.postMessage")[0].fault == "delay"


def test_response_url_posts(slack: SlackDouble) -> None:
    webhook = WebhookClient(slack.response_url("cmd"))
    slack.fail_next(RESPONSE_URL, error="expired_url")

    expired = webhook.send(text="lost")
    statuses = [webhook.send(text=f"reply {n}").status_code for n in range(5)]
    answer = WebhookClient(slack.response_url("other")).send(
        text="answer", blocks=[SECTION], response_type="in_channel", replace_original=False
    )

    assert (expired.status_code, json.loads(expired.body)["error"]) == (404, "expired_url")
    assert statuses == [200, 200, 200, 200, 200]
    assert webhook.send(text="sixth").status_code == 404  # five per response_url
    first = slack.messages(RESPONSE_URL)[0]
    assert first.response_url_name == "cmd" and first.ephemeral and first.text == "reply 0"
    last = slack.messages(RESPONSE_URL)[-1]
    assert answer.status_code == 200 and last.blocks == [SECTION]
    assert not last.ephemeral and last.replace_original is False


def test_wait_for_and_reset(slack: SlackDouble, client: WebClient) -> None:
    later = threading.Timer(0.2, lambda: client.chat_postMessage(channel="C0TEST", text="late"))
    later.start()

    [message] = slack.wait_for(slack.messages, timeout=5)
    later.join()
    with pytest.raises(AssertionError, match="calls seen"):
        slack.wait_for(lambda: len(slack.messages()) > 1, timeout=0.1)
    slack.fail_next("chat.postMessage")
    slack.reset()

    assert message.text == "late"
    assert slack.calls() == [] and slack.messages() == []
    assert client.chat_postMessage(channel="C0TEST", text="after reset")["ok"] is True


# --------------------------------------------------------------------------- signed requests


def test_slash_command_body_is_form_encoded_like_slack() -> None:
    body = slash_command_body("revenue last 7 days", response_url="http://127.0.0.1:1/response/x")

    fields = {k: v[0] for k, v in parse_qs(body).items()}
    assert "command=%2Fkpi" in body and "text=revenue+last+7+days" in body
    assert all(fields[k] for k in ("channel_id", "user_id", "trigger_id", "team_id"))
    assert fields["response_url"] == "http://127.0.0.1:1/response/x"


def test_our_hmac_signature_is_what_slack_sdk_verifies() -> None:
    body = slash_command_body("revenue")
    headers = signed_headers(SECRET, body)
    timestamp, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    verifier = SignatureVerifier(SECRET)

    assert signature == verifier.generate_signature(timestamp=timestamp, body=body)
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid(body.replace("revenue", "retention"), timestamp, signature)
    assert not SignatureVerifier("another-secret").is_valid(body, timestamp, signature)
    stale = signed_headers(SECRET, body, timestamp=int(time.time()) - 301)
    assert not verifier.is_valid_request(body, stale)
    assert retry_headers(2) == {"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_timeout"}
