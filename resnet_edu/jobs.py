"""Background training: a queue of comparison groups, worker threads, stop and live toggles.

A *group* is the set of nets a teacher compares (plain-20, plain-56, ResNet-56). On the CPU
a group trains in **lockstep** in one worker thread: every net takes iteration k on the same
batch k before any net takes iteration k+1, so all curves grow together and always compare
equal iterations. Groups queue for the CPU one at a time (one run using every core beats
several thrashing). On a GPU each net of a group gets its own thread and CUDA stream, with
the same seed, so it draws the same batches, up to a memory-based number at once.

With ``isolation="process"`` (what the app uses) the groups train in one child process
(``python -m resnet_edu.worker``: a thread-isolated JobManager running this same code)
instead of threads of the app, so page scripts never hold the GIL the training loop needs.
The manager in the app forwards groups, stops and shortcut switches to it as JSON lines and
mirrors its progress reports; everything else still flows through the RunStore.

The manager never touches Streamlit: workers write to the RunStore, pages read it. A worker
never raises into its host: a failing run is stored as ``failed`` with its message.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from resnet_edu import data as data_module
from resnet_edu import models
from resnet_edu.runs import RunStore
from resnet_edu.train import (
    Diverged,
    TrainConfig,
    Trainer,
    default_device,
    load_checkpoint,
    resolve_precision,
)
from resnet_edu.worker import TrainingProcess

ENDED = ("finished", "stopped", "diverged", "failed", "interrupted")
GROUP_KEYS = ("dataset", "data_root", "image_size", "max_train_images", "epochs", "batch_size", "seed", "recipe", "max_steps")


@dataclass
class _Run:
    """What the manager knows of one live run (the store knows the rest)."""

    run_id: str
    config: TrainConfig
    status: str = "queued"
    message: str = ""
    trainer: Trainer | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    pending_toggles: list = field(default_factory=list)  # toggles asked for before the model exists
    total_steps: int | None = None
    images_per_second: float | None = None
    resume_from: str | None = None  # checkpoint path
    stop_reason: str = "stopped by the teacher"
    group_id: str | None = None
    # isolation="process": the child's last report, and the switches sent to it (numbered) so
    # that a report written before the child saw a switch does not undo it on screen.
    reported: dict = field(default_factory=dict)
    shortcuts: dict | None = None
    toggle_seq: int = 0
    process: object | None = None  # the TrainingProcess training it


@dataclass
class _Lane:
    """Runs that advance together, in one thread, on one batch stream."""

    group_id: str
    runs: list[_Run]
    seconds_per_round: float | None = None
    thread: threading.Thread | None = None


_datasets: dict[tuple, data_module.ImageDataset] = {}
_datasets_lock = threading.Lock()


def cached_dataset(name: str, root: str | None = None, image_size: int = 32, progress=None,
                   max_train: int | None = None) -> data_module.ImageDataset:
    """Load a data set once per process (decoded tensors are shared by every run and page)."""
    key = (name, root, image_size)
    with _datasets_lock:
        if key not in _datasets:
            _datasets[key] = data_module.load_dataset(name, root=root, image_size=image_size, progress=progress)
        dataset = _datasets[key]
    if max_train is not None and max_train < dataset.num_train:
        dataset = dataclasses.replace(dataset, train_images=dataset.train_images[:max_train],
                                      train_labels=dataset.train_labels[:max_train])
    return dataset


def _stage_count(config: TrainConfig) -> int:
    return 3 if config.family == "cifar" else 4


def _group_key(config: TrainConfig) -> tuple:
    return tuple(getattr(config, key) for key in GROUP_KEYS)


class JobManager:
    """The process-wide owner of training (threads, or one child process). Thread-safe; one per app process.

    Args:
        store: where runs are recorded (default: a RunStore in RESNET_EDU_RUNS_DIR).
        device: "cpu" or "cuda" (default: cuda when available).
        cpu_slots: groups training at once on the CPU (default 1: all cores for one group).
        isolation: "thread" (train in threads of this process) or "process" (in one child
            process: what the app uses, so that page scripts cannot slow training down).
    """

    def __init__(self, store: RunStore | None = None, device: str | None = None, cpu_slots: int = 1,
                 isolation: str = "thread") -> None:
        if isolation not in ("thread", "process"):
            raise ValueError(f"isolation must be 'thread' or 'process', not {isolation!r}")
        self.isolation = isolation
        self.store = store if store is not None else RunStore()
        self._device = torch.device(device) if device else default_device()
        self.device = self._device.type
        if self.device == "cuda":
            free, _total = torch.cuda.mem_get_info()
            per_run = 3 * 2**30  # a CIFAR-110 at batch 128 in bf16 needs well under this
            self._slots = threading.BoundedSemaphore(max(1, min(8, int(free * 0.8) // per_run)))
        else:
            # The cores this process may use (a container or taskset can allow fewer than the machine has).
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
            torch.set_num_threads(cores or 1)
            self._slots = threading.BoundedSemaphore(max(1, cpu_slots))
        self._lock = threading.RLock()
        self._runs: dict[str, _Run] = {}
        self._lanes: list[_Lane] = []
        self._closing = threading.Event()
        self._process: TrainingProcess | None = None  # isolation="process": started at the first group

    @property
    def device_label(self) -> str:
        precision = resolve_precision("auto", self._device)
        if self.device == "cuda":
            return f"{torch.cuda.get_device_name(self._device)} · {precision}"
        return f"CPU · {torch.get_num_threads()} threads · {precision}"

    # ------------------------------------------------------------ submitting
    def submit(self, configs: Sequence[TrainConfig], group_name: str | None = None) -> list[str]:
        """Queue one comparison group; returns its run ids. ValueError (nothing created) on bad input."""
        configs = list(configs)
        if not configs:
            raise ValueError("choose at least one network to train")
        if len(configs) > 12:
            raise ValueError(f"{len(configs)} networks at once is too many for one comparison: at most 12")
        for config in configs:
            config.validate()
        if len({_group_key(c) for c in configs}) > 1:
            raise ValueError("the nets of one comparison must share data set, epochs, batch size, seed and recipe")
        if self._closing.is_set():
            raise RuntimeError("the job manager is shutting down")
        group_id = "g" + os.urandom(4).hex()
        runs = []
        for config in configs:
            run_id = self.store.create_run(config.run_name, config.to_dict(), group_id=group_id,
                                           device=self.device, status="queued")
            runs.append(_Run(run_id, config))
        self.adopt(group_id, runs)
        return [run.run_id for run in runs]

    def adopt(self, group_id: str, runs: Sequence[_Run]) -> None:
        """Start training runs that already exist in the store (a new group, a resume, a child's share)."""
        with self._lock:
            for run in runs:
                run.group_id = group_id
                self._runs[run.run_id] = run
            if self.isolation == "process":
                self._train_in_process(group_id, runs)
                return
            if self.device == "cuda":
                lanes = [_Lane(group_id, [run]) for run in runs]
            else:
                lanes = [_Lane(group_id, list(runs))]
            for lane in lanes:
                self._start_lane(lane)

    def resume(self, run_id: str) -> str:
        """Continue a stopped or interrupted run from its last checkpoint, under the same id."""
        info = self.store.get_run(run_id)
        if self.is_active(run_id):
            raise ValueError(f"run {run_id} is still training")
        if info["status"] == "finished":
            raise ValueError(f"run {run_id} has finished: there is nothing to resume")
        if info["status"] in ("running", "queued"):
            # Its process may have died since this store was opened: a fresh look marks it interrupted.
            RunStore(self.store.root).close()
            info = self.store.get_run(run_id)
            if info["status"] in ("running", "queued"):  # still owned by a live process (e.g. the CLI)
                raise ValueError(f"run {run_id} is {info['status']} in another process: stop it there first")
        checkpoint = self.store.latest_checkpoint(run_id)
        if checkpoint is None:
            raise ValueError(f"run {run_id} has no checkpoint yet (one is saved at the end of every epoch)")
        config = TrainConfig.from_dict(info["config"])
        run = _Run(run_id, config, resume_from=str(checkpoint))
        self.store.set_status(run_id, "queued")
        self.adopt(info.get("group_id") or run_id, [run])
        return run_id

    def _start_lane(self, lane: _Lane) -> None:
        lane.thread = threading.Thread(target=self._lane_main, args=(lane,), daemon=True,
                                       name=f"resnet-lab-{lane.group_id}")
        self._lanes.append(lane)
        lane.thread.start()

    # ------------------------------------------------------------ control
    def stop(self, run_id: str, reason: str | None = None) -> None:
        """Ask a run to stop after its current iteration (checkpointed, resumable)."""
        with self._lock:
            run = self._runs.get(run_id)
        if run is not None:
            self._stop_run(run, reason)

    def stop_group(self, group_id: str) -> None:
        with self._lock:
            runs = [run for run in self._runs.values() if run.group_id == group_id]
        for run in runs:
            self._stop_run(run, None)

    def stop_all(self, reason: str | None = None) -> None:
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            self._stop_run(run, reason)

    def _stop_run(self, run: _Run, reason: str | None) -> None:
        if reason and not run.stop.is_set():
            run.stop_reason = reason
        run.stop.set()
        if run.process is not None and run.status not in ENDED:
            run.process.send({"op": "stop", "run_id": run.run_id, "reason": run.stop_reason})

    def set_shortcuts(self, run_id: str, enabled: bool, stages: Sequence[int] | None = None) -> None:
        """Switch shortcuts of a live run; applied between two steps and recorded as an event."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or run.status in ENDED:
                raise KeyError(f"run {run_id} is not training")
            if run.trainer is None:
                if stages is not None:
                    valid = set(range(1, _stage_count(run.config) + 1))
                    if not set(stages) <= valid:
                        raise ValueError(f"stage(s) {sorted(set(stages) - valid)} do not exist")
                stages = None if stages is None else sorted({int(s) for s in stages})
                if run.process is not None:  # shown switched at once; the child applies it between steps
                    state = self.shortcut_state(run_id)
                    for stage in stages or state:
                        state[stage] = bool(enabled)
                    run.shortcuts, run.toggle_seq = state, run.toggle_seq + 1
                    run.process.send({"op": "shortcuts", "run_id": run_id, "enabled": bool(enabled),
                                      "stages": stages, "seq": run.toggle_seq})
                    return
                run.pending_toggles.append((bool(enabled), stages))
                return
            trainer = run.trainer
        trainer.request_shortcuts(enabled, stages)

    def shortcut_state(self, run_id: str) -> dict[int, bool] | None:
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or run.status in ENDED:
                return None
            if run.trainer is not None:
                return run.trainer.shortcut_state()
            if run.shortcuts is not None:  # isolation="process": as reported or as last switched here
                return dict(run.shortcuts)
            state = {stage: run.config.shortcuts for stage in range(1, _stage_count(run.config) + 1)}
            for enabled, chosen in run.pending_toggles:
                for stage in chosen or state:
                    state[stage] = enabled
            return state

    def model(self, run_id: str) -> nn.Module | None:
        """The live model of a run trained in this process (None with isolation="process")."""
        with self._lock:
            run = self._runs.get(run_id)
            return run.trainer.model if run is not None and run.trainer is not None else None

    # ------------------------------------------------------------ reading
    @property
    def training_process_pid(self) -> int | None:
        """isolation="process": the pid of the training process, while there is one."""
        with self._lock:
            return self._process.pid if self._process is not None and self._process.alive else None

    def known_runs(self) -> list[str]:
        """Every run this manager has trained or queued since it started."""
        with self._lock:
            return list(self._runs)

    def active_runs(self) -> list[str]:
        with self._lock:
            return [run_id for run_id, run in self._runs.items() if run.status not in ENDED]

    def is_active(self, run_id: str) -> bool:
        with self._lock:
            run = self._runs.get(run_id)
            return run is not None and run.status not in ENDED

    def progress(self, run_id: str) -> dict:
        """Step, total, fraction, ETA and speed of a run of this process (or from the store)."""
        with self._lock:
            run = self._runs.get(run_id)
            lane = next((lane for lane in self._lanes if run in lane.runs), None) if run else None
        if run is None:
            info = self.store.get_run(run_id)
            total = info.get("total_steps") or 0
            step = info.get("steps_done") or 0
            return {"run_id": run_id, "name": info["name"], "status": info["status"], "step": step,
                    "total_steps": total, "fraction": step / total if total else 0.0, "epoch": None,
                    "images_per_second": None, "eta_seconds": None, "message": info.get("message") or ""}
        if run.reported:  # isolation="process": what the child said last (a few times a second)
            keys = ("step", "total_steps", "fraction", "epoch", "images_per_second", "eta_seconds")
            numbers = {key: run.reported.get(key) for key in keys}
            return {"run_id": run_id, "name": run.config.run_name, "status": run.status, **numbers,
                    "message": run.message}
        trainer = run.trainer
        step = trainer.step if trainer else 0
        total = trainer.last_step if trainer else (run.total_steps or 0)
        eta = None
        if lane is not None and lane.seconds_per_round and trainer is not None and run.status == "running":
            eta = (total - step) * lane.seconds_per_round
        return {"run_id": run_id, "name": run.config.run_name, "status": run.status, "step": step,
                "total_steps": total, "fraction": step / total if total else 0.0,
                "epoch": trainer.epoch if trainer else 0.0, "images_per_second": run.images_per_second,
                "eta_seconds": eta, "message": run.message}

    def wait(self, run_ids: Sequence[str], timeout: float) -> bool:
        """Block until the runs ended (True) or the timeout passed (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(self.is_active(run_id) for run_id in run_ids):
                return True
            time.sleep(0.05)
        return not any(self.is_active(run_id) for run_id in run_ids)

    def shutdown(self, timeout: float = 10) -> None:
        """Stop every run (status 'stopped'), join the threads (and child processes), flush the store."""
        self._closing.set()
        self.stop_all(reason="the app was shut down: resume the run from the Lab")
        with self._lock:
            threads = [lane.thread for lane in self._lanes if lane.thread is not None]
            process = self._process
        deadline = time.monotonic() + timeout
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        if process is not None:  # its runs stop (checkpointed) first; one that hangs is killed
            self.wait(list(self._runs), max(0.0, deadline - time.monotonic()))
            process.close(timeout=max(1.0, deadline - time.monotonic()))
        self.store.flush()

    # ------------------------------------------------------------ the worker
    def _dataset(self, config: TrainConfig, run: _Run) -> data_module.ImageDataset:
        def progress(fraction: float, message: str) -> None:
            run.message = f"{message} ({fraction:.0%})"

        return cached_dataset(config.dataset, config.data_root, config.image_size, progress, config.max_train_images)

    def _set_status(self, run: _Run, status: str, message: str | None = None, step: int | None = None) -> None:
        # The store first: whoever sees the run end here (wait(), a report to the app) must find
        # the same status in the store.
        with contextlib.suppress(Exception):  # the store may be gone at interpreter exit
            if status in ENDED:
                step = step if step is not None else (run.trainer.step if run.trainer else 0)
                self.store.log_event(run.run_id, step, status, {"message": message} if message else None)
            self.store.set_status(run.run_id, status, message)
        if message is not None:
            run.message = message
        run.status = status

    def _lane_main(self, lane: _Lane) -> None:
        """Thread body: wait for a slot, prepare the data, then train the lane's runs in lockstep."""
        try:
            with self._slots:
                if self._closing.is_set():
                    for run in lane.runs:
                        self._set_status(run, "stopped", "the app was shut down before this run started")
                    return
                self._train_lane(lane)
        except Exception as error:  # never let a worker take the app down
            message = f"{type(error).__name__}: {error}"
            for run in lane.runs:
                if run.status not in ENDED:
                    self._set_status(run, "failed", message[:500])
            traceback.print_exc()

    def _train_lane(self, lane: _Lane) -> None:
        first = lane.runs[0].config
        for run in lane.runs:
            run.message = "preparing data"
        try:
            dataset = self._dataset(first, lane.runs[0])
        except (data_module.DataUnavailable, ValueError, OSError) as error:
            for run in lane.runs:
                self._set_status(run, "failed", str(error))
            return
        if first.batch_size > dataset.num_train:
            for run in lane.runs:
                self._set_status(run, "failed", f"batch size {first.batch_size} is larger than the "
                                                f"{dataset.num_train} training images")
            return
        device = self._device
        cuda_stream = torch.cuda.Stream(device) if device.type == "cuda" else None
        with torch.cuda.stream(cuda_stream) if cuda_stream is not None else contextlib.nullcontext():
            augment = "imagenet" if first.dataset == "imagefolder" and first.family == "imagenet" else "cifar"
            stream = data_module.BatchStream(dataset, first.batch_size, seed=first.seed, device=device,
                                             augment=augment, channels_last=True)
            spe = stream.steps_per_epoch
            dataset_info = {"classes": list(dataset.classes), "mean": list(dataset.mean), "std": list(dataset.std),
                            "dataset_name": dataset.name}
            for run in lane.runs:
                if run.stop.is_set():
                    self._set_status(run, "stopped", "stopped before it started", step=0)
                    continue
                trainer = Trainer(run.config, num_classes=dataset.num_classes, steps_per_epoch=spe,
                                  device=device, store=self.store, run_id=run.run_id)
                if run.resume_from:
                    trainer.restore(load_checkpoint(run.resume_from, map_location=device))
                    # Iterations logged after the checkpoint (before a crash or a stop) are redone:
                    # drop them so the curve never mixes the old attempt with the new one.
                    self.store.discard_after(run.run_id, trainer.step)
                    self.store.log_event(run.run_id, trainer.step, "resumed", {"checkpoint": run.resume_from})
                for enabled, stages in run.pending_toggles:
                    trainer.request_shortcuts(enabled, stages)
                with self._lock:
                    run.trainer = trainer
                    run.total_steps = trainer.last_step
                self.store.set_progress(run.run_id, trainer.step, trainer.last_step)
                self._set_status(run, "running", "")
                if not run.resume_from:
                    self.store.log_event(run.run_id, 0, "started",
                                         {"device": self.device_label, "precision": trainer.precision,
                                          "parameters": models.count_parameters(trainer.model)})
            live = [run for run in lane.runs if run.status == "running"]
            if not live:
                return
            stream.seek(min(run.trainer.step for run in live))
            while live:
                round_started = time.perf_counter()
                images, labels = stream.next()
                for run in live:
                    trainer = run.trainer
                    if trainer.step >= stream.step:  # a resumed run ahead of the stream waits
                        continue
                    if run.stop.is_set():
                        self._finish(run, "stopped", run.stop_reason, dataset, dataset_info)
                        continue
                    try:
                        trainer.train_step(images, labels)
                        run.images_per_second = self._smooth(run.images_per_second,
                                                             first.batch_size / max(1e-9, trainer.train_seconds /
                                                                                    max(1, trainer.step)))
                    except Diverged as error:
                        self._set_status(run, "diverged", str(error), step=trainer.step)
                        continue
                    except Exception as error:
                        self._set_status(run, "failed", f"{type(error).__name__}: {error}"[:500], step=trainer.step)
                        continue
                    if trainer.at_epoch_end():
                        trainer.evaluate(data_module.test_batches(dataset, 500, device=device, channels_last=True))
                        self._checkpoint(run, dataset_info)
                    if trainer.done:
                        self._set_status(run, "finished", "")
                live = [run for run in live if run.status == "running"]
                elapsed = time.perf_counter() - round_started
                lane.seconds_per_round = self._smooth(lane.seconds_per_round, elapsed)
            self.store.flush()

    # ------------------------------------------------------------ isolation="process"
    def _train_in_process(self, group_id: str, runs: Sequence[_Run]) -> None:
        """Hand a group to the training process (started now if there is none); call with the lock held."""
        starting = self._process is None or not self._process.alive
        if starting:
            self._process = TrainingProcess(self.store.root, str(self._device),
                                            on_report=self._mirror, on_exit=self._process_ended)
        for run in runs:
            run.process = self._process
            if starting:
                run.message = "starting the training process"
        self._process.send({"op": "train", "group_id": group_id, "runs": [
            {"run_id": run.run_id, "config": run.config.to_dict(), "resume_from": run.resume_from,
             "toggles": run.pending_toggles} for run in runs]})

    def _process_ended(self, process: TrainingProcess, exit_code: int | None) -> None:
        """The training process is gone: its unfinished runs end as the store says, or as failed."""
        with self._lock:
            if self._process is process:
                self._process = None
            orphans = [run for run in self._runs.values() if run.process is process and run.status not in ENDED]
        for run in orphans:
            stored = self.store.get_run(run.run_id)  # its last report may have been lost with it
            if stored["status"] in ENDED:
                run.status, run.message = stored["status"], stored.get("message") or ""
            else:
                self._set_status(run, "failed", f"the training process ended unexpectedly (exit code {exit_code})")

    def _mirror(self, reports: dict) -> None:
        """Take in one progress report of the training process (run id → progress)."""
        with self._lock:
            for run_id, report in reports.items():
                run = self._runs.get(run_id)
                if run is None:
                    continue
                run.reported = report
                run.status, run.message = report["status"], report.get("message") or ""
                if report.get("shortcuts") and report.get("toggle_seq", 0) >= run.toggle_seq:
                    run.shortcuts = {int(stage): bool(on) for stage, on in report["shortcuts"].items()}

    @staticmethod
    def _smooth(previous: float | None, value: float, weight: float = 0.2) -> float:
        return value if previous is None else (1 - weight) * previous + weight * value

    def _checkpoint(self, run: _Run, dataset_info: dict) -> None:
        trainer = run.trainer
        path = self.store.checkpoint_dir(run.run_id) / "last.pt"
        # Every iteration up to the checkpoint is committed before the checkpoint exists, so a
        # crash can never leave a checkpoint ahead of the curve (resuming would leave a gap).
        self.store.flush()
        trainer.checkpoint(path, dataset_info)
        self.store.record_checkpoint(run.run_id, trainer.step, path)

    def _finish(self, run: _Run, status: str, message: str, dataset, dataset_info: dict) -> None:
        trainer = run.trainer
        if trainer is not None and trainer.step > 0:
            self._checkpoint(run, dataset_info)  # so a stopped run can be resumed and explored
        self._set_status(run, status, message)


def group_configs(base: TrainConfig, depths: Sequence[int], kinds: Sequence[str] = ("plain", "residual"),
                  family: str | None = None) -> list[TrainConfig]:
    """Configs for depths × kinds ("plain"/"residual") sharing everything else in `base`."""
    family = family or base.family
    return [dataclasses.replace(base, family=family, depth=int(depth), shortcuts=(kind == "residual"), name=None)
            for kind, depth in itertools.product(kinds, depths)]
