"""CIFAR-10 (Krizhevsky 2009), the paper's Sec. 4.2 data set: 50k training and 10k test images, 32x32.

Read from the python-version batches in the data root with torchvision's ``CIFAR10`` reader; the
archive itself is found, downloaded and unpacked by :mod:`resnet_edu.data.downloads`.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch.nn import functional as F

from resnet_edu.data.dataset import ImageDataset, Progress, make_dataset, report, subset_to_keep
from resnet_edu.data.downloads import CIFAR10 as CIFAR10_ARCHIVE
from resnet_edu.data.downloads import prepare, unavailable
from resnet_edu.data.root import default_data_root

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")


def load_cifar10(root: str | os.PathLike | None = None, *, image_size: int = 32, seed: int = 0,
                 progress: Progress | None = None, download: bool = False,
                 max_train: int | None = None, max_test: int | None = None) -> ImageDataset:
    """CIFAR-10 (50k train / 10k test) from the data root, unpacking or downloading it if needed.

    Raises:
        DataUnavailable: not in the data root and ``download`` is False or the download fails.
    """
    root = Path(root) if root is not None else default_data_root()
    batches = root / CIFAR10_ARCHIVE.folder
    # downloaded (resumable, MD5-checked) or unpacked from an archive placed by hand; never half-unpacked
    prepare(CIFAR10_ARCHIVE, root, download=download,
            progress=lambda step: report(progress, 0.95 * step.fraction, f"CIFAR-10: {step.describe()}"))
    report(progress, 0.95, "Loading CIFAR-10")
    try:
        from torchvision.datasets import CIFAR10
        train = CIFAR10(str(root), train=True, download=False)
        test = CIFAR10(str(root), train=False, download=False)
    except (RuntimeError, OSError, ValueError, EOFError) as error:
        raise unavailable(CIFAR10_ARCHIVE, root, f"the files in {batches} could not be read ({error}).") from error
    train_images = torch.from_numpy(train.data).permute(0, 3, 1, 2).contiguous()
    test_images = torch.from_numpy(test.data).permute(0, 3, 1, 2).contiguous()
    train_labels = torch.tensor(train.targets, dtype=torch.int64)
    test_labels = torch.tensor(test.targets, dtype=torch.int64)
    train_images, train_labels = _keep(train_images, train_labels, max_train, seed, "train")
    test_images, test_labels = _keep(test_images, test_labels, max_test, seed, "test")
    if image_size != 32:
        train_images = resize_images(train_images, image_size)
        test_images = resize_images(test_images, image_size)
    report(progress, 1.0, "CIFAR-10 ready")
    return make_dataset("cifar10", train_images, train_labels, test_images, test_labels, CIFAR10_CLASSES)


def resize_images(images_uint8: torch.Tensor, size: int, chunk: int = 2048) -> torch.Tensor:
    """Resize square uint8 images to ``size`` (antialiased bilinear), in chunks."""
    out = torch.empty(images_uint8.shape[0], 3, size, size, dtype=torch.uint8)
    for start in range(0, images_uint8.shape[0], chunk):
        x = images_uint8[start:start + chunk].float()
        y = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[start:start + chunk] = y.round_().clamp_(0, 255).to(torch.uint8)
    return out


def _keep(images: torch.Tensor, labels: torch.Tensor, limit: int | None, seed: int, split: str):
    """The images ``max_train``/``max_test`` keep: a class-balanced subset (see resnet_edu.data.dataset)."""
    keep = subset_to_keep(labels, limit, seed, split)
    if keep is None:
        return images, labels
    return images[keep].contiguous(), labels[keep].contiguous()
