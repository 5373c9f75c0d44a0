"""``RunStore``: opening the store, what happens at start-up and exit, and the class assembled from its parts.

Its own file because this is the store's life cycle: opening checks the file (a damaged
one is set aside and what can be read is saved, ``repair.py``), brings an older schema up
to date (``schema.py``), keeps some disk space in reserve (``disk.py``) and marks runs left
behind by a process that is gone as ``interrupted`` (``ownership.py``); closing, or the
interpreter exiting, commits what is buffered. Everything else a store does lives in the
part named by each base class below.
"""

from __future__ import annotations

import atexit
import logging
import os
import pathlib
import sqlite3
import threading
import weakref
from collections.abc import Callable

from resnet_edu.runs.analysis_table import AnalysisJobsMixin
from resnet_edu.runs.checkpoints import CheckpointsMixin
from resnet_edu.runs.connections import ConnectionsMixin
from resnet_edu.runs.disk import SpaceReserve, describe_write_error, is_write_failure
from resnet_edu.runs.export import ExportMixin
from resnet_edu.runs.housekeeping import HousekeepingMixin
from resnet_edu.runs.ownership import own_identity, owner_alive
from resnet_edu.runs.reads import ReadsMixin
from resnet_edu.runs.records import RunRecordsMixin
from resnet_edu.runs.repair import is_damage, needs_full_check, quick_check, remember_clean_close, set_aside_and_salvage
from resnet_edu.runs.schema import ACTIVE_SQL, INSERT_EVENT, create_or_migrate
from resnet_edu.runs.values import dumps, utc_now
from resnet_edu.runs.writer import WriteBufferMixin

logger = logging.getLogger(__name__)


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
        self.damage_report: str | None = None  # set when a damaged file was set aside at open
        self._open_checked()
        self._reserve = SpaceReserve(self.root)
        self._reserve.keep()
        self.interrupted_on_open: list[str] = self._mark_interrupted()
        self.fail_orphaned_analyses("the training process ended before this job finished")
        self._atexit = self._make_atexit()
        atexit.register(self._atexit)

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ opening
    def _open_checked(self) -> None:
        """Create or migrate the schema, check the file, and set a damaged one aside (``repair.py``)."""
        try:
            full = needs_full_check(self.db_path)
            self._init_schema()
            problem = quick_check(self._conn(), full=full)
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                self._close_connections()
                raise sqlite3.DatabaseError(f"cannot open the run store {self.db_path}: {exc}") from exc
            problem = str(exc)
        if problem is None:
            return
        self._close_connections()
        self.damage_report = set_aside_and_salvage(self.db_path, problem, self._init_schema, self._connect)
        logger.warning("RunStore: %s", self.damage_report)

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
            if store is not None and not store._closed:
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
            atexit.unregister(self._atexit)
            if self.write_error is None:
                remember_clean_close(self.db_path)

