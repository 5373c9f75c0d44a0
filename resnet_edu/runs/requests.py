"""Requests to a run that trains in another process: a folder of small JSON files in the runs folder.

A run trained under torchrun is not in the training process's memory, so a shortcut switch
for it is written as a file in ``RUNS_DIR/requests/RUN_ID/`` (by ``python -m resnet_edu runs
shortcuts RUN_ID --off`` or the app's training process); the job's rank 0 looks into it each
iteration (a directory listing, microseconds).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path


class ShortcutInbox:
    """Shortcut switches asked for a run that trains under torchrun: one JSON file each, oldest first.

    Args:
        store_root: the RunStore folder (the inbox is ``store_root/requests/run_id``).
        run_id: the run.
    """

    def __init__(self, store_root: str | os.PathLike, run_id: str) -> None:
        self.folder = Path(store_root) / "requests" / run_id

    def put(self, enabled: bool, stages: Sequence[int] | None = None) -> Path:
        """Ask for a switch (any process on rank 0's node may call this)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.json"
        temporary = self.folder / f".{name}"
        temporary.write_text(json.dumps({"enabled": bool(enabled),
                                         "stages": None if stages is None else sorted({int(s) for s in stages})}))
        os.replace(temporary, self.folder / name)  # a reader never sees half a request
        return self.folder / name

    def take(self) -> tuple[bool, tuple[int, ...] | None] | None:
        """The oldest request, removed from the inbox; None when it is empty."""
        try:
            names = sorted(entry.name for entry in os.scandir(self.folder) if not entry.name.startswith("."))
        except FileNotFoundError:
            return None
        for name in names:
            path = self.folder / name
            try:
                request = json.loads(path.read_text())
                enabled, stages = bool(request["enabled"]), request.get("stages")
                stages = None if stages is None else tuple(sorted({int(s) for s in stages}))
            except (OSError, ValueError, KeyError, TypeError) as error:
                print(f"resnet_edu: ignored an unreadable shortcut request {name}: {error}", file=sys.stderr)
                stages = enabled = None
            with contextlib.suppress(OSError):
                path.unlink()
            if enabled is not None:
                return enabled, stages
        return None


__all__ = ["ShortcutInbox"]
