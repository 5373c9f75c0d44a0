"""explain: every Captum view on CIFAR and ImageNet-style nets, plain and residual."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from resnet_edu.inside import features
from resnet_edu.models import build_model

NETS = [("cifar", 8, {}, 32, ["layer1", "layer2", "layer3"], [16, 32, 64]),
        ("imagenet", 18, {"small_input": True}, 16, ["layer1", "layer2", "layer3", "layer4"], [64, 128, 256, 512])]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("shortcuts", [True, False], ids=["residual", "plain"])
@pytest.mark.parametrize("family,depth,opts,size,stages,channels", NETS, ids=["cifar-8", "imagenet-18-small"])
def test_every_method_returns_the_expected_shape(family, depth, opts, size, stages, channels, shortcuts):
    torch.manual_seed(0)
    model = build_model(family, depth, num_classes=5, shortcuts=shortcuts, **opts)
    model.train()  # attribute() must switch to eval itself
    x = torch.randn(1, 3, size, size)
    assert features.feature_stages(model) == stages
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Captum complaints (e.g. reused modules) would show up here
        for stage, c in zip(stages, channels):
            act = features.attribute("activation", model, x, layer=stage)
            assert act.shape[:2] == (1, c) and not act.requires_grad
            cam = features.attribute("gradcam", model, x, 2, layer=stage)
            assert cam.shape == (1, 1, *act.shape[-2:])
        cam = features.attribute("gradcam", model, x, 2, layer=stages[-1], upsample=True)
        assert cam.shape == (1, 1, size, size)
        ig = features.attribute("ig", model, x, 1, n_steps=4)
        nt = features.attribute("ig", model, x, 1, n_steps=2, noise_tunnel=True, nt_samples=2, internal_batch_size=4)
    assert ig.shape == nt.shape == (1, 3, size, size)
    assert torch.isfinite(ig).all() and torch.isfinite(nt).all()
    assert not model.training
    assert all(p.grad is None for p in model.parameters())  # no gradients left behind


def test_views_are_display_ready():
    torch.manual_seed(0)
    model = build_model("cifar", 8, num_classes=10)
    x = torch.randn(1, 3, 32, 32)
    prediction = features.predict(model, x)
    assert 0 <= prediction.index < 10 and prediction.probabilities.sum() == pytest.approx(1, abs=1e-5)
    maps = features.feature_maps(model, x, k=4)
    assert [m.stage for m in maps] == ["layer1", "layer2", "layer3"]
    assert [m.maps.shape for m in maps] == [(4, 32, 32), (4, 16, 16), (4, 8, 8)]
    means = maps[0].channel_means
    assert list(means[maps[0].channels]) == sorted(means, reverse=True)[:4]  # strongest channels first
    cams = features.gradcam_maps(model, x, prediction.index)
    assert all(m.shape == (32, 32) and m.min() >= 0 and m.max() <= 1 for m in cams.values())
    ig = features.integrated_gradients(model, x, prediction.index, n_steps=4)
    assert ig.shape == (32, 32) and 0 <= ig.min() and ig.max() <= 1


def test_to_hwc_numpy():
    x = torch.arange(2 * 3 * 4, dtype=torch.float32).view(1, 3, 2, 4)
    out = features.to_hwc_numpy(x)
    assert out.shape == (2, 4, 3) and out[1, 2, 0] == x[0, 0, 1, 2]
    assert features.to_hwc_numpy(torch.ones(1, 1, 5, 5)).shape == (5, 5)
    assert features.to_hwc_numpy(torch.ones(5, 6)).shape == (5, 6)
    image = features.to_hwc_numpy(torch.full((3, 2, 2), 255, dtype=torch.uint8))
    assert image.dtype == np.float32 and image.max() == 1.0
    unnormalised = features.to_hwc_numpy(torch.zeros(1, 3, 2, 2), mean=(0.5, 0.4, 0.3), std=(0.2, 0.2, 0.2))
    assert unnormalised[0, 0].tolist() == pytest.approx([0.5, 0.4, 0.3])
    with pytest.raises(ValueError):
        features.to_hwc_numpy(torch.zeros(2, 3, 2, 2))


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown method"):
        features.attribute("saliency", build_model("cifar", 8), torch.zeros(1, 3, 32, 32))


def test_normalise_map():
    assert features.normalise_map(np.zeros((3, 3))).max() == 0
    out = features.normalise_map(np.array([[0.0, 1.0], [2.0, 100.0]]), percentile=100)
    assert out.max() == 1.0 and out[0, 0] == 0.0
