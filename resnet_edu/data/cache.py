"""The disk cache of decoded image folders: decode thousands of photos once, load them in a second after.

A decoded set is one ``torch.save`` file named by the folder, the image size and a key made from
everything it was decoded from (file list, sizes, modification times, labels): change a file and
the key changes, so a stale cache is never read. Written atomically; a damaged entry is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from resnet_edu.data.saving import save_atomically

CACHE_VERSION = 1  # part of every key: raise it when the decoded format changes


def cache_key(description: dict) -> str:
    """A short key for the JSON-able ``description`` of what was decoded."""
    source = json.dumps({"v": CACHE_VERSION, **description})
    return hashlib.sha1(source.encode()).hexdigest()[:20]


def _cache_dirs(root: Path) -> list[Path]:
    """Where decoded sets are cached, in order of preference: ``$RESNET_EDU_CACHE_DIR``, else the
    data folder's ``.cache/``, then ``~/.cache/resnet_edu`` (for a folder that cannot be written)."""
    override = os.environ.get("RESNET_EDU_CACHE_DIR")
    if override:
        return [Path(override)]
    return [root / ".cache", Path.home() / ".cache" / "resnet_edu"]


def cache_load(name: str, key: str, root: Path) -> dict | None:
    """The cached payload ``name``-``key`` for the data folder ``root``, or None (absent or damaged)."""
    for folder in _cache_dirs(root):
        path = folder / f"{name}-{key}.pt"
        if path.is_file():
            try:
                return torch.load(path, map_location="cpu", weights_only=True)
            except Exception:  # noqa: BLE001 - a damaged cache entry is rebuilt
                continue
    return None


def _marked_read_only(folder: Path) -> bool:
    """True for a folder (or its nearest existing parent) with no write bit at all: even root
    (who may write anywhere) should not put a cache into a data folder shared read-only."""
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    try:
        return not folder.stat().st_mode & 0o222
    except OSError:
        return True


def cache_save(name: str, key: str, root: Path, payload: dict) -> Path | None:
    """Write ``payload`` to the first cache folder that takes it; None when none does (it still trains)."""
    for folder in _cache_dirs(root):
        if _marked_read_only(folder):
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{name}-{key}.pt"
            save_atomically(payload, path)      # a reader never sees half a file
            return path
        except (OSError, RuntimeError):         # a full disk: the data still trains, from memory
            continue
    return None
