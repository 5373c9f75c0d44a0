"""Admission: a comparison too big for the memory, or past a queue cap, is refused with a sentence and
nothing is created (resnet_edu.engine.admission), through the job manager and the CLI alike."""

from __future__ import annotations

import pytest

from resnet_edu.cli import main
from resnet_edu.engine import JobManager, admission
from resnet_edu.train import TrainConfig

GIB = 2**30


def test_a_cifar_net_is_estimated_from_two_small_ones_exactly():
    extended = admission.net_shape("cifar", 32)
    measured = admission._measure("cifar", 32, "A", 10, 32)
    assert extended == measured
    deeper = admission.net_shape("cifar", 110)
    assert deeper.saved_per_image > extended.saved_per_image and deeper.parameters > extended.parameters


def test_activations_grow_with_the_batch_and_the_image_size():
    small = admission.memory_needed([TrainConfig(depth=20, batch_size=32)])
    large = admission.memory_needed([TrainConfig(depth=20, batch_size=128)])
    assert large.activations == 4 * small.activations
    photos = admission.memory_needed([TrainConfig(family="imagenet", depth=18, dataset="imagenette",
                                                  image_size=128, batch_size=32)])
    assert photos.per_image > small.per_image
    assert photos.dataset == (9_469 + 3_925) * 3 * 128 * 128


def test_too_big_a_batch_is_refused_with_the_largest_batch_that_fits(monkeypatch):
    monkeypatch.setenv("RESNET_EDU_MEMORY_MARGIN_GB", "0")
    config = TrainConfig(depth=56, batch_size=4096)
    room = 4 * GIB
    with pytest.raises(admission.NotAdmitted) as refused:
        admission.check_memory([config], "cpu", host_room=room)
    message = str(refused.value)
    assert "largest batch that fits is" in message and "nothing was queued" in message
    assert "배치" in refused.value.ko
    largest = int(message.split("largest batch that fits is ")[1].split(".")[0])
    assert 1 <= largest < 4096
    admission.check_memory([TrainConfig(depth=56, batch_size=largest)], "cpu", host_room=room)
    with pytest.raises(admission.NotAdmitted):
        admission.check_memory([TrainConfig(depth=56, batch_size=largest + 1)], "cpu", host_room=room)


def test_a_net_too_deep_for_even_one_image_says_so(monkeypatch):
    monkeypatch.setenv("RESNET_EDU_MEMORY_MARGIN_GB", "0")
    with pytest.raises(admission.NotAdmitted, match="even a batch of 1"):
        admission.check_memory([TrainConfig(depth=1202, batch_size=128)], "cpu", host_room=200 * 2**20)


def test_the_margin_and_the_teachers_limit_apply(monkeypatch):
    config = [TrainConfig(depth=20, batch_size=128)]
    need = admission.memory_needed(config).total
    monkeypatch.setenv("RESNET_EDU_MEMORY_MARGIN_GB", "0")
    admission.check_memory(config, "cpu", host_room=need + 1)
    monkeypatch.setenv("RESNET_EDU_MEMORY_MARGIN_GB", "1")
    with pytest.raises(admission.NotAdmitted):
        admission.check_memory(config, "cpu", host_room=need + 1)
    monkeypatch.setenv("RESNET_EDU_MEMORY_MARGIN_GB", "0")
    monkeypatch.setenv("RESNET_EDU_MEMORY_LIMIT_GB", str(need / 2 / GIB))
    with pytest.raises(admission.NotAdmitted):
        admission.check_memory(config, "cpu", host_room=100 * GIB)


def test_a_gpu_run_is_checked_against_the_cards_free_memory(monkeypatch):
    monkeypatch.setenv("RESNET_EDU_MEMORY_MARGIN_GB", "0")
    config = [TrainConfig(depth=56, batch_size=1024)]
    with pytest.raises(admission.NotAdmitted, match="the GPU"):
        admission.check_memory(config, "cuda", host_room=100 * GIB, device_room=GIB)
    admission.check_memory(config, "cuda", host_room=100 * GIB, device_room=100 * GIB)


def test_the_manager_creates_nothing_for_a_comparison_that_does_not_fit(store, monkeypatch):
    monkeypatch.setenv("RESNET_EDU_MEMORY_LIMIT_GB", "0.5")
    manager = JobManager(store, device="cpu")
    try:
        with pytest.raises(admission.NotAdmitted, match="largest batch"):
            manager.submit([TrainConfig(depth=20, batch_size=4096, max_steps=1)])
        assert len(store.list_runs()) == 0
    finally:
        manager.shutdown()


def test_the_cli_refuses_with_exit_2_and_the_sentence(monkeypatch, capsys):
    monkeypatch.setenv("RESNET_EDU_MEMORY_LIMIT_GB", "0.5")
    code = main(["train", "--depth", "20", "--batch-size", "4096", "--epochs", "1", "--max-steps", "1",
                 "--device", "cpu"])
    assert code == 2
    assert "largest batch that fits" in capsys.readouterr().err


def test_the_servers_queue_cap(store, monkeypatch):
    monkeypatch.setenv("RESNET_EDU_MAX_QUEUED_RUNS", "3")
    for i in range(2):
        store.create_run(f"waiting-{i}", TrainConfig(depth=20).to_dict(), status="queued")
    manager = JobManager(store, device="cpu")
    try:
        with pytest.raises(admission.NotAdmitted, match="RESNET_EDU_MAX_QUEUED_RUNS"):
            manager.submit([TrainConfig(depth=8, shortcuts=s, max_steps=1) for s in (False, True)])
        assert len(store.list_runs()) == 2
    finally:
        manager.shutdown()


def test_a_tabs_queue_cap_counts_only_its_own_active_runs(store, monkeypatch):
    monkeypatch.setenv("RESNET_EDU_MAX_QUEUED_RUNS_PER_TAB", "2")
    mine = [store.create_run(f"mine-{i}", TrainConfig().to_dict(), status="queued") for i in range(2)]
    with admission.in_session("tab-a"):
        admission.remember(mine)
        with pytest.raises(admission.NotAdmitted, match="in this tab"):
            admission.check_queue(store, 1)
    with admission.in_session("tab-b"):
        admission.check_queue(store, 2)  # another tab has its own cap
    store.set_status(mine[0], "finished")
    with admission.in_session("tab-a"):
        admission.check_queue(store, 1)  # an ended run no longer counts


def test_the_analysis_queue_caps(store, monkeypatch):
    monkeypatch.setenv("RESNET_EDU_MAX_QUEUED_JOBS", "2")
    monkeypatch.setenv("RESNET_EDU_MAX_QUEUED_JOBS_PER_TAB", "1")
    first = store.create_analysis("download", {"dataset": "cifar10"})
    with admission.in_session("tab-a"):
        admission.remember(job_ids=[first])
        with pytest.raises(admission.NotAdmitted, match="in this tab"):
            admission.check_analysis_queue(store)
    store.create_analysis("download", {"dataset": "cifar10"})
    manager = JobManager(store, device="cpu")
    try:
        with pytest.raises(admission.NotAdmitted, match="RESNET_EDU_MAX_QUEUED_JOBS"):
            manager.submit_analysis("download", {"dataset": "cifar10"})
        assert len(store.list_analyses()) == 2
    finally:
        manager.shutdown()


def test_a_cap_set_to_nonsense_keeps_its_default(monkeypatch):
    monkeypatch.setenv("RESNET_EDU_MAX_QUEUED_RUNS", "lots")
    assert admission.cap("queued_runs") == admission.CAPS["queued_runs"][1]


def test_the_server_asks_the_driver_for_a_cards_free_memory_without_cuda(tmp_path, monkeypatch):
    tool = tmp_path / "nvidia-smi"
    tool.write_text("#!/bin/sh\necho 2048\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{__import__('os').environ['PATH']}")
    monkeypatch.setattr(admission.torch.cuda, "is_initialized", lambda: False)
    assert admission.available_device_memory("cuda:0") == 2048 * 2**20
    assert admission.available_device_memory("cpu") is None


def _refusals(at_start: bool) -> list[admission.NotAdmitted]:
    """Every form of the memory refusal: on this computer and on a GPU, with a batch that fits and without."""
    refusals = []
    for config, room in ((TrainConfig(depth=56, batch_size=4096), 4 * GIB), (TrainConfig(depth=1202), 200 * 2**20)):
        for device, rooms in (("cpu", {"host_room": room}), ("cuda", {"host_room": 100 * GIB, "device_room": room})):
            with pytest.raises(admission.NotAdmitted) as refused:
                admission.check_memory([config], device, at_start=at_start, **rooms)
            refusals.append(refused.value)
    return refusals


@pytest.mark.parametrize("at_start", [False, True], ids=["at-the-submit", "in-the-training-process"])
def test_a_stored_memory_refusal_reads_in_korean_as_the_refusal_says_it(monkeypatch, at_start):
    from resnet_edu.words import message_words

    monkeypatch.setenv("RESNET_EDU_MEMORY_MARGIN_GB", "0")
    for refusal in _refusals(at_start):
        assert message_words(refusal.en, "ko") == refusal.ko  # what a page shows of a failed run's message
        assert ("did not start" in refusal.en) == at_start and ("nothing was queued" in refusal.en) != at_start


def _batch_of_two_fits(configs: list[TrainConfig]) -> str:
    """A memory limit (GiB) under which the group fits at batch 2 but not at batch 3 (nor at its own)."""
    need = admission.memory_needed(configs)
    return str((need.total - need.activations + 2.5 * need.per_image) / GIB)


def test_the_training_process_refuses_a_group_that_does_not_fit_as_it_starts(store, monkeypatch):
    """The worker's own code path (resnet_edu.engine.worker.carry_out): the runs exist, queued, as the app
    created them; a limit set only where the group starts fails them with the sentence."""
    from resnet_edu.engine import worker
    from resnet_edu.words import message_words

    config = TrainConfig(depth=8, batch_size=64, max_steps=1, max_train_images=128)
    run_ids = [store.create_run(f"net-{i}", config.to_dict(), group_id="g1", status="queued") for i in range(2)]
    monkeypatch.setenv("RESNET_EDU_MEMORY_MARGIN_GB", "0")
    monkeypatch.setenv("RESNET_EDU_MEMORY_LIMIT_GB", _batch_of_two_fits([config, config]))
    runners = worker._Runners(store)
    try:
        worker.carry_out(runners, {"op": "train", "group_id": "g1", "device": "cpu",
                                   "runs": [{"run_id": r, "config": config.to_dict()} for r in run_ids]})
        runner = runners.on("cpu")
        assert runner.wait(run_ids, timeout=60)
        for run_id in run_ids:
            info = store.get_run(run_id)
            assert info["status"] == "failed"
            assert "the largest batch that fits is 2" in info["message"] and "did not start" in info["message"]
            assert "들어가는 가장 큰 배치는 2입니다" in message_words(info["message"], "ko")
            assert len(store.steps(run_id)) == 0  # not one iteration
    finally:
        for runner in runners.all():
            runner.shutdown()


@pytest.mark.slow
def test_a_real_training_process_fails_the_runs_with_the_sentence(tmp_path, monkeypatch):
    """The app's way: the server admits the group (no limit there), the training process (a limit in its
    environment only) refuses it as it starts."""
    from polling import wait_until

    from resnet_edu.engine import process
    from resnet_edu.runs import RunStore

    config = TrainConfig(depth=8, batch_size=64, epochs=1, max_train_images=128)
    limit = _batch_of_two_fits([config])
    own_environment = process.training_environment
    monkeypatch.setattr(process, "training_environment",
                        lambda: {**own_environment(), "RESNET_EDU_MEMORY_LIMIT_GB": limit,
                                 "RESNET_EDU_MEMORY_MARGIN_GB": "0"})
    manager = JobManager(RunStore(tmp_path / "store"), device="cpu", isolation="process")
    try:
        run_ids = manager.submit([config])
        assert wait_until(lambda: not manager.active_runs(), 120)
        info = manager.store.get_run(run_ids[0])
        assert info["status"] == "failed" and "the largest batch that fits is 2" in info["message"]
    finally:
        manager.shutdown()
