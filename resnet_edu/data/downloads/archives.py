"""The archives this project can fetch, and where each stands in the data root.

One archive = one :class:`Archive` (where it comes from, its checksum, the folder it unpacks
into). The URLs and MD5 sums are the ones torchvision's ``CIFAR10`` and ``Imagenette`` use
(tests check that they still agree). Also here: the one message for an archive that is not
there, and the lock that lets one process at a time download or unpack an archive.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from resnet_edu.data.root import DataUnavailable, default_data_root


@dataclass(frozen=True)
class Archive:
    """One downloadable archive and the folder it unpacks into (all paths relative to the data root)."""

    key: str  # "cifar10", "imagenette-160", ...
    title: str  # shown to people: "CIFAR-10", "Imagenette (160 px)"
    url: str  # where it is downloaded from
    md5: str  # checksum of the whole archive (torchvision's)
    filename: str  # the archive's name in the data root
    folder: str  # the top folder inside the archive, unpacked into the data root
    required: tuple[str, ...]  # paths inside ``folder`` that a complete copy has
    approx_bytes: int  # for messages and the disk-space check before the server says the size


CIFAR10 = Archive(
    key="cifar10", title="CIFAR-10", url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    md5="c58f30108f718f92721af3b95e74349a", filename="cifar-10-python.tar.gz", folder="cifar-10-batches-py",
    required=("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch",
              "batches.meta"),
    approx_bytes=170_498_071)
IMAGENETTE_160 = Archive(
    key="imagenette-160", title="Imagenette (160 px)",
    url="https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz",
    md5="e793b78cc4c9e9a4ccc0c1155377a412", filename="imagenette2-160.tgz", folder="imagenette2-160",
    required=("train", "val"), approx_bytes=99_000_000)
IMAGENETTE_320 = Archive(
    key="imagenette-320", title="Imagenette (320 px)",
    url="https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-320.tgz",
    md5="3df6f0d01a2c9592104656642f5e78a3", filename="imagenette2-320.tgz", folder="imagenette2-320",
    required=("train", "val"), approx_bytes=341_000_000)
ARCHIVES: dict[str, Archive] = {a.key: a for a in (CIFAR10, IMAGENETTE_160, IMAGENETTE_320)}


def unavailable(archive: Archive, root: Path, reason: str) -> DataUnavailable:
    """The one error for 'this data set is not here': what went wrong, and how to fix it offline."""
    return DataUnavailable(
        f"{archive.title} is not available: {reason} To use it offline, download {archive.filename} "
        f"({archive.approx_bytes / 2**20:,.0f} MB, from {archive.url}) on a machine with internet access and "
        f"put it in {Path(root).resolve()} (the data root: set RESNET_EDU_DATA or --data-root to use another "
        f"folder); it is unpacked there on first use. Or choose the built-in 'synthetic' data set, which works "
        f"offline.")


def ready_folder(archive: Archive, root: str | os.PathLike | None = None) -> Path | None:
    """The unpacked folder if it is complete (every required path exists), else None."""
    folder = Path(root if root is not None else default_data_root()) / archive.folder
    if all((folder / name).exists() for name in archive.required):
        return folder
    return None


def state(archive: Archive, root: str | os.PathLike | None = None) -> str:
    """``"ready"`` (unpacked), ``"archive"`` (the archive is here, not unpacked yet),
    ``"partial"`` (an interrupted download that can be resumed) or ``"absent"``."""
    root = Path(root if root is not None else default_data_root())
    if ready_folder(archive, root) is not None:
        return "ready"
    if (root / archive.filename).is_file():
        return "archive"
    if part_path(archive, root).is_file():
        return "partial"
    return "absent"


def part_path(archive: Archive, root: Path) -> Path:
    return root / f"{archive.filename}.part"


def imagenette_archive(image_size: int, root: str | os.PathLike | None = None) -> Archive:
    """The Imagenette variant to use: one already on disk (160 px first for images up to 160 px),
    else the smallest that is large enough for ``image_size``."""
    order = [IMAGENETTE_160, IMAGENETTE_320] if image_size <= 160 else [IMAGENETTE_320, IMAGENETTE_160]
    for wanted in ("ready", "archive"):
        for archive in order:
            if state(archive, root) == wanted:
                return archive
    return order[0]


@contextlib.contextmanager
def exclusive(root: Path, archive: Archive) -> Iterator[None]:
    """One writer per archive (two tabs pressing Download at once): the second is told to wait.

    An advisory lock (``flock``) is released by the system when its process dies, so a crash never
    leaves a stale lock behind. Where ``fcntl`` does not exist (Windows), there is no lock.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    try:
        root.mkdir(parents=True, exist_ok=True)
        handle = open(root / f".{archive.filename}.lock", "a+b")
    except OSError:  # a read-only data root: nothing can be written there, so there is nothing to guard
        yield
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ValueError(f"{archive.title} is already being downloaded or unpacked; wait for it to finish") \
                from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
