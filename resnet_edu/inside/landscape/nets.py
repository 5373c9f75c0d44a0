"""One trained run made ready for the landscape: its model, fixed training images, initial weights.

Its own file because it is where the landscape reads the run store and the data sets; the
rest of the package works on nets in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from resnet_edu.train.checkpoint import INIT_CHECKPOINT


@dataclass
class Net:
    """A trained net ready for the landscape: its model, images and (when saved) initial weights."""

    run_id: str
    name: str
    model: nn.Module
    images: torch.Tensor
    labels: torch.Tensor
    initial_state: dict | None  # None: the run has no init.pt
    initial_message: str = ""  # why there is no interpolation
    shortcuts: bool = True
    depth: int = 0
    step: int = 0


def training_images(config, info: dict, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``count`` training images of the run's data set, normalised as the run saw them (no augmentation)."""
    from resnet_edu import data
    from resnet_edu.data.loaded import dataset_of_run

    dataset = dataset_of_run(config)
    count = min(count, dataset.num_train)
    mean = info.get("mean") or dataset.mean
    std = info.get("std") or dataset.std
    return data.normalize(dataset.train_images[:count], mean, std), dataset.train_labels[:count].clone()


def init_checkpoint_path(store, run_id: str) -> Path:
    """Where a run's initial weights are saved (same format as its last.pt)."""
    return store.checkpoint_dir(run_id) / INIT_CHECKPOINT


def load_net(store, run_id: str, images: int, device: torch.device | str = "cpu") -> Net:
    """The run's newest checkpoint, its first ``images`` training images and its initial state.

    Raises ValueError with a sentence for the user: unknown run, no checkpoint yet, unreadable checkpoint.
    """
    from resnet_edu.runs import RunNotFound
    from resnet_edu.train import load_checkpoint, model_from_checkpoint

    try:
        run = store.get_run(run_id)
        path = store.latest_checkpoint(run_id)
    except RunNotFound as error:
        raise ValueError(str(error)) from None
    if path is None:
        raise ValueError(f"run {run_id} has no checkpoint yet (one is saved at the end of every epoch)")
    model, config, info = model_from_checkpoint(path, device=device)
    x, y = training_images(config, info, images)
    initial, message = None, ""
    init_path = init_checkpoint_path(store, run_id)
    if init_path.is_file():
        try:
            initial = load_checkpoint(init_path, map_location=device)["model"]
        except (ValueError, KeyError) as error:
            message = f"its initial weights could not be read ({error})"
    else:
        message = ("its initial weights were not saved (runs started before the Lab saved them at "
                   "the first step): train it again to see the path from initialisation")
    return Net(run_id=run_id, name=str(run.get("name") or run_id), model=model, images=x, labels=y,
               initial_state=initial, initial_message=message, shortcuts=bool(config.shortcuts),
               depth=int(config.depth), step=int(info.get("step") or 0))
