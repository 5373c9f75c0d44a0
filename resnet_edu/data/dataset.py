"""What every data set is once loaded: ``ImageDataset`` (uint8 tensors plus their statistics),
and the small helpers every loader shares (seeded generators, progress reports, channel statistics).

Quick runs on part of a data set keep a class-balanced choice of images (:func:`balanced_subset`,
:func:`subset_to_keep`), random but reproducible: an image folder lists its files class by class,
so its first N files would be the first classes only and a "quick" run would learn a different,
easier problem.

The synthetic set, CIFAR-10, image folders and the batch stream all build on it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn import functional as F

# ``progress(fraction in [0, 1], message)``: how loaders report while they generate, decode or download.
Progress = Callable[[float, str], None]


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """A whole data set as uint8 tensors on the CPU, plus what is needed to normalise it."""

    name: str                          # "synthetic", "cifar10", "imagefolder:<folder name>"
    train_images: torch.Tensor         # uint8 (N, 3, H, W), CPU
    train_labels: torch.Tensor         # int64 (N,), class indices
    test_images: torch.Tensor          # uint8 (M, 3, H, W), CPU
    test_labels: torch.Tensor          # int64 (M,)
    classes: tuple[str, ...]           # human-readable class names, index = label
    mean: tuple[float, float, float]   # per-channel mean of the train images, in [0, 1]
    std: tuple[float, float, float]    # per-channel std of the train images, in [0, 1]

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            images, labels = getattr(self, f"{split}_images"), getattr(self, f"{split}_labels")
            if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
                raise ValueError(f"{split}_images must be uint8 (N, 3, H, W), got {images.dtype} {tuple(images.shape)}")
            if labels.dtype != torch.int64 or labels.shape != (images.shape[0],):
                raise ValueError(f"{split}_labels must be int64 ({images.shape[0]},), got {labels.dtype} {tuple(labels.shape)}")

    @property
    def image_size(self) -> int:
        return int(self.train_images.shape[-1])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def num_train(self) -> int:
        return int(self.train_images.shape[0])

    @property
    def num_test(self) -> int:
        return int(self.test_images.shape[0])


def report(progress: Progress | None, fraction: float, message: str) -> None:
    """Call ``progress`` (if any) with ``fraction`` clamped to [0, 1]."""
    if progress is not None:
        progress(min(max(float(fraction), 0.0), 1.0), message)


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from any tuple of ints/strings, stable across runs and platforms."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & 0x7FFF_FFFF_FFFF_FFFF


def seeded_generator(*parts: object) -> torch.Generator:
    """A CPU generator seeded from ``parts`` (see :func:`derive_seed`): the same numbers on every machine."""
    return torch.Generator().manual_seed(derive_seed(*parts))


def channel_stats(images_uint8: torch.Tensor) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Per-channel mean and std of uint8 images, in [0, 1] units (exact, from 256-bin histograms)."""
    if images_uint8.numel() == 0:
        return (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
    values = torch.arange(256, dtype=torch.float64) / 255.0
    means, stds = [], []
    for c in range(3):
        counts = torch.bincount(images_uint8[:, c].reshape(-1), minlength=256).to(torch.float64)
        total = counts.sum()
        mean = (counts * values).sum() / total
        var = (counts * (values - mean) ** 2).sum() / total
        means.append(float(mean))
        stds.append(float(var.clamp_min(1e-12).sqrt()))
    return tuple(means), tuple(stds)


def make_dataset(name: str, train_images: torch.Tensor, train_labels: torch.Tensor, test_images: torch.Tensor,
                 test_labels: torch.Tensor, classes) -> ImageDataset:
    """An :class:`ImageDataset` whose mean and std are measured on ``train_images``."""
    mean, std = channel_stats(train_images)
    return ImageDataset(name=name, train_images=train_images.contiguous(), train_labels=train_labels.long(),
                        test_images=test_images.contiguous(), test_labels=test_labels.long(),
                        classes=tuple(classes), mean=mean, std=std)


# ------------------------------------------------------------------ class-balanced subsets

def balanced_subset(labels: torch.Tensor, count: int, seed: int | None = None) -> torch.Tensor:
    """Indices (ascending) of ``count`` images with every class as equally represented as the data allows.

    Chosen at random but always the same for the same ``seed``: a quick run on 1,000 images of an
    image folder gets about 100 of each of its 10 classes, not the first classes only.

    Args:
        labels: int64 (N,) class indices.
        count: how many to keep (at most N are returned).
        seed: varies the choice; None is one fixed choice whatever the run's seed (the training
            process decodes a data set once and gives every run the same subset of it).
    """
    n = labels.shape[0]
    generator = seeded_generator("balanced subset") if seed is None else seeded_generator("balanced subset", seed)
    order = torch.randperm(n, generator=generator)
    shuffled = labels[order].long()
    one_hot = F.one_hot(shuffled, int(shuffled.max()) + 1 if n else 1)              # (N, classes)
    rank_in_class = (one_hot.cumsum(0) * one_hot).sum(1) - 1                        # 0, 1, 2 … per class
    round_robin = torch.argsort(rank_in_class * n + torch.arange(n), stable=True)  # class by class, by rank
    return order[round_robin[:count]].sort().values


def subset_to_keep(labels: torch.Tensor, limit: int | None, seed: int, split: str) -> torch.Tensor | None:
    """The indices ``max_train``/``max_test`` = ``limit`` keep: None for all of them, else a balanced subset.

    Raises:
        ValueError: ``limit`` below 1.
    """
    if limit is None or limit >= labels.shape[0]:
        return None
    if limit < 1:
        raise ValueError(f"max_{split} must be at least 1, not {limit}")
    return balanced_subset(labels, limit, seed)
