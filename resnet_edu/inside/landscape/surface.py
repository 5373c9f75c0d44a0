"""The loss over the plane: measured fast at any point, along the init→trained path, and the whole
computation as a stream (in a process, or as an analysis job of the training process).

* :class:`LossMeter`: the loss at θ* + α·δ + β·η on a copy of the net with every BN folded into
  its conv (in eval mode BN is a per-channel affine map, so the copy computes the same function
  a quarter faster on a CPU); the copy's weights are overwritten in place for every point, and
  the net itself is never moved.
* :func:`loss_along_path`: the loss along (1 − t)·θ₀ + t·θ* for t in [−0.5, 1.5] (Goodfellow,
  Vinyals, Saxe 2015), with the BN running statistics interpolated too: a net evaluated with its
  trained statistics on its initial weights would show a wrong loss.
* :func:`compute` yields progress with the growing result after every stage, so the page shows
  the 5×5 picture within seconds; :func:`landscape` runs it to the end for the CLI;
  :func:`landscape_job` is the same as an analysis job of the training process (one run, or a
  run and its twin), reporting progress, publishing partial results and stopping when asked.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from resnet_edu import devices
from resnet_edu.inside.landscape.plane import (
    LandscapeSettings,
    Net,
    axis,
    empty_grid,
    finite_or_none,
    load_net,
    perturbed_parameters,
    random_directions,
    refinement_levels,
    sub_grid,
)
from resnet_edu.inside.landscape.reading import roughness

def conv_bn_pairs(model: nn.Module) -> list[tuple[str, str]]:
    """(conv, BN) module names where the BN normalises that conv's output and nothing else.

    In this package's nets a BN follows its conv by name (``convK`` → ``bnK``) or by position
    in a projection shortcut (``Sequential(conv, BN)``).
    """
    pairs = []
    for parent_name, parent in model.named_modules():
        prefix = f"{parent_name}." if parent_name else ""
        children = list(parent.named_children())
        if isinstance(parent, nn.Sequential):
            for (conv_name, conv), (bn_name, bn) in zip(children, children[1:]):
                if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                    pairs.append((prefix + conv_name, prefix + bn_name))
            continue
        named = dict(children)
        for name, child in children:
            if isinstance(child, nn.Conv2d) and name.startswith("conv"):
                bn_name = "bn" + name.removeprefix("conv")
                if isinstance(named.get(bn_name), nn.BatchNorm2d):
                    pairs.append((prefix + name, prefix + bn_name))
    return pairs


def fold_batchnorm(model: nn.Module) -> tuple[nn.Module, dict[str, torch.Tensor]]:
    """A copy of an eval-mode net with every BN folded into its conv; {conv weight name: per-filter scale}.

    In eval mode BN is an affine map per channel, y = s·conv(x) + shift with
    s = γ / sqrt(running_var + eps): the same function with one pass over memory less
    (about a quarter of the time of a forward on a CPU). A point θ* + α·δ + β·η of the
    original net is the point s·θ* + α·s·δ + β·s·η of the folded one.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    folded = copy.deepcopy(model).eval()
    scales = {}
    for conv_name, bn_name in conv_bn_pairs(folded):
        conv, bn = folded.get_submodule(conv_name), folded.get_submodule(bn_name)
        scales[f"{conv_name}.weight"] = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach().clone()
        parent, _, child = conv_name.rpartition(".")
        setattr(folded.get_submodule(parent) if parent else folded, child, fuse_conv_bn_eval(conv, bn))
        parent, _, child = bn_name.rpartition(".")
        setattr(folded.get_submodule(parent) if parent else folded, child, nn.Identity())
    return folded, scales


def _scaled(tensor: torch.Tensor, scale: torch.Tensor | None) -> torch.Tensor:
    if scale is None:
        return tensor.clone()
    return tensor * scale.to(tensor.dtype).view(-1, *([1] * (tensor.dim() - 1)))


class LossMeter:
    """Loss and error of one net on fixed images, with its weights moved along two directions.

    :meth:`at` evaluates θ* + α·δ + β·η on a copy of the net with its BNs folded into the
    convs (the net itself is never changed), always with the same arithmetic, so a point's
    loss does not depend on the order the points are visited; :meth:`loss` evaluates the net
    itself as its weights are now (the init→trained path changes them).

    Args:
        model: the trained net (eval mode is set here).
        images: normalised images (N, 3, H, W), float32.
        labels: their labels (N,).
        directions: (δ, η) from :func:`random_directions`, or None (only :meth:`loss`).
        precision: "fp32" or "bf16" (already resolved).
        batch_size: images per forward pass.
    """

    def __init__(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                 directions: tuple[dict, dict] | None, *, precision: str = "fp32", batch_size: int = 128) -> None:
        self.model = model.eval()
        self.device = next(model.parameters()).device
        self.model.to(memory_format=torch.channels_last)
        self.images = images.to(self.device, dtype=torch.float32).contiguous(memory_format=torch.channels_last)
        self.labels = labels.to(self.device)
        self.precision = precision
        self.batch_size = batch_size
        self.folded = None
        if directions is not None:
            self.folded, scales = fold_batchnorm(model)
            self.folded.to(memory_format=torch.channels_last)
            targets = dict(self.folded.named_parameters())
            self.targets, self.base, self.steps = {}, {}, ([], [])
            for name, p in perturbed_parameters(model):
                scale = scales.get(name)
                self.targets[name] = targets[name]
                self.base[name] = _scaled(p.detach(), scale)
                for step, direction in zip(self.steps, directions):
                    step.append(_scaled(direction[name].to(self.device, dtype=p.dtype), scale))
            self.names = list(self.targets)

    def _autocast(self):
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return nullcontext()

    @torch.inference_mode()
    def _measure(self, net: nn.Module) -> tuple[float, float]:
        total_loss, wrong = 0.0, 0
        for start in range(0, self.images.shape[0], self.batch_size):
            x = self.images[start:start + self.batch_size]
            y = self.labels[start:start + self.batch_size]
            with self._autocast():
                logits = net(x)
            logits = logits.float()
            total_loss += float(F.cross_entropy(logits, y, reduction="sum"))
            wrong += int((logits.argmax(dim=1) != y).sum())
        n = max(1, self.images.shape[0])
        return total_loss / n, wrong / n

    def loss(self) -> tuple[float, float]:
        """(mean cross-entropy, error fraction) of the net itself, as its weights are now."""
        return self._measure(self.model)

    @torch.inference_mode()
    def at(self, alpha: float, beta: float) -> tuple[float, float]:
        """(loss, error) at θ* + α·δ + β·η."""
        if self.folded is None:
            raise ValueError("this meter has no directions")
        for name, delta, eta in zip(self.names, *self.steps):
            self.targets[name].copy_(self.base[name] + alpha * delta + beta * eta)
        return self._measure(self.folded)

    @torch.inference_mode()
    def restore(self) -> None:
        """Put the folded copy back at θ* (the net itself is never moved by :meth:`at`)."""
        if self.folded is not None:
            for name in self.names:
                self.targets[name].copy_(self.base[name])


# --------------------------------------------------------------------------- the init→trained path

INTERPOLATION_RANGE = (-0.5, 1.5)  # Goodfellow et al. 2015: before the start, past the end


def path_ts(points: int) -> list[float]:
    """``points`` evenly spaced values of t over INTERPOLATION_RANGE (none for 0)."""
    if not points:
        return []
    low, high = INTERPOLATION_RANGE
    return [low + (high - low) * i / (points - 1) for i in range(points)]


def interpolate_state(initial: dict, trained: dict, t: float) -> dict:
    """(1 − t)·initial + t·trained for every float entry of a state dict, BN running statistics included.

    A running variance extrapolated past the ends (t < 0 or t > 1) can fall below zero; it is
    clamped at 0 (BN then divides by sqrt(eps)): the loss there is honest, just very large.
    """
    state = {}
    for key, final in trained.items():
        start = initial.get(key)
        if start is None or not torch.is_floating_point(final) or start.shape != final.shape:
            state[key] = final
            continue
        value = torch.lerp(start.to(final.dtype), final, float(t))
        if key.endswith("running_var"):
            value = value.clamp(min=0.0)
        state[key] = value
    return state


@torch.inference_mode()
def loss_along_path(net: Net, meter: LossMeter, ts: list[float]) -> dict:
    """Loss and error along (1 − t)·θ₀ + t·θ* (weights, BN parameters and running statistics alike)."""
    trained = {k: v.detach().clone() for k, v in net.model.state_dict().items()}
    initial = {k: v.to(trained[k].device) for k, v in net.initial_state.items() if k in trained}
    losses, errors = [], []
    try:
        for t in ts:
            net.model.load_state_dict(interpolate_state(initial, trained, t))
            loss, error = meter.loss()
            losses.append(finite_or_none(loss))
            errors.append(error)
    finally:
        net.model.load_state_dict(trained)
    return {"t": ts, "loss": losses, "error": errors}


# --------------------------------------------------------------------------- the computation, as a stream

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


# --------------------------------------------------------------------------- the analysis job

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
