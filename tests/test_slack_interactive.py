"""Buttons under answers, end to end over loopback HTTP: a signed /kpi → the answer with
its buttons in the Slack double → a signed ``block_actions`` click built from the very
button the double received → the next answer in the clicked message's thread (or in
place of an ephemeral answer), through the real Bolt app, service and DuckDB file.

Also: the click is acked before any work, its value is re-validated as typed (a forged
value asks nothing more), the allowlists apply to the clicker, a redelivered click and a
double click answer once, and a repeated question comes from the answer cache until a
rebuild swaps in new data.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.answer_cache import AnswerCache
from bot.render.buttons import ASK_ACTION_PATTERN, BLOCK_ID, PIN_ACTION
from bot.service import KpiService
from bot.warehouse.base import MartReader
from bot.warehouse.duckdb_adapter import DuckDBWarehouse
from tests.slack_double import RESPONSE_URL, SentMessage, SlackDouble
from tests.slack_requests import block_actions_body, post_signed, retry_headers, signed_headers
from tests.test_slack_app import CHANNEL, CLOCK, SECRET, USER, Bot, running_bot


def cached_service(path: Path) -> KpiService:
    reader = MartReader(DuckDBWarehouse(path, timeout_s=10))
    return KpiService(reader, clock=lambda: CLOCK, cache=AnswerCache())


@pytest.fixture
def db(built_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "kpi.duckdb"
    shutil.copyfile(built_db, copy)
    return copy


@pytest.fixture
def kpi(db: Path) -> KpiService:
    return cached_service(db)


@pytest.fixture
def bot(slack: SlackDouble, kpi: KpiService) -> Iterator[Bot]:
    with running_bot(slack, kpi) as running:
        yield running


# --------------------------------------------------------------------------- helpers


def actions_of(message: SentMessage) -> list[dict[str, Any]]:
    [block] = [b for b in message.blocks or [] if b.get("block_id") == BLOCK_ID]
    return block["elements"]


def button(message: SentMessage, label: str) -> dict[str, Any]:
    [found] = [
        e for e in actions_of(message) if e["type"] == "button" and e["text"]["text"] == label
    ]
    return found


def option(message: SentMessage, label: str) -> dict[str, Any]:
    """The picker with ``label`` chosen, as Slack reports a static_select action."""
    [select] = [e for e in actions_of(message) if e["type"] == "static_select"]
    [chosen] = [o for o in select["options"] if o["text"]["text"] == label]
    return {"type": "static_select", "action_id": select["action_id"], "selected_option": chosen}


def click(
    bot: Bot,
    element: dict[str, Any],
    message: SentMessage | None = None,
    *,
    name: str | None = None,
    trigger_id: str | None = None,
    headers: dict[str, str] | None = None,
    **where: Any,
) -> tuple[int, str, str]:
    """POST a signed click on ``element`` (of ``message``); returns (status, body, the
    click's response_url name)."""
    name = name or uuid.uuid4().hex[:12]
    action = {"block_id": BLOCK_ID, "action_ts": str(time.time())} | {
        k: v for k, v in element.items() if k in ("type", "action_id", "value", "selected_option")
    }
    if message is not None and message.ts:
        where.setdefault("message_ts", message.ts)
    body = block_actions_body(
        action,
        response_url=bot.slack.response_url(name),
        trigger_id=trigger_id or f"{uuid.uuid4().int % 10**10}.{name}",
        **where,
    )
    status, text = post_signed(bot.url, body, signed_headers(SECRET, body) | (headers or {}))
    return status, text, name


def thread_replies(slack: SlackDouble, ts: str, count: int = 1) -> list[SentMessage]:
    return slack.wait_for(
        lambda: (
            found
            if len(
                found := [
                    m
                    for m in slack.messages("chat.postMessage")
                    if m.call and m.call.args.get("thread_ts") == ts
                ]
            )
            >= count
            else None
        ),
        timeout=30,
    )


def replies_to(slack: SlackDouble, name: str) -> list[SentMessage]:
    return slack.wait_for(
        lambda: [m for m in slack.messages(RESPONSE_URL) if m.response_url_name == name],
        timeout=30,
    )


def header_of(message: SentMessage) -> str:
    return next(b["text"]["text"] for b in message.blocks or [] if b["type"] == "header")


def settle() -> None:
    """Long enough for a wrongly-sent second answer to have arrived."""
    time.sleep(1.0)


# --------------------------------------------------------------------------- tests


def test_every_answer_kind_has_buttons_with_the_re_ask_action(bot: Bot) -> None:
    bot.ask("revenue last 7 days")
    message = bot.channel_message()
    ids = [e["action_id"] for e in actions_of(message)]
    assert ids[-1] == PIN_ACTION  # pins the answer's own question to the Home tab
    assert all(re.fullmatch(ASK_ACTION_PATTERN, i) for i in ids[:-1])
    labels = [e["text"]["text"] for e in actions_of(message)]
    assert labels == [
        "30 days", "90 days", "Month to date", "vs last year", "Refresh", ":pushpin: Pin"
    ]  # fmt: skip
    assert actions_of(message)[-1]["value"] == "revenue last 7 days"


def test_a_window_button_answers_in_the_thread_with_chart_acked_first(
    bot: Bot, slack: SlackDouble
) -> None:
    bot.ask("revenue last 7 days")
    source = bot.channel_message()
    status, body, _ = click(bot, button(source, "30 days"), source)
    acked = time.monotonic()
    assert (status, body) == (200, "")
    [reply] = thread_replies(slack, source.ts)
    assert reply.channel == CHANNEL and "last 30 days" in header_of(reply)
    assert acked < reply.call.time  # the ack came before the answer was posted
    upload = slack.wait_for(lambda: [u for u in slack.uploads() if u.thread_ts == source.ts])[0]
    assert upload.data.startswith(b"\x89PNG")
    # History is not rewritten: the first answer is still the only top-level message.
    top_level = [m for m in slack.messages("chat.postMessage") if not m.call.args.get("thread_ts")]
    assert [m.ts for m in top_level] == [source.ts]


def test_vs_last_year_button_adds_the_comparison(bot: Bot, slack: SlackDouble) -> None:
    bot.ask("revenue last 30 days")
    source = bot.channel_message()
    click(bot, button(source, "vs last year"), source)
    [reply] = thread_replies(slack, source.ts)
    assert "last year" in reply.all_text.lower()
    assert "vs previous period" in [e["text"]["text"] for e in actions_of(reply)]


def test_a_click_in_a_thread_answers_in_that_thread(bot: Bot, slack: SlackDouble) -> None:
    bot.ask("retention 8")
    source = bot.channel_message()
    click(bot, button(source, "4 weeks"), source)
    [reply] = thread_replies(slack, source.ts)
    assert "4" in reply.all_text
    # A button on the reply (itself in the thread) answers in the same thread.
    click(bot, button(reply, "12 weeks"), reply, thread_ts=source.ts)
    replies = thread_replies(slack, source.ts, count=2)
    assert len(replies) == 2


def test_experiment_offers_its_funnel(bot: Bot, slack: SlackDouble) -> None:
    bot.ask("ab checkout_redesign")
    source = bot.channel_message()
    click(bot, button(source, "Funnel for this experiment"), source)
    [reply] = thread_replies(slack, source.ts)
    assert "checkout_redesign" in reply.all_text and "funnel" in reply.all_text.lower()


def test_metric_answer_picker_breaks_down_by_a_semantic_layer_dimension(
    bot: Bot, slack: SlackDouble
) -> None:
    bot.ask("orders last 30 days")
    source = bot.channel_message()
    [select] = [e for e in actions_of(source) if e["type"] == "static_select"]
    offered = {o["text"]["text"] for o in select["options"]}
    assert {"by country", "by traffic_source"} <= offered  # orders' dimensions in dbt
    click(bot, option(source, "by country"), source)
    [reply] = thread_replies(slack, source.ts)
    assert "country" in reply.all_text.lower()


def test_a_click_on_an_ephemeral_answer_replaces_it(bot: Bot, slack: SlackDouble) -> None:
    sent = bot.ask("ab")  # the experiment list is private
    source = bot.private_reply(sent)
    assert source.ephemeral
    element = button(source, "checkout_redesign")
    status, _, name = click(bot, element, source, ephemeral=True)
    assert status == 200
    [reply] = replies_to(slack, name)
    assert reply.replace_original is True and reply.ephemeral
    assert "checkout_redesign" in reply.all_text
    settle()
    assert slack.messages("chat.postMessage") == []


def test_a_forged_value_is_validated_as_typed(bot: Bot, slack: SlackDouble) -> None:
    element = {"type": "button", "action_id": "kpi_ask_question:0", "value": "revenue 99999d"}
    status, _, name = click(bot, element)
    assert status == 200
    [reply] = replies_to(slack, name)
    assert reply.ephemeral and "revenue last 30 days" in reply.all_text  # the parser's example
    huge = {"type": "button", "action_id": "kpi_ask_question", "value": "revenue " + "x" * 5000}
    _, _, name = click(bot, huge)
    [reply] = replies_to(slack, name)
    assert "characters" in reply.all_text
    settle()
    assert slack.messages("chat.postMessage") == []


def test_unsigned_click_is_refused_and_does_nothing(bot: Bot, slack: SlackDouble) -> None:
    body = block_actions_body(
        {"type": "button", "action_id": "kpi_ask_question", "value": "revenue"},
        response_url=slack.response_url("forged"),
    )
    status, _ = post_signed(bot.url, body, signed_headers("not-the-secret", body))
    assert status == 401
    settle()
    assert slack.messages() == []


def test_allowlists_apply_to_the_clicker(slack: SlackDouble, kpi: KpiService) -> None:
    with running_bot(slack, kpi, allowed_channels=frozenset({CHANNEL})) as bot:
        element = {"type": "button", "action_id": "kpi_ask_question:1", "value": "revenue"}
        # The same button clicked in a channel the allowlist doesn't name: refused privately.
        _, _, name = click(bot, element, channel_id="C0OTHER")
        [reply] = replies_to(slack, name)
        assert reply.ephemeral and ":lock:" in reply.all_text
        assert "$" not in reply.all_text
        # Retention has no revenue-derived figure: answered there.
        retention = {"type": "button", "action_id": "kpi_ask_question:2", "value": "retention 4"}
        click(bot, retention, channel_id="C0OTHER", message_ts="1700000000.000777")
        [answer] = thread_replies(slack, "1700000000.000777")
        assert answer.channel == "C0OTHER"
    with running_bot(slack, kpi, allowed_users=frozenset({"U0BOSS"})) as bot:
        _, _, name = click(bot, element, user_id=USER)
        [reply] = replies_to(slack, name)
        assert ":lock:" in reply.all_text and "$" not in reply.all_text
    assert not [m for m in slack.messages("chat.postMessage") if "$" in m.all_text]


def test_a_redelivered_click_and_a_double_click_answer_once(bot: Bot, slack: SlackDouble) -> None:
    bot.ask("retention 8")
    source = bot.channel_message()
    element = button(source, "26 weeks")
    click(bot, element, source, trigger_id="111.redelivered")
    status, _, _ = click(
        bot, element, source, trigger_id="111.redelivered", headers=retry_headers(1)
    )
    assert status == 200  # acked, not answered
    click(bot, element, source)  # a second click at once, a new trigger_id
    thread_replies(slack, source.ts)
    settle()
    assert len(thread_replies(slack, source.ts)) == 1


def test_refresh_comes_from_the_cache_until_a_rebuild_swaps_the_data(
    bot: Bot, slack: SlackDouble, kpi: KpiService, db: Path, built_db: Path
) -> None:
    assert kpi.cache is not None
    bot.ask("revenue last 30 days")
    source = bot.channel_message()
    bot.upload()
    misses = kpi.cache.misses
    click(bot, button(source, "Refresh"), source)
    [again] = thread_replies(slack, source.ts)
    assert kpi.cache.hits == 1 and kpi.cache.misses == misses
    assert fields_text(again) == fields_text(source)
    # The cached answer keeps its chart: the repeat uploads the same PNG.
    uploads = slack.wait_for(lambda: slack.uploads()[1:])
    assert uploads[0].data == slack.uploads()[0].data

    # `bot build` swaps a new file in (os.replace): the next click misses.
    fresh = db.with_name("swap.duckdb")
    shutil.copyfile(built_db, fresh)
    os.replace(fresh, db)
    click(bot, button(source, "Refresh"), source, user_id="U0OTHER")  # not a double click
    thread_replies(slack, source.ts, count=2)
    assert kpi.cache.hits == 1 and kpi.cache.misses == misses + 1


def fields_text(message: SentMessage) -> list[str]:
    return [t for t in message.block_texts if "$" in t]


@pytest.mark.parametrize(
    "element",
    [
        {"type": "button", "action_id": "kpi_ask_question:3", "value": 12345},
        {"type": "button", "action_id": "kpi_ask_question:3"},
        {"type": "static_select", "action_id": "kpi_ask_question:3", "selected_option": None},
        {"type": "button", "action_id": "kpi_ask_question:3", "value": "<!channel> `x`"},
    ],
    ids=["number", "missing", "no-option", "mention"],
)
def test_a_malformed_click_gets_a_private_reply_never_a_traceback(
    bot: Bot, slack: SlackDouble, element: dict[str, Any]
) -> None:
    status, _, name = click(bot, element)
    assert status == 200
    [reply] = replies_to(slack, name)
    assert reply.ephemeral and "<!channel>" not in reply.all_text
    assert "/kpi" in reply.all_text  # the help, or an error with what to type instead
    assert slack.errors == []


def test_a_did_you_mean_choice_is_one_click_from_its_answer(bot: Bot, slack: SlackDouble) -> None:
    """The phrasing front end's readings are re-ask buttons: clicking one answers it in
    place of the private "did you mean"."""
    source = bot.private_reply(bot.ask("ab checkout_redsign"))
    choices = [
        e
        for b in source.blocks or []
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("value") == "ab checkout_redesign"
    ]
    assert choices and re.fullmatch(ASK_ACTION_PATTERN, choices[0]["action_id"])
    _, _, name = click(bot, choices[0], source, ephemeral=True)
    [reply] = replies_to(slack, name)
    assert reply.replace_original is True and "checkout_redesign" in header_of(reply)
