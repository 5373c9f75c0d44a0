"""Where training runs and in which number format: CUDA, Apple's MPS or the CPU; bf16 or fp32.

One question for every caller: ``resolve_device("auto")`` picks CUDA when there is a card,
else MPS on an Apple-silicon Mac, else the CPU; ``resolve_device("cuda")`` on a machine
without one is a ValueError that names what *is* there, so the CLI and the Lab can say it.

``precision="auto"`` trains in bfloat16 only where the hardware does bf16 natively — CUDA
cards of compute capability 8.0 and newer (Ampere, Hopper…) and CPUs with AMX or AVX512-BF16 —
and in fp32 elsewhere: on older cards and on AVX2-only CPUs bf16 is emulated and slower.
MPS stays fp32 (bf16 autocast there needs macOS 14 or newer).

The Streamlit server asks only questions that do not start CUDA (``torch.cuda.is_available``
asks the driver how many cards there are; it creates no CUDA context): a context costs
hundreds of MB of GPU memory in a process that never trains. The card's name, capability and
free memory are read in a short child process (:func:`describe_cuda_cards`) or in the
training process itself.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16")
BF16_MIN_CAPABILITY = (8, 0)  # Ampere: the first CUDA cards with bf16 tensor cores


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[str]:
    """The device types this machine has, best first; "cpu" always."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if mps_available():
        found.append("mps")
    return found + ["cpu"]


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """"auto" (or None) → cuda, else mps, else cpu; a named device must exist (ValueError naming what does)."""
    if isinstance(name, torch.device):
        name = str(name)
    name = (name or "auto").strip().lower()
    kind = name.split(":")[0]
    if kind not in DEVICE_CHOICES:
        raise ValueError(f"unknown device {name!r}: choose one of {', '.join(DEVICE_CHOICES)}")
    present = available_devices()
    if kind == "auto":
        return torch.device(present[0])
    if kind not in present:
        raise ValueError(f"device {name!r} is not available here: this machine has {', '.join(present)}")
    if kind == "cuda" and ":" in name:
        index = int(name.split(":")[1])
        if index >= torch.cuda.device_count():
            raise ValueError(f"device {name!r} is not available here: this machine has "
                             f"{torch.cuda.device_count()} CUDA card(s), cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    return torch.device(name)


@functools.cache  # the CPU does not change while we run; pages ask on every re-run
def cpu_has_native_bf16() -> bool:
    """AMX or AVX512-BF16: there bf16 autocast roughly doubles CPU training speed; elsewhere it is slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> str:
    """"auto" → "bf16" where the hardware has it natively, else "fp32"; an explicit choice is kept.

    On CUDA this reads the card's compute capability, which starts CUDA: call it where training
    happens (the training process, the CLI), not in the Streamlit server.
    """
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.get_device_capability(device) >= BF16_MIN_CAPABILITY else "fp32"
    if device.type == "cpu":
        return "bf16" if cpu_has_native_bf16() else "fp32"
    return "fp32"  # mps


def channels_last_ok(device: torch.device) -> bool:
    """Channels-last tensors speed up convolutions on CPUs (oneDNN) and tensor cores. Not on MPS,
    where BatchNorm's backward pass with channels-last input has given wrong gradients."""
    return device.type != "mps"


CPU_THREADS_ENV = "RESNET_EDU_CPU_THREADS"  # a whole number: train with at most that many threads


def cpu_threads() -> int:
    """The cores this process may use (a container or taskset can allow fewer than the machine has),
    or fewer where RESNET_EDU_CPU_THREADS says so (e.g. 1: leave a core to the app and the browser)."""
    if hasattr(os, "sched_getaffinity"):
        cores = max(1, len(os.sched_getaffinity(0)))
    else:
        cores = max(1, os.cpu_count() or 1)
    text = os.environ.get(CPU_THREADS_ENV, "").strip()
    return min(cores, int(text)) if text.isdigit() and int(text) > 0 else cores


def cpu_name(cpuinfo: str | None = None) -> str:
    """The processor's name as the operating system reports it, e.g. "AMD EPYC 9B14 96-Core Processor".

    Read from /proc/cpuinfo on Linux (or from ``cpuinfo``, that file's text), else from Python's
    ``platform`` module; "(R)" and "(TM)" marks are dropped. "a CPU" when nothing names it.
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            cpuinfo = ""
    name = ""
    for line in cpuinfo.splitlines():
        field, _, value = line.partition(":")
        if field.strip().lower() in ("model name", "hardware", "cpu model") and value.strip():
            name = value
            break
    if not name:
        name = platform.processor() or ""
    name = re.sub(r"\((?:R|TM)\)", "", name, flags=re.IGNORECASE)
    return " ".join(name.split()) or "a CPU"


def label_in(lang: str, label: str) -> str:
    """A :func:`device_label` in ``lang`` ("en" or "ko"): the counts of threads and processes in words."""
    if lang != "ko":
        return label
    label = re.sub(r"\b(\d+) threads?\b", r"스레드 \1개", label)
    return re.sub(r"\b(\d+) process(?:es)?\b", r"프로세스 \1개", label)


_CARD_QUESTION = (
    "import json, torch\n"
    "cards = []\n"
    "for i in range(torch.cuda.device_count()):\n"
    "    p = torch.cuda.get_device_properties(i)\n"
    "    free, total = torch.cuda.mem_get_info(i)\n"
    "    cards.append({'name': p.name, 'capability': [p.major, p.minor], 'free_bytes': free, 'total_bytes': total})\n"
    "print(json.dumps(cards))\n"
)


@functools.cache
def describe_cuda_cards() -> list[dict]:
    """Name, compute capability and memory of each CUDA card, asked in a short child process.

    Empty when there is no card. The child starts CUDA and exits, so the caller (the Streamlit
    server) never holds a CUDA context of its own. Asked once per process.
    """
    if not torch.cuda.is_available():
        return []
    try:
        answer = subprocess.run([sys.executable, "-c", _CARD_QUESTION], capture_output=True, text=True,
                                timeout=120, check=True)
        return json.loads(answer.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, OSError, ValueError, IndexError):
        return [{"name": "CUDA GPU", "capability": None, "free_bytes": None, "total_bytes": None}]


def device_label(device: torch.device, precision: str | None = None, threads: int | None = None) -> str:
    """What the sidebar shows, e.g. "NVIDIA H200 · bf16" or "CPU · 2 threads · fp32" (``threads``: the
    training threads, default :func:`cpu_threads`). Starts no CUDA context."""
    if device.type == "cuda":
        cards = describe_cuda_cards()
        card = cards[device.index or 0] if len(cards) > (device.index or 0) else {"name": "CUDA GPU"}
        if precision is None:
            capability = card.get("capability")
            precision = "bf16" if capability and tuple(capability) >= BF16_MIN_CAPABILITY else "fp32"
        return f"{card['name']} · {precision}"
    if device.type == "mps":
        return f"Apple GPU (MPS) · {precision or 'fp32'}"
    threads = cpu_threads() if threads is None else threads
    return f"CPU · {threads} thread{'s' if threads != 1 else ''} · {precision or resolve_precision('auto', device)}"
