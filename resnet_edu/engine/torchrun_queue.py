"""The app's side of torchrun jobs: the command line, and the training process's queue of them.

On a machine with several GPUs the Lab can train a comparison "on N GPUs". The training process
then trains each net of the comparison as one ``torchrun`` job over all N cards (the same
``python -m resnet_edu train`` the README shows), one net after another: each net has every card
to itself, and since batch k is a function of (seed, k) the nets still see the same batches in
the same order, as in a lockstep lane. Stop is SIGTERM to the job's launcher (torchrun forwards
it; rank 0 checkpoints and records ``stopped``), a shortcut switch a request in the run's inbox
(:class:`~resnet_edu.runs.requests.ShortcutInbox`); everything else the job writes to the RunStore.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from resnet_edu.runs import ACTIVE_STATUSES, RunStore
from resnet_edu.runs.requests import ShortcutInbox


def cuda_card_count() -> int:
    """CUDA cards on this machine, asked without creating a CUDA context (safe in the Streamlit server)."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def torchrun_command(run_id: str, gpus: int, *, resume: bool = False, device: str = "cuda",
                     python: str | None = None) -> list[str]:
    """The command that trains run ``run_id`` (already in the store) on ``gpus`` GPUs of this machine.

    Args:
        run_id: a queued run (``train --run-id``) or, with ``resume``, one to continue from its checkpoint.
        gpus: processes, one per GPU (``--nproc_per_node``); at least 2.
        device: "cuda"; "cpu" runs the same job on CPU processes (how the tests check it without GPUs).
        python: the interpreter (default: this one), so the job sees the same packages.
    """
    if gpus < 2:
        raise ValueError(f"a torchrun job needs at least 2 GPUs, not {gpus}: one GPU trains in the training process")
    job = ["runs", "resume", run_id] if resume else ["train", "--run-id", run_id]
    return [python or sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(gpus),
            "-m", "resnet_edu", *job, "--device", device, "--json"]


@dataclass
class _Job:
    run_id: str
    resume: bool
    process: subprocess.Popen | None = None
    stop_reason: str | None = None  # set when the teacher stopped it


@dataclass
class _Group:
    gpus: int
    jobs: list[_Job]
    thread: threading.Thread | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class TorchrunQueue:
    """The training process's torchrun jobs: each comparison's nets one after another, each on every GPU.

    Args:
        store: the RunStore the jobs write to (their rank 0 opens the same folder).
        device: "cuda" (the app); "cpu" in the tests.
    """

    def __init__(self, store: RunStore, device: str = "cuda") -> None:
        self.store = store
        self.device = device
        self._lock = threading.Lock()
        self._jobs: dict[str, tuple[_Group, _Job]] = {}
        self._groups: list[_Group] = []

    def adopt(self, runs: Sequence[tuple[str, bool]], gpus: int) -> None:
        """Train the queued runs ``(run_id, resume)`` of one comparison on ``gpus`` GPUs, in order."""
        group = _Group(gpus, [_Job(run_id, resume) for run_id, resume in runs])
        for job in group.jobs[1:]:
            self.store.set_status(job.run_id, "queued", f"waiting: the nets of this comparison train one after "
                                                        f"another, each on {gpus} GPUs")
        with self._lock:
            for job in group.jobs:
                self._jobs[job.run_id] = (group, job)
            self._groups.append(group)
        group.thread = threading.Thread(target=self._run_group, args=(group,), daemon=True, name="resnet-lab-torchrun")
        group.thread.start()

    def known_runs(self) -> list[str]:
        with self._lock:
            return list(self._jobs)

    def _run_group(self, group: _Group) -> None:
        env = dict(os.environ, RESNET_EDU_RUNS_DIR=str(self.store.root))
        for job in group.jobs:
            with group.lock:
                if job.stop_reason is not None:
                    self.store.set_status(job.run_id, "stopped", "stopped before it started")
                    continue
                self.store.set_status(job.run_id, "queued", f"starting torchrun on {group.gpus} GPUs")
                job.process = subprocess.Popen(torchrun_command(job.run_id, group.gpus, resume=job.resume,
                                                                device=self.device), env=env,
                                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            _, errors = job.process.communicate()
            self._after(job, job.process.returncode, errors or "")

    def _after(self, job: _Job, code: int, errors: str) -> None:
        """A job ended: its rank 0 has written how; if it could not (it died first), say so here."""
        status = self.store.statuses([job.run_id]).get(job.run_id)
        if status in ACTIVE_STATUSES:
            last = next((line for line in reversed(errors.strip().splitlines()) if line.strip()), "")
            self.store.set_status(job.run_id, "failed", f"torchrun ended with exit code {code} before the run "
                                                        f"did: {last[-300:]}")
        elif status == "stopped" and job.stop_reason:
            self.store.set_status(job.run_id, "stopped", job.stop_reason)

    def stop(self, run_id: str, reason: str | None = None) -> None:
        """SIGTERM to the job's torchrun: every rank stops after the same iteration, checkpointed."""
        with self._lock:
            entry = self._jobs.get(run_id)
        if entry is None:
            return
        group, job = entry
        with group.lock:
            job.stop_reason = reason or "stopped by the teacher"
            if job.process is not None and job.process.poll() is None:
                with contextlib.suppress(OSError):
                    job.process.send_signal(signal.SIGTERM)

    def stop_all(self, reason: str | None = None) -> None:
        for run_id in self.known_runs():
            self.stop(run_id, reason)

    def set_shortcuts(self, run_id: str, enabled: bool, stages: Sequence[int] | None = None) -> None:
        ShortcutInbox(self.store.root, run_id).put(enabled, stages)

    def shutdown(self, timeout: float = 30) -> None:
        self.stop_all("the app was shut down: resume the run from the Lab")
        with self._lock:
            threads = [group.thread for group in self._groups if group.thread is not None]
        for thread in threads:
            thread.join(timeout)
