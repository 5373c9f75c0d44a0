"""Which process owns a run, and whether that process is still alive.

It answers one question with operating-system details: when a store
opens, a run left ``running`` by a process that is gone must be marked ``interrupted``,
while a run of a process that is still alive (a second app on the same folder) must be
left alone.

A run is "owned" by the process that created it (or resumed it). On Linux the owner is
identified by host + boot id + pid + process start time, so a recycled pid is not mistaken
for the old owner; elsewhere by host + pid + a random token kept on the ``sys`` module (it
survives a reload of this module, which Streamlit does when the file changes).
"""

from __future__ import annotations

import os
import pathlib
import secrets
import socket
import sys


def _linux_identity(pid: int) -> str | None:
    try:
        boot = pathlib.Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    if not fields or fields[0] in ("Z", "X"):  # zombie or dead: not running any more
        return None
    return f"{socket.gethostname()}:{boot}:{pid}:{fields[19]}"  # field 22: start time


def own_identity() -> str:
    """This process's owner text, as stored in ``runs.owner`` (computed once per process)."""
    pid = os.getpid()
    cached = getattr(sys, "_resnet_edu_process_identity", None)
    if cached and cached[0] == pid:
        return cached[1]
    ident = _linux_identity(pid) or f"{socket.gethostname()}:{pid}:{secrets.token_hex(8)}"
    sys._resnet_edu_process_identity = (pid, ident)  # type: ignore[attr-defined]
    return ident


def owner_alive(owner: str | None, pid: int | None) -> bool:
    """Whether the process that owns a run is still running (on this machine)."""
    if not owner or pid is None:
        return False
    if not owner.startswith(socket.gethostname() + ":"):
        return False  # another machine or container: cannot tell, treat as gone
    if sys.platform.startswith("linux"):
        return _linux_identity(pid) == owner
    if os.name == "posix":
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return False  # Windows: os.kill(pid, 0) would terminate the process
