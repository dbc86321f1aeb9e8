"""No revenue-derived figure past the allowlists, on any surface (issue: security review).

``bot.access`` makes the one decision; this file checks it as a truth table, that every
answer type's ``restricted`` flag is honest (it shows money exactly when restricted),
and then enumerates every answer kind and every Slack surface against the real Bolt app
and the Slack double, failing if a restricted figure shows outside the allowlists.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import kinds
from bot.access import Allowlists, Audience
from bot.answers import ErrorAnswer
from bot.settings import Settings, SettingsError
from tests.slack_double import SlackDouble
from tests.test_digest_slack import TOKEN as DIGEST_TOKEN
from tests.test_digest_slack import command, running
from tests.test_kinds import AS_OF, EXAMPLES
from tests.test_slack_app import TOKEN, running_bot, service_for

FINANCE, GENERAL, DM = "C0FINANCE", "C0GENERAL", "D0DIRECT"
CFO, INTERN = "U0CFO", "U0INTERN"
TOKEN = TOKEN  # the Slack double (conftest) expects the bot harness's token
MONEY = "$"  # every revenue-derived figure is shown as money (bot.core.format.money)


@pytest.mark.parametrize(
    "lists, channel, user, expected",
    [
        (Allowlists(), GENERAL, INTERN, Audience.PUBLIC),
        (Allowlists(channels=frozenset({FINANCE})), FINANCE, INTERN, Audience.PUBLIC),
        (Allowlists(channels=frozenset({FINANCE})), GENERAL, INTERN, Audience.REFUSED),
        (Allowlists(channels=frozenset({FINANCE})), DM, INTERN, Audience.REFUSED),
        (Allowlists(users=frozenset({CFO})), GENERAL, CFO, Audience.PRIVATE),
        (Allowlists(users=frozenset({CFO})), DM, CFO, Audience.PRIVATE),
        (Allowlists(users=frozenset({CFO})), GENERAL, INTERN, Audience.REFUSED),
        (Allowlists(frozenset({FINANCE}), frozenset({CFO})), FINANCE, CFO, Audience.PUBLIC),
        (Allowlists(frozenset({FINANCE}), frozenset({CFO})), FINANCE, INTERN, Audience.REFUSED),
        (Allowlists(frozenset({FINANCE}), frozenset({CFO})), GENERAL, CFO, Audience.REFUSED),
        # Nobody asked (a scheduled digest): public where admitted, else not at all.
        (Allowlists(users=frozenset({CFO})), GENERAL, None, Audience.REFUSED),
        (Allowlists(channels=frozenset({FINANCE})), FINANCE, None, Audience.PUBLIC),
    ],
)
def test_one_decision_for_restricted_figures(lists, channel, user, expected) -> None:
    assert lists.audience(channel, user, restricted=True) is expected
    assert lists.audience(channel, user, restricted=False) is Audience.PUBLIC


def test_the_restricted_flag_is_honest_for_every_answer_type(built_db: Path) -> None:
    """Restricted answers show money; unrestricted ones never do (in any rendering)."""
    kpi = service_for(built_db)
    for text in EXAMPLES:
        answer = kpi.ask(text, as_of=AS_OF, charts=False)
        assert not isinstance(answer, ErrorAnswer)
        shown = kinds.render_text(answer) + str(kinds.answer_blocks(answer))
        assert (MONEY in shown) == kinds.is_restricted(answer), text


SETTINGS = {
    "channel-allowlist": {"allowed_channels": frozenset({FINANCE})},
    "user-allowlist": {"allowed_users": frozenset({CFO})},
    "both": {"allowed_channels": frozenset({FINANCE}), "allowed_users": frozenset({CFO})},
}
# Where and by whom each question is asked: every case is outside at least one list.
ASKERS = [(GENERAL, CFO), (GENERAL, INTERN), (DM, INTERN), (FINANCE, INTERN)]


def _lists(settings: dict) -> Allowlists:
    return Allowlists(
        settings.get("allowed_channels", frozenset()), settings.get("allowed_users", frozenset())
    )


def _replies_to(slack: SlackDouble, name: str) -> list:
    return [m for m in slack.messages("response_url") if m.response_url_name == name]


def _restricted_examples(kpi) -> tuple[dict[str, bool], set[str]]:
    """Which examples' answers are revenue-derived, and their charts' file names."""
    restricted = {t: kinds.is_restricted(kpi.ask(t, charts=False)) for t in EXAMPLES}
    charts = {
        f"{chart.name}.png" for t in EXAMPLES if restricted[t] for chart in kpi.ask(t).charts
    }
    return restricted, charts


@pytest.mark.parametrize("settings", SETTINGS.values(), ids=SETTINGS.keys())
def test_no_answer_shows_a_restricted_figure_outside_the_allowlists(
    slack: SlackDouble, built_db: Path, settings: dict
) -> None:
    lists = _lists(settings)
    kpi = service_for(built_db)
    restricted, restricted_charts = _restricted_examples(kpi)
    with running_bot(slack, kpi, **settings) as bot:
        for channel, user in ASKERS:
            for text in EXAMPLES:
                posts = len(slack.messages("chat.postMessage"))
                sent = bot.ask(text, channel_id=channel, user_id=user)
                replies = slack.wait_for(  # a private reply, or a post in the channel
                    lambda sent=sent, posts=posts: _replies_to(slack, sent.response_url_name)
                    or len(slack.messages("chat.postMessage")) > posts,
                    timeout=30,
                )
                audience = lists.audience(channel, user, restricted=restricted[text])
                if audience is Audience.REFUSED:
                    assert replies is not True, "refused, yet posted in the channel"
                    assert all(MONEY not in r.all_text for r in replies), (text, channel, user)
        # Nothing with money was posted, and no chart shared, where it may not be public.
        posted = {m.channel for m in slack.messages("chat.postMessage") if MONEY in m.all_text}
        shared = {u.channel for u in slack.uploads() if u.filename in restricted_charts}
        assert restricted_charts, "the examples include charts of restricted answers"
        assert all(lists.public_in(channel) for channel in posted | shared), posted | shared


@pytest.mark.parametrize("settings", SETTINGS.values(), ids=SETTINGS.keys())
def test_no_button_shows_a_restricted_figure_outside_the_allowlists(
    slack: SlackDouble, built_db: Path, settings: dict
) -> None:
    """The re-ask button (``kpi_ask_question``) carrying every kind's example, clicked by
    each asker in each channel: judged as that person typing it there."""
    import json
    import uuid

    from tests.slack_requests import block_actions_body, post_signed, signed_headers
    from tests.test_slack_app import SECRET

    lists = _lists(settings)
    kpi = service_for(built_db)
    restricted, restricted_charts = _restricted_examples(kpi)
    with running_bot(slack, kpi, **settings) as bot:
        for channel, user in ASKERS:
            for n, text in enumerate(EXAMPLES):
                name, ts = uuid.uuid4().hex[:12], f"1700000001.{n:06d}"
                body = block_actions_body(
                    {"type": "button", "action_id": f"kpi_ask_question:{n}", "value": text},
                    channel_id=channel,
                    user_id=user,
                    message_ts=ts,
                    response_url=slack.response_url(name),
                    trigger_id=f"{uuid.uuid4().int % 10**10}.{name}",
                )
                posts = len(slack.messages("chat.postMessage"))
                assert post_signed(bot.url, body, signed_headers(SECRET, body))[0] == 200
                replies = slack.wait_for(
                    lambda name=name, posts=posts: (
                        _replies_to(slack, name) or len(slack.messages("chat.postMessage")) > posts
                    ),
                    timeout=30,
                )
                if lists.audience(channel, user, restricted=restricted[text]) is Audience.REFUSED:
                    assert replies is not True, ("refused, yet posted", text, channel, user)
                    assert all(MONEY not in r.all_text for r in replies), (text, channel, user)
        posted = {m.channel for m in slack.messages("chat.postMessage") if MONEY in m.all_text}
        shared = {u.channel for u in slack.uploads() if u.filename in restricted_charts}
        assert all(lists.public_in(c) for c in posted | shared), json.dumps(sorted(posted | shared))


@pytest.mark.parametrize("settings", SETTINGS.values(), ids=SETTINGS.keys())
def test_no_digest_surface_shows_revenue_outside_the_allowlists(
    built_db: Path, tmp_path: Path, settings: dict
) -> None:
    lists = _lists(settings)
    with (
        SlackDouble(token=DIGEST_TOKEN) as slack,
        running(slack, built_db, tmp_path, **settings) as (url, digest),
    ):
        for channel, user in ASKERS:
            preview = command(slack, url, "digest preview", channel, user)
            if lists.audience(channel, user, restricted=True) is Audience.REFUSED:
                assert MONEY not in preview.all_text, (channel, user)
            command(slack, url, "digest subscribe", channel, user)
        # Only channels where revenue may be public were subscribed, and get deliveries.
        assert all(lists.public_in(channel) for channel in digest.store.channels())
        digest.run_due()
        posted = {m.channel for m in slack.messages("chat.postMessage")}
        assert all(lists.public_in(channel) for channel in posted), posted
        if not settings.get("allowed_channels"):
            assert posted == set()  # a user allowlist alone: no channel gets the digest


def test_restricted_answers_reach_allowed_channels(slack: SlackDouble, built_db: Path) -> None:
    """The control: the same questions do post, with charts, where the lists admit them."""
    with running_bot(slack, service_for(built_db), **SETTINGS["both"]) as bot:
        bot.ask("ab checkout_redesign", channel_id=FINANCE, user_id=CFO)
        message = bot.channel_message(FINANCE)
        assert MONEY in message.all_text
        assert bot.upload().channel == FINANCE


def test_a_digest_channel_the_allowlists_refuse_stops_start_up() -> None:
    with pytest.raises(SettingsError, match="C0GENERAL"):
        Settings.from_env({"KPI_ALLOWED_CHANNELS": FINANCE, "KPI_DIGEST_CHANNELS": GENERAL})
    with pytest.raises(SettingsError, match="KPI_ALLOWED_USERS"):
        Settings.from_env({"KPI_ALLOWED_USERS": CFO, "KPI_DIGEST_CHANNELS": GENERAL})
    ok = Settings.from_env({"KPI_ALLOWED_CHANNELS": FINANCE, "KPI_DIGEST_CHANNELS": FINANCE})
    assert ok.digest_channels == (FINANCE,)


def test_a_metric_answer_is_restricted_exactly_when_dbt_says_so(
    slack: SlackDouble, built_db: Path
) -> None:
    """``restricted`` of a metric answer comes from the metrics' ``meta.restricted``:
    revenue by country is held back in a channel the allowlist refuses, orders by
    country is posted there."""
    kpi = service_for(built_db)
    assert kinds.is_restricted(kpi.ask("revenue by country last 30 days", charts=False))
    assert not kinds.is_restricted(kpi.ask("orders by country last 30 days", charts=False))
    with running_bot(slack, kpi, **SETTINGS["channel-allowlist"]) as bot:
        refused = bot.send("revenue by country last 30 days", channel_id=GENERAL, user_id=INTERN)
        assert MONEY not in bot.private_reply(refused).all_text
        bot.ask("orders by country last 30 days", channel_id=GENERAL, user_id=INTERN)
        posted = bot.channel_message(GENERAL)
        assert "Orders by country" in posted.all_text and MONEY not in posted.all_text
        assert bot.upload().filename == "orders_by_country.png"
