"""The disk cache of decoded image folders: decode thousands of photos once, load them in a second after.

A decoded set is one ``torch.save`` file named by the folder, the image size and a key made from
everything it was decoded from (file list, sizes, modification times, labels): change a file and
the key changes, so a stale cache is never read. Written atomically; a damaged entry is rebuilt.
A cache folder holds at most ``RESNET_EDU_CACHE_MAX_GB`` GiB (default 10): after a write, the
entries used longest ago are removed until it fits (a read counts as a use).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import torch

from resnet_edu.data.saving import save_atomically

CACHE_VERSION = 1  # part of every key: raise it when the decoded format changes
CACHE_MAX_ENV = "RESNET_EDU_CACHE_MAX_GB"
CACHE_MAX_GB = 10.0


def cache_limit_bytes() -> int:
    """The most bytes a cache folder may hold: ``RESNET_EDU_CACHE_MAX_GB`` (a number > 0), else 10 GiB."""
    try:
        value = float(os.environ.get(CACHE_MAX_ENV, ""))
    except ValueError:
        value = CACHE_MAX_GB
    return int((value if value > 0 else CACHE_MAX_GB) * 2**30)


def prune_cache(folder: Path, keep: Path | None = None, limit: int | None = None) -> list[Path]:
    """Remove the entries of ``folder`` used longest ago until it holds at most ``limit`` bytes
    (default :func:`cache_limit_bytes`); ``keep`` (the entry just written) stays. Returns what was removed."""
    limit = cache_limit_bytes() if limit is None else limit
    entries = []
    for path in folder.glob("*.pt"):
        try:
            stat = path.stat()
        except OSError:
            continue
        entries.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    removed = []
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        if keep is not None and path == keep:
            continue
        try:
            path.unlink()
        except OSError:
            continue
        total -= size
        removed.append(path)
    return removed


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
                payload = torch.load(path, map_location="cpu", weights_only=True)
                with contextlib.suppress(OSError):
                    os.utime(path)  # used now: the last to be removed when the folder is full
                return payload
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
            prune_cache(folder, keep=path)
            return path
        except (OSError, RuntimeError):         # a full disk: the data still trains, from memory
            continue
    return None
