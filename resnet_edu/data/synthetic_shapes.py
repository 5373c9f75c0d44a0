"""The synthetic set's drawing kit: ten shapes as signed distance functions, and textures.

Every object is a *sprite*: a canonical shape rendered once from its signed distance function
(anti-aliased, in "shape units" where the shape's radius is about 1), then placed in each image
by one batched affine grid_sample (:mod:`resnet_edu.data.synthetic`). Textures are computed from
the same sampling grid, so an object's stripes turn with it. Geometry only: what goes into an
image is :mod:`resnet_edu.data.synthetic`'s choice.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch.nn import functional as F

# The classes of the synthetic set, index = label: each one a shape drawn below.
SYNTHETIC_CLASSES = ("circle", "ring", "square", "frame", "triangle",
                     "cross", "star", "crescent", "heart", "arrow")
SPRITE_EXTENT = 1.3   # a sprite covers [-1.3, 1.3]^2 shape units; every shape fits inside radius 1.2


def _sd_box(px, py, bx, by):
    qx, qy = px.abs() - bx, py.abs() - by
    outside = torch.sqrt(qx.clamp_min(0) ** 2 + qy.clamp_min(0) ** 2)
    return outside + torch.maximum(qx, qy).clamp_max(0)


def _sd_triangle(px, py, p0, p1, p2):
    """Exact signed distance to a triangle (Inigo Quilez's sdTriangle)."""
    (x0, y0), (x1, y1), (x2, y2) = p0, p1, p2
    e = ((x1 - x0, y1 - y0), (x2 - x1, y2 - y1), (x0 - x2, y0 - y2))
    s = math.copysign(1.0, e[0][0] * e[2][1] - e[0][1] * e[2][0])
    best_d2, best_side = None, None
    for (vx0, vy0), (ex, ey) in zip(((x0, y0), (x1, y1), (x2, y2)), e):
        vx, vy = px - vx0, py - vy0
        h = ((vx * ex + vy * ey) / (ex * ex + ey * ey)).clamp(0, 1)
        d2 = (vx - ex * h) ** 2 + (vy - ey * h) ** 2
        side = s * (vx * ey - vy * ex)
        best_d2 = d2 if best_d2 is None else torch.minimum(best_d2, d2)
        best_side = side if best_side is None else torch.minimum(best_side, side)
    return -torch.sqrt(best_d2) * torch.sign(best_side)


def _sd_star5(px, py, r=1.08, rf=0.45):
    """Signed distance to a five-pointed star (Inigo Quilez's sdStar5)."""
    k1x, k1y = 0.809016994375, -0.587785252292
    k2x, k2y = -k1x, k1y
    px = px.abs()
    dot = (k1x * px + k1y * py).clamp_min(0)
    px, py = px - 2 * dot * k1x, py - 2 * dot * k1y
    dot = (k2x * px + k2y * py).clamp_min(0)
    px, py = px - 2 * dot * k2x, py - 2 * dot * k2y
    px = px.abs()
    py = py - r
    bax, bay = rf * -k1y - 0.0, rf * k1x - 1.0
    h = ((px * bax + py * bay) / (bax * bax + bay * bay)).clamp(0, r)
    return torch.sqrt((px - bax * h) ** 2 + (py - bay * h) ** 2) * torch.sign(py * bax - px * bay)


def _sd_heart(px, py):
    """Signed distance to an upright heart (Inigo Quilez's sdHeart), rescaled to radius ~1."""
    scale = 0.62
    qx = (px * scale).abs()
    qy = -py * scale + 0.56          # image y points down; iq's heart has its tip at the origin
    lobe = torch.sqrt((qx - 0.25) ** 2 + (qy - 0.75) ** 2) - math.sqrt(2) / 4
    m = 0.5 * (qx + qy).clamp_min(0)
    body = torch.sqrt(torch.minimum(qx ** 2 + (qy - 1) ** 2, (qx - m) ** 2 + (qy - m) ** 2)) * torch.sign(qx - qy)
    return torch.where(qx + qy > 1, lobe, body) / scale


def _shape_sdf(name: str, px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    r = torch.sqrt(px * px + py * py)
    if name == "circle":
        return r - 1.0
    if name == "ring":                      # hollow circle: the "hollow vs filled" mid-level cue
        return (r - 0.74).abs() - 0.28
    if name == "square":
        return _sd_box(px, py, 0.82, 0.82)
    if name == "frame":                     # hollow square
        return torch.maximum(_sd_box(px, py, 0.86, 0.86), -_sd_box(px, py, 0.38, 0.38))
    if name == "triangle":
        c, s = 1.2 * math.cos(math.pi / 6), 1.2 * math.sin(math.pi / 6)
        return _sd_triangle(px, py, (0.0, -1.2), (c, s), (-c, s))
    if name == "cross":
        return torch.minimum(_sd_box(px, py, 0.98, 0.3), _sd_box(px, py, 0.3, 0.98))
    if name == "star":
        return _sd_star5(px, py)
    if name == "crescent":
        return torch.maximum(r - 1.0, -(torch.sqrt((px - 0.5) ** 2 + (py + 0.15) ** 2) - 0.82))
    if name == "heart":
        return _sd_heart(px, py)
    if name == "arrow":
        shaft = _sd_box(px + 0.35, py, 0.62, 0.2)
        head = _sd_triangle(px, py, (0.05, -0.62), (1.1, 0.0), (0.05, 0.62))
        return torch.minimum(shaft, head)
    raise ValueError(f"unknown shape {name!r}")


@lru_cache(maxsize=4)
def sprite_bank(resolution: int) -> torch.Tensor:
    """(10, 2, R, R) float: anti-aliased fill and outline coverage of each class's shape."""
    coords = (torch.arange(resolution, dtype=torch.float32) + 0.5) / resolution * 2 - 1
    py, px = torch.meshgrid(coords * SPRITE_EXTENT, coords * SPRITE_EXTENT, indexing="ij")
    pixel = 2 * SPRITE_EXTENT / resolution
    bank = torch.empty(len(SYNTHETIC_CLASSES), 2, resolution, resolution)
    for index, name in enumerate(SYNTHETIC_CLASSES):
        d = _shape_sdf(name, px, py)
        bank[index, 0] = (0.5 - d / pixel).clamp(0, 1)                       # fill
        bank[index, 1] = (0.5 - (d.abs() - 0.1) / pixel).clamp(0, 1)         # outline, 0.2 units wide
    return bank


def hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Vectorised HSV -> RGB; inputs (n,) in [0, 1], output (n, 3)."""
    channels = []
    for n in (5.0, 3.0, 1.0):
        k = (n + h * 6.0) % 6.0
        channels.append(v - v * s * torch.minimum(k, 4.0 - k).clamp(0, 1))
    return torch.stack(channels, dim=1)


def texture(kind, u, v, freq, phase_u, phase_v, blobs):
    """Texture weight in [0, 1] for each pixel, (n, H, W).

    kind (n,) picks one of: 0 flat, 1 gradient, 2 stripes, 3 checker, 4 dots, 5 blobs.
    u, v are (n, H, W) coordinates (pixels for backgrounds, shape units for objects).
    Each kind is computed only for the images that use it.
    """
    out = torch.zeros_like(u)
    for k in range(1, 6):
        rows = (kind == k).nonzero()[:, 0]
        if rows.numel() == 0:
            continue
        f = freq[rows, None, None] * (2 * math.pi)
        uu = u[rows]
        if k == 1:
            t = torch.tanh(0.5 * f * uu).mul_(0.5).add_(0.5)
        elif k == 5:     # smooth random blobs: 4x4 noise upsampled
            t = F.interpolate(blobs[rows], size=u.shape[1:], mode="bicubic", align_corners=False)[:, 0]
            t = t.mul_(3.0).add_(0.5)
        else:
            su = torch.sin(f * uu + phase_u[rows, None, None])
            if k == 2:
                t = su.mul_(2.0).add_(0.5)
            else:
                sv = torch.sin(f * v[rows] + phase_v[rows, None, None])
                t = su.mul_(sv).mul_(3.0).add_(0.5) if k == 3 else su.mul_(sv).sub_(0.45).mul_(4.0)
        out[rows] = t.clamp_(0, 1)
    return out
