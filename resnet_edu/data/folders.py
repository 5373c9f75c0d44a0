"""Image folders (ImageFolder trees: one sub-folder per class) decoded once into an ``ImageDataset``.

Any folder of photos with ``train/`` and ``val/`` or ``test/`` becomes a data set: Imagenette,
Tiny-ImageNet, a teacher's own photos. Every file is decoded (in threads: PIL releases the GIL),
resized to the training size and kept as uint8 tensors, so training never touches PIL per step;
the result is cached on disk (:mod:`resnet_edu.data.cache`).
"""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from resnet_edu.data.cache import cache_key, cache_load, cache_save
from resnet_edu.data.dataset import ImageDataset, Progress, make_dataset, report, seeded_generator, subset_to_keep
from resnet_edu.data.decode import pil, square_image_tensor

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp", ".gif")


class BadDataFolder(ValueError):
    """An image folder that cannot be used: missing, a file, one class, no or unreadable images."""


def _decode_file(path: Path, size: int) -> torch.Tensor:
    Image = pil()[0]
    try:
        with Image.open(path) as img:
            img.draft("RGB", (size, size))          # JPEG: decode at a reduced scale, much faster
            return square_image_tensor(img, size)
    except Exception as error:  # noqa: BLE001 - any decoder failure means this file is unusable
        raise BadDataFolder(f"cannot read image {path}: {error}. Remove or replace this file and try again.") from error


def _decode_files(files: Sequence[Path], size: int, progress: Progress | None, done: float, share: float,
                  what: str) -> torch.Tensor:
    """Decode image files into one uint8 (N, 3, size, size) tensor, in threads (PIL releases the GIL)."""
    out = torch.empty(len(files), 3, size, size, dtype=torch.uint8)
    if not files:
        return out
    workers = max(1, min(8, (os.cpu_count() or 1)))
    step = max(64, len(files) // 50)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for start in range(0, len(files), step):
            batch = files[start:start + step]
            for offset, tensor in enumerate(pool.map(_decode_file, batch, [size] * len(batch))):
                out[start + offset] = tensor
            stop = start + len(batch)
            report(progress, done + share * stop / len(files), f"Decoding {what} images: {stop:,}/{len(files):,}")
    return out


# --------------------------------------------------------------------------- image folders

def _list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _class_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _scan_split(folder: Path, class_names: Sequence[str] | None) -> tuple[list[Path], list[int], list[str]]:
    dirs = _class_dirs(folder)
    if class_names is None:
        class_names = [d.name for d in dirs if _list_images(d)]
    index = {name: i for i, name in enumerate(class_names)}
    files, labels = [], []
    for d in dirs:
        images = _list_images(d)
        if not images:
            continue
        if d.name not in index:
            raise BadDataFolder(f"{folder} has a class folder {d.name!r} that the training folder does not have; "
                                f"training classes are: {', '.join(class_names)}")
        files += images
        labels += [index[d.name]] * len(images)
    return files, labels, list(class_names)


def _keep(files: list[Path], labels: list[int], limit: int | None, seed: int, split: str):
    """The files ``max_train``/``max_test`` keep: a class-balanced subset (the list is sorted by class)."""
    keep = subset_to_keep(torch.tensor(labels, dtype=torch.int64), limit, seed, split)
    if keep is None:
        return files, labels
    return [files[i] for i in keep.tolist()], [labels[i] for i in keep.tolist()]


def load_imagefolder(root: str | os.PathLike, *, image_size: int = 32, seed: int = 0,
                     progress: Progress | None = None, max_train: int | None = None,
                     max_test: int | None = None) -> ImageDataset:
    """Decode an ImageFolder tree (``train/`` and ``val/`` or ``test/``, one sub-folder per class).

    A folder with class sub-folders directly (no ``train/``) is split 5:1 into train/test with the
    seed. Images are resized (shorter side to ``image_size``, centre crop) once and cached under
    ``<root>/.cache/`` (or ``~/.cache/resnet_edu`` when the root is read-only), keyed by the file
    list, sizes, modification times and ``image_size``.

    Raises:
        BadDataFolder: missing path, a file, fewer than two classes, no images, an unreadable image.
    """
    if image_size < 8:
        raise ValueError(f"image_size must be at least 8, got {image_size}")
    folder = Path(root).expanduser()
    layout_help = ("Expected <folder>/train/<class>/*.jpg and <folder>/val/<class>/*.jpg (or test/), "
                   "e.g. Imagenette or Tiny-ImageNet, with at least two classes.")
    if not folder.exists():
        raise BadDataFolder(f"the data folder {folder} does not exist. {layout_help}")
    if not folder.is_dir():
        raise BadDataFolder(f"{folder} is a file, not a folder. {layout_help}")
    folder = folder.resolve()
    train_dir = next((folder / n for n in ("train", "training") if (folder / n).is_dir()), None)
    test_dir = next((folder / n for n in ("val", "test", "valid", "validation") if (folder / n).is_dir()), None)

    report(progress, 0.0, f"Scanning {folder.name}")
    if train_dir is None:
        files, labels, classes = _scan_split(folder, None)
        order = torch.randperm(len(files), generator=seeded_generator(seed, "split")).tolist()
        n_test = len(files) // 6
        test_files, test_labels = [files[i] for i in order[:n_test]], [labels[i] for i in order[:n_test]]
        files, labels = [files[i] for i in order[n_test:]], [labels[i] for i in order[n_test:]]
        pairs = sorted(zip(files, labels))
        files, labels = [f for f, _ in pairs], [lab for _, lab in pairs]
        pairs = sorted(zip(test_files, test_labels))
        test_files, test_labels = [f for f, _ in pairs], [lab for _, lab in pairs]
    else:
        files, labels, classes = _scan_split(train_dir, None)
        if test_dir is not None:
            test_files, test_labels, _ = _scan_split(test_dir, classes)
        else:
            test_files, test_labels = [], []
    if not files:
        raise BadDataFolder(f"no images found in {train_dir or folder} (looked for {', '.join(IMAGE_EXTENSIONS)}). "
                            f"{layout_help}")
    if len(classes) < 2:
        raise BadDataFolder(f"{train_dir or folder} has only one class ({classes[0]!r}); a classifier needs "
                            f"at least two class folders. {layout_help}")
    if not test_files:
        raise BadDataFolder(f"no test images in {folder}: add a val/ or test/ folder with the same classes. "
                            f"{layout_help}")
    files, labels = _keep(files, labels, max_train, seed, "train")
    test_files, test_labels = _keep(test_files, test_labels, max_test, seed, "test")

    def signature(paths):
        out = []
        for p in paths:
            st = p.stat()
            out.append([str(p.relative_to(folder)), st.st_size, st.st_mtime_ns])
        return out

    key = cache_key({"source": "imagefolder", "root": str(folder), "size": image_size, "classes": classes,
                     "train": signature(files), "test": signature(test_files), "train_labels": labels,
                     "test_labels": test_labels})
    cache_name = f"imagefolder-{_safe(folder.name)}-{image_size}px"
    name = f"imagefolder:{folder.name}"
    cached = cache_load(cache_name, key, folder)
    if cached is not None:
        report(progress, 1.0, f"Loaded {len(files) + len(test_files):,} decoded images from the cache")
        return ImageDataset(name=name, train_images=cached["train_images"], train_labels=cached["train_labels"],
                            test_images=cached["test_images"], test_labels=cached["test_labels"],
                            classes=tuple(cached["classes"]), mean=tuple(cached["mean"]), std=tuple(cached["std"]))
    share = len(files) / (len(files) + len(test_files))
    train_images = _decode_files(files, image_size, progress, 0.0, share, "training")
    test_images = _decode_files(test_files, image_size, progress, share, 1 - share, "test")
    dataset = make_dataset(name, train_images, torch.tensor(labels, dtype=torch.int64),
                            test_images, torch.tensor(test_labels, dtype=torch.int64), classes)
    cache_save(cache_name, key, folder, {
        "train_images": dataset.train_images, "train_labels": dataset.train_labels,
        "test_images": dataset.test_images, "test_labels": dataset.test_labels,
        "classes": list(dataset.classes), "mean": list(dataset.mean), "std": list(dataset.std)})
    report(progress, 1.0, f"Decoded {len(files) + len(test_files):,} images")
    return dataset


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)[:40] or "folder"
