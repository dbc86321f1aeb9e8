"""Buttons over Socket Mode: the real ``python -m bot serve`` with ``SLACK_APP_TOKEN``.

A /kpi answer arrives with its buttons; a click on one, pushed as an ``interactive``
envelope built from the very button the double received, is acked over the socket and
answered in the message's thread; the same envelope redelivered (``retry_attempt`` 1)
is acked, not answered; a click that repeats the question (Refresh) is answered from
the answer cache (the ``bot.cache`` log line says so).
"""

from __future__ import annotations

from pathlib import Path

from tests.slack_double import SlackDouble
from tests.slack_requests import block_actions_payload
from tests.socket_mode_peer import SocketModePeer
from tests.test_socket_mode import BOT_TOKEN, CHANNEL, command, socket_mode_serve, wait_until


def _thread(slack: SlackDouble, ts: str) -> list:
    return [
        m
        for m in slack.messages("chat.postMessage")
        if m.call and m.call.args.get("thread_ts") == ts
    ]


def _button(message, label: str) -> dict:
    [actions] = [b for b in message.blocks or [] if b["type"] == "actions"]
    [found] = [e for e in actions["elements"] if e.get("text", {}).get("text") == label]
    return found


def test_socket_mode_click_answers_in_the_thread_once_and_repeats_from_the_cache(
    tmp_path: Path, built_db: Path
) -> None:
    log = tmp_path / "serve.log"
    env = {
        "KPI_CHART_PROCESSES": "0",
        "KPI_LOG_LEVEL": "INFO",
        # serve runs on the real clock and the test data ends in November 2026: not
        # stale, or its answers (their age changing) would not be served from memory.
        "KPI_STALE_AFTER_HOURS": "1000000",
    }
    with (
        SlackDouble(token=BOT_TOKEN) as slack,
        SocketModePeer() as peer,
        log.open("w") as err,
        socket_mode_serve(slack, peer, built_db, tmp_path, err, **env) as serve,
    ):
        peer.wait_connected(timeout=120)
        peer.send_slash_command(command(slack, "retention 8", "retention"))
        [source] = slack.wait_for(lambda: slack.messages("chat.postMessage"), timeout=60)

        def click(label: str, trigger: str) -> dict:
            element = _button(source, label)
            action = {k: element[k] for k in ("type", "action_id", "value")}
            return block_actions_payload(
                action | {"block_id": "kpi_follow_ups"},
                channel_id=CHANNEL,
                message_ts=source.ts,
                response_url=slack.response_url(trigger),
                trigger_id=f"888.{trigger}",
            )

        payload = click("4 weeks", "four")
        first = peer.send_envelope("interactive", payload)
        assert peer.wait_for_ack(first) < 3.0
        [reply] = slack.wait_for(lambda: _thread(slack, source.ts), timeout=60)
        assert peer.acks[first][0][0] < reply.call.time  # acked before the answer
        again = peer.send_envelope("interactive", payload, retry_attempt=1)
        peer.wait_for_ack(again)

        refresh = peer.send_envelope("interactive", click("Refresh", "refresh"))
        peer.wait_for_ack(refresh)
        slack.wait_for(lambda: _thread(slack, source.ts)[1:], timeout=60)
        assert wait_until(lambda: "answer cache hit" in log.read_text(), timeout=10)
        assert serve.poll() is None

    replies = _thread(slack, source.ts)
    assert len(replies) == 2  # the "4 weeks" answer once (not redelivered), then Refresh
    assert "Weekly retention" in replies[0].all_text and replies[0].channel == CHANNEL
    assert "Weekly retention" in replies[1].all_text


def test_socket_mode_builder_home_and_allowlists(tmp_path: Path, built_db: Path) -> None:
    """Over the socket: ``/kpi`` alone → views.open → a ``view_submission`` (an inline
    error in the ack's payload, then an answer in the channel); ``app_home_opened`` →
    views.publish, its redelivery publishes nothing more; a user outside
    ``KPI_ALLOWED_USERS`` is refused on a click and sees no revenue on Home."""
    import json

    from bot.render.builder import ACTION, BREAKDOWN, METRIC, WINDOW
    from bot.render.home import LOADING, LOCKED
    from tests.slack_double import RESPONSE_URL
    from tests.slack_requests import app_home_opened_payload

    with (
        SlackDouble(token=BOT_TOKEN) as slack,
        SocketModePeer() as peer,
        socket_mode_serve(
            slack,
            peer,
            built_db,
            tmp_path,
            KPI_CHART_PROCESSES="0",
            KPI_ALLOWED_USERS="U0TEST",  # the slash commands' user
        ) as serve,
    ):
        peer.wait_connected(timeout=120)
        opened = peer.send_slash_command(command(slack, "", "builder"))
        assert peer.wait_for_ack(opened) < 3.0
        [call] = slack.wait_for(lambda: slack.calls("views.open"), timeout=30)
        view = call.args["view"]
        view = json.loads(view) if isinstance(view, str) else view

        def submission(metric: str, breakdown: str | None) -> dict:
            def pick(value):
                return {ACTION: {"selected_option": value and {"value": value}}}

            return {
                "type": "view_submission",
                "user": {"id": "U0TEST"},
                "team": {"id": "T0TEST"},
                "trigger_id": f"999.{metric}.{breakdown}",
                "view": {
                    "id": "V0BUILD",
                    "type": "modal",
                    "callback_id": view["callback_id"],
                    "private_metadata": view["private_metadata"],
                    "state": {
                        "values": {
                            METRIC: pick(metric),
                            WINDOW: pick("last 30 days"),
                            BREAKDOWN: pick(breakdown),
                        }
                    },
                },
            }

        bad = peer.send_envelope("interactive", submission("sessions", "country"))
        peer.wait_for_ack(bad)
        ack_payload = peer.acks[bad][0][1].get("payload") or {}
        assert ack_payload.get("response_action") == "errors"
        assert set(ack_payload["errors"]) == {BREAKDOWN}
        good = peer.send_envelope("interactive", submission("orders", "country"))
        peer.wait_for_ack(good)
        # U0TEST is allowed; orders aren't revenue-derived: posted in the channel.
        [answer] = slack.wait_for(lambda: slack.messages("chat.postMessage"), timeout=60)
        assert answer.channel == CHANNEL and "country" in answer.all_text.lower()

        def views_for(user: str) -> list[str]:
            return [
                json.dumps(c.args, ensure_ascii=False)
                for c in slack.calls("views.publish")
                if c.args.get("user_id") == user
            ]

        home = app_home_opened_payload(user_id="U0TEST", event_id="Ev0SOCKET")
        peer.wait_for_ack(peer.send_envelope("events_api", home))
        # Published once from the cache (nothing yet), then with every part computed.
        assert wait_until(lambda: any(LOADING not in v for v in views_for("U0TEST")), 90)
        assert all(LOCKED not in v for v in views_for("U0TEST"))  # an allowed user
        publishes = len(slack.calls("views.publish"))
        peer.wait_for_ack(peer.send_envelope("events_api", home, retry_attempt=1))
        outsider = app_home_opened_payload(user_id="U0OUT", event_id="Ev0OUTSIDER")
        peer.wait_for_ack(peer.send_envelope("events_api", outsider))
        assert wait_until(lambda: any(LOADING not in v for v in views_for("U0OUT")), 60)
        outsider_views = views_for("U0OUT")
        assert all(LOCKED in v and "$" not in v for v in outsider_views)
        # The redelivered event published nothing: only the outsider's views are new.
        assert len(slack.calls("views.publish")) == publishes + len(outsider_views)

        revenue = {
            "type": "button",
            "action_id": "kpi_ask_question:0",
            "value": "revenue 2026-11-01..2026-11-14",  # in the data whatever the clock
        }
        refused = block_actions_payload(
            revenue | {"block_id": "kpi_follow_ups"},
            channel_id=CHANNEL,
            user_id="U0OUT",
            message_ts=answer.ts,
            response_url=slack.response_url("outsider"),
            trigger_id="999.outsider",
        )
        peer.wait_for_ack(peer.send_envelope("interactive", refused))
        [lock] = slack.wait_for(lambda: slack.messages(RESPONSE_URL), timeout=30)
        assert lock.response_url_name == "outsider" and ":lock:" in lock.all_text
        assert serve.poll() is None
    assert not [m for m in slack.messages("chat.postMessage") if "$" in m.all_text]
