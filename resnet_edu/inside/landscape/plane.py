"""The plane a loss landscape is drawn on, and the net it passes through.

Li et al. (2018) plot the loss on the plane θ* + α·δ + β·η through a net's trained weights θ*:

* :class:`LandscapeSettings`: what to compute (grid, span, images, seed, precision); stored
  with every result.
* The two directions δ and η (:func:`random_directions`): Gaussian, *filter-normalised*
  (Sec. 4): every filter of a direction (a conv's output filter, a row of the fc layer) is
  rescaled to the norm of the same filter of θ*, so that the scale invariance of ReLU nets
  with BatchNorm cannot make one net look sharper than another.
* The grid of (α, β) points (:func:`axis`, :func:`refinement_levels`): computed coarse to
  fine, first 5×5 points of the final grid, then more of its rows and columns, so a picture
  is on screen within seconds and sharpens in place. Every level's points lie on the final
  grid, so refining never moves a point already computed.
* :class:`Net` and :func:`load_net`: a trained run of the store made ready (its newest
  checkpoint, its first training images as it saw them, its initial weights).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from resnet_edu.devices import PRECISIONS
from resnet_edu.train.checkpoint import INIT_CHECKPOINT

MAX_GRID = 101


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


# --------------------------------------------------------------------------- the two directions

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


# --------------------------------------------------------------------------- the grid of points

COARSE_POINTS = 5  # the first picture: 5×5 points of the final grid


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


def empty_grid(points: int) -> list[list[float | None]]:
    """A points × points grid of None: nothing computed yet."""
    return [[None] * points for _ in range(points)]


def finite_or_none(value: float) -> float | None:
    """The loss as stored: JSON has no NaN or inf, so a diverged point is None."""
    return value if math.isfinite(value) else None


def sub_grid(grid: list[list], indices: list[int]) -> list[list]:
    """The rows and columns ``indices`` of a square grid (the points known after a refinement level)."""
    return [[grid[i][j] for j in indices] for i in indices]


# --------------------------------------------------------------------------- the net the plane passes through

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
    from resnet_edu.data.loaded import dataset_of_run

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
