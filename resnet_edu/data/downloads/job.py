"""The data-set half of the analysis job ``"download"``: fetch and unpack one archive in the training
process (never in a page), publishing bytes, speed and time left for the Lab's progress bar.
"""

from __future__ import annotations

import dataclasses

from resnet_edu.data.downloads.archives import ARCHIVES
from resnet_edu.data.downloads.progress import DownloadStopped, Progress
from resnet_edu.data.downloads.unpack import prepare
from resnet_edu.data.root import DataUnavailable, default_data_root


def download_dataset_job(context) -> dict:
    """Download and unpack one data set in the training process (analysis job ``"download"`` with
    ``{"dataset": key}``; pretrained weights are the other half, in :mod:`resnet_edu.weights`).

    ``context.params["dataset"]`` is a key of ``ARCHIVES``: the archive goes into the data root of
    the training process (``$RESNET_EDU_DATA`` or ``./data``): no path comes from a page. Progress
    goes to ``context.report`` (fraction and a line of text) and ``context.publish`` (``phase``,
    ``done_bytes``, ``total_bytes``, ``bytes_per_second``, ``seconds_left``) so pages can draw
    bytes, speed and time left.

    Returns:
        ``{"dataset", "folder", "state"}``, ``state`` "ready" or "stopped" (then with a ``message``).

    Raises:
        ValueError: an unknown key, an offline machine or a failed download (the message says what to do).
    """
    params = dict(context.params or {})
    key = params.get("dataset")
    if key not in ARCHIVES:
        raise ValueError(f"unknown data set {key!r}: choose one of {', '.join(ARCHIVES)}")
    archive = ARCHIVES[key]
    root = default_data_root()

    def report(step: Progress) -> None:
        share = {"download": (0.0, 0.8), "check": (0.8, 0.05), "unpack": (0.85, 0.15)}[step.phase]
        context.report(share[0] + share[1] * step.fraction, f"{archive.title}: {step.describe()}")
        context.publish({"dataset": key, **dataclasses.asdict(step)})

    try:
        folder = prepare(archive, root, download=True, progress=report, stopped=context.stopped)
    except DownloadStopped as stop:
        return {"dataset": key, "folder": None, "state": "stopped", "message": str(stop)}
    except DataUnavailable as error:
        raise ValueError(str(error)) from None
    context.report(1.0, f"{archive.title} is ready in {folder}")
    return {"dataset": key, "folder": str(folder), "state": "ready"}
