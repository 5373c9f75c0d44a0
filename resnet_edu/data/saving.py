"""``save_atomically``: a ``torch.save`` file that is either the previous version or the new one, whole.

The run store's checkpoints and the data-set cache both write big torch files that a reader
(another tab, a resumed run, the next app start) may open at any moment, and that a full disk may
cut short. Written to a temporary file beside the target, flushed to the disk, then renamed over
it: a reader never sees half a file, and a failed write leaves nothing behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch


def save_atomically(payload: object, path: str | os.PathLike) -> Path:
    """Save ``payload`` with ``torch.save`` at ``path``; the previous file stays until the new one is whole.

    Args:
        payload: what ``torch.save`` accepts (tensors, numbers, strings, lists and dicts load back
            with ``weights_only=True``).
        path: the file to write; its folder must exist.

    Raises:
        OSError: the disk refused (a full disk is ``ENOSPC``: the write goes through a Python file,
            so it surfaces as an OSError, not as torch's zip-writer assertion). RuntimeError from
            torch's writer is passed on too. Either way no temporary file is left behind.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # one per process: two writers never collide
    try:
        with open(temporary, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())  # so the rename never exposes data still in the page cache
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
