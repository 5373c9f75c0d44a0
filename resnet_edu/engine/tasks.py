"""Analysis jobs: heavy work on trained runs, done where training happens, never in a page.

A lesion study, a loss landscape, the Features page's Captum views, the gradients of fresh nets
at initialisation or a data-set download takes seconds to minutes of CPU. Done
inside the Streamlit server it would make every other tab wait and slow the training the class
is watching. So a page *submits* a job (``manager.submit_analysis(kind, params, run_ids)``),
the training process runs it in a thread of its own, and the job writes its progress and its
result into the RunStore (table ``analysis_jobs``), where every tab reads them and where they
survive a restart.

A job is a plain function ``job(context) -> dict`` named in :data:`KINDS`; it reads its
parameters from ``context.params``, calls ``context.report(fraction, message)`` as it goes,
``context.publish(partial_result)`` when a first picture is ready (coarse-to-fine), returns
soon after ``context.stopped()`` turns true, and raises ValueError with a sentence for the
user when its input is wrong. The functions are imported only when a job of their kind runs.

On a CPU a job shares the cores with training: both use torch's thread pool, the operating
system interleaves them, and one job runs at a time, so a landscape slows training for its
duration instead of starving it. On a GPU a job runs beside the lanes on its own stream.
"""

from __future__ import annotations

import importlib
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from resnet_edu.runs import RunStore

# kind -> "module:function"; a kind's module is imported when its first job runs.
KINDS: dict[str, str] = {
    "download": "resnet_edu.engine.tasks:download_job",
    "lesion": "resnet_edu.inside.lesion:lesion_job",
    "landscape": "resnet_edu.inside.landscape:landscape_job",
    "features": "resnet_edu.engine.feature_views:features_job",
    "gradients_at_init": "resnet_edu.inside.gradients:init_gradients_job",
}

REPORT_SECONDS = 0.25  # progress is written at most this often (a job may report every grid point)


def download_job(context: JobContext) -> dict:
    """Kind "download": a data set (``{"dataset": key}``, :mod:`resnet_edu.data.downloads`) or torchvision's
    pretrained weights (``{"weights": depth}``, :mod:`resnet_edu.weights`); each imported when its job runs."""
    if "weights" in (context.params or {}):
        from resnet_edu.weights import download_pretrained_job

        return download_pretrained_job(context)
    from resnet_edu.data.downloads import download_dataset_job

    return download_dataset_job(context)


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        known = ", ".join(sorted(KINDS)) or "none yet"
        raise ValueError(f"unknown analysis {kind!r}: this version knows {known}")


def job_function(kind: str) -> Callable[[JobContext], dict]:
    check_kind(kind)
    module_name, _, function_name = KINDS[kind].partition(":")
    return getattr(importlib.import_module(module_name), function_name)


@dataclass
class JobContext:
    """What a job function gets: its parameters, the store, the device and a way to report.

    Args:
        job_id: the job's id in the store.
        params: as submitted (JSON-able).
        store: read runs and checkpoints from it (``store.latest_checkpoint(run_id)``).
        device: where to compute.
        stop_event: set when the teacher presses Stop.
    """

    job_id: str
    params: dict
    store: RunStore
    device: torch.device
    stop_event: threading.Event = field(default_factory=threading.Event)
    _last_report: float = 0.0

    def report(self, fraction: float, message: str = "") -> None:
        """Progress in [0, 1] with a short message; written to the store at most 4 times a second."""
        now = time.monotonic()
        if now - self._last_report >= REPORT_SECONDS or fraction >= 1.0:
            self._last_report = now
            self.store.update_analysis(self.job_id, fraction=min(1.0, max(0.0, float(fraction))), message=message)

    def stopped(self) -> bool:
        """True once Stop was pressed: return soon (what was published so far stays)."""
        return self.stop_event.is_set()

    def publish(self, partial_result: dict) -> None:
        """A result that is not final yet, readable by every page at once."""
        self.store.update_analysis(self.job_id, result=partial_result)


def run_job(job_id: str, store: RunStore, device: torch.device, stop_event: threading.Event) -> str:
    """Run one stored job to its end; returns its final status. Never raises: failures are stored."""
    job = store.get_analysis(job_id)
    if job is None:
        return "failed"
    if stop_event.is_set():
        store.update_analysis(job_id, status="stopped", message="stopped before it started")
        return "stopped"
    store.update_analysis(job_id, status="running", fraction=0.0, message="")
    context = JobContext(job_id, dict(job["params"]), store, device, stop_event)
    try:
        result: Any = job_function(job["kind"])(context)
    except ValueError as error:  # the job's own sentence for the user
        store.update_analysis(job_id, status="failed", message=str(error))
        return "failed"
    except Exception as error:  # noqa: BLE001 - a job must never take the training process down
        traceback.print_exc()
        store.update_analysis(job_id, status="failed", message=f"{type(error).__name__}: {error}"[:500])
        return "failed"
    status = "stopped" if stop_event.is_set() else "finished"
    store.update_analysis(job_id, status=status, fraction=1.0 if status == "finished" else None,
                          message="stopped by the teacher" if status == "stopped" else "",
                          result=result if isinstance(result, dict) else None)
    return status
