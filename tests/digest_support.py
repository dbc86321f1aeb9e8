"""Helpers shared by the digest tests."""

from __future__ import annotations

import threading
from collections.abc import Callable

from bot.digest.content import DigestContent, gather_content
from bot.digest.schedule import DigestPeriod
from bot.service import KpiService


def cached_content(kpi: KpiService) -> Callable[[DigestPeriod], DigestContent]:
    """``gather_content`` once per period: the content (queries and charts) is the same
    for every channel and every replica, and re-rendering it per test only costs time."""
    cache: dict[str, DigestContent] = {}
    lock = threading.Lock()

    def content_for(period: DigestPeriod) -> DigestContent:
        with lock:
            if period.key not in cache:
                cache[period.key] = gather_content(kpi, period)
            return cache[period.key]

    return content_for
