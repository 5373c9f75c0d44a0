"""The lockstep loop of one comparison group: the one training loop of the project.

Every net of the group takes iteration k on the same batch k before any net takes k+1, so the
curves always compare equal iterations and each batch is made once. Around each iteration the
loop does what every run needs: start (or resume) it, write its starting point, record
``started``, evaluate and checkpoint at each epoch's end, keep its ETA, and end it as
``finished``, ``stopped`` (checkpointed, resumable), ``diverged`` or ``failed``.

The same loop runs everywhere: in a lane thread of :class:`~resnet_edu.engine.lanes.LaneRunner`
(CPU, CUDA, Apple's MPS alike), and in every process of a torchrun job, where
:class:`~resnet_edu.distributed.ddp_lane.DistributedLockstep` changes only the trainer (a DDP
wrapper training this process's shard of the batch) and adds the stop/switch exchange before
each iteration. A run that ends lets go of its trainer (model, gradients, optimizer state,
probe hooks, compiled graph) at once.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from resnet_edu import data as data_module
from resnet_edu import devices, models
from resnet_edu.runs import ENDED_STATUSES, RunStore
from resnet_edu.runs.disk import describe_write_error
from resnet_edu.train import Diverged, TrainConfig, Trainer
from resnet_edu.train.checkpoint import INIT_CHECKPOINT, LAST_CHECKPOINT, load_checkpoint_or_previous

OnIteration = Callable[["LaneRun", Trainer], None]  # called after each iteration of each run (tests inject faults)


@dataclass
class LaneRun:
    """What the loop knows of one live run (the store knows the rest)."""

    run_id: str
    config: TrainConfig
    status: str = "queued"
    message: str = ""
    trainer: Trainer | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    pending_toggles: list = field(default_factory=list)  # switches asked for before the model exists
    resume_from: str | None = None  # checkpoint path
    resume_payload: dict | None = None  # the checkpoint already read (torchrun: rank 0 read it for every rank)
    resume_note: str | None = None  # with resume_payload: why it is previous.pt, not the damaged last.pt
    stop_reason: str = "stopped by the teacher"
    group_id: str | None = None


def _smooth(previous: float | None, value: float, weight: float = 0.2) -> float:
    return value if previous is None else (1 - weight) * previous + weight * value


class Lockstep:
    """Trains the runs of one group in lockstep until every one has ended. Never raises for a run's failure.

    Args:
        store: where runs are recorded.
        device: where the nets train.
        lock: guards ``LaneRun.trainer`` against readers in other threads (the runner's lock).
        on_end: called with a run once it has ended and let go of its trainer (the runner forgets it).
        on_iteration: called with (run, trainer) after each iteration: tests inject faults here.
    """

    def __init__(self, store: RunStore, device: torch.device, *, lock: threading.RLock | None = None,
                 on_end: Callable[[LaneRun], None] | None = None, on_iteration: OnIteration | None = None) -> None:
        self.store = store
        self.device = device
        self.lock = lock or threading.RLock()
        self.on_end = on_end
        self.on_iteration = on_iteration
        self.seconds_per_round: float | None = None

    # ------------------------------------------------------------ what a kind of training changes
    def new_trainer(self, run: LaneRun, num_classes: int, steps_per_epoch: int) -> Trainer:
        return Trainer(run.config, num_classes=num_classes, steps_per_epoch=steps_per_epoch, device=self.device,
                       store=self.store, run_id=run.run_id)

    def device_label(self, trainer: Trainer) -> str:
        return devices.device_label(self.device, trainer.precision)

    def run_facts(self, run: LaneRun) -> dict:
        """Recorded with ``started`` and ``resumed`` besides the device (torchrun: world size, host)."""
        return {}

    def before_iteration(self, run: LaneRun, trainer: Trainer) -> None:
        """Called before each iteration of a run (torchrun: every process agrees on stop and switches)."""

    def describe_failure(self, run: LaneRun, error: Exception) -> str:
        return describe_write_error(error, self.store.root)[:500]  # "the disk is full (… free)" or the error

    # ------------------------------------------------------------ the loop
    def train(self, runs: Sequence[LaneRun], dataset: data_module.ImageDataset, stream: data_module.BatchStream,
              test_set: data_module.ImageDataset | None = None) -> None:
        """Start every run, then iteration k of every live run on batch k of ``stream``, until all have ended.

        Args:
            test_set: evaluated at each epoch's end (default ``dataset``; torchrun: this process's share).
        """
        test_set = test_set if test_set is not None else dataset
        dataset_info = {"classes": list(dataset.classes), "mean": list(dataset.mean), "std": list(dataset.std),
                        "dataset_name": dataset.name}
        for run in runs:
            self._start_run(run, dataset.num_classes, stream.steps_per_epoch, dataset_info)
        live = [run for run in runs if run.status == "running"]
        if not live:
            return
        stream.seek(min(run.trainer.step for run in live))
        while live:
            round_started = time.perf_counter()
            images, labels = stream.next()
            for run in live:
                if run.trainer.step < stream.step:  # a resumed run ahead of the stream waits
                    self._advance(run, images, labels, test_set, dataset_info)
            live = [run for run in live if run.status == "running"]
            self.seconds_per_round = _smooth(self.seconds_per_round, time.perf_counter() - round_started)
            for run in live:
                self.store.set_progress(run.run_id, run.trainer.steps_recorded, run.trainer.last_step,
                                        images_per_second=run.trainer.images_per_second,
                                        eta_seconds=self.eta(run.trainer, run.status))
        self.store.flush()

    def eta(self, trainer: Trainer | None, status: str) -> float | None:
        if trainer is None or status != "running" or not self.seconds_per_round:
            return None
        return (trainer.last_step - trainer.step) * self.seconds_per_round

    def _start_run(self, run: LaneRun, num_classes: int, steps_per_epoch: int, dataset_info: dict) -> None:
        if run.stop.is_set():
            self.set_status(run, "stopped", "stopped before it started", step=0)
            return
        try:
            trainer = self.new_trainer(run, num_classes, steps_per_epoch)
            resumed = run.resume_from is not None or run.resume_payload is not None
            if resumed:
                payload, read_from, fallback = run.resume_payload, run.resume_from, run.resume_note
                if payload is None:  # a damaged last.pt: previous.pt, and fallback says so
                    payload, read_from, fallback = load_checkpoint_or_previous(run.resume_from,
                                                                               map_location=self.device)
                trainer.restore(payload)
                run.resume_payload = None  # the weights live in the trainer now
                # Iterations logged after the checkpoint (before a crash or a stop) are redone:
                # drop them so the curve never mixes the old attempt with the new one.
                self.store.discard_after(run.run_id, trainer.step)
                if fallback:
                    self.store.log_event(run.run_id, trainer.step, "checkpoint_fallback",
                                         {"message": fallback, "checkpoint": str(read_from)})
                self.store.log_event(run.run_id, trainer.step, "resumed",
                                     {"checkpoint": None if read_from is None else str(read_from),
                                      **self.run_facts(run)})
            else:  # the starting point, for analyses that compare a net with its initial self
                trainer.checkpoint(self.store.checkpoint_dir(run.run_id) / INIT_CHECKPOINT, dataset_info)
            for enabled, stages in run.pending_toggles:
                trainer.request_shortcuts(enabled, stages)
            with self.lock:
                run.trainer = trainer
                run.pending_toggles = []
            self.store.set_progress(run.run_id, trainer.step, trainer.last_step)
            self.set_status(run, "running", "")
            if not resumed:
                self.store.log_event(run.run_id, 0, "started",
                                     {"device": self.device_label(trainer), "precision": trainer.precision,
                                      "compiled": run.config.compile, **self.run_facts(run),
                                      "parameters": models.count_parameters(trainer.model)})
        except Exception as error:  # noqa: BLE001 - one run's failure must not stop its group
            self.set_status(run, "failed", self.describe_failure(run, error))

    def _advance(self, run: LaneRun, images, labels, test_set, dataset_info: dict) -> None:
        """One iteration of one run, with what follows it: evaluation, checkpoint, the end."""
        trainer = run.trainer
        try:
            self.before_iteration(run, trainer)
            if run.stop.is_set():
                self._finish(run, "stopped", run.stop_reason, dataset_info)
                return
            trainer.train_step(images, labels)
            if trainer.at_epoch_end():
                trainer.evaluate(data_module.test_batches(test_set, 500, device=self.device,
                                                          channels_last=trainer.channels_last))
                self._checkpoint(run, dataset_info)
            if self.on_iteration is not None:
                self.on_iteration(run, trainer)
            if trainer.done:
                trainer.read_metrics()
                self.set_status(run, "finished", "")
        except Diverged as error:  # torchrun: every process sees the same summed loss, so all end here
            self.set_status(run, "diverged", str(error), step=trainer.step)
        except Exception as error:  # noqa: BLE001 - one run's failure must not stop its group
            self.set_status(run, "failed", self.describe_failure(run, error), step=trainer.step)

    def _checkpoint(self, run: LaneRun, dataset_info: dict) -> None:
        trainer = run.trainer
        trainer.read_metrics()
        path = self.store.checkpoint_dir(run.run_id) / LAST_CHECKPOINT
        # Every iteration up to the checkpoint is committed before the checkpoint exists, so a
        # crash can never leave a checkpoint ahead of the curve (resuming would leave a gap).
        self.store.flush()
        trainer.checkpoint(path, dataset_info)
        self.store.record_checkpoint(run.run_id, trainer.step, path)

    def _finish(self, run: LaneRun, status: str, message: str, dataset_info: dict) -> None:
        if run.trainer is not None and run.trainer.step > 0:
            self._checkpoint(run, dataset_info)  # so a stopped run can be resumed and explored
        self.set_status(run, status, message)

    # ------------------------------------------------------------ status and the end
    def set_status(self, run: LaneRun, status: str, message: str | None = None, step: int | None = None) -> None:
        # The store first: whoever sees the run end here (wait(), the app's proxy) must find
        # the same status in the store.
        if status in ENDED_STATUSES:
            step = step if step is not None else (run.trainer.step if run.trainer else 0)
            with contextlib.suppress(Exception):  # the store may be gone at interpreter exit, or the disk full
                self.store.log_event(run.run_id, step, status, {"message": message} if message else None)
        with contextlib.suppress(Exception):  # tried even when the event was refused: the status matters most
            self.store.set_status(run.run_id, status, message)
        if message is not None:
            run.message = message
        run.status = status
        if status in ENDED_STATUSES:
            self.release(run)

    def release(self, run: LaneRun) -> None:
        """Let go of an ended run: its trainer (model, gradients, optimizer state, probe hooks, compiled
        graph) becomes garbage; ``on_end`` then forgets the run (its record is in the store)."""
        with self.lock:
            trainer, run.trainer = run.trainer, None
            run.pending_toggles = []
            run.resume_payload = None
        if trainer is not None:
            trainer.responses.remove()  # the forward hooks on the model
            trainer.compiled = None
            trainer.optimizer.state.clear()
        if self.on_end is not None:
            self.on_end(run)
