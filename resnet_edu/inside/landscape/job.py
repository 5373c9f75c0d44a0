"""The landscape as an analysis job of the training process: one run, or a run and its twin.

The page submits it; the training process runs :func:`landscape_job` with a context that
reports progress, publishes partial results and says when to stop.
"""

from __future__ import annotations

from resnet_edu.inside.landscape.computation import compute
from resnet_edu.inside.landscape.nets import load_net
from resnet_edu.inside.landscape.settings import LandscapeSettings

MAX_NETS = 2  # a net and its twin


def run_ids_from_params(params: dict) -> list[str]:
    """The job's ``run_ids``: one or two run ids (ValueError otherwise)."""
    run_ids = params.get("run_ids")
    if isinstance(run_ids, str):
        run_ids = [run_ids]
    if (not isinstance(run_ids, (list, tuple)) or not 1 <= len(run_ids) <= MAX_NETS
            or not all(isinstance(r, str) and r for r in run_ids)):
        raise ValueError(f"choose one or two trained runs (got {run_ids!r})")
    return list(dict.fromkeys(run_ids))


def landscape_job(context) -> dict:
    """The landscape of one run or of a run and its twin, computed in the training process.

    ``context.params``: ``run_ids`` (one or two) and any :class:`LandscapeSettings` field.
    Reports progress, publishes the growing result after every stage (the 5×5 grid is the
    first picture) and returns soon after ``context.stopped()`` with what it has.

    Raises:
        ValueError: a sentence for the user (bad settings, unknown run, no checkpoint).
    """
    run_ids = run_ids_from_params(context.params)
    settings = LandscapeSettings.from_params(context.params)
    context.report(0.0, "loading the nets")
    nets = [load_net(context.store, run_id, settings.images, context.device) for run_id in run_ids]
    result: dict = {}
    steps = compute(nets, settings, context.device)
    try:
        for step in steps:
            result = step.result
            context.report(step.fraction, step.message)
            if step.publish:
                context.publish(result)
            if context.stopped():
                break
    finally:
        steps.close()  # puts every net's trained weights back
    return result
