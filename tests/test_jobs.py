"""JobManager: lockstep groups, stop, live shortcut toggle, failures, resume — from other threads."""

import dataclasses
import threading

import pytest

from polling import wait_until
from resnet_edu import lanes, models
from resnet_edu.jobs import JobManager, group_configs
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

    monkeypatch.setattr(lanes, "Trainer", Recording)
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

    monkeypatch.setattr(lanes, "Trainer", PausingAtFive)
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
