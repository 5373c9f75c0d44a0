"""Imagenette (fast.ai): 10 easy ImageNet classes in ImageNet's own ``train/`` + ``val/`` layout.

The smallest real data on which the ImageNet-style nets of Table 2 make sense: 9.5k training and
3.9k validation photos, loaded like any image folder once its archive is unpacked in the data
root (:mod:`resnet_edu.data.downloads` picks the 160 px or 320 px variant and fetches it).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from resnet_edu.data.dataset import ImageDataset, Progress
from resnet_edu.data.downloads import Progress as DownloadProgress
from resnet_edu.data.downloads import imagenette_archive, prepare
from resnet_edu.data.folders import load_imagefolder
from resnet_edu.data.root import default_data_root

# Imagenette's folders are WordNet ids; these are the first of torchvision's names for each.
IMAGENETTE_CLASSES: dict[str, str] = {
    "n01440764": "tench", "n02102040": "English springer", "n02979186": "cassette player",
    "n03000684": "chain saw", "n03028079": "church", "n03394916": "French horn",
    "n03417042": "garbage truck", "n03425413": "gas pump", "n03445777": "golf ball",
    "n03888257": "parachute",
}


def load_imagenette(root: str | os.PathLike | None = None, *, image_size: int = 64, seed: int = 0,
                    progress: Progress | None = None, download: bool = False,
                    max_train: int | None = None, max_test: int | None = None) -> ImageDataset:
    """Imagenette's ``train/`` and ``val/`` decoded at ``image_size`` (an ImageDataset named "imagenette").

    Class names are Imagenette's words ("tench", "church", ...), not WordNet ids.

    Raises:
        DataUnavailable: neither variant is in the data root (and ``download`` is off or failed).
    """
    root = Path(root if root is not None else default_data_root())
    archive = imagenette_archive(image_size, root)

    def report(step: DownloadProgress) -> None:
        if progress is not None:
            progress(0.5 * step.fraction, step.describe())

    folder = prepare(archive, root, download=download, progress=report)

    def decoding(fraction: float, message: str) -> None:
        if progress is not None:
            progress(0.5 + 0.5 * fraction, message)

    dataset = load_imagefolder(folder, image_size=image_size, seed=seed, progress=decoding,
                               max_train=max_train, max_test=max_test)
    classes = tuple(IMAGENETTE_CLASSES.get(name, name) for name in dataset.classes)
    return dataclasses.replace(dataset, name="imagenette", classes=classes)
