"""When the disk says no: turn a failed write into one sentence a teacher can act on.

A classroom laptop fills up: a term of runs, a data cache, a checkpoint every epoch. The
write that fails first can be anywhere (``torch.save`` of a checkpoint, a SQLite commit of
metrics, a CSV export), and each library reports it its own way:

- Python: ``OSError`` with ``errno`` ENOSPC ("No space left on device"), EDQUOT (a quota)
  or EFBIG (a file larger than the process may write, e.g. ``ulimit -f``);
- SQLite: "database or disk is full" (``SQLITE_FULL``) or "disk I/O error"
  (``SQLITE_IOERR_WRITE`` when the operating system refused the write);
- ``torch.save`` to a path: a ``RuntimeError`` from its zip writer ("unexpected pos ...")
  whose context is the ``OSError``.

:func:`describe_write_error` recognises all of them and says how much space is left, so
the run's message reads "the disk is full (12.0 MB free in runs/)", not a C++ assertion.
:class:`SpaceReserve` keeps a little space aside so that even that sentence can be stored.

The training loop, the checkpoint writer and the CLI use it too, for writes that are not
the store's.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import sys

__all__ = ["describe_write_error", "file_size_limit", "free_bytes", "human_bytes", "is_write_failure",
           "SpaceReserve"]

_SPACE_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_TOO_LARGE_ERRNOS = {errno.EFBIG}
_SQLITE_FULL = 13
_SQLITE_IOERR = 10
# Below this much free space a refused write is called "the disk is full" even when the
# library only said "I/O error" (SQLite and torch do not always pass the errno on).
LOW_SPACE_BYTES = 64 * 1024 * 1024


def human_bytes(count: float) -> str:
    """``12.3 MB``-style size (powers of 1000, as disk makers and file managers count)."""
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if abs(count) < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"


def free_bytes(folder: str | os.PathLike) -> int | None:
    """Free space for an ordinary user on the disk that holds ``folder`` (None if unknown)."""
    path = os.fspath(folder)
    while path and not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    try:
        return shutil.disk_usage(path or ".").free
    except OSError:
        return None


def _chain(error: BaseException):
    """The error, then its causes and contexts (a library often wraps the OSError)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _kind(error: BaseException) -> str | None:
    """"space", "too_large", "io" (a refused write, reason unknown) or None (not a write failure)."""
    found = None
    for link in _chain(error):
        if isinstance(link, OSError) and link.errno in _SPACE_ERRNOS:
            return "space"
        if isinstance(link, OSError) and link.errno in _TOO_LARGE_ERRNOS:
            return "too_large"
        if isinstance(link, sqlite3.Error):
            code = getattr(link, "sqlite_errorcode", None)
            text = str(link)
            if code == _SQLITE_FULL or "database or disk is full" in text:
                return "space"
            if (code is not None and code & 0xFF == _SQLITE_IOERR) or "disk I/O error" in text:
                found = found or "io"
        if isinstance(link, RuntimeError) and ("file write failed" in str(link) or "unexpected pos" in str(link)):
            found = found or "io"  # torch's zip writer, when the errno did not come along
    return found


def is_write_failure(error: BaseException) -> bool:
    """Whether ``error`` is the disk refusing a write (full, a quota, a file size limit, an I/O error)."""
    return _kind(error) is not None


def describe_write_error(error: BaseException, folder: str | os.PathLike,
                         advice: str = "free some space, then resume the run from the Lab") -> str:
    """One sentence for a run's message; ``folder`` is where the write went (e.g. the runs folder).

    A failed write that is not about the disk keeps its usual form, ``"TypeName: text"``.

    Args:
        error: the exception the write raised.
        folder: the folder written to; its disk's free space goes into the sentence.
        advice: what to do about it, after a colon.
    """
    kind = _kind(error)
    if kind is None:
        return f"{type(error).__name__}: {error}"
    free = free_bytes(folder)
    where = f"{human_bytes(free)} free in {os.fspath(folder)}" if free is not None else f"in {os.fspath(folder)}"
    if kind == "space" or (kind == "io" and free is not None and free < LOW_SPACE_BYTES):
        return f"the disk is full ({where}): {advice}"
    limit = file_size_limit()
    if kind == "too_large" or limit is not None:
        shown = f"{human_bytes(limit)}, " if limit is not None else ""
        return (f"a file reached the largest size this process may write ({shown}see `ulimit -f`; {where}): "
                f"raise the limit, then resume the run from the Lab")
    return f"the disk refused a write ({error}; {where}): {advice}"


def file_size_limit() -> int | None:
    """The largest file this process may write (``ulimit -f``), or None when there is no limit."""
    if sys.platform == "win32":
        return None
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


class SpaceReserve:
    """A small file kept in a folder so that, when the disk fills up, there is room to say so.

    On a full disk even the few hundred bytes of "this run failed: the disk is full" cannot be
    committed, and a page would show the run ``running`` forever. The store keeps this file
    while all is well and deletes it when a write is refused, just before recording why.

    Args:
        folder: where to keep it (the runs folder).
        size: its size in bytes.
    """

    NAME = ".space-reserve"

    def __init__(self, folder: str | os.PathLike, size: int = 2 * 1024 * 1024) -> None:
        self.path = os.path.join(os.fspath(folder), self.NAME)
        self.size = size

    def keep(self) -> bool:
        """Make sure the file exists at full size (not when space is short); True if it does."""
        try:
            if os.path.getsize(self.path) >= self.size:
                return True
        except OSError:
            pass
        free = free_bytes(os.path.dirname(self.path))
        if free is not None and free < 4 * self.size:
            return False  # do not take the last of a nearly full disk
        try:
            with open(self.path, "wb") as handle:
                # Real blocks: a sparse file would free nothing when deleted.
                if hasattr(os, "posix_fallocate"):
                    os.posix_fallocate(handle.fileno(), 0, self.size)
                else:
                    handle.write(b"\0" * self.size)
            return True
        except OSError:
            self.release()
            return False

    def release(self) -> bool:
        """Delete the file to free its space; True if there was one."""
        try:
            os.remove(self.path)
            return True
        except OSError:
            return False
