"""An old ``runs.sqlite`` still opens: the schema migrates, every value reads back under its new name.

The first release called the time spent inside training steps ``wall_seconds`` (in ``steps``
and ``evals``) and had no speed or time-left columns on ``runs``. The file below is built
with that schema by hand, as an old ResNet Lab left it, and opened with today's store.
"""

from __future__ import annotations

import sqlite3

from resnet_edu.runs import RunStore
from resnet_edu.runs import store as store_module
from resnet_edu.runs.schema import SCHEMA_VERSION

FIRST_RELEASE_SCHEMA = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, name TEXT NOT NULL, group_id TEXT, status TEXT NOT NULL,
    config TEXT NOT NULL, device TEXT NOT NULL, versions TEXT NOT NULL, created_at TEXT NOT NULL,
    started_at TEXT, finished_at TEXT, message TEXT, steps_done INTEGER NOT NULL DEFAULT 0,
    total_steps INTEGER, last_checkpoint_step INTEGER, last_checkpoint_path TEXT,
    owner TEXT, owner_pid INTEGER
);
CREATE TABLE steps (
    run_id TEXT NOT NULL, step INTEGER NOT NULL, epoch REAL, wall_seconds REAL, train_loss REAL,
    train_error REAL, lr REAL, images_per_second REAL, PRIMARY KEY (run_id, step)
) WITHOUT ROWID;
CREATE TABLE evals (
    run_id TEXT NOT NULL, step INTEGER NOT NULL, epoch REAL, wall_seconds REAL, test_loss REAL,
    test_error REAL, PRIMARY KEY (run_id, step)
) WITHOUT ROWID;
CREATE TABLE layer_stats (
    run_id TEXT NOT NULL, kind TEXT NOT NULL, step INTEGER NOT NULL, layer_index INTEGER NOT NULL,
    layer TEXT NOT NULL, value REAL, PRIMARY KEY (run_id, kind, step, layer_index)
) WITHOUT ROWID;
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, step INTEGER NOT NULL,
    kind TEXT NOT NULL, detail TEXT, created_at TEXT NOT NULL
);
PRAGMA user_version=1;
"""


def _write_first_release_file(root) -> None:
    """A finished run of 3 logged steps and 1 evaluation, in the first release's schema."""
    root.mkdir(parents=True)
    conn = sqlite3.connect(root / "runs.sqlite")
    conn.executescript(FIRST_RELEASE_SCHEMA)
    conn.execute("INSERT INTO runs (run_id, name, status, config, device, versions, created_at, finished_at,"
                 " steps_done, total_steps) VALUES ('rold00001', 'plain-20', 'finished', '{\"depth\": 20}', 'cpu',"
                 " '{}', '2026-01-05T10:00:00.000+00:00', '2026-01-05T10:05:00.000+00:00', 3, 3)")
    conn.executemany("INSERT INTO steps VALUES ('rold00001', ?, ?, ?, 2.0, 0.5, 0.1, 100.0)",
                     [(1, 0.1, 1.5), (2, 0.2, 3.0), (3, 0.3, 4.5)])
    conn.execute("INSERT INTO evals VALUES ('rold00001', 3, 0.3, 4.5, 1.9, 0.45)")
    conn.execute("INSERT INTO events (run_id, step, kind, detail, created_at)"
                 " VALUES ('rold00001', 3, 'finished', '{}', '2026-01-05T10:05:00.000+00:00')")
    conn.commit()
    conn.close()


def _columns(path, table: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
    finally:
        conn.close()


def test_a_first_release_file_opens_and_reads_under_the_new_column_name(tmp_path):
    root = tmp_path / "runs"
    _write_first_release_file(root)
    with RunStore(root) as store:
        assert store.damage_report is None
        run = store.get_run("rold00001")
        assert (run["name"], run["status"], run["steps_done"]) == ("plain-20", "finished", 3)
        assert run["images_per_second"] is None  # the column is new: never written
        steps = store.steps("rold00001")
        assert steps["step"].tolist() == [1, 2, 3]
        assert steps["train_seconds"].tolist() == [1.5, 3.0, 4.5]
        assert "wall_seconds" not in steps.columns
        assert store.evals("rold00001")["train_seconds"].tolist() == [4.5]
        assert store.step_blocks("rold00001", stride=2)["train_seconds"].tolist() == [1.5, 4.5]
        assert store.export_frame("rold00001")["train_seconds"].tolist() == [1.5, 3.0, 4.5]
        store.log_step("rold00001", 4, epoch=0.4, train_seconds=6.0, train_loss=1.8, train_error=0.4, lr=0.1,
                       images_per_second=100.0)  # and the migrated file takes new rows
        assert store.steps("rold00001")["train_seconds"].tolist() == [1.5, 3.0, 4.5, 6.0]
    db = root / "runs.sqlite"
    assert "train_seconds" in _columns(db, "steps") and "wall_seconds" not in _columns(db, "steps")
    assert "train_seconds" in _columns(db, "evals") and "wall_seconds" not in _columns(db, "evals")
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    conn.close()
    with RunStore(root) as again:  # opening a migrated file changes nothing more
        assert again.steps("rold00001")["train_seconds"].tolist() == [1.5, 3.0, 4.5, 6.0]


def test_a_first_release_file_damaged_before_it_migrates_is_salvaged_under_the_new_names(tmp_path, monkeypatch):
    """The migration itself meets the damage: the old file is set aside and read by its old column names."""
    root = tmp_path / "runs"
    _write_first_release_file(root)
    real = store_module.create_or_migrate
    calls = []

    def damaged_once(conn: sqlite3.Connection) -> None:
        calls.append(1)
        if len(calls) == 1:  # the old file: as if a damaged page stopped the migration
            raise sqlite3.DatabaseError("database disk image is malformed")
        real(conn)  # the fresh file the salvage copies into

    monkeypatch.setattr(store_module, "create_or_migrate", damaged_once)
    with RunStore(root) as store:
        assert store.damage_report is not None and "1 of 1 runs" in store.damage_report
        assert store.steps("rold00001")["train_seconds"].tolist() == [1.5, 3.0, 4.5]
        assert store.evals("rold00001")["train_seconds"].tolist() == [4.5]
        assert store.events("rold00001")["kind"].tolist() == ["finished"]
    kept = [p for p in root.iterdir() if p.name.startswith("runs.damaged-") and p.suffix == ".sqlite"]
    assert kept and "wall_seconds" in _columns(kept[0], "steps")  # the old file is kept as it was


def test_a_file_from_a_newer_release_is_not_touched_by_the_migration(tmp_path):
    root = tmp_path / "runs"
    with RunStore(root) as store:
        run_id = store.create_run("new", {})
        store.log_step(run_id, 1, epoch=0.1, train_seconds=0.5, train_loss=1.0, train_error=0.5, lr=0.1,
                       images_per_second=None)
    conn = sqlite3.connect(root / "runs.sqlite")
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with RunStore(root) as store:
        assert store.steps(run_id)["train_seconds"].tolist() == [0.5]
    conn = sqlite3.connect(root / "runs.sqlite")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    conn.close()


def test_a_version_2_file_gains_the_imported_column_and_its_runs_read_as_trained_here(tmp_path):
    """Version 3 added runs.imported (runs opened from a class pack); an older file's runs read None there."""
    root = tmp_path / "runs"
    with RunStore(root) as store:
        run_id = store.create_run("plain-20", {"depth": 20}, status="finished")
    conn = sqlite3.connect(root / "runs.sqlite")
    conn.execute("ALTER TABLE runs DROP COLUMN imported")  # the file as version 2 left it
    conn.execute("PRAGMA user_version=2")
    conn.commit()
    conn.close()
    assert "imported" not in _columns(root / "runs.sqlite", "runs")
    with RunStore(root) as store:
        assert store.get_run(run_id)["imported"] is None
        assert store.list_runs()["imported"].isna().all()
    assert "imported" in _columns(root / "runs.sqlite", "runs")
    conn = sqlite3.connect(root / "runs.sqlite")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    conn.close()
