"""One entry point for every data set: ``load_dataset(name, ...)``, what the CLI and the Lab call.

    name          what                                                        needs
    synthetic     10 shape classes, 32x32, generated from a seed in ~1-2 s    nothing (offline)
    cifar10       torchvision CIFAR10 (50k / 10k)                             cifar-10-python.tar.gz in the data root
    imagenette    fast.ai's 10 ImageNet classes (9.5k / 3.9k photos)          imagenette2-160.tgz or -320.tgz there
    imagefolder   any ImageFolder tree with train/ and val/ or test/          a folder
"""

from __future__ import annotations

import os

from resnet_edu.data.cifar import load_cifar10
from resnet_edu.data.dataset import ImageDataset, Progress
from resnet_edu.data.folders import BadDataFolder, load_imagefolder
from resnet_edu.data.imagenette import load_imagenette
from resnet_edu.data.synthetic import SYNTHETIC_TEST_IMAGES, SYNTHETIC_TRAIN_IMAGES, make_synthetic

DATASETS = ("synthetic", "cifar10", "imagenette", "imagefolder")
PHOTO_FOLDERS = ("imagenette", "imagefolder")  # full-size photos, resized: where Sec. 3.4's augmentation applies


def load_dataset(name: str, *, root: str | os.PathLike | None = None, image_size: int = 32, seed: int = 0,
                 progress: Progress | None = None, download: bool = False,
                 max_train: int | None = None, max_test: int | None = None) -> ImageDataset:
    """Load one of ``DATASETS`` as uint8 tensors.

    Args:
        name: ``"synthetic"`` (root ignored), ``"cifar10"`` (torchvision CIFAR10 under ``root``,
            default ``$RESNET_EDU_DATA`` or ``./data``), ``"imagenette"`` (its ``train/`` + ``val/``
            under the same data root, see resnet_edu.data.downloads) or ``"imagefolder"`` (``root`` is a folder
            with ``train/`` and ``val/`` or ``test/``).
        root: data root (cifar10) or the image folder (imagefolder).
        image_size: side of the square images.
        seed: synthetic generation; which images ``max_train``/``max_test`` keep.
        progress: ``progress(fraction, message)``, called while generating/decoding/downloading.
        download: cifar10 and imagenette: download when absent.
        max_train, max_test: keep a seeded, class-balanced subset of at most this many images
            (synthetic: the number of images to generate, default 10,000 / 2,000).

    Raises:
        ValueError: unknown name. DataUnavailable: cifar10 or imagenette absent. BadDataFolder: unusable folder.
    """
    key = str(name).strip().lower()
    if key.startswith("imagefolder:"):
        key = "imagefolder"
    if key == "synthetic":
        return make_synthetic(SYNTHETIC_TRAIN_IMAGES if max_train is None else max_train,
                              SYNTHETIC_TEST_IMAGES if max_test is None else max_test,
                              seed=seed, image_size=image_size, progress=progress)
    if key == "cifar10":
        return load_cifar10(root, image_size=image_size, seed=seed, progress=progress, download=download,
                            max_train=max_train, max_test=max_test)
    if key == "imagenette":
        return load_imagenette(root, image_size=image_size, seed=seed, progress=progress, download=download,
                               max_train=max_train, max_test=max_test)
    if key == "imagefolder":
        if root is None:
            raise BadDataFolder("the 'imagefolder' data set needs a folder: pass root (CLI: --data-root DIR)")
        return load_imagefolder(root, image_size=image_size, seed=seed, progress=progress,
                                max_train=max_train, max_test=max_test)
    raise ValueError(f"unknown data set {name!r}: choose one of {', '.join(DATASETS)}")
