"""Ready before the first click: a data set decoded and the CPU's convolution kernels built in the background.

* :func:`prepare` loads a data set into this process's cache (:mod:`resnet_edu.data.loaded`) in a
  background thread, then rehearses a first iteration;
* :func:`rehearse_first_step` trains a throw-away ResNet-8 for one iteration, so the first
  iteration of a class's nets does not pay for building kernels.
"""

from __future__ import annotations

import contextlib
import threading

import torch

from resnet_edu import data as data_module
from resnet_edu.data.loaded import augmentation_for, cached_dataset, preload_dataset
from resnet_edu.train import TrainConfig, Trainer


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
        ready = False
        with contextlib.suppress(Exception):  # photos are decoded on Start, never here (preload_dataset)
            ready = preload_dataset(dataset, data_root, image_size)
        # Building the first optimizer makes torch import its compiler stack (torch._dynamo):
        # about 2 s on a 2-core CPU, better spent now than after the click.
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        with contextlib.suppress(Exception):
            if ready:
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
    device = torch.device(device)
    if image_size != 32 or device.type != "cpu":
        return False
    data = cached_dataset(dataset, data_root, image_size)
    config = TrainConfig(depth=8, dataset=dataset, data_root=data_root, probe_every=1)
    trainer = Trainer(config, num_classes=len(data.classes), steps_per_epoch=1, device=device)
    stream = data_module.BatchStream(data, trainer.config.batch_size, device=device, augment=augmentation_for(config),
                                     channels_last=trainer.channels_last)
    trainer.train_step(*stream.next())
    trainer.read_metrics()
    return True
