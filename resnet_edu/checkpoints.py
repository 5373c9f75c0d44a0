"""Reading a ResNet Lab checkpoint safely.

A checkpoint is a dict saved with ``torch.save``: the model's and the optimizer's state, the
run's config, its step and what the data set looked like (see ``Trainer.checkpoint``). It is
read with ``torch.load(..., weights_only=True)``, which refuses pickled code, so a file
someone hands you cannot run anything.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

CHECKPOINT_FORMAT = "resnet-lab-checkpoint-1"


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a ResNet Lab checkpoint safely (weights_only=True); ValueError for anything else."""
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
