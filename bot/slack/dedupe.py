"""Remember which slash-command deliveries were already handled.

Slack re-sends a command (with ``X-Slack-Retry-Num``) when our ack was slow; the body,
and so its ``trigger_id``, is identical. The first delivery does the work; repeats
are acknowledged and dropped. Per process, which is what one HTTP replica needs; see
the README for running several replicas.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

RETRY_WINDOW_S = 30 * 60  # response_url lives 30 minutes; retries come within seconds


class SeenRequests:
    def __init__(self, ttl_s: float = RETRY_WINDOW_S, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl_s
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        """True exactly once per key within the TTL (thread-safe)."""
        now = self._clock()
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now - self._ttl:
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
            return True
