"""Downloading an archive into the data root, safe to interrupt.

Bytes go to ``<archive>.part`` in the data root; a new attempt asks the server for the rest (an
HTTP ``Range`` request) and starts over if the server cannot resume. The finished file is checked
(MD5) before it is renamed to its real name, so a file with the archive's name is always whole.
Progress is reported a few times a second, and a stop is honoured between two chunks.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from resnet_edu.data.downloads.archives import Archive, exclusive, part_path, unavailable
from resnet_edu.data.downloads.progress import REPORT_SECONDS, DownloadStopped, Progress, ProgressCallback
from resnet_edu.data.root import default_data_root

CHUNK_BYTES = 1 << 20  # read and write 1 MiB at a time; the stop flag is checked between chunks
TIMEOUT_SECONDS = 30  # a server silent for this long counts as a failed download


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


def _check_space(root: Path, archive: Archive, already: int) -> None:
    """Room for the rest of the archive and its unpacked copy (about as large again)."""
    needed = 2 * archive.approx_bytes - already
    try:
        free = shutil.disk_usage(root).free
    except OSError:
        return
    if free < needed:
        raise unavailable(archive, root, f"the disk holding {root.resolve()} has {free / 1e6:,.0f} MB free and "
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
    with exclusive(root, archive):
        if target.is_file():  # another process finished it while we waited for the lock
            return target
        part = part_path(archive, root)
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
            raise unavailable(archive, root, f"the download from {archive.url} failed ({reason}).{resume}") \
                from error
        if file_md5(part, progress) != archive.md5:
            part.unlink(missing_ok=True)
            raise unavailable(archive, root, "the download was incomplete or corrupted (MD5 mismatch); it was "
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
