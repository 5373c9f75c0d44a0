"""The data set a run trains on, loaded once per process and shared by every run, analysis and page.

Decoding CIFAR-10 or an image folder takes seconds to minutes; the lanes, the torchrun
processes, the analysis jobs (lesion, landscape) and the pages all ask for the same few data
sets, so each is decoded once per process and kept (:func:`cached_dataset`): the few used last
(``RESNET_EDU_DATASETS_KEPT``, default 3, and at most ``RESNET_EDU_DATASETS_KEPT_GB`` GiB,
default 8), the oldest let go first. One set is decoded while another, already here, is handed
out at once: each set has its own lock. :func:`preload_dataset` is what getting ready before a
click may do (never a decode of photos), :func:`augmentation_for` names the augmentation a run's
data set gets, :func:`dataset_of_run` the data set of a recorded run.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from typing import TYPE_CHECKING

from resnet_edu import data as data_module

if TYPE_CHECKING:
    from resnet_edu.train import TrainConfig

_datasets: dict[tuple, data_module.ImageDataset] = {}  # oldest use first (a dict keeps insertion order)
_datasets_lock = threading.Lock()  # guards _datasets and _loading, never held while decoding
_loading: dict[tuple, threading.Lock] = {}  # one lock per data set being loaded
KEPT_ENV, KEPT_GB_ENV = "RESNET_EDU_DATASETS_KEPT", "RESNET_EDU_DATASETS_KEPT_GB"
KEPT_DEFAULT, KEPT_GB_DEFAULT = 3, 8.0


def _env_number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


def dataset_nbytes(dataset: data_module.ImageDataset) -> int:
    """Bytes of a decoded set's images (what keeping it costs)."""
    return dataset.train_images.numel() + dataset.test_images.numel()


def _keep_within_budget(newest: tuple) -> None:
    """Let go of the data sets used longest ago beyond the count and byte budget (call with the lock held);
    the newest one stays even alone over the budget. A run still training on one keeps its tensors alive."""
    most = int(_env_number(KEPT_ENV, KEPT_DEFAULT))
    budget = _env_number(KEPT_GB_ENV, KEPT_GB_DEFAULT) * 2**30
    while len(_datasets) > 1:
        too_many = len(_datasets) > most
        too_big = sum(dataset_nbytes(d) for d in _datasets.values()) > budget
        if not (too_many or too_big):
            return
        oldest = next(key for key in _datasets if key != newest)
        del _datasets[oldest]


def _remembered(key: tuple) -> data_module.ImageDataset | None:
    """The set under ``key``, marked as used now; call with the lock held."""
    dataset = _datasets.pop(key, None)
    if dataset is not None:
        _datasets[key] = dataset
    return dataset


def is_loaded(name: str, root: str | None = None, image_size: int = 32) -> bool:
    """Whether this process holds the data set decoded at this size."""
    with _datasets_lock:
        return (name, root, image_size) in _datasets


def cached_dataset(name: str, root: str | None = None, image_size: int = 32, progress=None,
                   max_train: int | None = None) -> data_module.ImageDataset:
    """Load a data set once per process (decoded tensors are shared by every run and page).

    Two callers asking for the same set wait for one decode; a caller asking for a set already
    here gets it at once, whatever else is being decoded. ``max_train`` keeps a class-balanced
    subset of the training images, the same one every time (an image folder stores its images
    class by class: its first N would be the first classes only).
    """
    key = (name, root, image_size)
    with _datasets_lock:
        dataset = _remembered(key)
        if dataset is None:
            loading = _loading.setdefault(key, threading.Lock())
    if dataset is None:
        with loading:  # only callers of this same set wait here
            with _datasets_lock:
                dataset = _remembered(key)
            if dataset is None:
                try:
                    dataset = data_module.load_dataset(name, root=root, image_size=image_size, progress=progress)
                except BaseException:
                    with _datasets_lock:
                        _loading.pop(key, None)
                    raise
                with _datasets_lock:
                    _datasets[key] = dataset
                    _loading.pop(key, None)
                    _keep_within_budget(key)
    if max_train is not None and max_train < dataset.num_train:
        keep = data_module.balanced_subset(dataset.train_labels, max_train)
        dataset = dataclasses.replace(dataset, train_images=dataset.train_images[keep],
                                      train_labels=dataset.train_labels[keep])
    return dataset


def preload_dataset(name: str, root: str | None = None, image_size: int = 32) -> bool:
    """Load a data set ahead of a click where that is cheap and needs no decoding of photos: the
    built-in set and CIFAR-10 at their own 32 px. Photo folders (Imagenette, an image folder) and
    other sizes are decoded when a comparison starts on them, not because a box on a page moved.
    Returns whether the set is here now."""
    if image_size != 32 or name not in ("synthetic", "cifar10"):
        return is_loaded(name, root, image_size)
    cached_dataset(name, root, image_size)
    return True


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
