"""The data set a run trains on, loaded once per process and shared by every run, analysis and page.

Decoding CIFAR-10 or an image folder takes seconds to minutes; the lanes, the torchrun
processes, the analysis jobs (lesion, landscape) and the pages all ask for the same few data
sets, so each is decoded once per process and kept (:func:`cached_dataset`).
:func:`augmentation_for` names the augmentation a run's data set gets, :func:`dataset_of_run` the
data set of a recorded run.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import TYPE_CHECKING

from resnet_edu import data as data_module

if TYPE_CHECKING:
    from resnet_edu.train import TrainConfig

_datasets: dict[tuple, data_module.ImageDataset] = {}
_datasets_lock = threading.Lock()


def cached_dataset(name: str, root: str | None = None, image_size: int = 32, progress=None,
                   max_train: int | None = None) -> data_module.ImageDataset:
    """Load a data set once per process (decoded tensors are shared by every run and page).

    ``max_train`` keeps a class-balanced subset of the training images, the same one every time
    (an image folder stores its images class by class: its first N would be the first classes only).
    """
    key = (name, root, image_size)
    with _datasets_lock:
        if key not in _datasets:
            _datasets[key] = data_module.load_dataset(name, root=root, image_size=image_size, progress=progress)
        dataset = _datasets[key]
    if max_train is not None and max_train < dataset.num_train:
        keep = data_module.balanced_subset(dataset.train_labels, max_train)
        dataset = dataclasses.replace(dataset, train_images=dataset.train_images[keep],
                                      train_labels=dataset.train_labels[keep])
    return dataset


def augmentation_for(config: TrainConfig) -> str:
    """The BatchStream augmentation of a run: Sec. 3.4's scale + colour for ImageNet nets on folders of photos
    (Imagenette or any image folder); Sec. 4.2's pad-and-crop + flip everywhere else."""
    return "imagenet" if config.dataset in data_module.PHOTO_FOLDERS and config.family == "imagenet" else "cifar"


def dataset_of_run(config: TrainConfig) -> data_module.ImageDataset:
    """The data set a run trained on, for an analysis of it; ValueError with a sentence when it is not here."""
    try:
        return cached_dataset(config.dataset, config.data_root, config.image_size)
    except (data_module.DataUnavailable, data_module.BadDataFolder) as error:
        raise ValueError(f"the run's data set is not available: {' '.join(str(error).split())}") from None
