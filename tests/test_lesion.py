"""lesion: deleting blocks at test time (Veit et al. 2016)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from resnet_edu.inside import lesion
from resnet_edu.models import build_model, residual_blocks

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _toy_data(n, seed):
    """3 classes told apart by which colour channel is brighter: a tiny net learns it in a few steps."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.randn(n, 3, 8, 8, generator=g) * 0.5
    x[torch.arange(n), y] += 1.0
    return x, y


@pytest.fixture(scope="module")
def trained_plain():
    torch.manual_seed(0)
    model = build_model("cifar", 14, num_classes=3, shortcuts=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for step in range(20):
        x, y = _toy_data(32, step)
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model.eval()


def test_removing_nothing_reproduces_the_full_net(trained_plain):
    x, y = _toy_data(300, 1000)
    full = lesion.test_error(trained_plain, x, y)
    assert full < 0.2  # it learned the toy task
    frame = lesion.lesion_single(trained_plain, x, y, batch_size=128)  # several batches
    assert frame.iloc[0]["block"] == "none" and frame.iloc[0]["error"] == full
    assert len(frame) == 1 + 6 and frame["position"].tolist() == list(range(7))
    assert frame.loc[frame["block"] == "layer2.0", "downsampling"].item()
    assert frame["error"].iloc[1:].max() > full + 0.1  # a plain net collapses without one of its blocks
    for row in frame.iloc[1:].itertuples():  # the shared-prefix shortcut gives what a plain re-run gives
        with lesion.removed(trained_plain, [row.block]):
            assert lesion.test_error(trained_plain, x, y) == row.error
    # every block is back afterwards: the same predictions as before
    assert all(block.branch_enabled for _, block in residual_blocks(trained_plain))
    assert lesion.test_error(trained_plain, x, y) == full


def test_random_removal_k0_is_the_full_net_and_draws_are_seeded(trained_plain):
    x, y = _toy_data(200, 2000)
    full = lesion.test_error(trained_plain, x, y)
    frame = lesion.lesion_random(trained_plain, x, y, ks=[0, 1, 2], draws=2, seed=3)
    assert frame["k"].tolist() == [0, 1, 1, 2, 2]
    assert frame.iloc[0]["error"] == full and frame.iloc[0]["blocks"] == ""
    assert all(len(b.split(",")) == k for b, k in zip(frame["blocks"][1:], frame["k"][1:]))
    assert "layer2.0" not in ",".join(frame["blocks"])  # downsampling blocks are kept by default
    for row in frame.itertuples():  # the shared-prefix shortcut gives what a plain re-run gives
        with lesion.removed(trained_plain, row.blocks.split(",") if row.blocks else []):
            assert lesion.test_error(trained_plain, x, y) == row.error
    again = lesion.lesion_random(trained_plain, x, y, ks=[0, 1, 2], draws=2, seed=3)
    assert again["blocks"].tolist() == frame["blocks"].tolist()
    summary = lesion.summarise_random(frame)
    assert summary["k"].tolist() == [0, 1, 2] and summary["draws"].tolist() == [1, 2, 2]


def test_removed_restores_blocks_even_on_error():
    model = build_model("cifar", 8)
    with pytest.raises(RuntimeError):
        with lesion.removed(model, ["layer1.0", "layer3.0"]):
            assert not model.layer1[0].branch_enabled
            raise RuntimeError("boom")
    assert all(block.branch_enabled for _, block in residual_blocks(model))
    with pytest.raises(ValueError, match="no residual block"):
        with lesion.removed(model, ["layer9.0"]):
            pass


def test_removed_block_is_the_shortcut_path():
    torch.manual_seed(0)
    model = build_model("cifar", 8).eval()
    x = torch.relu(torch.randn(2, 16, 8, 8))
    with lesion.removed(model, ["layer1.0", "layer2.0"]):
        assert torch.equal(model.layer1[0](x), x)  # identity
        out = model.layer2[0](x)
    assert out.shape == (2, 32, 4, 4) and torch.equal(out[:, :16], x[:, :, ::2, ::2]) and not out[:, 16:].any()


def test_removable_blocks_of_a_plain_net_with_projections():
    plain_b = build_model("cifar", 8, shortcuts=False, shortcut_type="B")
    assert lesion.removable_blocks(plain_b) == ["layer1.0"]  # untrained projections are not a path
    assert lesion.removable_blocks(build_model("cifar", 8, shortcut_type="B")) == ["layer1.0", "layer2.0", "layer3.0"]
    assert lesion.removable_blocks(build_model("cifar", 8, shortcuts=False)) == ["layer1.0", "layer2.0", "layer3.0"]


def test_the_shaded_stages_belong_to_one_net_when_the_depths_differ():
    """ResNet-20 has three blocks a stage, plain-8 one: the chart shades ResNet-20's stages and says whose;
    twins of one depth share their stages, shaded without a name."""
    import pandas as pd

    from resnet_edu import plots
    x, y = _toy_data(32, 7)

    def single(name, depth, shortcuts):
        torch.manual_seed(0)
        model = build_model("cifar", depth, num_classes=3, shortcuts=shortcuts).eval()
        return lesion.lesion_single(model, x, y).assign(name=name, depth=depth, shortcuts=shortcuts)

    def bands(figure):
        rects = sorted((shape.x0, shape.x1) for shape in figure.layout.shapes if shape.type == "rect")
        return rects, {a.text for a in figure.layout.annotations if "stage" in a.text}

    resnet = single("ResNet-20", 20, True)
    rects, words = bands(plots.lesion_blocks_figure(pd.concat([resnet, single("plain-8", 8, False)])))
    assert rects == [(0.5, 3.5), (3.5, 6.5), (6.5, 9.5)]
    assert words == {"ResNet-20: stage 1", "ResNet-20: stage 2", "ResNet-20: stage 3"}
    rects, words = bands(plots.lesion_blocks_figure(pd.concat([resnet, single("plain-20", 20, False)])))
    assert rects == [(0.5, 3.5), (3.5, 6.5), (6.5, 9.5)] and words == {"stage 1", "stage 2", "stage 3"}
