"""DuckDB adapter: read-only, parameters bound, follows the build-then-swap.

``python -m bot build`` replaces the database file atomically. A connection keeps
reading the old inode, so before each query we compare the file's identity and reopen
when it changed: the next question sees the new marts, and one in flight finishes on
the old ones.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from bot.core.table import Rows
from bot.warehouse.base import (
    WarehouseError,
    WarehouseNotBuilt,
    WarehouseTimeout,
    WarehouseUnavailable,
    check_params,
    render_query,
)

log = logging.getLogger("bot.warehouse")

MARTS_SCHEMA = "main"
MISSING_FILE_MESSAGE = (
    "The KPI data isn't available right now: the warehouse file is missing. "
    "Whoever runs the bot will find the details in its log."
)
_MART_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class DuckDBWarehouse:
    engine = "duckdb"

    def __init__(self, path: str | Path, timeout_s: float = 20.0) -> None:
        self.path = Path(path)
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._identity: tuple[int, int] | None = None
        # Connections replaced by a swap, closed once no query is running on them (two
        # swaps during one long query must not close it under that query).
        self._retired: list[duckdb.DuckDBPyConnection] = []
        self._in_flight: dict[int, int] = {}  # id(connection) -> queries running on it
        # The file is ATTACHed under its stem (see _open); queries name the marts through it.
        self._catalog = '"' + self.path.stem.replace('"', '""') + '"'

    def run(self, name: str, params: dict[str, Any] | None = None) -> Rows:
        params = params or {}
        sql, expected = render_query(name, f"{self._catalog}.{MARTS_SCHEMA}", param_style="$")
        check_params(name, expected, params)
        conn = self._acquire()
        try:
            return self._run_on(conn, name, sql, params)
        finally:
            self._release(conn)

    def run_sql(self, label: str, sql: str, params: dict[str, Any]) -> Rows:
        """Run SQL the bot generated (the semantic layer's MetricFlow SQL) on the same
        read-only connection as the named queries; values only as bound ``$name``
        parameters. ``label`` names the query in logs."""
        conn = self._acquire()
        try:
            return self._run_on(conn, label, sql, params)
        finally:
            self._release(conn)

    def mart_relation(self, table: str) -> str:
        """A mart's fully qualified, quoted name on this connection (catalog.main.table)."""
        if not _MART_NAME.match(table) or "." in self.path.stem:
            raise ValueError(f"not a mart this adapter can name: {self.path.stem}.{table}")
        return f'{self._catalog}.{MARTS_SCHEMA}."{table}"'

    def _run_on(
        self, conn: duckdb.DuckDBPyConnection, name: str, sql: str, params: dict[str, Any]
    ) -> Rows:
        try:
            cursor = conn.cursor()
        except duckdb.Error as err:
            raise WarehouseError(f"The warehouse couldn't answer ({type(err).__name__}).") from err
        timer = threading.Timer(self.timeout_s, cursor.interrupt)
        started = time.perf_counter()
        timer.start()
        try:
            with _pandas_unimportable():
                cursor.execute(sql, params)
            columns = tuple(d[0] for d in cursor.description or ())
            data = cursor.fetchall()
        except duckdb.InterruptException:
            raise WarehouseTimeout(
                f"The query took longer than {self.timeout_s:g} s and was stopped."
            ) from None
        except duckdb.CatalogException as err:
            raise WarehouseNotBuilt(
                "The KPI tables aren't built yet. Run `python -m bot build` first."
            ) from err
        except duckdb.Error as err:
            raise WarehouseError(f"The warehouse couldn't answer ({type(err).__name__}).") from err
        finally:
            timer.cancel()
            cursor.close()
        log.info(
            "query=%s engine=duckdb rows=%d duration_ms=%.1f",
            name,
            len(data),
            (time.perf_counter() - started) * 1000,
        )
        return Rows(columns, tuple(map(_plain_row, data)))

    def _acquire(self) -> duckdb.DuckDBPyConnection:
        """The connection to the file now at ``path``, counted as in use until released."""
        identity = self._file_identity()
        with self._lock:
            if self._conn is None or identity != self._identity:
                conn = self._open()
                if self._conn is not None:
                    self._retired.append(self._conn)
                self._conn, self._identity = conn, identity
                self._close_idle_retired()
            key = id(self._conn)
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
            return self._conn

    def _release(self, conn: duckdb.DuckDBPyConnection) -> None:
        with self._lock:
            key = id(conn)
            self._in_flight[key] -= 1
            if not self._in_flight[key]:
                del self._in_flight[key]
            self._close_idle_retired()

    def _close_idle_retired(self) -> None:
        busy = [c for c in self._retired if id(c) in self._in_flight]
        for conn in self._retired:
            if id(conn) not in self._in_flight:
                conn.close()
        self._retired = busy

    def data_version(self) -> tuple[int, ...]:
        """Which data the file holds, as cheaply as a stat: ``bot build`` swaps in a new
        file (a new inode and mtime). The answer cache is keyed by it."""
        self._file_identity()  # the missing file's error and log line
        stat = os.stat(self.path)
        return stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size

    def _file_identity(self) -> tuple[int, int]:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            # The path is for the operator (the log), not for whoever asked in Slack.
            log.error(
                "no warehouse file at %s: run `python -m bot generate` and "
                "`python -m bot build`, or point KPI_DUCKDB_PATH at the built file",
                self.path,
            )
            raise WarehouseUnavailable(MISSING_FILE_MESSAGE) from None
        # The inode, not the mtime: while our connection holds the file open its inode
        # can't be reused, so a new inode means a swapped-in file; the same inode can't
        # be re-attached (DuckDB refuses a file already attached in this process).
        return stat.st_dev, stat.st_ino

    def _open(self) -> duckdb.DuckDBPyConnection:
        # Not duckdb.connect(path): DuckDB caches one database instance per path in a
        # process, so while the retired connection (or a query in flight) keeps the old
        # file open, connect(path) would hand back the *old* file after a swap. A fresh
        # in-memory instance that ATTACHes the path opens the file now at that path. The
        # alias is the file stem, the catalog dbt-duckdb wrote into the views.
        location = "'" + str(self.path).replace("'", "''") + "'"
        conn = duckdb.connect(":memory:")
        try:
            conn.execute(f"attach {location} as {self._catalog} (read_only)")
        except duckdb.Error as err:
            conn.close()
            if isinstance(err, duckdb.IOException) and "lock" in str(err).lower():
                raise WarehouseUnavailable(
                    "The warehouse file is locked by another process (a build or a "
                    "writer holding it). Try again in a minute."
                ) from err
            raise WarehouseUnavailable("The warehouse file couldn't be opened.") from err
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in [self._conn, *self._retired]:
                if conn is not None:
                    conn.close()
            self._conn, self._retired = None, []
            self._identity = None


_hiding_lock = threading.Lock()
_hiding = 0  # queries binding parameters with pandas hidden, in this process


@contextmanager
def _pandas_unimportable() -> Iterator[None]:
    """DuckDB ≥ 1.4 imports pandas (when installed) before binding any parameter, to
    recognise pandas values (duckdb/duckdb#18658): ~2 s and ~117 MB in a process that
    never hands it one. Our parameters are dates, strings and numbers, so while a query
    binds them, and pandas isn't loaded already, ``import pandas`` fails and DuckDB goes
    on without it. A process that has loaded pandas (tools, tests) is left as it is."""
    global _hiding
    with _hiding_lock:
        if _hiding == 0 and "pandas" in sys.modules:
            hide = False
        else:
            sys.modules["pandas"] = None  # type: ignore[assignment]
            _hiding += 1
            hide = True
    try:
        yield
    finally:
        if hide:
            with _hiding_lock:
                _hiding -= 1
                if _hiding == 0 and sys.modules.get("pandas", "") is None:
                    del sys.modules["pandas"]


def _plain_row(row: tuple) -> tuple:
    """DECIMAL values as floats, as a DataFrame's float64 column held them (the marts'
    sums of doubles are doubles already; this covers an engine-chosen DECIMAL)."""
    if not any(isinstance(value, Decimal) for value in row):
        return row
    return tuple(float(value) if isinstance(value, Decimal) else value for value in row)
