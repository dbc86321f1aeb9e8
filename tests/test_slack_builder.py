"""The question builder end to end over loopback HTTP: ``/kpi`` with no text → the real
Bolt app calls ``views.open`` on the Slack double with the command's trigger_id → a
signed ``view_submission`` with the picked choices → the answer in the channel where
``/kpi`` was typed, as if typed; impossible choices are inline modal errors; the
allowlists apply to whoever submits.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.render.builder import ACTION, BREAKDOWN, CALLBACK_ID, COMPARE, METRIC, WINDOW
from bot.service import KpiService
from tests.slack_double import RESPONSE_URL, SlackDouble
from tests.slack_requests import post_signed, signed_headers, view_submission_body
from tests.test_slack_app import CHANNEL, SECRET, Bot, running_bot, service_for


@pytest.fixture(scope="module")
def warm_kpi(built_db: Path) -> Iterator[KpiService]:
    kpi = service_for(built_db)
    assert kpi.semantic.vocabulary() is not None  # loaded once (MetricFlow), as serve warms it
    yield kpi


@pytest.fixture
def bot(slack: SlackDouble, warm_kpi: KpiService) -> Iterator[Bot]:
    with running_bot(slack, warm_kpi) as running:
        yield running


def open_modal(bot: Bot) -> dict[str, Any]:
    sent = bot.ask("", trigger_id="42.builder")
    [call] = bot.slack.wait_for(lambda: bot.slack.calls("views.open"), timeout=10)
    assert call.args["trigger_id"] == "42.builder"
    assert call.time > sent.acked_at - 5  # opened right after the ack
    view = call.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    metadata = json.loads(view["private_metadata"])
    assert metadata["channel_id"] == CHANNEL
    assert metadata["response_url"] == bot.slack.response_url(sent.response_url_name)
    return view


def chosen(value: str | None, kind: str = "static_select") -> dict[str, Any]:
    option = (
        None if value is None else {"value": value, "text": {"type": "plain_text", "text": value}}
    )
    return {ACTION: {"type": kind, "selected_option": option}}


def submit(
    bot: Bot,
    view: dict[str, Any],
    *,
    metric: str | None,
    window: str | None,
    breakdown: str | None = None,
    compare: str | None = None,
    user_id: str = "U0TEST",
) -> tuple[int, str]:
    values = {
        METRIC: chosen(metric),
        WINDOW: chosen(window),
        BREAKDOWN: chosen(breakdown),
        COMPARE: chosen(compare, "radio_buttons"),
    }
    body = view_submission_body(
        values,
        private_metadata=view["private_metadata"],
        user_id=user_id,
        trigger_id=f"{time.time():.6f}.submit",
    )
    return post_signed(bot.url, body, signed_headers(SECRET, body))


def options(view: dict[str, Any], block_id: str) -> list[str]:
    [block] = [b for b in view["blocks"] if b["block_id"] == block_id]
    return [o["value"] for o in block["element"]["options"]]


def test_kpi_alone_opens_the_builder_with_the_semantic_layers_choices(bot: Bot) -> None:
    view = open_modal(bot)
    assert view["type"] == "modal" and view["callback_id"] == CALLBACK_ID
    assert {"revenue", "orders", "aov"} <= set(options(view, METRIC))
    assert {"last 7 days", "last 30 days", "mtd"} <= set(options(view, WINDOW))
    assert {"country", "traffic_source"} <= set(options(view, BREAKDOWN))
    assert bot.slack.messages() == []  # nothing posted by opening it


def test_submitting_posts_the_answer_in_the_channel_like_the_typed_question(bot: Bot) -> None:
    view = open_modal(bot)
    status, body = submit(
        bot, view, metric="orders", window="last 30 days", breakdown="country", compare="last_year"
    )
    assert (status, body) == (200, "")  # closes the modal
    message = bot.channel_message()
    assert message.channel == CHANNEL
    assert "country" in message.all_text.lower() and "orders" in message.all_text.lower()
    assert "last year" in message.all_text.lower()
    bot.upload()  # with its chart, as a typed question in the channel

    # The same question typed gets the same figures.
    bot.ask("orders by country last 30 days vs last year")
    typed = bot.channel_message(count=2)
    assert typed.block_texts == message.block_texts


def test_impossible_choices_are_inline_errors_and_nothing_is_asked(bot: Bot) -> None:
    view = open_modal(bot)
    status, body = submit(bot, view, metric="sessions", window="last 30 days", breakdown="country")
    assert status == 200
    reply = json.loads(body)
    assert reply["response_action"] == "errors" and set(reply["errors"]) == {BREAKDOWN}
    assert "country" in reply["errors"][BREAKDOWN]

    _, body = submit(bot, view, metric=None, window="last 30 days")
    assert json.loads(body)["errors"] == {METRIC: "Choose a metric."}
    _, body = submit(bot, view, metric="orders", window="last 99999 days")  # a forged value
    assert set(json.loads(body)["errors"]) == {METRIC}
    _, body = submit(bot, view, metric="no_such_metric <!channel>", window="last 7 days")
    assert "<!channel>" not in json.dumps(json.loads(body)["errors"])  # never echoed raw
    time.sleep(1.0)
    assert bot.slack.messages() == []


def test_allowlists_apply_to_whoever_submits(slack: SlackDouble, warm_kpi: KpiService) -> None:
    with running_bot(slack, warm_kpi, allowed_users=frozenset({"U0BOSS"})) as bot:
        view = open_modal(bot)
        submit(bot, view, metric="revenue", window="last 7 days", user_id="U0TEST")
        [refusal] = slack.wait_for(lambda: slack.messages(RESPONSE_URL), timeout=30)
        assert ":lock:" in refusal.all_text and "$" not in refusal.all_text
        time.sleep(1.0)
        assert slack.messages("chat.postMessage") == []


def test_when_slack_wont_open_the_modal_kpi_alone_is_help(bot: Bot) -> None:
    bot.slack.fail_next("views.open", "expired_trigger_id")
    sent = bot.ask("")
    reply = bot.private_reply(sent)
    assert "/kpi revenue last 30 days" in reply.all_text
