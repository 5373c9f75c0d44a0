"""The model library: shapes, parameter counts, the shortcut switch, torchvision parity."""

import copy
import pickle
import threading

import pytest
import torch
import torchvision
from torch import nn

from resnet_edu.models import (
    build_model,
    count_parameters,
    on_main_path,
    residual_blocks,
    set_shortcuts,
    shortcut_state,
)
from resnet_edu.summary import describe, weight_layers

# (family, depth, opts, input size) — small inputs keep the suite fast.
BUILDERS = [
    ("cifar", 20, {}, 32),
    ("cifar", 56, {}, 32),
    ("cifar", 20, {"shortcut_type": "B"}, 32),
    ("imagenet", 18, {"small_input": True}, 32),
    ("imagenet", 34, {"small_input": True}, 32),
    ("imagenet", 50, {"small_input": True}, 32),
    ("imagenet", 18, {}, 64),
]
IDS = [f"{f}-{d}-{''.join(f'{k}={v}' for k, v in o.items())}" for f, d, o, _ in BUILDERS]


@pytest.mark.parametrize("family,depth,opts,size", BUILDERS, ids=IDS)
def test_forward_shape_no_nan_and_every_parameter_learns(family, depth, opts, size):
    torch.manual_seed(0)
    model = build_model(family, depth, num_classes=7, **opts)
    x = torch.randn(2, 3, size, size)
    out = model(x)
    assert out.shape == (2, 7)
    assert torch.isfinite(out).all()
    out.square().sum().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []
    assert weight_layers(model) == depth


# PAPER.md Table 6 (CIFAR, option A) and torchvision's counts (ImageNet, 1000 classes).
PARAMETER_COUNTS = [
    ("cifar", 20, 10, 0.27e6),
    ("cifar", 32, 10, 0.46e6),
    ("cifar", 44, 10, 0.66e6),
    ("cifar", 56, 10, 0.85e6),
    ("cifar", 110, 10, 1.7e6),
]


@pytest.mark.parametrize("family,depth,classes,expected", PARAMETER_COUNTS)
def test_cifar_parameter_counts_match_table6(family, depth, classes, expected):
    count = count_parameters(build_model(family, depth, classes))
    assert abs(count - expected) / expected < 0.02, count


@pytest.mark.parametrize("depth,expected", [(18, 11_689_512), (34, 21_797_672), (50, 25_557_032)])
def test_imagenet_parameter_counts_equal_torchvision(depth, expected):
    assert count_parameters(build_model("imagenet", depth, 1000)) == expected


@pytest.mark.parametrize("depth", [20, 56])
def test_plain_twin_has_the_same_parameters(depth):
    residual = build_model("cifar", depth)
    plain = build_model("cifar", depth, shortcuts=False)
    assert count_parameters(residual) == count_parameters(plain)
    assert [n for n, _ in residual.named_parameters()] == [n for n, _ in plain.named_parameters()]


@pytest.mark.parametrize("family,depth,opts", [("cifar", 20, {}), ("imagenet", 18, {"small_input": True}),
                                               ("imagenet", 50, {"small_input": True})])
def test_residual_with_shortcuts_off_equals_plain_twin(family, depth, opts):
    torch.manual_seed(1)
    residual = build_model(family, depth, **opts).eval()
    plain = build_model(family, depth, shortcuts=False, **opts).eval()
    plain.load_state_dict(residual.state_dict())
    x = torch.randn(3, 3, 32, 32)
    assert not torch.equal(residual(x), plain(x))
    set_shortcuts(residual, False)
    assert torch.equal(residual(x), plain(x))


def test_set_shortcuts_per_stage_and_state():
    model = build_model("cifar", 20)
    assert shortcut_state(model) == {1: True, 2: True, 3: True}
    set_shortcuts(model, False, stages=[3])
    assert shortcut_state(model) == {1: True, 2: True, 3: False}
    assert [b.shortcut_enabled for n, b in residual_blocks(model) if n.startswith("layer3")] == [False] * 3
    set_shortcuts(model, True)
    assert shortcut_state(model) == {1: True, 2: True, 3: True}
    with pytest.raises(ValueError, match="stages"):
        set_shortcuts(model, False, stages=[4])
    assert shortcut_state(build_model("imagenet", 18, shortcuts=False)) == {1: False, 2: False, 3: False, 4: False}


def test_toggle_changes_output_without_reallocating():
    model = build_model("cifar", 20).eval()
    pointers = [p.data_ptr() for p in model.parameters()]
    x = torch.randn(2, 3, 32, 32)
    before = model(x)
    set_shortcuts(model, False, stages=[2])
    assert not torch.allclose(before, model(x))
    set_shortcuts(model, True)
    assert torch.equal(before, model(x))
    assert pointers == [p.data_ptr() for p in model.parameters()]


@pytest.mark.slow
def test_toggling_from_another_thread_during_training():
    torch.manual_seed(0)
    model = build_model("cifar", 14)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
    stop = threading.Event()
    flips = []

    flipping = threading.Event()

    def flipper():
        enabled = True
        while not stop.is_set():
            enabled = not enabled
            set_shortcuts(model, enabled, stages=[1 + len(flips) % 3])
            flips.append(enabled)
            flipping.set()

    thread = threading.Thread(target=flipper)
    thread.start()
    assert flipping.wait(60)  # training starts while the other thread flips
    losses = []
    try:
        for _ in range(8):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    finally:
        stop.set()
        thread.join()
    assert all(torch.isfinite(torch.tensor(losses)))
    assert all(torch.isfinite(p).all() for p in model.parameters())
    set_shortcuts(model, True)
    assert shortcut_state(model) == {1: True, 2: True, 3: True}


@pytest.mark.parametrize("depth,factory", [(18, torchvision.models.resnet18), (34, torchvision.models.resnet34),
                                           (50, torchvision.models.resnet50)])
def test_torchvision_state_dict_loads_strictly_and_matches(depth, factory):
    torch.manual_seed(0)
    reference = factory(weights=None).eval()
    ours = build_model("imagenet", depth, num_classes=1000).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x))


@pytest.mark.parametrize("depth,expected_g", [(18, 1.81), (34, 3.66), (50, 4.09)])
def test_imagenet_multiply_adds_match_torchvision(depth, expected_g):
    table = describe(build_model("imagenet", depth, 1000), (3, 224, 224))
    total = table.iloc[-1]
    assert total["layer"] == "total"
    assert abs(total["mult_adds"] / 1e9 - expected_g) / expected_g < 0.03
    assert table["mult_adds"].iloc[:-1].sum() == total["mult_adds"]
    assert total["weight_layers"] == depth
    if depth == 50:
        assert any("3.8G" in note for note in table.attrs["notes"])


def test_paper_resnet50_stride_in_1x1_is_3_8g():
    total = describe(build_model("imagenet", 50, 1000, stride_in_1x1=True), (3, 224, 224)).iloc[-1]
    assert abs(total["mult_adds"] / 1e9 - 3.86) < 0.1


def test_describe_cifar_stage_table():
    table = describe(build_model("cifar", 56))
    assert list(table["layer"]) == ["conv1", "layer1", "layer2", "layer3", "fc", "total"]
    assert list(table["output_size"][:4]) == ["16×32×32", "16×32×32", "32×16×16", "64×8×8"]
    assert list(table["blocks"][1:4]) == [9, 9, 9]
    assert table.iloc[-1]["parameters"] == 853_018
    assert table.iloc[-1]["weight_layers"] == 56
    per_block = describe(build_model("cifar", 20), per_block=True)
    assert len(per_block) == 1 + 9 + 1 + 1


@pytest.mark.parametrize("family,depth,message", [
    ("cifar", 21, "not 6n\\+2: try 20 or 26"),
    ("cifar", 0, "too small"),
    ("cifar", -4, "too small"),
    ("cifar", 100_002, "too deep.*GiB"),
    ("cifar", 20.5, "whole number"),
    ("imagenet", 20, "18, 34, 50, 101, 152"),
    ("vgg", 19, "unknown family"),
])
def test_bad_arguments_raise_value_error_with_a_helpful_message(family, depth, message):
    with pytest.raises(ValueError, match=message):
        build_model(family, depth)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="shortcut_type"):
        build_model("cifar", 20, shortcut_type="D")
    with pytest.raises(ValueError, match="unknown option"):
        build_model("cifar", 20, dropout=0.5)
    with pytest.raises(ValueError, match="imagenet"):
        build_model("cifar", 20, small_input=True)


def test_models_pickle_and_deepcopy():
    model = build_model("cifar", 20)
    clone = pickle.loads(pickle.dumps(model))
    x = torch.randn(1, 3, 32, 32)
    model.eval(), clone.eval()
    assert torch.equal(model(x), clone(x))
    assert torch.equal(copy.deepcopy(model)(x), model(x))


def test_zero_init_residual_makes_blocks_start_as_identity():
    model = build_model("cifar", 20, zero_init_residual=True)
    assert all(block.bn2.weight.abs().sum() == 0 for _, block in residual_blocks(model))


def test_relu_modules_are_distinct_and_not_inplace():
    model = build_model("imagenet", 50)
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    assert len({id(m) for m in relus}) == len(relus)
    assert not any(m.inplace for m in relus)


@pytest.mark.parametrize("shortcut_type,projections", [("A", 0), ("B", 2), ("C", 9)])
def test_the_main_path_is_the_stacked_layers_and_the_shortcut_branch_is_not(shortcut_type, projections):
    model = build_model("cifar", 20, shortcut_type=shortcut_type)
    convs = [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
    assert sum(1 for name in convs if not on_main_path(name)) == projections  # one 1x1 conv per projection
    assert sum(1 for name in convs if on_main_path(name)) == 19  # the paper's 19 convs (+ fc: 20 layers)
    assert on_main_path("layer2.0.conv1.weight") and not on_main_path("layer2.0.downsample.1.bias")
    assert on_main_path("layer1.0.downsampled_by_name_only")  # a path part, never a substring
