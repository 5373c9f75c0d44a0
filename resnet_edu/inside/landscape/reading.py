"""Reading a landscape result: how rough, how wide the basin, a plain net against its twin, as a table.

Works on the result dicts as stored (plain JSON), so a finished job read back from the run
store gives the same numbers as the computation that wrote it.
"""

from __future__ import annotations

from collections.abc import Sequence

from resnet_edu.inside.landscape.plane import sub_grid


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
    return alphas, betas, sub_grid(entry["loss"], known)
