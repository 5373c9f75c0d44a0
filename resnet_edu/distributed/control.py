"""Stop and shortcut switches under torchrun: the run's inbox, and one tiny all-reduce per iteration.

A switch for a run trained under torchrun is a small JSON file in ``RUNS_DIR/requests/RUN_ID/``
(:class:`ShortcutInbox`), written by ``python -m resnet_edu runs shortcuts RUN_ID --off`` or by
the app's training process; rank 0 looks into it each iteration (a directory listing,
microseconds). Before each iteration every rank agrees, in one all-reduce of three integers on a
CPU (gloo) group, on stop (any rank that got SIGINT/SIGTERM asks) and on the switch rank 0 read
(:class:`Control`), so all ranks stop, or switch, before the same iteration.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import distributed as dist


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


def encode_switch(switch: tuple[bool, tuple[int, ...] | None] | None) -> tuple[int, int]:
    if switch is None:
        return 0, 0
    enabled, stages = switch
    return (2 if enabled else 1), sum(1 << stage for stage in stages) if stages else 0


def decode_switch(code: int, mask: int) -> tuple[bool, tuple[int, ...] | None] | None:
    if code == 0:
        return None
    stages = tuple(stage for stage in range(1, 8) if mask >> stage & 1) or None
    return code == 2, stages


class Control:
    """The per-iteration agreement of every rank on stop and shortcut switches (one CPU all-reduce).

    Args:
        group: a gloo process group (CPU tensors, also when training uses NCCL).
        inbox: rank 0's inbox of switch requests; None on the other ranks.
        valid_stages: the net's stages (a request naming others is dropped with a message).
        stop_requested: set when this process got SIGINT or SIGTERM.
    """

    def __init__(self, group, inbox: ShortcutInbox | None, valid_stages: Sequence[int],
                 stop_requested: threading.Event) -> None:
        self.group = group
        self.inbox = inbox
        self.valid_stages = set(valid_stages)
        self.stop_requested = stop_requested  # set by this process's SIGINT/SIGTERM handler

    def _next_request(self) -> tuple[bool, tuple[int, ...] | None] | None:
        while self.inbox is not None:
            request = self.inbox.take()
            if request is None or request[1] is None or set(request[1]) <= self.valid_stages:
                return request
            print(f"resnet_edu: ignored a switch of stage(s) {list(request[1])}: this net has stages "
                  f"{sorted(self.valid_stages)}", file=sys.stderr)
        return None

    def exchange(self) -> tuple[bool, tuple[bool, tuple[int, ...] | None] | None]:
        """(stop, switch) agreed by every rank for the coming iteration. Raises if a peer is gone."""
        code, mask = encode_switch(self._next_request())
        message = torch.tensor([int(self.stop_requested.is_set()), code, mask], dtype=torch.int64)
        dist.all_reduce(message, op=dist.ReduceOp.MAX, group=self.group)  # only rank 0 sends a switch
        stop, code, mask = message.tolist()
        return bool(stop), decode_switch(code, mask)
