"""Who has ``runs.sqlite`` open: the shared lock every store holds, the exclusive one a repair needs.

Several processes open one runs folder at once: the app, its training process, the CLI, a
second app. Moving a damaged ``runs.sqlite`` aside while another of them has it open would
split the store in two: that process's old connections keep writing into the moved file,
its new ones into the fresh file. So:

- every ``RunStore`` holds a shared advisory lock (``fcntl.flock``) on ``.open.lock`` in the
  runs folder for as long as it is open, taken before its first connection;
- an opener that finds the file damaged lets its shared lock go and waits for the repair
  turn (``.repair.lock``, exclusive: one repairer at a time), then asks for ``.open.lock``
  exclusively without waiting. It gets it only when no other store has the folder open:
  then, and only then, it moves the file aside and salvages it, and takes its shared lock
  back. Openers that arrive meanwhile wait for their shared lock, so they open the
  repaired file;
- an opener that does not get it (others have the file open) leaves the file where it is,
  reads it as it is, and says so; an opener that waited while another repaired looks at the
  file again and finds it sound.

The kernel drops a process's locks when it dies (even by SIGKILL), so a crashed app never
blocks a repair. Where ``fcntl`` is missing (Windows) there are no such locks and the store
behaves as one opener.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pathlib
from collections.abc import Iterator

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["OPEN_LOCK", "REPAIR_LOCK", "OpenersLock", "repair_turn"]

logger = logging.getLogger(__name__)

OPEN_LOCK = ".open.lock"  # shared by every open store; exclusive only while a damaged file is moved aside
REPAIR_LOCK = ".repair.lock"  # one repairer at a time


def _open_lock_file(path: pathlib.Path) -> int | None:
    """The lock file, or None where it cannot be made (a read-only folder: nothing can be moved there either)."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        logger.warning("RunStore: no lock file %s (%s): other openers are not seen", path, error.strerror or error)
        return None


class OpenersLock:
    """This store's share of ``.open.lock``: held while the store is open.

    Args:
        folder: the runs folder.
    """

    def __init__(self, folder: pathlib.Path) -> None:
        self.path = pathlib.Path(folder) / OPEN_LOCK
        self._fd: int | None = None

    def share(self) -> None:
        """Take the shared lock, waiting while another opener repairs the store."""
        if fcntl is None:
            return
        self.release()
        fd = _open_lock_file(self.path)
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def try_alone(self) -> bool:
        """The lock exclusively, without waiting: True when no other store has the folder open.

        Call it holding nothing (``release`` first). On False nothing is held: ``share`` again.
        """
        if fcntl is None:
            return True
        self.release()
        fd = _open_lock_file(self.path)
        if fd is None:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        """Let the lock go (closing the file is what releases a ``flock``)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


@contextlib.contextmanager
def repair_turn(folder: pathlib.Path) -> Iterator[None]:
    """Wait for the one repair turn of this runs folder, and hold it inside the ``with``."""
    if fcntl is None:
        yield
        return
    fd = _open_lock_file(pathlib.Path(folder) / REPAIR_LOCK)
    if fd is None:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
