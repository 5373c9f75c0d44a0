"""What a landscape computation is asked to do: grid size, span, images, seed, precision.

Its own file because the CLI, the analysis job and the computation all read it, and every
stored result carries these settings.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

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
