"""Faults of the disk and the store: a full disk, a damaged runs.sqlite, two apps on one folder.

Each test makes the fault for real: a file size limit (``RLIMIT_FSIZE``) or a small tmpfs
(mounted in a private mount namespace with ``unshare``), bytes overwritten in the database
file, two processes writing to the same folder.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import image_folders
import pytest
from polling import wait_until

from resnet_edu.cli import main
from resnet_edu.engine import JobManager
from resnet_edu.runs import RunNotFound, RunStore, disk, repair
from resnet_edu.runs import store as store_module
from resnet_edu.train import TrainConfig, load_checkpoint

REPO = Path(__file__).resolve().parents[1]


def make_tree(root: Path) -> Path:
    """A small ImageFolder tree (4 classes, 40 + 2 images each of 24 px)."""
    return image_folders.make_tree(root, classes=tuple("abcd"), per_class=40, val_per_class=2, size=24)


def _env(runs_dir: Path, tmp_path: Path) -> dict:
    return {**os.environ, "RESNET_EDU_RUNS_DIR": str(runs_dir), "RESNET_EDU_CACHE_DIR": str(tmp_path / "cache"),
            "OMP_NUM_THREADS": "1"}


# ----------------------------------------------------------------------------- the sentence

def test_describe_write_error_names_the_disk_and_its_free_space(tmp_path):
    full = OSError(28, "No space left on device")
    text = disk.describe_write_error(full, tmp_path)
    assert text.startswith("the disk is full (") and "free in" in text and str(tmp_path) in text
    assert disk.describe_write_error(sqlite3.OperationalError("database or disk is full"), tmp_path).startswith(
        "the disk is full")
    wrapped = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")
    wrapped.__context__ = OSError(28, "No space left on device")  # what torch.save(path) raises
    assert disk.describe_write_error(wrapped, tmp_path).startswith("the disk is full")
    assert disk.describe_write_error(ValueError("bad depth"), tmp_path) == "ValueError: bad depth"
    assert not disk.is_write_failure(sqlite3.OperationalError("database is locked"))


# ----------------------------------------------------------------------------- disk full: checkpoint

@pytest.mark.slow
def test_a_checkpoint_that_hits_the_file_size_limit_keeps_the_previous_one_and_the_run_fails_with_the_reason(
        tmp_path):
    runs_dir = tmp_path / "runs"
    tree = make_tree(tmp_path / "data")
    config = TrainConfig(dataset="imagefolder", data_root=str(tree), depth=8, batch_size=16, epochs=1000,
                         max_train_images=64, probe_every=1000)  # 4 iterations per epoch
    env = _env(runs_dir, tmp_path)
    os.environ["RESNET_EDU_CACHE_DIR"] = env["RESNET_EDU_CACHE_DIR"]
    try:
        manager = JobManager(RunStore(runs_dir), device="cpu")
        (run_id,) = manager.submit([config])
        assert wait_until(lambda: manager.store.latest_checkpoint(run_id) is not None)
        manager.stop(run_id)
        assert manager.wait([run_id], timeout=60)
        manager.shutdown()
    finally:
        del os.environ["RESNET_EDU_CACHE_DIR"]
    store = RunStore(runs_dir)
    before = store.get_run(run_id)
    checkpoint = store.latest_checkpoint(run_id)
    saved = checkpoint.read_bytes()
    limit = len(saved) // 2  # the next checkpoint cannot be written; the database stays far below it
    store.close()

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run([sys.executable, "-m", "resnet_edu", "runs", "resume", run_id, "--json"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=240, preexec_fn=limited)
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 1, done.stderr[-2000:]
    assert summary["status"] == "failed"
    assert summary["message"].startswith("a file reached the largest size this process may write")
    assert "ulimit -f" in summary["message"]

    store = RunStore(runs_dir)
    info = store.get_run(run_id)
    assert info["status"] == "failed" and info["message"] == summary["message"]
    assert checkpoint.read_bytes() == saved  # the previous checkpoint, byte for byte
    assert load_checkpoint(checkpoint)["step"] == before["last_checkpoint_step"]
    assert not list(checkpoint.parent.glob("*.tmp"))  # nothing half-written left behind
    steps = list(store.steps(run_id)["step"])
    assert steps == list(range(1, len(steps) + 1)) and len(steps) > before["last_checkpoint_step"]
    store.close()


DATA_CACHE_SCRIPT = textwrap.dedent("""
    import json, resource, sys
    from pathlib import Path
    from resnet_edu.data import load_dataset
    tree, cache = sys.argv[1], Path(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, 50_000))  # the decoded images need ~300 kB
    dataset = load_dataset("imagefolder", root=tree, image_size=24)
    print(json.dumps({"train": dataset.num_train, "files": sorted(p.name for p in cache.rglob("*") if p.is_file())}))
""")


@pytest.mark.slow
def test_a_data_cache_the_disk_refuses_is_skipped_and_training_data_stays_in_memory(tmp_path):
    tree = make_tree(tmp_path / "data")
    cache = tmp_path / "cache"
    env = _env(tmp_path / "runs", tmp_path)
    done = subprocess.run([sys.executable, "-c", DATA_CACHE_SCRIPT, str(tree), str(cache)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["train"] == 160 and result["files"] == []  # no cache and no half-written .tmp


# ----------------------------------------------------------------------------- disk full: metrics

def _can_mount_tmpfs() -> bool:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m none /mnt"],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


def _on_a_full_disk(script: str, tmp_path: Path, *args: str) -> dict:
    """Run ``script`` in a private mount namespace (it mounts a tiny tmpfs at ``tmp_path/small-disk`` and
    fills it), with ``args`` after the mount point and the result file; its exit must be clean. The JSON
    it wrote."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    out = tmp_path / "result.json"
    done = subprocess.run(["unshare", "-rm", sys.executable, "-c", script, str(mount), *args, str(out)],
                          cwd=REPO, env=_env(tmp_path / "unused", tmp_path), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


FULL_DISK_SCRIPT = textwrap.dedent("""
    import json, os, subprocess, sys, time
    from pathlib import Path
    mount, tree, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "none", str(mount)], check=True)
    from resnet_edu.engine import JobManager
    from resnet_edu.runs import RunStore
    from resnet_edu.train import TrainConfig, load_checkpoint

    def wait_until(predicate, timeout=180.0):  # this script runs alone: tests/polling.py is not importable here
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return False

    runs = mount / "runs"
    manager = JobManager(RunStore(runs), device="cpu")
    # probe_every=1: per-layer statistics every iteration, so the metrics grow fast
    config = TrainConfig(dataset="imagefolder", data_root=tree, depth=8, batch_size=16, epochs=1000,
                         max_train_images=320, probe_every=1)  # 20 iterations per epoch
    (run_id,) = manager.submit([config])
    store = manager.store
    assert wait_until(lambda: store.latest_checkpoint(run_id) is not None
                      and store.get_run(run_id)["steps_done"] >= 22), "no checkpoint"
    checkpoint = store.latest_checkpoint(run_id)
    # After the checkpoint of iteration 20, fill the disk to the last byte: the next commit of
    # metrics has nowhere to go (the next checkpoint would come at iteration 40).
    with open(mount / "filler", "wb", buffering=0) as handle:
        chunk = 1 << 20
        while chunk:
            try:
                handle.write(b"x" * chunk)
            except OSError:
                chunk //= 2
    free_when_full = os.statvfs(mount).f_bavail
    committed = len(store.steps(run_id))
    ended = manager.wait([run_id], timeout=60)
    result = {"ended": ended, "committed_when_full": committed, "free_when_full": free_when_full}
    info = store.get_run(run_id)
    result.update(status=info["status"], message=info["message"])
    manager.shutdown()
    os.remove(mount / "filler")  # the teacher frees some space; a new app opens the store
    again = RunStore(runs)
    info = again.get_run(run_id)
    steps = list(again.steps(run_id)["step"])
    failed_at = [int(e.step) for e in again.events(run_id).itertuples() if e.kind == "failed"]
    result.update(status_after=info["status"], message_after=info["message"], steps=steps, failed_at=failed_at,
                  checkpoint_step=load_checkpoint(checkpoint)["step"], recorded_step=info["last_checkpoint_step"],
                  tmp_files=[p.name for p in checkpoint.parent.iterdir() if p.suffix == ".tmp"],
                  listed=len(again.list_runs()))
    again.close()
    out.write_text(json.dumps(result))
""")


@pytest.mark.slow
@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs unshare and a tmpfs mount in a user namespace")
def test_a_full_disk_during_training_fails_the_run_with_the_reason_and_keeps_what_was_committed(tmp_path):
    tree = make_tree(tmp_path / "data")
    result = _on_a_full_disk(FULL_DISK_SCRIPT, tmp_path, str(tree))
    print(json.dumps({k: v for k, v in result.items() if k != "steps"}), "steps:", len(result["steps"]))
    assert result["free_when_full"] == 0 and result["ended"]
    assert 22 <= result["failed_at"][0] < 40, result  # a metrics commit failed, before the next checkpoint (40)
    # What the Lab shows: the run failed, and why, in the store every page reads.
    assert result["status"] == "failed", result
    assert result["message"].startswith("the disk is full (") and "free some space" in result["message"]
    assert result["status_after"] == "failed" and result["message_after"] == result["message"]
    steps = result["steps"]
    assert steps == list(range(1, len(steps) + 1))  # contiguous from 1: nothing committed was lost
    assert len(steps) >= result["committed_when_full"]
    assert result["checkpoint_step"] == result["recorded_step"] and not result["tmp_files"]
    assert result["listed"] == 1


REFUSED_ROWS_SCRIPT = textwrap.dedent("""
    import json, os, subprocess, sys
    from pathlib import Path
    mount, out = Path(sys.argv[1]), Path(sys.argv[2])
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "none", str(mount)], check=True)
    from resnet_edu.runs import RunStore, StoreWriteError
    store = RunStore(mount / "runs")
    run_id = store.create_run("full", {"depth": 8}, status="running")

    def log(step):
        store.log_step(run_id, step, epoch=0, train_seconds=0, train_loss=1, train_error=0.5, lr=0.1,
                       images_per_second=1)

    log(1)
    store.flush()
    with open(mount / "filler", "wb", buffering=0) as handle:   # the disk filled to the last byte
        chunk = 1 << 20
        while chunk:
            try:
                handle.write(os.urandom(chunk))
            except OSError:
                chunk //= 2
    result = {"free": os.statvfs(mount).f_bavail}
    step = 1
    while store.write_error is None and step < 20000:   # rows until a commit is refused
        step += 1
        log(step)
        try:
            store.flush()
        except Exception as error:
            result["flush_error"] = str(error)
    try:
        log(step + 1)
    except StoreWriteError as error:   # the training loop hears of it at its next log call
        result["told"] = str(error)
    os.remove(mount / "filler")   # space again: the kept rows are committed, logging works again
    store.flush()
    result["write_error_after"] = repr(store.write_error)
    log(step + 1)
    result["steps"] = store.steps(run_id)["step"].tolist()
    result["last_logged"] = step + 1
    store.close()
    out.write_text(json.dumps(result))
""")


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs unshare and a tmpfs mount in a user namespace")
def test_the_store_keeps_refused_rows_and_tells_the_logging_thread(tmp_path):
    result = _on_a_full_disk(REFUSED_ROWS_SCRIPT, tmp_path)
    assert result["free"] == 0 and "disk is full" in result["flush_error"]
    assert result["told"].startswith("the disk is full (")
    assert result["write_error_after"] == "None"
    assert result["steps"] == list(range(1, result["last_logged"] + 1))  # the refused rows were kept, then written


def test_csv_export_to_a_full_disk_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    store = RunStore()
    run_id = store.create_run("r", {"depth": 8}, status="finished")
    store.log_step(run_id, 1, epoch=0, train_seconds=0, train_loss=1, train_error=0.5, lr=0.1, images_per_second=1)
    store.close()
    code = main(["runs", "export", run_id, "--output", "/dev/full"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: the disk is full (") and "Traceback" not in err


# ----------------------------------------------------------------------------- a damaged store

def _store_with_runs(root: Path, runs: int = 6, steps: int = 3000) -> list[str]:
    store = RunStore(root)
    ids = []
    for k in range(runs):
        run_id = store.create_run(f"run {k}", {"depth": 20}, status="finished")
        for i in range(1, steps + 1):
            store.log_step(run_id, i, epoch=i / 100, train_seconds=i / 10, train_loss=1 / i, train_error=0.5,
                           lr=0.1, images_per_second=100)
        store.log_event(run_id, steps, "finished")
        ids.append(run_id)
    store.close()
    return ids


def _damage(db: Path, where: float = 0.5, pages: int = 3) -> None:
    size = db.stat().st_size
    with open(db, "r+b") as handle:
        handle.seek(int(size * where) // 4096 * 4096)
        handle.write(os.urandom(4096 * pages))


def test_a_damaged_store_is_kept_aside_and_what_can_be_read_is_saved(tmp_path):
    root = tmp_path / "runs"
    ids = _store_with_runs(root)
    original = (root / "runs.sqlite").read_bytes()
    _damage(root / "runs.sqlite")
    damaged = (root / "runs.sqlite").read_bytes()
    assert damaged != original
    store = RunStore(root)
    report = store.damage_report
    assert report is not None and report.startswith("runs.sqlite was damaged (")
    kept = sorted(root.glob("runs.damaged-*.sqlite"))
    assert len(kept) == 1 and str(kept[0]) in report
    assert kept[0].read_bytes() == damaged  # kept as it was: never overwritten, never deleted
    listed = store.list_runs()
    assert set(listed["run_id"]) == set(ids) and f"{len(ids)} of {len(ids)} runs" in report
    lengths = [len(store.steps(r)) for r in ids]
    assert sum(lengths) >= 4 * 3000  # a few pages lost cost at most part of two runs
    assert sum(lengths) < 6 * 3000
    new = store.create_run("after", {"depth": 8})  # the fresh store works
    assert store.has_run(new)
    store.close()
    again = RunStore(root)
    assert again.damage_report is None  # checked once: the new file is sound
    again.close()


def test_a_file_that_is_not_a_database_is_kept_and_a_new_store_starts(tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    (root / "runs.sqlite").write_bytes(b"half a file copied by a sync tool" * 100)
    store = RunStore(root)
    assert "nothing could be read from it" in store.damage_report
    assert len(list(root.glob("runs.damaged-*.sqlite"))) == 1
    assert store.list_runs().empty
    store.close()


def test_the_cli_says_so_and_goes_on_or_exits_2_when_it_cannot(tmp_path, monkeypatch, capsys):
    root = tmp_path / "runs"
    monkeypatch.setenv("RESNET_EDU_RUNS_DIR", str(root))
    ids = _store_with_runs(root, runs=3, steps=500)
    _damage(root / "runs.sqlite", where=0.6, pages=2)
    assert main(["runs", "list", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("runs.sqlite was damaged (") and "kept as" in captured.err
    assert {row["run_id"] for row in json.loads(captured.out)} <= set(ids)


def _unmovable_damaged_store(root: Path) -> None:
    """``runs.sqlite`` that is not a database, in a folder made immutable (``chattr +i``): nothing can be renamed."""
    root.mkdir(parents=True, exist_ok=True)
    for old in root.iterdir():
        if old.is_file():
            old.unlink()
    (root / "runs.sqlite").write_bytes(b"not a database" * 100)
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(root)],
                                                         capture_output=True).returncode != 0:
        pytest.skip("needs chattr +i (root, or CAP_LINUX_IMMUTABLE) to make a folder refuse a rename")


def _movable(root: Path) -> None:
    subprocess.run(["chattr", "-i", str(root)], capture_output=True)


def test_a_damaged_store_that_cannot_be_moved_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    root = tmp_path / "runs"
    monkeypatch.setenv("RESNET_EDU_RUNS_DIR", str(root))
    _unmovable_damaged_store(root)  # the folder really refuses the rename (as a read-only one would)
    try:
        assert main(["runs", "list"]) == 2
    finally:
        _movable(root)
    err = capsys.readouterr().err
    assert "is damaged" in err and "could not be moved aside (Operation not permitted)" in err
    assert len(err.strip().splitlines()) == 1
    assert (root / "runs.sqlite").read_bytes() == b"not a database" * 100  # untouched


def test_a_damaged_store_is_shown_in_the_app(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    root = tmp_path / "runs"
    monkeypatch.setenv("RESNET_EDU_RUNS_DIR", str(root))
    _store_with_runs(root, runs=2, steps=300)
    _damage(root / "runs.sqlite", where=0.5, pages=2)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    assert not at.exception
    shown = " ".join(w.value for w in at.warning)
    assert "runs.sqlite was damaged" in shown and "runs.damaged-" in shown


def test_a_damaged_store_that_cannot_be_moved_stops_the_app_with_the_sentence(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    root = tmp_path / "runs"
    monkeypatch.setenv("RESNET_EDU_RUNS_DIR", str(root))
    _unmovable_damaged_store(root)
    try:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    finally:
        _movable(root)
    assert not at.exception
    assert any("could not be moved aside (Operation not permitted)" in e.value for e in at.error)


# ----------------------------------------------------------------------------- two apps, one folder

OTHER_APP = textwrap.dedent("""
    import sys, time
    from resnet_edu.runs import RunStore
    store = RunStore(sys.argv[1])
    run_id = store.create_run("the other app's run", {"depth": 20}, status="running")
    print(run_id, flush=True)
    step = 0
    deadline = time.monotonic() + float(sys.argv[2])
    while time.monotonic() < deadline:   # log like a training loop, with layer stats
        step += 1
        store.log_step(run_id, step, epoch=step / 100, train_seconds=step / 50, train_loss=1.0, train_error=0.5,
                       lr=0.1, images_per_second=300)
        store.log_layer_stats(run_id, step, "grad_norm", {f"layer{i}": 0.1 for i in range(20)})
        if step % 50 == 0:
            store.log_event(run_id, step, "checkpoint")
        time.sleep(0.002)
    store.set_status(run_id, "finished")
    store.close()
    print(step, flush=True)
""")


@pytest.mark.slow
def test_two_apps_on_one_folder_share_it_without_interrupting_or_locking_each_other(tmp_path):
    root = tmp_path / "runs"
    RunStore(root).close()
    other = subprocess.Popen([sys.executable, "-c", OTHER_APP, str(root), "8"], cwd=REPO,
                             stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        theirs = other.stdout.readline().strip()
        assert theirs.startswith("r"), other.stderr.read()
        mine = RunStore(root)  # a second app opens the same folder while the first trains
        assert theirs not in mine.interrupted_on_open
        assert mine.get_run(theirs)["status"] == "running"
        own = mine.create_run("my run", {"depth": 8}, status="running")
        errors, step = [], 0
        while other.poll() is None:
            step += 1
            try:
                mine.log_step(own, step, epoch=0, train_seconds=0, train_loss=1, train_error=0.5, lr=0.1,
                              images_per_second=1)
                if step % 20 == 0:
                    mine.log_event(own, step, "checkpoint")
                    mine.list_runs()
                    mine.steps(theirs, since_step=max(0, step - 10))
                    RunStore(root).close()  # a third process (the CLI) opening and closing the store
            except sqlite3.Error as error:  # "database is locked" must never get here
                errors.append(str(error))
            time.sleep(0.003)
        out, err = other.communicate(timeout=30)
        assert other.returncode == 0, err[-2000:]
        assert errors == []
        their_steps = int(out.split()[-1])
        assert mine.get_run(theirs)["status"] == "finished"  # never marked interrupted by us
        assert list(mine.steps(theirs)["step"]) == list(range(1, their_steps + 1))
        mine.flush()
        assert list(mine.steps(own)["step"]) == list(range(1, step + 1))
        assert [e for e in mine.events(theirs)["kind"] if e == "interrupted"] == []
        mine.close()
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()


LOCKER = textwrap.dedent("""
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")   # another writer's write transaction: SQLite's write lock
    conn.execute("UPDATE runs SET name = name")
    print("locked", flush=True)
    sys.stdin.readline()              # held until the test says so
    conn.execute("COMMIT")
""")


def _locker(db: Path) -> subprocess.Popen:
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert locker.stdout.readline().strip() == "locked"
    return locker


def _let_go(locker: subprocess.Popen) -> None:
    if locker.poll() is None:
        locker.stdin.write("release\n")
        locker.stdin.close()
        locker.wait(timeout=30)


def test_a_long_write_elsewhere_is_waited_out_by_the_stores_own_retries(tmp_path, monkeypatch, caplog):
    """Another process holds a write transaction far longer than SQLite's own wait: SQLite gives up, the
    store's retry loop (``BUSY_RETRY_S``) tries again until the lock is gone, and the write lands."""
    from resnet_edu.runs import connections

    root = tmp_path / "runs"
    store = RunStore(root)
    run_id = store.create_run("r", {"depth": 8}, status="running")
    store.close()
    monkeypatch.setattr(connections, "BUSY_TIMEOUT_MS", 100)  # SQLite's own wait: far shorter than the hold
    caplog.set_level("INFO", logger="resnet_edu.runs.connections")
    outcome: dict = {}

    def write() -> None:
        try:
            fresh = RunStore(root)  # connections made now get the short SQLite wait
            fresh.set_status(run_id, "finished", "done")  # waits for the other writer, then lands
            outcome["status"] = fresh.get_run(run_id)["status"]
            fresh.close()
        except BaseException as error:  # noqa: BLE001 - reported below
            outcome["error"] = repr(error)

    def retries() -> int:
        return sum("the database is busy, trying again" in r.getMessage() for r in caplog.records)

    locker = _locker(root / "runs.sqlite")
    writer = threading.Thread(target=write)
    try:
        writer.start()
        # Held until SQLite's own wait has run out three times and the store tried again each time.
        assert wait_until(lambda: retries() >= 3 or not writer.is_alive(), timeout=120)
        assert writer.is_alive() and not outcome, outcome  # still waiting: nothing raised
    finally:
        _let_go(locker)
    writer.join(timeout=120)
    assert outcome == {"status": "finished"}


def test_a_lock_held_past_the_retry_time_ends_in_a_database_is_locked_error(tmp_path, monkeypatch):
    """The retries have an end: past ``BUSY_RETRY_S`` the caller gets SQLite's error, not a hang."""
    from resnet_edu.runs import connections

    root = tmp_path / "runs"
    store = RunStore(root)
    run_id = store.create_run("r", {"depth": 8}, status="running")
    store.close()
    monkeypatch.setattr(connections, "BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(connections, "BUSY_RETRY_S", 0.5)
    fresh = RunStore(root)
    locker = _locker(root / "runs.sqlite")
    try:
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            fresh.set_status(run_id, "finished", "done")
    finally:
        _let_go(locker)
    fresh.set_status(run_id, "finished", "done")  # the lock gone, the same write lands
    assert fresh.get_run(run_id)["status"] == "finished"
    fresh.close()


@pytest.mark.slow
def test_a_big_store_is_read_in_full_only_when_it_changed_since_a_clean_close(tmp_path, monkeypatch):
    monkeypatch.setattr(repair, "FULL_CHECK_MAX_BYTES", 0)  # every file counts as big
    checks = []
    real = repair.quick_check
    monkeypatch.setattr(store_module, "quick_check", lambda conn, full=True: checks.append(full) or real(conn, full))
    root = tmp_path / "runs"
    _store_with_runs(root, runs=2, steps=300)  # opened fresh (full check), closed cleanly
    RunStore(root).close()
    assert checks == [True, False]  # unchanged since the clean close: the small tables only
    conn = sqlite3.connect(root / "runs.sqlite")  # another program writes into it
    conn.execute("UPDATE runs SET name = 'renamed elsewhere'")
    conn.commit()
    conn.close()
    RunStore(root).close()
    assert checks[-1] is True
    RunStore(root).close()
    assert checks[-1] is False
    # A process that writes and exits without closing (as the app does): an orderly exit counts.
    writes = ("from resnet_edu.runs import RunStore; s = RunStore(r'%s'); s.create_run('x', {}); s.flush()"
              % root)
    subprocess.run([sys.executable, "-c", writes], check=True, timeout=120)
    RunStore(root).close()
    assert checks[-1] is False
    # Killed (SIGKILL: no exit handlers) after writing: read in full.
    subprocess.run([sys.executable, "-c", writes + "; import os, signal; os.kill(os.getpid(), signal.SIGKILL)"],
                   timeout=120)
    RunStore(root).close()
    assert checks[-1] is True
    _damage(root / "runs.sqlite", where=0.5, pages=2)  # damage changes the file: found at the next open
    store = RunStore(root)
    assert checks[-1] is True and store.damage_report is not None
    store.close()


# ----------------------------------------------------------------------------- one repairer, while nobody else has it open

HOLDER = textwrap.dedent("""
    import json, os, sys
    from resnet_edu.runs import RunStore
    store = RunStore(sys.argv[1])   # the app (or its training process): the store stays open
    opened = os.stat(store.db_path).st_ino
    print(json.dumps({"report": store.damage_report, "runs": len(store.list_runs()), "inode": opened}), flush=True)
    sys.stdin.readline()            # held open until the test says so
    now = os.stat(store.db_path).st_ino
    print(json.dumps({"inode_now": now, "same_file": now == opened, "report": store.damage_report}), flush=True)
    store.close()
""")


def _holder(root: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOLDER, str(root)], cwd=REPO, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(holder: subprocess.Popen) -> dict:
    out, err = holder.communicate("close\n", timeout=120)
    assert holder.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


def test_a_damaged_store_another_process_has_open_is_left_in_place_and_repaired_once_it_is_alone(tmp_path):
    root = tmp_path / "runs"
    ids = _store_with_runs(root, runs=3, steps=1000)
    app = _holder(root)  # another process (the app) opens the sound store and keeps it open
    try:
        first = json.loads(app.stdout.readline())
        assert first["report"] is None and first["runs"] == 3
        _damage(root / "runs.sqlite", where=0.5, pages=2)
        damaged = (root / "runs.sqlite").read_bytes()
        cli = RunStore(root)  # this process (the CLI) finds the damage while the app has the file open
        report = cli.damage_report
        assert report is not None and "other programs have it open" in report and "left in place" in report
        assert list(root.glob("runs.damaged-*")) == []  # never moved while another process has it open
        assert (root / "runs.sqlite").stat().st_ino == first["inode"]
        assert (root / "runs.sqlite").read_bytes() == damaged
        cli.close()
        after = _finish(app)
        assert after["same_file"] and after["report"] is None  # the app wrote into the one runs.sqlite throughout
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    alone = RunStore(root)  # nobody else has it open now: this opener repairs it
    assert alone.damage_report.startswith("runs.sqlite was damaged (")
    kept = list(root.glob("runs.damaged-*.sqlite"))
    assert len(kept) == 1 and kept[0].read_bytes() == damaged
    assert set(alone.list_runs()["run_id"]) == set(ids)
    alone.close()


def test_two_processes_opening_a_damaged_store_at_once_repair_it_once_and_share_the_new_file(tmp_path):
    root = tmp_path / "runs"
    ids = _store_with_runs(root, runs=3, steps=1000)
    _damage(root / "runs.sqlite", where=0.5, pages=2)
    openers = [_holder(root), _holder(root)]  # started together: both find the damage
    try:
        seen = [json.loads(p.stdout.readline()) for p in openers]
        reports = [s["report"] for s in seen]
        repaired = [r for r in reports if r and r.startswith("runs.sqlite was damaged (")]
        assert len(repaired) == 1 and reports.count(None) == 1, reports  # one repaired; the other waited
        assert len(list(root.glob("runs.damaged-*.sqlite"))) == 1
        inode = (root / "runs.sqlite").stat().st_ino
        assert [s["inode"] for s in seen] == [inode, inode]  # both on the new file
        assert [s["runs"] for s in seen] == [len(ids), len(ids)]
        assert all(_finish(p)["same_file"] for p in openers)
    finally:
        for p in openers:
            if p.poll() is None:
                p.kill()
                p.wait()


# ----------------------------------------------------------------------------- the runs folder deleted under the store

def test_a_runs_folder_deleted_under_a_live_store_gives_one_sentence_and_a_fresh_store(tmp_path):
    root = tmp_path / "runs"
    store = RunStore(root)
    old = store.create_run("before", {"depth": 8}, status="running")
    store.log_step(old, 1, epoch=0, train_seconds=0, train_loss=1, train_error=0.5, lr=0.1, images_per_second=1)
    store.flush()
    store.log_step(old, 2, epoch=0, train_seconds=0, train_loss=1, train_error=0.5, lr=0.1, images_per_second=1)
    shutil.rmtree(root, ignore_errors=True)  # the teacher deletes the folder while the app runs
    report = store.damage_report
    assert report is not None and "was deleted while in use" in report and str(root) in report
    assert store.list_runs().empty and not store.has_run(old)
    seen: dict = {}
    reader = threading.Thread(target=lambda: seen.update(runs=len(store.list_runs())))  # a page's new thread
    reader.start()
    reader.join(timeout=60)
    assert seen == {"runs": 0}
    new = store.create_run("after", {"depth": 8})  # the fresh store works, in the folder the app was given
    store.log_step(new, 1, epoch=0, train_seconds=0, train_loss=1, train_error=0.5, lr=0.1, images_per_second=1)
    store.close()
    again = RunStore(root)  # what was written after the deletion is in the file at the path, not a deleted one
    assert list(again.list_runs()["run_id"]) == [new] and list(again.steps(new)["step"]) == [1]
    assert again.damage_report is None
    again.close()


def test_threads_writing_and_reading_while_the_folder_is_deleted_again_and_again_see_no_error(tmp_path):
    root = tmp_path / "runs"
    store = RunStore(root)
    errors: list[str] = []
    stop = threading.Event()
    runs_made = []

    def write() -> None:  # a training thread: a run, its steps; a new run when its run is gone
        run_id, step = store.create_run("w", {"depth": 8}, status="running"), 0
        runs_made.append(run_id)
        while not stop.is_set():
            step += 1
            try:
                store.log_step(run_id, step, epoch=0, train_seconds=0, train_loss=1, train_error=0.5, lr=0.1,
                               images_per_second=1)
            except RunNotFound:
                run_id, step = store.create_run("w", {"depth": 8}, status="running"), 0
                runs_made.append(run_id)
            except Exception as error:  # noqa: BLE001 - collected and asserted on below
                errors.append(repr(error))
            time.sleep(0.001)

    def read() -> None:  # page threads
        while not stop.is_set():
            try:
                store.list_runs()
            except Exception as error:  # noqa: BLE001 - collected and asserted on below
                errors.append(repr(error))
            time.sleep(0.003)

    threads = [threading.Thread(target=write), threading.Thread(target=read), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    try:
        for made in range(1, 4):
            assert wait_until(lambda made=made: len(runs_made) == made and (root / "runs.sqlite").exists(),
                              timeout=60)
            assert wait_until(lambda: store.list_runs()["steps_done"].sum() > 0 or len(store.steps(runs_made[-1])),
                              timeout=60)
            shutil.rmtree(root, ignore_errors=True)  # the store may make files again while the folder goes
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    assert "was deleted while in use" in store.damage_report
    store.close()


def test_the_app_after_its_runs_folder_is_deleted_shows_the_sentence_not_a_traceback(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    root = tmp_path / "runs"
    monkeypatch.setenv("RESNET_EDU_RUNS_DIR", str(root))
    _store_with_runs(root, runs=2, steps=50)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    assert not at.exception
    shutil.rmtree(root, ignore_errors=True)
    at.switch_page("app_pages/lab.py").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(w.value for w in at.warning)
    assert "was deleted while in use" in shown
    assert (root / "runs.sqlite").exists()


# ----------------------------------------------------------------------------- the space reserve

RESERVE_SCRIPT = textwrap.dedent("""
    import json, os, subprocess, sys
    from pathlib import Path
    mount, out = Path(sys.argv[1]), Path(sys.argv[2])
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "none", str(mount)], check=True)
    from resnet_edu.runs import RunStore
    store = RunStore(mount / "runs")
    reserve = Path(store._reserve.path)
    result = {"reserve_at_open": reserve.exists()}
    run_id = store.create_run("r", {"depth": 8}, status="running")
    filler = mount / "filler"
    with open(filler, "wb", buffering=0) as handle:   # the disk filled to the last byte
        chunk = 1 << 20
        while chunk:
            try:
                handle.write(os.urandom(chunk))
            except OSError:
                chunk //= 2
    result["free_when_full"] = os.statvfs(mount).f_bavail
    refused = []
    for step in range(1, 4000):   # metrics and events until the disk refuses them
        try:
            store.log_step(run_id, step, epoch=0, train_seconds=0, train_loss=1, train_error=0.5, lr=0.1,
                           images_per_second=1)
            if step % 50 == 0:
                store.log_event(run_id, step, "note", {"text": "x" * 2000})
        except Exception as error:   # StoreWriteError from a log call, SQLite's own error from an event
            refused.append(str(error))
            break
    try:
        store.log_event(run_id, 0, "note", {"text": "y" * 20000})   # an event is not a run's end
    except Exception as error:
        refused.append(type(error).__name__)
    result["refused"] = refused
    result["reserve_after_metrics_and_events"] = reserve.exists()
    store.set_status(run_id, "failed", "the disk is full")   # the run's end: may use the reserve
    result["reserve_after_the_end"] = reserve.exists()
    os.remove(filler)   # the teacher frees some space
    other = store.create_run("next", {"depth": 8})
    store.log_step(other, 1, epoch=0, train_seconds=0, train_loss=1, train_error=0.5, lr=0.1, images_per_second=1)
    store.flush()
    result["reserve_when_space_is_back"] = reserve.exists() and reserve.stat().st_size >= store._reserve.size
    result["status"] = store.get_run(run_id)["status"]
    store.close()
    out.write_text(json.dumps(result))
""")


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs unshare and a tmpfs mount in a user namespace")
def test_the_space_reserve_is_given_up_only_for_a_run_to_end_and_made_again_when_space_is_back(tmp_path):
    result = _on_a_full_disk(RESERVE_SCRIPT, tmp_path)
    assert result["reserve_at_open"] and result["free_when_full"] == 0
    assert result["refused"] and "disk is full" in result["refused"][0], result
    assert result["reserve_after_metrics_and_events"]  # metrics and events never take it
    assert not result["reserve_after_the_end"] and result["status"] == "failed"  # given up so the end lands
    assert result["reserve_when_space_is_back"]
