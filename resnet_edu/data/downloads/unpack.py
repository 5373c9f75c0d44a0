"""Unpacking an archive in the data root, atomically: a folder with the final name is always complete.

The archive is unpacked into a hidden temporary folder, which is renamed to its final name only
when everything is out; a failed unpack removes it. An entry that would land outside the
archive's own folder (``..``, an absolute path, a link out) is refused. ``prepare`` is what the
loaders call: the folder if it is there, else unpacked from the archive, else downloaded first.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

from resnet_edu.data.downloads.archives import Archive, exclusive, ready_folder, unavailable
from resnet_edu.data.downloads.fetch import download_archive, file_md5
from resnet_edu.data.downloads.progress import REPORT_SECONDS, Progress, ProgressCallback
from resnet_edu.data.root import default_data_root


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
        raise unavailable(archive, root, f"{source} does not exist.")
    with exclusive(root, archive):
        done = ready_folder(archive, root)
        if done is not None:  # another process finished it while we waited
            return done
        if check_md5 and file_md5(source, progress) != archive.md5:
            raise unavailable(archive, root, f"{source} is incomplete or corrupted (MD5 mismatch); delete it and "
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
            raise unavailable(archive, root, f"unpacking {source} failed ({error}).") from error
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
            raise unavailable(archive, root, f"{root / archive.folder} does not exist and downloading is off.")
        download_archive(archive, root, progress=progress, stopped=stopped)
    return extract_archive(archive, root, progress=progress)
