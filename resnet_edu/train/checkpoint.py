"""What a training checkpoint holds: written by the trainer, read back to resume or to load the trained net.

One file for the three sides of the same dict, so a key added on one side is seen on the
others: :func:`save_checkpoint` (the Trainer's state, written atomically), :func:`restore_trainer`
(a run continues where it stopped) and :func:`model_from_checkpoint` (the pages and the analysis
jobs get the trained net without a trainer). The format marker and the safe reading
(``weights_only=True``) are :mod:`resnet_edu.checkpoints`'.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from resnet_edu import models
from resnet_edu.checkpoints import CHECKPOINT_FORMAT, load_checkpoint
from resnet_edu.train.build import make_model
from resnet_edu.train.config import TrainConfig

if TYPE_CHECKING:
    from resnet_edu.train.trainer import Trainer


def save_checkpoint(trainer: Trainer, path: str | os.PathLike, dataset_info: dict | None = None) -> Path:
    """Save model + optimizer + config + step; loadable with torch.load(weights_only=True).

    Args:
        trainer: the run to save (its metrics already read back from the device).
        path: the file to write; the previous file there stays until the new one is whole.
        dataset_info: what the data set looked like (classes, mean, std, ...), stored alongside.
    """
    path = Path(path)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "config": trainer.config.to_dict(),
        "step": trainer.step,
        "train_seconds": trainer.train_seconds,
        "warming_up": trainer.warming_up,
        "recent_errors": list(trainer.recent_errors),
        "shortcut_state": {int(k): bool(v) for k, v in models.shortcut_state(trainer.model).items()},
        "num_classes": trainer.num_classes,
        **(dataset_info or {}),
    }
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


def restore_trainer(trainer: Trainer, payload: dict) -> None:
    """Put a checkpoint loaded with :func:`~resnet_edu.checkpoints.load_checkpoint` back into ``trainer``.

    Args:
        trainer: a fresh Trainer of the same config.
        payload: the checkpoint's dict.
    """
    trainer.model.load_state_dict(payload["model"])
    trainer.optimizer.load_state_dict(payload["optimizer"])
    trainer.step = trainer.steps_recorded = int(payload["step"])
    trainer.train_seconds = float(payload.get("train_seconds", 0.0))
    trainer.warming_up = bool(payload.get("warming_up", False))
    trainer.recent_errors.extend(payload.get("recent_errors", []))
    for stage, enabled in payload.get("shortcut_state", {}).items():
        models.set_shortcuts(trainer.model, bool(enabled), [int(stage)])


def model_from_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu"):
    """(eval-mode model, its TrainConfig, info) from a checkpoint; info has step, num_classes, classes, mean, std.

    Args:
        path: a checkpoint written by :func:`save_checkpoint`.
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
