"""``RunStore``: opening the store, what happens at start-up and exit, and the class assembled from its parts.

The store's life cycle: opening takes this store's share of the runs folder (``openers.py``),
checks the file (a damaged one is set aside and what can be read is saved, ``repair.py``,
by one opener while no other has it open), brings an older schema up to date
(``schema.py``), keeps some disk space in reserve (``disk.py``) and marks runs left behind by
a process that is gone as ``interrupted`` (``ownership.py``). While open, a runs folder
deleted (or a ``runs.sqlite`` replaced) under it is noticed at the next connection use and a
fresh store started there, with one sentence saying so (``damage_report``). Closing, or the
interpreter exiting, commits what is buffered. Everything else a store does lives in the part
named by each base class below.
"""

from __future__ import annotations

import atexit
import logging
import os
import pathlib
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable

from resnet_edu.runs.analysis_table import AnalysisJobsMixin
from resnet_edu.runs.checkpoints import CheckpointsMixin
from resnet_edu.runs.connections import ConnectionsMixin, file_identity
from resnet_edu.runs.disk import SpaceReserve, describe_write_error, is_write_failure
from resnet_edu.runs.export import ExportMixin
from resnet_edu.runs.housekeeping import HousekeepingMixin
from resnet_edu.runs.openers import OpenersLock, repair_turn
from resnet_edu.runs.ownership import own_identity, owner_alive
from resnet_edu.runs.reads import ReadsMixin
from resnet_edu.runs.records import RunRecordsMixin
from resnet_edu.runs.repair import is_damage, needs_full_check, quick_check, remember_clean_close, set_aside_and_salvage
from resnet_edu.runs.schema import ACTIVE_SQL, INSERT_EVENT, create_or_migrate
from resnet_edu.runs.values import dumps, utc_now
from resnet_edu.runs.writer import WriteBufferMixin

logger = logging.getLogger(__name__)

REPAIR_WAIT_S = 5.0  # how long a repairer waits for other openers of a damaged file to let it go


def default_root() -> pathlib.Path:
    """The runs folder: ``$RESNET_EDU_RUNS_DIR``, or ``./runs``."""
    return pathlib.Path(os.environ.get("RESNET_EDU_RUNS_DIR", "runs"))


class RunStore(ConnectionsMixin, WriteBufferMixin, RunRecordsMixin, ReadsMixin, ExportMixin, CheckpointsMixin,
               HousekeepingMixin, AnalysisJobsMixin):
    """Runs, metrics, events and checkpoints on SQLite (WAL). Thread-safe.

    Args:
        root: folder of ``runs.sqlite`` and ``checkpoints/``; default
            ``$RESNET_EDU_RUNS_DIR`` or ``./runs``. Created if missing.

    Opening a store marks runs left ``running``/``queued`` by a process that no longer
    exists as ``interrupted`` (and logs an ``interrupted`` event for each), and fails
    analysis jobs such a process left unfinished.
    """

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = pathlib.Path(root) if root is not None else default_root()
        self.root.mkdir(parents=True, exist_ok=True)
        self.db_path = self.root / "runs.sqlite"
        self._owner = own_identity()
        self._closed = False
        self._init_connections()
        self._init_buffers()
        self._init_records()
        self._damage_report: str | None = None  # what happened to the file, one sentence (see damage_report)
        self._left_damaged = False  # damaged, but others have it open: read as it is
        self._starting_over = False  # a thread is opening a fresh file after the old one went
        self._openers = OpenersLock(self.root)
        self._openers.share()  # before the first connection: a repair elsewhere finishes first
        try:
            self._open_checked()
        except BaseException:
            self._openers.release()
            raise
        self._file_id = file_identity(self.db_path)  # from now on, _conn notices another file here
        self._reserve = SpaceReserve(self.root)
        self._reserve_missing = not self._reserve.keep()
        self.interrupted_on_open: list[str] = []
        try:
            self.interrupted_on_open = self._mark_interrupted()
            self.fail_orphaned_analyses("the training process ended before this job finished")
        except sqlite3.DatabaseError as exc:
            if not (self._left_damaged and is_damage(exc)):
                raise
            logger.warning("RunStore: runs of gone processes not marked (the file is damaged): %s", exc)
        self._atexit = self._make_atexit()
        atexit.register(self._atexit)

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def damage_report(self) -> str | None:
        """One sentence on what happened to ``runs.sqlite`` and what was done, or None when all is well.

        Set when a damaged file was set aside (or left in place because other programs have
        it open), or when the runs folder was deleted or the file replaced while this store
        was open. Reading it first looks whether the file is still the one this store opened.
        """
        self._check_same_file()
        return self._damage_report

    # ------------------------------------------------------------------ opening
    def _problem(self) -> str | None:
        """Create or migrate the schema and check the file: None, or what is wrong with it."""
        try:
            full = needs_full_check(self.db_path)
            self._init_schema()
            return quick_check(self._conn(), full=full)
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                self._close_connections()
                raise sqlite3.DatabaseError(f"cannot open the run store {self.db_path}: {exc}") from exc
            return str(exc)

    def _open_checked(self) -> None:
        """Check the file; a damaged one is set aside by one opener, alone with it (``openers.py``)."""
        checked = file_identity(self.db_path)
        problem = self._problem()
        if problem is None:
            return
        self._close_connections()
        self._openers.release()
        with repair_turn(self.root):
            alone = self._openers.try_alone()
            deadline = time.monotonic() + REPAIR_WAIT_S
            while not alone and time.monotonic() < deadline:  # openers that found the damage too let go soon
                time.sleep(0.05)
                alone = self._openers.try_alone()
            if not alone:
                self._openers.share()
            if file_identity(self.db_path) != checked:  # another opener repaired it while this one waited
                problem = self._problem()
            if problem is None:
                logger.info("RunStore: %s was repaired by another process; opened the repaired file", self.db_path)
            elif alone:
                self._close_connections()
                self._damage_report = set_aside_and_salvage(self.db_path, problem, self._init_schema,
                                                            self._connect)
            else:
                self._left_damaged = True
                self._damage_report = (
                    f"{self.db_path.name} is damaged ({problem}), but other programs have it open (the app, "
                    f"its training process, the command line): it was left in place and is read as it is; "
                    f"close them, then open the store again to repair it.")
            if alone:
                self._openers.share()
        if self._damage_report:
            logger.warning("RunStore: %s", self._damage_report)

    def _check_same_file(self) -> None:
        """Start a fresh store if ``runs.sqlite`` (or its folder) was deleted or replaced under this one."""
        if self._closed or (self._file_id is None and not self._starting_over):  # still opening
            return
        if not self._starting_over and file_identity(self.db_path) == self._file_id:
            return
        # The flush lock (re-entrant): no commit is half-way while the connections change, and
        # other threads wait here until the fresh file has its tables.
        with self._flush_lock:
            if self._starting_over or file_identity(self.db_path) == self._file_id:
                return  # this thread is the one starting over, or another thread has just done it
            self._starting_over = True
            try:
                self._start_over()
            finally:
                self._starting_over = False

    def _start_over(self) -> None:
        """A fresh store at ``db_path`` (or the file now there, checked); the sentence in ``damage_report``."""
        self._file_id = None
        replaced = self.db_path.exists()
        self._close_connections()
        dropped = self._pending
        self._take_pending()  # rows for runs of the old file: they have nowhere to go
        self._known.clear()
        self.write_error = None
        self.root.mkdir(parents=True, exist_ok=True)
        self._openers.share()  # the lock file went with a deleted folder
        self._damage_report = None
        self._open_checked()
        self._file_id = file_identity(self.db_path)
        self._reserve_missing = not self._reserve.keep()
        if replaced:
            what = (f"{self.db_path} was replaced by another file while in use: the store now reads that "
                    f"file")
        else:
            what = (f"the runs folder {self.root} (or its {self.db_path.name}) was deleted while in use: a "
                    f"new, empty store was started there, and the runs recorded before are gone")
        lost = f" ({dropped} rows not yet written were dropped)" if dropped else ""
        self._damage_report = f"{what}{lost}." + (f" {self._damage_report}" if self._damage_report else "")
        logger.warning("RunStore: %s", self._damage_report)

    def _init_schema(self) -> None:
        conn = self._conn()
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            logger.warning("RunStore: %s is in journal mode %r, not WAL", self.db_path, mode)
        self._transaction(create_or_migrate)

    def _mark_interrupted(self) -> list[str]:
        """Runs left running/queued by a process that is gone become 'interrupted'."""

        def work(c: sqlite3.Connection) -> list[str]:
            rows = c.execute(
                f"SELECT run_id, status, owner, owner_pid, steps_done FROM runs WHERE status IN {ACTIVE_SQL}"
            ).fetchall()
            marked = []
            now = utc_now()
            for run_id, status, owner, pid, steps_done in rows:
                if owner == self._owner or owner_alive(owner, pid):
                    continue
                last = c.execute("SELECT MAX(step) FROM steps WHERE run_id = ?", (run_id,)).fetchone()[0]
                step = max(steps_done or 0, last if last is not None else 0)
                message = f"the app stopped while this run was {status}"
                c.execute(
                    "UPDATE runs SET status = 'interrupted', finished_at = ?, message = ? WHERE run_id = ?",
                    (now, message, run_id),
                )
                c.execute(
                    INSERT_EVENT,
                    (run_id, step, "interrupted", dumps({"previous_status": status, "reason": message}), now),
                )
                marked.append(run_id)
            return marked

        marked = self._transaction(work)
        if marked:
            logger.info("RunStore: marked %d run(s) interrupted: %s", len(marked), ", ".join(marked))
        return marked

    def _make_atexit(self) -> Callable[[], None]:
        ref = weakref.ref(self)

        def flush_at_exit() -> None:
            store = ref()
            if store is not None and not store._closed and file_identity(store.db_path) == store._file_id:
                # (a folder deleted under the store is not made again only to be left at exit)
                try:
                    store.flush()
                except Exception:
                    return
                if store.write_error is None:  # an orderly exit: the next open need not read it all
                    try:  # move the WAL into the file now, so closing at exit changes nothing
                        conn = store._conn()
                        conn.execute("PRAGMA busy_timeout=200")  # never hold the exit up for long
                        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    except sqlite3.Error:
                        return
                    remember_clean_close(store.db_path)

        return flush_at_exit

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        """Commit what is buffered, stop the background thread, close connections."""
        if self._closed:
            return
        if file_identity(self.db_path) != self._file_id:  # deleted under it: no folder made again to close
            self._take_pending()
        try:
            self.flush()
        except Exception as error:
            if not is_write_failure(error):
                raise
            # Nothing more can be done for rows the disk will not take; what was committed stays.
            logger.error("RunStore: closing without %d buffered rows: %s", self._pending,
                         describe_write_error(error, self.root))
        finally:
            self._closed = True
            self._stop.set()
            t = self._flusher_thread
            if t is not None and t is not threading.current_thread():
                t.join(timeout=5)
            with self._flush_lock:
                self._close_connections()
            self._openers.release()
            atexit.unregister(self._atexit)
            if self.write_error is None:
                remember_clean_close(self.db_path)

