"""A burst of signed /kpi commands against the real HTTP server: none lost, none twice.

Pass/fail version of ``python -m benchmarks.load`` (which sends 200 and prints the
latencies): 60 commands, 20 at a time, through ``build_app`` + ``make_http_server`` on
127.0.0.1 to the Slack double. Every command has its own channel, response_url and
trigger_id, so each reply the double recorded belongs to exactly one command.

The only time bound asserted is Slack's contract, not a performance target: an ack
later than 3 s is an error the user sees.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from benchmarks.load import ACK_LIMIT_S, MIX, run_load

N, CONCURRENCY = 60, 20


def test_a_burst_is_acked_in_time_and_every_command_answered_exactly_once(
    built_db: Path,
) -> None:
    result = run_load(built_db, N, CONCURRENCY, settle_timeout_s=180.0, quiet_s=1.0)

    assert result.double_errors == []
    assert len(result.outcomes) == N
    # Every kind of command was in the burst.
    assert Counter(o.command.text for o in result.outcomes) == Counter(
        MIX[i % len(MIX)][0] for i in range(N)
    )
    for o in result.outcomes:
        c = o.command
        label = f"#{c.index} {c.text!r}"
        assert c.error is None, f"{label}: the POST failed ({c.error})"
        assert (c.status, c.ack_body) == (200, ""), f"{label}: not acked with an empty 200"
        assert c.ack_s is not None and c.ack_s < ACK_LIMIT_S, f"{label}: acked after 3 s"
        if c.kind == "channel":
            assert o.channel_messages == 1, f"{label}: {o.channel_messages} channel messages"
            assert o.private_replies == 0, f"{label}: an unexpected private reply"
            assert o.uploads == c.charts, f"{label}: {o.uploads} charts shared"
        else:
            assert o.private_replies == 1, f"{label}: {o.private_replies} private replies"
            assert o.channel_messages == 0 and o.uploads == 0, f"{label}: posted publicly"
        assert o.answer_s is not None and o.answer_s > 0
    assert (result.lost, result.duplicated, result.not_answered_once) == (0, 0, 0)
    assert result.ok
