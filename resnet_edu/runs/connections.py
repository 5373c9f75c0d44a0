"""Connections to ``runs.sqlite``: one per thread, WAL mode, and patience when another writer holds the lock.

These are the rules of using SQLite from many threads and processes
at once, whatever is being written:

- WAL mode: readers never block the writer and the writer never blocks readers.
- Each thread has its own connection (a SQLite connection must not be shared mid-query).
- Each use of a connection first checks that ``runs.sqlite`` is still the file the store
  opened (its device and inode: one ``stat``); if the folder was deleted or the file
  replaced, the store starts over on a fresh file (``RunStore._check_same_file``) instead of
  writing on into a deleted file while new threads fail to open the missing one.
- "database is locked" never reaches a caller: SQLite waits up to ``BUSY_TIMEOUT_MS`` for
  the other writer, and the store tries again (with pauses) for up to ``BUSY_RETRY_S`` more.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000  # SQLite's own wait for another writer
BUSY_RETRY_S = 60.0  # then the store tries again, with pauses, for this long


def is_busy(error: BaseException) -> bool:
    """Whether an SQLite error only means "another connection holds the lock: try again"."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
    return "database is locked" in str(error) or "database table is locked" in str(error)


def retry_busy(action: Callable[[], Any]) -> Any:
    """Run ``action``; while SQLite says "database is locked", wait and try again (``BUSY_RETRY_S``)."""
    deadline = time.monotonic() + BUSY_RETRY_S
    pause = 0.05
    while True:
        try:
            return action()
        except sqlite3.OperationalError as error:
            if not is_busy(error) or time.monotonic() > deadline:
                raise
            logger.info("RunStore: the database is busy, trying again in %.2f s", pause)
            time.sleep(pause)
            pause = min(1.0, pause * 2)


def file_identity(path: os.PathLike) -> tuple[int, int] | None:
    """(device, inode) of a file, or None when it does not exist: another file at the path differs."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class ConnectionsMixin:
    """The connection-keeping part of ``RunStore``.

    Uses ``self.db_path``, ``self._closed`` and ``self._check_same_file`` (store); keeps
    ``self._local`` (this thread's connection), ``self._conns`` (every thread's, to close them)
    and ``self._file_id`` (the opened file's ``file_identity``; None while opening).
    """

    def _init_connections(self) -> None:
        self._file_id: tuple[int, int] | None = None
        self._local = threading.local()
        self._conns: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._conns_lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False,
                               isolation_level=None)
        retry_busy(lambda: conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}"))
        retry_busy(lambda: conn.execute("PRAGMA journal_mode=WAL"))
        retry_busy(lambda: conn.execute("PRAGMA synchronous=NORMAL"))
        return conn

    def _conn(self) -> sqlite3.Connection:
        self._check_same_file()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        conn = self._connect()
        self._local.conn = conn
        with self._conns_lock:
            # Streamlit runs every rerun in a fresh thread: close connections of dead threads.
            alive = []
            for thread, c in self._conns:
                if thread.is_alive():
                    alive.append((thread, c))
                else:
                    c.close()
            alive.append((threading.current_thread(), conn))
            self._conns = alive
        return conn

    def _close_connections(self) -> None:
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for _, c in conns:
            try:
                c.close()
            except sqlite3.Error:
                pass
        self._local = threading.local()

    def _transaction(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``work(conn)`` in one write transaction: all of it is committed, or none of it."""
        conn = self._conn()
        retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))  # the wait is here, before any work
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple]:
        """Rows of one SELECT, from what is committed (``_read`` commits this process's buffer first)."""
        conn, args = self._conn(), tuple(args)
        return retry_busy(lambda: conn.execute(sql, args).fetchall())
