"""A damaged ``runs.sqlite``: notice it at start-up, keep it, and save what can be read.

SQLite survives a killed process and a power cut on a disk that honours write barriers. It
cannot survive everything a classroom laptop does: a file system without barriers losing
power mid-write, a sync tool copying the file half-way, another program writing into it.
Then some pages of the file hold garbage, and a query that touches them fails with
"database disk image is malformed" — possibly in the middle of a lesson.

So the store checks the file when it opens (``PRAGMA quick_check``: every page and every
row's format, without the slower cross-checks of ``integrity_check``). That reads the whole
file: about 2 s of CPU for a 1 GB store (a term of runs). So a big file (over
``FULL_CHECK_MAX_BYTES``) is read in full only when it is not exactly as a store left it
when it last closed cleanly (size, time stamp and inode of the file and its WAL, noted in
``.checked``): after a crash, a copy, another program. Otherwise only the small tables
(runs, evaluations, events) are checked. A damaged file is:

1. moved aside, by one opener and only while no other store has it open (``openers.py``: a
   file another process still writes into is left in place and read as it is), never
   overwritten or deleted: ``runs.sqlite`` becomes
   ``runs.damaged-20261129T083000Z.sqlite`` (its ``-wal`` file moves along, so nothing
   that was committed is left behind);
2. read table by table into a fresh ``runs.sqlite``; where a whole-table read stops at a
   damaged page, the rows of each run are read again on their own (a run's rows sit
   together in the file: the damage usually costs one run, not all);
3. described in one sentence, with the kept file's path, for the app and the CLI to show.

Salvage works on the raw file, with connections of its own, and runs only when
``RunStore`` finds damage while opening.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone

from resnet_edu.runs.schema import PER_RUN_TABLES, RENAMED_COLUMNS

__all__ = ["is_damage", "needs_full_check", "quick_check", "remember_clean_close", "set_aside_and_salvage"]

logger = logging.getLogger(__name__)

_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
# Tables in the order they are copied (runs first: the others are read per run when needed).
_TABLES = ("runs", *PER_RUN_TABLES, "analysis_jobs")
_BY_STEP = ("steps", "evals")  # keyed by (run_id, step): a read can start past a damaged page
FULL_CHECK_MAX_BYTES = 256 * 1024 * 1024  # a full quick_check of this much takes about half a second
_SMALL_TABLES = ("runs", "evals", "events")  # checked at every open, whatever the file's size
MARKER = ".checked"  # the file's state at its last clean close, beside runs.sqlite


class StoreDamaged(sqlite3.DatabaseError):
    """``runs.sqlite`` is damaged and could not be set aside (the message says what to do)."""


def is_damage(error: BaseException) -> bool:
    """Whether an SQLite error means the file is damaged (not busy, not a full disk, not a bug)."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return True
    text = str(error)
    return "malformed" in text or "file is not a database" in text


def quick_check(conn: sqlite3.Connection, full: bool = True) -> str | None:
    """None when SQLite's ``quick_check`` finds nothing wrong, else its first findings.

    Args:
        conn: a connection to the store.
        full: the whole file; else only the small tables (``_SMALL_TABLES``) and the schema.
    """
    if full:
        rows = conn.execute("PRAGMA quick_check(5)").fetchall()
    else:
        rows = [row for table in _SMALL_TABLES for row in conn.execute(f"PRAGMA quick_check({table})").fetchall()]
        rows = [row for row in rows if row[0] != "ok"] or [("ok",)]
    found = [str(r[0]) for r in rows]
    return None if found == ["ok"] else "; ".join(found)[:300]


def _file_state(db_path: pathlib.Path) -> list:
    state = []
    for path in (db_path, pathlib.Path(str(db_path) + "-wal")):
        try:
            st = path.stat()
        except OSError:
            continue
        if path is not db_path and st.st_size == 0:
            continue  # an empty WAL is the same as none (SQLite deletes it at the last close)
        state.append([path.name, st.st_ino, st.st_size, st.st_mtime_ns])
    return state


def needs_full_check(db_path: pathlib.Path) -> bool:
    """A small file always; a big one unless it is exactly as the last clean close left it."""
    try:
        if db_path.stat().st_size <= FULL_CHECK_MAX_BYTES:
            return True
        noted = json.loads((db_path.parent / MARKER).read_text())
    except (OSError, ValueError):
        return True
    return noted != _file_state(db_path)


def remember_clean_close(db_path: pathlib.Path) -> None:
    """Note the file's state after a clean close (see ``needs_full_check``); best effort."""
    try:
        (db_path.parent / MARKER).write_text(json.dumps(_file_state(db_path)))
    except OSError:
        pass


def _aside_name(db_path: pathlib.Path) -> pathlib.Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    candidate = db_path.with_name(f"{db_path.stem}.damaged-{stamp}{db_path.suffix}")
    n = 1
    while candidate.exists():  # never overwrite an older kept file
        n += 1
        candidate = db_path.with_name(f"{db_path.stem}.damaged-{stamp}-{n}{db_path.suffix}")
    return candidate


def _move_aside(db_path: pathlib.Path) -> pathlib.Path:
    kept = _aside_name(db_path)
    os.replace(db_path, kept)
    for suffix in ("-wal", "-shm"):
        side = pathlib.Path(str(db_path) + suffix)
        if side.exists():
            os.replace(side, pathlib.Path(str(kept) + suffix))
    return kept


def _open_damaged(kept: pathlib.Path) -> sqlite3.Connection | None:
    """The kept file, read-only (so salvaging cannot change it), or None if SQLite cannot open it."""
    for options in ("mode=ro", "immutable=1"):
        try:
            conn = sqlite3.connect(f"{kept.resolve().as_uri()}?{options}", uri=True)
            conn.execute("SELECT COUNT(*) FROM sqlite_schema").fetchone()
            return conn
        except sqlite3.DatabaseError:
            continue
    return None


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    try:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})").fetchall()]
    except sqlite3.DatabaseError:
        return []


def _shared_columns(src: sqlite3.Connection, dst: sqlite3.Connection, table: str) -> list[tuple[str, str]]:
    """(name in the fresh store, name in the damaged file) of each column both have.

    A file older than the current schema may hold a column under its old name
    (``schema.RENAMED_COLUMNS``): its values still go into the renamed column.
    """
    have = set(_columns(src, table))
    old_names = {new: old for t, old, new in RENAMED_COLUMNS if t == table}
    pairs = []
    for name in _columns(dst, table):
        if name in have:
            pairs.append((name, name))
        elif old_names.get(name) in have:
            pairs.append((name, old_names[name]))
    return pairs


def _copy(src: sqlite3.Connection, dst: sqlite3.Connection, table: str, columns: list[tuple[str, str]],
          where: str = "", args: tuple = ()) -> tuple[int, bool]:
    """Copy rows until the first unreadable page: (rows copied, whether the read finished).

    ``columns`` pairs each column of the fresh store with its name in the damaged file.
    """
    names = ", ".join(new for new, _ in columns)
    insert = f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})"
    copied, finished = 0, True
    cursor = None
    try:
        cursor = src.execute(f"SELECT {', '.join(old for _, old in columns)} FROM {table} {where}", args)
        while True:
            rows = cursor.fetchmany(5000)
            if not rows:
                break
            dst.executemany(insert, rows)
            copied += len(rows)
    except (sqlite3.DatabaseError, OverflowError, ValueError) as error:  # a damaged page, or garbage values on it
        logger.warning("salvage: %s %s stopped after %d rows: %s", table, where, copied, error)
        finished = False
    return copied, finished


def _copy_around_damage(src: sqlite3.Connection, dst: sqlite3.Connection, table: str, columns: list[tuple[str, str]],
                        run_id: str) -> int:
    """One run's rows of a table keyed by (run_id, step): after a damaged page, jump ahead and go on."""
    copied, after, jump = 0, -1, 64
    for _ in range(40):  # each failure doubles the jump: a run of 2**40 steps is covered (and SQLite's
        # 64-bit integers are never overflowed by `after`)
        last = dst.execute(f"SELECT MAX(step) FROM {table} WHERE run_id = ?", (run_id,)).fetchone()[0]
        after = max(after, last if last is not None else -1)
        n, finished = _copy(src, dst, table, columns, "WHERE run_id = ? AND step > ? ORDER BY step",
                            (run_id, after))
        copied += n
        if finished:
            break
        if n == 0:  # stuck on the damaged page itself: skip further ahead
            after += jump
            jump *= 2
        if after >= 2**62:  # a garbage step number was read: nothing sensible lies beyond it
            break
    return copied


def _salvage(kept: pathlib.Path, connect: Callable[[], sqlite3.Connection]) -> tuple[int, int, int]:
    """Copy what can be read from ``kept`` into the fresh store: (runs, runs in the file, rows)."""
    src = _open_damaged(kept)
    if src is None:
        return 0, 0, 0
    dst = connect()
    try:
        dst.execute("BEGIN IMMEDIATE")
        finished = {}
        for table in _TABLES:
            columns = [pair for pair in _shared_columns(src, dst, table) if pair[0] != "id"]  # events: fresh ids
            if not columns:
                finished[table] = False
                continue
            order = "ORDER BY id" if table == "events" and "id" in _columns(src, table) else ""
            finished[table] = _copy(src, dst, table, columns, order)[1]
        run_ids = [r[0] for r in dst.execute("SELECT run_id FROM runs").fetchall()]
        for table in PER_RUN_TABLES:
            if finished.get(table, True):
                continue
            # The whole-table read stopped at a damaged page: read each run's rows on its own
            # (a lookup by run id skips pages of other runs).
            columns = [pair for pair in _shared_columns(src, dst, table) if pair[0] != "id"]
            for run_id in run_ids:
                if table == "events" and dst.execute("SELECT 1 FROM events WHERE run_id = ? LIMIT 1",
                                                     (run_id,)).fetchone():
                    continue  # events have no natural key: copying again would double them
                if table in _BY_STEP:
                    _copy_around_damage(src, dst, table, columns, run_id)
                else:
                    _copy(src, dst, table, columns, "WHERE run_id = ?", (run_id,))
        total_runs = len(run_ids)
        if not finished.get("runs", False):
            # Runs whose row is lost but whose metrics survived cannot be shown without a config:
            # count them, so the sentence says how many runs the file had.
            try:
                total_runs = src.execute("SELECT COUNT(DISTINCT run_id) FROM steps").fetchone()[0]
            except sqlite3.DatabaseError:
                pass
            total_runs = max(total_runs, len(run_ids))
        rows = sum(dst.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in _TABLES)
        dst.execute("COMMIT")
        return len(run_ids), total_runs, rows
    except BaseException:
        if dst.in_transaction:
            dst.execute("ROLLBACK")
        raise
    finally:
        dst.close()
        src.close()


def set_aside_and_salvage(db_path: pathlib.Path, problem: str, init_schema: Callable[[], None],
                          connect: Callable[[], sqlite3.Connection]) -> str:
    """Move a damaged store aside, make a fresh one, copy what can be read; the sentence to show.

    Args:
        db_path: the damaged ``runs.sqlite``; no connection to it may be open in any process
            (the caller holds ``openers.OpenersLock`` alone).
        problem: what ``quick_check`` (or the failed open) said.
        init_schema: creates the tables in a fresh ``db_path``.
        connect: opens a connection to ``db_path`` (the store's own settings).

    Raises:
        StoreDamaged: the file could not be moved aside (the sentence says what to do).
    """
    try:
        kept = _move_aside(db_path)
    except OSError as error:
        raise StoreDamaged(
            f"{db_path} is damaged ({problem}) and could not be moved aside ({error.strerror or error}): "
            f"move or copy it away yourself, then start again") from error
    init_schema()
    try:
        runs, total, rows = _salvage(kept, connect)
    except sqlite3.Error as error:  # the fresh store stays empty; the kept file is untouched
        logger.warning("salvage of %s failed: %s", kept, error)
        runs, total, rows = 0, 0, 0
    if runs:
        saved = f"{runs} of {total} runs ({rows:,} rows) were copied into a new {db_path.name}"
    else:
        saved = f"nothing could be read from it; a new, empty {db_path.name} was started"
    return f"{db_path.name} was damaged ({problem}): it was kept as {kept} and {saved}."
