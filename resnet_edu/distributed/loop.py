"""The training loop of one torchrun process, and what rank 0 alone writes (the run, its checkpoints).

Every iteration: agree on stop and switches (:class:`~resnet_edu.distributed.control.Control`),
take this rank's shard of global batch k, one DDP step; at each epoch's end, evaluate this
rank's share of the test set and checkpoint. Rank 0 writes the RunStore (one run, one row per
iteration) and the checkpoints; a failure on any rank ends the run ``failed`` with that rank's reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import distributed as dist

from resnet_edu import data as data_module
from resnet_edu import devices, models
from resnet_edu.data.loaded import augmentation_for
from resnet_edu.distributed.control import Control
from resnet_edu.distributed.failures import c10d_store, failure_key, failure_message, first_line, peer_lost
from resnet_edu.distributed.processes import Launch
from resnet_edu.distributed.trainer import DistributedTrainer
from resnet_edu.runs import RunStore
from resnet_edu.runs.requests import ShortcutInbox
from resnet_edu.train import Diverged, TrainConfig
from resnet_edu.train.checkpoint import INIT_CHECKPOINT, LAST_CHECKPOINT

# Test-only: a folder where every rank writes what it ended with (weights digest, switches applied).
TEST_REPORT_ENV = "RESNET_EDU_TEST_RANK_REPORT"
TEST_KILL_ENV = "RESNET_EDU_TEST_KILL"  # "RANK:ITERATION[:raise]": that rank is killed (SIGKILL) or raises after it
TEST_TOGGLE_ENV = "RESNET_EDU_TEST_TOGGLE_AT"  # ITERATION: rank 0 puts "shortcuts off" into the inbox after it


@dataclass
class JobResult:
    """How the job ended, for the CLI (rank 0 has the run id and prints the summary)."""

    run_id: str | None
    status: str
    message: str = ""


def close_quietly(store: RunStore | None) -> None:
    """Close rank 0's store at the end of a job; a failure to close must not hide why the job ended."""
    if store is not None:
        with contextlib.suppress(Exception):
            store.close()


def _test_shard(dataset: data_module.ImageDataset, launch: Launch) -> data_module.ImageDataset:
    index = torch.tensor_split(torch.arange(dataset.num_test), launch.world_size)[launch.rank]
    return dataclasses.replace(dataset, test_images=dataset.test_images[index], test_labels=dataset.test_labels[index])


def train_loop(launch: Launch, config: TrainConfig, run_id: str, decision: dict, dataset, device: torch.device,
               group, store: RunStore | None, stop_requested: threading.Event, status_line) -> JobResult:
    """Train this rank's shard of run ``run_id`` until it ends (finished, stopped, diverged or failed).

    Args:
        decision: rank 0's decision, heard by every rank (``payload``: a checkpoint to resume from, or None).
        dataset: the whole data set; this rank takes its shard of every batch and of the test set.
        group: the gloo group for control messages and metric sums.
        store: the RunStore on rank 0, None on the others.
        stop_requested: set by this process's SIGINT/SIGTERM handler.
        status_line: rank 0's one-line progress printer for the terminal, or None.
    """
    channels_last = devices.channels_last_ok(device)
    augment = augmentation_for(config)
    stream = data_module.BatchStream(dataset, config.batch_size, seed=config.seed, device=device, augment=augment,
                                     channels_last=channels_last, rank=launch.rank, world_size=launch.world_size)
    test_set = _test_shard(dataset, launch)
    dataset_info = {"classes": list(dataset.classes), "mean": list(dataset.mean), "std": list(dataset.std),
                    "dataset_name": dataset.name}
    trainer = DistributedTrainer(config, launch=launch, group=group, num_classes=dataset.num_classes,
                                 steps_per_epoch=stream.steps_per_epoch, device=device, store=store, run_id=run_id)
    inbox = ShortcutInbox(store.root, run_id) if launch.is_main else None
    control = Control(group, inbox, models.shortcut_state(trainer.model), stop_requested)
    kill_rank, kill_at, *how = os.environ.get(TEST_KILL_ENV, "-1:-1").split(":")
    kill_rank, kill_at = int(kill_rank), int(kill_at)
    toggle_at = int(os.environ.get(TEST_TOGGLE_ENV, "-1"))

    status, message = "finished", ""
    try:
        if decision["payload"] is not None:
            trainer.restore(decision["payload"])
            if store is not None:
                store.discard_after(run_id, trainer.step)
                store.log_event(run_id, trainer.step, "resumed", {"checkpoint": decision.get("checkpoint"),
                                                                  "world_size": launch.world_size})
        else:  # the starting point, for analyses that compare a net with its initial self
            folder = store.checkpoint_dir(run_id) if store is not None else Path()
            trainer.checkpoint(folder / INIT_CHECKPOINT, dataset_info)
        if store is not None:
            store.set_status(run_id, "running", "")
            store.set_progress(run_id, trainer.step, trainer.last_step)
            if decision["payload"] is None:
                store.log_event(run_id, 0, "started", {
                    "device": _device_label(device, trainer.precision, launch), "precision": trainer.precision,
                    "compiled": config.compile, "world_size": launch.world_size, "sync_bn": config.sync_bn,
                    "host": socket.gethostname(),
                    "parameters": models.count_parameters(trainer.model)})
        stream.seek(trainer.step)
        seconds_per_iteration, clock = None, time.perf_counter()
        while not trainer.done:
            stop, switch = control.exchange()
            if stop:
                status = "stopped"
                message = (f"stopped by SIGINT/SIGTERM to torchrun after iteration {trainer.step}; continue with "
                           f"torchrun ... -m resnet_edu runs resume {run_id}")
                break
            if switch is not None:
                trainer.request_shortcuts(*switch)
            if launch.rank == kill_rank and trainer.step == kill_at:
                if how == ["raise"]:
                    raise RuntimeError(f"rank {launch.rank} failed on purpose after iteration {kill_at}")
                os.kill(os.getpid(), signal.SIGKILL)
            images, labels = stream.next()
            trainer.train_step(images, labels)
            if launch.is_main and trainer.step == toggle_at:
                inbox.put(False)
            if trainer.at_epoch_end():
                trainer.evaluate(data_module.test_batches(test_set, 500, device=device, channels_last=channels_last))
                _checkpoint(trainer, store, run_id, dataset_info)
            now = time.perf_counter()
            elapsed, clock = now - clock, now  # one iteration with its evaluation: what the ETA must count
            seconds_per_iteration = elapsed if seconds_per_iteration is None else \
                0.8 * seconds_per_iteration + 0.2 * elapsed
            if store is not None:
                store.set_progress(run_id, trainer.steps_recorded, trainer.last_step,
                                   images_per_second=trainer.images_per_second,
                                   eta_seconds=(trainer.last_step - trainer.step) * seconds_per_iteration)
                if status_line:
                    status_line(f"{config.run_name} on {launch.world_size} processes: step {trainer.step}/"
                                f"{trainer.last_step}")
        trainer.read_metrics()
        if status == "stopped" and trainer.step > 0:
            _checkpoint(trainer, store, run_id, dataset_info)  # resumable
    except Diverged as error:  # every rank sees the same summed loss, so every rank ends here
        status, message = "diverged", str(error)
    except Exception as error:  # noqa: BLE001 - a rank failed or a peer vanished
        status = "failed"
        if launch.is_main:
            message = failure_message(launch, run_id, error)
        else:  # leave word for rank 0 (in torchrun's store, which outlives this process) unless a peer went first
            message = f"rank {launch.rank}: {first_line(error)}"
            if not peer_lost(error):
                with contextlib.suppress(Exception):
                    c10d_store().set(failure_key(run_id, launch.rank), message)
    _write_rank_report(trainer, launch)
    if store is not None:
        with contextlib.suppress(Exception):
            store.log_event(run_id, trainer.step, status, {"message": message} if message else None)
            store.set_status(run_id, status, message)
        close_quietly(store)
    if status != "failed":
        with contextlib.suppress(Exception):
            dist.destroy_process_group()
    return JobResult(run_id, status, message)


def _device_label(device: torch.device, precision: str, launch: Launch) -> str:
    if device.type == "cpu":  # this process's share of the cores, not the machine's
        threads = torch.get_num_threads()
        return f"{launch.world_size} processes × CPU · {threads} thread{'s' if threads != 1 else ''} · {precision}"
    return f"{launch.world_size} processes × {devices.device_label(device, precision)}"


def _checkpoint(trainer: DistributedTrainer, store: RunStore | None, run_id: str, dataset_info: dict) -> None:
    trainer.read_metrics()
    path = (store.checkpoint_dir(run_id) if store is not None else Path()) / LAST_CHECKPOINT  # rank 0 writes
    if store is not None:
        store.flush()  # every iteration up to the checkpoint is committed before it exists
    trainer.checkpoint(path, dataset_info)
    if store is not None:
        store.record_checkpoint(run_id, trainer.step, path)


def _write_rank_report(trainer: DistributedTrainer, launch: Launch) -> None:
    """Test-only (TEST_REPORT_ENV): each rank's weights digest and the switches it applied."""
    folder = os.environ.get(TEST_REPORT_ENV)
    if not folder:
        return
    report = {"rank": launch.rank, "step": trainer.step, "digest": trainer.weights_digest(),
              "switches": trainer.switches_applied, "threads": torch.get_num_threads()}
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / f"rank{launch.rank}.json").write_text(json.dumps(report))
