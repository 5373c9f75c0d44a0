"""What both job managers share: comparison groups, their checks, waiting, progress from the store,
whether a run can be resumed, and the shortcuts a run will have once the switches asked for are applied.

A *group* is the set of nets a teacher compares (plain-20, plain-56, ResNet-56). Its nets
train in lockstep on one stream of batches, so they must agree on everything that shapes the
stream: data set, epochs, batch size, seed, recipe. :class:`GroupManager` is the part of the
interface that the local lane runner (:mod:`resnet_edu.engine.lanes`) and the app's proxy to the
training process (:mod:`resnet_edu.engine.process`) have in common.
"""

from __future__ import annotations

import abc
import dataclasses
import itertools
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from resnet_edu.engine import admission
from resnet_edu.models import stage_count
from resnet_edu.runs import ACTIVE_STATUSES, ENDED_STATUSES, RunStore
from resnet_edu.sharing.packs import refuse_resuming_imported
from resnet_edu.train import TrainConfig

# Settings that shape a group's one stream of batches: every net of a group shares them.
GROUP_KEYS = ("dataset", "data_root", "image_size", "max_train_images", "epochs", "batch_size", "seed", "recipe",
              "max_steps")
MAX_NETS_PER_GROUP = 12


def group_configs(base: TrainConfig, depths: Sequence[int], kinds: Sequence[str] = ("plain", "residual"),
                  family: str | None = None) -> list[TrainConfig]:
    """Configs for depths × kinds ("plain"/"residual") sharing everything else in `base`."""
    family = family or base.family
    return [dataclasses.replace(base, family=family, depth=int(depth), shortcuts=(kind == "residual"), name=None)
            for kind, depth in itertools.product(kinds, depths)]


def check_group(configs: Sequence[TrainConfig]) -> None:
    """ValueError, with a sentence a student can act on, unless the configs make one group."""
    if not configs:
        raise ValueError("choose at least one network to train")
    if len(configs) > MAX_NETS_PER_GROUP:
        raise ValueError(f"{len(configs)} networks at once is too many for one comparison: "
                         f"at most {MAX_NETS_PER_GROUP}")
    for config in configs:
        config.validate()
    if len({tuple(getattr(c, key) for key in GROUP_KEYS) for c in configs}) > 1:
        raise ValueError("the nets of one comparison must share data set, epochs, batch size, seed and recipe")


def progress_from_store(store: RunStore, run_id: str) -> dict:
    """A run's progress as the store has it: what any process can know about any run."""
    info = store.get_run(run_id)
    total = info.get("total_steps") or 0
    step = info.get("steps_done") or 0
    last = store.steps(run_id, since_step=max(-1, step - 2)).tail(1)
    return {"run_id": run_id, "name": info["name"], "status": info["status"], "step": step, "total_steps": total,
            "fraction": step / total if total else 0.0,
            "epoch": float(last["epoch"].iloc[0]) if len(last) else None,
            "images_per_second": info.get("images_per_second") if info["status"] == "running" else None,
            "eta_seconds": info.get("eta_seconds") if info["status"] == "running" else None,
            "message": info.get("message") or ""}


# Runs that ended before their last iteration and are offered Resume (with a checkpoint): a
# failed one too, once its cause is fixed (space freed after "the disk is full").
RESUMABLE_STATUSES = ("interrupted", "stopped", "failed")


def resumable(store: RunStore, run_id: str, training_here: bool = False) -> tuple[dict, Path]:
    """The run's record and its last checkpoint, or ValueError with the one sentence saying why it
    cannot be resumed. The lane runner, the app's manager and a torchrun job all ask here.

    Args:
        training_here: the caller's manager is training the run right now.
    """
    info = store.get_run(run_id)  # KeyError for an unknown id
    if training_here:
        raise ValueError(f"run {run_id} is still training")
    refuse_resuming_imported(info)  # a class pack's run stays as it was trained
    if info["status"] == "finished":
        raise ValueError(f"run {run_id} has finished: there is nothing to resume")
    if info["status"] in ACTIVE_STATUSES:
        # Its process may have died since this store was opened: a fresh look marks it interrupted.
        RunStore(store.root).close()
        info = store.get_run(run_id)
        if info["status"] in ACTIVE_STATUSES:  # still owned by a live process (e.g. the CLI)
            raise ValueError(f"run {run_id} is {info['status']} in another process: stop it there first")
    checkpoint = store.latest_checkpoint(run_id)
    if checkpoint is None:
        raise ValueError(f"run {run_id} has no checkpoint yet (one is saved at the end of every epoch)")
    return info, Path(checkpoint)


def checked_stages(config: TrainConfig, stages: Sequence[int] | None) -> list[int] | None:
    """The stages a switch names, sorted and without repeats (None: all); ValueError for a stage the net lacks."""
    if stages is None:
        return None
    valid = set(range(1, stage_count(config.family) + 1))
    if not set(stages) <= valid:
        raise ValueError(f"stage(s) {sorted(set(stages) - valid)} do not exist")
    return sorted({int(stage) for stage in stages})


def shortcuts_after(config: TrainConfig, switches: Iterable[tuple[bool, Sequence[int] | None]]) -> dict[int, bool]:
    """{stage: shortcuts on} of a net built from ``config`` once ``switches`` ((enabled, stages or None
    for all), oldest first) are applied: what a page shows the moment a switch is asked for."""
    state = {stage: config.shortcuts for stage in range(1, stage_count(config.family) + 1)}
    for enabled, stages in switches:
        for stage in stages or state:
            state[int(stage)] = bool(enabled)
    return state


class GroupManager(abc.ABC):
    """The interface both managers share. Subclasses train; this part creates and waits."""

    isolation = "thread"
    training_process_pid: int | None = None  # the pid of a training process, where one trains the runs

    def __init__(self, store: RunStore | None) -> None:
        self.store = store if store is not None else RunStore()
        self._closing = False

    def _create_group(self, configs: Sequence[TrainConfig], device: str) -> tuple[str, list[str]]:
        """Check a group and create its runs in the store (status queued); nothing is created on error."""
        configs = list(configs)
        check_group(configs)
        admission.admit(self.store, configs, device)  # queue caps and memory: NotAdmitted, nothing created
        if self._closing:
            raise RuntimeError("the job manager is shutting down")
        group_id = "g" + os.urandom(4).hex()
        run_ids = [self.store.create_run(config.run_name, config.to_dict(), group_id=group_id, device=device,
                                         status="queued") for config in configs]
        return group_id, run_ids

    def is_active(self, run_id: str) -> bool:
        return run_id in self.active_runs()

    @abc.abstractmethod
    def active_runs(self) -> list[str]:
        """Runs of this manager that are queued or training."""

    def wait(self, run_ids: Sequence[str], timeout: float) -> bool:
        """Block until the runs ended (True) or the timeout passed (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(self.is_active(run_id) for run_id in run_ids):
                return True
            time.sleep(0.05)
        return not any(self.is_active(run_id) for run_id in run_ids)


__all__ = ["GROUP_KEYS", "ENDED_STATUSES", "GroupManager", "check_group", "checked_stages", "group_configs",
           "progress_from_store", "RESUMABLE_STATUSES", "resumable", "shortcuts_after"]
