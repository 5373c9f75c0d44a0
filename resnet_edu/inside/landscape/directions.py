"""The two random directions of the plane, filter-normalised (Li et al. 2018, Sec. 4).

Every filter of a direction (a conv's output filter, a row of the fc layer) is rescaled to
the norm of the same filter of the trained weights θ*, so that the scale invariance of ReLU
nets with BatchNorm cannot make one net look sharper than another.
"""

from __future__ import annotations

import torch
from torch import nn


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
