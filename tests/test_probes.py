"""probes: gradient norms, layer responses (Fig. 7), the measurement at initialisation."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
from torch import nn

from resnet_edu.inside import gradients
from resnet_edu.models import build_model, on_main_path
from resnet_edu.train import probes

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _batch(n=8, size=16, classes=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, size, size, generator=g), torch.randint(0, classes, (n,), generator=g)


def test_gradient_norms_match_a_manual_computation():
    torch.manual_seed(0)
    model = build_model("cifar", 8)
    x, y = _batch()
    nn.functional.cross_entropy(model(x), y).backward()
    norms = probes.conv_gradient_norms(model)
    convs = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    assert list(norms) == [n for n, _ in convs]  # every conv, in forward order
    assert list(norms)[:3] == ["conv1", "layer1.0.conv1", "layer1.0.conv2"]
    for name, module in convs:
        manual = math.sqrt(float((module.weight.grad.double() ** 2).sum()))
        assert norms[name] == pytest.approx(manual, rel=1e-5)


def test_gradient_norms_empty_before_backward():
    assert probes.conv_gradient_norms(build_model("cifar", 8)) == {}


def test_response_recorder_records_the_pre_addition_response():
    torch.manual_seed(0)
    model = build_model("cifar", 8)  # residual: layer1.0 adds its shortcut after bn2
    with torch.no_grad():  # make the branch's BN output differ clearly from the block output
        model.layer1[0].bn2.weight.mul_(3.0)
        model.layer1[0].bn2.bias.add_(0.5)
    model.eval()
    x, _ = _batch()
    recorder = probes.ResponseRecorder(model)
    recorder.armed = True
    with torch.no_grad():
        block_out = model.layer1[0](model.relu(model.bn1(model.conv1(x))))
        recorder.armed = False
    stds = recorder.collect()
    recorder.remove()

    with torch.no_grad():  # the same forward by hand
        stem = model.relu(model.bn1(model.conv1(x)))
        block = model.layer1[0]
        inner = block.bn1(block.conv1(stem))
        response = block.bn2(block.conv2(block.act1(inner)))  # after BN, before ReLU and the addition
        assert stds["bn1"] == pytest.approx(float(model.bn1(model.conv1(x)).std()), rel=1e-5)
    assert stds["layer1.0.bn1"] == pytest.approx(float(inner.std()), rel=1e-5)
    assert stds["layer1.0.bn2"] == pytest.approx(float(response.std()), rel=1e-5)
    assert stds["layer1.0.bn2"] != pytest.approx(float(block_out.std()), rel=1e-2)  # not the post-addition value
    assert stds["layer1.0.bn2"] != pytest.approx(float((response + stem).std()), rel=1e-2)


def test_response_recorder_disarmed_records_nothing_and_removes_hooks():
    model = build_model("cifar", 8)
    recorder = probes.ResponseRecorder(model)
    model(_batch()[0])
    assert recorder.collect() == {}
    recorder.remove()
    assert all(not m._forward_hooks for m in model.modules())


def test_response_layers_are_the_3x3_convs_bns():
    names = list(probes.response_layers(build_model("cifar", 20)))
    assert names[0] == "bn1" and len(names) == 1 + 18
    bottleneck = list(probes.response_layers(build_model("imagenet", 50, small_input=True)))
    assert all(n == "bn1" or n.endswith(".bn2") for n in bottleneck) and len(bottleneck) == 1 + 16


def test_measure_at_init_plain_vs_residual():
    batch = _batch(n=16)
    state = torch.random.get_rng_state()
    plain = gradients.measure_at_init("cifar", 14, False, batch)
    residual = gradients.measure_at_init("cifar", 14, True, batch)
    assert torch.equal(state, torch.random.get_rng_state())  # global random state untouched
    assert plain["name"] == "plain-14" and residual["name"] == "ResNet-14"
    assert plain["first"] == "conv1" and plain["last"] == "layer3.1.conv2"
    assert plain["ratio"] == pytest.approx(plain["grad_norm"]["conv1"] / plain["grad_norm"]["layer3.1.conv2"])
    assert len(plain["response_std"]) == 1 + 12 and math.isfinite(plain["loss"])
    again = gradients.measure_at_init("cifar", 14, False, batch)
    assert again["grad_norm"] == plain["grad_norm"]  # seeded: the same net every time
    assert plain["ratio"] > residual["ratio"]  # gradients grow toward the input of a plain net


def test_relative_norms_at_init():
    """Under BN the step that matters is ‖∇W‖/‖W‖: measured beside the raw norms, per conv."""
    result = gradients.measure_at_init("cifar", 14, False, _batch(n=16))
    first, last = result["first"], result["last"]
    assert set(result["weight_norm"]) == set(result["grad_norm"]) == set(result["relative"])
    assert result["relative"][first] == pytest.approx(result["grad_norm"][first] / result["weight_norm"][first])
    assert result["relative_ratio"] == pytest.approx(result["relative"][first] / result["relative"][last])
    # He init (fan_out): a conv's ‖W‖² ≈ 2 · its input channels, so the first conv (3 inputs) is the smallest.
    assert result["weight_norm"][first] < result["weight_norm"][last]
    frame = gradients.init_norms_frame([result])
    assert {"grad_norm", "weight_norm", "relative"} <= set(frame.columns)
    assert frame["relative"].to_numpy() == pytest.approx((frame["grad_norm"] / frame["weight_norm"]).to_numpy())


def test_relative_ratio_from_a_checkpoint(tmp_path):
    from resnet_edu.models import build_model
    from resnet_edu.train import CHECKPOINT_FORMAT

    model = build_model("cifar", 8)
    path = tmp_path / "last.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "model": model.state_dict(), "step": 30}, path)
    step, weights = gradients.checkpoint_weight_norms(path)
    assert step == 30 and weights == pytest.approx(probes.conv_weight_norms(model))
    names = [n for n in weights if on_main_path(n)]
    stats = pd.DataFrame([{"step": s, "layer": n, "layer_index": i, "value": float(s)}
                          for s in (10, 20, 40) for i, n in enumerate(names)])
    result = gradients.relative_ratio_at(stats, step, weights)
    assert result["step"] == 20  # the last record at or before the checkpoint
    assert result["ratio"] == pytest.approx(weights[names[-1]] / weights[names[0]])  # equal ‖∇W‖ everywhere
    assert math.isnan(gradients.relative_ratio_at(stats, 5, weights)["ratio"])
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError):
        gradients.checkpoint_weight_norms(tmp_path / "bad.pt")


def test_relative_norms_skip_zero_weights():
    out = probes.relative_norms({"a": 1.0, "b": 2.0, "c": 3.0}, {"a": 2.0, "b": 0.0})
    assert out["a"] == 0.5 and math.isnan(out["b"]) and "c" not in out


def test_ratio_ignores_projection_shortcuts():
    assert gradients.first_last_ratio({"conv1": 4.0, "layer3.0.conv2": 2.0, "layer3.0.downsample.0": 100.0}) == 2.0
    assert math.isnan(gradients.first_last_ratio({"conv1": 1.0}))


def _stats():
    # layer names whose alphabetical order is not the depth order ("layer1.10" < "layer1.2")
    names = ["conv1", "layer1.2.conv1", "layer1.10.conv1", "layer1.10.downsample.0"]
    rows = []
    for step in (0, 10, 20):
        for index, name in enumerate(names):
            rows.append({"step": step, "layer": name, "layer_index": index, "value": (index + 1) * (step + 1.0)})
    return pd.DataFrame(rows).sample(frac=1, random_state=0)


def test_layer_step_matrix_and_ratio_over_time_follow_depth_order():
    matrix = gradients.layer_step_matrix(_stats())
    assert list(matrix.index) == ["conv1", "layer1.2.conv1", "layer1.10.conv1"]
    assert list(matrix.columns) == [0, 10, 20]
    ratio = gradients.ratio_over_time(_stats())
    assert list(ratio["step"]) == [0, 10, 20]
    assert ratio["first_layer"].iloc[0] == "conv1" and ratio["last_layer"].iloc[0] == "layer1.10.conv1"
    assert ratio["ratio"].tolist() == pytest.approx([1 / 3] * 3)
    assert gradients.ratio_over_time(pd.DataFrame(columns=["step", "layer", "layer_index", "value"])).empty


def test_profile_at_latest_step_with_rank():
    profile = gradients.profile_at(_stats())
    assert set(profile["step"]) == {20}
    assert profile["layer_index"].tolist() == [0, 1, 2, 3]
    assert profile["rank"].tolist() == [4, 3, 2, 1]
    assert profile["stage"].tolist() == [0, 1, 1, 1]
    assert gradients.profile_at(_stats(), step=0)["value"].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_init_norms_frame():
    result = gradients.measure_at_init("cifar", 8, True, _batch(n=4))
    frame = gradients.init_norms_frame([result])
    assert frame["layer_index"].tolist() == list(range(len(frame)))
    assert frame["layer"].iloc[0] == "conv1" and (frame["grad_norm"] > 0).all()
