"""The whole computation: every net's grid coarse to fine, its 1-D slice and its path, as a stream.

:func:`compute` yields progress with the growing result after every stage, so the page shows
the 5×5 picture within seconds; :func:`landscape` runs it to the end for the CLI.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch

from resnet_edu import devices
from resnet_edu.inside.landscape.directions import random_directions
from resnet_edu.inside.landscape.grid import axis, empty_grid, finite_or_none, refinement_levels, sub_grid
from resnet_edu.inside.landscape.loss_meter import LossMeter
from resnet_edu.inside.landscape.nets import Net
from resnet_edu.inside.landscape.path import loss_along_path, path_ts
from resnet_edu.inside.landscape.reading import roughness
from resnet_edu.inside.landscape.settings import LandscapeSettings

PROGRESS_POINTS = 16  # grid points between two progress reports (and checks for Stop)


@dataclass
class Progress:
    """One step of :func:`compute`: how far, what was just done, and whether ``result`` changed enough to publish."""

    fraction: float
    message: str
    publish: bool
    result: dict


def _net_result(net: Net, settings: LandscapeSettings, alphas: list[float]) -> dict:
    return {
        "run_id": net.run_id, "name": net.name, "shortcuts": net.shortcuts, "depth": net.depth, "step": net.step,
        "images": int(net.images.shape[0]),
        "alphas": alphas, "betas": alphas, "loss": empty_grid(settings.grid), "error": empty_grid(settings.grid),
        "known": [], "center_loss": None, "center_error": None,
        "slice": None, "interpolation": None,
        "interpolation_message": net.initial_message if settings.interpolation_points else "",
        "roughness": {"mean_abs_second_difference": None, "concave_fraction": None},
        "seconds": 0.0,
    }


def compute(nets: Sequence[Net], settings: LandscapeSettings, device: torch.device | str | None = None,
            ) -> Iterator[Progress]:
    """The landscapes of one or more nets, as a stream of progress with the growing result.

    Order (every net at each stage, so two nets' pictures appear side by side): the 5×5
    coarse grid, the 1-D slice, the init→trained path, then the refinements of the grid.
    The same seed gives every net the same random draws. Stop by no longer iterating: the
    nets' trained weights are restored whenever the generator is closed.

    Args:
        nets: from :func:`load_net`.
        settings: validated settings.
        device: where the nets live (default: the first net's parameters' device).

    Yields:
        :class:`Progress`; ``result`` = {"settings", "precision", "nets": [per-net dicts],
        "done", "seconds"}, the same object growing (copy it to keep a snapshot).
    """
    settings.validate()
    started = time.perf_counter()
    device = torch.device(device) if device is not None else next(nets[0].model.parameters()).device
    precision = devices.resolve_precision(settings.precision, device)
    alphas = axis(settings.grid, settings.span)
    levels = refinement_levels(settings.grid)
    meters = [LossMeter(net.model, net.images, net.labels, random_directions(net.model, settings.seed),
                        precision=precision, batch_size=settings.batch_size) for net in nets]
    result = {"settings": settings.to_dict(), "precision": precision, "device": str(device), "process_id": os.getpid(),
              "nets": [_net_result(net, settings, alphas) for net in nets], "done": False, "seconds": 0.0}
    slice_ts = axis(settings.slice_points, settings.span) if settings.slice_points else []
    interp_ts = path_ts(settings.interpolation_points)
    with_init = [net.initial_state is not None for net in nets]
    total = len(nets) * (settings.grid ** 2 + len(slice_ts)) + sum(with_init) * len(interp_ts)
    done = 0

    def tick(i: int) -> None:
        result["nets"][i]["seconds"] = round(result["nets"][i]["seconds"] + time.perf_counter() - tick.t, 3)
        tick.t = time.perf_counter()
        result["seconds"] = round(time.perf_counter() - started, 3)

    tick.t = time.perf_counter()
    try:
        for level_index, level in enumerate(levels):
            previous = set(levels[level_index - 1]) if level_index else set()
            points = [(i, j) for i in level for j in level if not (i in previous and j in previous)]
            for n, (net, meter) in enumerate(zip(nets, meters)):
                entry = result["nets"][n]
                for count, (i, j) in enumerate(points, start=1):
                    loss, error = meter.at(alphas[i], alphas[j])
                    entry["loss"][i][j], entry["error"][i][j] = finite_or_none(loss), error
                    done += 1
                    if (i, j) == (settings.grid // 2, settings.grid // 2) and settings.grid % 2:
                        entry["center_loss"], entry["center_error"] = finite_or_none(loss), error
                    if count % PROGRESS_POINTS == 0 and count < len(points):  # progress, and a chance to stop
                        yield Progress(done / total, f"{net.name}: {len(level)}×{len(level)} grid", False, result)
                meter.restore()
                entry["known"] = list(level)
                entry["roughness"] = roughness(sub_grid(entry["loss"], level))
                tick(n)
                yield Progress(done / total, f"{net.name}: {len(level)}×{len(level)} grid", True, result)
            if level_index == 0:
                yield from _slices_and_paths(nets, meters, result, settings, slice_ts, interp_ts, tick,
                                             lambda k: done + k, total)
                done += len(nets) * len(slice_ts) + sum(with_init) * len(interp_ts)
        for n, (net, meter) in enumerate(zip(nets, meters)):
            entry = result["nets"][n]
            if entry["center_loss"] is None:  # an even grid has no centre point: measure θ* itself
                loss, error = meter.at(0.0, 0.0)
                entry["center_loss"], entry["center_error"] = finite_or_none(loss), error
        result["done"] = True
        result["seconds"] = round(time.perf_counter() - started, 3)
        yield Progress(1.0, "done", True, result)
    finally:
        for meter in meters:
            meter.restore()


def _slices_and_paths(nets, meters, result, settings, slice_ts, interp_ts, tick, done_so_far, total):
    count = 0
    for n, (net, meter) in enumerate(zip(nets, meters)):
        entry = result["nets"][n]
        if slice_ts:
            losses, errors = [], []
            for alpha in slice_ts:
                loss, error = meter.at(alpha, 0.0)
                losses.append(finite_or_none(loss))
                errors.append(error)
                count += 1
            meter.restore()
            entry["slice"] = {"alphas": slice_ts, "loss": losses, "error": errors}
            tick(n)
            yield Progress(done_so_far(count) / total, f"{net.name}: 1-D slice", True, result)
    for n, (net, meter) in enumerate(zip(nets, meters)):
        entry = result["nets"][n]
        if not interp_ts or net.initial_state is None:
            continue
        entry["interpolation"] = loss_along_path(net, meter, interp_ts)
        count += len(interp_ts)
        tick(n)
        yield Progress(done_so_far(count) / total, f"{net.name}: initial → trained", True, result)


def landscape(net: Net, settings: LandscapeSettings, progress: Callable[[float, str], None] | None = None) -> dict:
    """One net's landscape, all at once (the CLI's path): the final per-net dict of :func:`compute`."""
    result = None
    for step in compute([net], settings):
        if progress is not None:
            progress(step.fraction, step.message)
        result = step.result
    return {**result["nets"][0], "seconds": result["seconds"], "precision": result["precision"]}
