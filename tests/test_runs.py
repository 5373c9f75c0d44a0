"""Tests for resnet_edu.runs.RunStore: round-trips, concurrency, crash safety."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from polling import wait_until

from resnet_edu.runs import (
    EVAL_COLUMNS,
    RUN_COLUMNS,
    RUN_STATUSES,
    STEP_COLUMNS,
    RunNotFound,
    RunStore,
)

REPO = Path(__file__).resolve().parents[1]


def _log(store, run_id, step, **kw):
    values = dict(epoch=step / 100, train_seconds=step * 0.01, train_loss=2.0 - step / 1000,
                  train_error=0.9 - step / 10000, lr=0.1, images_per_second=1000.0 + step)
    values.update(kw)
    store.log_step(run_id, step, **values)


# ----------------------------------------------------------------------------- runs

def test_create_and_get_run_round_trip(store):
    config = {"family": "cifar", "depth": 56, "shortcuts": False, "lr": 0.1, "stages": [1, 2, 3]}
    rid = store.create_run("plain-56", config, group_id="g1", device="cuda:0", total_steps=500)
    assert rid.startswith("r") and len(rid) == 9 and all(c in "0123456789abcdef" for c in rid[1:])
    run = store.get_run(rid)
    assert set(run) >= set(RUN_COLUMNS)
    assert run["run_id"] == rid
    assert run["name"] == "plain-56"
    assert run["group_id"] == "g1"
    assert run["status"] == "queued"
    assert run["config"] == config
    assert run["device"] == "cuda:0"
    assert run["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert "platform" in run["versions"]
    assert run["created_at"] and run["started_at"] is None and run["finished_at"] is None
    assert run["steps_done"] == 0 and run["total_steps"] == 500
    assert run["last_checkpoint_step"] is None
    assert store.has_run(rid) and not store.has_run("rdeadbeef")


def test_create_run_accepts_a_dataclass_config_and_running_status(store):
    @dataclasses.dataclass(frozen=True)
    class Cfg:
        depth: int = 20
        lr: float = 0.1
        data_root: Path = Path("/tmp/data")

    rid = store.create_run("dc", Cfg(), status="running")
    run = store.get_run(rid)
    assert run["config"] == {"depth": 20, "lr": 0.1, "data_root": "/tmp/data"}
    assert run["status"] == "running" and run["started_at"] is not None


def test_run_ids_are_unique(store):
    ids = {store.create_run(f"n{i}", {}) for i in range(200)}
    assert len(ids) == 200


def test_list_runs_newest_first_and_by_group(store):
    empty = store.list_runs()
    assert list(empty.columns) == RUN_COLUMNS and len(empty) == 0
    a = store.create_run("a", {"x": 1}, group_id="g")
    b = store.create_run("b", {"x": 2})
    c = store.create_run("c", {"x": 3}, group_id="g")
    df = store.list_runs()
    assert list(df.columns) == RUN_COLUMNS
    assert list(df["run_id"]) == [c, b, a]
    assert df.set_index("run_id").loc[b, "config"] == {"x": 2}
    assert list(store.list_runs(group_id="g")["run_id"]) == [c, a]
    assert len(store.list_runs(group_id="nope")) == 0


def test_set_status_timestamps_and_message(store):
    rid = store.create_run("s", {})
    store.set_status(rid, "running")
    run = store.get_run(rid)
    assert run["status"] == "running" and run["started_at"] and run["finished_at"] is None
    started = run["started_at"]
    store.set_status(rid, "diverged", "loss became inf at step 12")
    run = store.get_run(rid)
    assert run["status"] == "diverged"
    assert run["finished_at"] >= started
    assert run["message"] == "loss became inf at step 12"
    store.set_status(rid, "running")  # resumed: old end and message cleared, start kept
    run = store.get_run(rid)
    assert run["finished_at"] is None and run["message"] is None and run["started_at"] == started
    with pytest.raises(ValueError, match="unknown run status"):
        store.set_status(rid, "exploded")
    with pytest.raises(RunNotFound):
        store.set_status("rnothere1", "finished")
    assert set(RUN_STATUSES) == {"queued", "running", "finished", "stopped", "diverged", "failed", "interrupted"}


def test_set_status_commits_buffered_rows_first(store, tmp_path):
    rid = store.create_run("s", {}, status="running")
    for i in range(5):
        _log(store, rid, i)
    store.set_status(rid, "finished")
    raw = sqlite3.connect(store.db_path)
    assert raw.execute("SELECT COUNT(*) FROM steps WHERE run_id = ?", (rid,)).fetchone()[0] == 5
    assert raw.execute("SELECT status FROM runs WHERE run_id = ?", (rid,)).fetchone()[0] == "finished"
    raw.close()


def test_set_progress(store):
    rid = store.create_run("p", {}, total_steps=100)
    store.set_progress(rid, 10)
    store.set_progress(rid, 20)
    assert store.get_run(rid)["steps_done"] == 20
    assert store.get_run(rid)["total_steps"] == 100
    store.set_progress(rid, 30, total_steps=300)
    run = store.get_run(rid)
    assert (run["steps_done"], run["total_steps"]) == (30, 300)
    assert store.list_runs().loc[0, "steps_done"] == 30


def test_delete_run_removes_rows_and_checkpoints(store):
    keep = store.create_run("keep", {})
    rid = store.create_run("gone", {})
    for i in range(3):
        _log(store, rid, i)
        _log(store, keep, i)
    store.log_eval(rid, 2, epoch=0.1, train_seconds=1, test_loss=1.0, test_error=0.5)
    store.log_layer_stats(rid, 2, "grad_norm", {"conv1": 1.0})
    store.log_event(rid, 0, "started")
    folder = store.checkpoint_dir(rid)
    (folder / "step_2.pt").write_bytes(b"x")
    _log(store, rid, 3)  # still buffered when the delete comes
    store.delete_run(rid)
    assert not folder.exists()
    with pytest.raises(RunNotFound):
        store.get_run(rid)
    raw = sqlite3.connect(store.db_path)
    for table in ("steps", "evals", "layer_stats", "events", "runs"):
        assert raw.execute(f"SELECT COUNT(*) FROM {table} WHERE run_id = ?", (rid,)).fetchone()[0] == 0
    raw.close()
    _log(store, rid, 4)  # a worker that has not noticed yet: ignored, not an error
    store.flush()
    assert len(store.steps(keep)) == 3
    assert list(store.list_runs()["run_id"]) == [keep]
    with pytest.raises(RunNotFound):
        store.delete_run(rid)


# ----------------------------------------------------------------------------- time series

def test_steps_round_trip_and_since_step(store):
    rid = store.create_run("s", {})
    empty = store.steps(rid)
    assert list(empty.columns) == STEP_COLUMNS and len(empty) == 0
    for i in range(10):
        _log(store, rid, i, images_per_second=None if i == 0 else 500.0 + i)
    df = store.steps(rid)
    assert list(df.columns) == STEP_COLUMNS
    assert list(df["step"]) == list(range(10))
    assert df.loc[3, "train_loss"] == pytest.approx(2.0 - 0.003)
    assert df.loc[3, "train_error"] == pytest.approx(0.9 - 0.0003)
    assert df.loc[3, "epoch"] == pytest.approx(0.03)
    assert df.loc[3, "images_per_second"] == pytest.approx(503.0)
    assert math.isnan(df.loc[0, "images_per_second"])
    assert list(store.steps(rid, since_step=6)["step"]) == [7, 8, 9]
    assert len(store.steps(rid, since_step=9)) == 0
    for i in range(10, 13):
        _log(store, rid, i)
    assert list(store.steps(rid, since_step=9)["step"]) == [10, 11, 12]


def test_nan_inf_and_numpy_values_are_storable(store):
    np = pytest.importorskip("numpy")
    rid = store.create_run("diverge", {})
    _log(store, rid, 0, train_loss=float("inf"))
    _log(store, rid, 1, train_loss=float("nan"), lr=np.float32(0.05))
    store.log_step(rid, np.int64(2), epoch=np.float64(0.1), train_seconds=np.float32(1.5),
                   train_loss=np.float32("-inf"), train_error=1.0, lr=0.1, images_per_second=None)
    store.log_eval(rid, 2, epoch=0.1, train_seconds=1.5, test_loss=float("inf"), test_error=float("nan"))
    df = store.steps(rid)
    assert list(df["step"]) == [0, 1, 2]
    assert df.loc[0, "train_loss"] == math.inf
    assert math.isnan(df.loc[1, "train_loss"])
    assert df.loc[1, "lr"] == pytest.approx(0.05)
    assert df.loc[2, "train_loss"] == -math.inf and df.loc[2, "train_seconds"] == 1.5
    ev = store.evals(rid)
    assert ev.loc[0, "test_loss"] == math.inf and math.isnan(ev.loc[0, "test_error"])


def test_relogging_a_step_replaces_it(store):
    rid = store.create_run("resume", {})
    _log(store, rid, 5, train_loss=3.0)
    store.flush()
    _log(store, rid, 5, train_loss=1.0)
    df = store.steps(rid)
    assert list(df["step"]) == [5] and df.loc[0, "train_loss"] == 1.0


def test_discard_after(store):
    rid = store.create_run("resume", {})
    for i in range(10):
        _log(store, rid, i)
    store.log_eval(rid, 4, epoch=0, train_seconds=0, test_loss=1, test_error=0.5)
    store.log_eval(rid, 8, epoch=0, train_seconds=0, test_loss=1, test_error=0.5)
    store.log_event(rid, 8, "stopped")
    store.discard_after(rid, 5)
    assert list(store.steps(rid)["step"]) == [0, 1, 2, 3, 4, 5]
    assert list(store.evals(rid)["step"]) == [4]
    assert list(store.events(rid)["kind"]) == ["stopped"]


def test_evals_round_trip_and_since_step(store):
    rid = store.create_run("e", {})
    assert list(store.evals(rid).columns) == EVAL_COLUMNS
    for k, step in enumerate([99, 199, 299]):
        store.log_eval(rid, step, epoch=k + 1.0, train_seconds=10.0 * (k + 1), test_loss=1.5 - k / 10,
                       test_error=0.6 - k / 10)
    df = store.evals(rid)
    assert list(df.columns) == EVAL_COLUMNS
    assert list(df["step"]) == [99, 199, 299]
    assert df["test_error"].tolist() == pytest.approx([0.6, 0.5, 0.4])
    assert df["epoch"].tolist() == [1.0, 2.0, 3.0]
    assert list(store.evals(rid, since_step=199)["step"]) == [299]


def test_layer_stats_keep_insertion_order(store):
    rid = store.create_run("l", {})
    layers = ["conv1", "layer1.0.conv1", "layer1.0.conv2", "layer2.0.conv1", "fc"]  # not alphabetical
    for step in (0, 10):
        store.log_layer_stats(rid, step, "grad_norm", {n: float(i + step) for i, n in enumerate(layers)})
    store.log_layer_stats(rid, 0, "response_std", {"layer3.0": 0.5, "layer1.0": 0.25})
    df = store.layer_stats(rid, "grad_norm")
    assert list(df.columns) == ["step", "layer", "layer_index", "value"]
    assert len(df) == 10
    first = df[df["step"] == 0]
    assert list(first["layer"]) == layers
    assert list(first["layer_index"]) == [0, 1, 2, 3, 4]
    assert df[df["step"] == 10]["value"].tolist() == [10.0, 11.0, 12.0, 13.0, 14.0]
    std = store.layer_stats(rid, "response_std")
    assert list(std["layer"]) == ["layer3.0", "layer1.0"] and std["value"].tolist() == [0.5, 0.25]
    assert len(store.layer_stats(rid, "other")) == 0


def test_events_round_trip_and_are_committed_at_once(store):
    rid = store.create_run("ev", {})
    store.log_event(rid, 0, "started")
    store.log_event(rid, 300, "shortcuts_toggled", {"enabled": False, "stages": [1, 2, 3]})
    store.log_event(rid, 150, "shortcuts_toggled", {"enabled": True, "stages": None})
    raw = sqlite3.connect(store.db_path)  # another connection, no flush: already on disk
    assert raw.execute("SELECT COUNT(*) FROM events WHERE run_id = ?", (rid,)).fetchone()[0] == 3
    raw.close()
    df = store.events(rid)
    assert list(df.columns) == ["step", "kind", "detail", "created_at"]
    assert list(df["step"]) == [0, 150, 300]
    assert df.loc[0, "detail"] == {}
    assert df.loc[1, "detail"] == {"enabled": True, "stages": None}
    assert df.loc[2, "detail"] == {"enabled": False, "stages": [1, 2, 3]}
    assert all(isinstance(t, str) and t for t in df["created_at"])


def test_versions_change_with_everything_a_chart_draws(store):
    a = store.create_run("a", {})
    b = store.create_run("b", {})
    seen = [store.versions([a, b])]
    assert set(seen[0]) == {a, b} and store.versions([]) == {} and store.versions(["rgone0000"]) == {}

    def changed() -> bool:
        now = store.versions([a, b])
        different = now[a] != seen[-1][a]
        assert now[b] == seen[-1][b]  # only the run that changed
        seen.append(now)
        return different

    _log(store, a, 0)
    assert changed()
    store.log_eval(a, 0, epoch=1.0, train_seconds=1.0, test_loss=1.0, test_error=0.5)
    assert changed()
    store.log_event(a, 0, "shortcuts_toggled", {"enabled": False})
    assert changed()
    store.set_status(a, "running")
    assert changed()
    assert not changed()  # nothing happened: same version
    with pytest.raises(RunNotFound):
        store.versions(["../../etc"])


def test_export_frame_and_csv(store, tmp_path):
    rid = store.create_run("x", {})
    for i in range(6):
        _log(store, rid, i)
    store.log_eval(rid, 2, epoch=0.02, train_seconds=0.5, test_loss=1.25, test_error=0.375)
    store.log_eval(rid, 5, epoch=0.05, train_seconds=0.9, test_loss=1.0, test_error=0.25)
    store.log_eval(rid, 9, epoch=0.09, train_seconds=1.9, test_loss=0.5, test_error=0.125)  # no step row
    df = store.export_frame(rid)
    cols = ["step", "epoch", "train_seconds", "train_loss", "train_error", "lr", "images_per_second",
            "test_loss", "test_error"]
    assert list(df.columns) == cols
    assert list(df["step"]) == [0, 1, 2, 3, 4, 5, 9]
    assert df.loc[2, "test_error"] == 0.375 and df.loc[5, "test_error"] == 0.25
    assert df["test_error"].isna().sum() == 4
    assert df.loc[6, "test_loss"] == 0.5 and math.isnan(df.loc[6, "train_loss"])
    out = tmp_path / "export.csv"
    text = store.export_csv(rid, out)
    assert text.splitlines()[0] == ",".join(cols)
    assert len(text.splitlines()) == 8
    assert out.read_text(encoding="utf-8") == text
    back = pd.read_csv(out)
    assert list(back.columns) == cols and back["train_loss"].iloc[3] == pytest.approx(1.997)
    assert store.export_csv(rid) == text


# ----------------------------------------------------------------------------- checkpoints

def test_checkpoints(store):
    rid = store.create_run("ck", {})
    assert store.latest_checkpoint(rid) is None
    folder = store.checkpoint_dir(rid)
    assert folder == store.root / "checkpoints" / rid and folder.is_dir()
    first = folder / "step_100.pt"
    first.write_bytes(b"a")
    store.record_checkpoint(rid, 100, first)
    second = folder / "step_200.pt"
    second.write_bytes(b"b")
    store.record_checkpoint(rid, 200, second)
    assert store.get_run(rid)["last_checkpoint_step"] == 200
    assert store.latest_checkpoint(rid).resolve() == second.resolve()
    ev = store.events(rid)
    assert list(ev["kind"]) == ["checkpoint", "checkpoint"]
    assert ev.loc[1, "detail"]["step"] == 200
    assert Path(ev.loc[1, "detail"]["path"]).name == "step_200.pt"
    second.unlink()  # the newest file is gone: fall back to the one before
    assert store.latest_checkpoint(rid).resolve() == first.resolve()
    first.unlink()
    assert store.latest_checkpoint(rid) is None


# ----------------------------------------------------------------------------- validation

@pytest.mark.parametrize("bad", ["rnotthere", "../../etc", "..", "a/b", "a\\b", "", "r1 2", "/etc/passwd", None, 5])
def test_unknown_or_malformed_run_id_raises_run_not_found(store, bad):
    with pytest.raises(RunNotFound) as info:
        store.get_run(bad)
    assert str(info.value) == f"no run with id '{bad}'"
    assert isinstance(info.value, KeyError)
    for call in (
        lambda: store.steps(bad),
        lambda: store.evals(bad),
        lambda: store.events(bad),
        lambda: store.layer_stats(bad, "grad_norm"),
        lambda: store.export_frame(bad),
        lambda: store.checkpoint_dir(bad),
        lambda: store.latest_checkpoint(bad),
        lambda: store.delete_run(bad),
        lambda: store.set_status(bad, "finished"),
        lambda: store.set_progress(bad, 1),
        lambda: _log(store, bad, 0),
        lambda: store.log_event(bad, 0, "started"),
        lambda: store.record_checkpoint(bad, 0, store.root / "x.pt"),
    ):
        with pytest.raises(RunNotFound):
            call()


def test_traversal_id_never_touches_files_outside_root(tmp_path):
    root = tmp_path / "a" / "b" / "runs"
    victim = tmp_path / "a" / "victim"
    victim.mkdir(parents=True)
    (victim / "keep.txt").write_text("x")
    with RunStore(root) as s:
        for bad in ("../../victim", "../../../a/victim", "../victim"):
            with pytest.raises(RunNotFound):
                s.checkpoint_dir(bad)
            with pytest.raises(RunNotFound):
                s.delete_run(bad)
    assert (victim / "keep.txt").read_text() == "x"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b", "victim"]


@pytest.mark.parametrize("name", [
    "ResNet-56 ✓ plain", "深度残差网络", "שלום", "😀🔥 résumé", "x" * 200,
    "Robert'); DROP TABLE runs;--", 'quote " and \\ backslash',
])
def test_unicode_and_hostile_names_round_trip(store, name):
    rid = store.create_run(name, {"note": name})
    assert store.get_run(rid)["name"] == name
    assert store.get_run(rid)["config"] == {"note": name}
    assert store.list_runs().loc[0, "name"] == name


def test_bad_names_and_values_are_rejected(store):
    with pytest.raises(ValueError, match="200"):
        store.create_run("x" * 201, {})
    with pytest.raises(ValueError):
        store.create_run("bad \ud800 surrogate", {})
    with pytest.raises(TypeError):
        store.create_run("cfg", ["not", "a", "dict"])
    with pytest.raises(ValueError):
        store.create_run("st", {}, status="done")
    rid = store.create_run("", {})
    assert store.get_run(rid)["name"] == rid  # empty name: the id stands in
    with pytest.raises(TypeError):
        _log(store, rid, "seven")


# ----------------------------------------------------------------------------- durability

def test_wal_mode_is_on(store):
    store.create_run("w", {})
    raw = sqlite3.connect(store.db_path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()
    conn = store._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 10000
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_buffered_rows_reach_disk_without_flush(store):
    """The background flusher commits buffered rows by itself (every FLUSH_INTERVAL_S); no flush() here."""
    rid = store.create_run("bg", {})
    _log(store, rid, 0)
    raw = sqlite3.connect(store.db_path)
    try:
        assert raw.execute("SELECT COUNT(*) FROM steps").fetchone()[0] == 0  # still buffered
        assert wait_until(lambda: raw.execute("SELECT COUNT(*) FROM steps").fetchone()[0] == 1, timeout=60), \
            "the buffered step was never committed"
    finally:
        raw.close()


def test_close_flushes_and_reopen_sees_everything(tmp_path):
    s = RunStore(tmp_path)
    rid = s.create_run("c", {"k": 1})
    for i in range(100):
        _log(s, rid, i)
    s.set_progress(rid, 100)
    s.close()
    s.close()  # idempotent
    with pytest.raises(RuntimeError):
        _log(s, rid, 100)
    with RunStore(tmp_path) as again:
        assert len(again.steps(rid)) == 100
        assert again.get_run(rid)["steps_done"] == 100
        assert again.get_run(rid)["status"] == "queued"  # closed cleanly by this process


def test_default_root_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RESNET_EDU_RUNS_DIR", str(tmp_path / "from_env"))
    with RunStore() as s:
        assert s.root == tmp_path / "from_env"
        assert s.db_path == tmp_path / "from_env" / "runs.sqlite"
        assert s.db_path.exists()


@pytest.mark.slow
def test_concurrent_writers_and_readers(tmp_path):
    store = RunStore(tmp_path)
    n_steps, n_writers = 2000, 4
    ids = [store.create_run(f"w{i}", {"i": i}, status="running") for i in range(n_writers)]
    errors: list[BaseException] = []
    done = threading.Event()
    seen_by_reader: list[dict[str, list[int]]] = []

    def writer(rid):
        try:
            for step in range(n_steps):
                _log(store, rid, step)
                if step % 200 == 0:
                    store.log_layer_stats(rid, step, "grad_norm", {"conv1": 1.0, "fc": 2.0})
                    store.set_progress(rid, step + 1, n_steps)
                if step % 500 == 0:
                    store.log_eval(rid, step, epoch=0, train_seconds=0, test_loss=1, test_error=0.5)
                if step == 1000:
                    store.log_event(rid, step, "shortcuts_toggled", {"enabled": False, "stages": None})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader():
        last = {rid: -1 for rid in ids}
        seen = {rid: [] for rid in ids}
        try:
            while True:
                finished = done.is_set()
                for rid in ids:
                    df = store.steps(rid, since_step=last[rid])
                    if len(df):
                        steps = df["step"].tolist()
                        # incremental reads must never skip a row
                        assert steps == list(range(last[rid] + 1, last[rid] + 1 + len(steps)))
                        seen[rid].extend(steps)
                        last[rid] = steps[-1]
                store.list_runs()
                store.step_blocks(ids[0], stride=10)
                if finished:
                    break
                time.sleep(0.005)
            seen_by_reader.append(seen)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    writers = [threading.Thread(target=writer, args=(rid,)) for rid in ids]
    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join(timeout=60)
    done.set()
    for t in readers:
        t.join(timeout=60)
    assert not errors, errors
    assert len(seen_by_reader) == 3
    for seen in seen_by_reader:
        for rid in ids:
            assert seen[rid] == list(range(n_steps))
    store.close()
    with RunStore(tmp_path) as fresh:
        for rid in ids:
            df = fresh.steps(rid)
            assert list(df["step"]) == list(range(n_steps))
            assert len(fresh.evals(rid)) == 4
            assert len(fresh.layer_stats(rid, "grad_norm")) == 20
            assert list(fresh.events(rid)["kind"]) == ["shortcuts_toggled"]
            assert fresh.get_run(rid)["steps_done"] == 1801


# ----------------------------------------------------------------------------- restarts and crashes

# The child stores a clock reading as each row's train_seconds: it tells when the row was logged.
_CHILD = textwrap.dedent("""
    import os, sys, time
    from resnet_edu.runs import RunStore
    store = RunStore(sys.argv[1])
    mode = sys.argv[2]
    rid = store.create_run("child", {"mode": mode}, status="running")
    queued = store.create_run("waiting", {}, status="queued")
    if mode == "exit":
        for i in range(100):
            store.log_step(rid, i, epoch=0.0, train_seconds=time.time(), train_loss=1.0,
                           train_error=0.5, lr=0.1, images_per_second=None)
        store.log_event(rid, 0, "started")
        store.flush()
        print(rid, queued, ",".join(m for m in ("torch", "streamlit") if m in sys.modules) or "-", flush=True)
        os._exit(0)  # no close(): like a process that dies after its last commit
    print(rid, queued, flush=True)
    i = 0
    while True:  # until killed
        store.log_step(rid, i, epoch=0.0, train_seconds=time.time(), train_loss=1.0,
                       train_error=0.5, lr=0.1, images_per_second=None)
        i += 1
        time.sleep(0.001)
""")


def _child(tmp_path, mode):
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    return subprocess.Popen([sys.executable, str(script), str(tmp_path / "runs"), mode],
                            stdout=subprocess.PIPE, text=True)


def test_restart_marks_running_runs_interrupted_and_keeps_metrics(tmp_path):
    proc = _child(tmp_path, "exit")
    rid, queued, heavy = proc.stdout.readline().split()
    assert proc.wait(timeout=30) == 0
    assert heavy == "-", f"resnet_edu.runs imported {heavy}: it must need neither torch nor streamlit"
    with RunStore(tmp_path / "runs") as s:
        assert set(s.interrupted_on_open) == {rid, queued}
        run = s.get_run(rid)
        assert run["status"] == "interrupted"
        assert run["finished_at"] is not None and "running" in run["message"]
        assert s.get_run(queued)["status"] == "interrupted"
        assert list(s.steps(rid)["step"]) == list(range(100))
        kinds = s.events(rid)["kind"].tolist()
        assert kinds == ["started", "interrupted"]
        assert s.events(rid)["detail"].iloc[-1]["previous_status"] == "running"
        assert s.events(rid)["step"].iloc[-1] == 99
    with RunStore(tmp_path / "runs") as s2:  # a second restart changes nothing more
        assert s2.interrupted_on_open == []
        assert s2.events(rid)["kind"].tolist() == ["started", "interrupted"]


def test_second_store_in_the_same_process_leaves_own_runs_alone(tmp_path):
    with RunStore(tmp_path) as first:
        rid = first.create_run("mine", {}, status="running")
        q = first.create_run("mine too", {})
        _log(first, rid, 0)
        with RunStore(tmp_path) as second:
            assert second.interrupted_on_open == []
            assert second.get_run(rid)["status"] == "running"
            assert second.get_run(q)["status"] == "queued"
            first.flush()
            assert second.steps(rid)["step"].tolist() == [0]  # two stores, one database
            second.set_progress(rid, 1)
        assert first.get_run(rid)["steps_done"] == 1


def _committed_steps(db_path, run_id: str) -> int:
    with contextlib.closing(sqlite3.connect(db_path, timeout=10)) as raw:
        return raw.execute("SELECT COUNT(*) FROM steps WHERE run_id = ?", (run_id,)).fetchone()[0]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_keeps_every_committed_row(tmp_path):
    """A writer killed with SIGKILL (no close, no flush) loses no row that its flusher had committed:
    every row seen on disk before the kill is there after it, contiguous, and the run is interrupted."""
    proc = _child(tmp_path, "kill")
    db_path = tmp_path / "runs" / "runs.sqlite"
    try:
        rid, _ = proc.stdout.readline().split()
        # The flusher has committed rows on its own (the child never calls flush()).
        assert wait_until(lambda: _committed_steps(db_path, rid) >= 50, timeout=120), "the child never committed"
        # The writer is alive: a store opened now must not call its run interrupted.
        with RunStore(tmp_path / "runs") as live:
            assert live.get_run(rid)["status"] == "running"
            assert live.interrupted_on_open == []
        committed_before_kill = _committed_steps(db_path, rid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with RunStore(tmp_path / "runs") as s:
        assert s.get_run(rid)["status"] == "interrupted"
        steps = s.steps(rid)["step"].tolist()
    assert len(steps) >= committed_before_kill >= 50
    assert steps == list(range(len(steps))), "committed rows must be contiguous"


def test_a_failing_immediate_write_keeps_the_buffered_rows(store, monkeypatch):
    import secrets

    rid = store.create_run("keep", {})
    for i in range(3):
        _log(store, rid, i)
    draws = iter([rid[1:], "0badc0de"])  # the first id drawn collides: its INSERT fails
    monkeypatch.setattr(secrets, "token_hex", lambda n: next(draws))
    assert store.create_run("second", {}) == "r0badc0de"
    assert store.steps(rid)["step"].tolist() == [0, 1, 2]
