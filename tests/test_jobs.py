"""JobManager: lockstep groups, stop, live shortcut toggle, failures, resume — from other threads."""

import dataclasses
import threading

import pytest
from polling import wait_until

from resnet_edu import models
from resnet_edu.engine import JobManager, group_configs, lanes, lockstep
from resnet_edu.runs import RunStore
from resnet_edu.train import TrainConfig, Trainer

TINY = TrainConfig(depth=8, batch_size=32, epochs=2, max_train_images=128, probe_every=2)  # 4 steps per epoch


@pytest.mark.slow
def test_a_group_trains_in_lockstep_to_the_end(manager, monkeypatch):
    """Every net takes iteration k on the same batch k before any net takes k+1 (probes on, as in
    the Lab); then all four finish with their curves, evaluations, events and checkpoints."""
    taken: list[tuple[str, int, int, tuple[int, ...]]] = []  # (net, iteration, batch's data pointer, its labels)

    class Recording(Trainer):
        def train_step(self, images, labels):
            taken.append((self.config.run_name, self.step + 1, images.data_ptr(), tuple(labels.tolist())))
            return super().train_step(images, labels)

    monkeypatch.setattr(lockstep, "Trainer", Recording)
    configs = group_configs(TINY, depths=[8, 14], kinds=("plain", "residual"))
    run_ids = manager.submit(configs)
    assert len(run_ids) == 4 and all(manager.is_active(r) for r in run_ids)
    assert manager.wait(run_ids, timeout=300)

    nets = {net for net, *_ in taken}
    assert len(nets) == 4 and len(taken) == 4 * 8
    first_call = {k: min(i for i, (_, step, *_) in enumerate(taken) if step == k) for k in range(1, 9)}
    last_call = {k: max(i for i, (_, step, *_) in enumerate(taken) if step == k) for k in range(1, 9)}
    for k in range(1, 9):
        round_k = [call for call in taken if call[1] == k]
        assert sorted(net for net, *_ in round_k) == sorted(nets)  # each net once
        assert len({(pointer, labels) for *_, pointer, labels in round_k}) == 1  # one batch for all
        if k < 8:
            assert last_call[k] < first_call[k + 1], f"a net took iteration {k + 1} before all had taken {k}"
    assert len({labels for *_, labels in taken}) > 1  # the batches do change from one iteration to the next

    store = manager.store
    runs = store.list_runs()
    assert set(runs["status"]) == {"finished"} and runs["group_id"].nunique() == 1
    for run_id in run_ids:
        steps = store.steps(run_id)
        assert list(steps["step"]) == list(range(1, 9))
        assert len(store.evals(run_id)) == 2  # one per epoch
        assert list(store.events(run_id)["kind"])[:1] == ["started"]
        assert store.latest_checkpoint(run_id) is not None
        assert store.get_run(run_id)["steps_done"] == 8
    progress = manager.progress(run_ids[0])
    assert progress["status"] == "finished" and progress["fraction"] == 1.0


@pytest.mark.slow
def test_stop_from_another_thread(manager):
    (run_id,) = manager.submit([TrainConfig(depth=8, batch_size=32, epochs=50, max_train_images=128)])
    assert wait_until(lambda: manager.progress(run_id)["step"] >= 2)
    threading.Thread(target=manager.stop, args=(run_id,)).start()
    assert manager.wait([run_id], timeout=60)
    info = manager.store.get_run(run_id)
    assert info["status"] == "stopped"
    assert 2 <= info["steps_done"] < 200
    assert manager.store.latest_checkpoint(run_id) is not None  # a stopped run can be resumed


@pytest.mark.slow
def test_live_shortcut_toggle_reaches_the_model_and_is_recorded(manager):
    (run_id,) = manager.submit([TrainConfig(depth=8, batch_size=32, epochs=50, max_train_images=128)])
    assert wait_until(lambda: manager.progress(run_id)["step"] >= 1)
    threading.Thread(target=manager.set_shortcuts, args=(run_id, False), kwargs={"stages": [2]}).start()
    assert wait_until(lambda: models.shortcut_state(manager.model(run_id)) == {1: True, 2: False, 3: True})
    assert manager.shortcut_state(run_id) == {1: True, 2: False, 3: True}
    manager.set_shortcuts(run_id, False)
    assert wait_until(lambda: not any(models.shortcut_state(manager.model(run_id)).values()))
    manager.stop(run_id)
    assert manager.wait([run_id], timeout=60)
    events = manager.store.events(run_id)
    toggles = events[events["kind"] == "shortcuts_toggled"]
    assert [d["stages"] for d in toggles["detail"]] == [[2], None]
    assert (toggles["step"] >= 1).all()
    with pytest.raises(KeyError):
        manager.set_shortcuts(run_id, True)
    assert manager.shortcut_state(run_id) is None


@pytest.mark.slow
def test_a_bad_data_folder_fails_the_run_not_the_app(manager, tmp_path):
    bad = TrainConfig(dataset="imagefolder", data_root=str(tmp_path / "nowhere"), family="imagenet", depth=18,
                      image_size=32, batch_size=8, epochs=1)
    (run_id,) = manager.submit([bad])
    assert manager.wait([run_id], timeout=60)
    info = manager.store.get_run(run_id)
    assert info["status"] == "failed" and "nowhere" in info["message"]
    (good,) = manager.submit([TINY])  # the manager still works
    assert manager.wait([good], timeout=300)
    assert manager.store.get_run(good)["status"] == "finished"


def test_invalid_group_creates_nothing(manager):
    with pytest.raises(ValueError, match="6n\\+2"):
        manager.submit([TINY, TrainConfig(depth=21)])
    with pytest.raises(ValueError, match="share"):
        manager.submit([TINY, TrainConfig(depth=8, epochs=5)])
    with pytest.raises(ValueError, match="at least one"):
        manager.submit([])
    assert manager.store.list_runs().empty


@pytest.mark.slow
def test_divergence_ends_one_run_and_the_others_go_on(manager, monkeypatch):
    """A NaN loss (here: poisoned inputs from step 3 on, for one net only) ends that run as 'diverged'."""
    original = Trainer.train_step

    def poisoned(self, images, labels):
        if self.config.name == "diverging" and self.step >= 3:
            images = images * float("nan")
        return original(self, images, labels)

    monkeypatch.setattr(Trainer, "train_step", poisoned)
    run_ids = manager.submit([dataclasses.replace(TINY, name="diverging"), dataclasses.replace(TINY, name="healthy")])
    assert manager.wait(run_ids, timeout=300)
    diverged, healthy = (manager.store.get_run(r) for r in run_ids)
    assert diverged["status"] == "diverged" and "iteration 4" in diverged["message"]
    assert healthy["status"] == "finished" and healthy["steps_done"] == 8
    steps = manager.store.steps(run_ids[0])
    assert list(steps["step"]) == [1, 2, 3, 4]  # its curve up to the divergence stays
    assert steps["train_loss"].iloc[:3].notna().all()
    assert "diverged" in set(manager.store.events(run_ids[0])["kind"])


@pytest.mark.slow
def test_resume_continues_to_the_same_final_step(tmp_path, monkeypatch):
    """Stopped after iteration 5 of 12 (iteration 5 waits until Stop was pressed: no race with the
    clock), resumed in a new manager, the run ends at 12 with each iteration logged once."""
    at_five, stop_pressed = threading.Event(), threading.Event()

    class PausingAtFive(Trainer):
        def train_step(self, images, labels):
            result = super().train_step(images, labels)
            if self.step == 5 and not at_five.is_set():
                at_five.set()
                assert stop_pressed.wait(60), "Stop was never pressed"
            return result

    monkeypatch.setattr(lockstep, "Trainer", PausingAtFive)
    store_dir = tmp_path / "store"
    first = JobManager(RunStore(store_dir), device="cpu")
    config = TrainConfig(depth=8, batch_size=32, epochs=3, max_train_images=128)  # 12 steps
    (run_id,) = first.submit([config])
    try:
        assert at_five.wait(180), "the run never reached iteration 5"
        first.stop(run_id)
        stop_pressed.set()
        assert first.wait([run_id], timeout=60)
    finally:
        stop_pressed.set()
        first.shutdown()
    stopped = first.store.get_run(run_id)
    assert stopped["status"] == "stopped" and stopped["steps_done"] == 5  # Stop is honoured before iteration 6

    second = JobManager(RunStore(store_dir), device="cpu")
    try:
        second.resume(run_id)
        assert second.wait([run_id], timeout=300)
        info = second.store.get_run(run_id)
        assert info["status"] == "finished" and info["steps_done"] == 12
        steps = second.store.steps(run_id)
        assert list(steps["step"]) == list(range(1, 13))
        assert "resumed" in set(second.store.events(run_id)["kind"])
        with pytest.raises(ValueError, match="finished"):
            second.resume(run_id)
    finally:
        second.shutdown()


def _recording_models(monkeypatch) -> list:
    """Weak references to every model a LaneRunner builds from now on; runs named "failing" fail at step 2,
    "diverging" diverge there."""
    import weakref

    from resnet_edu.train import Diverged

    models_made = []

    class Recorded(Trainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            models_made.append(weakref.ref(self.model))

        def train_step(self, images, labels):
            if self.step >= 1 and self.config.name in ("failing", "diverging"):
                raise (Diverged if self.config.name == "diverging" else RuntimeError)("made to end here")
            return super().train_step(images, labels)

    monkeypatch.setattr(lockstep, "Trainer", Recorded)
    return models_made


def _end_runs_every_way(runner) -> dict[str, str]:
    """One run of each ending in one runner: finished, stopped, failed, diverged. Returns {ending: run_id}."""
    (finished,) = runner.submit([TINY])
    assert runner.wait([finished], timeout=300)
    failing, diverging = runner.submit([dataclasses.replace(TINY, name="failing"),
                                        dataclasses.replace(TINY, name="diverging")])
    assert runner.wait([failing, diverging], timeout=300)
    (stopped,) = runner.submit([dataclasses.replace(TINY, epochs=50)])
    assert wait_until(lambda: runner.store.get_run(stopped)["steps_done"] >= 1)
    runner.stop(stopped)
    assert runner.wait([stopped], timeout=120)
    ids = {"finished": finished, "failed": failing, "diverged": diverging, "stopped": stopped}
    assert {ending: runner.store.get_run(run_id)["status"] for ending, run_id in ids.items()} == {
        ending: ending for ending in ids}
    return ids


def test_ended_runs_let_go_of_their_models(tmp_path, monkeypatch):
    """Finished, stopped, failed and diverged runs and ended analysis jobs leave nothing behind in the
    runner: no model alive, no lane, no thread, no job in its bookkeeping; what a page asks of them
    afterwards comes from the store, and a stopped run still resumes."""
    import gc

    from resnet_edu.engine import tasks
    monkeypatch.setitem(tasks.KINDS, "nothing", f"{__name__}:_nothing_job")
    made = _recording_models(monkeypatch)
    runner = lanes.LaneRunner(RunStore(tmp_path / "store"), device="cpu")
    try:
        ids = _end_runs_every_way(runner)
        jobs = [runner.submit_analysis("nothing", {}) for _ in range(2)]
        assert wait_until(lambda: all(runner.store.get_analysis(j)["status"] == "finished" for j in jobs))
        assert len(made) == 4  # one model per run (the failing and diverging nets were built too)
        assert wait_until(lambda: not runner._lanes and not runner._analysis_threads and not runner._analyses)
        gc.collect()
        assert [ref() for ref in made] == [None] * len(made), "an ended run's model is still alive"
        assert runner.known_runs() == [] and runner.active_runs() == []
        progress = runner.progress(ids["finished"])
        assert progress["status"] == "finished" and progress["step"] == 8 and progress["fraction"] == 1.0
        assert runner.progress(ids["stopped"])["status"] == "stopped"
        # after the end: stop does nothing, a switch is refused as for any run not training, resume works
        runner.stop(ids["finished"])
        with pytest.raises(KeyError):
            runner.set_shortcuts(ids["finished"], False)
        assert runner.shortcut_state(ids["finished"]) is None and runner.model(ids["finished"]) is None
        runner.resume(ids["stopped"])
        assert runner.is_active(ids["stopped"])
        runner.stop(ids["stopped"])
        assert runner.wait([ids["stopped"]], timeout=120)
        assert wait_until(lambda: not runner.known_runs())
    finally:
        runner.shutdown()
    gc.collect()
    assert all(ref() is None for ref in made)


def test_ended_analysis_jobs_are_pruned(tmp_path, monkeypatch):
    from resnet_edu.engine import tasks
    monkeypatch.setitem(tasks.KINDS, "nothing", f"{__name__}:_nothing_job")
    runner = lanes.LaneRunner(RunStore(tmp_path / "store"), device="cpu")
    try:
        jobs = [runner.submit_analysis("nothing", {}) for _ in range(3)]
        assert wait_until(lambda: all(runner.store.get_analysis(j)["status"] == "finished" for j in jobs))
        assert wait_until(lambda: not runner._analysis_threads and not runner._analyses)
    finally:
        runner.shutdown()


def _nothing_job(context) -> dict:
    return {"done": True}


@pytest.mark.cuda
def test_ended_runs_give_their_gpu_memory_back(tmp_path, monkeypatch):
    import gc

    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    made = _recording_models(monkeypatch)
    runner = lanes.LaneRunner(RunStore(tmp_path / "store"), device="cuda")
    try:
        # the first run warms up what stays for the process's life (CUDA context, cuDNN, the data set's copy)
        (warm,) = runner.submit([TINY])
        assert runner.wait([warm], timeout=300)
        gc.collect()
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        _end_runs_every_way(runner)
        gc.collect()
        torch.cuda.synchronize()
        assert all(ref() is None for ref in made)
        assert torch.cuda.memory_allocated() <= before
    finally:
        runner.shutdown()
