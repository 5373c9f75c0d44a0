"""Joining a torchrun job: where this process stands (rank, world size), its device, its process groups.

torchrun starts one process per GPU (or per share of the CPU cores) and tells each, through
environment variables, where it stands; this file reads them, picks the device, joins the
process groups (NCCL for CUDA training, gloo for CPU training and for the control messages) and
leaves the job cleanly after a refusal.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch
from torch import distributed as dist

from resnet_edu import devices

TORCHRUN_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


@dataclass(frozen=True)
class Launch:
    """Where this process stands in a torchrun job (from the variables torchrun sets)."""

    rank: int  # 0 .. world_size - 1, over all nodes
    world_size: int  # processes in the job
    local_rank: int  # on this node: which GPU this process uses
    local_world_size: int  # processes on this node: they share its CPU cores

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launch_from_env(env: dict | None = None) -> Launch | None:
    """The torchrun job this process belongs to, or None for a plain one-process run (also a 1-process job)."""
    env = os.environ if env is None else env
    if not all(key in env for key in TORCHRUN_KEYS):
        return None
    world_size = int(env["WORLD_SIZE"])
    if world_size <= 1:
        return None
    return Launch(rank=int(env["RANK"]), world_size=world_size, local_rank=int(env["LOCAL_RANK"]),
                  local_world_size=int(env.get("LOCAL_WORLD_SIZE", world_size)))


class StartRefused(ValueError):
    """A reason the job cannot start that every rank knows (bad device, bad data, unknown run)."""


def _device_for(launch: Launch, choice: str) -> torch.device:
    kind = devices.resolve_device(choice).type  # ValueError naming what this machine has
    if kind == "mps":
        raise StartRefused("torchrun needs CUDA GPUs or CPUs: an Apple GPU (MPS) trains one process only")
    if kind == "cuda":
        if launch.local_rank >= torch.cuda.device_count():
            raise StartRefused(f"{launch.local_world_size} processes on this node but only "
                               f"{torch.cuda.device_count()} CUDA card(s): use --nproc_per_node "
                               f"{torch.cuda.device_count()}")
        return torch.device("cuda", launch.local_rank)
    return torch.device("cpu")


def start_processes(launch: Launch, device_choice: str):
    """Join the job: (device, gloo group). NCCL for CUDA training, gloo for CPUs and for control."""
    device = _device_for(launch, device_choice)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
        dist.init_process_group("nccl", device_id=device)
        control_group = dist.new_group(backend="gloo")
    else:
        # torchrun sets OMP_NUM_THREADS=1 when it starts several processes: give each its share instead.
        torch.set_num_threads(max(1, devices.cpu_threads() // launch.local_world_size))
        dist.init_process_group("gloo")
        control_group = dist.new_group(backend="gloo")  # control apart from DDP's own traffic
    return device, control_group


def broadcast(value, group):
    """Rank 0's ``value`` on every rank (pickled; tensors travel on the CPU)."""
    box = [value]
    dist.broadcast_object_list(box, src=0, group=group)
    return box[0]


def end_refused_job() -> None:
    """After a refusal: every rank waits here until rank 0 has said why, then leaves the job.

    torchrun ends the whole job as soon as one process exits; without this wait rank 0 could be
    stopped before its one-line reason reached the terminal.
    """
    if dist.is_initialized():
        with contextlib.suppress(Exception):
            dist.barrier()
            dist.destroy_process_group()
