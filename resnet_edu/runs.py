"""RunStore: every run, metric, event and checkpoint of ResNet Lab, in one SQLite file.

Why a database and not Python lists? A training run lives in a worker thread, but the
pages that draw it live in other threads (one per browser tab), and the app itself can be
restarted or killed. So the worker writes every number here, and every page reads it back
from here: a refresh, a second tab or a restarted app all see the same runs.

Where it lives: ``$RESNET_EDU_RUNS_DIR`` (default ``./runs``)::

    runs/
      runs.sqlite              the tables below (plus -wal / -shm files while open)
      checkpoints/<run_id>/    model checkpoints of one run

The tables (open ``runs.sqlite`` with any SQLite browser to look inside)::

    runs         one row per training run
                 run_id (e.g. "r3f9c01aa"), name, group_id (runs compared together),
                 status (queued | running | finished | stopped | diverged | failed |
                 interrupted), config (JSON of the training settings), device,
                 versions (JSON: python, torch, platform), created_at / started_at /
                 finished_at (ISO 8601, UTC), message (why it ended), steps_done,
                 total_steps, last_checkpoint_step, last_checkpoint_path,
                 owner / owner_pid (which process is writing it)
    steps        one row per logged training step                  key (run_id, step)
                 epoch, wall_seconds, train_loss, train_error, lr, images_per_second
    evals        one row per test-set evaluation                   key (run_id, step)
                 epoch, wall_seconds, test_loss, test_error
    layer_stats  one value per layer, per probe, per step (paper Fig. 7)
                 kind ("grad_norm", "response_std", ...), step, layer_index (depth
                 order), layer ("layer1.0.conv1"), value       key (run_id, kind, step, layer_index)
    events       rare things that happened at a step: started, shortcuts_toggled,
                 stopped, diverged, finished, interrupted, failed, resumed, checkpoint
                 step, kind, detail (JSON), created_at

Errors are fractions in [0, 1]. A diverged loss (inf) is stored as inf; NaN is stored as
NULL and read back as NaN. Logging a step twice (after resuming from a checkpoint)
replaces the old row.

How writing works (the part worth copying into your own projects):

- SQLite in WAL mode: readers never block the writer and the writer never blocks readers.
- Each thread has its own connection (a SQLite connection must not be shared mid-query).
- Training threads log thousands of rows; a transaction per row would be slow. Rows are
  buffered in memory and committed together in one ``BEGIN IMMEDIATE ... COMMIT`` by a
  background thread every 0.25 s, and on ``flush()``/``close()``. A killed app loses at
  most the last fraction of a second; everything committed survives ``kill -9``.
- Batches are committed strictly in order, so a page that reads "steps after the last one
  I saw" never skips a row.
- Status changes and events are rare and important: they are committed immediately,
  together with everything buffered before them.
- When a new process opens the store, runs left ``running``/``queued`` by a process that
  is gone are marked ``interrupted`` (and can be resumed from their last checkpoint). Runs
  of a process that is still alive (a second app on the same folder) are left alone.
- "database is locked" never reaches a caller: SQLite waits up to 10 s for the other
  writer, and the store tries again (with pauses) for up to ``BUSY_RETRY_S`` more.
- A write the disk refuses (full, quota, file size limit) is kept buffered and retried;
  meanwhile the logging calls raise ``StoreWriteError`` so the training loop can end the
  run ``failed`` with "the disk is full (... free)" (``resnet_edu.disk``), and a status
  change is tried on its own so that the failure itself still lands when it fits.
- Opening checks the file (``PRAGMA quick_check``); a damaged one is moved aside with a
  time stamp and what SQLite can still read is copied into a fresh store
  (``resnet_edu.store_repair``); ``damage_report`` says so in one sentence.
"""

from __future__ import annotations

import atexit
import dataclasses
import enum
import importlib.metadata
import json
import logging
import os
import pathlib
import platform
import re
import secrets
import shutil
import socket
import sqlite3
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from resnet_edu import disk, store_repair
from resnet_edu.store_repair import StoreDamaged

__all__ = [
    "RUN_STATUSES",
    "ACTIVE_STATUSES",
    "ENDED_STATUSES",
    "ANALYSIS_STATUSES",
    "EVENT_KINDS",
    "RunNotFound",
    "RunStore",
    "StoreDamaged",
    "StoreWriteError",
    "default_root",
]

logger = logging.getLogger(__name__)

RUN_STATUSES = ("queued", "running", "finished", "stopped", "diverged", "failed", "interrupted")
ACTIVE_STATUSES = ("queued", "running")
ENDED_STATUSES = ("finished", "stopped", "diverged", "failed", "interrupted")
ANALYSIS_STATUSES = ("queued", "running", "finished", "stopped", "failed")
# The event kinds the rest of the app uses; log_event accepts any other name too.
EVENT_KINDS = (
    "started", "shortcuts_toggled", "stopped", "diverged", "finished",
    "interrupted", "failed", "resumed", "checkpoint",
)

SCHEMA_VERSION = 1
FLUSH_INTERVAL_S = 0.25  # background commit period: a killed app loses at most this much (keep it <= 0.5 s)
MAX_PENDING_ROWS = 20_000  # past this, the logging thread commits itself (back-pressure)
MAX_NAME_CHARS = 200
MAX_MESSAGE_CHARS = 4000
BUSY_TIMEOUT_MS = 10_000  # SQLite's own wait for another writer
BUSY_RETRY_S = 60.0  # then the store tries again, with pauses, for this long

_RUN_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")

RUN_COLUMNS = [
    "run_id", "name", "group_id", "status", "config", "device", "versions",
    "created_at", "started_at", "finished_at", "message",
    "steps_done", "total_steps", "last_checkpoint_step", "images_per_second", "eta_seconds",
]
STEP_COLUMNS = ["step", "epoch", "wall_seconds", "train_loss", "train_error", "lr", "images_per_second"]
EVAL_COLUMNS = ["step", "epoch", "wall_seconds", "test_loss", "test_error"]
LAYER_COLUMNS = ["step", "layer", "layer_index", "value"]
EVENT_COLUMNS = ["step", "kind", "detail", "created_at"]
EXPORT_COLUMNS = STEP_COLUMNS + ["test_loss", "test_error"]
BLOCK_COLUMNS = ["bucket", "step", "epoch", "wall_seconds", "lr", "error_sum", "error_n", "loss_sum", "loss_n",
                 "ips_sum", "ips_n"]

_RUN_DTYPES = {"steps_done": "int64", "total_steps": "Int64", "last_checkpoint_step": "Int64",
               "images_per_second": "float64", "eta_seconds": "float64"}
_STEP_DTYPES = {"step": "int64", **{c: "float64" for c in STEP_COLUMNS[1:]}}
_EVAL_DTYPES = {"step": "int64", **{c: "float64" for c in EVAL_COLUMNS[1:]}}
_LAYER_DTYPES = {"step": "int64", "layer": "object", "layer_index": "int64", "value": "float64"}
_EVENT_DTYPES = {"step": "int64", "kind": "object", "detail": "object", "created_at": "object"}
_BLOCK_DTYPES = {"bucket": "int64", "step": "int64", "epoch": "float64", "wall_seconds": "float64", "lr": "float64",
                 "error_sum": "float64", "error_n": "int64", "loss_sum": "float64", "loss_n": "int64",
                 "ips_sum": "float64", "ips_n": "int64"}
_EXPORT_DTYPES = {"step": "int64", **{c: "float64" for c in EXPORT_COLUMNS[1:]}}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id               TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    group_id             TEXT,
    status               TEXT NOT NULL,
    config               TEXT NOT NULL,
    device               TEXT NOT NULL,
    versions             TEXT NOT NULL,
    created_at           TEXT NOT NULL,
    started_at           TEXT,
    finished_at          TEXT,
    message              TEXT,
    steps_done           INTEGER NOT NULL DEFAULT 0,
    total_steps          INTEGER,
    last_checkpoint_step INTEGER,
    last_checkpoint_path TEXT,
    owner                TEXT,
    owner_pid            INTEGER
);
CREATE INDEX IF NOT EXISTS runs_by_group ON runs (group_id);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status);
CREATE TABLE IF NOT EXISTS steps (
    run_id            TEXT NOT NULL,
    step              INTEGER NOT NULL,
    epoch             REAL,
    wall_seconds      REAL,
    train_loss        REAL,
    train_error       REAL,
    lr                REAL,
    images_per_second REAL,
    PRIMARY KEY (run_id, step)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS evals (
    run_id       TEXT NOT NULL,
    step         INTEGER NOT NULL,
    epoch        REAL,
    wall_seconds REAL,
    test_loss    REAL,
    test_error   REAL,
    PRIMARY KEY (run_id, step)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS layer_stats (
    run_id      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    step        INTEGER NOT NULL,
    layer_index INTEGER NOT NULL,
    layer       TEXT NOT NULL,
    value       REAL,
    PRIMARY KEY (run_id, kind, step, layer_index)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id     TEXT NOT NULL,
    step       INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    detail     TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id, step);
CREATE TABLE IF NOT EXISTS analysis_jobs (
    job_id     TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    params     TEXT NOT NULL,
    run_ids    TEXT NOT NULL,
    status     TEXT NOT NULL,
    fraction   REAL NOT NULL DEFAULT 0,
    message    TEXT,
    result     TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    owner      TEXT,
    owner_pid  INTEGER
);
CREATE INDEX IF NOT EXISTS analysis_jobs_by_kind ON analysis_jobs (kind, created_at);
"""

# Columns added after the first release: (table, column, SQL type). Old files gain them on open.
_ADDED_COLUMNS = (
    ("runs", "images_per_second", "REAL"),  # the latest training speed (progress, the Lab's cards)
    ("runs", "eta_seconds", "REAL"),  # the latest estimate of the time left
)

_INSERT_STEP = (
    "INSERT OR REPLACE INTO steps (run_id, step, epoch, wall_seconds, train_loss, train_error, lr,"
    " images_per_second) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_EVAL = (
    "INSERT OR REPLACE INTO evals (run_id, step, epoch, wall_seconds, test_loss, test_error)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_LAYER = (
    "INSERT OR REPLACE INTO layer_stats (run_id, kind, step, layer_index, layer, value)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_UPDATE_PROGRESS = (
    "UPDATE runs SET steps_done = ?, total_steps = COALESCE(?, total_steps),"
    " images_per_second = COALESCE(?, images_per_second), eta_seconds = COALESCE(?, eta_seconds) WHERE run_id = ?"
)
_INSERT_EVENT = "INSERT INTO events (run_id, step, kind, detail, created_at) VALUES (?, ?, ?, ?, ?)"


class RunNotFound(KeyError):
    """No run with this id (or the id is not a valid run id at all)."""

    def __init__(self, run_id: object) -> None:
        shown = str(run_id)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        self.run_id = run_id
        super().__init__(f"no run with id '{shown}'")

    def __str__(self) -> str:  # KeyError would add quotes around the message
        return str(self.args[0])


class StoreWriteError(OSError):
    """The disk refused the store's last commit (full, a quota, a size limit); rows stay buffered.

    ``error`` is what SQLite raised; ``resnet_edu.disk.describe_write_error`` turns either
    into the sentence a run ends with.
    """

    def __init__(self, error: BaseException, folder: pathlib.Path) -> None:
        self.error = error
        super().__init__(disk.describe_write_error(error, folder))
        self.__cause__ = error


def _is_busy(error: BaseException) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
    return "database is locked" in str(error) or "database table is locked" in str(error)


def _retry_busy(action: Callable[[], Any]) -> Any:
    """Run ``action``; while SQLite says "database is locked", wait and try again (``BUSY_RETRY_S``)."""
    deadline = time.monotonic() + BUSY_RETRY_S
    pause = 0.05
    while True:
        try:
            return action()
        except sqlite3.OperationalError as error:
            if not _is_busy(error) or time.monotonic() > deadline:
                raise
            logger.info("RunStore: the database is busy, trying again in %.2f s", pause)
            time.sleep(pause)
            pause = min(1.0, pause * 2)


def default_root() -> pathlib.Path:
    """The runs folder: ``$RESNET_EDU_RUNS_DIR``, or ``./runs``."""
    return pathlib.Path(os.environ.get("RESNET_EDU_RUNS_DIR", "runs"))


# ----------------------------------------------------------------------------- helpers

def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _float(x: Any) -> float | None:
    # float() also accepts numpy scalars and 0-d tensors, which sqlite3 cannot bind.
    # SQLite turns NaN into NULL by itself; inf is stored as inf.
    return None if x is None else float(x)


def _int(x: Any, what: str) -> int:
    if isinstance(x, bool) or not hasattr(x, "__index__"):
        if isinstance(x, float) and x.is_integer():
            return int(x)
        raise TypeError(f"{what} must be an integer, got {x!r}")
    return int(x.__index__())


def _check_text(value: Any, what: str, max_chars: int = MAX_NAME_CHARS) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, got {type(value).__name__}")
    if len(value) > max_chars:
        raise ValueError(f"{what} is {len(value)} characters long; at most {max_chars} are allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} is not valid unicode text: {exc}") from None
    return value


def _json_default(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if hasattr(obj, "item"):  # numpy / torch scalars
        try:
            return obj.item()
        except (TypeError, ValueError):
            pass
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, default=_json_default, ensure_ascii=False)


def _loads(text: str | None, empty: Any) -> Any:
    if text is None:
        return empty
    try:
        return json.loads(text)
    except ValueError:
        return empty


def _frame(rows: list, columns: list[str], dtypes: Mapping[str, str]) -> pd.DataFrame:
    """Rows (tuples, or dicts keyed by column) as a DataFrame, each column made with its dtype at once.

    (Building with ``from_records`` and then ``astype`` took twice as long: pages read the store
    on every refresh.)
    """
    if rows and isinstance(rows[0], Mapping):
        values = [[row[name] for row in rows] for name in columns]
    else:
        values = list(zip(*rows)) if rows else [()] * len(columns)
    return pd.DataFrame({name: pd.Series(column, dtype=dtypes.get(name)) for name, column in zip(columns, values)},
                        columns=columns)


_VERSIONS: dict[str, str] | None = None


def _versions() -> dict[str, str]:
    """Provenance stored with every run. Reads package metadata: never imports torch."""
    global _VERSIONS
    if _VERSIONS is None:
        v = {"python": platform.python_version(), "platform": platform.platform()}
        for pkg in ("torch", "torchvision"):
            try:
                v[pkg] = importlib.metadata.version(pkg)
            except importlib.metadata.PackageNotFoundError:
                pass
        _VERSIONS = v
    out = dict(_VERSIONS)
    torch = sys.modules.get("torch")  # only if the app already imported it
    cuda = getattr(getattr(torch, "version", None), "cuda", None)
    if cuda:
        out["cuda"] = str(cuda)
    return out


# --- which process owns a run ------------------------------------------------------
# A run is "owned" by the process that created it (or resumed it). On Linux the owner is
# identified by boot id + pid + process start time, so a recycled pid is not mistaken
# for the old owner; elsewhere by pid + a random token kept on the ``sys`` module (it
# survives a reload of this module, which Streamlit does when the file changes).

def _linux_identity(pid: int) -> str | None:
    try:
        boot = pathlib.Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if not fields or fields[0] in ("Z", "X"):  # zombie or dead: not running any more
        return None
    return f"{socket.gethostname()}:{boot}:{pid}:{fields[19]}"  # field 22: start time


def _own_identity() -> str:
    pid = os.getpid()
    cached = getattr(sys, "_resnet_edu_process_identity", None)
    if cached and cached[0] == pid:
        return cached[1]
    ident = _linux_identity(pid) or f"{socket.gethostname()}:{pid}:{secrets.token_hex(8)}"
    sys._resnet_edu_process_identity = (pid, ident)  # type: ignore[attr-defined]
    return ident


def _owner_alive(owner: str | None, pid: int | None) -> bool:
    """Whether the process that owns a run is still running (on this machine)."""
    if not owner or pid is None:
        return False
    if not owner.startswith(socket.gethostname() + ":"):
        return False  # another machine or container: cannot tell, treat as gone
    if sys.platform.startswith("linux"):
        return _linux_identity(pid) == owner
    if os.name == "posix":
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return False  # Windows: os.kill(pid, 0) would terminate the process


# ----------------------------------------------------------------------------- store

def _flusher(ref: weakref.ReferenceType, stop: threading.Event) -> None:
    """Background thread: commit buffered rows every FLUSH_INTERVAL_S seconds."""
    told_disk_failure = False
    while not stop.wait(FLUSH_INTERVAL_S):
        store = ref()
        if store is None:
            return
        try:
            store.flush()
            told_disk_failure = False
        except Exception as error:  # keep going; the rows stay buffered and are retried
            if not disk.is_write_failure(error):
                logger.exception("RunStore: background commit failed")
            elif not told_disk_failure:  # once, not four times a second while the disk is full
                logger.error("RunStore: %s", disk.describe_write_error(error, store.root))
                told_disk_failure = True
        del store


class RunStore:
    """Runs, metrics, events and checkpoints on SQLite (WAL). Thread-safe.

    Args:
        root: folder of ``runs.sqlite`` and ``checkpoints/``; default
            ``$RESNET_EDU_RUNS_DIR`` or ``./runs``. Created if missing.

    Opening a store marks runs left ``running``/``queued`` by a process that no longer
    exists as ``interrupted`` (and logs an ``interrupted`` event for each).
    """

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = pathlib.Path(root) if root is not None else default_root()
        self.root.mkdir(parents=True, exist_ok=True)
        self.db_path = self.root / "runs.sqlite"
        self._owner = _own_identity()
        self._local = threading.local()
        self._conns: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._conns_lock = threading.Lock()
        self._lock = threading.Lock()  # guards the buffers below
        self._flush_lock = threading.RLock()  # one commit at a time: batches land in order
        self._steps: list[tuple] = []
        self._evals: list[tuple] = []
        self._layers: list[tuple] = []
        self._progress: dict[str, tuple[int, int | None, float | None, float | None]] = {}
        self._pending = 0
        self._known: set[str] = set()  # run ids seen to exist (skips a query per log call)
        self._deleted: set[str] = set()  # deleted here: late logs from workers are dropped
        self._closed = False
        self._stop = threading.Event()
        self._flusher_thread: threading.Thread | None = None
        self.write_error: BaseException | None = None  # the disk refused the last commit
        self.damage_report: str | None = None  # set when a damaged file was set aside at open
        self._open_checked()
        self._reserve = disk.SpaceReserve(self.root)
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

    # ------------------------------------------------------------------ connections
    def _open_checked(self) -> None:
        """Create or open the schema, check the file, and set a damaged one aside (see store_repair)."""
        try:
            full = store_repair.needs_full_check(self.db_path)
            self._init_schema()
            problem = store_repair.quick_check(self._conn(), full=full)
        except sqlite3.DatabaseError as exc:
            if not store_repair.is_damage(exc):
                self._close_connections()
                raise sqlite3.DatabaseError(f"cannot open the run store {self.db_path}: {exc}") from exc
            problem = str(exc)
        if problem is None:
            return
        self._close_connections()
        self.damage_report = store_repair.set_aside_and_salvage(self.db_path, problem, self._init_schema,
                                                                self._connect)
        logger.warning("RunStore: %s", self.damage_report)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False,
                               isolation_level=None)
        _retry_busy(lambda: conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}"))
        _retry_busy(lambda: conn.execute("PRAGMA journal_mode=WAL"))
        _retry_busy(lambda: conn.execute("PRAGMA synchronous=NORMAL"))
        return conn

    def _conn(self) -> sqlite3.Connection:
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
        conn = self._conn()
        _retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))  # the wait is here, before any work
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    def _init_schema(self) -> None:
        conn = self._conn()
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            logger.warning("RunStore: %s is in journal mode %r, not WAL", self.db_path, mode)

        def work(c: sqlite3.Connection) -> None:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    c.execute(statement)
            for table, column, kind in _ADDED_COLUMNS:
                if column not in {row[1] for row in c.execute(f"PRAGMA table_info({table})")}:
                    c.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            if c.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                c.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

        self._transaction(work)

    def _mark_interrupted(self) -> list[str]:
        """Runs left running/queued by a process that is gone become 'interrupted'."""

        def work(c: sqlite3.Connection) -> list[str]:
            rows = c.execute(
                "SELECT run_id, status, owner, owner_pid, steps_done FROM runs"
                " WHERE status IN ('running', 'queued')"
            ).fetchall()
            marked = []
            now = _now()
            for run_id, status, owner, pid, steps_done in rows:
                if owner == self._owner or _owner_alive(owner, pid):
                    continue
                last = c.execute("SELECT MAX(step) FROM steps WHERE run_id = ?", (run_id,)).fetchone()[0]
                step = max(steps_done or 0, last if last is not None else 0)
                message = f"the app stopped while this run was {status}"
                c.execute(
                    "UPDATE runs SET status = 'interrupted', finished_at = ?, message = ? WHERE run_id = ?",
                    (now, message, run_id),
                )
                c.execute(
                    _INSERT_EVENT,
                    (run_id, step, "interrupted", _dumps({"previous_status": status, "reason": message}), now),
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
                    store_repair.remember_clean_close(store.db_path)

        return flush_at_exit

    # ------------------------------------------------------------------ validation
    def _check_id(self, run_id: Any) -> str:
        if not isinstance(run_id, str) or not _RUN_ID_RE.fullmatch(run_id):
            raise RunNotFound(run_id)
        return run_id

    def _require_run(self, run_id: Any) -> str:
        run_id = self._check_id(run_id)
        if run_id in self._known:
            return run_id
        row = self._query("SELECT 1 FROM runs WHERE run_id = ?", (run_id,))
        if not row:
            raise RunNotFound(run_id)
        self._known.add(run_id)
        return run_id

    def _accepts_logs(self, run_id: Any) -> bool:
        """For the hot logging path: False for a run deleted by this process (drop silently)."""
        if run_id in self._known:
            return True
        if run_id in self._deleted:
            return False
        self._require_run(run_id)
        return True

    def has_run(self, run_id: Any) -> bool:
        """Whether a run with this id exists (never raises)."""
        try:
            self._require_run(run_id)
        except RunNotFound:
            return False
        return True

    # ------------------------------------------------------------------ buffering
    def _buffer(self, attr: str, rows: list[tuple]) -> None:
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        failure = self.write_error
        if failure is not None:
            # Keep what is buffered (retried in the background, committed once there is space)
            # and tell the training loop now, so its run ends with a reason instead of
            # growing an unwritable backlog.
            raise StoreWriteError(failure, self.root)
        with self._lock:
            # Look the list up under the lock: a commit may have just swapped it out.
            getattr(self, attr).extend(rows)
            self._pending += len(rows)
            backlog = self._pending >= MAX_PENDING_ROWS
        self._ensure_flusher()
        if backlog:
            self.flush()

    def _ensure_flusher(self) -> None:
        if self._flusher_thread is None:
            with self._lock:
                if self._flusher_thread is None and not self._closed:
                    t = threading.Thread(
                        target=_flusher, args=(weakref.ref(self), self._stop),
                        name="RunStore-flusher", daemon=True,
                    )
                    t.start()
                    self._flusher_thread = t

    def _take_pending(self) -> tuple[list, list, list, dict]:
        with self._lock:
            batch = (self._steps, self._evals, self._layers, self._progress)
            self._steps, self._evals, self._layers, self._progress = [], [], [], {}
            self._pending = 0
        return batch

    def _requeue(self, batch: tuple[list, list, list, dict]) -> None:
        steps, evals, layers, progress = batch
        with self._lock:
            self._steps = steps + self._steps
            self._evals = evals + self._evals
            self._layers = layers + self._layers
            progress.update(self._progress)  # newer progress wins
            self._progress = progress
            self._pending += len(steps) + len(evals) + len(layers) + len(progress)

    def _commit(self, work: Callable[[sqlite3.Connection], Any] | None = None) -> Any:
        """Commit everything buffered, then ``work``, in one transaction, in order."""
        with self._flush_lock:
            if work is None and not self._pending:
                return None
            batch = self._take_pending()
            steps, evals, layers, progress = batch

            batch_written = False

            def write(c: sqlite3.Connection) -> Any:
                nonlocal batch_written
                if steps:
                    c.executemany(_INSERT_STEP, steps)
                if evals:
                    c.executemany(_INSERT_EVAL, evals)
                if layers:
                    c.executemany(_INSERT_LAYER, layers)
                if progress:
                    c.executemany(_UPDATE_PROGRESS, [(*numbers, r) for r, numbers in progress.items()])
                batch_written = True
                return work(c) if work is not None else None

            try:
                result = self._transaction(write)
            except BaseException as exc:
                if disk.is_write_failure(exc):
                    return self._commit_after_write_failure(exc, batch, work)
                # The transaction was rolled back. Keep the buffered rows for the next commit
                # when the database was busy or ``work`` failed (e.g. an unknown run); drop
                # them only if they themselves cannot be written, or every commit would fail.
                if batch_written or isinstance(exc, (sqlite3.OperationalError, KeyboardInterrupt)):
                    self._requeue(batch)
                else:
                    logger.error("RunStore: dropped %d buffered rows that cannot be written: %s",
                                 len(steps) + len(evals) + len(layers) + len(progress), exc)
                raise
            self.write_error = None
            return result

    def _commit_after_write_failure(self, exc: BaseException, batch: tuple, work: Callable | None) -> Any:
        """The disk refused a commit: keep the rows for later, and still try ``work`` on its own.

        A status change (e.g. the run ending ``failed`` because of this very error) is a few
        hundred bytes and often fits where a batch of metrics did not. Call with the flush lock held.
        """
        self.write_error = exc
        self._requeue(batch)
        if work is None:
            raise exc
        for attempt in range(2):
            if attempt == 1 and not self._reserve.release():
                break
            try:
                return self._transaction(work)
            except BaseException as again:
                if not disk.is_write_failure(again):
                    raise
        raise exc

    def flush(self) -> None:
        """Commit everything buffered so far (no-op when nothing is)."""
        if self._pending:
            self._commit()

    def _flush_for_read(self) -> None:
        # A page must still see what is committed even if this commit has to wait or fails
        # (the rows stay buffered and the background thread retries them).
        try:
            self.flush()
        except (sqlite3.OperationalError, StoreWriteError) as exc:
            logger.warning("RunStore: could not commit buffered rows before a read: %s", exc)

    def close(self) -> None:
        """Commit what is buffered, stop the background thread, close connections."""
        if self._closed:
            return
        try:
            self.flush()
        except Exception as error:
            if not disk.is_write_failure(error):
                raise
            # Nothing more can be done for rows the disk will not take; what was committed stays.
            logger.error("RunStore: closing without %d buffered rows: %s", self._pending,
                         disk.describe_write_error(error, self.root))
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
                store_repair.remember_clean_close(self.db_path)

    # ------------------------------------------------------------------ runs
    def create_run(
        self,
        name: str,
        config: Mapping[str, Any] | Any,
        *,
        group_id: str | None = None,
        device: str = "cpu",
        total_steps: int | None = None,
        status: str = "queued",
    ) -> str:
        """Create a run and return its new id (``"r"`` + 8 hex digits).

        Args:
            name: any unicode text up to 200 characters; empty means "use the id".
            config: the training settings, a dict (or a dataclass), stored as JSON.
            group_id: runs created together to be compared (e.g. plain vs residual).
            device: where it trains, e.g. ``"cpu"`` or ``"cuda:0"``.
            total_steps: planned number of steps, if known.
            status: ``"queued"`` (default) or any of ``RUN_STATUSES``.
        """
        name = _check_text(name, "run name").strip()
        if dataclasses.is_dataclass(config) and not isinstance(config, type):
            config = dataclasses.asdict(config)
        if not isinstance(config, Mapping):
            raise TypeError(f"config must be a dict, got {type(config).__name__}")
        config_json = _dumps(dict(config))
        if group_id is not None:
            group_id = _check_text(group_id, "group id")
        device = _check_text(device, "device", 64)
        if total_steps is not None:
            total_steps = _int(total_steps, "total_steps")
        self._check_status(status)
        versions = _dumps(_versions())
        now = _now()
        started = now if status == "running" else None
        finished = now if status in ENDED_STATUSES else None
        while True:
            run_id = "r" + secrets.token_hex(4)

            def work(c: sqlite3.Connection, run_id: str = run_id) -> None:
                c.execute(
                    "INSERT INTO runs (run_id, name, group_id, status, config, device, versions, created_at,"
                    " started_at, finished_at, total_steps, owner, owner_pid)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (run_id, name or run_id, group_id, status, config_json, device, versions, now,
                     started, finished, total_steps, self._owner, os.getpid()),
                )

            try:
                self._commit(work)
            except sqlite3.IntegrityError:  # id collision: 1 in 4 billion, draw again
                continue
            self._known.add(run_id)
            return run_id

    @staticmethod
    def _check_status(status: Any) -> str:
        if status not in RUN_STATUSES:
            raise ValueError(f"unknown run status {status!r}; allowed: {', '.join(RUN_STATUSES)}")
        return status

    def _run_row_to_dict(self, row: sqlite3.Row | tuple) -> dict[str, Any]:
        d = dict(zip(RUN_COLUMNS, row))
        d["config"] = _loads(d["config"], {})
        d["versions"] = _loads(d["versions"], {})
        return d

    _RUN_SELECT = "SELECT " + ", ".join(RUN_COLUMNS) + " FROM runs"

    def get_run(self, run_id: str) -> dict[str, Any]:
        """One run as a dict (keys: ``RUN_COLUMNS``); config and versions parsed."""
        self._check_id(run_id)
        self._flush_for_read()
        rows = self._query(self._RUN_SELECT + " WHERE run_id = ?", (run_id,))
        if not rows:
            raise RunNotFound(run_id)
        self._known.add(run_id)
        return self._run_row_to_dict(rows[0])

    def list_runs(self, group_id: str | None = None) -> pd.DataFrame:
        """All runs (or one group's), newest first, columns ``RUN_COLUMNS``."""
        self._flush_for_read()
        sql, args = self._RUN_SELECT, ()
        if group_id is not None:
            sql, args = sql + " WHERE group_id = ?", (group_id,)
        rows = self._query(sql + " ORDER BY created_at DESC, rowid DESC", args)
        return _frame([self._run_row_to_dict(r) for r in rows], RUN_COLUMNS, _RUN_DTYPES)

    def run_menu(self) -> list[tuple[str, str, str | None, str, str]]:
        """(run_id, name, group_id, status, created_at) of every run, newest first.

        What a run picker shows, and cheap enough to ask on every page re-run (no config
        parsing, no DataFrame): equal answers mean a menu built from the last one still holds.
        """
        return [tuple(row) for row in self._read(
            "SELECT run_id, name, group_id, status, created_at FROM runs ORDER BY created_at DESC, rowid DESC", ())]

    def set_status(self, run_id: str, status: str, message: str | None = None) -> None:
        """Change a run's status; committed at once, after everything buffered.

        ``running`` sets ``started_at`` (first time only) and makes this process the run's
        owner; an ending status sets ``finished_at``. ``message`` (e.g. why it failed)
        replaces the old one; going back to running/queued clears an old message.
        """
        self._check_id(run_id)
        self._check_status(status)
        if message is not None:  # often an exception's text: never refuse it, trim it
            message = str(message)[:MAX_MESSAGE_CHARS].encode("utf-8", "replace").decode("utf-8")
        now = _now()
        if status in ACTIVE_STATUSES:
            sql = (
                "UPDATE runs SET status = ?, message = ?, finished_at = NULL, owner = ?, owner_pid = ?,"
                " started_at = CASE WHEN ? = 'running' THEN COALESCE(started_at, ?) ELSE started_at END"
                " WHERE run_id = ?"
            )
            args: tuple = (status, message, self._owner, os.getpid(), status, now, run_id)
        else:
            sql = "UPDATE runs SET status = ?, message = COALESCE(?, message), finished_at = ? WHERE run_id = ?"
            args = (status, message, now, run_id)

        def work(c: sqlite3.Connection) -> int:
            return c.execute(sql, args).rowcount

        if not self._commit(work):
            raise RunNotFound(run_id)
        self._known.add(run_id)

    def set_progress(self, run_id: str, steps_done: int, total_steps: int | None = None, *,
                     images_per_second: float | None = None, eta_seconds: float | None = None) -> None:
        """Record how far a run is (buffered; a None keeps the old value of total, speed or ETA)."""
        self._check_id(run_id)
        steps_done = _int(steps_done, "steps_done")
        if total_steps is not None:
            total_steps = _int(total_steps, "total_steps")
        if not self._accepts_logs(run_id):
            return
        with self._lock:
            if run_id not in self._progress:
                self._pending += 1
            previous = self._progress.get(run_id, (0, None, None, None))
            self._progress[run_id] = (
                steps_done,
                total_steps if total_steps is not None else previous[1],
                _float(images_per_second) if images_per_second is not None else previous[2],
                _float(eta_seconds) if eta_seconds is not None else previous[3],
            )
        self._ensure_flusher()

    def statuses(self, run_ids: Iterable[str]) -> dict[str, str]:
        """{run_id: status} of the given runs that exist; one query, cheap enough for every page re-run."""
        run_ids = [self._check_id(r) for r in run_ids]
        if not run_ids:
            return {}
        self._flush_for_read()
        marks = ",".join("?" * len(run_ids))
        return dict(self._read(f"SELECT run_id, status FROM runs WHERE run_id IN ({marks})", run_ids))

    def rename_run(self, run_id: str, name: str) -> None:
        """Give a run a new name (any unicode text up to 200 characters)."""
        self._check_id(run_id)
        name = _check_text(name, "run name").strip() or run_id

        def work(c: sqlite3.Connection) -> int:
            return c.execute("UPDATE runs SET name = ? WHERE run_id = ?", (name, run_id)).rowcount

        if not self._commit(work):
            raise RunNotFound(run_id)

    def delete_run(self, run_id: str) -> None:
        """Delete a run: its rows in every table and its checkpoint folder.

        A worker still logging to it afterwards (in this process) is ignored, not an error.
        """
        self._check_id(run_id)
        with self._flush_lock:
            with self._lock:
                self._steps = [r for r in self._steps if r[0] != run_id]
                self._evals = [r for r in self._evals if r[0] != run_id]
                self._layers = [r for r in self._layers if r[0] != run_id]
                self._progress.pop(run_id, None)
                self._pending = len(self._steps) + len(self._evals) + len(self._layers) + len(self._progress)

            def work(c: sqlite3.Connection) -> int:
                for table in ("steps", "evals", "layer_stats", "events"):
                    c.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
                return c.execute("DELETE FROM runs WHERE run_id = ?", (run_id,)).rowcount

            found = self._commit(work)
            self._known.discard(run_id)
            if found:
                self._deleted.add(run_id)
        folder = self._checkpoint_path(run_id)
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
        if not found:
            raise RunNotFound(run_id)

    # ------------------------------------------------------------------ a term of runs: prune, archive
    def prune_candidates(self, older_than_days: float | None = None, keep_last: int | None = None) -> list[str]:
        """Ended runs that may go: created more than ``older_than_days`` ago and not among the
        newest ``keep_last`` runs (both conditions when both are given). Running runs never.

        Args:
            older_than_days: only runs created before now minus this many days.
            keep_last: always keep this many of the newest runs (of any status).
        """
        if older_than_days is None and keep_last is None:
            raise ValueError("say which runs: older_than_days, keep_last or both")
        rows = self._read("SELECT run_id, status, created_at FROM runs ORDER BY created_at DESC, rowid DESC", ())
        if keep_last is not None:
            rows = rows[max(0, _int(keep_last, "keep_last")):]
        if older_than_days is not None:
            cutoff = datetime.now(timezone.utc).timestamp() - float(older_than_days) * 86400
            rows = [r for r in rows if datetime.fromisoformat(r[2]).timestamp() < cutoff]
        return [run_id for run_id, status, _ in rows if status in ENDED_STATUSES]

    def archive_runs(self, run_ids: Iterable[str], folder: str | os.PathLike | None = None) -> pathlib.Path:
        """Move ended runs into an archive store, then delete them here.

        The archive is a runs folder of its own (``runs.sqlite`` + ``checkpoints/``), by default
        ``<root>/archive/<UTC time>/``: open it with ``RESNET_EDU_RUNS_DIR=<that folder>`` to look
        at the old runs again. Rows are copied and committed there before anything is deleted here.
        Space freed in ``runs.sqlite`` is reused by new runs (``compact()`` shrinks the file).

        Raises:
            ValueError: a run is still queued or running.
        """
        ids = list(dict.fromkeys(self._require_run(r) for r in run_ids))
        if not ids:
            raise ValueError("no runs to archive")
        marks = ", ".join("?" * len(ids))
        active = self._read(f"SELECT run_id FROM runs WHERE run_id IN ({marks}) AND status IN ('queued', 'running')",
                            ids)
        if active:
            raise ValueError(f"run {active[0][0]} is still training: stop it first")
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        target = pathlib.Path(folder) if folder is not None else self.root / "archive" / stamp
        archive = RunStore(target)  # creates the same schema; closed before we attach it
        archive._reserve.release()  # nothing trains there
        archive.close()
        conn = self._conn()
        _retry_busy(lambda: conn.execute("ATTACH DATABASE ? AS archive", (str(archive.db_path),)))
        try:
            def copy(c: sqlite3.Connection) -> None:
                for table in ("runs", "steps", "evals", "layer_stats", "events"):
                    # Columns by name (both sides may have been migrated in a different order).
                    here = [r[1] for r in c.execute(f"PRAGMA main.table_info({table})")]
                    there = {r[1] for r in c.execute(f"PRAGMA archive.table_info({table})")}
                    names = ", ".join(n for n in here if n in there and not (table == "events" and n == "id"))
                    order = " ORDER BY id" if table == "events" else ""
                    c.execute(f"INSERT OR REPLACE INTO archive.{table} ({names}) SELECT {names} FROM main.{table}"
                              f" WHERE run_id IN ({marks}){order}", ids)

            self._transaction(copy)
        finally:
            conn.execute("DETACH DATABASE archive")
        for run_id in ids:
            source = self._checkpoint_path(run_id)
            if source.is_dir():
                destination = target / "checkpoints" / run_id
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(source), str(destination))
        self.delete_runs(ids)
        return target

    def delete_runs(self, run_ids: Iterable[str]) -> int:
        """Delete many runs (rows and checkpoints) in one transaction; returns how many existed."""
        ids = list(dict.fromkeys(self._check_id(r) for r in run_ids))
        if not ids:
            return 0
        with self._flush_lock:
            with self._lock:
                gone = set(ids)
                self._steps = [r for r in self._steps if r[0] not in gone]
                self._evals = [r for r in self._evals if r[0] not in gone]
                self._layers = [r for r in self._layers if r[0] not in gone]
                for run_id in ids:
                    self._progress.pop(run_id, None)
                self._pending = len(self._steps) + len(self._evals) + len(self._layers) + len(self._progress)
            marks = ", ".join("?" * len(ids))

            def work(c: sqlite3.Connection) -> int:
                for table in ("steps", "evals", "layer_stats", "events"):
                    c.execute(f"DELETE FROM {table} WHERE run_id IN ({marks})", ids)
                return c.execute(f"DELETE FROM runs WHERE run_id IN ({marks})", ids).rowcount

            found = self._commit(work)
            self._known.difference_update(ids)
            self._deleted.update(ids)
        for run_id in ids:
            shutil.rmtree(self._checkpoint_path(run_id), ignore_errors=True)
        return found

    def compact(self) -> tuple[int, int]:
        """Shrink ``runs.sqlite`` to what it holds (SQLite's VACUUM); returns (bytes before, after).

        Needs free space about the size of the file, and holds every writer back while it
        runs (seconds per 100 MB): do it when nothing trains.
        """
        before = self.db_path.stat().st_size
        self.flush()
        conn = self._conn()
        _retry_busy(lambda: conn.execute("VACUUM"))
        _retry_busy(lambda: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
        return before, self.db_path.stat().st_size

    # ------------------------------------------------------------------ time series (buffered)
    def log_step(
        self,
        run_id: str,
        step: int,
        *,
        epoch: float,
        wall_seconds: float,
        train_loss: float,
        train_error: float,
        lr: float,
        images_per_second: float | None,
    ) -> None:
        """Buffer one training step (committed within 0.25 s). inf/NaN losses are fine."""
        row = (run_id, _int(step, "step"), _float(epoch), _float(wall_seconds), _float(train_loss),
               _float(train_error), _float(lr), _float(images_per_second))
        if self._accepts_logs(run_id):
            self._buffer("_steps", [row])

    def log_eval(
        self,
        run_id: str,
        step: int,
        *,
        epoch: float,
        wall_seconds: float,
        test_loss: float,
        test_error: float,
    ) -> None:
        """Buffer one test-set evaluation made after training step ``step``."""
        row = (run_id, _int(step, "step"), _float(epoch), _float(wall_seconds), _float(test_loss),
               _float(test_error))
        if self._accepts_logs(run_id):
            self._buffer("_evals", [row])

    def log_layer_stats(self, run_id: str, step: int, kind: str, values: Mapping[str, float]) -> None:
        """Buffer one value per layer, e.g. ``kind="grad_norm"``, ``{"layer1.0.conv1": 0.3, ...}``.

        The dict's order is kept (as ``layer_index``): pass layers in depth order.
        """
        step = _int(step, "step")
        kind = _check_text(kind, "layer stat kind", 64)
        rows = [(run_id, kind, step, i, str(layer), _float(v)) for i, (layer, v) in enumerate(values.items())]
        if rows and self._accepts_logs(run_id):
            self._buffer("_layers", rows)

    def log_event(self, run_id: str, step: int, kind: str, detail: Mapping[str, Any] | None = None) -> None:
        """Record an event at a step; committed at once (with everything buffered before it).

        Kinds used by the app: ``EVENT_KINDS``; e.g. ``shortcuts_toggled`` with detail
        ``{"enabled": False, "stages": [1, 2] or None}``.
        """
        step = _int(step, "step")
        kind = _check_text(kind, "event kind", 64)
        if detail is not None and not isinstance(detail, Mapping):
            raise TypeError(f"event detail must be a dict or None, got {type(detail).__name__}")
        detail_json = _dumps(dict(detail or {}))
        if not self._accepts_logs(run_id):
            return
        row = (run_id, step, kind, detail_json, _now())
        self._commit(lambda c: c.execute(_INSERT_EVENT, row))

    def discard_after(self, run_id: str, step: int) -> None:
        """Delete steps, evals and layer stats after ``step`` (resuming from a checkpoint).

        Events are kept: they are the history of what happened to the run.
        """
        self._require_run(run_id)
        step = _int(step, "step")

        def work(c: sqlite3.Connection) -> None:
            for table in ("steps", "evals", "layer_stats"):
                c.execute(f"DELETE FROM {table} WHERE run_id = ? AND step > ?", (run_id, step))

        self._commit(work)

    # ------------------------------------------------------------------ reads
    def _read(self, sql: str, args: Iterable[Any]) -> list[tuple]:
        self._flush_for_read()
        return self._query(sql, args)

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[tuple]:
        conn, args = self._conn(), tuple(args)
        return _retry_busy(lambda: conn.execute(sql, args).fetchall())

    def steps(self, run_id: str, since_step: int = -1) -> pd.DataFrame:
        """Training steps with ``step > since_step``, sorted by step (columns ``STEP_COLUMNS``)."""
        self._require_run(run_id)
        rows = self._read(
            "SELECT " + ", ".join(STEP_COLUMNS) + " FROM steps WHERE run_id = ? AND step > ? ORDER BY step",
            (run_id, _int(since_step, "since_step")),
        )
        return _frame(rows, STEP_COLUMNS, _STEP_DTYPES)

    def evals(self, run_id: str, since_step: int = -1) -> pd.DataFrame:
        """Evaluations with ``step > since_step``, sorted by step (columns ``EVAL_COLUMNS``)."""
        self._require_run(run_id)
        rows = self._read(
            "SELECT " + ", ".join(EVAL_COLUMNS) + " FROM evals WHERE run_id = ? AND step > ? ORDER BY step",
            (run_id, _int(since_step, "since_step")),
        )
        return _frame(rows, EVAL_COLUMNS, _EVAL_DTYPES)

    def layer_stats(self, run_id: str, kind: str) -> pd.DataFrame:
        """Per-layer values of one kind: step, layer, layer_index, value (by step, then depth)."""
        self._require_run(run_id)
        rows = self._read(
            "SELECT step, layer, layer_index, value FROM layer_stats WHERE run_id = ? AND kind = ?"
            " ORDER BY step, layer_index",
            (run_id, kind),
        )
        return _frame(rows, LAYER_COLUMNS, _LAYER_DTYPES)

    def layer_stat_kinds(self, run_id: str) -> list[str]:
        """Which kinds of layer stats a run has (e.g. ``["grad_norm", "response_std"]``)."""
        self._require_run(run_id)
        rows = self._read("SELECT DISTINCT kind FROM layer_stats WHERE run_id = ? ORDER BY kind", (run_id,))
        return [r[0] for r in rows]

    def events(self, run_id: str) -> pd.DataFrame:
        """Events sorted by step (then time): step, kind, detail (dict), created_at."""
        self._require_run(run_id)
        rows = self._read(
            "SELECT step, kind, detail, created_at FROM events WHERE run_id = ? ORDER BY step, id", (run_id,)
        )
        rows = [(s, k, _loads(d, {}), t) for s, k, d, t in rows]
        return _frame(rows, EVENT_COLUMNS, _EVENT_DTYPES)

    def versions(self, run_ids: Iterable[str]) -> dict[str, tuple]:
        """For each existing run: (status, name, last step, evaluations, events, last event id).

        Cheap (primary-key and index lookups only) and different whenever anything a chart
        of the run draws has changed: the key for caching what is built from a run.
        """
        ids = list(dict.fromkeys(self._check_id(r) for r in run_ids))
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        rows = self._read(
            "SELECT r.run_id, r.status, r.name,"
            " (SELECT MAX(step) FROM steps s WHERE s.run_id = r.run_id),"
            " (SELECT COUNT(*) FROM evals e WHERE e.run_id = r.run_id),"
            " (SELECT COUNT(*) FROM events v WHERE v.run_id = r.run_id),"
            " (SELECT MAX(id) FROM events v WHERE v.run_id = r.run_id)"
            f" FROM runs r WHERE r.run_id IN ({marks})", ids)
        return {row[0]: tuple(row[1:]) for row in rows}

    def steps_for_runs(
        self, run_ids: Iterable[str], since_step: int = -1, max_points: int | None = None
    ) -> pd.DataFrame:
        """Steps of several runs, with a ``run_id`` column, sorted by run (given order), then step.

        Args:
            run_ids: runs to read; ids that do not exist (any more) just give no rows,
                malformed ids raise ``RunNotFound``.
            since_step: only steps after this one.
            max_points: at most this many rows per run, evenly spaced; the first and the
                last point are always kept.
        """
        ids = list(dict.fromkeys(self._check_id(r) for r in run_ids))
        columns = ["run_id"] + STEP_COLUMNS
        if not ids:
            return _frame([], columns, _STEP_DTYPES)
        since = _int(since_step, "since_step")
        cols = ", ".join(STEP_COLUMNS)
        marks = ", ".join("?" * len(ids))
        if max_points is None:
            sql = f"SELECT run_id, {cols} FROM steps WHERE run_id IN ({marks}) AND step > ?"
            args: list[Any] = [*ids, since]
        else:
            m = _int(max_points, "max_points")
            if m < 1:
                raise ValueError(f"max_points must be at least 1, got {m}")
            # Row i of n (b = n - 1) is kept when it is the nearest-below row of one of m
            # evenly spaced targets floor(k * b / (m - 1)), k = 0 .. m - 1: exactly m rows,
            # the first and the last among them. Done in SQL so only kept rows travel.
            keep = "i = b" if m == 1 else "((((i * ? + b - 1) / b) * b) / ?) = i"
            sql = (
                f"WITH t AS (SELECT run_id, {cols},"
                " ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY step) - 1 AS i,"
                " COUNT(*) OVER (PARTITION BY run_id) - 1 AS b"
                f" FROM steps WHERE run_id IN ({marks}) AND step > ?)"
                f" SELECT run_id, {cols} FROM t WHERE b < ? OR {keep}"
            )
            args = [*ids, since, m]
            if m > 1:
                args += [m - 1, m - 1]
        if max_points is not None and m > 1:
            rows, rest = self._sampled_contiguous(ids, since, m, cols)
            if rest:  # runs with gaps (a resumed attempt, a deleted range): the general query
                marks = ", ".join("?" * len(rest))
                sql = sql.replace(f"run_id IN ({', '.join('?' * len(ids))})", f"run_id IN ({marks})")
                rows += self._read(sql, [*rest, since, m, m - 1, m - 1])
        else:
            rows = self._read(sql, args)
        df = _frame(rows, columns, _STEP_DTYPES)
        order = {r: i for i, r in enumerate(ids)}
        df = df.sort_values(["run_id", "step"], key=lambda s: s.map(order) if s.name == "run_id" else s,
                            kind="stable")
        return df.reset_index(drop=True)

    def step_range(self, run_id: str, since_step: int = -1) -> tuple[int | None, int | None]:
        """(first, last) logged step after ``since_step``, or (None, None): two primary-key lookups."""
        self._require_run(run_id)
        first, last = self._read("SELECT MIN(step), MAX(step) FROM steps WHERE run_id = ? AND step > ?",
                                 (run_id, _int(since_step, "since_step")))[0]
        return first, last

    def step_blocks(self, run_id: str, stride: int, since_step: int = -1) -> pd.DataFrame:
        """Training steps summed per block of ``stride`` iterations, in SQL: a long curve, drawn.

        One row per ``bucket = step // stride``: the block's last ``step`` (and its epoch,
        wall_seconds, lr), and sums and counts of the training error, the finite losses and
        the images per second. Means over any set of blocks stay exact: a chart of a
        64,000-iteration run gets ~500 rows instead of 64,000.

        Args:
            run_id: the run.
            stride: iterations per block (1 or more).
            since_step: only steps after this one.
        """
        self._require_run(run_id)
        stride = _int(stride, "stride")
        if stride < 1:
            raise ValueError(f"stride must be at least 1, got {stride}")
        # With exactly one max() aggregate, SQLite takes the bare columns (epoch, wall_seconds,
        # lr) from the row holding the maximum: the block's last iteration.
        finite = "ABS(train_loss) < 1e308"  # NULL (a NaN) and inf are left out, as in the mean
        rows = self._read(
            "SELECT step / ? AS bucket, MAX(step), epoch, wall_seconds, lr,"
            " TOTAL(train_error), COUNT(train_error),"
            f" TOTAL(CASE WHEN {finite} THEN train_loss END), COUNT(CASE WHEN {finite} THEN 1 END),"
            " TOTAL(images_per_second), COUNT(images_per_second)"
            " FROM steps WHERE run_id = ? AND step > ? GROUP BY bucket ORDER BY bucket",
            (stride, run_id, _int(since_step, "since_step")))
        return _frame(rows, BLOCK_COLUMNS, _BLOCK_DTYPES)

    def _sampled_contiguous(self, ids: list[str], since: int, m: int, cols: str) -> tuple[list[tuple], list[str]]:
        """The rows ``steps_for_runs(max_points=m)`` keeps, for runs whose steps have no gaps.

        Row i of such a run is simply step ``first + i``, so the m kept rows are fetched by
        primary key (m lookups) instead of numbering every row of a 64,000-iteration run.
        Returns (rows, ids of the runs that have gaps: left to the general query).
        """
        self._flush_for_read()
        rows: list[tuple] = []
        rest: list[str] = []
        for run_id in ids:
            first, last, n = self._query(
                "SELECT MIN(step), MAX(step), COUNT(*) FROM steps WHERE run_id = ? AND step > ?", (run_id, since))[0]
            if n == 0:
                continue
            if last - first + 1 != n:
                rest.append(run_id)
                continue
            b = n - 1
            wanted = sorted({first + (k * b) // (m - 1) for k in range(m)}) if b >= m else None
            if wanted is None:
                rows += self._query(f"SELECT run_id, {cols} FROM steps WHERE run_id = ? AND step > ?", (run_id, since))
                continue
            for start in range(0, len(wanted), 900):  # SQLite's limit on bound values, with room
                chunk = wanted[start:start + 900]
                rows += self._query(f"SELECT run_id, {cols} FROM steps WHERE run_id = ? AND step IN"
                                    f" ({', '.join('?' * len(chunk))})", (run_id, *chunk))
        return rows, rest

    def export_frame(self, run_id: str) -> pd.DataFrame:
        """One row per logged step, with test loss/error where an evaluation was made.

        Evaluations at a step that has no step row get their own row, so nothing is lost.
        """
        self._require_run(run_id)
        s_cols = ", ".join(f"s.{c}" for c in STEP_COLUMNS)
        sql = (
            f"SELECT {s_cols}, e.test_loss, e.test_error FROM steps s"
            " LEFT JOIN evals e ON e.run_id = s.run_id AND e.step = s.step WHERE s.run_id = ?"
            " UNION ALL"
            " SELECT e.step, e.epoch, e.wall_seconds, NULL, NULL, NULL, NULL, e.test_loss, e.test_error"
            " FROM evals e WHERE e.run_id = ?"
            " AND NOT EXISTS (SELECT 1 FROM steps s WHERE s.run_id = e.run_id AND s.step = e.step)"
            " ORDER BY 1"
        )
        return _frame(self._read(sql, (run_id, run_id)), EXPORT_COLUMNS, _EXPORT_DTYPES)

    def export_csv(self, run_id: str, path: str | os.PathLike | None = None) -> str:
        """The run's metrics (``export_frame``) as CSV text; also written to ``path`` if given."""
        text = self.export_frame(run_id).to_csv(index=False, lineterminator="\n")
        if path is not None:
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        return text

    # ------------------------------------------------------------------ checkpoints
    def _checkpoint_path(self, run_id: str) -> pathlib.Path:
        return self.root / "checkpoints" / self._check_id(run_id)

    def checkpoint_dir(self, run_id: str) -> pathlib.Path:
        """``root/checkpoints/<run_id>/``, created if missing."""
        self._require_run(run_id)
        folder = self._checkpoint_path(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _stored_path(self, path: str | os.PathLike) -> str:
        # Relative to the runs folder when inside it, so the folder can be moved or copied.
        p = pathlib.Path(path)
        try:
            return p.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(p.resolve())

    def _resolve_stored(self, stored: str | None) -> pathlib.Path | None:
        if not stored:
            return None
        p = pathlib.Path(stored)
        return p if p.is_absolute() else self.root / p

    def record_checkpoint(self, run_id: str, step: int, path: str | os.PathLike) -> None:
        """Note that a checkpoint of ``run_id`` at ``step`` was saved at ``path`` (committed at once)."""
        self._require_run(run_id)
        step = _int(step, "step")
        stored = self._stored_path(path)
        detail = _dumps({"path": stored, "step": step})

        def work(c: sqlite3.Connection) -> int:
            n = c.execute(
                "UPDATE runs SET last_checkpoint_step = ?, last_checkpoint_path = ? WHERE run_id = ?",
                (step, stored, run_id),
            ).rowcount
            if n:
                c.execute(_INSERT_EVENT, (run_id, step, "checkpoint", detail, _now()))
            return n

        if not self._commit(work):
            raise RunNotFound(run_id)

    def latest_checkpoint(self, run_id: str) -> pathlib.Path | None:
        """Path of the newest recorded checkpoint file that still exists, or None."""
        self._require_run(run_id)
        row = self._read("SELECT last_checkpoint_path FROM runs WHERE run_id = ?", (run_id,))
        candidates = [row[0][0]] if row else []
        events = self._read(
            "SELECT detail FROM events WHERE run_id = ? AND kind = 'checkpoint' ORDER BY step DESC, id DESC",
            (run_id,),
        )
        candidates += [_loads(d, {}).get("path") for (d,) in events]
        for stored in candidates:
            p = self._resolve_stored(stored)
            if p is not None and p.is_file():
                return p
        return None

    # ------------------------------------------------------------------ analysis jobs
    # Heavy work on trained runs (a lesion study, a loss landscape, a download) runs in the
    # training process; its progress and result live here, so every tab reads the same job and
    # a restarted app still has the results.

    _ANALYSIS_COLUMNS = ["job_id", "kind", "params", "run_ids", "status", "fraction", "message",
                         "created_at", "updated_at"]

    def create_analysis(self, kind: str, params: Mapping[str, Any], run_ids: Iterable[str] = ()) -> str:
        """A queued analysis job; returns its id (e.g. "a1f0c9e2b")."""
        kind = _check_text(kind, "analysis kind", 64)
        run_ids = [self._check_id(r) for r in run_ids]
        job_id = "a" + secrets.token_hex(4)
        now = _now()
        self._commit(lambda c: c.execute(
            "INSERT INTO analysis_jobs (job_id, kind, params, run_ids, status, fraction, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, 'queued', 0, ?, ?)", (job_id, kind, _dumps(dict(params)), _dumps(run_ids), now, now)))
        return job_id

    def update_analysis(self, job_id: str, *, status: str | None = None, fraction: float | None = None,
                        message: str | None = None, result: Mapping[str, Any] | None = None) -> None:
        """Change a job's status, progress, message or result (None keeps the old value)."""
        if status is not None and status not in ANALYSIS_STATUSES:
            raise ValueError(f"unknown analysis status {status!r}; allowed: {', '.join(ANALYSIS_STATUSES)}")
        if message is not None:
            message = str(message)[:MAX_MESSAGE_CHARS]
        owner = (self._owner, os.getpid()) if status == "running" else (None, None)
        self._commit(lambda c: c.execute(
            "UPDATE analysis_jobs SET status = COALESCE(?, status), fraction = COALESCE(?, fraction),"
            " message = COALESCE(?, message), result = COALESCE(?, result), updated_at = ?,"
            " owner = COALESCE(?, owner), owner_pid = COALESCE(?, owner_pid) WHERE job_id = ?",
            (status, _float(fraction), message, None if result is None else _dumps(dict(result)), _now(),
             *owner, job_id)))

    def get_analysis(self, job_id: str) -> dict[str, Any] | None:
        """One job: the keys of ``list_analyses`` plus ``result`` (dict or None); None if there is no such job."""
        rows = self._read("SELECT " + ", ".join(self._ANALYSIS_COLUMNS) + ", result FROM analysis_jobs"
                          " WHERE job_id = ?", (str(job_id),))
        if not rows:
            return None
        job = dict(zip(self._ANALYSIS_COLUMNS + ["result"], rows[0]))
        job["params"], job["run_ids"] = _loads(job["params"], {}), _loads(job["run_ids"], [])
        job["result"] = _loads(job["result"], None)
        return job

    def list_analyses(self, kind: str | None = None, run_id: str | None = None) -> pd.DataFrame:
        """Analysis jobs, newest first (without their results), optionally of one kind or about one run."""
        sql = "SELECT " + ", ".join(self._ANALYSIS_COLUMNS) + " FROM analysis_jobs"
        where, args = [], []
        if kind is not None:
            where, args = where + ["kind = ?"], args + [kind]
        if run_id is not None:  # run ids are [A-Za-z0-9_-]: safe inside a LIKE pattern
            where, args = where + ["run_ids LIKE ?"], args + [f'%"{self._check_id(run_id)}"%']
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._read(sql + " ORDER BY created_at DESC, rowid DESC", args)
        frame = pd.DataFrame(rows, columns=self._ANALYSIS_COLUMNS)
        frame["params"] = frame["params"].map(lambda text: _loads(text, {}))
        frame["run_ids"] = frame["run_ids"].map(lambda text: _loads(text, []))
        return frame

    def fail_orphaned_analyses(self, reason: str, owner_pid: int | None = None) -> list[str]:
        """Queued/running jobs whose process is gone (or: of ``owner_pid``) become ``failed`` with ``reason``."""
        rows = self._read("SELECT job_id, owner, owner_pid FROM analysis_jobs WHERE status IN ('queued', 'running')", ())
        orphans = [job_id for job_id, owner, pid in rows
                   if (pid == owner_pid if owner_pid is not None else
                       owner is not None and owner != self._owner and not _owner_alive(owner, pid))]
        for job_id in orphans:
            self.update_analysis(job_id, status="failed", message=reason)
        return orphans
