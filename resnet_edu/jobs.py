"""Job managers: who trains the comparison groups, and where.

Two managers with one interface (``submit``, ``resume``, ``stop``, ``stop_all``,
``set_shortcuts``, ``shortcut_state``, ``active_runs``, ``progress``, ``wait``, ``prepare``,
``submit_analysis``, ``stop_analysis``, ``shutdown``, ``store``, ``device_label``):

* :class:`~resnet_edu.lanes.LaneRunner` trains in threads of this process, in lockstep lanes:
  the CLI, the tests, the benchmarks and the app's training process use it;
* :class:`~resnet_edu.training_process.TrainingProcessManager` is the app's: it hands the
  work to a training process and reads everything back from the RunStore.

``JobManager(store)`` gives the first, ``JobManager(isolation="process")`` the second.
Neither touches Streamlit: the lanes write every number to the RunStore, pages read it.
"""

from __future__ import annotations

from resnet_edu.groups import GROUP_KEYS, group_configs
from resnet_edu.lanes import LaneRun, LaneRunner
from resnet_edu.run_data import cached_dataset
from resnet_edu.runs import RunStore
from resnet_edu.training_process import TrainingProcessManager

ISOLATIONS = ("thread", "process")


def JobManager(store: RunStore | None = None, device: str | None = None, cpu_slots: int = 1,  # noqa: N802
               isolation: str = "thread") -> LaneRunner | TrainingProcessManager:
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


__all__ = ["GROUP_KEYS", "ISOLATIONS", "JobManager", "LaneRun", "LaneRunner", "TrainingProcessManager",
           "cached_dataset", "group_configs"]
