"""Reliability: bad input in the app, hostile names, and a training process killed mid-epoch.

The rows of the issue's bad-input table that other files already prove are not repeated:

| row | where |
| --- | --- |
| depth not 6n+2 / unknown family / too small / too deep (with a memory estimate) | test_models.py, test_train.py, test_cli.py |
| lr <= 0, NaN, absurd; batch 0; epochs 0 | test_train.py, test_cli.py (exit 2, one line) |
| custom depth not 6n+2 in the Lab; a missing image folder in the Lab | test_page_lab.py |
| missing / empty / file / one-class folder, unreadable image (data layer) | test_data.py |
| CIFAR-10 offline | test_data.py, test_cli.py, test_page_lab.py |
| not an image, truncated JPEG, decompression bomb, a file over the byte limit | test_data.py |
| corrupt or foreign checkpoint (weights_only=True) | test_train.py |
| unknown or traversal run id; unicode and hostile names in the store | test_runs.py, test_cli.py |
| divergence ends one run, the others go on | test_jobs.py |
| kill -9 of a process writing the store | test_runs.py |

Here: the same rows where they reach the Lab page (AppTest), a hostile run name through the
CLI to the pages, a real ``python -m resnet_edu train`` killed with SIGKILL mid-epoch and
resumed to the same last iteration, what a SIGKILL of a writer costs counted in rows against
the flush interval, and a run refused memory under a real address-space limit. Everything is
tiny (ResNet-8, a few dozen PNGs).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from image_folders import make_tree
from polling import wait_until
from streamlit.testing.v1 import AppTest

from resnet_edu.cli import main
from resnet_edu.runs import RunStore

REPO = Path(__file__).resolve().parents[1]

APP = str(REPO / "app.py")
LAB = "app_pages/lab.py"


@pytest.fixture
def allowed(tmp_path, monkeypatch):
    """The only data root the app may read from; no teacher passcode (every control open)."""
    root = tmp_path / "allowed"
    root.mkdir()
    monkeypatch.setenv("RESNET_EDU_DATA_ROOTS", str(root))
    monkeypatch.delenv("RESNET_EDU_TEACHER_PASSCODE", raising=False)
    return root


def _manager():
    from ui import get_manager  # the cached JobManager the AppTest scripts use

    return get_manager()


def _open(page: str = LAB) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = "en"
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def _no_runs() -> bool:
    return _manager().store.list_runs().empty


# ------------------------------------------------------------------ the Lab page


def test_lab_number_widgets_refuse_out_of_range_values(allowed):
    """lr 0 / -1 / 1e6, batch 0 or 100000, epochs 0, depth 0 / -4 / 100002: the widget keeps its last good value."""
    at = _open()
    for key, bad in [("lab_lr", 0.0), ("lab_lr", -1.0), ("lab_lr", 1e6), ("lab_batch", 0), ("lab_batch", 100_000),
                     ("lab_epochs", 0), ("lab_max_steps", 0), ("lab_custom_depth", 0), ("lab_custom_depth", -4),
                     ("lab_custom_depth", 100_002)]:
        before = at.number_input(key=key).value
        at.number_input(key=key).set_value(bad).run()
        assert not at.exception, (key, bad, at.exception)
        assert at.number_input(key=key).value == before, (key, bad)
    assert _no_runs()


def _tiny_imagefolder_settings(at: AppTest, batch: int) -> None:
    at.selectbox(key="lab_dataset").set_value("imagefolder").run()
    at.number_input(key="lab_image_size").set_value(32)
    at.multiselect(key="lab_depths_cifar").set_value([])
    at.number_input(key="lab_custom_depth").set_value(8)
    at.radio(key="lab_kind").set_value("residual")
    at.number_input(key="lab_epochs").set_value(1)
    at.number_input(key="lab_max_steps").set_value(2)
    at.number_input(key="lab_batch").set_value(batch)
    at.run()
    assert not at.exception, at.exception


def _folder(at: AppTest, path) -> list[str]:
    at.text_input(key="lab_data_root_folder").input(str(path)).run()
    assert not at.exception, at.exception
    return _errors(at)


def test_lab_refuses_bad_folders_at_once_and_creates_no_run(allowed, tmp_path):
    """A file, '..', a folder outside the data roots, a missing folder: an error as soon as it is typed."""
    at = _open()
    _tiny_imagefolder_settings(at, batch=8)
    a_file = allowed / "notes.txt"
    a_file.write_text("not a folder")
    outside = make_tree(tmp_path / "outside")  # exists, readable, but not under a data root
    rows = [
        (a_file, "is a file, not a folder"),
        (f"{allowed}/sub/../../outside", "'..'"),
        (outside, "outside the allowed data folders"),
        ("/etc", "outside the allowed data folders"),
        (allowed / "nothing-here", "does not exist"),
    ]
    for path, words in rows:
        errors = _folder(at, path)
        assert any(words in e for e in errors), (path, errors)
        assert at.button(key="lab_start").disabled and at.button(key="lab_preset_fig1").disabled
    # Outside the roots, an existing and a missing folder get the same words: the app is no disk probe.
    existing = [e for e in _folder(at, outside) if "outside" in e][0].replace(str(outside), "X")
    missing = [e for e in _folder(at, tmp_path / "nope") if "outside" in e][0].replace(str(tmp_path / "nope"), "X")
    assert existing == missing
    assert _no_runs()


@pytest.mark.slow
def test_lab_image_folder_problems_end_the_runs_with_the_reason(allowed):
    """One class, no images, an unreadable image, a batch larger than the data: the server reads no image
    (only the path is checked at Start); the training process scans the folder and ends the run with one
    clear reason, never a traceback."""
    at = _open()
    _tiny_imagefolder_settings(at, batch=128)
    one = make_tree(allowed / "one-class", classes=("apple",))
    empty = allowed / "empty"
    (empty / "train" / "apple").mkdir(parents=True)
    broken = make_tree(allowed / "broken")
    (broken / "train" / "banana" / "bad.png").write_bytes(b"this is not a png")
    unicode_tree = make_tree(allowed / "데이터 🍎 ünï", per_class=6)  # 12 training images
    rows = [
        (one, "only one class"),
        (empty, "no images"),
        (broken, "bad.png"),
        (unicode_tree, "batch size 128 is larger than the 12 training images"),
    ]
    manager = _manager()
    for path, words in rows:
        assert not [e for e in _folder(at, path) if "data folder" in e], "the folder itself is fine"
        before = set(manager.store.list_runs()["run_id"])
        at.button(key="lab_start").click().run()
        assert not at.exception, at.exception
        (run_id,) = set(manager.store.list_runs()["run_id"]) - before
        assert manager.wait([run_id], timeout=180), path
        info = manager.store.get_run(run_id)
        assert info["status"] == "failed" and words in info["message"], (path, info["message"])
        assert "Traceback" not in info["message"]

    # The same unicode folder with a batch that fits: the run trains to the end.
    at.number_input(key="lab_batch").set_value(4).run()
    before = set(manager.store.list_runs()["run_id"])
    at.button(key="lab_start").click().run()
    assert not at.exception, at.exception
    (run_id,) = set(manager.store.list_runs()["run_id"]) - before
    assert manager.wait([run_id], timeout=180)
    info = manager.store.get_run(run_id)
    assert info["status"] == "finished", info["message"]
    assert info["config"]["data_root"] == str(unicode_tree.resolve())
    assert list(manager.store.steps(run_id)["step"]) == [1, 2]


def test_lab_cifar10_root_outside_the_data_roots_is_refused(allowed, tmp_path):
    at = _open()
    at.selectbox(key="lab_dataset").set_value("cifar10").run()
    at.text_input(key="lab_data_root_cifar").input(str(tmp_path / "elsewhere")).run()
    assert not at.exception, at.exception
    assert any("outside the allowed data folders" in e for e in _errors(at))
    assert at.button(key="lab_preset_fig1").disabled
    assert _no_runs()


# ------------------------------------------------------------------ hostile names


HOSTILE = "../../../etc/passwd 🍎 <script>alert(1)</script> **bold** ![x](http://example.invalid/x.png) 名前"


def test_hostile_run_name_is_only_a_name(allowed, runs_dir, capsys):
    tree = make_tree(allowed / "tiny", per_class=16)
    code = main(["train", "--dataset", "imagefolder", "--data-root", str(tree), "--depth", "8", "--epochs", "1",
                 "--max-steps", "2", "--batch-size", "16", "--name", HOSTILE, "--json"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    run_id = summary["run_id"]
    assert summary["name"] == HOSTILE and summary["steps"] == 2
    # Files are named by run id only: nothing was written anywhere the name points to.
    assert [p.name for p in (runs_dir / "checkpoints").iterdir()] == [run_id]
    everything = [p for p in runs_dir.parent.rglob("*")]
    assert not [p for p in everything if "passwd" in p.name or "script" in p.name]

    # The pages show it as text: no exception; the Lab's table has it verbatim.
    _open("app_pages/degradation.py")
    at = _open()
    assert HOSTILE in list(at.dataframe[0].value["run"])


# ------------------------------------------------------------------ kill -9 mid-epoch, then resume


def _read_only(db: Path):
    """A read-only look at the store, as a page in another process would take it (marks nothing)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        run = conn.execute("SELECT run_id, status, last_checkpoint_step FROM runs").fetchone()
        if run is None:
            return None, None, -1, -1
        last = conn.execute("SELECT MAX(step) FROM steps WHERE run_id = ?", (run[0],)).fetchone()[0]
        return run[0], run[1], run[2] if run[2] is not None else -1, last if last is not None else -1
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_epoch_then_resume_to_the_same_last_iteration(allowed, tmp_path):
    runs_dir = tmp_path / "crash-runs"
    env = {**os.environ, "RESNET_EDU_RUNS_DIR": str(runs_dir), "OMP_NUM_THREADS": "2"}
    # An image folder, not the synthetic set: generating 12,000 synthetic images costs each new
    # process 15-30 s on a busy 2-core machine; 650 small PNGs decode in about a second (cached on disk).
    # Many small batches make a long epoch: the kill must land mid-epoch even on a fast machine, where
    # an iteration takes a few milliseconds and the store commits only every 0.25 s (FLUSH_INTERVAL_S).
    tree = make_tree(allowed / "crash", classes=("a", "b", "c", "d"), per_class=160, val_per_class=2, size=32)
    images, batch, epochs = 640, 4, 2
    per_epoch = images // batch
    total = per_epoch * epochs
    args = [sys.executable, "-m", "resnet_edu", "train", "--dataset", "imagefolder", "--data-root", str(tree),
            "--depth", "8", "--epochs", str(epochs), "--batch-size", str(batch), "--max-train-images",
            str(images), "--json"]
    child = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: list[tuple[float, int]] = []  # (time, last committed iteration) as a reader saw it
    try:
        db = runs_dir / "runs.sqlite"
        deadline = time.monotonic() + 240
        while True:
            assert child.poll() is None, f"the run ended before it could be killed: {child.communicate()}"
            assert time.monotonic() < deadline, "the run never got past its first checkpoint"
            if db.exists():
                try:
                    run_id, status, checkpoint, last = _read_only(db)
                except sqlite3.OperationalError:  # schema not created yet
                    run_id = None
                if run_id is not None:
                    seen.append((time.monotonic(), last))
                    # past at least one epoch checkpoint, a few iterations into the next epoch, not at its end
                    if checkpoint >= per_epoch and checkpoint + 3 <= last <= checkpoint + per_epoch - 4:
                        break
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    seen_last = seen[-1][1]  # read from the store at most ~20 ms before the kill

    with RunStore(runs_dir) as store:  # "the app restarts"
        assert store.interrupted_on_open == [run_id]
        info = store.get_run(run_id)
        assert info["status"] == "interrupted"
        steps = list(store.steps(run_id)["step"])
        assert steps == list(range(1, len(steps) + 1)), "committed iterations are contiguous"
        assert len(steps) >= seen_last, "nothing committed before the kill was lost"
        assert len(steps) < total and steps[-1] % per_epoch, "killed mid-epoch"
        checkpoint_step = info["last_checkpoint_step"]
        assert checkpoint_step is not None and checkpoint_step % per_epoch == 0 and checkpoint_step < len(steps)
        kinds = list(store.events(run_id)["kind"])
        assert kinds[0] == "started" and kinds[-1] == "interrupted"

    resumed = subprocess.run([sys.executable, "-m", "resnet_edu", "runs", "resume", run_id, "--json"], cwd=REPO,
                             env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    summary = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert summary["status"] == "finished" and summary["steps"] == total

    with RunStore(runs_dir) as store:
        frame = store.steps(run_id)
        assert list(frame["step"]) == list(range(1, total + 1)), "no gap, no duplicate"
        assert frame["train_loss"].notna().all()
        evals = store.evals(run_id)
        assert list(evals["step"]) == [per_epoch * (e + 1) for e in range(epochs)]
        events = store.events(run_id)
        resumed_at = events[events["kind"] == "resumed"]["step"].tolist()
        assert resumed_at == [checkpoint_step], "continued from the last checkpoint"
        assert store.get_run(run_id)["steps_done"] == total
        assert store.latest_checkpoint(run_id) is not None


def test_resume_refuses_a_live_run_and_rechecks_a_dead_owner(tmp_path):
    """A run left 'running' by a process that died after this store was opened is seen as interrupted."""
    from resnet_edu.engine import JobManager

    store = RunStore(tmp_path / "store")
    manager = JobManager(store, device="cpu")
    try:
        live = store.create_run("live elsewhere", {"depth": 8}, status="running")  # owned by this process
        with pytest.raises(ValueError, match="in another process"):
            manager.resume(live)
        dead = store.create_run("owner died", {"depth": 8}, status="running")
        with sqlite3.connect(store.db_path) as conn:
            conn.execute("UPDATE runs SET owner = 'gone-host:1:2:3', owner_pid = 999999 WHERE run_id = ?", (dead,))
        with pytest.raises(ValueError, match="no checkpoint yet"):  # past the ownership check
            manager.resume(dead)
        assert store.get_run(dead)["status"] == "interrupted"
        assert store.get_run(live)["status"] == "running"
    finally:
        manager.shutdown()
        store.close()


# ------------------------------------------------------------------ what a kill -9 costs: the last flush interval

STREAM = """
import sys, time
from resnet_edu.runs import RunStore
store = RunStore(sys.argv[1])
run_id = store.create_run("stream", {"depth": 8}, status="running")
print(run_id, flush=True)
step = 0
while True:  # a training loop's logging, never flushed by hand: only the background commits
    step += 1
    now = time.monotonic()
    store.log_step(run_id, step, epoch=0, train_seconds=now, train_loss=1.0, train_error=0.5, lr=0.1,
                   images_per_second=1.0)
    print(step, now, flush=True)  # printed only once it is buffered
    time.sleep(0.002)
"""


def _committed(db: Path, run_id: str) -> list[int]:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        return [r[0] for r in conn.execute("SELECT step FROM steps WHERE run_id = ? ORDER BY step", (run_id,))]
    finally:
        conn.close()


def test_a_writer_killed_mid_stream_loses_only_the_rows_of_its_last_flush_intervals(tmp_path):
    """kill -9 of a process logging a row every few ms: what is lost is at most the rows it logged in the
    last two flush intervals (by its own clock, written with each row), and what was committed is a prefix."""
    from resnet_edu.runs.writer import FLUSH_INTERVAL_S

    root = tmp_path / "runs"
    RunStore(root).close()
    writer = subprocess.Popen([sys.executable, "-c", STREAM, str(root)], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        run_id = writer.stdout.readline().strip()
        assert run_id.startswith("r"), writer.stderr.read()
        logged: list[tuple[int, float]] = []
        while len(_committed(root / "runs.sqlite", run_id)) < 300:  # several background commits have landed
            for _ in range(50):
                step, at = writer.stdout.readline().split()
                logged.append((int(step), float(at)))
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
        for line in writer.stdout.read().splitlines():  # rows logged before the kill, not yet read here
            if len(line.split()) == 2:
                step, at = line.split()
                logged.append((int(step), float(at)))
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    committed = _committed(root / "runs.sqlite", run_id)
    assert committed == list(range(1, len(committed) + 1))  # a prefix: nothing committed is missing
    last_step, last_at = logged[-1]
    lost = [step for step, _ in logged if step > len(committed)]
    recent = [step for step, at in logged if at >= last_at - 2 * FLUSH_INTERVAL_S]
    print(f"logged {last_step}, committed {len(committed)}, lost {len(lost)}; "
          f"logged in the last {2 * FLUSH_INTERVAL_S} s: {len(recent)}")
    assert set(lost) <= set(recent), (len(lost), len(recent))


# ------------------------------------------------------------------ out of memory, for real

OUT_OF_MEMORY = """
import json, resource, sys
from pathlib import Path
tree, runs = sys.argv[1], Path(sys.argv[2])
import torch
from resnet_edu.engine import JobManager
from resnet_edu.runs import RunStore
from resnet_edu.train import TrainConfig
torch.set_num_threads(1)


def mapped() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize"))


manager = JobManager(RunStore(runs), device="cpu")
small = TrainConfig(dataset="imagefolder", data_root=tree, depth=8, batch_size=16, epochs=1, max_train_images=160)
(first,) = manager.submit([small])
manager.wait([first], timeout=300)
# From now on this process may map only 128 MiB more: a ResNet-56 at batch 160 needs far more.
resource.setrlimit(resource.RLIMIT_AS, (mapped() + 128 * 2**20, resource.RLIM_INFINITY))
big = TrainConfig(dataset="imagefolder", data_root=tree, depth=56, batch_size=160, epochs=1, max_train_images=160)
(second,) = manager.submit([big])
manager.wait([second], timeout=300)
resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
manager.shutdown()
print(json.dumps({"first": first, "second": second}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and RLIMIT_AS")
def test_a_run_refused_memory_fails_with_the_reason_and_the_store_stays_intact(tmp_path):
    """A training process under a real address-space limit (RLIMIT_AS): a small run trains, then a
    run that needs more memory than is left is refused it; that run ends failed with the reason,
    the process goes on, and the store is intact."""
    tree = make_tree(tmp_path / "data", classes=tuple("abcd"), per_class=40, val_per_class=2, size=24)
    runs = tmp_path / "runs"
    done = subprocess.run([sys.executable, "-c", OUT_OF_MEMORY, str(tree), str(runs)], cwd=REPO,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "RESNET_EDU_CACHE_DIR": str(tmp_path / "cache")},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]  # the process itself went on
    ids = json.loads(done.stdout.strip().splitlines()[-1])
    conn = sqlite3.connect(runs / "runs.sqlite")
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()
    with RunStore(runs) as store:
        assert store.damage_report is None
        first, second = store.get_run(ids["first"]), store.get_run(ids["second"])
        assert first["status"] == "finished"
        steps = store.steps(ids["first"])["step"].tolist()
        assert steps == list(range(1, len(steps) + 1)) and len(steps) == 10  # 160 images / 16, all kept
        assert second["status"] == "failed" and "allocate memory" in second["message"], second["message"]
        store.create_run("after", {"depth": 8})  # and it takes new writes


# ------------------------------------------------------------------ a damaged last checkpoint, a failed run resumed

def test_the_last_two_checkpoints_are_kept_and_a_cut_last_pt_falls_back_to_the_one_before(tmp_path):
    import torch

    from resnet_edu.train.checkpoint import (CHECKPOINT_FORMAT, LAST_CHECKPOINT, PREVIOUS_CHECKPOINT,
                                             load_checkpoint, load_checkpoint_or_previous, write_checkpoint)

    def save(step: int) -> None:
        write_checkpoint({"format": CHECKPOINT_FORMAT, "step": step, "weights": torch.zeros(4000)}, last)

    last, previous = tmp_path / LAST_CHECKPOINT, tmp_path / PREVIOUS_CHECKPOINT
    for step in (4, 8, 12):
        save(step)
    assert (load_checkpoint(last)["step"], load_checkpoint(previous)["step"]) == (12, 8)
    assert load_checkpoint_or_previous(last)[2] is None
    whole = last.read_bytes()
    last.write_bytes(whole[: len(whole) // 2])  # really cut short
    payload, read, note = load_checkpoint_or_previous(last)
    assert payload["step"] == 8 and read == previous
    assert note.startswith("'last.pt' is not a readable ResNet Lab checkpoint") and "previous.pt, iteration 8" in note
    save(16)  # the cut file is not kept as previous.pt: the older, whole one stays
    assert (load_checkpoint(last)["step"], load_checkpoint(previous)["step"]) == (16, 8)
    assert sorted(p.name for p in tmp_path.iterdir()) == [LAST_CHECKPOINT, PREVIOUS_CHECKPOINT]
    previous.write_bytes(b"")  # both damaged: the newer one's error, nothing made up
    last.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="'last.pt' is not a readable"):
        load_checkpoint_or_previous(last)


@pytest.mark.slow
def test_a_truncated_last_checkpoint_falls_back_to_the_one_before_and_says_so_in_the_events(manager, tmp_path):
    """A run stopped after two epochs has last.pt (the stop) and previous.pt (the epoch before); last.pt
    really cut to half its bytes; Resume reads previous.pt, says so in the run's events, and the run
    goes on from that iteration to its end, its curve contiguous."""
    from resnet_edu.train import TrainConfig, load_checkpoint, model_from_checkpoint
    from resnet_edu.train.checkpoint import LAST_CHECKPOINT, PREVIOUS_CHECKPOINT

    tree = make_tree(tmp_path / "data", classes=tuple("abcd"), per_class=16, val_per_class=2, size=24)
    config = TrainConfig(dataset="imagefolder", data_root=str(tree), depth=8, batch_size=16, epochs=1000,
                         max_steps=40, max_train_images=64, probe_every=1000)  # 4 iterations per epoch
    store = manager.store
    (run_id,) = manager.submit([config])
    assert wait_until(lambda: (store.get_run(run_id)["last_checkpoint_step"] or 0) >= 8, timeout=300)
    manager.stop(run_id)
    assert manager.wait([run_id], timeout=120)
    assert store.get_run(run_id)["status"] == "stopped", store.get_run(run_id)
    folder = store.checkpoint_dir(run_id)
    last, previous = folder / LAST_CHECKPOINT, folder / PREVIOUS_CHECKPOINT
    older_step = load_checkpoint(previous)["step"]
    assert 4 <= older_step <= load_checkpoint(last)["step"]
    whole = last.read_bytes()
    last.write_bytes(whole[: len(whole) // 2])  # cut short, as a crash without write barriers leaves it
    _model, _config, read = model_from_checkpoint(last)  # the pages and analyses read the older one too
    assert read["step"] == older_step and PREVIOUS_CHECKPOINT in read["note"]
    manager.resume(run_id)
    assert manager.wait([run_id], timeout=300)
    info = store.get_run(run_id)
    assert info["status"] == "finished", info
    events = store.events(run_id)
    fallback = events[events["kind"] == "checkpoint_fallback"]
    assert len(fallback) == 1 and PREVIOUS_CHECKPOINT in str(fallback["detail"].iloc[0])
    resumed = events[events["kind"] == "resumed"]
    assert list(resumed["step"]) == [older_step]  # from the older checkpoint's iteration
    steps = store.steps(run_id)["step"].tolist()
    assert steps == list(range(1, 41))


def test_the_lab_offers_resume_for_a_failed_run_with_a_checkpoint(tiny_runs, tiny_run_ids, allowed):
    """A run that failed after its checkpoint (here: its status written as a full disk writes it) gets a
    Resume button; one without a checkpoint does not; Resume continues it."""
    manager = _manager()
    failed, no_checkpoint = tiny_run_ids
    message = "the disk is full (0 bytes free in runs): free some space, then resume the run from the Lab"
    manager.store.set_status(failed, "failed", message)
    manager.store.set_status(no_checkpoint, "failed", message)
    import shutil as _shutil

    _shutil.rmtree(manager.store.checkpoint_dir(no_checkpoint))
    at = _open()
    keys = {b.key for b in at.button if b.key and b.key.startswith("lab_resume_")}
    assert keys == {f"lab_resume_{failed}"}
    at.button(key=f"lab_resume_{failed}").click().run()
    assert not at.exception, at.exception
    assert manager.wait([failed], timeout=300)
    assert manager.store.get_run(failed)["status"] == "finished"
