"""The straight path from a net's initial weights to its trained ones (Goodfellow, Vinyals, Saxe 2015).

The loss along (1 − t)·θ₀ + t·θ* for t in [−0.5, 1.5], with the BN running statistics
interpolated too: a net evaluated with its trained statistics on its initial weights would
show a wrong loss.
"""

from __future__ import annotations

import torch

from resnet_edu.inside.landscape.grid import finite_or_none
from resnet_edu.inside.landscape.loss_meter import LossMeter
from resnet_edu.inside.landscape.nets import Net

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
