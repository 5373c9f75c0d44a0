"""Loss landscapes of trained nets: why shortcuts make deep nets trainable, as a picture.

Li, Xu, Taylor, Studer, Goldstein (2018), "Visualizing the Loss Landscape of Neural Nets"
(NeurIPS): plot the training loss on a plane through the trained weights θ*,

    L(α, β) = loss(θ* + α·δ + β·η),   (α, β) in [−span, span]²,

where δ and η are random Gaussian directions with *filter normalisation* (Sec. 4): every
filter of a direction (a conv's output filter, a row of the fc layer) is rescaled to the
norm of the same filter of θ*, so that the scale invariance of ReLU nets with BatchNorm
cannot make one net look sharper than another. Their Fig. 5: ResNet-56 without skip
connections has a chaotic surface, with them a smooth, nearly convex one.

What this module computes, as the authors do (their ``ignore='biasbn'``): 1-D parameters
(biases, BN weight and bias) are not perturbed and BN running statistics stay as trained;
the net is in eval mode and the loss is measured on a fixed set of training images, without
augmentation. Also computed: a 1-D slice along δ, and the linear path from the net's initial
weights to its trained weights over t in [−0.5, 1.5] (Goodfellow, Vinyals, Saxe 2015), with
the BN running statistics interpolated too (a net evaluated with its trained statistics on
its initial weights would show a wrong loss).

Where this differs from the paper: 128 images instead of the whole training set, 15×15
points instead of 51×51 by default (a class watches it on a laptop), bf16 on CPUs and GPUs
that compute it natively (the surface is the same to about three digits), and no Hessian
eigenvalue map (power iterations of Hessian-vector products at every grid point cost about
50 times the loss grid: minutes on a GPU, hours on a laptop CPU).

For speed the grid is evaluated on a copy of the net with every BN folded into its conv
(in eval mode BN is a per-channel affine map: the same function, a quarter less time on a
CPU), in inference mode, channels_last, all images in one batch.

The grid is computed coarse-to-fine: first 5×5 points of the final grid, then more of its
rows and columns, so a picture is on screen within seconds and sharpens in place. Every
point is computed by the same code whatever the order, so the final grid is identical to
one computed directly.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from resnet_edu import devices

INIT_CHECKPOINT = "init.pt"  # written by the training lane before a run's first step
INTERPOLATION_RANGE = (-0.5, 1.5)  # Goodfellow et al. 2015: before the start, past the end
COARSE_POINTS = 5  # the first picture: 5×5 points of the final grid
PROGRESS_POINTS = 16  # grid points between two progress reports (and checks for Stop)
MAX_GRID = 101
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass(frozen=True)
class LandscapeSettings:
    """What to compute; stored with every result.

    Args:
        grid: points per axis of the (α, β) grid (the paper: 51).
        span: the grid covers [−span, span]² in filter-normalised units (the paper: 1).
        images: fixed training images the loss is measured on (the first ones of the set).
        seed: seeds the two random directions (the same seed gives the same directions to
            every net with the same parameter shapes: a plain net and its residual twin).
        slice_points: points of the 1-D slice along the first direction (0: none).
        interpolation_points: points of the init→trained path (0: none).
        batch_size: images per forward pass.
        precision: "auto" (bf16 where the hardware computes it natively), "fp32" or "bf16".
    """

    grid: int = 15  # points per axis
    span: float = 1.0  # half-width of the square, filter-normalised units
    images: int = 128  # training images
    seed: int = 0  # seed of the random directions
    slice_points: int = 21  # points of the 1-D slice
    interpolation_points: int = 21  # points over t in [−0.5, 1.5]
    batch_size: int = 128  # images per forward pass
    precision: str = "auto"  # auto | fp32 | bf16

    def validate(self) -> None:
        """ValueError with a sentence for the user when a setting is out of range."""
        if not isinstance(self.grid, int) or not 3 <= self.grid <= MAX_GRID:
            raise ValueError(f"the grid must have 3 to {MAX_GRID} points per axis (got {self.grid})")
        if not isinstance(self.images, int) or self.images < 1:
            raise ValueError(f"the loss needs at least 1 training image (got {self.images})")
        if not (isinstance(self.span, (int, float)) and math.isfinite(self.span) and 0 < self.span <= 100):
            raise ValueError(f"the span must be a number in (0, 100] (got {self.span})")
        if not isinstance(self.seed, int):
            raise ValueError(f"the seed must be a whole number (got {self.seed!r})")
        for name in ("slice_points", "interpolation_points"):
            value = getattr(self, name)
            if not isinstance(value, int) or not (value == 0 or 3 <= value <= 201):
                raise ValueError(f"{name.replace('_', ' ')} must be 0 or 3 to 201 (got {value})")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"the batch size must be at least 1 (got {self.batch_size})")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)} (got {self.precision!r})")

    @classmethod
    def from_params(cls, params: dict) -> LandscapeSettings:
        """Settings from a job's JSON parameters (unknown keys ignored), validated."""
        fields = {f.name for f in dataclasses.fields(cls)}
        settings = cls(**{k: v for k, v in params.items() if k in fields})
        settings.validate()
        return settings

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------- directions


def perturbed_parameters(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The parameters a direction moves: those of dimension > 1 (conv filters, fc weights).

    Biases and BN weights/biases are left alone, as in the authors' ``ignore='biasbn'``:
    there are few of them, and moving them would mostly shift the BN statistics around.
    """
    return [(name, p) for name, p in model.named_parameters() if p.dim() > 1]


def filter_normalize(direction: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Rescale each filter (slice along dim 0) of ``direction`` to the norm of that filter of ``weight``.

    Li et al. (2018), Sec. 4, Eq. (1): d_ij ← d_ij / ‖d_ij‖ · ‖θ_ij‖ for filter j of layer i.
    """
    d = direction.reshape(direction.shape[0], -1)
    w = weight.detach().reshape(weight.shape[0], -1).to(d.dtype)
    scale = w.norm(dim=1, keepdim=True) / (d.norm(dim=1, keepdim=True) + 1e-10)
    return (d * scale).reshape(direction.shape)


def random_direction(model: nn.Module, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """One filter-normalised Gaussian direction: {parameter name: tensor} for every parameter.

    Drawn on the CPU in float32 from ``generator`` (so a GPU and a laptop draw the same
    numbers), parameter by parameter in ``named_parameters()`` order; 1-D parameters get zeros.
    """
    direction = {}
    for name, p in model.named_parameters():
        if p.dim() <= 1:
            direction[name] = torch.zeros(p.shape, dtype=torch.float32)
            continue
        gaussian = torch.randn(p.shape, generator=generator, dtype=torch.float32)
        direction[name] = filter_normalize(gaussian, p.detach().float().cpu())
    return direction


def random_directions(model: nn.Module, seed: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The two directions (δ, η) of the plane, from one seed; the same draws for nets of the same shapes."""
    generator = torch.Generator().manual_seed(int(seed))
    return random_direction(model, generator), random_direction(model, generator)


# ---------------------------------------------------------------- evaluating the loss


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


# ---------------------------------------------------------------- the grid, coarse to fine


def axis(points: int, span: float) -> list[float]:
    """``points`` evenly spaced values over [−span, span]; the middle one is exactly 0 when odd."""
    if points == 1:
        return [0.0]
    return [span * (2 * i - (points - 1)) / (points - 1) for i in range(points)]


def refinement_levels(points: int, coarse: int = COARSE_POINTS) -> list[list[int]]:
    """Indices of the final axis that are known after each level: 5, then about 9, 17, … all.

    Every level contains the previous one, and every level's points lie on the final grid,
    so refining never moves a point that was already computed.
    """
    levels: list[list[int]] = []
    known: set[int] = set()
    k = coarse
    while k < points:
        known |= {(i * (points - 1) + (k - 1) // 2) // (k - 1) for i in range(k)}
        levels.append(sorted(known))
        k = 2 * k - 1
    levels.append(list(range(points)))
    return levels


def roughness(loss: Sequence[Sequence[float | None]]) -> dict[str, float | None]:
    """Numbers that say how rough a loss grid is (None where they cannot be computed).

    mean_abs_second_difference: mean of |L[i−1] − 2L[i] + L[i+1]| along both axes over the
        interior points (a smooth bowl: small and even; a chaotic surface: large).
    concave_fraction: share of those second differences that are negative (a convex
        surface has none; Li et al. use the Hessian's eigenvalues for the same question).
    """
    import numpy as np

    z = np.array([[np.nan if v is None else v for v in row] for row in loss], dtype=float)
    if z.ndim != 2 or min(z.shape) < 3:
        return {"mean_abs_second_difference": None, "concave_fraction": None}
    second = np.concatenate([(z[:-2, :] - 2 * z[1:-1, :] + z[2:, :]).ravel(),
                             (z[:, :-2] - 2 * z[:, 1:-1] + z[:, 2:]).ravel()])
    second = second[np.isfinite(second)]
    if second.size == 0:
        return {"mean_abs_second_difference": None, "concave_fraction": None}
    return {"mean_abs_second_difference": float(np.abs(second).mean()),
            "concave_fraction": float((second < 0).mean())}


def empty_grid(points: int) -> list[list[float | None]]:
    return [[None] * points for _ in range(points)]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None  # JSON has no NaN/inf: a diverged point is None


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


# ---------------------------------------------------------------- one net


@dataclass
class Net:
    """A trained net ready for the landscape: its model, images and (when saved) initial weights."""

    run_id: str
    name: str
    model: nn.Module
    images: torch.Tensor
    labels: torch.Tensor
    initial_state: dict | None  # None: the run has no init.pt
    initial_message: str = ""  # why there is no interpolation
    shortcuts: bool = True
    depth: int = 0
    step: int = 0


def training_images(config, info: dict, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``count`` training images of the run's data set, normalised as the run saw them (no augmentation)."""
    from resnet_edu import data
    from resnet_edu.lanes import dataset_of_run

    dataset = dataset_of_run(config)
    count = min(count, dataset.num_train)
    mean = info.get("mean") or dataset.mean
    std = info.get("std") or dataset.std
    return data.normalize(dataset.train_images[:count], mean, std), dataset.train_labels[:count].clone()


def init_checkpoint_path(store, run_id: str) -> Path:
    """Where a run's initial weights are saved (same format as its last.pt)."""
    return store.checkpoint_dir(run_id) / INIT_CHECKPOINT


def load_net(store, run_id: str, images: int, device: torch.device | str = "cpu") -> Net:
    """The run's newest checkpoint, its first ``images`` training images and its initial state.

    Raises ValueError with a sentence for the user: unknown run, no checkpoint yet, unreadable checkpoint.
    """
    from resnet_edu.runs import RunNotFound
    from resnet_edu.train import load_checkpoint, model_from_checkpoint

    try:
        run = store.get_run(run_id)
        path = store.latest_checkpoint(run_id)
    except RunNotFound as error:
        raise ValueError(str(error)) from None
    if path is None:
        raise ValueError(f"run {run_id} has no checkpoint yet (one is saved at the end of every epoch)")
    model, config, info = model_from_checkpoint(path, device=device)
    x, y = training_images(config, info, images)
    initial, message = None, ""
    init_path = init_checkpoint_path(store, run_id)
    if init_path.is_file():
        try:
            initial = load_checkpoint(init_path, map_location=device)["model"]
        except (ValueError, KeyError) as error:
            message = f"its initial weights could not be read ({error})"
    else:
        message = ("its initial weights were not saved (runs started before the Lab saved them at "
                   "the first step): train it again to see the path from initialisation")
    return Net(run_id=run_id, name=str(run.get("name") or run_id), model=model, images=x, labels=y,
               initial_state=initial, initial_message=message, shortcuts=bool(config.shortcuts),
               depth=int(config.depth), step=int(info.get("step") or 0))


# ---------------------------------------------------------------- the whole computation


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
    interp_ts = _interpolation_ts(settings.interpolation_points)
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
                    entry["loss"][i][j], entry["error"][i][j] = _finite(loss), error
                    done += 1
                    if (i, j) == (settings.grid // 2, settings.grid // 2) and settings.grid % 2:
                        entry["center_loss"], entry["center_error"] = _finite(loss), error
                    if count % PROGRESS_POINTS == 0 and count < len(points):  # progress, and a chance to stop
                        yield Progress(done / total, f"{net.name}: {len(level)}×{len(level)} grid", False, result)
                meter.restore()
                entry["known"] = list(level)
                entry["roughness"] = roughness(_sub_grid(entry["loss"], level))
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
                entry["center_loss"], entry["center_error"] = _finite(loss), error
        result["done"] = True
        result["seconds"] = round(time.perf_counter() - started, 3)
        yield Progress(1.0, "done", True, result)
    finally:
        for meter in meters:
            meter.restore()


def _interpolation_ts(points: int) -> list[float]:
    if not points:
        return []
    low, high = INTERPOLATION_RANGE
    return [low + (high - low) * i / (points - 1) for i in range(points)]


def _sub_grid(grid: list[list], indices: list[int]) -> list[list]:
    return [[grid[i][j] for j in indices] for i in indices]


def _slices_and_paths(nets, meters, result, settings, slice_ts, interp_ts, tick, done_so_far, total):
    count = 0
    for n, (net, meter) in enumerate(zip(nets, meters)):
        entry = result["nets"][n]
        if slice_ts:
            losses, errors = [], []
            for alpha in slice_ts:
                loss, error = meter.at(alpha, 0.0)
                losses.append(_finite(loss))
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
        entry["interpolation"] = _interpolation(net, meter, interp_ts)
        count += len(interp_ts)
        tick(n)
        yield Progress(done_so_far(count) / total, f"{net.name}: initial → trained", True, result)


@torch.inference_mode()
def _interpolation(net: Net, meter: LossMeter, ts: list[float]) -> dict:
    """Loss and error along (1 − t)·θ₀ + t·θ* (weights, BN parameters and running statistics alike)."""
    trained = {k: v.detach().clone() for k, v in net.model.state_dict().items()}
    initial = {k: v.to(trained[k].device) for k, v in net.initial_state.items() if k in trained}
    losses, errors = [], []
    try:
        for t in ts:
            net.model.load_state_dict(interpolate_state(initial, trained, t))
            loss, error = meter.loss()
            losses.append(_finite(loss))
            errors.append(error)
    finally:
        net.model.load_state_dict(trained)
    return {"t": ts, "loss": losses, "error": errors}


def landscape(net: Net, settings: LandscapeSettings, progress: Callable[[float, str], None] | None = None) -> dict:
    """One net's landscape, all at once (the CLI's path): the final per-net dict of :func:`compute`."""
    result = None
    for step in compute([net], settings):
        if progress is not None:
            progress(step.fraction, step.message)
        result = step.result
    return {**result["nets"][0], "seconds": result["seconds"], "precision": result["precision"]}


# ---------------------------------------------------------------- reading a result


def rise_at(entry: dict, distance: float = 0.5) -> float | None:
    """Mean loss rise from θ* to the two points of the 1-D slice nearest ±distance (None without a slice)."""
    path = entry.get("slice") or {}
    alphas, losses = path.get("alphas") or [], path.get("loss") or []
    centre = entry.get("center_loss")
    if not alphas or centre is None:
        return None
    rises = []
    for target in (-distance, distance):
        k = min(range(len(alphas)), key=lambda i: abs(alphas[i] - target))
        if losses[k] is None:
            return None
        rises.append(losses[k] - centre)
    return sum(rises) / len(rises)


def basin_fraction(entry: dict, factor: float = 2.0) -> float | None:
    """Share of the computed grid points whose loss stays below ``factor`` × the loss at θ*: how wide the basin is."""
    centre = entry.get("center_loss")
    values = [v for row in known_grid(entry)[2] for v in row]
    if centre is None or not values:
        return None
    return sum(1 for v in values if v is not None and v < factor * centre) / len(values)


def comparison(plain: dict, residual: dict) -> dict:
    """The numbers the Landscape page reads aloud for a plain net and its residual twin.

    Returns:
        plain_roughness, residual_roughness (mean |second difference| of each grid),
        roughness_ratio (plain ÷ residual), plain_concave, residual_concave (share of negative
        second differences), plain_rise, residual_rise (loss rise at distance 0.5 along the
        1-D slice), rise_ratio, plain_basin, residual_basin (share of the grid below twice the
        trained loss), plain_rougher (True / False / None when not computable).
    """
    a, b = plain.get("roughness") or {}, residual.get("roughness") or {}
    pr, rr = a.get("mean_abs_second_difference"), b.get("mean_abs_second_difference")
    prise, rrise = rise_at(plain), rise_at(residual)
    return {
        "plain_roughness": pr, "residual_roughness": rr,
        "roughness_ratio": pr / rr if pr is not None and rr else None,
        "plain_concave": a.get("concave_fraction"), "residual_concave": b.get("concave_fraction"),
        "plain_rise": prise, "residual_rise": rrise,
        "rise_ratio": prise / rrise if prise is not None and rrise else None,
        "plain_basin": basin_fraction(plain), "residual_basin": basin_fraction(residual),
        "plain_rougher": None if pr is None or rr is None else pr > rr,
    }


def grid_frame(result: dict):
    """The grids of a result as one long table (CSV download): run_id, name, alpha, beta, loss, error."""
    import pandas as pd

    rows = []
    for entry in result.get("nets", []):
        for i, alpha in enumerate(entry["alphas"]):
            for j, beta in enumerate(entry["betas"]):
                if entry["loss"][i][j] is None and entry["error"][i][j] is None:
                    continue
                rows.append({"run_id": entry["run_id"], "name": entry["name"], "shortcuts": entry["shortcuts"],
                             "alpha": alpha, "beta": beta, "loss": entry["loss"][i][j],
                             "error": entry["error"][i][j]})
    return pd.DataFrame(rows, columns=["run_id", "name", "shortcuts", "alpha", "beta", "loss", "error"])


def known_grid(entry: dict) -> tuple[list[float], list[float], list[list[float | None]]]:
    """(alphas, betas, loss) restricted to the points computed so far (a product of known indices)."""
    known = entry.get("known") or []
    alphas = [entry["alphas"][i] for i in known]
    betas = [entry["betas"][j] for j in known]
    return alphas, betas, _sub_grid(entry["loss"], known)


# ---------------------------------------------------------------- as an analysis job

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


__all__ = ["INIT_CHECKPOINT", "LandscapeSettings", "LossMeter", "Net", "Progress", "axis", "comparison", "compute",
           "basin_fraction", "conv_bn_pairs", "fold_batchnorm", "grid_frame", "known_grid", "rise_at",
           "filter_normalize", "init_checkpoint_path", "interpolate_state", "landscape", "landscape_job", "load_net",
           "perturbed_parameters", "random_direction", "random_directions", "refinement_levels", "roughness",
           "training_images"]
