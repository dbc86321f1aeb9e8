"""Posting answers to Slack: one message, then its charts, never anything twice.

Retries follow what is safe to repeat. A 429 means Slack did not take the request, so
every call retries it (honouring Retry-After). A 5xx or a dropped connection on
``chat.postMessage`` may have posted already, so that call is not retried; the upload
steps of ``files_upload_v2`` can be repeated without a second visible file (the file
is shared only by the final ``files.completeUploadExternal``), so they are: the API
calls by the client's retry handlers, a 5xx/429 on the bytes POST by a whole new upload.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from urllib.error import HTTPError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.answers import Answer, Chart
from bot.kinds import answer_blocks, answer_text

log = logging.getLogger("bot.slack")

NOT_A_MEMBER = {"not_in_channel", "channel_not_found", "is_archived"}
SLACK_TIMEOUT_S = 10
# The bytes POST to the upload URL goes around the client's retry handlers; a 5xx/429
# there is retried here with a whole new upload.
UPLOAD_URL_ATTEMPTS = 3
UPLOAD_URL_BACKOFF_S = 0.5


def message_client(token: str | None, base_url: str) -> WebClient:
    """Client for posting messages: only rate limits are retried."""
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=SLACK_TIMEOUT_S,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)],
    )


def upload_client(token: str | None, base_url: str) -> WebClient:
    """Client for file uploads: rate limits, 5xx and connection errors are retried."""
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=SLACK_TIMEOUT_S,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


@dataclass
class PostResult:
    ts: str | None = None
    error: str | None = None  # why the message itself was not posted
    upload_errors: list[str] = field(default_factory=list)
    file_ids: list[str] = field(default_factory=list)

    @property
    def posted(self) -> bool:
        return self.ts is not None


class SlackSender:
    def __init__(self, messages: WebClient, uploads: WebClient | None = None) -> None:
        self.messages = messages
        self.uploads = uploads or upload_client(messages.token, messages.base_url)

    def post_answer(
        self, channel: str, answer: Answer, thread_ts: str | None = None, buttons: bool = False
    ) -> PostResult:
        """``buttons``: the follow-up buttons under it (an answer to a person's question)."""
        result = self.post_blocks(
            channel,
            answer_blocks(answer, buttons=buttons),
            answer_text(answer),
            thread_ts=thread_ts,
        )
        if result.posted:
            for chart in answer.charts:
                self.upload_chart(channel, chart, result, thread_ts=thread_ts)
        return result

    def post_blocks(
        self, channel: str, blocks: list[dict], text: str, thread_ts: str | None = None
    ) -> PostResult:
        try:
            response = self.messages.chat_postMessage(
                channel=channel,
                blocks=blocks,
                text=text,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as err:
            error = str(err.response.get("error") or f"http_{err.response.status_code}")
            log.warning("chat.postMessage failed: %s", error)
            return PostResult(error=error)
        except OSError as err:  # timeout or connection drop: it may or may not have posted
            log.warning("chat.postMessage transport error: %s", type(err).__name__)
            return PostResult(error="transport_error")
        return PostResult(ts=response.get("ts"))

    def upload_chart(
        self, channel: str, chart: Chart, result: PostResult, thread_ts: str | None = None
    ) -> None:
        for attempt in range(1, UPLOAD_URL_ATTEMPTS + 1):
            try:
                self._upload_once(channel, chart, result, thread_ts)
                return
            except _UploadFailed as failed:
                # Refused bytes were never shared, so a fresh upload (new URL, new file id)
                # can't show a second file; anything else may have gone through.
                if not isinstance(failed, _UploadURLRefused) or attempt == UPLOAD_URL_ATTEMPTS:
                    result.upload_errors.append(str(failed))
                    return
                time.sleep(UPLOAD_URL_BACKOFF_S * 2 ** (attempt - 1))

    def _upload_once(
        self, channel: str, chart: Chart, result: PostResult, thread_ts: str | None
    ) -> None:
        """One ``files_upload_v2``; raises _UploadURLRefused or _UploadFailed."""
        try:
            response = self.uploads.files_upload_v2(
                channel=channel,
                file=chart.png,
                filename=f"{chart.name}.png",
                title=chart.title,
                alt_txt=chart.title,
                thread_ts=thread_ts,
                request_file_info=False,
            )
        except SlackApiError as err:
            error = str(err.response.get("error") or f"http_{err.response.status_code}")
            log.warning("files_upload_v2 failed: %s", error)
            raise _UploadFailed(error) from err
        except HTTPError as err:  # the bytes POST to the upload URL answered an error
            log.warning("files_upload_v2 upload URL answered HTTP %s", err.code)
            if err.code == 429 or err.code >= 500:
                raise _UploadURLRefused(f"http_{err.code}") from err
            raise _UploadFailed(f"http_{err.code}") from err
        except SlackRequestError as err:  # the upload URL answered, but not 200
            log.warning("files_upload_v2 upload URL refused the file")
            raise _UploadFailed("upload_refused") from err
        except OSError as err:  # a timeout or dropped connection: it may have gone through
            log.warning("files_upload_v2 transport error: %s", type(err).__name__)
            raise _UploadFailed("transport_error") from err
        result.file_ids += [f.get("id", "") for f in response.get("files", [])]


class _UploadFailed(Exception):
    """An upload that stopped for good; the message is the error shown to the user."""


class _UploadURLRefused(_UploadFailed):
    """The upload URL answered 5xx or 429: Slack didn't take the bytes (retryable)."""
