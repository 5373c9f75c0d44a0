"""Real data on disk: CIFAR-10 and Imagenette, downloaded or placed by hand, unpacked safely.

One archive = one :class:`Archive` (where it comes from, its checksum, the folder it unpacks
into). The URLs and MD5 sums are the ones torchvision's ``CIFAR10`` and ``Imagenette`` use
(tests check that they still agree).

    key              archive                    unpacks into            about
    cifar10          cifar-10-python.tar.gz     cifar-10-batches-py/    163 MB, 60k 32x32 images
    imagenette-160   imagenette2-160.tgz        imagenette2-160/        95 MB, 13k photos, short side 160 px
    imagenette-320   imagenette2-320.tgz        imagenette2-320/        330 MB, the same photos at 320 px

Imagenette (fast.ai) is 10 easy ImageNet classes in ImageNet's own ``train/`` + ``val/``
layout: the smallest real data on which the ImageNet-style nets of Table 2 make sense.

How a download stays safe to interrupt:

* bytes go to ``<archive>.part`` in the data root; a new attempt asks the server for the rest
  (an HTTP ``Range`` request) and starts over if the server cannot resume;
* the finished file is checked (MD5) before it is renamed to its real name;
* unpacking goes into a hidden temporary folder, which is renamed to its final name only when
  the archive has been unpacked completely; a failed unpack removes it. So a folder with the
  final name is always complete, and an interrupted unpack leaves nothing behind that is used.

An archive put into the data root by hand (on a machine without internet) is found and
unpacked the same way. Everything reports progress (bytes, speed, time left) through a
callback and can be stopped between two chunks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import http.client
import os
import shutil
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from resnet_edu.data_root import DataUnavailable, default_data_root

CHUNK_BYTES = 1 << 20  # read and write 1 MiB at a time; the stop flag is checked between chunks
TIMEOUT_SECONDS = 30  # a server silent for this long counts as a failed download
REPORT_SECONDS = 0.25  # at most four progress calls a second


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

# Imagenette's folders are WordNet ids; these are the first of torchvision's names for each.
IMAGENETTE_CLASSES: dict[str, str] = {
    "n01440764": "tench", "n02102040": "English springer", "n02979186": "cassette player",
    "n03000684": "chain saw", "n03028079": "church", "n03394916": "French horn",
    "n03417042": "garbage truck", "n03425413": "gas pump", "n03445777": "golf ball",
    "n03888257": "parachute",
}


@dataclass(frozen=True)
class Progress:
    """Where a download or an unpack stands; handed to the ``progress`` callback."""

    phase: str  # "download", "check" (MD5) or "unpack"
    done_bytes: int  # bytes of the archive on disk (download) or read so far (check, unpack)
    total_bytes: int | None  # the archive's size, None until the server says it
    bytes_per_second: float | None  # measured over this attempt (resumed bytes are not counted)
    seconds_left: float | None  # at the current speed; None while unknown

    @property
    def fraction(self) -> float:
        if not self.total_bytes:
            return 0.0
        return min(1.0, self.done_bytes / self.total_bytes)

    def describe(self) -> str:
        """One line for a progress bar, e.g. 'Downloading: 42 / 163 MB, 3.1 MB/s, 39 s left'."""
        verb = {"download": "Downloading", "check": "Checking", "unpack": "Unpacking"}[self.phase]
        total = f" / {self.total_bytes / 1e6:,.0f}" if self.total_bytes else ""
        text = f"{verb}: {self.done_bytes / 1e6:,.0f}{total} MB"
        if self.bytes_per_second:
            text += f", {self.bytes_per_second / 1e6:,.1f} MB/s"
        if self.seconds_left is not None:
            text += f", {format_seconds(self.seconds_left)} left"
        return text


ProgressCallback = Callable[[Progress], None]


class DownloadStopped(Exception):
    """Stop was pressed; the ``.part`` file stays so that the next attempt resumes."""


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def unavailable_message(archive: Archive, root: Path, reason: str) -> str:
    """The one message for 'this data set is not here': what went wrong, and how to fix it offline."""
    return (f"{archive.title} is not available: {reason} To use it offline, download {archive.filename} "
            f"({archive.approx_bytes / 2**20:,.0f} MB, from {archive.url}) on a machine with internet access and "
            f"put it in {Path(root).resolve()} (the data root: set RESNET_EDU_DATA or --data-root to use another "
            f"folder); it is unpacked there on first use. Or choose the built-in 'synthetic' data set, which works "
            f"offline.")


def _unavailable(archive: Archive, root: Path, reason: str) -> DataUnavailable:
    return DataUnavailable(unavailable_message(archive, root, reason))


# --------------------------------------------------------------------------- what is on disk

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
    if _part_path(archive, root).is_file():
        return "partial"
    return "absent"


def _part_path(archive: Archive, root: Path) -> Path:
    return root / f"{archive.filename}.part"


def file_md5(path: Path, progress: ProgressCallback | None = None) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    total = path.stat().st_size
    done = 0
    last = 0.0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
            done += len(chunk)
            if progress is not None and time.monotonic() - last >= REPORT_SECONDS:
                last = time.monotonic()
                progress(Progress("check", done, total, None, None))
    return digest.hexdigest()


# --------------------------------------------------------------------------- downloading

@contextlib.contextmanager
def _exclusive(root: Path, archive: Archive) -> Iterator[None]:
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


def _check_space(root: Path, archive: Archive, already: int) -> None:
    """Room for the rest of the archive and its unpacked copy (about as large again)."""
    needed = 2 * archive.approx_bytes - already
    try:
        free = shutil.disk_usage(root).free
    except OSError:
        return
    if free < needed:
        raise _unavailable(archive, root, f"the disk holding {root.resolve()} has {free / 1e6:,.0f} MB free and "
                                          f"about {needed / 1e6:,.0f} MB are needed (the archive and its unpacked "
                                          f"copy).")


def _open_from(url: str, offset: int):
    request = urllib.request.Request(url, headers={"User-Agent": "resnet-edu"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    return urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)


def download_archive(archive: Archive, root: str | os.PathLike | None = None, *,
                     progress: ProgressCallback | None = None,
                     stopped: Callable[[], bool] | None = None) -> Path:
    """Download ``archive`` into the data root (resuming a ``.part`` file), check it, return its path.

    Args:
        archive: what to fetch (one of ``ARCHIVES``; tests pass their own with a local URL).
        root: the data root (default ``$RESNET_EDU_DATA`` or ``./data``).
        progress: called with a :class:`Progress` a few times a second.
        stopped: polled between chunks; True stops the download (the ``.part`` file stays).

    Raises:
        DataUnavailable: offline, a server error, a checksum mismatch (the bad file is removed).
        DownloadStopped: ``stopped()`` became true.
        ValueError: another process is downloading the same archive now.
    """
    root = Path(root if root is not None else default_data_root())
    target = root / archive.filename
    if target.is_file():
        return target
    with _exclusive(root, archive):
        if target.is_file():  # another process finished it while we waited for the lock
            return target
        part = _part_path(archive, root)
        offset = part.stat().st_size if part.is_file() else 0
        _check_space(root, archive, offset)
        try:
            try:
                response = _open_from(archive.url, offset)
            except urllib.error.HTTPError as error:
                if error.code != 416 or not offset:  # 416: the range is past the end: start over
                    raise
                part.unlink(missing_ok=True)
                offset = 0
                response = _open_from(archive.url, 0)
            with response:
                resumed = offset and response.status == 206
                if not resumed:
                    offset = 0  # the server sends the whole file: start the .part file again
                length = response.headers.get("Content-Length")
                total = offset + int(length) if length and length.isdigit() else None
                _receive(response, part, offset, total, progress, stopped)
        except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as error:
            reason = getattr(error, "reason", None) or error
            kept = part.is_file() and part.stat().st_size > 0
            resume = " What arrived is kept and the next try continues from there." if kept else ""
            raise _unavailable(archive, root, f"the download from {archive.url} failed ({reason}).{resume}") \
                from error
        if file_md5(part, progress) != archive.md5:
            part.unlink(missing_ok=True)
            raise _unavailable(archive, root, "the download was incomplete or corrupted (MD5 mismatch); it was "
                                              "deleted, try again.")
        os.replace(part, target)
    return target


def _receive(response, part: Path, offset: int, total: int | None, progress: ProgressCallback | None,
             stopped: Callable[[], bool] | None) -> None:
    started, last = time.monotonic(), 0.0
    done = offset
    with open(part, "ab" if offset else "wb") as out:
        while True:
            if stopped is not None and stopped():
                raise DownloadStopped(f"stopped after {done / 1e6:,.0f} MB; the next try continues from there")
            chunk = response.read(CHUNK_BYTES)
            if not chunk:
                break
            out.write(chunk)
            done += len(chunk)
            now = time.monotonic()
            if progress is not None and now - last >= REPORT_SECONDS:
                last = now
                speed = (done - offset) / max(now - started, 1e-6)
                left = (total - done) / speed if total and speed > 0 else None
                progress(Progress("download", done, total, speed, left))
    if total is not None and done < total:
        raise OSError(f"the connection closed after {done:,} of {total:,} bytes")
    if progress is not None:
        progress(Progress("download", done, total or done, None, 0.0))


# --------------------------------------------------------------------------- unpacking

def _members_inside(tar: tarfile.TarFile, folder: str) -> int:
    """Bytes to unpack; refuses an archive whose entries do not all live in ``folder/``."""
    total = 0
    for member in tar.getmembers():
        parts = Path(member.name).parts
        if not parts or parts[0] != folder or ".." in parts or member.name.startswith("/"):
            raise tarfile.TarError(f"unexpected entry {member.name!r} (everything should be inside {folder}/)")
        total += member.size
    return total


def extract_archive(archive: Archive, root: str | os.PathLike | None = None, *,
                    progress: ProgressCallback | None = None, check_md5: bool = True) -> Path:
    """Unpack the archive in the data root into ``<root>/<archive.folder>``, atomically; return that folder.

    The archive is checked (MD5) first. It is unpacked into a hidden temporary folder in the same
    data root, which is renamed into place only when complete; on any error it is removed and
    nothing with the final name appears. An incomplete folder with the final name (left by some
    older tool) is replaced.

    Raises:
        DataUnavailable: no archive, a checksum mismatch, a damaged or unexpected archive.
        ValueError: another process is unpacking the same archive now.
    """
    root = Path(root if root is not None else default_data_root())
    source = root / archive.filename
    if not source.is_file():
        raise _unavailable(archive, root, f"{source} does not exist.")
    with _exclusive(root, archive):
        done = ready_folder(archive, root)
        if done is not None:  # another process finished it while we waited
            return done
        if check_md5 and file_md5(source, progress) != archive.md5:
            raise _unavailable(archive, root, f"{source} is incomplete or corrupted (MD5 mismatch); delete it and "
                                              f"download it again.")
        temporary = root / f".{archive.folder}.unpacking-{os.getpid()}"
        shutil.rmtree(temporary, ignore_errors=True)
        try:
            temporary.mkdir(parents=True)
            _unpack(source, archive, temporary, progress)
            unpacked = temporary / archive.folder
            missing = [name for name in archive.required if not (unpacked / name).exists()]
            if missing:
                raise tarfile.TarError(f"it has no {', '.join(missing)} inside {archive.folder}/")
            final = root / archive.folder
            if final.exists():  # incomplete (else ready_folder would have found it): move it out of the way
                stale = root / f".{archive.folder}.stale-{os.getpid()}"
                os.replace(final, stale)
                shutil.rmtree(stale, ignore_errors=True)
            os.replace(unpacked, final)  # atomic: the folder appears complete or not at all
        except (OSError, tarfile.TarError, EOFError, ValueError) as error:
            raise _unavailable(archive, root, f"unpacking {source} failed ({error}).") from error
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
    return final


def _unpack(source: Path, archive: Archive, into: Path, progress: ProgressCallback | None) -> None:
    with tarfile.open(source, "r:*") as tar:
        total = _members_inside(tar, archive.folder)
        done, last, started = 0, 0.0, time.monotonic()
        for member in tar:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4: refuses links out, devices
                tar.extract(member, into, filter="data")
            else:
                tar.extract(member, into)
            done += member.size
            now = time.monotonic()
            if progress is not None and now - last >= REPORT_SECONDS:
                last = now
                speed = done / max(now - started, 1e-6)
                progress(Progress("unpack", done, total, speed, (total - done) / speed if speed > 0 else None))


def prepare(archive: Archive, root: str | os.PathLike | None = None, *, download: bool = False,
            progress: ProgressCallback | None = None, stopped: Callable[[], bool] | None = None) -> Path:
    """The unpacked folder of ``archive``: already there, unpacked from an archive in the data
    root (put there by hand or downloaded earlier), or downloaded first when ``download`` is True.

    Raises:
        DataUnavailable: not here and ``download`` is False, or the download/unpack failed.
        DownloadStopped: stopped during the download.
    """
    root = Path(root if root is not None else default_data_root())
    folder = ready_folder(archive, root)
    if folder is not None:
        return folder
    if not (root / archive.filename).is_file():
        if not download:
            raise _unavailable(archive, root, f"{root / archive.folder} does not exist and downloading is off.")
        download_archive(archive, root, progress=progress, stopped=stopped)
    return extract_archive(archive, root, progress=progress)


# --------------------------------------------------------------------------- Imagenette as a data set

def imagenette_archive(image_size: int, root: str | os.PathLike | None = None) -> Archive:
    """The Imagenette variant to use: one already on disk (160 px first for images up to 160 px),
    else the smallest that is large enough for ``image_size``."""
    order = [IMAGENETTE_160, IMAGENETTE_320] if image_size <= 160 else [IMAGENETTE_320, IMAGENETTE_160]
    for wanted in ("ready", "archive"):
        for archive in order:
            if state(archive, root) == wanted:
                return archive
    return order[0]


# --------------------------------------------------------------------------- the analysis job

def download_job(context) -> dict:
    """Download and unpack one data set, or fetch pretrained weights, in the training process
    (analysis-job kind ``"download"``).

    ``context.params``: ``{"dataset": key}`` with a key of ``ARCHIVES`` (into the data root of the
    training process, ``$RESNET_EDU_DATA`` or ``./data``: no path comes from a page), or
    ``{"weights": depth}`` for torchvision's pretrained ResNet-``depth`` (through torchvision's
    weights API, into its cache). Data-set progress goes to ``context.report`` (fraction and a line
    of text) and ``context.publish`` (``phase``, ``done_bytes``, ``total_bytes``,
    ``bytes_per_second``, ``seconds_left``) so pages can draw bytes, speed and time left.

    Returns:
        ``{"dataset", "folder", "state"}`` (``state`` "ready" or "stopped"), or ``{"weights", "file", "state"}``.

    Raises:
        ValueError: an unknown key, an offline machine or a failed download (the message says what to do).
    """
    params = dict(context.params or {})
    if "weights" in params:
        return _weights_job(context, params["weights"])
    key = params.get("dataset")
    if key not in ARCHIVES:
        raise ValueError(f"unknown data set {key!r}: choose one of {', '.join(ARCHIVES)}")
    archive = ARCHIVES[key]
    root = default_data_root()

    def report(step: Progress) -> None:
        share = {"download": (0.0, 0.8), "check": (0.8, 0.05), "unpack": (0.85, 0.15)}[step.phase]
        context.report(share[0] + share[1] * step.fraction, f"{archive.title}: {step.describe()}")
        context.publish({"dataset": key, **dataclasses.asdict(step)})

    try:
        folder = prepare(archive, root, download=True, progress=report, stopped=context.stopped)
    except DownloadStopped as stop:
        return {"dataset": key, "folder": None, "state": "stopped", "message": str(stop)}
    except DataUnavailable as error:
        raise ValueError(str(error)) from None
    context.report(1.0, f"{archive.title} is ready in {folder}")
    return {"dataset": key, "folder": str(folder), "state": "ready"}


def _weights_job(context, depth) -> dict:
    from resnet_edu import weights

    if depth not in weights.models.IMAGENET_DEPTHS:
        raise ValueError(f"no pretrained ResNet-{depth!r}: choose one of 18, 34, 50, 101, 152")
    context.report(0.0, f"Downloading torchvision's ResNet-{depth} weights to {weights.pretrained_file(depth).parent}")
    try:
        weights.load_pretrained(depth, download=True)  # torchvision's weights API: download, hash check, cache
    except weights.WeightsUnavailable as error:
        raise ValueError(str(error)) from None
    context.report(1.0, f"ResNet-{depth} weights are ready")
    return {"weights": depth, "file": str(weights.pretrained_file(depth)), "state": "ready"}
