"""The data set a run trains on, loaded once per process and shared by every run, analysis and page.

Decoding CIFAR-10 or an image folder takes seconds to minutes; the lanes, the torchrun
processes, the analysis jobs (lesion, landscape) and the pages all ask for the same few data
sets, so each is decoded once per process and kept; :func:`prepare` loads one before the first
click. Its own file: the lane loop (:mod:`resnet_edu.lanes`) is one of several readers of this cache.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading

import torch

from resnet_edu import data as data_module
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


def prepare(dataset: str = "synthetic", data_root: str | None = None, image_size: int = 32,
            device: torch.device | str = "cpu") -> threading.Thread:
    """Get a data set ready before anyone asks for it, in a background thread; returns the thread.

    The app asks for its default data set when it starts, so a teacher's first click does
    not wait for the images to be generated or decoded, nor for torch's first-use imports,
    nor for the convolution kernels of a first iteration (:func:`rehearse_first_step`): the
    first iteration then follows the click within a second or two. A data set that cannot be
    loaded is left alone here; the comparison that asks for it fails with the reason.
    """
    def load() -> None:
        with contextlib.suppress(Exception):
            cached_dataset(dataset, data_root, image_size)
        # Building the first optimizer makes torch import its compiler stack (torch._dynamo):
        # about 2 s on a 2-core CPU, better spent now than after the click.
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        with contextlib.suppress(Exception):
            rehearse_first_step(dataset, data_root, image_size, device)

    thread = threading.Thread(target=load, daemon=True, name=f"resnet-lab-prepare-{dataset}")
    thread.start()
    return thread


def rehearse_first_step(dataset: str, data_root: str | None, image_size: int, device: torch.device | str) -> bool:
    """Train a throw-away ResNet-8 for one iteration, as a classroom run's first iteration is trained.

    The first iteration of a net costs far more than the next ones: the CPU's convolution library
    (oneDNN) builds a kernel for every new layer shape and keeps it for the process. Every CIFAR
    net has the same shapes (16/32/64 filters on 32/16/8 px maps), so one step of the smallest
    one, with the default batch, precision and probes, builds what the Lab's nets will need.
    Returns False (and does nothing) where there is nothing to rehearse: ImageNet-sized images,
    or a device other than the CPU.
    """
    from resnet_edu.train import Trainer

    device = torch.device(device)
    if image_size != 32 or device.type != "cpu":
        return False
    data = cached_dataset(dataset, data_root, image_size)
    config = TrainConfig(depth=8, dataset=dataset, data_root=data_root, probe_every=1)
    trainer = Trainer(config, num_classes=len(data.classes), steps_per_epoch=1, device=device)
    stream = data_module.BatchStream(data, config.batch_size, device=device, augment=augmentation_for(config),
                                     channels_last=trainer.channels_last)
    trainer.train_step(*stream.next())
    trainer.read_metrics()
    return True
