"""A local BigQuery REST emulator (PyPI ``bqemulator``, requirements-bqemu.txt) for tests.

``BigQueryEmulator`` starts the emulator in a child process on 127.0.0.1 with a free port
(the child binds port 0 and reports the real one), waits until the REST API answers, and
stops it on ``close()``: stdin is closed (the child's stop signal, which also fires if the
test process dies), then SIGTERM, then SIGKILL, each with a bounded wait.

Two offline fixes are applied inside the child, at run time, never by editing
site-packages (checked against bqemulator 1.4.0):

* ``DuckDBEngine._load_spatial`` runs ``INSTALL spatial``, a download from DuckDB's
  extension repository, and startup fails without it. It is wrapped so a failed load is
  reported on stderr and startup goes on: only GEOGRAPHY functions need it.
* The upload route accepts the media part of a multipart load only for a whitelist of
  content types; google-cloud-bigquery sends ``*/*`` for ``load_table_from_file`` /
  ``load_table_from_dataframe`` (small multipart loads), which the emulator rejects with a
  400. ``*/*`` is added to the whitelist.

The DuckDB ``avro`` extension is switched off through the emulator's own setting
(``enable_format_extensions``) so nothing else tries the network.

Run ``python tests/bq_emulator.py`` to start one by hand (prints the endpoint; Ctrl-D or
Ctrl-C stops it).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

READY_PREFIX = "BQEMU_READY "
DEFAULT_PROJECT = "kpi-emulator"
STARTUP_TIMEOUT_S = 90.0  # CI is 2 shared cores; a normal start takes a few seconds
STOP_TIMEOUT_S = 15.0


class EmulatorError(RuntimeError):
    """The emulator didn't start or answer; the message carries its stderr tail."""


class BigQueryEmulator:
    """A running emulator child process. Use as a context manager or call close()."""

    def __init__(
        self,
        project: str = DEFAULT_PROJECT,
        startup_timeout_s: float = STARTUP_TIMEOUT_S,
        log_path: Path | None = None,
    ) -> None:
        self.project = project
        self.port: int | None = None
        self._log_path = log_path
        self._process = self._spawn()
        try:
            self.port = self._wait_for_port(startup_timeout_s)
            self._wait_until_serving(startup_timeout_s)
        except BaseException:
            self.close()
            raise

    @property
    def endpoint(self) -> str:
        """The REST base URL, with its scheme (google-cloud-bigquery needs ``http://``)."""
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self) -> subprocess.Popen[str]:
        stderr = self._log_path.open("w") if self._log_path else subprocess.DEVNULL
        try:
            return subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--child", self.project],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        finally:
            if self._log_path:
                stderr.close()  # the child holds its own descriptor

    def _wait_for_port(self, timeout_s: float) -> int:
        """Read the child's stdout on a thread so the wait has a deadline."""
        lines: queue.Queue[str] = queue.Queue()
        assert self._process.stdout is not None

        def pump() -> None:
            assert self._process.stdout is not None
            for line in self._process.stdout:
                lines.put(line)
            lines.put("")  # EOF: the child exited

        threading.Thread(target=pump, name="bqemu-stdout", daemon=True).start()
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EmulatorError(f"emulator didn't start within {timeout_s:g} s{self._tail()}")
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line.startswith(READY_PREFIX):
                return int(line[len(READY_PREFIX) :].strip())
            if line == "":
                self._process.wait(timeout=5)
                raise EmulatorError(
                    f"emulator exited with code {self._process.returncode} before it was "
                    f"ready{self._tail()}"
                )

    def _wait_until_serving(self, timeout_s: float) -> None:
        """The port is bound once READY is printed; still check a real API call answers."""
        url = f"{self.endpoint}/bigquery/v2/projects/{self.project}/datasets"
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    json.load(response)
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise EmulatorError(f"emulator not answering at {url}: {err}") from err
                time.sleep(0.1)

    def _tail(self) -> str:
        if self._log_path is None or not self._log_path.exists():
            return ""
        return "\n--- emulator stderr (tail) ---\n" + self._log_path.read_text()[-3000:]

    def close(self) -> None:
        """Stop the child: stdin EOF, then SIGTERM, then SIGKILL. Safe to call twice."""
        process = self._process
        if process.poll() is None:
            with contextlib.suppress(OSError):
                if process.stdin is not None:
                    process.stdin.close()
            for stop in (None, process.terminate, process.kill):
                if stop is not None:
                    stop()
                try:
                    process.wait(timeout=STOP_TIMEOUT_S)
                    break
                except subprocess.TimeoutExpired:
                    continue
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.close()

    @property
    def returncode(self) -> int | None:
        return self._process.poll()

    def __enter__(self) -> BigQueryEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- the child process -------------------------------------------------------------------


def _apply_offline_fixes() -> None:
    """Make the emulator start and load data without the internet (see the module doc)."""
    from bqemulator.api.routes import upload
    from bqemulator.storage.engine import DuckDBEngine

    original = DuckDBEngine._load_spatial

    def load_spatial_if_available(engine: DuckDBEngine) -> None:
        try:
            original(engine)
        except Exception as err:  # the emulator wraps DuckDB's IO error in its own type
            first_line = str(err).splitlines()[0][:200]
            print(f"bq_emulator: spatial extension not loaded ({first_line})", file=sys.stderr)

    DuckDBEngine._load_spatial = load_spatial_if_available  # type: ignore[method-assign]
    if "*/*" not in upload._PERMITTED_MEDIA_CONTENT_TYPES:
        upload._PERMITTED_MEDIA_CONTENT_TYPES = (*upload._PERMITTED_MEDIA_CONTENT_TYPES, "*/*")


async def _serve(project: str) -> None:
    import asyncio

    from bqemulator.config import LogLevel, PersistenceMode, Settings
    from bqemulator.server import EmulatorServer

    settings = Settings(
        persistence_mode=PersistenceMode.EPHEMERAL,
        rest_host="127.0.0.1",
        rest_port=0,
        grpc_host="127.0.0.1",
        grpc_port=0,
        default_project_id=project,
        enable_format_extensions=False,
        metrics_enabled=False,
        tracing_enabled=False,
        log_level=LogLevel.WARNING,
    )
    server = EmulatorServer(settings)
    await server.start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def stop_on_stdin_eof() -> None:  # the parent closed stdin, or died: stop either way
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    # A daemon thread, not the loop's executor: asyncio.run would wait for it at exit.
    threading.Thread(target=stop_on_stdin_eof, name="bqemu-stdin", daemon=True).start()
    print(f"{READY_PREFIX}{server.rest_port}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()


def _child_main(project: str) -> None:
    import asyncio

    _apply_offline_fixes()
    asyncio.run(_serve(project))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child_main(sys.argv[2])
    else:
        with BigQueryEmulator() as emulator:
            print(f"BigQuery emulator at {emulator.endpoint} (project {emulator.project})")
            with contextlib.suppress(KeyboardInterrupt):
                sys.stdin.read()
