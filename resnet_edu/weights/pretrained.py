"""torchvision's pretrained ResNets (``IMAGENET1K_V1``: trained by torchvision with its own simple recipe,
which comes close to the paper's results; ResNet-50/101/152 with torchvision's "v1.5" blocks, the
stride in the 3x3 conv) in this project's nets, read from torchvision's cache or downloaded there by
the training process.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from resnet_edu import models
from resnet_edu.weights.files import IMAGENET_MEAN, IMAGENET_STD, PRETRAINED_IMAGE_SIZE, LoadedNet, build_loaded


class WeightsUnavailable(RuntimeError):
    """Pretrained weights that are not on this machine and cannot be downloaded now."""



def pretrained_weights(depth: int):
    """torchvision's ``IMAGENET1K_V1`` weights enum for ResNet-``depth`` (torchvision's first, simple training recipe)."""
    if depth not in models.IMAGENET_DEPTHS:
        raise ValueError(f"no pretrained ResNet-{depth!r}: choose one of {', '.join(map(str, models.IMAGENET_DEPTHS))}")
    import torchvision.models as tv

    return getattr(tv, f"ResNet{depth}_Weights").IMAGENET1K_V1


def pretrained_file(depth: int) -> Path:
    """Where torchvision keeps (and looks for) the downloaded weights of ResNet-``depth``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(pretrained_weights(depth).url)


def pretrained_unavailable_message(depth: int, reason: str) -> str:
    weights = pretrained_weights(depth)
    size = weights.meta.get("_file_size")
    size_text = f"{size:,.0f} MB, " if size else ""
    return (f"The pretrained ResNet-{depth} is not available: {reason} To use it offline, download "
            f"{os.path.basename(weights.url)} ({size_text}from {weights.url}) on a machine with internet access "
            f"and put it in {pretrained_file(depth).parent} (torchvision's cache; TORCH_HOME moves it), or "
            f"upload a weights file.")


def load_pretrained(depth: int, download: bool = False) -> LoadedNet:
    """torchvision's pretrained ResNet-``depth`` (ImageNet, 1000 classes) in this project's ResNet.

    Args:
        depth: 18, 34, 50, 101 or 152.
        download: fetch the weights with torchvision's weights API when they are not in its cache
            (a download of 45-230 MB: do it in the training process, never in a page).

    Raises:
        WeightsUnavailable: not in torchvision's cache and ``download`` is off or fails (offline).
    """
    weights = pretrained_weights(depth)
    path = pretrained_file(depth)
    if path.is_file():
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # noqa: BLE001 - a damaged cache file
            raise WeightsUnavailable(pretrained_unavailable_message(
                depth, f"{path} could not be read ({str(error)[:120]}); delete it.")) from None
    elif download:
        try:
            state = weights.get_state_dict(progress=False, check_hash=True)
        except Exception as error:  # noqa: BLE001 - offline (URLError), a bad hash, a full disk
            raise WeightsUnavailable(pretrained_unavailable_message(
                depth, f"the download failed ({' '.join(str(error).split())[:160]}).")) from None
    else:
        raise WeightsUnavailable(pretrained_unavailable_message(depth, f"{path} does not exist."))
    config = {"family": "imagenet", "depth": depth, "num_classes": 1000, "shortcut_type": "B",
              "small_input": False}
    model = build_loaded(state, config)
    return LoadedNet(model, {**config, "shortcuts": True, "image_size": PRETRAINED_IMAGE_SIZE},
                     list(weights.meta["categories"]), IMAGENET_MEAN, IMAGENET_STD, PRETRAINED_IMAGE_SIZE,
                     "torchvision", [f"torchvision {weights} (ImageNet top-1 "
                                     f"{weights.meta['_metrics']['ImageNet-1K']['acc@1']:.1f}%)"])


def download_pretrained_job(context) -> dict:
    """Fetch torchvision's pretrained ResNet-``depth`` in the training process (analysis job
    ``"download"`` with ``{"weights": depth}``), through torchvision's weights API into its cache.

    Returns:
        ``{"weights": depth, "file": path, "state": "ready"}``.

    Raises:
        ValueError: a depth with no pretrained net, an offline machine or a failed download (the message
            says what to do).
    """
    depth = (context.params or {}).get("weights")
    file = pretrained_file(depth)  # ValueError for a depth torchvision has no weights for
    context.report(0.0, f"Downloading torchvision's ResNet-{depth} weights to {file.parent}")
    try:
        load_pretrained(depth, download=True)  # torchvision's weights API: download, hash check, cache
    except WeightsUnavailable as error:
        raise ValueError(str(error)) from None
    context.report(1.0, f"ResNet-{depth} weights are ready")
    return {"weights": depth, "file": str(file), "state": "ready"}

