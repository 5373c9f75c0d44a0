"""The trainer: recipe, schedule, learning, divergence, toggles, checkpoints."""

import dataclasses
import math

import pytest
import torch

from resnet_edu import models
from resnet_edu.data import BatchStream, make_synthetic
from resnet_edu.runs import RunStore
from resnet_edu.train import (
    Diverged,
    TrainConfig,
    Trainer,
    learning_rate,
    linear_warmup_steps,
    load_checkpoint,
    model_from_checkpoint,
    needs_warmup,
    preset_configs,
    resolve,
)
from resnet_edu.train.classroom import default_batch_size, default_learning_rate


@pytest.fixture(scope="module")
def tiny_data():
    return make_synthetic(num_train=256, num_test=64, seed=0)


def tiny_trainer(data, store=None, run_id=None, **changes):
    config = TrainConfig(**{"depth": 8, "batch_size": 32, "epochs": 2, "probe_every": 2, **changes})
    spe = data.num_train // config.batch_size
    return Trainer(config, num_classes=data.num_classes, steps_per_epoch=spe, store=store, run_id=run_id)


def test_learning_rate_follows_the_paper_scaled_to_the_run():
    assert learning_rate(0, 100, 0.1) == 0.1
    assert learning_rate(49, 100, 0.1) == 0.1
    assert learning_rate(50, 100, 0.1) == pytest.approx(0.01)
    assert learning_rate(75, 100, 0.1) == pytest.approx(0.001)
    assert learning_rate(10, 100, 0.1, warming_up=True) == 0.01
    assert needs_warmup(TrainConfig(depth=110, recipe="paper")) and not needs_warmup(TrainConfig(depth=56, recipe="paper"))


@pytest.mark.parametrize("changes,message", [
    ({"depth": 21}, "not 6n\\+2"),
    ({"family": "vgg"}, "unknown family"),
    ({"lr": 0.0}, "greater than 0"),
    ({"lr": -0.1}, "greater than 0"),
    ({"lr": float("nan")}, "finite"),
    ({"lr": 1e6}, "absurd"),
    ({"batch_size": 0}, "batch size"),
    ({"epochs": 0}, "epochs"),
    ({"recipe": "fast"}, "recipe"),
    ({"family": "imagenet", "depth": 20}, "18, 34"),
    ({"image_size": 64}, "32x32"),
    ({"dataset": "mnist"}, "unknown data set 'mnist': choose one of synthetic, cifar10"),
])
def test_bad_configs_are_refused_with_a_clear_message(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**changes).validate()


def test_presets():
    fig1 = preset_configs("fig1", TrainConfig(epochs=2))
    assert [(c.depth, c.shortcuts, c.epochs) for c in fig1] == [(20, False, 2), (56, False, 2)]
    assert [c.run_name for c in preset_configs("fig6")] == [
        "plain-20", "plain-56", "plain-110", "ResNet-20", "ResNet-56", "ResNet-110"]
    assert {c.family for c in preset_configs("imagenet")} == {"imagenet"}
    with pytest.raises(ValueError, match="unknown preset"):
        preset_configs("fig99")


def test_classroom_recipe_warms_every_net_up_linearly_and_paper_recipe_does_not():
    long = TrainConfig(depth=56, epochs=3)
    assert linear_warmup_steps(long, total_steps=300) == 100
    assert linear_warmup_steps(dataclasses.replace(long, shortcuts=False), total_steps=300) == 100  # same for plain
    assert linear_warmup_steps(long, total_steps=60) == 30  # a short run warms up for half of it at most
    assert linear_warmup_steps(long, total_steps=2) == 1  # = no warm-up
    assert linear_warmup_steps(dataclasses.replace(long, recipe="paper"), total_steps=300) == 0
    lrs = [learning_rate(step, 300, 0.1, linear_warmup=100) for step in range(110)]
    assert lrs[0] == pytest.approx(0.001) and lrs[49] == pytest.approx(0.05) and lrs[99:] == [0.1] * 11
    assert all(a < b for a, b in zip(lrs[:99], lrs[1:100]))
    # the paper's constant warm-up of ResNet-110 belongs to the paper recipe only
    assert needs_warmup(TrainConfig(depth=110, recipe="paper")) and not needs_warmup(TrainConfig(depth=110))


def test_both_recipes_initialise_like_the_paper(tiny_data):
    """He init with every BN gamma = 1: no zero-init of residual branches in either recipe."""
    for recipe in ("classroom", "paper"):
        trainer = tiny_trainer(tiny_data, recipe=recipe)
        assert all(bool((b.bn2.weight == 1).all()) for _, b in models.residual_blocks(trainer.model))


def test_the_trainer_follows_the_warm_up(tiny_data):
    trainer = tiny_trainer(tiny_data, probe_every=0, epochs=100)
    assert trainer.linear_warmup == min(100, trainer.total_steps // 2)
    images = tiny_data.train_images[:32].float().div(255)
    trainer.train_step(images, tiny_data.train_labels[:32])
    base = 0.1 * trainer.config.batch_size / 128  # the classroom recipe scales the paper's lr to the batch
    assert trainer.current_lr() == pytest.approx(base * 2 / trainer.linear_warmup)


@pytest.mark.slow
def test_a_tiny_run_learns(tiny_data):
    trainer = tiny_trainer(tiny_data, probe_every=0, epochs=100, recipe="paper")  # lr 0.1 throughout
    images = tiny_data.train_images[:32].float().div(255).sub(0.5).div(0.25)
    labels = tiny_data.train_labels[:32]
    trainer.train_step(images, labels)
    trainer.read_metrics()
    first = trainer.last_loss
    for _ in range(54):
        trainer.train_step(images, labels)
    trainer.read_metrics()
    last, error = trainer.last_loss, trainer.recent_errors[-1]
    assert last < 0.5 * first  # it memorises the batch: loss 2.3 -> ~0.4 (measured)
    assert error < 0.3
    assert trainer.step == 55 and trainer.steps_recorded == 55


@pytest.mark.slow
def test_steps_probes_and_evals_are_recorded(tiny_data, tmp_path):
    store = RunStore(tmp_path / "store")
    config = TrainConfig(depth=8, batch_size=32, epochs=1, probe_every=2)
    run_id = store.create_run("t", config.to_dict())
    trainer = tiny_trainer(tiny_data, store, run_id, epochs=1, recipe="paper")  # lr 0.1, then the drops
    stream = BatchStream(tiny_data, 32, seed=0, channels_last=True)
    while not trainer.done:
        trainer.train_step(*stream.next())
    loss, error = trainer.evaluate([(tiny_data.test_images.float().div(255), tiny_data.test_labels)])
    assert 0 <= error <= 1 and math.isfinite(loss)
    steps = store.steps(run_id)
    assert list(steps["step"]) == list(range(1, 9))
    assert steps["lr"].iloc[0] == 0.1 and steps["lr"].iloc[-1] == pytest.approx(0.001)
    grads = store.layer_stats(run_id, "grad_norm")
    assert sorted(grads["step"].unique()) == [1, 3, 5, 7]  # recorded before steps 0, 2, 4, 6 complete
    assert set(grads["layer"]) == {name for name, m in trainer.model.named_modules() if isinstance(m, torch.nn.Conv2d)}
    assert (grads["value"] >= 0).all() and (grads[grads["layer"] == "conv1"]["value"] > 0).all()
    last = grads[grads["step"] == 7]
    assert (last["value"] > 0).all()
    responses = store.layer_stats(run_id, "response_std")
    assert "layer1.0.bn2" in set(responses["layer"])
    assert len(store.evals(run_id)) == 1


def test_nan_loss_raises_diverged(tiny_data):
    trainer = tiny_trainer(tiny_data)
    images = torch.full((8, 3, 32, 32), float("nan"))
    with pytest.raises(Diverged, match="iteration 1"):
        trainer.train_step(images, torch.zeros(8, dtype=torch.long))
        trainer.read_metrics()  # the loss is checked when it is read back, at the latest here


def test_queued_toggle_is_applied_before_the_next_step_and_logged(tiny_data, tmp_path):
    store = RunStore(tmp_path / "store")
    run_id = store.create_run("t", {})
    trainer = tiny_trainer(tiny_data, store, run_id)
    stream = BatchStream(tiny_data, 32, seed=0)
    trainer.train_step(*stream.next())
    trainer.request_shortcuts(False, stages=[2, 3])
    assert trainer.shortcut_state() == {1: True, 2: False, 3: False}
    assert models.shortcut_state(trainer.model) == {1: True, 2: True, 3: True}  # not yet: between steps only
    trainer.train_step(*stream.next())
    assert models.shortcut_state(trainer.model) == {1: True, 2: False, 3: False}
    events = store.events(run_id)
    toggle = events[events["kind"] == "shortcuts_toggled"].iloc[0]
    assert toggle["step"] == 1 and toggle["detail"] == {"enabled": False, "stages": [2, 3]}
    with pytest.raises(ValueError, match="stage"):
        trainer.request_shortcuts(True, stages=[5])


def test_checkpoint_round_trip_is_weights_only(tiny_data, tmp_path):
    trainer = tiny_trainer(tiny_data)
    stream = BatchStream(tiny_data, 32, seed=0)
    for _ in range(3):
        trainer.train_step(*stream.next())
    models.set_shortcuts(trainer.model, False, [3])
    path = trainer.checkpoint(tmp_path / "last.pt", {"classes": list(tiny_data.classes)})
    payload = load_checkpoint(path)
    clone = tiny_trainer(tiny_data)
    clone.restore(payload)
    assert clone.step == 3
    assert models.shortcut_state(clone.model) == {1: True, 2: True, 3: False}
    for a, b in zip(trainer.model.state_dict().values(), clone.model.state_dict().values()):
        assert torch.equal(a, b)
    model, config, info = model_from_checkpoint(path)
    assert config.depth == 8 and info["classes"] == list(tiny_data.classes) and not model.training


def test_corrupt_and_foreign_checkpoints_are_refused(tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x80\x04 this is not a checkpoint")
    with pytest.raises(ValueError, match="not a readable"):
        load_checkpoint(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(ValueError, match="not a ResNet Lab checkpoint"):
        load_checkpoint(foreign)

    class Evil:  # pickled code must never run: weights_only refuses it
        def __reduce__(self):
            return (print, ("pwned",))

    evil = tmp_path / "evil.pt"
    torch.save({"format": "resnet-lab-checkpoint-1", "x": Evil()}, evil)
    with pytest.raises(ValueError, match="not a readable"):
        load_checkpoint(evil)
    with pytest.raises(ValueError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_config_round_trips_through_dict():
    config = TrainConfig(depth=56, shortcuts=False, lr=0.05, name="한글 이름")
    assert TrainConfig.from_dict({**config.to_dict(), "unknown_future_field": 1}) == config
    assert dataclasses.replace(config, name=None).run_name == "plain-56"


# ---------------------------------------------------------------- defaults decided when a run is submitted

def test_a_default_config_is_the_same_on_every_machine(monkeypatch):
    """Nothing about the machine is frozen into TrainConfig(): it asks no device what it is."""
    from resnet_edu import devices

    def no_device(*_args, **_kwargs):
        raise AssertionError("TrainConfig() asked which device this machine has")

    monkeypatch.setattr(devices, "resolve_device", no_device)
    config = TrainConfig()
    assert (config.batch_size, config.lr) == (None, None) and not config.resolved
    assert config == TrainConfig.from_dict(config.to_dict())
    config.validate()  # None means "the recipe's default": not an error


@pytest.mark.parametrize("device,batch", [("cpu", default_batch_size("classroom", "cpu")), ("cuda", 128)])
def test_resolve_fills_in_the_recipes_defaults_for_the_device(device, batch):
    config = resolve(TrainConfig(), device)
    assert config.resolved and (config.batch_size, config.lr) == (batch, default_learning_rate("classroom", batch))
    assert resolve(config, "cuda") is config  # numbers already chosen are kept, whatever the device
    chosen = resolve(TrainConfig(batch_size=48, lr=0.3), device)
    assert (chosen.batch_size, chosen.lr) == (48, 0.3)


def test_replace_never_carries_a_default_of_the_old_settings():
    photos = dataclasses.replace(TrainConfig(), dataset="cifar10", recipe="paper")
    assert (photos.batch_size, photos.lr) == (None, None)
    assert (resolve(photos, "cpu").batch_size, resolve(photos, "cpu").lr) == (128, 0.1)  # the paper's, not 32's
    classroom_cpu = resolve(TrainConfig(recipe="paper"), "cpu")
    assert resolve(dataclasses.replace(TrainConfig(recipe="paper"), recipe="classroom"), "cpu").batch_size == \
        default_batch_size("classroom", "cpu") != classroom_cpu.batch_size


def test_resolve_refuses_a_bad_data_set_before_choosing_a_batch():
    with pytest.raises(ValueError, match="unknown data set 'mnist'"):
        resolve(TrainConfig(dataset="mnist"), "cpu")


def test_the_stored_config_holds_numbers(manager):
    (run_id,) = manager.submit([TrainConfig(depth=8, epochs=1, max_steps=1, max_train_images=64)])
    stored = manager.store.get_run(run_id)["config"]
    assert stored["batch_size"] == default_batch_size("classroom", "cpu")
    assert stored["lr"] == pytest.approx(default_learning_rate("classroom", stored["batch_size"]))


def test_a_refused_write_keeps_the_previous_file_whole_and_leaves_nothing_behind(tmp_path, monkeypatch):
    """Checkpoints and the data-set cache write through one helper: the old file or the new one, never half."""
    from resnet_edu.data import saving
    from resnet_edu.train import write_checkpoint

    path = tmp_path / "last.pt"
    write_checkpoint({"step": 1}, path)

    def full_disk(payload, handle):
        handle.write(b"half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(saving.torch, "save", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_checkpoint({"step": 2}, path)
    assert torch.load(path, weights_only=True) == {"step": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]
