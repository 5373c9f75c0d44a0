"""One torchrun job, from start to the training loop: rank 0 decides which run it is, every rank loads the data.

Every rank calls :func:`train_job`. Rank 0 opens the RunStore and decides (a new run, the app's
queued run, or a resume from the last checkpoint); every rank hears the decision, or the one
reason to refuse, so all start or all refuse together. Then each loads the data (the first
process on a node decodes and caches a folder, the others read the cache) and trains.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import sys
import threading

import torch
from torch import distributed as dist

from resnet_edu import data as data_module
from resnet_edu.data.loaded import cached_dataset
from resnet_edu.distributed.ddp_lane import JobResult, close_quietly, train_run
from resnet_edu.distributed.processes import Launch, StartRefused, broadcast, start_processes
from resnet_edu.engine.groups import resumable
from resnet_edu.engine.lockstep import OnIteration
from resnet_edu.runs import RunStore
from resnet_edu.train import TrainConfig
from resnet_edu.train.checkpoint import load_checkpoint_or_previous


def train_job(launch: Launch, *, config: TrainConfig | None = None, resume_run_id: str | None = None,
              queued_run_id: str | None = None, device_choice: str = "auto",
              store_root: str | os.PathLike | None = None, status_line=None,
              on_iteration: OnIteration | None = None) -> JobResult:
    """Train one run on this process's shard: a new one from ``config``, the app's ``queued_run_id``
    with its stored settings, or ``resume_run_id`` from its last checkpoint.

    Every rank calls this. Raises StartRefused (same reason on every rank) when the job cannot start.
    ``on_iteration(run, trainer)`` is called after each iteration (tests inject faults with it).
    """
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # torchrun forwards a stop to every rank
        signal.signal(signum, lambda *_: stop_requested.set())
    try:
        device, group = start_processes(launch, device_choice)
    except ValueError as error:  # the same machine answers the same on every rank of a node
        raise StartRefused(str(error)) from None

    # Rank 0 decides which run it is; every rank hears the decision (or the reason to refuse).
    store = RunStore(store_root) if launch.is_main else None
    decision: dict = {"error": None}
    if launch.is_main:
        try:
            decision.update(_decide_run(store, config, resume_run_id, queued_run_id, launch, device))
        except (ValueError, KeyError) as error:
            decision["error"] = str(error.args[0]) if type(error) is KeyError else str(error)
    decision = broadcast(decision, group)
    if decision["error"]:
        close_quietly(store)
        raise StartRefused(decision["error"])
    config = TrainConfig.from_dict(decision["config"])
    if launch.is_main:  # on several nodes, say which one holds the store (torchrun numbers nodes by host name)
        print(f"resnet_edu: {launch.world_size} processes; rank 0 writes run {decision['run_id']} into the run "
              f"store on {socket.gethostname()}: {store.root.resolve()}", file=sys.stderr, flush=True)

    # The data: the first process on each node decodes (and caches) a folder; the others read the cache.
    errors: list = [None] * launch.world_size
    error = None
    cached = config.dataset != "synthetic"
    if cached and launch.local_rank != 0:
        dist.barrier(group=group)
    try:
        dataset = cached_dataset(config.dataset, config.data_root, config.image_size,
                                 progress=(lambda f, m: status_line(f"{m} {f:.0%}")) if status_line and launch.is_main
                                 else None, max_train=config.max_train_images)
        if config.batch_size > dataset.num_train:
            raise ValueError(f"batch size {config.batch_size} is larger than the {dataset.num_train} training images")
    except (data_module.DataUnavailable, data_module.BadDataFolder, ValueError, OSError) as failure:
        said = " ".join(str(failure).split())
        error = f"rank {launch.rank}: {said}" if launch.rank else said
    if cached and launch.local_rank == 0:
        dist.barrier(group=group)
    dist.all_gather_object(errors, error, group=group)
    refused = next((e for e in errors if e), None)
    run_id = decision["run_id"]
    if refused:
        if launch.is_main and decision.get("created"):
            store.delete_run(run_id)  # nothing was trained: leave no empty run behind
        elif launch.is_main and decision.get("adopted"):  # the app's run: it shows why it never started
            store.set_status(run_id, "failed", refused)
        close_quietly(store)
        raise StartRefused(refused)

    return train_run(launch, config, run_id, decision, dataset, device, group, store, stop_requested,
                     status_line, on_iteration)


def _decide_run(store: RunStore, config: TrainConfig | None, resume_run_id: str | None, queued_run_id: str | None,
                launch: Launch, device: torch.device) -> dict:
    if queued_run_id is not None:  # created by the app, with the world size it asked for
        info = store.get_run(queued_run_id)
        config = TrainConfig.from_dict(info["config"])
        if info["status"] != "queued" or info.get("steps_done"):
            raise ValueError(f"run {queued_run_id} is {info['status']}: only a queued run that has not started "
                             "can be trained with --run-id (continue others with runs resume)")
        if config.world_size != launch.world_size:
            raise ValueError(f"run {queued_run_id} was set up for {config.world_size} processes; this job has "
                             f"{launch.world_size}")
        return {"run_id": queued_run_id, "config": config.to_dict(), "payload": None, "created": False,
                "adopted": True}
    if resume_run_id is None:
        config = dataclasses.replace(config, world_size=launch.world_size)
        config.validate()
        run_id = store.create_run(config.run_name, config.to_dict(), device=device.type, status="queued")
        return {"run_id": run_id, "config": config.to_dict(), "payload": None, "created": True}
    info, checkpoint = resumable(store, resume_run_id)
    config = TrainConfig.from_dict(info["config"])
    if config.batch_size % launch.world_size:
        raise ValueError(f"batch size {config.batch_size} does not split evenly over {launch.world_size} processes")
    payload, read_from, note = load_checkpoint_or_previous(checkpoint, map_location="cpu")
    return {"run_id": resume_run_id, "config": config.to_dict(), "payload": payload, "checkpoint": str(read_from),
            "note": note, "created": False}
