"""The engine: who trains what, and where. The path of a click, from a page to a curve:

1. A page asks the **job manager** to start a comparison (``manager.submit(configs)``). In the
   app that is a :class:`~resnet_edu.engine.process.TrainingProcessManager`: it checks the group
   (:mod:`~resnet_edu.engine.groups`), creates the runs' rows in the RunStore as ``queued`` and
   sends one JSON line to the **training process**.
2. The training process (``python -m resnet_edu.engine.worker``, started by the app, never by
   hand) reads that line and hands the group to a :class:`~resnet_edu.engine.lanes.LaneRunner`.
   Heavy analyses (lesion, landscape, downloads) go the same way as **tasks**
   (:mod:`~resnet_edu.engine.tasks`); a net that asks for several GPUs goes to the **torchrun
   queue** (:mod:`~resnet_edu.engine.torchrun_queue`).
3. A **lane** (one thread) trains the group's nets in lockstep: every net takes iteration k on
   the same batch k before any takes k+1 (:mod:`~resnet_edu.engine.lockstep`, the one training
   loop, also under torchrun; :mod:`resnet_edu.train` trains one net one step).
4. Every number a step produces goes into the **RunStore** (:mod:`resnet_edu.runs`), never into
   a page's memory.
5. Pages read the store and draw. A refresh, a second tab or a restarted app see the same runs.

Two managers with one interface (:class:`Manager`):

* :class:`~resnet_edu.engine.lanes.LaneRunner` trains in threads of this process: the CLI, the
  tests, the benchmarks and the training process itself use it;
* :class:`~resnet_edu.engine.process.TrainingProcessManager` is the app's: it hands the work to
  the training process and reads everything back from the RunStore, so that page scripts in the
  server cannot slow training down.

``JobManager(store)`` gives the first, ``JobManager(isolation="process")`` the second.
Nothing here touches Streamlit.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

from resnet_edu.engine.groups import GROUP_KEYS, group_configs
from resnet_edu.engine.lanes import LaneRun, LaneRunner
from resnet_edu.engine.process import TrainingProcessManager
from resnet_edu.runs import RunStore
from resnet_edu.train import TrainConfig

ISOLATIONS = ("thread", "process")


class Manager(Protocol):
    """What a page, the CLI or a benchmark may ask of a job manager."""

    store: RunStore

    @property
    def device_label(self) -> str:
        """The device and precision runs train on, in words ("CPU · bf16")."""

    def submit(self, configs: Sequence[TrainConfig], device: str | None = None, gpus: int = 1) -> list[str]:
        """Start a comparison group (its nets train in lockstep); returns the new run ids."""

    def prepare(self, dataset: str = "synthetic", data_root: str | None = None,
                image_size: int = 32) -> threading.Thread | None:
        """Get a data set ready before the first click."""

    def resume(self, run_id: str) -> str:
        """Go on training a stopped or interrupted run from its last checkpoint."""

    def stop(self, run_id: str, reason: str | None = None) -> None:
        """Stop one run (checkpointed, resumable)."""

    def stop_all(self, reason: str | None = None) -> None:
        """Stop every active run."""

    def set_shortcuts(self, run_id: str, enabled: bool, stages: Sequence[int] | None = None) -> None:
        """Switch a run's shortcut connections between two iterations (all stages, or the listed ones)."""

    def shortcut_state(self, run_id: str) -> dict[int, bool] | None:
        """{stage: shortcuts on} of an active run, switches asked for included; None when it is not active."""

    def active_runs(self) -> list[str]:
        """The runs queued or training now."""

    def progress(self, run_id: str) -> dict:
        """A run's step, epoch, status and time left."""

    def wait(self, run_ids: Sequence[str], timeout: float) -> bool:
        """Block until the runs have ended (True) or ``timeout`` seconds passed (False)."""

    def submit_analysis(self, kind: str, params: dict, run_ids: Sequence[str] = ()) -> str:
        """Queue a task (lesion, landscape, download) where training runs; returns its job id."""

    def stop_analysis(self, job_id: str) -> None:
        """Stop a task; what it already published stays."""

    def shutdown(self, timeout: float = 10) -> None:
        """Stop everything and let go of the threads or the process."""


def JobManager(store: RunStore | None = None, device: str | None = None, cpu_slots: int = 1,  # noqa: N802
               isolation: str = "thread") -> Manager:
    """The job manager for a process (named like the class it gives, since callers build it like one).

    Args:
        store: where runs are recorded (default: a RunStore in RESNET_EDU_RUNS_DIR).
        device: "auto" (default: CUDA, else MPS, else CPU), "cpu", "cuda" or "mps".
        cpu_slots: thread isolation: groups training at once on the CPU (default 1).
        isolation: "thread" (train in threads of this process) or "process" (in one child
            process: what the app uses, so that page scripts cannot slow training down).
    """
    if isolation == "thread":
        return LaneRunner(store, device, cpu_slots)
    if isolation == "process":
        return TrainingProcessManager(store, device)
    raise ValueError(f"isolation must be one of {', '.join(ISOLATIONS)}, not {isolation!r}")


__all__ = ["GROUP_KEYS", "ISOLATIONS", "JobManager", "Manager", "LaneRun", "LaneRunner", "TrainingProcessManager",
           "group_configs"]
