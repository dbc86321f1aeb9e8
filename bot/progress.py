"""Progress of long work (generate, dbt build) on a terminal.

One status line per task with the elapsed time: on a TTY it is rewritten in place as the
work goes on; anywhere else (a pipe, a CI log) it is printed as plain lines, at most one
every ``PLAIN_INTERVAL_S`` plus the last, so logs stay short. ``Progress(None)`` reports
nothing. The library reports through plain callbacks (``status(text)``); only this
module knows about terminals.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from typing import TextIO

PLAIN_INTERVAL_S = 5.0
TTY_INTERVAL_S = 0.1  # a faster redraw is only flicker
_CLEAR_LINE = "\r\x1b[K"


def elapsed_text(seconds: float) -> str:
    """``4 s``, ``1 min 05 s``."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    return f"{whole // 60} min {whole % 60:02d} s"


class Progress:
    """Status lines for one task at a time: ``start`` → ``status``… → ``done``."""

    def __init__(
        self,
        stream: TextIO | None,
        *,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        tick_s: float = 1.0,
    ) -> None:
        self.stream = stream
        self.tty = bool(tty if tty is not None else stream is not None and _isatty(stream))
        self.clock = clock
        self.tick_s = tick_s  # on a TTY the elapsed time is redrawn this often (0: never)
        self._lock = threading.Lock()  # dbt's events arrive on a reader thread
        self._task = ""
        self._status = ""
        self._started = 0.0
        self._last_shown = float("-inf")
        self._stop_ticking = threading.Event()
        self._ticker: threading.Thread | None = None

    def start(self, task: str, detail: str = "") -> None:
        """Begin ``task`` (the prefix of its lines); ``detail`` is said once, here."""
        self._stop_ticker()
        with self._lock:
            self._task, self._status, self._started = task, "", self.clock()
            self._last_shown = float("-inf")
            self._show(f"{task}{detail} …", final=not self.tty)
        if self.tty and self.stream is not None and self.tick_s > 0:
            # A long step (dbt parsing, the events table) still shows time passing.
            self._stop_ticking.clear()
            self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._ticker.start()

    def status(self, text: str) -> None:
        """The task's state now, e.g. ``dbt build: 14/27 models``."""
        with self._lock:
            self._status = text
            now = self.clock()
            interval = TTY_INTERVAL_S if self.tty else PLAIN_INTERVAL_S
            if now - self._last_shown >= interval:
                self._show(self._line(text, now), final=not self.tty)
                self._last_shown = now

    def done(self, text: str) -> None:
        """The task's last line (always shown), with the time it took."""
        self._stop_ticker()
        with self._lock:
            self._show(self._line(text, self.clock()), final=True)

    def _tick(self) -> None:
        while not self._stop_ticking.wait(self.tick_s):
            with self._lock:
                if self._status:
                    self._show(self._line(self._status, self.clock()), final=False)

    def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._stop_ticking.set()
            self._ticker.join()
            self._ticker = None

    def _line(self, text: str, now: float) -> str:
        return f"{self._task}: {text} ({elapsed_text(now - self._started)})"

    def _show(self, line: str, final: bool) -> None:
        if self.stream is None:
            return
        if self.tty:  # clipped to the terminal's width: a wrapped line can't be redrawn
            width = shutil.get_terminal_size().columns - 1
            if len(line) > width:
                line = line[: max(width - 1, 0)] + "…"
            self.stream.write(_CLEAR_LINE + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False
