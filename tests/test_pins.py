"""Pinned questions (bot.pins) on both KPI_STATE_DB backends: SQLite and PostgreSQL.

Per person, oldest first; pinning twice keeps one; at most MAX_PINS_PER_USER; removing
works; two stores on one database (two replicas) see the same pins.
"""

from __future__ import annotations

from bot.pins import MAX_PINS_PER_USER, PinStore
from bot.state import state_engine


def test_pins_per_person_on_sqlite_and_postgresql(state_db_url: str) -> None:
    engine = state_engine(state_db_url)
    store = PinStore(engine)
    assert store.pins("U1") == ()
    assert store.pin("U1", "revenue last 7 days") == "pinned"
    assert store.pin("U1", "retention  8") == "pinned"  # spaces don't make another pin
    assert store.pin("U1", "retention 8") == "already"
    assert store.pin("U2", "revenue last 7 days") == "pinned"
    assert store.pins("U1") == ("revenue last 7 days", "retention 8")

    replica = PinStore(state_engine(state_db_url))  # another replica, same database
    assert replica.pins("U2") == ("revenue last 7 days",)
    assert replica.unpin("U1", "revenue last 7 days") is True
    assert replica.unpin("U1", "revenue last 7 days") is False
    assert store.pins("U1") == ("retention 8",)

    for n in range(MAX_PINS_PER_USER - 1):
        assert store.pin("U1", f"revenue last {n + 2} days") == "pinned"
    assert len(store.pins("U1")) == MAX_PINS_PER_USER
    assert store.pin("U1", "funnel") == "full"
    assert len(store.pins("U1")) == MAX_PINS_PER_USER
