"""Loading a trained net back from a training checkpoint.

Its own file: the pages and the analysis jobs (lesion, landscape, features) need the trained
net without the trainer.
"""

from __future__ import annotations

import os

import torch

from resnet_edu import models
from resnet_edu.checkpoints import load_checkpoint
from resnet_edu.train.build import make_model
from resnet_edu.train.config import TrainConfig



def model_from_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu"):
    """(eval-mode model, its TrainConfig, info) from a checkpoint; info has step, num_classes, classes, mean, std."""
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
