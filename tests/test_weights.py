"""Weights out and in: export a run, load it into torchvision's ResNet, refuse foreign and hostile files.

Offline here: torchvision's pretrained weights cannot be downloaded, so the tests use nets with
random weights made in the test (never presented as trained) and check the clear message for
the download itself.
"""

from __future__ import annotations

import io
import json
import pickle

import pytest
import torch
import torchvision

from resnet_edu import models, weights
from resnet_edu.cli import main
from resnet_edu.runs import RunStore
from resnet_edu.train import TrainConfig, Trainer


def make_run(store: RunStore, config: TrainConfig, num_classes: int = 10) -> str:
    """A run with one checkpoint of a freshly initialised net (random weights; a few BN statistics moved)."""
    run_id = store.create_run(config.run_name, config.to_dict(), status="finished")
    trainer = Trainer(config, num_classes=num_classes, steps_per_epoch=1)
    with torch.no_grad():  # non-trivial BatchNorm statistics, so that a lost buffer would change the logits
        for module in trainer.model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    path = trainer.checkpoint(store.checkpoint_dir(run_id) / "step0.pt",
                              {"classes": [f"c{i}" for i in range(num_classes)], "mean": [0.5, 0.4, 0.3],
                               "std": [0.2, 0.2, 0.2], "dataset_name": "synthetic"})
    store.record_checkpoint(run_id, 0, path)
    store.flush()
    return run_id


@pytest.mark.slow
def test_export_then_torchvision_strict_load_gives_the_same_logits(tmp_path, runs_dir, capsys):
    store = RunStore(runs_dir)
    config = TrainConfig(family="imagenet", depth=18, shortcut_type="B", image_size=96, max_steps=1)
    run_id = make_run(store, config, num_classes=7)
    store.close()
    out = tmp_path / "export" / "resnet18.pt"
    assert main(["runs", "export", run_id, "--weights", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == {"run_id": run_id, "weights": str(out), "config": str(out.with_suffix(".json"))}
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["torchvision"]["constructor"] == "resnet18"
    assert sidecar["config"] == {"family": "imagenet", "depth": 18, "num_classes": 7, "shortcuts": True,
                                 "shortcut_type": "B", "small_input": False, "image_size": 96}
    assert sidecar["classes"] == [f"c{i}" for i in range(7)] and sidecar["mean"] == [0.5, 0.4, 0.3]

    state = torch.load(out, weights_only=True)  # a plain state_dict: tensors only
    theirs = torchvision.models.resnet18(num_classes=7)
    theirs.load_state_dict(state, strict=True)
    ours = models.build_model("imagenet", 18, 7, shortcut_type="B")
    ours.load_state_dict(state, strict=True)
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        assert torch.allclose(theirs.eval()(x), ours.eval()(x), atol=1e-5)

    loaded = weights.load_weights(out.read_bytes(), sidecar)  # the upload path: same net, same classes
    with torch.no_grad():
        assert torch.allclose(loaded.model(x), ours(x), atol=1e-5)
    assert loaded.classes == sidecar["classes"] and loaded.image_size == 96 and loaded.notes == []


def test_cifar_and_plain_exports_say_why_torchvision_does_not_fit(tmp_path, runs_dir):
    store = RunStore(runs_dir)
    plain = make_run(store, TrainConfig(depth=8, shortcuts=False))
    path, sidecar_path = weights.export_run(store, plain, tmp_path / "plain8.pt")
    sidecar = json.loads(sidecar_path.read_text())
    assert sidecar["torchvision"]["constructor"] is None and "CIFAR" in sidecar["torchvision"]["note"]
    rebuilt = models.build_model("cifar", 8, 10, shortcuts=False)
    rebuilt.load_state_dict(torch.load(path, weights_only=True), strict=True)
    loaded = weights.load_weights(path, sidecar)  # the plain net comes back plain
    assert set(models.shortcut_state(loaded.model).values()) == {False}
    small = make_run(store, TrainConfig(family="imagenet", depth=18, shortcut_type="A", image_size=32))
    note = json.loads(weights.export_run(store, small, tmp_path / "small.pt")[1].read_text())["torchvision"]
    assert note["constructor"] is None and "stem" in note["note"]
    store.close()


def test_export_of_a_run_without_checkpoint_or_unknown_run_exits_2(runs_dir, tmp_path, capsys):
    store = RunStore(runs_dir)
    run_id = store.create_run("empty", TrainConfig().to_dict())
    store.close()
    assert main(["runs", "export", run_id, "--weights", str(tmp_path / "w.pt")]) == 2
    assert main(["runs", "export", "rdeadbeef", "--weights", str(tmp_path / "w.pt")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and "no checkpoint yet" in lines[0] and "no run" in lines[1]
    assert not (tmp_path / "w.pt").exists()


@pytest.mark.parametrize("depth", [18, 50])
def test_a_torchvision_state_dict_is_recognised_and_labelled(depth):
    theirs = getattr(torchvision.models, f"resnet{depth}")()  # random weights, made here
    buffer = io.BytesIO()
    torch.save(theirs.state_dict(), buffer)
    loaded = weights.load_weights(buffer.getvalue())
    assert loaded.config["depth"] == depth and loaded.config["shortcut_type"] == "B"
    assert loaded.image_size == 224 and len(loaded.classes) == 1000 and loaded.classes[0] == "tench"
    assert any("ImageNet" in note for note in loaded.notes)  # what was assumed is said
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(loaded.model(x), theirs.eval()(x), atol=1e-4)


class Boom:
    def __reduce__(self):
        return (print, ("this would run code",))


def _saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("content, message", [
    (b"GIF89a this is a picture, not weights", "not a readable PyTorch weights file"),
    (pickle.dumps(Boom()), "not a readable PyTorch weights file|run code"),
    (_saved({"payload": Boom()}), "run code"),
    (_saved([1, 2, 3]), "holds no state_dict"),
    (_saved({"features.0.weight": torch.zeros(64, 3, 3, 3)}), "not a ResNet"),
    (_saved({**torchvision.models.resnet18().state_dict(), "layer1.0.conv1.weight": torch.zeros(3, 3, 3, 3)}),
     "do not fit"),
], ids=["picture", "pickle", "pickled-code", "list", "vgg-like", "wrong-shape"])
def test_foreign_or_hostile_files_are_refused_with_a_message(content, message):
    with pytest.raises(ValueError, match=message):
        weights.load_weights(content)


def test_size_cap_is_checked_before_reading(tmp_path):
    with pytest.raises(ValueError, match="limit is"):
        weights.load_weights(b"\0" * 2_000, max_bytes=1_000)


def _cifar8_with_classes(fc_weight: torch.Tensor, fc_bias: torch.Tensor) -> bytes:
    state = models.build_model("cifar", 8, 10).state_dict()
    return _saved({**state, "fc.weight": fc_weight, "fc.bias": fc_bias})


def test_a_file_declaring_more_classes_than_any_data_set_is_refused_before_building():
    content = _cifar8_with_classes(torch.zeros(200_000, 64), torch.zeros(200_000))
    with pytest.raises(ValueError, match="200,000 classes"):
        weights.load_weights(content)


def test_a_small_file_declaring_a_huge_layer_is_refused_before_building():
    # 2e9 classes in a few hundred kB: a stride of 0 repeats one stored row (a 512 GB layer if built)
    content = _cifar8_with_classes(torch.zeros(1, 64).expand(2_000_000_000, 64), torch.zeros(1).expand(2_000_000_000))
    assert len(content) < 1_000_000
    with pytest.raises(ValueError, match="declares"):
        weights.load_weights(content)


def test_json_that_contradicts_the_tensors_is_refused():
    content = _saved(torchvision.models.resnet18().state_dict())
    with pytest.raises(ValueError, match="JSON says depth 34"):
        weights.load_weights(content, {"config": {"family": "imagenet", "depth": 34}})


def test_pretrained_offline_gives_the_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(weights.WeightsUnavailable) as absent:
        weights.load_pretrained(50)
    message = str(absent.value)
    assert "resnet50-0676ba61.pth" in message and str(tmp_path / "torch") in message
    assert "upload a weights file" in message


def test_pretrained_from_torchvisions_cache_loads_into_our_net(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    target = weights.pretrained_file(18)
    target.parent.mkdir(parents=True)
    torch.save(torchvision.models.resnet18().state_dict(), target)  # random weights under the real name
    loaded = weights.load_pretrained(18)
    assert loaded.source == "torchvision" and loaded.classes[1] == "goldfish" and loaded.mean == weights.IMAGENET_MEAN
    assert isinstance(loaded.model, models.ResNet) and loaded.model.num_stages == 4
