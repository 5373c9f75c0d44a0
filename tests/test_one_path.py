"""One training path on every device: the lane loop, host synchronisations, devices, compiled nets.

The GPU runs the code these CPU tests prove: the lane loop has no device branch, a step does not
wait for the device, a NaN is still caught at its iteration, and blocks know their stage even in
a compiled or wrapped net. Tests marked ``cuda`` / ``mps`` run where such a device exists
(``benchmarks/gpu_check.sh`` runs them on a GPU machine).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from polling import wait_until
from torch import nn

from resnet_edu import devices, models
from resnet_edu.data import BatchStream, make_synthetic
from resnet_edu.engine import JobManager, group_configs, lockstep
from resnet_edu.runs import RunStore
from resnet_edu.train import TrainConfig, Trainer

TINY = TrainConfig(depth=8, batch_size=32, epochs=2, max_train_images=128, probe_every=0)  # 4 steps per epoch


class _RecordingTrainer:
    """Stands in for a Trainer on any device: records what the loop asks of it, computes nothing."""

    def __init__(self, config: TrainConfig, steps_per_epoch: int, calls: list) -> None:
        self.config, self.steps_per_epoch, self.calls = config, steps_per_epoch, calls
        self.step, self.last_step = 0, steps_per_epoch * config.epochs
        self.steps_recorded, self.images_per_second, self.precision, self.channels_last = 0, None, "fp32", False
        self.model, self.compiled = nn.Linear(2, 2), None
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
        self.responses = type("Hooks", (), {"remove": lambda _self: calls.append("remove hooks")})()

    done = property(lambda self: self.step >= self.last_step)

    def at_epoch_end(self) -> bool:
        return self.step % self.steps_per_epoch == 0

    def train_step(self, images, labels) -> None:
        self.step += 1
        self.steps_recorded = self.step
        self.calls.append(("train_step", self.step, tuple(labels.tolist())))

    def __getattr__(self, name):  # evaluate, checkpoint, read_metrics, request_shortcuts, restore
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.calls.append((name, self.step))


def _calls_of_the_loop_on(device: torch.device, tmp_path) -> list:
    calls: list = []

    class Recording(lockstep.Lockstep):
        def new_trainer(self, run, num_classes, steps_per_epoch):
            return _RecordingTrainer(run.config, steps_per_epoch, calls)

        def device_label(self, trainer):  # the words for the device, not the loop
            return "a device"

    data = make_synthetic(num_train=64, num_test=16, seed=0)
    stream = BatchStream(data, 32, seed=0)  # the batches stay on the CPU: the trainer computes nothing
    with RunStore(tmp_path / str(device.type)) as store:
        runs = [lockstep.LaneRun(store.create_run(config.run_name, config.to_dict(), status="queued"), config)
                for config in group_configs(TINY, depths=[8], kinds=("plain", "residual"))]
        runs[0].pending_toggles.append((False, [1]))
        Recording(store, device).train(runs, data, stream)
        assert [store.get_run(run.run_id)["status"] for run in runs] == ["finished", "finished"]
    return calls


@pytest.mark.parametrize("device", ["cuda", "mps", "meta"])
def test_the_lane_loop_asks_the_same_of_a_net_on_every_device(device, tmp_path):
    """What the CPU tests run is what a GPU runs: the lockstep loop drives a trainer on the CPU and on
    another device (none is needed: the trainer records) with the very same calls, batches and end."""
    on_cpu = _calls_of_the_loop_on(torch.device("cpu"), tmp_path / "cpu")
    steps = [call for call in on_cpu if call[0] == "train_step"]
    assert [step for _, step, _ in steps] == [1, 1, 2, 2, 3, 3, 4, 4]  # lockstep: both nets take k before k+1
    assert all(steps[i][2] == steps[i + 1][2] for i in range(0, 8, 2))  # on the same batch k
    assert on_cpu.count(("evaluate", 2)) == 2 and on_cpu.count("remove hooks") == 2  # each epoch; each end
    assert _calls_of_the_loop_on(torch.device(device), tmp_path / device) == on_cpu


@pytest.mark.slow
def test_a_step_does_not_wait_for_the_device(monkeypatch):
    """30 steps with probes off read the metrics back 3 times (every 10 steps), nothing more."""
    data = make_synthetic(num_train=320, num_test=32, seed=0)
    trainer = Trainer(dataclasses.replace(TINY, epochs=10), num_classes=10, steps_per_epoch=10)
    stream = BatchStream(data, 32, seed=0, channels_last=True)
    trainer.train_step(*stream.next())  # first call: lazy set-up of kernels, outside the count
    trainer.read_metrics()
    calls = {}
    for name in ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__"):
        original = getattr(torch.Tensor, name)

        def counting(self, *args, _name=name, _original=original, **kwargs):
            calls[_name] = calls.get(_name, 0) + 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counting)
    for _ in range(30):
        trainer.train_step(*stream.next())
    monkeypatch.undo()
    assert sum(calls.values()) <= 30 // trainer.read_every + 2, calls
    assert trainer.steps_recorded == 31 and len(trainer.recent_errors) == 20


@pytest.mark.slow
def test_a_nan_at_iteration_13_ends_that_run_there_and_the_others_go_on(manager, monkeypatch):
    """Metrics are read every 10 iterations; the NaN of iteration 13 is found at 20 and the curve
    ends at 13, where it happened."""

    class Poisoned(Trainer):
        def train_step(self, images, labels):
            if self.config.name == "diverging" and self.step == 12:  # the 13th iteration
                images = images * float("nan")
            return super().train_step(images, labels)

    monkeypatch.setattr(lockstep, "Trainer", Poisoned)
    long = dataclasses.replace(TINY, epochs=8)  # 32 iterations
    run_ids = manager.submit([dataclasses.replace(long, name="diverging"), dataclasses.replace(long, name="healthy")])
    assert manager.wait(run_ids, timeout=300)
    diverged, healthy = (manager.store.get_run(r) for r in run_ids)
    assert diverged["status"] == "diverged" and "iteration 13" in diverged["message"], diverged["message"]
    assert healthy["status"] == "finished" and healthy["steps_done"] == 32
    steps = manager.store.steps(run_ids[0])
    assert list(steps["step"]) == list(range(1, 14))  # the curve up to the divergence stays, nothing after
    assert steps["train_loss"].iloc[:12].notna().all() and steps["train_error"].iloc[-1] == 1.0
    events = manager.store.events(run_ids[0])
    assert int(events.loc[events["kind"] == "diverged", "step"].iloc[0]) == 13


class _Wrapper(nn.Module):
    """Names its net ``module`` as DistributedDataParallel does."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.module = net

    def forward(self, x):
        return self.module(x)


@pytest.mark.slow
def test_a_compiled_or_wrapped_net_still_switches_shortcuts_per_stage():
    torch.manual_seed(0)
    net = models.build_model("cifar", 8).eval()
    x = torch.randn(2, 3, 32, 32)
    compiled = torch.compile(net)
    wrapped = _Wrapper(net)
    assert [name for name, _ in models.residual_blocks(compiled)][0].startswith("_orig_mod.")
    for wrapper in (compiled, wrapped):
        models.set_shortcuts(wrapper, False, stages=[2])
        assert models.shortcut_state(wrapper) == {1: True, 2: False, 3: True}
        assert models.shortcut_state(net) == {1: True, 2: False, 3: True}
        with torch.no_grad():
            torch.testing.assert_close(wrapper(x), net(x))  # a recompile follows the switch
        models.set_shortcuts(wrapper, True)
        with torch.no_grad():
            torch.testing.assert_close(wrapper(x), net(x))
    with pytest.raises(ValueError, match="stage"):
        models.set_shortcuts(compiled, False, stages=[4])


@pytest.mark.slow
def test_a_compiled_run_trains_and_says_so(manager):
    (run_id,) = manager.submit([dataclasses.replace(TINY, compile=True, epochs=1)])
    assert manager.wait([run_id], timeout=600)
    info = manager.store.get_run(run_id)
    assert info["status"] == "finished" and info["steps_done"] == 4
    assert manager.store.events(run_id)["detail"].iloc[0]["compiled"] is True


# ------------------------------------------------------------------------------ devices

def test_auto_picks_the_best_device_and_a_missing_one_is_named(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "mps_available", lambda: False)
    assert devices.resolve_device("auto") == torch.device("cpu") and devices.resolve_device(None).type == "cpu"
    with pytest.raises(ValueError, match="not available here: this machine has cpu"):
        devices.resolve_device("cuda")
    with pytest.raises(ValueError, match="not available"):
        devices.resolve_device("mps")
    with pytest.raises(ValueError, match="unknown device"):
        devices.resolve_device("tpu")
    monkeypatch.setattr(devices, "mps_available", lambda: True)
    assert devices.resolve_device("auto").type == "mps"


def test_auto_precision_is_bf16_only_where_the_hardware_has_it(monkeypatch):
    assert devices.resolve_precision("auto", torch.device("cpu")) == ("bf16" if devices.cpu_has_native_bf16() else "fp32")
    assert devices.resolve_precision("fp32", torch.device("cpu")) == "fp32"
    assert devices.resolve_precision("auto", torch.device("mps")) == "fp32"
    for capability, expected in (((7, 5), "fp32"), ((8, 0), "bf16"), ((9, 0), "bf16")):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None, c=capability: c)
        assert devices.resolve_precision("auto", torch.device("cuda")) == expected


def test_the_apps_manager_starts_no_cuda_context(monkeypatch, tmp_path):
    """The server asks whether there is a card, never more: the card's name comes from a child process."""
    from resnet_edu.engine.process import TrainingProcessManager

    def no_cuda_context(*_args, **_kwargs):
        raise AssertionError("the Streamlit server must not start CUDA")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    for name in ("_lazy_init", "mem_get_info", "get_device_capability", "get_device_name", "get_device_properties"):
        monkeypatch.setattr(torch.cuda, name, no_cuda_context)
    monkeypatch.setattr(devices, "describe_cuda_cards", lambda: [{"name": "Test Card", "capability": [9, 0]}])
    manager = TrainingProcessManager(RunStore(tmp_path / "store"), device="auto")
    assert manager.device == "cuda" and manager.device_label == "Test Card · bf16"
    assert manager.active_runs() == [] and manager.training_process_pid is None
    manager.shutdown()


def test_the_cli_names_the_devices_it_has_when_asked_for_one_it_lacks(capsys):
    from resnet_edu.cli import main

    missing = [d for d in ("cuda", "mps") if d not in devices.available_devices()]
    if not missing:
        pytest.skip("this machine has every device")
    assert main(["train", "--depth", "8", "--device", missing[0], "--max-steps", "1"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "not available here" in error and "cpu" in error


# ------------------------------------------------------------------------------ on real accelerators

ACCELERATORS = [pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(
                    not torch.cuda.is_available(), reason="no CUDA device")]),
                pytest.param("mps", marks=[pytest.mark.mps, pytest.mark.skipif(
                    not devices.mps_available(), reason="no MPS device")])]


@pytest.mark.parametrize("device", ACCELERATORS)
def test_on_the_accelerator_a_group_trains_evaluates_checkpoints_switches_and_resumes(device, tmp_path):
    store = RunStore(tmp_path / "store")
    config = dataclasses.replace(TINY, epochs=3, probe_every=2)  # 12 iterations, evaluation every 4
    first = JobManager(store, device=device)
    try:
        run_ids = first.submit(group_configs(config, depths=[8], kinds=("plain", "residual")))
        assert first.wait(run_ids, timeout=300)
        for run_id in run_ids:
            info = store.get_run(run_id)
            assert info["status"] == "finished" and info["steps_done"] == 12 and info["device"] == device
            assert list(store.steps(run_id)["step"]) == list(range(1, 13)) and len(store.evals(run_id)) == 3
            assert store.steps(run_id)["train_loss"].notna().all()
        (live,) = first.submit([dataclasses.replace(config, epochs=1000)])
        assert wait_until(lambda: first.progress(live)["step"] >= 2)
        first.set_shortcuts(live, False, stages=[2])
        assert wait_until(lambda: models.shortcut_state(first.model(live)) == {1: True, 2: False, 3: True})
        assert wait_until(lambda: first.progress(live)["step"] >= 5)
        first.stop(live)
        assert first.wait([live], timeout=120)
    finally:
        first.shutdown()
    stopped_at = store.get_run(live)["steps_done"]
    second = JobManager(RunStore(tmp_path / "store"), device=device)
    try:
        second.resume(live)
        assert wait_until(lambda: second.progress(live)["step"] >= stopped_at + 2)
        assert second.shortcut_state(live) == {1: True, 2: False, 3: True}  # the switch survived the checkpoint
        second.stop(live)
        assert second.wait([live], timeout=120)
    finally:
        second.shutdown()

