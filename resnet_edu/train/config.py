"""What defines a training run: :class:`TrainConfig`, the checks that refuse a bad one, and
:func:`resolve`, which fills in the batch size and lr a run gets on its device when it is submitted.

A ``TrainConfig()`` is the same on every machine: a batch size or lr left ``None`` means "the
recipe's default on the device that trains it", decided by :func:`resolve` when the run is
submitted (the job managers and the CLI call it); the config stored with a run always holds
numbers. Which nets exist is :func:`resnet_edu.models.check_architecture`'s rule, the one
``build_model`` applies too.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from resnet_edu import models
from resnet_edu.data.catalog import DATASETS
from resnet_edu.devices import PRECISIONS
from resnet_edu.train.classroom import default_batch_size, default_learning_rate

RECIPES = ("classroom", "paper")
MAX_LR = 100.0  # above this no SGD run can learn anything; lr 10 is allowed (it shows divergence)
MAX_BATCH = 4096
MAX_EPOCHS = 1000


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run. Frozen: safe to hand to a thread; stored with the run."""

    # the network
    family: str = "cifar"  # "cifar" (depth 6n+2) or "imagenet" (18/34/50/101/152)
    depth: int = 20  # weighted layers, as the paper counts them
    shortcuts: bool = True  # False: the plain twin (same layers, no shortcut addition)
    shortcut_type: str = "A"  # "A" zero-pad identity, "B" projection when the shape changes, "C" always
    # the data
    dataset: str = "synthetic"  # one of data.DATASETS: "synthetic" (built in, offline), "cifar10", "imagenette", "imagefolder"
    data_root: str | None = None  # folder of cifar10 / imagefolder data; None: RESNET_EDU_DATA or ./data
    image_size: int = 32  # pixels per side the images are resized to (imagefolder)
    max_train_images: int | None = None  # a class-balanced subset of N images (quick demos, tests); None: all
    # the recipe
    recipe: str = "classroom"  # "classroom": labelled changes for few-minute runs; "paper": Sec. 4.2 (the Lab's recipe notes: where it differs)
    epochs: int = 3  # passes over the training set; the lr schedule follows this length
    max_steps: int | None = None  # stop after this many iterations (the schedule still follows epochs)
    batch_size: int | None = None  # images per SGD step; None: the recipe's default on the device, set by resolve() (paper: 128)
    lr: float | None = None  # initial learning rate; None: the recipe's default, set by resolve() (paper: 0.1; classroom: 0.1 x batch / 128)
    momentum: float = 0.9
    weight_decay: float = 1e-4
    seed: int = 0  # initial weights and batch order; the synthetic images themselves never change
    # recording
    probe_every: int = 10  # iterations between gradient-norm / layer-response recordings (0: never)
    precision: str = "auto"  # "auto": bf16 where the hardware has it natively (CUDA >= 8.0, AMX CPUs); else fp32
    compile: bool = False  # torch.compile the net: slower first iterations, then maybe faster ones
    # many processes (torchrun; see resnet_edu.distributed)
    world_size: int = 1  # processes sharing each batch: batch_size is the global batch, batch_size / world_size each
    sync_bn: bool = False  # batch statistics over the global batch (CUDA only); False: per process (per GPU)
    name: str | None = None  # shown in the app; default e.g. "plain-56" / "ResNet-56"

    @property
    def run_name(self) -> str:
        """The name shown in the app: ``name`` if given, else the paper's (e.g. "plain-56", "ResNet-56")."""
        return self.name or models.net_name(self.family, self.depth, self.shortcuts, self.shortcut_type)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})

    @property
    def resolved(self) -> bool:
        """True once the batch size and lr are numbers (after :func:`resolve`)."""
        return self.batch_size is not None and self.lr is not None

    def validate(self) -> None:
        """Raise ValueError with a message a student can act on; build nothing.

        A batch size or lr still ``None`` passes: :func:`resolve` gives it the recipe's default.
        """
        models.check_architecture(self.family, self.depth, self.shortcut_type)  # the rule build_model applies
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown data set {self.dataset!r}: choose one of {', '.join(DATASETS)}")
        if self.recipe not in RECIPES:
            raise ValueError(f"unknown recipe {self.recipe!r}: use 'classroom' or 'paper'")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}: use auto, fp32 or bf16")
        if not isinstance(self.compile, bool):
            raise ValueError(f"compile must be true or false, not {self.compile!r}")
        if self.lr is not None:
            _check_number(self.lr, "learning rate", low=0.0, high=MAX_LR, low_open=True)
        _check_number(self.momentum, "momentum", low=0.0, high=0.999)
        _check_number(self.weight_decay, "weight decay", low=0.0, high=0.1)
        _check_whole(self.epochs, "epochs", 1, MAX_EPOCHS)
        if self.batch_size is not None:
            _check_whole(self.batch_size, "batch size", 1, MAX_BATCH)
        _check_whole(self.seed, "seed", 0, 2**31 - 1)
        _check_whole(self.probe_every, "probe interval", 0, 100_000)
        _check_whole(self.image_size, "image size", 16, 512)
        if self.max_train_images is not None:
            _check_whole(self.max_train_images, "max training images", 1, 10_000_000)
        if self.max_steps is not None:
            _check_whole(self.max_steps, "max steps", 1, 10_000_000)
        _check_whole(self.world_size, "world size", 1, MAX_BATCH)
        if self.batch_size is not None and self.batch_size % self.world_size:
            raise ValueError(f"batch size {self.batch_size} does not split evenly over {self.world_size} processes: "
                             f"use a multiple of {self.world_size}")
        if not isinstance(self.sync_bn, bool):
            raise ValueError(f"sync_bn must be true or false, not {self.sync_bn!r}")
        if self.family == "cifar" and self.image_size != 32:
            raise ValueError("CIFAR-style nets expect 32x32 images: use image size 32, or an ImageNet-style net")
        if self.name is not None and len(str(self.name)) > 200:
            raise ValueError("run name is longer than 200 characters")


def resolve(config: TrainConfig, device: Any = None) -> TrainConfig:
    """The config as it will train on ``device``: a ``None`` batch size or lr becomes the recipe's default.

    Called once when a run is submitted (the job managers, the CLI), so the config stored with a
    run always holds numbers; a config that already holds them comes back unchanged.

    Args:
        config: the run's settings, perhaps with ``batch_size`` / ``lr`` left ``None``.
        device: where the run trains: "cpu", "cuda", "cuda:1", a ``torch.device``, or "auto"/None
            (the device "auto" picks). On a CPU the classroom recipe uses smaller batches.
    """
    if config.resolved:
        return config
    config.validate()  # a bad data set or recipe gets its own message, not a failing default
    where = None if device is None else str(device)
    batch_size = config.batch_size
    if batch_size is None:  # the measured classroom default of that device (classroom.py)
        batch_size = default_batch_size(config.recipe, where, dataset=config.dataset)
    lr = config.lr
    if lr is None:  # the paper's 0.1, scaled to the batch by the classroom recipe
        lr = default_learning_rate(config.recipe, batch_size)
    return dataclasses.replace(config, batch_size=batch_size, lr=lr)


def _check_number(value: Any, what: str, *, low: float, high: float, low_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, not {value!r}")
    if value < low or (low_open and value == low):
        raise ValueError(f"{what} must be {'greater than' if low_open else 'at least'} {low:g}, not {value:g}")
    if value > high:
        raise ValueError(f"{what} {value:g} is absurd: the largest allowed is {high:g}")


def _check_whole(value: Any, what: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be a whole number, not {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{what} must be between {low} and {high}, not {value}")
