"""JobManager(isolation="process"): the app's runs train in a child process (resnet_edu/engine/worker.py).

One manager (and so one training process) serves the first tests, as in the app, where the
process lives as long as the server; the crash tests come last or start their own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from polling import wait_until

from resnet_edu.engine import JobManager, group_configs, process
from resnet_edu.engine.worker import PARENT_GONE
from resnet_edu.runs import RunStore
from resnet_edu.train import TrainConfig

REPO = Path(__file__).resolve().parents[1]
TINY = TrainConfig(depth=8, batch_size=32, epochs=2, max_train_images=128, probe_every=2)  # 4 steps per epoch
ENDLESS = TrainConfig(depth=8, batch_size=32, epochs=1000, max_train_images=128)
pytestmark = pytest.mark.slow  # every test here starts a training process (a child that makes its data set)


@pytest.fixture(scope="module")
def shared_manager(tmp_path_factory):
    manager = JobManager(RunStore(tmp_path_factory.mktemp("store")), device="cpu", isolation="process")
    yield manager
    manager.shutdown()


@pytest.fixture
def manager(shared_manager):
    yield shared_manager
    shared_manager.stop_all()  # a failed test must not leave a run that blocks the next ones
    assert shared_manager.wait(shared_manager.active_runs(), timeout=60)


def test_a_group_trains_in_the_training_process_and_its_progress_reaches_the_store(manager):
    run_ids = manager.submit(group_configs(TINY, depths=[8], kinds=("plain", "residual")))
    assert all(manager.is_active(r) for r in run_ids)
    assert manager.training_process_pid not in (None, os.getpid())
    seen_steps = set()
    assert wait_until(lambda: seen_steps.add(manager.progress(run_ids[0])["step"]) or not manager.active_runs())
    assert len(seen_steps - {0}) >= 2  # the Lab saw it advance, not only the end
    store = manager.store
    for run_id in run_ids:
        info = store.get_run(run_id)
        assert info["status"] == "finished" and info["steps_done"] == 8
        assert list(store.steps(run_id)["step"]) == list(range(1, 9)) and len(store.evals(run_id)) == 2
        assert store.latest_checkpoint(run_id) is not None
        progress = manager.progress(run_id)
        assert progress["status"] == "finished" and progress["step"] == 8 and progress["fraction"] == 1.0
    assert manager.shortcut_state(run_ids[0]) is None  # ended runs have no switches


def test_the_next_group_reuses_the_running_process(manager):
    (first,) = manager.submit([TINY])  # (started here if no earlier test started it)
    assert manager.wait([first], timeout=180)
    pid = manager.training_process_pid
    if Path(f"/proc/{pid}/environ").exists() and "OMP_WAIT_POLICY" not in os.environ:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert not any(entry.startswith(b"OMP_WAIT_POLICY=") for entry in environ)  # libgomp's own waiting
        threads = process.training_threads()
        assert f"RESNET_EDU_CPU_THREADS={threads}".encode() in environ  # a core left to the app
    (run_id,) = manager.submit([TINY])
    assert manager.wait([run_id], timeout=180)
    assert manager.training_process_pid == pid and manager.store.get_run(run_id)["status"] == "finished"


def test_switches_show_at_once_reach_the_model_between_steps_and_stop_keeps_a_checkpoint(manager):
    (run_id,) = manager.submit([ENDLESS])
    assert manager.shortcut_state(run_id) == {1: True, 2: True, 3: True}
    assert wait_until(lambda: manager.progress(run_id)["step"] >= 2)
    manager.set_shortcuts(run_id, False, stages=[2])
    assert manager.shortcut_state(run_id) == {1: True, 2: False, 3: True}  # at once, before the child saw it
    with pytest.raises(ValueError):
        manager.set_shortcuts(run_id, False, stages=[7])

    def toggles():
        return manager.store.events(run_id).query("kind == 'shortcuts_toggled'")

    assert wait_until(lambda: len(toggles()) == 1)
    assert toggles()["detail"].iloc[0] == {"enabled": False, "stages": [2]}
    step_at_switch = int(toggles()["step"].iloc[0])
    assert wait_until(lambda: manager.progress(run_id)["step"] >= step_at_switch + 3)
    assert manager.shortcut_state(run_id) == {1: True, 2: False, 3: True}  # the store's events agree
    manager.stop(run_id)
    assert manager.wait([run_id], timeout=60)
    info = manager.store.get_run(run_id)
    assert info["status"] == "stopped" and info["message"] == "stopped by the teacher"
    assert manager.store.latest_checkpoint(run_id) is not None
    with pytest.raises(KeyError):
        manager.set_shortcuts(run_id, True)


def test_a_bad_data_folder_fails_the_run_in_the_child_with_its_message(manager, tmp_path):
    (tmp_path / "only" / "a").mkdir(parents=True)
    config = TrainConfig(depth=8, batch_size=4, epochs=1, dataset="imagefolder", data_root=str(tmp_path / "only"))
    (run_id,) = manager.submit([config])
    assert manager.wait([run_id], timeout=120)
    info = manager.store.get_run(run_id)
    assert info["status"] == "failed" and info["message"] and "Traceback" not in info["message"]
    assert manager.progress(run_id)["message"] == info["message"]


def test_a_training_process_that_dies_fails_its_runs_and_the_next_group_gets_a_new_one(manager):
    (run_id,) = manager.submit([ENDLESS])
    assert wait_until(lambda: len(manager.store.steps(run_id)) >= 2)  # committed by the training process
    committed = len(manager.store.steps(run_id))
    pid = manager.training_process_pid
    os.kill(pid, signal.SIGKILL)
    assert manager.wait([run_id], timeout=60)
    info = manager.store.get_run(run_id)
    assert info["status"] == "failed" and "ended unexpectedly" in info["message"]
    assert manager.progress(run_id)["status"] == "failed"
    assert len(manager.store.steps(run_id)) >= committed  # what it committed before dying stays
    (again,) = manager.submit([TINY])
    assert manager.wait([again], timeout=180)
    assert manager.store.get_run(again)["status"] == "finished" and manager.training_process_pid != pid


def test_when_the_app_dies_the_training_process_checkpoints_and_exits(tmp_path):
    """SIGKILL the app: the training process reads end-of-input, stops its run (checkpointed,
    resumable, with the reason), and exits instead of training on as an orphan."""
    store_dir = tmp_path / "store"
    app = textwrap.dedent(f"""
        import json, sys, time
        from polling import wait_until
        from resnet_edu.engine import JobManager
        from resnet_edu.runs import RunStore
        from resnet_edu.train import TrainConfig
        manager = JobManager(RunStore({str(store_dir)!r}), device="cpu", isolation="process")
        (run_id,) = manager.submit([TrainConfig(depth=8, batch_size=32, epochs=1000, max_train_images=128)])
        assert wait_until(lambda: manager.progress(run_id)["step"] >= 2, timeout=600)
        print(json.dumps({{"run_id": run_id, "child": manager.training_process_pid}}), flush=True)
        time.sleep(600)
    """)
    tests = os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))
    process = subprocess.Popen([sys.executable, "-c", app], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": tests})  # the app script imports polling
    try:
        started = json.loads(process.stdout.readline())
    finally:
        process.kill()
        process.wait()
    child = started["child"]
    store = RunStore(store_dir)
    try:
        assert wait_until(lambda: store.get_run(started["run_id"])["status"] == "stopped", timeout=60)
        info = store.get_run(started["run_id"])
        assert info["message"] == PARENT_GONE and store.latest_checkpoint(started["run_id"]) is not None
        assert wait_until(lambda: not Path(f"/proc/{child}").exists() or
                          Path(f"/proc/{child}/stat").read_text().split(")")[1].split()[0] == "Z", timeout=30)
    finally:
        store.close()
