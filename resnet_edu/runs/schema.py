"""The store's tables: their SQL, the statuses and columns they hold, and how old files are migrated.

The schema is the store's contract with every file already on a disk:
a store written by an older ResNet Lab must still open. ``create_or_migrate`` brings any
older file up to ``SCHEMA_VERSION`` when it is opened; nothing else changes the tables.

The tables (open ``runs.sqlite`` with any SQLite browser to look inside)::

    runs         one row per training run
                 run_id (e.g. "r3f9c01aa"), name, group_id (runs compared together),
                 status (queued | running | finished | stopped | diverged | failed |
                 interrupted), config (JSON of the training settings), device,
                 versions (JSON: python, torch, platform), created_at / started_at /
                 finished_at (ISO 8601, UTC), message (why it ended), steps_done,
                 total_steps, last_checkpoint_step, last_checkpoint_path,
                 images_per_second, eta_seconds (the latest speed and time left),
                 owner / owner_pid (which process is writing it), imported (JSON: who
                 trained it, where and on which device, when it came from a class pack;
                 NULL for a run trained with this store)
    steps        one row per logged training step                  key (run_id, step)
                 epoch, train_seconds, train_loss, train_error, lr, images_per_second
    evals        one row per test-set evaluation                   key (run_id, step)
                 epoch, train_seconds, test_loss, test_error
    layer_stats  one value per layer, per probe, per step (paper Fig. 7)
                 kind ("grad_norm", "response_std", ...), step, layer_index (depth
                 order), layer ("layer1.0.conv1"), value       key (run_id, kind, step, layer_index)
    events       rare things that happened at a step: started, shortcuts_toggled,
                 stopped, diverged, finished, interrupted, failed, resumed, checkpoint
                 step, kind, detail (JSON), created_at
    analysis_jobs  heavy work on trained runs (a lesion study, a loss landscape): kind,
                 params, run_ids, status, fraction done, message, result (JSON)

``train_seconds`` is the time spent inside training steps since the run began (data
loading, evaluation and pauses excluded): the x axis "training time" of the curves.
Files written before schema version 2 call it ``wall_seconds``; opening renames it.
"""

from __future__ import annotations

import sqlite3

RUN_STATUSES = ("queued", "running", "finished", "stopped", "diverged", "failed", "interrupted")
ACTIVE_STATUSES = ("queued", "running")
ENDED_STATUSES = ("finished", "stopped", "diverged", "failed", "interrupted")
ANALYSIS_STATUSES = ("queued", "running", "finished", "stopped", "failed")
# ACTIVE_STATUSES as an SQL list, for "WHERE status IN ...": runs and analysis jobs alike.
ACTIVE_SQL = "(" + ", ".join(f"'{status}'" for status in ACTIVE_STATUSES) + ")"

# Tables whose rows belong to one run (keyed by run_id): deleting, archiving or salvaging a run
# touches each. Events are kept when a resumed run drops the metrics logged after its checkpoint.
METRIC_TABLES = ("steps", "evals", "layer_stats")
PER_RUN_TABLES = METRIC_TABLES + ("events",)

# 1: the first release. 2: steps.wall_seconds and evals.wall_seconds renamed train_seconds.
# 3: runs.imported (runs opened from a class pack).
SCHEMA_VERSION = 3

RUN_COLUMNS = [
    "run_id", "name", "group_id", "status", "config", "device", "versions",
    "created_at", "started_at", "finished_at", "message",
    "steps_done", "total_steps", "last_checkpoint_step", "images_per_second", "eta_seconds", "imported",
]
STEP_COLUMNS = ["step", "epoch", "train_seconds", "train_loss", "train_error", "lr", "images_per_second"]
EVAL_COLUMNS = ["step", "epoch", "train_seconds", "test_loss", "test_error"]
LAYER_COLUMNS = ["step", "layer", "layer_index", "value"]
EVENT_COLUMNS = ["step", "kind", "detail", "created_at"]
EXPORT_COLUMNS = STEP_COLUMNS + ["test_loss", "test_error"]
BLOCK_COLUMNS = ["bucket", "step", "epoch", "train_seconds", "lr", "error_sum", "error_n", "loss_sum", "loss_n",
                 "ips_sum", "ips_n"]

RUN_DTYPES = {"steps_done": "int64", "total_steps": "Int64", "last_checkpoint_step": "Int64",
              "images_per_second": "float64", "eta_seconds": "float64"}
STEP_DTYPES = {"step": "int64", **{c: "float64" for c in STEP_COLUMNS[1:]}}
EVAL_DTYPES = {"step": "int64", **{c: "float64" for c in EVAL_COLUMNS[1:]}}
LAYER_DTYPES = {"step": "int64", "layer": "object", "layer_index": "int64", "value": "float64"}
EVENT_DTYPES = {"step": "int64", "kind": "object", "detail": "object", "created_at": "object"}
BLOCK_DTYPES = {"bucket": "int64", "step": "int64", "epoch": "float64", "train_seconds": "float64", "lr": "float64",
                "error_sum": "float64", "error_n": "int64", "loss_sum": "float64", "loss_n": "int64",
                "ips_sum": "float64", "ips_n": "int64"}
EXPORT_DTYPES = {"step": "int64", **{c: "float64" for c in EXPORT_COLUMNS[1:]}}

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
    train_seconds     REAL,
    train_loss        REAL,
    train_error       REAL,
    lr                REAL,
    images_per_second REAL,
    PRIMARY KEY (run_id, step)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS evals (
    run_id        TEXT NOT NULL,
    step          INTEGER NOT NULL,
    epoch         REAL,
    train_seconds REAL,
    test_loss     REAL,
    test_error    REAL,
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
    ("runs", "imported", "TEXT"),  # provenance of a run opened from a class pack (resnet_edu/sharing/packs/)
)
# Columns renamed after the first release: (table, old name, new name).
RENAMED_COLUMNS = (
    ("steps", "wall_seconds", "train_seconds"),  # it never held wall time: only time inside steps
    ("evals", "wall_seconds", "train_seconds"),
)


def create_or_migrate(conn: sqlite3.Connection) -> None:
    """Create the tables of a new file, or bring an older file up to ``SCHEMA_VERSION``.

    Call inside a write transaction: a file is migrated completely or not at all.

    Args:
        conn: a connection to ``runs.sqlite`` with a transaction open.
    """
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    for table, old, new in RENAMED_COLUMNS:
        columns = _column_names(conn, table)
        if old in columns and new not in columns:
            conn.execute(f"ALTER TABLE {table} RENAME COLUMN {old} TO {new}")
    for table, column, kind in _ADDED_COLUMNS:
        if column not in _column_names(conn, table):
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _column_names(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


INSERT_STEP = (
    "INSERT OR REPLACE INTO steps (run_id, step, epoch, train_seconds, train_loss, train_error, lr,"
    " images_per_second) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_EVAL = (
    "INSERT OR REPLACE INTO evals (run_id, step, epoch, train_seconds, test_loss, test_error)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
INSERT_LAYER = (
    "INSERT OR REPLACE INTO layer_stats (run_id, kind, step, layer_index, layer, value)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
UPDATE_PROGRESS = (
    "UPDATE runs SET steps_done = ?, total_steps = COALESCE(?, total_steps),"
    " images_per_second = COALESCE(?, images_per_second), eta_seconds = COALESCE(?, eta_seconds) WHERE run_id = ?"
)
INSERT_EVENT = "INSERT INTO events (run_id, step, kind, detail, created_at) VALUES (?, ?, ?, ?, ?)"
