"""Facts about the machine a benchmark ran on: the CPU and its bf16 features, the software, the
measured matrix-multiply peak, and the CPU time of a whole process tree (Linux ``/proc``), so every
benchmark's JSON says where its numbers came from.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path

import torch

from resnet_edu.devices import cpu_has_native_bf16


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def environment(device: torch.device | None = None) -> dict:
    """The software and hardware a benchmark ran on: torch, Python, the device and its name, threads, bf16."""
    from resnet_edu.devices import resolve_device

    device = device or resolve_device("auto")
    return {"torch": torch.__version__, "python": platform.python_version(), "device": device.type,
            "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
            "threads": torch.get_num_threads(), "cpu_native_bf16": cpu_has_native_bf16()}


def matmul_peak_gflops(device: torch.device, dtype: torch.dtype = torch.float32, size: int = 2048,
                       repeats: int = 6) -> float:
    """Measured matrix-multiply speed of this device: the practical peak a training step is held against."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    (a @ b).sum().item()  # warm-up (and a sync)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        (a @ b).sum().item()
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


# ---------------------------------------------------------------- CPU time of process trees (Linux /proc)
def proc_stat(pid: int) -> tuple[int, int, float] | None:
    """(parent pid, start time in clock ticks, user + system CPU seconds) of a live process, else None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces and parentheses
    try:
        return int(fields[1]), int(fields[19]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (IndexError, ValueError):
        return None


def process_tree(root: int, stats: dict[int, tuple[int, int, float]] | None = None) -> dict[int, tuple[int, float]]:
    """{pid: (start time, CPU seconds)} of ``root`` and every process under it.

    ``stats``: {pid: (parent, start, cpu)} of every process (default: read from /proc now).
    """
    if stats is None:
        stats = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                stat = proc_stat(int(entry.name))
                if stat is not None:
                    stats[int(entry.name)] = stat
    children: dict[int, list[int]] = {}
    for pid, (parent, _start, _cpu) in stats.items():
        children.setdefault(parent, []).append(pid)
    tree, todo = {}, [root] if root in stats else []
    while todo:
        pid = todo.pop()
        if pid in tree:
            continue
        tree[pid] = (stats[pid][1], stats[pid][2])
        todo.extend(children.get(pid, []))
    return tree


def cpu_seconds_between(before: dict[int, tuple[int, float]], after: dict[int, tuple[int, float]]) -> float:
    """CPU seconds a set of processes used between two :func:`process_tree` readings.

    A process seen both times counts its difference; one started in between counts all of its
    time; one that ended in between is lost (its last part cannot be read any more).
    """
    total = 0.0
    for pid, (start, cpu) in after.items():
        then = before.get(pid)
        total += cpu - then[1] if then is not None and then[0] == start else cpu
    return total


def cpu_facts() -> dict:
    """The CPU's model name (as lscpu gives it), whether it has AMX / AVX512-BF16, and the cores usable."""
    name = None
    try:
        answer = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10, check=True)
        name = next((line.split(":", 1)[1].strip() for line in answer.stdout.splitlines()
                     if line.startswith("Model name")), None)
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        flags = []
    return {"model_name": name or cpu_name(), "amx": "amx_bf16" in flags, "avx512_bf16": "avx512_bf16" in flags,
            "cores": cpu_threads_usable()}


def cpu_threads_usable() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
