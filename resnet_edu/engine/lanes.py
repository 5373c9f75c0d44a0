"""The local lane runner: comparison groups trained in lockstep, in threads of this process.

A *lane* is one thread that trains one comparison group (plain-20, plain-56, ResNet-56) in
**lockstep**: every net takes iteration k on the same batch k before any net takes k+1, so
the curves always compare equal iterations and the batches are made once for the whole group.
The loop itself is :class:`~resnet_edu.engine.lockstep.Lockstep`, the same on every device — CPU,
CUDA, Apple's MPS, and every process of a torchrun job — so what the CPU tests prove is what a
GPU runs. This file is the runner that schedules lanes: it queues groups, gives each a thread
and a stream of batches, and answers stop, switch and progress while they train. On a CPU one
lane trains at a time (one group using every core beats several thrashing); on a GPU several
lanes train at once, each on its own CUDA stream, as many as the card's free memory allows.

This runner is what the CLI, the tests, the benchmarks and the app's training process use
(the app itself talks to the training process through :mod:`resnet_edu.engine.process`).
It never touches Streamlit and never raises into its host: a run that fails is stored as
``failed`` with its message, and every metric goes to the RunStore as it is produced.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from resnet_edu import data as data_module
from resnet_edu import devices
from resnet_edu.data.loaded import augmentation_for, cached_dataset
from resnet_edu.engine import admission, prepare, tasks
from resnet_edu.engine.groups import GroupManager, checked_stages, progress_from_store, resumable, shortcuts_after
from resnet_edu.engine.lockstep import LaneRun, Lockstep, OnIteration
from resnet_edu.runs import ENDED_STATUSES, RunStore
from resnet_edu.runs.disk import describe_write_error
from resnet_edu.train import TrainConfig, resolve

LANE_MEMORY_BYTES = 3 * 2**30  # GPU memory one lane may need: a CIFAR-110 group at batch 128 needs well under this
MESSAGE_SECONDS = 0.25  # data-preparation messages reach the store at most this often


@dataclass
class _Lane:
    """Runs that advance together, in one thread, on one batch stream (the loop: :mod:`~resnet_edu.engine.lockstep`)."""

    group_id: str
    runs: list[LaneRun]
    loop: Lockstep
    thread: threading.Thread | None = None


def _device_stream(device: torch.device):
    """Each lane queues its GPU work on a stream of its own, so lanes overlap on the card."""
    if device.type == "cuda":
        return torch.cuda.stream(torch.cuda.Stream(device))
    return contextlib.nullcontext()


class LaneRunner(GroupManager):
    """Trains comparison groups in lanes of this process. Thread-safe.

    Args:
        store: where runs are recorded (default: a RunStore in RESNET_EDU_RUNS_DIR).
        device: "auto" (CUDA, else MPS, else CPU), "cpu", "cuda[:N]" or "mps"; ValueError if absent.
        cpu_slots: groups training at once on the CPU (default 1: all cores for one group).
        on_iteration: called with (run, trainer) after each iteration of each run: tests inject faults here.
    """

    isolation = "thread"

    def __init__(self, store: RunStore | None = None, device: str | None = None, cpu_slots: int = 1,
                 on_iteration: OnIteration | None = None) -> None:
        super().__init__(store)
        self._on_iteration = on_iteration
        self._device = devices.resolve_device(device)
        self.device = self._device.type
        if self.device == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels once
            free, _total = torch.cuda.mem_get_info(self._device)
            lanes = max(1, min(8, int(free * 0.8) // LANE_MEMORY_BYTES))
        elif self.device == "mps":
            lanes = 1
        else:
            torch.set_num_threads(devices.cpu_threads())
            lanes = max(1, cpu_slots)
        self._slots = threading.BoundedSemaphore(lanes)
        self._analysis_slot = threading.BoundedSemaphore(1)
        self._lock = threading.RLock()
        # Only what is queued or training: a run that ends leaves both (its record is in the store).
        self._runs: dict[str, LaneRun] = {}
        self._lanes: list[_Lane] = []
        self._analyses: dict[str, threading.Event] = {}
        self._analysis_threads: set[threading.Thread] = set()  # jobs still running
        self._closing_event = threading.Event()

    @property
    def device_label(self) -> str:
        return devices.device_label(self._device, devices.resolve_precision("auto", self._device))

    # ------------------------------------------------------------ submitting
    def submit(self, configs: Sequence[TrainConfig], device: str | None = None, gpus: int = 1) -> list[str]:
        """Queue one comparison group; returns its run ids. ValueError (nothing created) on bad input."""
        if gpus > 1:
            raise ValueError("several GPUs train through torchrun: the app's training process launches it "
                             "(resnet_edu.engine.torchrun_queue), or see the README's torchrun commands")
        if device not in (None, "auto") and devices.resolve_device(device) != self._device:
            raise ValueError(f"this runner trains on {self._device}, not on {device}")
        configs = [resolve(config, self._device) for config in configs]  # the stored config holds numbers
        group_id, run_ids = self._create_group(configs, self.device)
        self.adopt(group_id, [LaneRun(run_id, config) for run_id, config in zip(run_ids, configs)])
        return run_ids

    def prepare(self, dataset: str = "synthetic", data_root: str | None = None, image_size: int = 32) -> threading.Thread:
        """Get a data set ready before anyone asks for it, in a background thread (:func:`resnet_edu.engine.prepare.prepare`)."""
        return prepare.prepare(dataset, data_root, image_size, self._device)

    def adopt(self, group_id: str, runs: Sequence[LaneRun]) -> None:
        """Start training runs that already exist in the store (a new group, a resume, the app's group)."""
        loop = Lockstep(self.store, self._device, lock=self._lock, on_end=self._forget,
                        on_iteration=self._on_iteration)
        lane = _Lane(group_id, list(runs), loop)
        with self._lock:
            for run in runs:
                run.group_id = group_id
                self._runs[run.run_id] = run
            lane.thread = threading.Thread(target=self._lane_main, args=(lane,), daemon=True,
                                           name=f"resnet-lab-{group_id}")
            self._lanes.append(lane)
        lane.thread.start()

    def resume(self, run_id: str) -> str:
        """Continue a stopped or interrupted run from its last checkpoint, under the same id."""
        info, checkpoint = resumable(self.store, run_id, training_here=self.is_active(run_id))
        run = LaneRun(run_id, TrainConfig.from_dict(info["config"]), resume_from=str(checkpoint))
        self.store.set_status(run_id, "queued")
        self.adopt(info.get("group_id") or run_id, [run])
        return run_id

    # ------------------------------------------------------------ control
    def stop(self, run_id: str, reason: str | None = None) -> None:
        """Ask a run to stop after its current iteration (checkpointed, resumable)."""
        with self._lock:
            run = self._runs.get(run_id)
        if run is not None:
            self._stop_run(run, reason)

    def stop_all(self, reason: str | None = None) -> None:
        with self._lock:
            runs = list(self._runs.values())
            analyses = list(self._analyses.values())
        for run in runs:
            self._stop_run(run, reason)
        for stop in analyses:
            stop.set()

    @staticmethod
    def _stop_run(run: LaneRun, reason: str | None) -> None:
        if reason and not run.stop.is_set():
            run.stop_reason = reason
        run.stop.set()

    def set_shortcuts(self, run_id: str, enabled: bool, stages: Sequence[int] | None = None) -> None:
        """Switch shortcuts of a live run; applied between two steps and recorded as an event."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or run.status in ENDED_STATUSES:
                raise KeyError(f"run {run_id} is not training")
            if run.trainer is None:  # the switch waits for the model; the loop applies it first
                run.pending_toggles.append((bool(enabled), checked_stages(run.config, stages)))
                return
            trainer = run.trainer
        trainer.request_shortcuts(enabled, stages)

    def shortcut_state(self, run_id: str) -> dict[int, bool] | None:
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or run.status in ENDED_STATUSES:
                return None
            if run.trainer is not None:
                return run.trainer.shortcut_state()
            return shortcuts_after(run.config, run.pending_toggles)

    def model(self, run_id: str) -> nn.Module | None:
        """The live model of a run training in this process."""
        with self._lock:
            run = self._runs.get(run_id)
            return run.trainer.model if run is not None and run.trainer is not None else None

    # ------------------------------------------------------------ analysis jobs
    def submit_analysis(self, kind: str, params: dict, run_ids: Sequence[str] = ()) -> str:
        """Queue a job of ``kind`` (see resnet_edu.engine.tasks); returns its id."""
        tasks.check_kind(kind)
        admission.check_analysis_queue(self.store)  # the caps on waiting jobs: NotAdmitted, nothing created
        job_id = self.store.create_analysis(kind, params, run_ids)
        self.run_analysis(job_id)
        return job_id

    def run_analysis(self, job_id: str) -> None:
        """Run a job that already exists in the store, in a thread (one job at a time)."""
        stop = threading.Event()
        with self._lock:
            self._analyses[job_id] = stop

        def body() -> None:
            try:
                with self._analysis_slot:
                    tasks.run_job(job_id, self.store, self._device, stop)
            finally:  # an ended job leaves nothing behind: its result is in the store
                with self._lock:
                    self._analyses.pop(job_id, None)
                    self._analysis_threads.discard(threading.current_thread())

        thread = threading.Thread(target=body, daemon=True, name=f"resnet-lab-{job_id}")
        with self._lock:
            self._analysis_threads.add(thread)
        thread.start()

    def stop_analysis(self, job_id: str) -> None:
        with self._lock:
            stop = self._analyses.get(job_id)
        if stop is not None:
            stop.set()

    # ------------------------------------------------------------ reading
    def known_runs(self) -> list[str]:
        """The runs this runner has queued or is training (an ended run is forgotten: the store has it)."""
        with self._lock:
            return list(self._runs)

    def active_runs(self) -> list[str]:
        with self._lock:
            return [run_id for run_id, run in self._runs.items() if run.status not in ENDED_STATUSES]

    def is_active(self, run_id: str) -> bool:
        with self._lock:
            run = self._runs.get(run_id)
            return run is not None and run.status not in ENDED_STATUSES

    def progress(self, run_id: str) -> dict:
        """Step, total, fraction, ETA and speed of a run (from memory while it trains here, else the store)."""
        with self._lock:
            run = self._runs.get(run_id)
            lane = next((lane for lane in self._lanes if run in lane.runs), None) if run else None
        if run is None:
            return progress_from_store(self.store, run_id)
        trainer = run.trainer
        step = trainer.step if trainer else 0
        total = trainer.last_step if trainer else 0
        return {"run_id": run_id, "name": run.config.run_name, "status": run.status, "step": step,
                "total_steps": total, "fraction": step / total if total else 0.0,
                "epoch": trainer.epoch if trainer else 0.0,
                "images_per_second": trainer.images_per_second if trainer else None,
                "eta_seconds": lane.loop.eta(trainer, run.status) if lane else None, "message": run.message}

    def shutdown(self, timeout: float = 10) -> None:
        """Stop every run (status 'stopped') and job, join the threads, flush the store."""
        self._closing = True
        self._closing_event.set()
        self.stop_all(reason="the app was shut down: resume the run from the Lab")
        with self._lock:
            threads = [lane.thread for lane in self._lanes if lane.thread is not None] + list(self._analysis_threads)
        deadline = time.monotonic() + timeout
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        self.store.flush()

    # ------------------------------------------------------------ the lane
    def _forget(self, run: LaneRun) -> None:
        """An ended run leaves the runner (its trainer is already let go; progress and status come from the store)."""
        with self._lock:
            if self._runs.get(run.run_id) is run:  # a resume may already train it again under the same id
                del self._runs[run.run_id]

    def _lane_main(self, lane: _Lane) -> None:
        """Thread body: wait for a slot, prepare the data, then train the lane's runs in lockstep."""
        try:
            with self._slots:
                if self._closing_event.is_set():
                    for run in lane.runs:
                        lane.loop.set_status(run, "stopped", "the app was shut down before this run started")
                    return
                self._train_lane(lane)
        except Exception as error:  # never let a lane take its host down
            message = describe_write_error(error, self.store.root)  # "the disk is full (… free)" or the error
            for run in lane.runs:
                if run.status not in ENDED_STATUSES:
                    lane.loop.set_status(run, "failed", message[:500])
            traceback.print_exc()
        finally:
            for run in lane.runs:  # a run that never reached an end of its own (e.g. closing at once)
                if run.status in ENDED_STATUSES:
                    lane.loop.release(run)
            with self._lock:
                self._lanes = [other for other in self._lanes if other is not lane]

    def _dataset(self, config: TrainConfig, runs: Sequence[LaneRun]) -> data_module.ImageDataset:
        said = [0.0]

        def progress(fraction: float, message: str) -> None:
            text = f"{message} ({fraction:.0%})"
            for run in runs:
                run.message = text
            if time.monotonic() - said[0] >= MESSAGE_SECONDS:  # the app's proxy reads it from the store
                said[0] = time.monotonic()
                for run in runs:
                    with contextlib.suppress(Exception):
                        self.store.set_status(run.run_id, "queued", text)

        return cached_dataset(config.dataset, config.data_root, config.image_size, progress, config.max_train_images)

    def _train_lane(self, lane: _Lane) -> None:
        """Get the group's data and its one stream of batches ready, then run the lockstep loop."""
        first = lane.runs[0].config
        for run in lane.runs:
            lane.loop.set_status(run, "queued", "preparing data")
        try:
            # The memory check again, on the device itself (a card's free memory is known exactly here):
            # admission.NotAdmitted is a ValueError, and the runs end failed with its sentence.
            admission.check_memory([run.config for run in lane.runs], str(self._device), at_start=True)
            dataset = self._dataset(first, lane.runs)
        except (data_module.DataUnavailable, ValueError, OSError) as error:
            for run in lane.runs:
                lane.loop.set_status(run, "failed", str(error))
            return
        if first.batch_size > dataset.num_train:
            for run in lane.runs:
                lane.loop.set_status(run, "failed", f"batch size {first.batch_size} is larger than the "
                                                    f"{dataset.num_train} training images")
            return
        with _device_stream(self._device):
            stream = data_module.BatchStream(dataset, first.batch_size, seed=first.seed, device=self._device,
                                             augment=augmentation_for(first),
                                             channels_last=devices.channels_last_ok(self._device))
            lane.loop.train(lane.runs, dataset, stream)
