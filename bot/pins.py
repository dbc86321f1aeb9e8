"""Pinned questions: the questions each person keeps on their App Home tab.

Kept in ``KPI_STATE_DB`` (SQLite or PostgreSQL, ``bot.state``) so they survive restarts
and every replica sees the same pins. A pin is a question as typed after /kpi, checked
by the Slack edge (it must parse as a question) before it is stored; asking it later
goes through the same parsing and allowlists as typing it.
"""

from __future__ import annotations

import logging

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from bot.answers import naive_utc_now
from bot.core.questions import MAX_TEXT_CHARS
from bot.state import create_tables

log = logging.getLogger("bot.pins")

MAX_PINS_PER_USER = 10  # what the Home tab shows

metadata = MetaData()
pinned_questions = Table(
    "pinned_questions",
    metadata,
    Column("user_id", String(32), primary_key=True),
    Column("question", String(MAX_TEXT_CHARS), primary_key=True),
    Column("pinned_at", DateTime, nullable=False),  # naive UTC
)


class PinStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(metadata, engine)

    def pins(self, user_id: str) -> tuple[str, ...]:
        """The person's pins, oldest first."""
        query = (
            select(pinned_questions.c.question)
            .where(pinned_questions.c.user_id == user_id)
            .order_by(pinned_questions.c.pinned_at, pinned_questions.c.question)
        )
        with self.engine.connect() as conn:
            return tuple(conn.execute(query).scalars())

    def pin(self, user_id: str, question: str) -> str:
        """``pinned``, ``already`` or ``full`` (``MAX_PINS_PER_USER`` reached)."""
        question = " ".join(question.split())
        count = (
            select(func.count())
            .select_from(pinned_questions)
            .where(pinned_questions.c.user_id == user_id)
        )
        with self.engine.begin() as conn:
            if conn.execute(count).scalar_one() >= MAX_PINS_PER_USER:
                return "full"
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(pinned_questions).values(
                            user_id=user_id, question=question, pinned_at=naive_utc_now()
                        )
                    )
            except IntegrityError:
                return "already"
        return "pinned"

    def unpin(self, user_id: str, question: str) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(pinned_questions).where(
                    pinned_questions.c.user_id == user_id,
                    pinned_questions.c.question == " ".join(question.split()),
                )
            )
        return bool(result.rowcount)
