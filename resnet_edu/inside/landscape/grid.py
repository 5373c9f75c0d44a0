"""The (α, β) grid: its axis, the coarse-to-fine order it is computed in, and its empty form.

The grid is computed coarse-to-fine: first 5×5 points of the final grid, then more of its
rows and columns, so a picture is on screen within seconds and sharpens in place. Every
level's points lie on the final grid, so refining never moves a point already computed.
"""

from __future__ import annotations

import math

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
