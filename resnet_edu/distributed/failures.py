"""When a rank fails: every process ends the run the same way, and rank 0 says which rank failed and why.

A rank that fails leaves one line in torchrun's key-value store (it lives in the launcher, so it
outlives the process); rank 0, which sees only that a peer vanished, reads it and writes it as
the run's message.
"""

from __future__ import annotations

import contextlib
import re
import time

from torch import distributed as dist

from resnet_edu.distributed.processes import Launch


def failure_key(run_id: str, rank: int) -> str:
    return f"resnet_lab/{run_id}/failure/{rank}"


def c10d_store():
    """The key-value store torchrun's rendezvous runs (lives in the launcher: survives a dead rank)."""
    with contextlib.suppress(Exception):
        return dist.distributed_c10d._get_default_store()
    return None


def first_line(error: BaseException) -> str:
    """One short line: gloo's messages start with a source path and end with advice and an emoji."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    text = re.sub(r"^\[[^\]]*\]\s*", "", text).split(". ")[0]
    return f"{type(error).__name__}: {text}"[:400]


PEER_LOST = ("Connection closed by peer", "Connection reset by peer", "Broken pipe", "Socket Timeout")


def peer_lost(error: BaseException) -> bool:
    """Whether a collective failed because another process went away (not this process's own error)."""
    return isinstance(error, dist.DistBackendError) or any(sign in str(error) for sign in PEER_LOST)


def failure_message(launch: Launch, run_id: str, error: BaseException) -> str:
    """Rank 0's account of a failure: its own error, or the message the rank that failed left behind."""
    if not peer_lost(error):
        return f"rank {launch.rank}: {first_line(error)}"
    store = c10d_store()
    said = []
    deadline = time.monotonic() + 2.0  # a failing rank writes its message before its connections close
    for rank in range(1, launch.world_size):
        key = failure_key(run_id, rank)
        with contextlib.suppress(Exception):
            while time.monotonic() < deadline and not store.check([key]):
                time.sleep(0.05)
            if store.check([key]):
                said.append(store.get(key).decode("utf-8", "replace"))
    if said:
        return "; ".join(said)[:1000]
    return ("another process of this run ended without a word (killed, or out of memory?); "
            f"rank 0 saw {first_line(error)}")
