"""Looking at what a net sees: feature maps and attributions with Captum.

"Low / mid / high-level features" (the paper's introduction, after Zeiler & Fergus) are
the outputs of the stages ``layer1`` / ``layer2`` / ``layer3`` (and ``layer4`` for the
ImageNet nets). Three views, each computed by one Captum method through :func:`attribute`:

    method          Captum class                      what it shows
    "activation"    LayerActivation(layer)            the stage's feature maps, (1, C, h, w)
    "gradcam"       LayerGradCam(layer)               where the stage's features push the
                                                      target class up, (1, 1, h, w)
    "ig"            IntegratedGradients (optionally   which input pixels the prediction
                    wrapped in NoiseTunnel)           depends on, (1, 3, H, W)

Tensors stay tensors until the display edge, where :func:`to_hwc_numpy` turns them into
arrays (the Captum tutorials repeat ``np.transpose(x.squeeze().cpu().detach().numpy(),
(1, 2, 0))`` in every cell; here it is written once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

METHODS = ("activation", "gradcam", "ig")


def feature_stages(model: nn.Module) -> list[str]:
    """Names of the stages whose outputs are the low → high-level features: layer1, layer2, …"""
    return [f"layer{index}" for index in range(1, getattr(model, "num_stages", 3) + 1)]


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _layer(model: nn.Module, layer: str | nn.Module) -> nn.Module:
    return model.get_submodule(layer) if isinstance(layer, str) else layer


def attribute(method: str, model: nn.Module, x: torch.Tensor, target: int | None = None, **kw) -> torch.Tensor:
    """Run one Captum method on one image batch; the only place the app calls Captum.

    Puts the model in eval mode, clears stale gradients, moves ``x`` to the model's device
    and returns a detached CPU tensor.

    Args:
        method: ``"activation"`` (needs ``layer``), ``"gradcam"`` (needs ``layer``; the map
            is ReLU-ed as in Selvaraju et al. unless ``relu=False``; ``upsample=True``
            resizes it to the input), or ``"ig"`` (``n_steps`` (default 32), ``baseline``
            (default 0: the data set's mean image after normalisation), ``noise_tunnel``
            (default False), ``nt_samples`` (8), ``stdev`` (0.15), ``internal_batch_size``).
        model: a ResNet of :mod:`resnet_edu.models`.
        x: normalised images (B, 3, H, W).
        target: the class index whose score is explained (gradcam, ig; default: the
            predicted class of each image).

    Returns:
        activation (B, C, h, w); gradcam (B, 1, h, w), or (B, 1, H, W) with upsample;
        ig (B, 3, H, W).
    """
    from captum.attr import IntegratedGradients, LayerActivation, LayerAttribution, LayerGradCam, NoiseTunnel

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    model.eval()
    model.zero_grad(set_to_none=True)
    x = x.to(_device_of(model), dtype=torch.float32)
    if method != "activation" and target is None:
        with torch.no_grad():
            target = model(x).argmax(dim=1)
    if isinstance(target, torch.Tensor):
        target = target.to(x.device)

    if method == "activation":
        with torch.no_grad():
            out = LayerActivation(model, _layer(model, kw["layer"])).attribute(x)
    elif method == "gradcam":
        out = LayerGradCam(model, _layer(model, kw["layer"])).attribute(
            x, target=target, relu_attributions=kw.get("relu", True))
        if kw.get("upsample"):
            out = LayerAttribution.interpolate(out, tuple(x.shape[-2:]), interpolate_mode="bilinear")
    else:
        ig = IntegratedGradients(model)
        baseline = kw.get("baseline", 0.0)
        common = dict(baselines=baseline, target=target, n_steps=int(kw.get("n_steps", 32)),
                      internal_batch_size=kw.get("internal_batch_size"))
        if kw.get("noise_tunnel"):
            out = NoiseTunnel(ig).attribute(x, nt_type="smoothgrad", nt_samples=int(kw.get("nt_samples", 8)),
                                            stdevs=float(kw.get("stdev", 0.15)), **common)
        else:
            out = ig.attribute(x, **common)
    model.zero_grad(set_to_none=True)
    return out.detach().cpu()


def to_hwc_numpy(x: torch.Tensor, mean: Sequence[float] | None = None,
                 std: Sequence[float] | None = None) -> np.ndarray:
    """The one tensor → display-array conversion.

    (1, C, H, W) or (C, H, W) → (H, W, C) float32; a single channel → (H, W). With
    ``mean``/``std`` the normalisation is undone and the result clipped to [0, 1] (for
    showing the input image); a uint8 tensor is scaled to [0, 1].
    """
    x = x.detach().cpu()
    if x.dim() == 4:
        if x.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of {x.shape[0]}")
        x = x[0]
    if x.dtype == torch.uint8:
        x = x.float() / 255.0
    x = x.float()
    if mean is not None and std is not None:
        x = x * torch.tensor(std).view(-1, 1, 1) + torch.tensor(mean).view(-1, 1, 1)
        x = x.clamp(0, 1)
    if x.dim() == 2:
        return x.numpy()
    if x.shape[0] == 1:
        return x[0].numpy()
    return x.permute(1, 2, 0).contiguous().numpy()


# --------------------------------------------------------------------------- the views


@dataclass(frozen=True)
class Prediction:
    """What the net predicts for one image."""

    index: int                 # predicted class
    confidence: float          # its softmax probability
    probabilities: np.ndarray  # (num_classes,)


def predict(model: nn.Module, x: torch.Tensor) -> Prediction:
    """Softmax prediction for one normalised image (1, 3, H, W)."""
    model.eval()
    with torch.no_grad():
        probs = F.softmax(model(x.to(_device_of(model), dtype=torch.float32)).float(), dim=1)[0].cpu()
    index = int(probs.argmax())
    return Prediction(index=index, confidence=float(probs[index]), probabilities=probs.numpy())


@dataclass(frozen=True)
class FeatureMaps:
    """The strongest feature maps of one stage for one image."""

    stage: str
    channels: list[int]        # channel indices, strongest mean activation first
    maps: np.ndarray           # (k, h, w) activations of those channels
    channel_means: np.ndarray  # (C,) mean activation of every channel


def feature_maps(model: nn.Module, x: torch.Tensor, k: int = 8,
                 stages: Sequence[str] | None = None) -> list[FeatureMaps]:
    """The top-``k`` channels (by mean activation) of each stage's output, for one image."""
    result = []
    for stage in stages or feature_stages(model):
        act = attribute("activation", model, x, layer=stage)[0]  # (C, h, w)
        means = act.mean(dim=(1, 2))
        top = torch.argsort(means, descending=True)[: min(k, act.shape[0])]
        result.append(FeatureMaps(stage=stage, channels=top.tolist(), maps=act[top].numpy(),
                                  channel_means=means.numpy()))
    return result


def gradcam_maps(model: nn.Module, x: torch.Tensor, target: int,
                 stages: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """{stage: Grad-CAM map upsampled to the input, (H, W), scaled to [0, 1]}."""
    maps = {}
    for stage in stages or feature_stages(model):
        cam = to_hwc_numpy(attribute("gradcam", model, x, target, layer=stage, upsample=True))
        maps[stage] = normalise_map(cam)
    return maps


def integrated_gradients(model: nn.Module, x: torch.Tensor, target: int, *, noise_tunnel: bool = False,
                         n_steps: int = 32, nt_samples: int = 8, stdev: float = 0.15) -> np.ndarray:
    """Pixel importance (H, W) in [0, 1]: |IG| summed over colour channels, normalised.

    The baseline is the all-zero normalised image, i.e. the data set's mean colour.
    """
    attr = attribute("ig", model, x, target, n_steps=n_steps, noise_tunnel=noise_tunnel,
                     nt_samples=nt_samples, stdev=stdev, internal_batch_size=max(8, n_steps))
    return normalise_map(to_hwc_numpy(attr[0].abs().sum(dim=0)))


def normalise_map(values: np.ndarray, percentile: float = 99.0) -> np.ndarray:
    """Scale a non-negative map to [0, 1], clipping at a high percentile (outliers would wash it out)."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float32))
    top = float(np.percentile(values, percentile)) if values.size else 0.0
    if top <= 0:
        top = float(values.max()) if values.size else 0.0
    if top <= 0:
        return np.zeros_like(values)
    return np.clip(values / top, 0.0, 1.0)


__all__ = ["METHODS", "FeatureMaps", "Prediction", "attribute", "feature_maps", "feature_stages",
           "gradcam_maps", "integrated_gradients", "normalise_map", "predict", "to_hwc_numpy"]
