"""The app's side of training: one child process trains, the app only asks and reads the store.

Why a separate process: Python runs one thread's bytecode at a time (the GIL). In the app,
every open tab re-runs page scripts in the server process; a training *thread* there waits for
the GIL between its torch operations, so 30 students watching the curves slowed the training
they were watching to a fifth. In its own process (``python -m resnet_edu.engine.worker``) the
training loop has its own interpreter and its own GIL, and the pages cannot stall it. The
server also never starts CUDA: only the training process holds a GPU context.

:class:`TrainingProcessManager` has the same interface as the local
:class:`~resnet_edu.engine.lanes.LaneRunner` (submit, stop, switch shortcuts, progress, analysis
jobs). It creates runs and jobs in the RunStore, tells the child what to do in JSON lines on
its stdin, and reads everything else — status, progress, speed, ETA, switches carried out,
results — back from the store, the single source every tab shares. The protocol:

* ``{"store": DIR}`` first, then ``{"op": "train", "group_id", "device", "gpus", "runs": [{"run_id",
  "config", "resume_from", "toggles"}]}`` (the runs already exist in the store; ``gpus`` > 1: each
  net is a torchrun job over that many GPUs, see :mod:`resnet_edu.engine.torchrun_queue`),
  ``{"op": "stop", "run_id", "reason"}``, ``{"op": "stop_all", "reason"}``, ``{"op":
  "shortcuts", "run_id", "enabled", "stages"}``, ``{"op": "analyse", "job_id", "device"}``,
  ``{"op": "stop_analysis", "job_id"}``, ``{"op": "prepare", "device", "dataset", "data_root",
  "image_size"}`` (load a data set before it is asked for).
* End of input (the app closed or died) stops every run with a checkpoint; then the child exits.
* If the child dies (killed, out of memory), its unfinished runs end ``failed`` with its exit
  code, committed iterations stay, and the next Start begins a new child.

How the child uses the CPU (:func:`training_environment`): it trains with every core but one
(:func:`training_threads`; ``RESNET_EDU_CPU_THREADS`` sets another number), because the core
left over draws the pages, serves the class's tabs and runs the teacher's browser. Its OpenMP
threads wait between parallel regions as libgomp does by default, a short spin and then sleep
(``RESNET_EDU_OMP_WAIT_POLICY`` = ``PASSIVE``, ``ACTIVE`` or ``default``; an ``OMP_WAIT_POLICY``
set by whoever starts the app wins). Both were chosen by timing the class's path with
``benchmarks/classroom_time.py`` (docs/RECIPE.md, "The class's path").
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from resnet_edu import devices
from resnet_edu.engine import admission, tasks
from resnet_edu.engine.groups import GroupManager, checked_stages, progress_from_store, resumable, shortcuts_after
from resnet_edu.engine.torchrun_queue import cuda_card_count
from resnet_edu.runs import ACTIVE_STATUSES, ENDED_STATUSES, RunStore
from resnet_edu.train import TrainConfig, resolve

# Measured on a 2-core Xeon (bf16), "Fig. 1 + the fix" in the app with a browser tab, iterations/s:
# 2 threads PASSIVE 2.2, default 3.0-4.1, ACTIVE 3.5-3.6; 1 thread 3.0. With 29 more tabs: PASSIVE 1.6,
# default 3.0, ACTIVE 3.1. With a foreign busy loop on the machine, 2 threads crawl whatever they do
# (PASSIVE 0.13, default 0.07, ACTIVE 0.2: one thread of the team always waits for its preempted
# partner) while 1 thread keeps 2.7. At batch 32 a second thread adds little; a core left free
# keeps the class's path fast whatever else the laptop does.
CORES_FOR_THE_APP = 1  # cores the training process leaves to the server and the browser
WAIT_POLICY = "default"  # for the training process's OpenMP threads (an OMP_WAIT_POLICY you set wins)
WAIT_POLICY_ENV = "RESNET_EDU_OMP_WAIT_POLICY"  # PASSIVE, ACTIVE or default (leave OMP_WAIT_POLICY unset)
WAIT_POLICIES = ("PASSIVE", "ACTIVE", "default")
PARENT_GONE = "the app was closed: resume the run from the Lab"


def wait_policy(environ: Mapping[str, str] | None = None) -> str:
    """The wait policy the training process gets: PASSIVE, ACTIVE or "default" (see the module doc)."""
    environ = os.environ if environ is None else environ
    if environ.get("OMP_WAIT_POLICY", "").strip():
        return environ["OMP_WAIT_POLICY"].strip().upper()
    text = environ.get(WAIT_POLICY_ENV, "").strip()
    if not text:
        return WAIT_POLICY
    chosen = next((policy for policy in WAIT_POLICIES if policy.lower() == text.lower()), None)
    if chosen is None:
        logging.getLogger(__name__).warning("%s=%r is not one of %s: using %s", WAIT_POLICY_ENV, text,
                                            ", ".join(WAIT_POLICIES), WAIT_POLICY)
        return WAIT_POLICY
    return chosen


def training_threads(environ: Mapping[str, str] | None = None) -> int:
    """CPU threads the training process trains with: RESNET_EDU_CPU_THREADS where it is set (at
    most the cores this process may use), else every core but ``CORES_FOR_THE_APP`` (at least one)."""
    environ = os.environ if environ is None else environ
    cores = devices.cpu_threads()
    chosen = environ.get(devices.CPU_THREADS_ENV, "").strip()
    if chosen.isdigit() and int(chosen) > 0:
        return min(cores, int(chosen))
    return max(1, cores - CORES_FOR_THE_APP)


def training_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of the training process: this one's, with its thread
    count (:func:`training_threads`) and the OpenMP wait policy of :func:`wait_policy` ("default"
    leaves OMP_WAIT_POLICY unset)."""
    env = dict(os.environ if environ is None else environ)
    env[devices.CPU_THREADS_ENV] = str(training_threads(env))
    policy = wait_policy(env)
    if policy == "default":
        env.pop("OMP_WAIT_POLICY", None)
    else:
        env["OMP_WAIT_POLICY"] = policy
    return env


class TrainingProcess:
    """The child process: start it, send it commands, learn when it ends (on a watcher thread).

    Args:
        store_root: the RunStore folder both processes use.
        on_exit: called with (this object, exit code) once the child has ended.
    """

    def __init__(self, store_root: str | os.PathLike, on_exit: Callable[[TrainingProcess, int | None], None]) -> None:
        env = training_environment()
        self._send_lock = threading.Lock()
        self._child = subprocess.Popen([sys.executable, "-m", "resnet_edu.engine.worker"], stdin=subprocess.PIPE,
                                       text=True, encoding="utf-8", bufsize=1, env=env)
        self.pid = self._child.pid
        self._on_exit = on_exit
        self.send({"store": str(store_root)})
        self._watcher = threading.Thread(target=self._watch, daemon=True, name="resnet-lab-training-process")
        self._watcher.start()

    @property
    def alive(self) -> bool:
        return self._child.poll() is None

    def send(self, message: dict) -> bool:
        """One JSON line to the child; False when it no longer listens."""
        with self._send_lock:
            try:
                self._child.stdin.write(json.dumps(message) + "\n")
                self._child.stdin.flush()
                return True
            except (OSError, ValueError):  # it has ended (its runs are then handled by on_exit)
                return False

    def _watch(self) -> None:
        self._on_exit(self, self._child.wait())

    def close(self, timeout: float = 10) -> None:
        """End the child: close its input (it stops its runs and exits), kill it if it hangs."""
        with self._send_lock, contextlib.suppress(OSError, ValueError):
            self._child.stdin.close()
        try:
            self._child.wait(timeout)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()
        self._watcher.join(5)


@dataclass
class _RemoteRun:
    """What the app remembers of a run it handed to the training process."""

    config: TrainConfig
    process: TrainingProcess
    toggles_before: int = 0  # shortcut switches the store had recorded when this app took the run
    requested: list = field(default_factory=list)  # (enabled, stages) switches sent, in order


class TrainingProcessManager(GroupManager):
    """The app's job manager: training and analysis happen in the training process. Thread-safe.

    Args:
        store: where runs are recorded (default: a RunStore in RESNET_EDU_RUNS_DIR).
        device: the default device of new comparisons ("auto", "cpu", "cuda", "mps").
    """

    isolation = "process"

    def __init__(self, store: RunStore | None = None, device: str | None = None) -> None:
        super().__init__(store)
        self._device = devices.resolve_device(device)  # asks the driver; starts no CUDA context
        self.device = self._device.type
        self._lock = threading.RLock()
        self._process: TrainingProcess | None = None
        self._runs: dict[str, _RemoteRun] = {}
        self._jobs: dict[str, TrainingProcess] = {}
        self._prepared: set[tuple] = set()  # (process, data set, root, size) already asked to prepare

    @property
    def device_label(self) -> str:
        return devices.device_label(self._device, threads=training_threads())

    @property
    def training_process_pid(self) -> int | None:
        """The pid of the training process, while there is one."""
        with self._lock:
            return self._process.pid if self._process is not None and self._process.alive else None

    def _child(self) -> TrainingProcess:
        """The training process, started now if there is none; call with the lock held."""
        if self._process is None or not self._process.alive:
            self._process = TrainingProcess(self.store.root, on_exit=self._process_ended)
        return self._process

    def prepare(self, dataset: str = "synthetic", data_root: str | None = None, image_size: int = 32) -> None:
        """Start the training process now and let it load ``dataset`` in the background.

        The app calls this when it starts: importing torch in the new process and generating
        (or decoding) the images then happen while the teacher reads the first page, and the
        first click trains at once.
        """
        request = {"op": "prepare", "device": str(self._device), "dataset": dataset, "data_root": data_root,
                   "image_size": int(image_size)}
        with self._lock:
            child = self._child()
            if (child, dataset, data_root, image_size) not in self._prepared:  # once per training process
                self._prepared.add((child, dataset, data_root, image_size))
                child.send(request)

    # ------------------------------------------------------------ training
    def submit(self, configs: Sequence[TrainConfig], device: str | None = None, gpus: int = 1) -> list[str]:
        """Queue one comparison group in the training process; returns its run ids.

        ``gpus`` > 1 trains each net with torchrun over that many CUDA cards, one net after another
        (``--batch-size`` is then the global batch, split over the cards).
        ValueError (nothing created) on bad input or a device this machine lacks.
        """
        chosen = devices.resolve_device(device) if device else self._device
        if gpus > 1:
            if chosen.type != "cuda" or gpus > cuda_card_count():
                raise ValueError(f"training on {gpus} GPUs needs {gpus} CUDA cards: this machine has "
                                 f"{cuda_card_count()}")
            configs = [dataclasses.replace(config, world_size=gpus) for config in configs]
        configs = [resolve(config, chosen) for config in configs]  # the stored config holds numbers
        group_id, run_ids = self._create_group(configs, chosen.type)
        for run_id in run_ids:
            self.store.set_status(run_id, "queued", "starting the training process")
        self._hand_over(group_id, str(chosen), [(run_id, config, None) for run_id, config in zip(run_ids, configs)],
                        gpus=gpus)
        return run_ids

    def resume(self, run_id: str) -> str:
        """Continue a stopped or interrupted run from its last checkpoint, under the same id."""
        info, checkpoint = resumable(self.store, run_id, training_here=self.is_active(run_id))
        self.store.set_status(run_id, "queued", "starting the training process")
        device = info.get("device") if info.get("device") in devices.available_devices() else self.device
        config = TrainConfig.from_dict(info["config"])
        # A run trained on N GPUs continues on N GPUs where this machine has them (else in one process).
        gpus = config.world_size if device == "cuda" and 1 < config.world_size <= cuda_card_count() else 1
        self._hand_over(info.get("group_id") or run_id, device, [(run_id, config, str(checkpoint))], gpus=gpus)
        return run_id

    def _hand_over(self, group_id: str, device: str, runs: list[tuple[str, TrainConfig, str | None]],
                   gpus: int = 1) -> None:
        with self._lock:
            child = self._child()
            for run_id, config, _ in runs:
                self._runs[run_id] = _RemoteRun(config, child, toggles_before=self._toggles_recorded(run_id))
            child.send({"op": "train", "group_id": group_id, "device": device, "gpus": gpus, "runs": [
                {"run_id": run_id, "config": config.to_dict(), "resume_from": checkpoint, "toggles": []}
                for run_id, config, checkpoint in runs]})

    def stop(self, run_id: str, reason: str | None = None) -> None:
        """Ask a run to stop after its current iteration (checkpointed, resumable)."""
        with self._lock:
            run = self._runs.get(run_id)
        if run is not None and self.is_active(run_id):
            run.process.send({"op": "stop", "run_id": run_id, "reason": reason})

    def stop_all(self, reason: str | None = None) -> None:
        with self._lock:
            process = self._process
        if process is not None:
            process.send({"op": "stop_all", "reason": reason})

    def set_shortcuts(self, run_id: str, enabled: bool, stages: Sequence[int] | None = None) -> None:
        """Switch shortcuts of a live run; the training process applies it between two steps."""
        with self._lock:
            run = self._runs.get(run_id)
        if run is None or not self.is_active(run_id):
            raise KeyError(f"run {run_id} is not training")
        stages = checked_stages(run.config, stages)
        with self._lock:
            run.requested.append((bool(enabled), stages))
        run.process.send({"op": "shortcuts", "run_id": run_id, "enabled": bool(enabled), "stages": stages})

    def _toggles_recorded(self, run_id: str) -> int:
        events = self.store.events(run_id)
        return int((events["kind"] == "shortcuts_toggled").sum()) if len(events) else 0

    def shortcut_state(self, run_id: str) -> dict[int, bool] | None:
        """The switches as recorded in the store, then those sent and not yet carried out (shown at once)."""
        with self._lock:
            run = self._runs.get(run_id)
        if run is None or not self.is_active(run_id):
            return None
        events = self.store.events(run_id)
        switches = [(d["enabled"], d.get("stages")) for kind, d in zip(events["kind"], events["detail"])
                    if kind == "shortcuts_toggled"] if len(events) else []
        with self._lock:
            carried_out = max(0, len(switches) - run.toggles_before)
            switches += run.requested[carried_out:]
        return shortcuts_after(run.config, switches)

    def model(self, run_id: str) -> None:
        """The live model is in the training process: there is none here."""
        return None

    # ------------------------------------------------------------ analysis jobs
    def submit_analysis(self, kind: str, params: dict, run_ids: Sequence[str] = ()) -> str:
        """Queue a job of ``kind`` in the training process (see resnet_edu.engine.tasks); returns its id."""
        tasks.check_kind(kind)
        admission.check_analysis_queue(self.store)  # the caps on waiting jobs: NotAdmitted, nothing created
        job_id = self.store.create_analysis(kind, params, run_ids)
        with self._lock:
            child = self._child()
            self._jobs[job_id] = child
            child.send({"op": "analyse", "job_id": job_id, "device": str(self._device)})
        return job_id

    def stop_analysis(self, job_id: str) -> None:
        with self._lock:
            child = self._jobs.get(job_id)
        if child is not None:
            child.send({"op": "stop_analysis", "job_id": job_id})

    # ------------------------------------------------------------ reading (the store)
    def known_runs(self) -> list[str]:
        with self._lock:
            return list(self._runs)

    def active_runs(self) -> list[str]:
        with self._lock:
            run_ids = list(self._runs)
        statuses = self.store.statuses(run_ids)
        return [run_id for run_id in run_ids if statuses.get(run_id, "failed") not in ENDED_STATUSES]

    def is_active(self, run_id: str) -> bool:
        with self._lock:
            if run_id not in self._runs:
                return False
        return self.store.statuses([run_id]).get(run_id, "failed") not in ENDED_STATUSES

    def progress(self, run_id: str) -> dict:
        """Step, total, fraction, ETA and speed of a run, as the training process recorded them."""
        return progress_from_store(self.store, run_id)

    # ------------------------------------------------------------ the end
    def _process_ended(self, process: TrainingProcess, exit_code: int | None) -> None:
        """The training process is gone: its unfinished runs and jobs end as failed (what was stored stays)."""
        with self._lock:
            if self._process is process:
                self._process = None
            run_ids = [run_id for run_id, run in self._runs.items() if run.process is process]
            job_ids = [job_id for job_id, child in self._jobs.items() if child is process]
        reason = f"the training process ended unexpectedly (exit code {exit_code})"
        if exit_code == -9:  # SIGKILL: by a person, or by the kernel when memory ran out
            reason += ": it was killed, often because the computer ran out of memory; start the runs again"
        for run_id, status in self.store.statuses(run_ids).items():
            if status not in ENDED_STATUSES:
                with contextlib.suppress(Exception):
                    self.store.log_event(run_id, self.store.get_run(run_id)["steps_done"], "failed",
                                         {"message": reason})
                    self.store.set_status(run_id, "failed", reason)
        for job_id in job_ids:
            job = self.store.get_analysis(job_id)
            if job is not None and job["status"] in ACTIVE_STATUSES:
                self.store.update_analysis(job_id, status="failed", message=reason)

    def shutdown(self, timeout: float = 10) -> None:
        """Stop every run (checkpointed, status 'stopped'), then end the training process."""
        self._closing = True
        with self._lock:
            process = self._process
        if process is None:
            return
        deadline = time.monotonic() + timeout
        self.stop_all(reason="the app was shut down: resume the run from the Lab")
        self.wait(self.known_runs(), max(0.0, deadline - time.monotonic()))
        process.close(timeout=max(1.0, deadline - time.monotonic()))
