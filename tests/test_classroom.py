"""The classroom's defaults per device, and the data set prepared before the teacher's click."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import streamlit as st
from polling import wait_until
from streamlit.testing.v1 import AppTest

from resnet_edu import cli, devices
from resnet_edu.data import loaded
from resnet_edu.engine import JobManager, prepare
from resnet_edu.engine.process import TrainingProcess
from resnet_edu.engine.worker import _Runners, carry_out
from resnet_edu.runs import RunStore
from resnet_edu.train import TrainConfig, classroom, preset_configs, resolve
from resnet_edu.train.classroom import PAPER_BATCH_SIZE, default_batch_size, default_learning_rate

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- per-device batch sizes

def test_the_paper_recipe_always_trains_in_batches_of_128():
    for device in ("cpu", "cuda", "cuda:1", "mps", "auto", None):
        assert default_batch_size("paper", device) == PAPER_BATCH_SIZE == 128
    assert resolve(TrainConfig(recipe="paper"), "cpu").batch_size == 128


def test_the_classroom_batch_follows_the_device_and_the_data():
    assert default_batch_size("classroom", "cuda") == default_batch_size("classroom", "cuda:1") == 128
    assert default_batch_size("classroom", "mps", "cifar10") == 128
    assert default_batch_size("classroom", "cpu", "cifar10") == classroom.CPU_BATCH_SIZE["real"] < 128
    assert default_batch_size("classroom", "cpu", "imagefolder") == classroom.CPU_BATCH_SIZE["real"]
    assert default_batch_size("classroom", "cpu", "synthetic") == classroom.CPU_BATCH_SIZE["synthetic"]
    here = devices.available_devices()[0]
    assert default_batch_size("classroom", "auto", "cifar10") == default_batch_size("classroom", here, "cifar10")


def test_each_cpu_default_is_the_fastest_batch_that_worked_on_every_seed():
    """Among the batches that met the criterion on all three seeds in both precisions, the default
    has the shortest median in the slower precision."""
    for kind, by_precision in classroom.CPU_MEDIAN_SECONDS.items():
        assert set(by_precision) == {"bf16", "fp32"}, kind
        batches = set.intersection(*(set(by_batch) for by_batch in by_precision.values()))
        slowest = {batch: max(by_batch[batch][0] for by_batch in by_precision.values()) for batch in batches
                   if all(by_batch[batch][1] == 3 for by_batch in by_precision.values())}
        assert min(slowest, key=slowest.get) == classroom.CPU_BATCH_SIZE[kind], kind


def test_preset_configs_give_the_labs_defaults_for_this_device():
    base = TrainConfig(dataset="synthetic", data_root=None, seed=2)
    nets = preset_configs("fig1_fix", base)
    assert [net.run_name for net in nets] == ["plain-20", "plain-56", "ResNet-56"]
    assert {resolve(net, "auto").batch_size for net in nets} == {default_batch_size("classroom", "auto", "synthetic")}
    photos = preset_configs("fig1", TrainConfig(dataset="imagefolder", data_root="/photos", seed=0))
    assert {resolve(net, "auto").batch_size for net in photos} == {default_batch_size("classroom", "auto",
                                                                                      "imagefolder")}
    assert {net.seed for net in nets} == {2}
    assert {resolve(net, "cpu").batch_size for net in preset_configs("fig1", TrainConfig(recipe="paper"))} == {128}


def test_the_classroom_learning_rate_is_the_papers_scaled_to_the_batch():
    assert default_learning_rate("paper", 32) == default_learning_rate("paper", 128) == 0.1
    assert default_learning_rate("classroom", 128) == 0.1
    assert default_learning_rate("classroom", 32) == pytest.approx(0.025)
    assert default_learning_rate("classroom", 64) == pytest.approx(0.05)
    assert resolve(TrainConfig(batch_size=32), "cuda").lr == pytest.approx(0.025)
    assert resolve(TrainConfig(batch_size=32, recipe="paper"), "cpu").lr == 0.1
    assert resolve(TrainConfig(batch_size=32, lr=0.3), "cpu").lr == 0.3  # a chosen lr is kept
    default = resolve(TrainConfig(), "auto")
    assert default.lr == pytest.approx(default_learning_rate("classroom", default.batch_size))
    for net in preset_configs("fig1_fix", TrainConfig(dataset="cifar10", seed=1)):
        net = resolve(net, "cpu")
        assert net.lr == pytest.approx(0.1 * net.batch_size / 128)
    with pytest.raises(ValueError, match="batch size must be a whole number"):
        TrainConfig(batch_size="many").validate()  # the lr default does not fail before the message


def _train_args(*extra: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(["train", "--depth", "20", *extra])


def test_the_cli_uses_the_default_of_the_device_it_is_asked_for():
    assert cli.config_from_args(_train_args("--device", "cpu")).batch_size == default_batch_size("classroom", "cpu")
    assert (cli.config_from_args(_train_args("--device", "cpu", "--dataset", "cifar10")).batch_size
            == classroom.CPU_BATCH_SIZE["real"])
    assert cli.config_from_args(_train_args("--device", "cuda")).batch_size == 128
    assert cli.config_from_args(_train_args("--recipe", "paper", "--device", "cpu")).batch_size == 128
    assert cli.config_from_args(_train_args("--batch-size", "48")).batch_size == 48
    assert cli.config_from_args(_train_args("--batch-size", "64")).lr == pytest.approx(0.05)
    assert cli.config_from_args(_train_args("--batch-size", "64", "--lr", "0.2")).lr == 0.2
    assert cli.config_from_args(_train_args("--recipe", "paper", "--device", "cpu")).lr == 0.1


# ---------------------------------------------------------------- preparing the data before the click

@pytest.mark.slow
def test_a_runner_prepares_a_data_set_in_the_background(monkeypatch):
    monkeypatch.setattr(loaded, "_datasets", {})
    runner = JobManager(device="cpu")
    runner.prepare("synthetic").join(300)
    assert ("synthetic", None, 32) in loaded._datasets
    runner.prepare("imagefolder", "/no/such/folder").join(60)  # cannot load: left to the run to report
    assert ("imagefolder", "/no/such/folder", 32) not in loaded._datasets
    runner.shutdown()


@pytest.mark.slow
def test_the_training_process_understands_prepare(monkeypatch, tmp_path):
    monkeypatch.setattr(loaded, "_datasets", {})
    runners = _Runners(RunStore(tmp_path / "store"))
    carry_out(runners, {"op": "prepare", "device": "cpu", "dataset": "synthetic", "data_root": None,
                        "image_size": 32})
    assert wait_until(lambda: ("synthetic", None, 32) in loaded._datasets, timeout=300)
    for runner in runners.all():
        runner.shutdown()
    runners.store.close()


@pytest.mark.slow
def test_the_app_asks_its_training_process_once_per_data_set(monkeypatch, tmp_path):
    sent = []
    real_send = TrainingProcess.send

    def counting_send(self, message):
        sent.append(message.get("op"))
        return real_send(self, message)

    monkeypatch.setattr(TrainingProcess, "send", counting_send)
    manager = JobManager(RunStore(tmp_path / "store"), device="cpu", isolation="process")
    try:
        manager.prepare("synthetic")
        manager.prepare("synthetic")
        manager.prepare("cifar10")
        assert sent.count("prepare") == 2 and manager.training_process_pid is not None
    finally:
        manager.shutdown()


# ---------------------------------------------------------------- the Lab says what it chose and why

@pytest.fixture
def lab(monkeypatch):
    monkeypatch.setenv("RESNET_EDU_PREPARE", "0")
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("app_pages/lab.py").run()
    assert not at.exception, at.exception
    yield at
    st.cache_resource.clear()


def _expander_markdown(at) -> str:
    """The text behind the Lab's "How these defaults were measured" ("" when it is not shown)."""
    return "\n".join(m.value for expander in at.expander if expander.label in ("How these defaults were measured",
                                                                              "이 기본값을 정한 측정")
                     for m in expander.markdown)


def test_the_lab_shows_the_default_batch_and_its_reason(lab):
    expected = default_batch_size("classroom", "auto", "synthetic")
    captions = [caption.value for caption in lab.caption]
    assert any(caption.startswith(f"Batch {expected},") for caption in captions), captions
    lab.radio(key="lab_recipe").set_value("paper").run()
    assert any(caption.value.startswith("Batch 128, as in the paper") for caption in lab.caption)
    lab.number_input(key="lab_batch").set_value(40).run()  # a chosen batch needs no reason
    assert not any(caption.value.startswith("Batch ") for caption in lab.caption)


@pytest.mark.skipif(devices.available_devices()[0] != "cpu", reason="the CPU's measurements are shown on a CPU")
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_measurements_behind_the_cpu_batch_name_their_machine_and_this_one(lab, lang):
    lab.radio(key="lang").set_value(lang).run()
    plain = [caption.value for caption in lab.caption if caption.value.startswith(("Batch 32", "배치 32"))]
    assert plain and not any(word in plain[0] for word in ("fp32", "bf16", "seed", "시드")), plain  # plain words
    details = _expander_markdown(lab)
    measured_on = classroom.CPU_MEASURED_ON if lang == "en" else classroom.CPU_MEASURED_ON_KO
    assert measured_on in details and "fp32" in details and "bf16" in details
    assert devices.cpu_name() in details  # this computer, named as it is
    assert f"{devices.cpu_threads()} core" in details or f"코어 {devices.cpu_threads()}개" in details


def test_the_lab_scales_the_default_learning_rate_to_the_batch_and_says_why(lab):
    lab.number_input(key="lab_batch").set_value(32).run()
    assert any(caption.value.startswith("Learning rate 0.025: the paper's 0.1, made smaller")
               for caption in lab.caption), [caption.value for caption in lab.caption]
    assert "0.1 × 32/128 = 0.025 (the linear scaling rule" in _expander_markdown(lab)
    lab.radio(key="lab_recipe").set_value("paper").run()
    assert any(caption.value.startswith("Learning rate 0.1, as in the paper") for caption in lab.caption)
    lab.number_input(key="lab_lr").set_value(0.2).run()  # a chosen lr needs no reason
    assert not any(caption.value.startswith("Learning rate") for caption in lab.caption)
    assert "linear scaling rule" not in _expander_markdown(lab)


def test_the_first_iteration_is_rehearsed_on_a_throw_away_net_where_it_helps(monkeypatch):
    """prepare() ends by training a ResNet-8 for one iteration on the CPU (the kernels of every CIFAR
    shape are built before the click); nothing is rehearsed for other image sizes or devices."""
    from resnet_edu.data import make_synthetic

    monkeypatch.setattr(loaded, "_datasets", {("synthetic", None, 32): make_synthetic(num_train=64, num_test=16)})
    assert prepare.rehearse_first_step("synthetic", None, 32, "cpu") is True
    assert prepare.rehearse_first_step("synthetic", None, 64, "cpu") is False
    assert prepare.rehearse_first_step("synthetic", None, 32, "cuda") is False  # never touches a GPU here
    assert list(loaded._datasets) == [("synthetic", None, 32)]  # nothing else was loaded
