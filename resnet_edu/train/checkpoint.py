"""A training checkpoint on disk: written whole or not at all, and the trained net loaded back from it.

The Trainer decides what a checkpoint holds (:meth:`~resnet_edu.train.trainer.Trainer.checkpoint`
and :meth:`~resnet_edu.train.trainer.Trainer.restore`); this file writes it so that a crash or a
full disk never leaves half a file, and gives the pages and the analysis jobs (lesion, landscape,
features) the trained net without a trainer. The format marker and the safe reading
(``weights_only=True``) are :mod:`resnet_edu.runs.checkpoints`'.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from resnet_edu import models
from resnet_edu.runs.checkpoints import load_checkpoint
from resnet_edu.train.build import make_model
from resnet_edu.train.config import TrainConfig


def write_checkpoint(payload: dict, path: str | os.PathLike) -> Path:
    """Save ``payload`` with torch.save at ``path``, atomically: the previous file stays until this one is whole.

    Args:
        payload: tensors, numbers, strings, lists and dicts only (so it loads with weights_only=True).
        path: the file to write.
    """
    path = Path(path)
    temporary = path.with_suffix(".tmp")
    try:
        # Through a Python file, so a full disk surfaces as OSError(ENOSPC) rather than
        # torch's zip-writer assertion; fsync so the rename never exposes unwritten data.
        with open(temporary, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)  # the previous checkpoint stays until this one is whole
    except BaseException:
        temporary.unlink(missing_ok=True)  # a failed write leaves nothing half-done behind
        raise
    return path


def model_from_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu"):
    """(eval-mode model, its TrainConfig, info) from a checkpoint; info has step, num_classes, classes, mean, std.

    Args:
        path: a checkpoint written by ``Trainer.checkpoint``.
        device: where the model is put.

    Raises:
        ValueError: the file is not a ResNet Lab checkpoint, or its weights do not fit its config.
    """
    payload = load_checkpoint(path, map_location=device)
    try:
        config = TrainConfig.from_dict(payload["config"])
        model = make_model(config, int(payload["num_classes"]))
        model.load_state_dict(payload["model"])
    except Exception as error:
        raise ValueError(f"checkpoint does not match its own configuration: {str(error)[:200]}") from None
    for stage, enabled in payload.get("shortcut_state", {}).items():
        models.set_shortcuts(model, bool(enabled), [int(stage)])
    model.to(device).eval()
    info = {key: payload.get(key) for key in ("step", "num_classes", "classes", "mean", "std", "dataset_name")}
    return model, config, info
