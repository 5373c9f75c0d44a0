"""Stop and shortcut switches under torchrun: the run's inbox, and one tiny all-reduce per iteration.

A switch for a run trained under torchrun is a small JSON file in ``RUNS_DIR/requests/RUN_ID/``
(:class:`~resnet_edu.runs.requests.ShortcutInbox`), written by ``python -m resnet_edu runs shortcuts RUN_ID --off`` or by
the app's training process; rank 0 looks into it each iteration (a directory listing,
microseconds). Before each iteration every rank agrees, in one all-reduce of three integers on a
CPU (gloo) group, on stop (any rank that got SIGINT/SIGTERM asks) and on the switch rank 0 read
(:class:`Control`), so all ranks stop, or switch, before the same iteration.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence

import torch
from torch import distributed as dist

from resnet_edu.runs.requests import ShortcutInbox


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
