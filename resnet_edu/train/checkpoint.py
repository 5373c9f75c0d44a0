"""A training checkpoint on disk: its format and names, written whole or not at all, read safely,
and the trained net loaded back from it.

A checkpoint is a dict saved with ``torch.save``: the model's and the optimizer's state, the
run's config, its step and what the data set looked like; the Trainer decides what it holds
(:meth:`~resnet_edu.train.trainer.Trainer.checkpoint` and
:meth:`~resnet_edu.train.trainer.Trainer.restore`). Here:

* :data:`CHECKPOINT_FORMAT`, :data:`INIT_CHECKPOINT`, :data:`LAST_CHECKPOINT`: the format marker
  and the two file names every run folder has;
* :func:`write_checkpoint`: atomic, so a crash or a full disk never leaves half a file;
* :func:`load_checkpoint`: read with ``torch.load(..., weights_only=True)``, which refuses
  pickled code, so a file someone hands you cannot run anything;
* :func:`model_from_checkpoint`: the trained net without a trainer, for the pages and the
  analysis jobs (lesion, landscape, features).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from resnet_edu import models
from resnet_edu.data.saving import save_atomically
from resnet_edu.train.build import make_model
from resnet_edu.train.config import TrainConfig

CHECKPOINT_FORMAT = "resnet-lab-checkpoint-1"
INIT_CHECKPOINT = "init.pt"  # a run's weights before its first step: where the landscape's path starts
LAST_CHECKPOINT = "last.pt"  # the newest checkpoint (each epoch's end, a stop): what resume reads


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a ResNet Lab checkpoint safely (weights_only=True); ValueError for anything else.

    Args:
        path: the checkpoint file.
        map_location: where the tensors go, e.g. ``"cpu"`` or ``"cuda:0"``.
    """

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path.name!r} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # corrupt, truncated, pickled code, not a torch file at all
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{path.name!r} is not a readable ResNet Lab checkpoint ({first_line[:160]})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path.name!r} is not a ResNet Lab checkpoint (no '{CHECKPOINT_FORMAT}' marker)")
    return payload


def write_checkpoint(payload: dict, path: str | os.PathLike) -> Path:
    """Save ``payload`` with torch.save at ``path``, atomically: the previous file stays until this one is whole.

    Args:
        payload: tensors, numbers, strings, lists and dicts only (so it loads with weights_only=True).
        path: the file to write.

    Raises:
        OSError: the disk refused (a full disk: ``ENOSPC``); nothing half-written is left behind.
    """
    return save_atomically(payload, path)


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
