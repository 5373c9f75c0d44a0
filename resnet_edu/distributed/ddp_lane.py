"""The lane of one torchrun process: the engine's lockstep loop, with a DDP trainer and one exchange per iteration.

There is one training loop (:class:`~resnet_edu.engine.lockstep.Lockstep`). Under torchrun it
trains a group of one run, and :class:`DistributedLockstep` changes only what DDP needs:

* the trainer: a :class:`~resnet_edu.distributed.trainer.DistributedTrainer` (the net wrapped in
  DistributedDataParallel) given this rank's shard of global batch k and of the test set;
* before each iteration, every rank agrees on stop and switches
  (:class:`~resnet_edu.distributed.control.Control`), so all stop, or switch, before the same one;
* rank 0 alone writes the RunStore and the checkpoints (the other ranks record into
  :class:`Unrecorded`); a failure on any rank ends the run ``failed`` with that rank's reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
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
from resnet_edu.engine.lockstep import LaneRun, Lockstep, OnIteration
from resnet_edu.runs import RunStore
from resnet_edu.runs.requests import ShortcutInbox
from resnet_edu.train import TrainConfig


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


class Unrecorded:
    """The store of ranks other than 0: they train and evaluate the same net, and record nothing."""

    root = Path()

    def checkpoint_dir(self, run_id: str) -> Path:
        return Path()  # rank 0 writes the checkpoint; the others only take part in its collectives

    def _nothing(self, *args, **kwargs) -> None:
        return

    set_status = log_event = set_progress = discard_after = record_checkpoint = flush = _nothing


class DistributedLockstep(Lockstep):
    """The lockstep loop in one torchrun process: a DDP trainer, and the stop/switch exchange.

    Args:
        launch: this process's place in the job.
        group: the gloo group for control messages and metric sums.
        store: the RunStore on rank 0, None on the others.
        stop_requested: set by this process's SIGINT/SIGTERM handler.
        status_line: rank 0's one-line progress printer for the terminal, or None.
        on_iteration: as :class:`~resnet_edu.engine.lockstep.Lockstep` (tests inject faults here).
    """

    def __init__(self, launch: Launch, group, device: torch.device, store: RunStore | None,
                 stop_requested: threading.Event, status_line=None, on_iteration: OnIteration | None = None) -> None:
        super().__init__(store if store is not None else Unrecorded(), device, on_iteration=on_iteration)
        self.launch = launch
        self.group = group
        self.stop_requested = stop_requested
        self.status_line = status_line
        self.control: Control | None = None

    def new_trainer(self, run: LaneRun, num_classes: int, steps_per_epoch: int) -> DistributedTrainer:
        trainer = DistributedTrainer(run.config, launch=self.launch, group=self.group, num_classes=num_classes,
                                     steps_per_epoch=steps_per_epoch, device=self.device,
                                     store=self.store if self.launch.is_main else None, run_id=run.run_id)
        inbox = ShortcutInbox(self.store.root, run.run_id) if self.launch.is_main else None
        self.control = Control(self.group, inbox, models.shortcut_state(trainer.model), self.stop_requested)
        return trainer

    def device_label(self, trainer) -> str:
        if self.device.type == "cpu":  # this process's share of the cores, not the machine's
            threads = torch.get_num_threads()
            return (f"{self.launch.world_size} processes × CPU · {threads} thread{'s' if threads != 1 else ''} · "
                    f"{trainer.precision}")
        return f"{self.launch.world_size} processes × {devices.device_label(self.device, trainer.precision)}"

    def run_facts(self, run: LaneRun) -> dict:
        return {"world_size": self.launch.world_size, "sync_bn": run.config.sync_bn, "host": socket.gethostname()}

    def before_iteration(self, run: LaneRun, trainer) -> None:
        """Every rank agrees on stop and on rank 0's switch before the same iteration (raises if a peer is gone)."""
        if self.status_line is not None:
            self.status_line(f"{run.config.run_name} on {self.launch.world_size} processes: step {trainer.step}/"
                             f"{trainer.last_step}")
        stop, switch = self.control.exchange()
        if stop:
            run.stop_reason = (f"stopped by SIGINT/SIGTERM to torchrun after iteration {trainer.step}; continue "
                               f"with torchrun ... -m resnet_edu runs resume {run.run_id}")
            run.stop.set()
        elif switch is not None:
            trainer.request_shortcuts(*switch)

    def describe_failure(self, run: LaneRun, error: Exception) -> str:
        """Rank 0: its own error or the word a failed rank left; another rank leaves that word (unless a peer went first)."""
        if self.launch.is_main:
            return failure_message(self.launch, run.run_id, error)
        message = f"rank {self.launch.rank}: {first_line(error)}"
        if not peer_lost(error):
            with contextlib.suppress(Exception):
                c10d_store().set(failure_key(run.run_id, self.launch.rank), message)
        return message


def _test_shard(dataset: data_module.ImageDataset, launch: Launch) -> data_module.ImageDataset:
    index = torch.tensor_split(torch.arange(dataset.num_test), launch.world_size)[launch.rank]
    return dataclasses.replace(dataset, test_images=dataset.test_images[index], test_labels=dataset.test_labels[index])


def train_run(launch: Launch, config: TrainConfig, run_id: str, decision: dict, dataset, device: torch.device,
              group, store: RunStore | None, stop_requested: threading.Event, status_line=None,
              on_iteration: OnIteration | None = None) -> JobResult:
    """Train this rank's shard of run ``run_id`` in the lockstep loop until it ends.

    Args:
        decision: rank 0's decision, heard by every rank (``payload``: a checkpoint to resume from, or None).
        dataset: the whole data set; this rank takes its shard of every batch and of the test set.
        on_iteration: called with (run, trainer) after each iteration (tests only).
    """
    stream = data_module.BatchStream(dataset, config.batch_size, seed=config.seed, device=device,
                                     augment=augmentation_for(config), channels_last=devices.channels_last_ok(device),
                                     rank=launch.rank, world_size=launch.world_size)
    resumed = decision["payload"] is not None
    run = LaneRun(run_id, config, resume_from=decision.get("checkpoint") if resumed else None,
                  resume_payload=decision["payload"], resume_note=decision.get("note"), group_id=run_id)
    loop = DistributedLockstep(launch, group, device, store, stop_requested, status_line, on_iteration)
    loop.train([run], dataset, stream, test_set=_test_shard(dataset, launch))
    close_quietly(store)
    if run.status != "failed":
        with contextlib.suppress(Exception):
            dist.destroy_process_group()
    return JobResult(run_id, run.status, run.message)
