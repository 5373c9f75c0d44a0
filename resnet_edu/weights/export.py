"""A run's weights as a plain ``state_dict`` file, with a JSON beside it that says how to rebuild the net.

The module names follow torchvision's ResNet, so an ImageNet-style net with option-B shortcuts
and the 224-px stem also loads into ``torchvision.models.resnet18()`` etc.; the JSON says
whether it does, and why not when it does not.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import torch

from resnet_edu import models

WEIGHTS_FORMAT = "resnet-edu-weights/1"


def torchvision_compatibility(config: dict) -> tuple[str | None, str]:
    """(torchvision constructor or None, why) for a net described by an exported config."""
    if config.get("family") != "imagenet":
        return None, "CIFAR nets (6n+2 layers, 16-64 filters) have no torchvision counterpart"
    if config.get("small_input"):
        return None, "its stem is a 3x3 conv for 32-64 px images; torchvision's is a 7x7 conv + max-pool"
    if config.get("shortcut_type") != "B":
        return None, (f"its shortcuts are option {config.get('shortcut_type')}; torchvision's ResNets use "
                      f"option B (projections only where the shape changes)")
    constructor = f"resnet{config.get('depth')}"
    if not config.get("shortcuts", True):
        return constructor, ("loads with strict=True, but torchvision's net always adds the shortcuts this plain "
                             "net was trained without, so its outputs differ")
    return constructor, "loads with strict=True and gives the same outputs"


def export_config(model_config: dict, info: dict, run: dict | None = None) -> dict:
    """The JSON written beside an exported state_dict."""
    from resnet_edu.train import TrainConfig
    from resnet_edu.train.build import SMALL_INPUT_MAX_PX

    config = TrainConfig.from_dict(model_config)
    small_input = config.family == "imagenet" and config.image_size <= SMALL_INPUT_MAX_PX  # as train.make_model decides
    build = {"family": config.family, "depth": config.depth, "num_classes": int(info["num_classes"]),
             "shortcuts": config.shortcuts, "shortcut_type": config.shortcut_type, "small_input": small_input,
             "image_size": config.image_size}
    constructor, why = torchvision_compatibility(build)
    return {
        "format": WEIGHTS_FORMAT,
        "run_id": (run or {}).get("run_id"), "name": (run or {}).get("name") or config.run_name,
        "step": info.get("step"), "dataset": info.get("dataset_name") or config.dataset,
        "config": build, "train_config": config.to_dict(),
        "classes": list(info.get("classes") or []), "mean": list(info.get("mean") or []),
        "std": list(info.get("std") or []),
        "shortcut_state": {str(k): bool(v) for k, v in (info.get("shortcut_state") or {}).items()},
        "load_with": (f"models.build_model({config.family!r}, {config.depth}, {int(info['num_classes'])}, "
                      f"shortcuts={config.shortcuts}, shortcut_type={config.shortcut_type!r}"
                      + (", small_input=True" if small_input else "") + ").load_state_dict(torch.load(path))"),
        "torchvision": {"constructor": constructor, "note": why},
    }


def export_checkpoint(checkpoint: str | os.PathLike, run: dict | None = None) -> tuple[bytes, dict]:
    """(state_dict file bytes, its JSON) for the checkpoint of a run."""
    from resnet_edu.train import model_from_checkpoint

    model, config, info = model_from_checkpoint(checkpoint)
    info = {**info, "shortcut_state": models.shortcut_state(model)}
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue(), export_config(config.to_dict(), info, run)


def export_run(store, run_id: str, path: str | os.PathLike) -> tuple[Path, Path]:
    """Write a run's latest weights to ``path`` (a plain state_dict) and ``path`` + ``.json``.

    Raises:
        ValueError: the run has no checkpoint yet, or it cannot be read.
        RunNotFound: no such run.
    """
    run = store.get_run(run_id)
    checkpoint = store.latest_checkpoint(run_id)
    if checkpoint is None:
        raise ValueError(f"run {run_id} has no checkpoint yet (one is saved at the end of every epoch)")
    payload, config = export_checkpoint(checkpoint, run)
    path = Path(path)
    sidecar = path.with_name(path.name + ".json") if path.suffix == "" else path.with_suffix(".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    for target, content in ((path, payload), (sidecar, (json.dumps(config, indent=2) + "\n").encode())):
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_bytes(content)
        os.replace(temporary, target)  # never half a file under the final name
    return path, sidecar
