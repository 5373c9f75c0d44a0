"""Data sets for ResNet Lab: one interface for a built-in synthetic set, CIFAR-10 and ImageFolder trees.

Every data set is decoded once into uint8 tensors (``ImageDataset``); training never touches PIL
per step. ``BatchStream`` keeps the training images on the training device and augments whole
batches on tensors (pad-4 random crop + flip, paper Sec. 4.2; or the ImageNet recipe of Sec. 3.4
scaled to the image size). Decoded image folders are cached on disk under ``<root>/.cache/``.

    name          what                                                        needs
    synthetic     10 shape classes, 32x32, generated from a seed in ~1-2 s    nothing (offline)
    cifar10       torchvision CIFAR10 (50k / 10k)                             cifar-10-python.tar.gz in the data root
    imagenette    fast.ai's 10 ImageNet classes (9.5k / 3.9k photos)          imagenette2-160.tgz or -320.tgz there
    imagefolder   any ImageFolder tree with train/ and val/ or test/          a folder

The synthetic set is a real learning problem at three levels: *low* (colour, edges), *mid*
(textures, corners, hollow vs filled) and *high* (shape identity). The label is the identity of
the largest shape (circle, ring, square, frame, triangle, cross, star, crescent, heart, arrow).
Its position, size, tilt, outline, colour and texture are random; colour, texture and background
hue are tied to the class only some of the time (cues a net picks up early, as it picks up sky
and grass on CIFAR-10), so colour alone cannot solve it. Each object sits on a muted textured
background among up to two smaller distractor shapes of any class and a stray line, under
pixel noise. In lockstep training from the same batches, plain-56 falls >= 5 points behind
plain-20 in training error within ~50 iterations, as on CIFAR-10 (benchmarks/synthetic_check.py).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import io
import json
import math
import os
import struct
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from resnet_edu import downloads
from resnet_edu.data_root import DataUnavailable, default_data_root  # noqa: F401 (part of this module's API)

DATASETS = ("synthetic", "cifar10", "imagenette", "imagefolder")
AUGMENTATIONS = ("cifar", "imagenet", "none")
SYNTHETIC_CLASSES = ("circle", "ring", "square", "frame", "triangle",
                     "cross", "star", "crescent", "heart", "arrow")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp", ".gif")
_CACHE_VERSION = 1

# AlexNet's PCA of ImageNet RGB pixels (Krizhevsky et al. 2012), as used by fb.resnet.torch,
# the reference ResNet implementation: eigenvalues and eigenvectors (columns).
_PCA_EIGVAL = (0.2175, 0.0188, 0.0045)
_PCA_EIGVEC = ((-0.5675, 0.7192, 0.4009),
               (-0.5808, -0.0045, -0.8140),
               (-0.5836, -0.6948, 0.4203))

Progress = Callable[[float, str], None]


class BadDataFolder(ValueError):
    """An image folder that cannot be used: missing, a file, one class, no or unreadable images."""


class BadImage(ValueError):
    """An uploaded file that is not a usable image: not an image, truncated, too large, a bomb."""


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """A whole data set as uint8 tensors on the CPU, plus what is needed to normalise it."""

    name: str                          # "synthetic", "cifar10", "imagefolder:<folder name>"
    train_images: torch.Tensor         # uint8 (N, 3, H, W), CPU
    train_labels: torch.Tensor         # int64 (N,), class indices
    test_images: torch.Tensor          # uint8 (M, 3, H, W), CPU
    test_labels: torch.Tensor          # int64 (M,)
    classes: tuple[str, ...]           # human-readable class names, index = label
    mean: tuple[float, float, float]   # per-channel mean of the train images, in [0, 1]
    std: tuple[float, float, float]    # per-channel std of the train images, in [0, 1]

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            images, labels = getattr(self, f"{split}_images"), getattr(self, f"{split}_labels")
            if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
                raise ValueError(f"{split}_images must be uint8 (N, 3, H, W), got {images.dtype} {tuple(images.shape)}")
            if labels.dtype != torch.int64 or labels.shape != (images.shape[0],):
                raise ValueError(f"{split}_labels must be int64 ({images.shape[0]},), got {labels.dtype} {tuple(labels.shape)}")

    @property
    def image_size(self) -> int:
        return int(self.train_images.shape[-1])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def num_train(self) -> int:
        return int(self.train_images.shape[0])

    @property
    def num_test(self) -> int:
        return int(self.test_images.shape[0])

    def summary(self) -> dict:
        """Plain-JSON description, stored with every run as provenance."""
        return {"name": self.name, "num_train": self.num_train, "num_test": self.num_test,
                "image_size": self.image_size, "classes": list(self.classes),
                "mean": [round(m, 4) for m in self.mean], "std": [round(s, 4) for s in self.std]}


# --------------------------------------------------------------------------- helpers

def _report(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(min(max(float(fraction), 0.0), 1.0), message)


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from any tuple of ints/strings, stable across runs and platforms."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & 0x7FFF_FFFF_FFFF_FFFF


def _generator(*parts: object) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(*parts))


def channel_stats(images_uint8: torch.Tensor) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Per-channel mean and std of uint8 images, in [0, 1] units (exact, from 256-bin histograms)."""
    if images_uint8.numel() == 0:
        return (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
    values = torch.arange(256, dtype=torch.float64) / 255.0
    means, stds = [], []
    for c in range(3):
        counts = torch.bincount(images_uint8[:, c].reshape(-1), minlength=256).to(torch.float64)
        total = counts.sum()
        mean = (counts * values).sum() / total
        var = (counts * (values - mean) ** 2).sum() / total
        means.append(float(mean))
        stds.append(float(var.clamp_min(1e-12).sqrt()))
    return tuple(means), tuple(stds)


def _subset(images: torch.Tensor, labels: torch.Tensor, limit: int | None, seed: int, split: str):
    """A seeded random subset of at most ``limit`` examples (all of them if limit is None)."""
    if limit is None or limit >= labels.shape[0]:
        return images, labels
    if limit < 1:
        raise ValueError(f"max_{split} must be at least 1, not {limit}")
    keep = torch.randperm(labels.shape[0], generator=_generator(seed, "subset", split))[:limit].sort().values
    return images[keep].contiguous(), labels[keep].contiguous()


def balanced_subset(labels: torch.Tensor, count: int) -> torch.Tensor:
    """Indices (ascending) of ``count`` images with every class as equally represented as the data allows.

    Chosen at random but always the same (a fixed seed): a quick run on 1,000 images of an
    image folder gets about 100 of each of its 10 classes, not the first classes only.
    """
    n = labels.shape[0]
    order = torch.randperm(n, generator=_generator("balanced subset"))
    shuffled = labels[order].long()
    one_hot = F.one_hot(shuffled, int(shuffled.max()) + 1 if n else 1)              # (N, classes)
    rank_in_class = (one_hot.cumsum(0) * one_hot).sum(1) - 1                        # 0, 1, 2 … per class
    round_robin = torch.argsort(rank_in_class * n + torch.arange(n), stable=True)  # class by class, by rank
    return order[round_robin[:count]].sort().values


def _make_dataset(name, train_images, train_labels, test_images, test_labels, classes) -> ImageDataset:
    mean, std = channel_stats(train_images)
    return ImageDataset(name=name, train_images=train_images.contiguous(), train_labels=train_labels.long(),
                        test_images=test_images.contiguous(), test_labels=test_labels.long(),
                        classes=tuple(classes), mean=mean, std=std)


# --------------------------------------------------------------------------- synthetic data set
#
# Every object is a *sprite*: a canonical shape rendered once from its signed distance function
# (anti-aliased, in "shape units" where the shape's radius is about 1), then placed in each
# image by one batched affine grid_sample (position, scale, rotation). Textures are computed
# from the same sampling grid, so an object's stripes turn with it.

_SPRITE_EXTENT = 1.3   # a sprite covers [-1.3, 1.3]^2 shape units; every shape fits inside radius 1.2


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
def _sprite_bank(resolution: int) -> torch.Tensor:
    """(10, 2, R, R) float: anti-aliased fill and outline coverage of each class's shape."""
    coords = (torch.arange(resolution, dtype=torch.float32) + 0.5) / resolution * 2 - 1
    py, px = torch.meshgrid(coords * _SPRITE_EXTENT, coords * _SPRITE_EXTENT, indexing="ij")
    pixel = 2 * _SPRITE_EXTENT / resolution
    bank = torch.empty(len(SYNTHETIC_CLASSES), 2, resolution, resolution)
    for index, name in enumerate(SYNTHETIC_CLASSES):
        d = _shape_sdf(name, px, py)
        bank[index, 0] = (0.5 - d / pixel).clamp(0, 1)                       # fill
        bank[index, 1] = (0.5 - (d.abs() - 0.1) / pixel).clamp(0, 1)         # outline, 0.2 units wide
    return bank


def _hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Vectorised HSV -> RGB; inputs (n,) in [0, 1], output (n, 3)."""
    channels = []
    for n in (5.0, 3.0, 1.0):
        k = (n + h * 6.0) % 6.0
        channels.append(v - v * s * torch.minimum(k, 4.0 - k).clamp(0, 1))
    return torch.stack(channels, dim=1)


def _texture(kind, u, v, freq, phase_u, phase_v, blobs):
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


@dataclass(frozen=True)
class _SynthSpec:
    """Knobs of the synthetic generator, tuned so that plain-20 learns about as early as on CIFAR-10.

    Probabilities in [0, 1]; positions and radii in half image widths; colours in HSV, [0, 1].
    The class-tied cues (hue, texture, context) give a net something to learn in its first few
    dozen steps, as colour and context do on CIFAR-10 (a logistic regression on a colour
    histogram gets ~30% here, ~27% on CIFAR-10); only shape identifies the class in every image.
    """

    class_hue_prob: float = 0.6         # object hue = the class's own hue (else random): low-level cue
    class_texture_prob: float = 0.5     # object texture = the class's texture (else random): mid-level cue
    class_bg_prob: float = 0.4          # background hue = the class's "context" hue (else random)
    radius: tuple[float, float] = (0.5, 0.82)       # object radius: 8 to 13 px at 32x32
    rotation: float = 0.3               # object rotation in [-0.3, 0.3] rad (~17 deg): objects stay upright
    distractors: tuple[float, ...] = (0.3, 0.4, 0.3, 0.0)       # P(0, 1, 2, 3 distractor shapes)
    distractor_size: tuple[float, float] = (0.25, 0.45)         # radius relative to the object's
    bg_saturation: tuple[float, float] = (0.0, 0.45)  # muted backgrounds ...
    fg_saturation: tuple[float, float] = (0.5, 1.0)   # ... vivid objects
    bg_contrast: tuple[float, float] = (0.05, 0.25)   # value difference of the two background colours
    fg_contrast: tuple[float, float] = (0.18, 0.55)   # value difference between object and background
    line_prob: float = 0.4              # a stray line (an edge that belongs to no object)
    noise: tuple[float, float] = (0.01, 0.06)       # pixel noise std


_SPEC = _SynthSpec()


def _sample_params(n: int, generator: torch.Generator, labels: torch.Tensor,
                   spec: _SynthSpec | None = None) -> dict[str, torch.Tensor]:
    """All per-image random choices of one split, drawn up front (so chunking does not matter)."""
    g = generator
    spec = spec or _SPEC
    k = len(SYNTHETIC_CLASSES)

    def uniform(low, high, *shape):
        return low + (high - low) * torch.rand(n, *shape, generator=g)

    p: dict[str, torch.Tensor] = {"label": labels}
    # Main object: position (normalised [-1, 1] image coords), radius, rotation.
    p["cx"], p["cy"] = uniform(-0.32, 0.32), uniform(-0.32, 0.32)
    p["radius"] = uniform(*spec.radius)
    p["angle"] = uniform(-spec.rotation, spec.rotation)
    # Background: value, two colours, a texture.
    bg_value = uniform(0.1, 0.9)
    context_hue = (labels.float() / k + 0.55 + 0.04 * torch.randn(n, generator=g)) % 1.0
    bg_hue = torch.where(torch.rand(n, generator=g) < spec.class_bg_prob, context_hue, torch.rand(n, generator=g))
    p["bg1"] = _hsv_to_rgb(bg_hue, uniform(*spec.bg_saturation), bg_value)
    bg_value2 = (bg_value + uniform(*spec.bg_contrast) * (torch.randint(0, 2, (n,), generator=g) * 2 - 1)).clamp(0.03, 1)
    p["bg2"] = _hsv_to_rgb((bg_hue + uniform(-0.15, 0.15)) % 1.0, uniform(*spec.bg_saturation), bg_value2)
    p["bg_kind"] = torch.randint(0, 6, (n,), generator=g)
    p["bg_freq"] = uniform(1 / 10, 1 / 4)           # cycles per pixel
    p["bg_rot"] = uniform(0, 2 * math.pi)
    p["bg_phase"] = uniform(0, 2 * math.pi, 2)
    # Foreground: contrasted against the background in value; hue random, only weakly tied to
    # the class (a low-level cue that helps a little and cannot solve the task).
    contrast = uniform(*spec.fg_contrast)
    fg_value = torch.where(bg_value < 0.5, bg_value + contrast, bg_value - contrast).clamp(0.03, 1)
    class_hue = labels.float() / k + 0.04 * torch.randn(n, generator=g)
    hue = torch.where(torch.rand(n, generator=g) < spec.class_hue_prob, class_hue % 1.0, torch.rand(n, generator=g))
    p["fg1"] = _hsv_to_rgb(hue, uniform(*spec.fg_saturation), fg_value)
    hue2 = (hue + uniform(-0.3, 0.3)) % 1.0
    p["fg2"] = _hsv_to_rgb(hue2, uniform(0.2, 1.0), (fg_value * uniform(0.55, 1.0)).clamp(0.03, 1))
    p["fg_kind"] = torch.where(torch.rand(n, generator=g) < spec.class_texture_prob, labels % 6,
                               torch.randint(0, 6, (n,), generator=g))
    p["fg_freq"] = uniform(0.7, 1.6)                # cycles per shape unit
    p["fg_phase"] = uniform(0, 2 * math.pi, 2)
    p["outline"] = (torch.rand(n, generator=g) < 0.35).float()
    p["outline_rgb"] = _hsv_to_rgb(torch.rand(n, generator=g), uniform(0, 0.6),
                                   torch.where(fg_value < 0.5, uniform(0.75, 1.0), uniform(0.0, 0.2)))
    # Distractors: smaller shapes of any class, behind the main object.
    p["n_distract"] = torch.multinomial(torch.tensor(spec.distractors), n, replacement=True, generator=g)
    p["d_label"] = torch.randint(0, len(SYNTHETIC_CLASSES), (n, 3), generator=g)
    p["d_cx"], p["d_cy"] = uniform(-0.85, 0.85, 3), uniform(-0.85, 0.85, 3)
    p["d_radius"] = p["radius"][:, None] * uniform(*spec.distractor_size, 3)
    p["d_angle"] = uniform(0, 2 * math.pi, 3)
    p["d_rgb"] = _hsv_to_rgb(torch.rand(3 * n, generator=g), uniform(0, 1, 3).flatten(),
                             uniform(0.05, 1, 3).flatten()).view(n, 3, 3)
    # A stray line (an edge that belongs to no object) in half of the images.
    p["line"] = torch.rand(n, generator=g) < spec.line_prob
    p["line_ends"] = uniform(-1, 1, 4)
    p["line_width"] = uniform(0.5, 1.2)             # pixels
    p["line_rgb"] = _hsv_to_rgb(torch.rand(n, generator=g), uniform(0, 1), uniform(0.05, 1))
    # Pixel noise.
    p["noise"] = uniform(*spec.noise)
    return p


def _place(bank: torch.Tensor, labels, cx, cy, radius, angle, size: int):
    """Sample class sprites into (n, C, size, size) coverage maps; also return the grid (shape units)."""
    cos, sin = torch.cos(angle), torch.sin(angle)
    scale = 1.0 / (radius * _SPRITE_EXTENT)
    # Output (x, y) -> sprite coords: R(-angle) (p - c) / (radius * extent), as an affine grid.
    coords = (torch.arange(size, dtype=torch.float32) * 2 + 1) / size - 1                # pixel centres
    dx = coords[None, None, :] - cx[:, None, None]                                      # (n, 1, S)
    dy = coords[None, :, None] - cy[:, None, None]                                      # (n, S, 1)
    grid = torch.empty(labels.shape[0], size, size, 2)
    torch.add((cos * scale)[:, None, None] * dx, (sin * scale)[:, None, None] * dy, out=grid[..., 0])
    torch.sub((cos * scale)[:, None, None] * dy, (sin * scale)[:, None, None] * dx, out=grid[..., 1])
    coverage = torch.empty(labels.shape[0], bank.shape[1], size, size)
    for index in range(bank.shape[0]):
        # One class at a time from an expanded (not copied) sprite: much faster than bank[labels].
        rows = (labels == index).nonzero()[:, 0]
        sprite = bank[index:index + 1].expand(rows.shape[0], -1, -1, -1)
        coverage[rows] = F.grid_sample(sprite, grid[rows], mode="bilinear", padding_mode="zeros", align_corners=False)
    return coverage, grid * _SPRITE_EXTENT


def _render(p: dict[str, torch.Tensor], size: int, blobs: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Render one chunk of images from their parameters and unit noise; returns uint8 (n, 3, size, size)."""
    big = _sprite_bank(64)
    small = _sprite_bank(24)[:, :1]                 # distractors: fill only
    pixel_coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    yy, xx = torch.meshgrid(pixel_coords, pixel_coords, indexing="ij")

    # Background: two colours mixed by a texture in rotated pixel coordinates.
    c, s = torch.cos(p["bg_rot"])[:, None, None], torch.sin(p["bg_rot"])[:, None, None]
    u, v = c * xx + s * yy, -s * xx + c * yy
    t = _texture(p["bg_kind"], u, v, p["bg_freq"], p["bg_phase"][:, 0], p["bg_phase"][:, 1], blobs)[:, None]
    img = torch.lerp(p["bg1"][:, :, None, None].expand(-1, -1, size, size),
                     p["bg2"][:, :, None, None].expand(-1, -1, size, size), t)              # (n, 3, S, S)

    # Clutter behind the main object: a stray line and small distractor shapes (up to three slots).
    rows = p["line"].nonzero()[:, 0]
    x0, y0, x1, y1 = (p["line_ends"][rows, i, None, None] * size / 2 for i in range(4))
    ex, ey = x1 - x0, y1 - y0
    h = (((xx - x0) * ex + (yy - y0) * ey) / (ex * ex + ey * ey + 1e-6)).clamp_(0, 1)
    dist = torch.sqrt((xx - x0 - ex * h) ** 2 + (yy - y0 - ey * h) ** 2)
    alpha = (p["line_width"][rows, None, None] + 0.5 - dist).clamp_(0, 1)[:, None]
    img[rows] = img[rows].lerp_(p["line_rgb"][rows, :, None, None].expand(-1, -1, size, size), alpha)
    for k in range(3):
        rows = (p["n_distract"] > k).nonzero()[:, 0]            # only the images that have a k-th one
        cover, _ = _place(small, p["d_label"][rows, k], p["d_cx"][rows, k], p["d_cy"][rows, k],
                          p["d_radius"][rows, k], p["d_angle"][rows, k], size)
        img[rows] = img[rows].lerp_(p["d_rgb"][rows, k, :, None, None].expand(-1, -1, size, size), cover)

    # The main object, textured in its own (rotating) coordinates, optionally outlined.
    cover, grid = _place(big, p["label"], p["cx"], p["cy"], p["radius"], p["angle"], size)
    t = _texture(p["fg_kind"], grid[..., 0], grid[..., 1], p["fg_freq"], p["fg_phase"][:, 0],
                 p["fg_phase"][:, 1], blobs.flip(-1))[:, None]
    fill = torch.lerp(p["fg1"][:, :, None, None].expand(-1, -1, size, size),
                      p["fg2"][:, :, None, None].expand(-1, -1, size, size), t)
    img.lerp_(fill, cover[:, :1])
    img.lerp_(p["outline_rgb"][:, :, None, None].expand_as(img), cover[:, 1:] * p["outline"][:, None, None, None])

    img.add_(noise.mul_(p["noise"][:, None, None, None]))
    return img.clamp_(0, 1).mul_(255).round_().to(torch.uint8)


_NOISE_BLOCK = 1000   # per-pixel randomness is drawn per block of this many images, from (seed, split, block)


def _synthetic_split(num: int, seed: int, split: str, image_size: int, progress: Progress | None,
                     done: float, share: float, chunk: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    g = _generator(seed, "synthetic", split)
    k = len(SYNTHETIC_CLASSES)
    labels = (torch.arange(num) % k)[torch.randperm(num, generator=g)]               # balanced
    params = _sample_params(num, g, labels)
    images = torch.empty(num, 3, image_size, image_size, dtype=torch.uint8)
    # Big chunks mean few parallel regions (fast on a busy machine); ~4000 images at 32x32 is
    # ~300 MB of temporaries. The images do not depend on the chunk size.
    if chunk is None:
        chunk = max(1, (4 * 32 * 32) // (image_size * image_size)) * _NOISE_BLOCK
    for start in range(0, num, chunk):
        stop = min(start + chunk, num)
        blobs, noise = [], []
        for block in range(start, stop, _NOISE_BLOCK):
            size = min(block + _NOISE_BLOCK, stop) - block
            gb = _generator(seed, "synthetic", split, block)
            blobs.append(torch.randn(size, 1, 4, 4, generator=gb))
            noise.append(torch.randn(size, 3, image_size, image_size, generator=gb))
        part = {key: value[start:stop] for key, value in params.items()}
        images[start:stop] = _render(part, image_size, torch.cat(blobs), torch.cat(noise))
        _report(progress, done + share * stop / num, f"Generating synthetic {split} images: {stop:,}/{num:,}")
    return images, labels


def make_synthetic(num_train: int = 10000, num_test: int = 2000, seed: int = 0, image_size: int = 32,
                   progress: Progress | None = None) -> ImageDataset:
    """Generate the built-in synthetic data set: 10 shape classes, deterministic for a seed.

    Args:
        num_train: training images (classes balanced to within one image).
        num_test: test images, drawn independently of the training images.
        seed: the same seed gives bit-identical images on every machine with the same torch.
        image_size: side of the square images (shapes scale with it).
        progress: optional ``progress(fraction, message)`` callback.
    """
    if num_train < 1 or num_test < 1:
        raise ValueError(f"need at least one training and one test image, got {num_train} and {num_test}")
    if image_size < 8:
        raise ValueError(f"image_size must be at least 8, got {image_size}")
    share = num_train / (num_train + num_test)
    train_images, train_labels = _synthetic_split(num_train, seed, "train", image_size, progress, 0.0, share)
    test_images, test_labels = _synthetic_split(num_test, seed, "test", image_size, progress, share, 1 - share)
    return _make_dataset("synthetic", train_images, train_labels, test_images, test_labels, SYNTHETIC_CLASSES)


# --------------------------------------------------------------------------- decoding and caching

def _pil():
    from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError
    return Image, ImageFile, ImageOps, UnidentifiedImageError


def _to_rgb(img):
    """RGB image; transparent parts composited on white (what a viewer shows)."""
    Image = _pil()[0]
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, img).convert("RGB")
    return img.convert("RGB")


def _resize_center_crop(img, size: int):
    """Resize the shorter side to ``size`` (antialiased bilinear), then take the central square."""
    Image = _pil()[0]
    w, h = img.size
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), Image.BILINEAR)
    left, top = (nw - size) // 2, (nh - size) // 2
    if (nw, nh) != (size, size):
        img = img.crop((left, top, left + size, top + size))
    return img


def _pil_to_tensor(img) -> torch.Tensor:
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


def _decode_file(path: Path, size: int) -> torch.Tensor:
    Image, _, ImageOps, _ = _pil()
    try:
        with Image.open(path) as img:
            img.draft("RGB", (size, size))          # JPEG: decode at a reduced scale, much faster
            img = ImageOps.exif_transpose(img)
            return _pil_to_tensor(_resize_center_crop(_to_rgb(img), size))
    except Exception as error:  # noqa: BLE001 - any decoder failure means this file is unusable
        raise BadDataFolder(f"cannot read image {path}: {error}. Remove or replace this file and try again.") from error


def _cache_dir(root: Path) -> list[Path]:
    override = os.environ.get("RESNET_EDU_CACHE_DIR")
    if override:
        return [Path(override)]
    return [root / ".cache", Path.home() / ".cache" / "resnet_edu"]


def _cache_load(name: str, key: str, root: Path) -> dict | None:
    for folder in _cache_dir(root):
        path = folder / f"{name}-{key}.pt"
        if path.is_file():
            try:
                return torch.load(path, map_location="cpu", weights_only=True)
            except Exception:  # noqa: BLE001 - a damaged cache entry is rebuilt
                continue
    return None


def _marked_read_only(folder: Path) -> bool:
    """True for a folder (or its nearest existing parent) with no write bit at all: even root
    (who may write anywhere) should not put a cache into a data folder shared read-only."""
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    try:
        return not folder.stat().st_mode & 0o222
    except OSError:
        return True


def _cache_save(name: str, key: str, root: Path, payload: dict) -> Path | None:
    for folder in _cache_dir(root):
        if _marked_read_only(folder):
            continue
        tmp = folder / f".{name}-{key}.{os.getpid()}.tmp"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{name}-{key}.pt"
            torch.save(payload, tmp)
            os.replace(tmp, path)               # atomic: a reader never sees half a file
            return path
        except (OSError, RuntimeError):         # a full disk: torch's writer raises RuntimeError
            tmp.unlink(missing_ok=True)         # the data still trains, from memory
            continue
    return None


def _decode_files(files: Sequence[Path], size: int, progress: Progress | None, done: float, share: float,
                  what: str) -> torch.Tensor:
    """Decode image files into one uint8 (N, 3, size, size) tensor, in threads (PIL releases the GIL)."""
    out = torch.empty(len(files), 3, size, size, dtype=torch.uint8)
    if not files:
        return out
    workers = max(1, min(8, (os.cpu_count() or 1)))
    step = max(64, len(files) // 50)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for start in range(0, len(files), step):
            batch = files[start:start + step]
            for offset, tensor in enumerate(pool.map(_decode_file, batch, [size] * len(batch))):
                out[start + offset] = tensor
            stop = start + len(batch)
            _report(progress, done + share * stop / len(files), f"Decoding {what} images: {stop:,}/{len(files):,}")
    return out


# --------------------------------------------------------------------------- image folders

def _list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _class_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _scan_split(folder: Path, class_names: Sequence[str] | None) -> tuple[list[Path], list[int], list[str]]:
    dirs = _class_dirs(folder)
    if class_names is None:
        class_names = [d.name for d in dirs if _list_images(d)]
    index = {name: i for i, name in enumerate(class_names)}
    files, labels = [], []
    for d in dirs:
        images = _list_images(d)
        if not images:
            continue
        if d.name not in index:
            raise BadDataFolder(f"{folder} has a class folder {d.name!r} that the training folder does not have; "
                                f"training classes are: {', '.join(class_names)}")
        files += images
        labels += [index[d.name]] * len(images)
    return files, labels, list(class_names)


def _limit_files(files, labels, limit, seed, split):
    if limit is None or limit >= len(files):
        return files, labels
    if limit < 1:
        raise ValueError(f"max_{split} must be at least 1, not {limit}")
    keep = torch.randperm(len(files), generator=_generator(seed, "subset", split))[:limit].sort().values.tolist()
    return [files[i] for i in keep], [labels[i] for i in keep]


def load_imagefolder(root: str | os.PathLike, *, image_size: int = 32, seed: int = 0,
                     progress: Progress | None = None, max_train: int | None = None,
                     max_test: int | None = None) -> ImageDataset:
    """Decode an ImageFolder tree (``train/`` and ``val/`` or ``test/``, one sub-folder per class).

    A folder with class sub-folders directly (no ``train/``) is split 5:1 into train/test with the
    seed. Images are resized (shorter side to ``image_size``, centre crop) once and cached under
    ``<root>/.cache/`` (or ``~/.cache/resnet_edu`` when the root is read-only), keyed by the file
    list, sizes, modification times and ``image_size``.

    Raises:
        BadDataFolder: missing path, a file, fewer than two classes, no images, an unreadable image.
    """
    if image_size < 8:
        raise ValueError(f"image_size must be at least 8, got {image_size}")
    folder = Path(root).expanduser()
    layout_help = ("Expected <folder>/train/<class>/*.jpg and <folder>/val/<class>/*.jpg (or test/), "
                   "e.g. Imagenette or Tiny-ImageNet, with at least two classes.")
    if not folder.exists():
        raise BadDataFolder(f"the data folder {folder} does not exist. {layout_help}")
    if not folder.is_dir():
        raise BadDataFolder(f"{folder} is a file, not a folder. {layout_help}")
    folder = folder.resolve()
    train_dir = next((folder / n for n in ("train", "training") if (folder / n).is_dir()), None)
    test_dir = next((folder / n for n in ("val", "test", "valid", "validation") if (folder / n).is_dir()), None)

    _report(progress, 0.0, f"Scanning {folder.name}")
    if train_dir is None:
        files, labels, classes = _scan_split(folder, None)
        order = torch.randperm(len(files), generator=_generator(seed, "split")).tolist()
        n_test = len(files) // 6
        test_files, test_labels = [files[i] for i in order[:n_test]], [labels[i] for i in order[:n_test]]
        files, labels = [files[i] for i in order[n_test:]], [labels[i] for i in order[n_test:]]
        pairs = sorted(zip(files, labels))
        files, labels = [f for f, _ in pairs], [lab for _, lab in pairs]
        pairs = sorted(zip(test_files, test_labels))
        test_files, test_labels = [f for f, _ in pairs], [lab for _, lab in pairs]
    else:
        files, labels, classes = _scan_split(train_dir, None)
        if test_dir is not None:
            test_files, test_labels, _ = _scan_split(test_dir, classes)
        else:
            test_files, test_labels = [], []
    if not files:
        raise BadDataFolder(f"no images found in {train_dir or folder} (looked for {', '.join(IMAGE_EXTENSIONS)}). "
                            f"{layout_help}")
    if len(classes) < 2:
        raise BadDataFolder(f"{train_dir or folder} has only one class ({classes[0]!r}); a classifier needs "
                            f"at least two class folders. {layout_help}")
    if not test_files:
        raise BadDataFolder(f"no test images in {folder}: add a val/ or test/ folder with the same classes. "
                            f"{layout_help}")
    files, labels = _limit_files(files, labels, max_train, seed, "train")
    test_files, test_labels = _limit_files(test_files, test_labels, max_test, seed, "test")

    def signature(paths):
        out = []
        for p in paths:
            st = p.stat()
            out.append([str(p.relative_to(folder)), st.st_size, st.st_mtime_ns])
        return out

    key_source = json.dumps({"v": _CACHE_VERSION, "source": "imagefolder", "root": str(folder),
                             "size": image_size, "classes": classes, "train": signature(files),
                             "test": signature(test_files), "train_labels": labels,
                             "test_labels": test_labels})
    key = hashlib.sha1(key_source.encode()).hexdigest()[:20]
    cache_name = f"imagefolder-{_safe(folder.name)}-{image_size}px"
    name = f"imagefolder:{folder.name}"
    cached = _cache_load(cache_name, key, folder)
    if cached is not None:
        _report(progress, 1.0, f"Loaded {len(files) + len(test_files):,} decoded images from the cache")
        return ImageDataset(name=name, train_images=cached["train_images"], train_labels=cached["train_labels"],
                            test_images=cached["test_images"], test_labels=cached["test_labels"],
                            classes=tuple(cached["classes"]), mean=tuple(cached["mean"]), std=tuple(cached["std"]))
    share = len(files) / (len(files) + len(test_files))
    train_images = _decode_files(files, image_size, progress, 0.0, share, "training")
    test_images = _decode_files(test_files, image_size, progress, share, 1 - share, "test")
    dataset = _make_dataset(name, train_images, torch.tensor(labels, dtype=torch.int64),
                            test_images, torch.tensor(test_labels, dtype=torch.int64), classes)
    _cache_save(cache_name, key, folder, {
        "train_images": dataset.train_images, "train_labels": dataset.train_labels,
        "test_images": dataset.test_images, "test_labels": dataset.test_labels,
        "classes": list(dataset.classes), "mean": list(dataset.mean), "std": list(dataset.std)})
    _report(progress, 1.0, f"Decoded {len(files) + len(test_files):,} images")
    return dataset


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)[:40] or "folder"


# --------------------------------------------------------------------------- CIFAR-10

def _cifar_unavailable(root: Path, reason: str) -> DataUnavailable:
    return DataUnavailable(downloads.unavailable_message(downloads.CIFAR10, root, reason))


def load_cifar10(root: str | os.PathLike | None = None, *, image_size: int = 32, seed: int = 0,
                 progress: Progress | None = None, download: bool = False,
                 max_train: int | None = None, max_test: int | None = None) -> ImageDataset:
    """CIFAR-10 (50k train / 10k test) from the data root, unpacking or downloading it if needed.

    Raises:
        DataUnavailable: not in the data root and ``download`` is False or the download fails.
    """
    root = Path(root) if root is not None else default_data_root()
    batches = root / downloads.CIFAR10.folder
    # downloaded (resumable, MD5-checked) or unpacked from an archive placed by hand; never half-unpacked
    downloads.prepare(downloads.CIFAR10, root, download=download,
                      progress=lambda step: _report(progress, 0.95 * step.fraction, f"CIFAR-10: {step.describe()}"))
    _report(progress, 0.95, "Loading CIFAR-10")
    try:
        from torchvision.datasets import CIFAR10
        train = CIFAR10(str(root), train=True, download=False)
        test = CIFAR10(str(root), train=False, download=False)
    except (RuntimeError, OSError, ValueError, EOFError) as error:
        raise _cifar_unavailable(root, f"the files in {batches} could not be read ({error}).") from error
    train_images = torch.from_numpy(train.data).permute(0, 3, 1, 2).contiguous()
    test_images = torch.from_numpy(test.data).permute(0, 3, 1, 2).contiguous()
    train_labels = torch.tensor(train.targets, dtype=torch.int64)
    test_labels = torch.tensor(test.targets, dtype=torch.int64)
    train_images, train_labels = _subset(train_images, train_labels, max_train, seed, "train")
    test_images, test_labels = _subset(test_images, test_labels, max_test, seed, "test")
    if image_size != 32:
        train_images = resize_images(train_images, image_size)
        test_images = resize_images(test_images, image_size)
    _report(progress, 1.0, "CIFAR-10 ready")
    return _make_dataset("cifar10", train_images, train_labels, test_images, test_labels, train.classes)


def resize_images(images_uint8: torch.Tensor, size: int, chunk: int = 2048) -> torch.Tensor:
    """Resize square uint8 images to ``size`` (antialiased bilinear), in chunks."""
    out = torch.empty(images_uint8.shape[0], 3, size, size, dtype=torch.uint8)
    for start in range(0, images_uint8.shape[0], chunk):
        x = images_uint8[start:start + chunk].float()
        y = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[start:start + chunk] = y.round_().clamp_(0, 255).to(torch.uint8)
    return out


# --------------------------------------------------------------------------- one entry point

def load_imagenette(root: str | os.PathLike | None = None, *, image_size: int = 64, seed: int = 0,
                    progress: Callable[[float, str], None] | None = None, download: bool = False,
                    max_train: int | None = None, max_test: int | None = None):
    """Imagenette's ``train/`` and ``val/`` decoded at ``image_size`` (an ImageDataset named "imagenette").

    Class names are Imagenette's words ("tench", "church", ...), not WordNet ids.

    Raises:
        DataUnavailable: neither variant is in the data root (and ``download`` is off or failed).
    """
    root = Path(root if root is not None else default_data_root())
    archive = downloads.imagenette_archive(image_size, root)

    def report(step: downloads.Progress) -> None:
        if progress is not None:
            progress(0.5 * step.fraction, step.describe())

    folder = downloads.prepare(archive, root, download=download, progress=report)

    def decoding(fraction: float, message: str) -> None:
        if progress is not None:
            progress(0.5 + 0.5 * fraction, message)

    dataset = load_imagefolder(folder, image_size=image_size, seed=seed, progress=decoding,
                               max_train=max_train, max_test=max_test)
    classes = tuple(downloads.IMAGENETTE_CLASSES.get(name, name) for name in dataset.classes)
    return dataclasses.replace(dataset, name="imagenette", classes=classes)


def load_dataset(name: str, *, root: str | os.PathLike | None = None, image_size: int = 32, seed: int = 0,
                 progress: Progress | None = None, download: bool = False,
                 max_train: int | None = None, max_test: int | None = None) -> ImageDataset:
    """Load one of ``DATASETS`` as uint8 tensors.

    Args:
        name: ``"synthetic"`` (root ignored), ``"cifar10"`` (torchvision CIFAR10 under ``root``,
            default ``$RESNET_EDU_DATA`` or ``./data``), ``"imagenette"`` (its ``train/`` + ``val/``
            under the same data root, see resnet_edu.downloads) or ``"imagefolder"`` (``root`` is a folder
            with ``train/`` and ``val/`` or ``test/``).
        root: data root (cifar10) or the image folder (imagefolder).
        image_size: side of the square images.
        seed: synthetic generation; which images ``max_train``/``max_test`` keep.
        progress: ``progress(fraction, message)``, called while generating/decoding/downloading.
        download: cifar10 and imagenette: download when absent.
        max_train, max_test: keep a seeded random subset of at most this many images
            (synthetic: the number of images to generate, default 10,000 / 2,000).

    Raises:
        ValueError: unknown name. DataUnavailable: cifar10 or imagenette absent. BadDataFolder: unusable folder.
    """
    key = str(name).strip().lower()
    if key.startswith("imagefolder:"):
        key = "imagefolder"
    if key == "synthetic":
        return make_synthetic(10000 if max_train is None else max_train, 2000 if max_test is None else max_test,
                              seed=seed, image_size=image_size, progress=progress)
    if key == "cifar10":
        return load_cifar10(root, image_size=image_size, seed=seed, progress=progress, download=download,
                            max_train=max_train, max_test=max_test)
    if key == "imagenette":
        return load_imagenette(root, image_size=image_size, seed=seed, progress=progress, download=download,
                               max_train=max_train, max_test=max_test)
    if key == "imagefolder":
        if root is None:
            raise BadDataFolder("the 'imagefolder' data set needs a folder: pass root (CLI: --data-root DIR)")
        return load_imagefolder(root, image_size=image_size, seed=seed, progress=progress,
                                max_train=max_train, max_test=max_test)
    raise ValueError(f"unknown data set {name!r}: choose one of {', '.join(DATASETS)}")


# --------------------------------------------------------------------------- tensors in, tensors out

def normalize(images_uint8: torch.Tensor, mean: Sequence[float], std: Sequence[float],
              dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float (x / 255 - mean) / std, on the images' device."""
    mean_t = torch.as_tensor(mean, dtype=torch.float32, device=images_uint8.device).view(1, -1, 1, 1)
    std_t = torch.as_tensor(std, dtype=torch.float32, device=images_uint8.device).view(1, -1, 1, 1)
    x = images_uint8.to(torch.float32).div_(255.0).sub_(mean_t).div_(std_t)
    return x if dtype == torch.float32 else x.to(dtype)


def _to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A host tensor onto ``device``; to a GPU through pinned memory, without making the host wait."""
    if device.type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


def crop_flip(images_uint8: torch.Tensor, uniform: torch.Tensor, pad: int = 4) -> torch.Tensor:
    """Paper Sec. 4.2 augmentation on a batch: zero-pad ``pad`` px, random HxW crop, random h-flip.

    ``uniform`` holds three numbers in [0, 1) per image (row offset, column offset, flip),
    drawn beforehand on the images' device. One gather for the whole batch: no per-image loop,
    and nothing here waits for the device.
    """
    b, c, h, w = images_uint8.shape
    device = images_uint8.device
    padded = F.pad(images_uint8, (pad, pad, pad, pad)) if pad else images_uint8
    oy = (uniform[:, 0] * (2 * pad + 1)).long()                                            # (B,)
    ox = (uniform[:, 1] * (2 * pad + 1)).long()
    flip = uniform[:, 2] < 0.5
    rows = oy[:, None] + torch.arange(h, device=device)                                   # (B, H)
    cols_fwd = torch.arange(w, device=device)
    cols = ox[:, None] + torch.where(flip[:, None], cols_fwd.flip(0), cols_fwd)          # (B, W)
    bi = torch.arange(b, device=device)[:, None, None, None]
    ci = torch.arange(c, device=device)[None, :, None, None]
    return padded[bi, ci, rows[:, None, :, None], cols[:, None, None, :]]               # (B, C, H, W)


def random_crop_flip(images_uint8: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """:func:`crop_flip` with its random numbers drawn from ``generator`` (on its own device), so a
    CPU generator gives the same crops on any device."""
    uniform = torch.rand(images_uint8.shape[0], 3, generator=generator, device=generator.device)
    return crop_flip(images_uint8, uniform.to(images_uint8.device), pad)


def scale_crop_light(images_uint8: torch.Tensor, uniform: torch.Tensor, normal: torch.Tensor,
                     out_size: int | None = None, lighting_std: float = 0.1) -> torch.Tensor:
    """The paper's ImageNet augmentation (Sec. 3.4), scaled to the image size, on a batch.

    Scale augmentation: the shorter side is resized to S, uniform in [256, 480] / 224 * out_size,
    then a random out_size crop is taken (the paper: S in [256, 480], 224 crops), flipped with
    probability 1/2; then AlexNet-style PCA colour ("lighting") noise with std ``lighting_std``.
    Done for the whole batch by one affine grid_sample. ``uniform`` (B, 4) in [0, 1) and ``normal``
    (B, 3) are the batch's random numbers, already on the images' device. Returns uint8 (B, 3, out, out).
    """
    b, c, h, w = images_uint8.shape
    out = int(out_size or h)
    device = images_uint8.device
    target_short = (256 + (480 - 256) * uniform[:, 0]) / 224 * out           # S, in output pixels
    short = min(h, w)
    # Fraction of each input axis that the out x out crop covers once the image is scaled to S.
    fx = out / (target_short * w / short)
    fy = out / (target_short * h / short)
    tx = (2 * uniform[:, 1] - 1) * (1 - fx)
    ty = (2 * uniform[:, 2] - 1) * (1 - fy)
    sign = 1 - 2 * (uniform[:, 3] < 0.5).float()
    zeros = torch.zeros_like(fx)
    theta = torch.stack([torch.stack([fx * sign, zeros, tx], 1), torch.stack([zeros, fy, ty], 1)], 1)
    grid = F.affine_grid(theta, [b, c, out, out], align_corners=False)
    x = F.grid_sample(images_uint8.float() / 255.0, grid, mode="bilinear", padding_mode="border",
                      align_corners=False)
    if lighting_std > 0:
        alpha = normal * lighting_std
        eigval = torch.tensor(_PCA_EIGVAL, device=device)
        eigvec = torch.tensor(_PCA_EIGVEC, device=device)
        rgb = (eigvec[None] * (alpha * eigval)[:, None, :]).sum(-1)                   # (B, 3)
        x = x + rgb[:, :, None, None]
    return (x.clamp(0, 1) * 255).round_().to(torch.uint8)


def imagenet_augment(images_uint8: torch.Tensor, generator: torch.Generator, out_size: int | None = None,
                     lighting_std: float = 0.1) -> torch.Tensor:
    """:func:`scale_crop_light` with its random numbers drawn from ``generator``."""
    b, device = images_uint8.shape[0], images_uint8.device
    uniform = torch.rand(b, 4, generator=generator, device=generator.device).to(device)
    normal = torch.randn(b, 3, generator=generator, device=generator.device).to(device)
    return scale_crop_light(images_uint8, uniform, normal, out_size, lighting_std)


def ten_crop(images_uint8: torch.Tensor, crop: int) -> torch.Tensor:
    """10-crop testing (paper Sec. 3.4): four corners + centre, and their mirror images.

    Returns uint8 (10, B, 3, crop, crop); average the predictions over the first axis.
    """
    h, w = images_uint8.shape[-2:]
    if crop > min(h, w):
        raise ValueError(f"crop {crop} is larger than the images ({h}x{w})")
    offsets = [(0, 0), (0, w - crop), (h - crop, 0), (h - crop, w - crop), ((h - crop) // 2, (w - crop) // 2)]
    crops = [images_uint8[..., y:y + crop, x:x + crop] for y, x in offsets]
    crops += [c.flip(-1) for c in crops]
    return torch.stack(crops)


def _prepare(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()


class BatchStream:
    """Deterministic, resumable stream of augmented training batches, on a device.

    Every run of a comparison group draws from ONE stream, so all runs see the same batches in
    the same order. Batch ``k`` depends only on (dataset, batch size, seed, augment, k): each
    epoch's order and its augmentation numbers (crop offsets, flips, scales, colour noise) come
    from generators seeded by (seed, epoch), so ``seek(k)`` resumes exactly and a CPU and a GPU
    stream draw the same crops. Those numbers are drawn once per epoch and copied to the device
    in one go: making a batch is then a few gathers on the device, with no wait for the host.

    Args:
        dataset: the images; the training images are copied to ``device`` once.
        batch_size: images per batch; the last partial batch of an epoch is dropped.
        seed: data-order and augmentation seed.
        device: where batches are made and returned.
        augment: ``"cifar"`` (pad 4, random crop, flip: Sec. 4.2), ``"imagenet"`` (scale
            augmentation, PCA lighting, flip: Sec. 3.4, scaled to the image size) or ``"none"``.
        channels_last: return batches in channels-last memory format.
        dtype: floating dtype of the returned images.
        rank, world_size: under torchrun, ``batch_size`` is the global batch and this stream
            returns only process ``rank``'s ``batch_size / world_size`` rows of each global batch:
            the processes' shards are disjoint and together are exactly the batch one process
            would train on (same order, same crops), so a run on N processes sees the same data
            as a run on one.
    """

    def __init__(self, dataset: ImageDataset, batch_size: int, *, seed: int = 0, device="cpu",
                 augment: str = "cifar", channels_last: bool = False, dtype=torch.float32,
                 rank: int = 0, world_size: int = 1) -> None:
        if augment not in AUGMENTATIONS:
            raise ValueError(f"unknown augment {augment!r}: choose one of {', '.join(AUGMENTATIONS)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if world_size < 1 or batch_size % world_size or not 0 <= rank < world_size:
            raise ValueError(f"batch size {batch_size} does not split into {world_size} equal shards "
                             f"(or rank {rank} is not below {world_size})")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.device = torch.device(device)
        self.augment = augment
        self.channels_last = channels_last
        self.dtype = dtype
        self.num_images = dataset.num_train
        self.steps_per_epoch = max(1, self.num_images // self.batch_size)
        self.shard_size = self.batch_size // world_size  # rows of each batch this stream returns
        self._shard_start = rank * self.shard_size
        self.step = 0
        self._images = dataset.train_images.to(self.device)
        self._labels = dataset.train_labels.to(self.device)
        self._mean = torch.tensor(dataset.mean, dtype=torch.float32, device=self.device)
        self._std = torch.tensor(dataset.std, dtype=torch.float32, device=self.device)
        self._epoch = -1
        self._order: torch.Tensor | None = None  # (N,) image indices of the current epoch
        self._uniform: torch.Tensor | None = None  # (steps * batch, 4) numbers in [0, 1)
        self._normal: torch.Tensor | None = None  # (steps * batch, 3) standard normal numbers

    @property
    def epoch(self) -> float:
        """Epochs completed so far, fractional."""
        return self.step / self.steps_per_epoch

    def _draw_epoch(self, epoch: int) -> None:
        if epoch == self._epoch:
            return
        order = torch.randperm(self.num_images, generator=_generator(self.seed, "epoch", epoch))
        augmentation = _generator(self.seed, "augment", epoch)
        drawn = self.steps_per_epoch * self.batch_size
        uniform = torch.rand(drawn, 4, generator=augmentation)
        normal = torch.randn(drawn, 3, generator=augmentation)
        self._order = _to_device(order, self.device)
        self._uniform = _to_device(uniform, self.device)
        self._normal = _to_device(normal, self.device)
        self._epoch = epoch

    def permutation(self, epoch: int) -> torch.Tensor:
        """The order of the training images in ``epoch`` (on the stream's device)."""
        self._draw_epoch(epoch)
        return self._order

    def batch_indices(self, step: int) -> torch.Tensor:
        epoch, index = divmod(step, self.steps_per_epoch)
        return self.permutation(epoch)[index * self.batch_size:(index + 1) * self.batch_size]

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch number ``step`` (does not move the stream)."""
        epoch, index = divmod(step, self.steps_per_epoch)
        self._draw_epoch(epoch)
        start = index * self.batch_size + self._shard_start
        rows = slice(start, start + self.shard_size)
        idx = self._order[rows]
        images = self._images[idx]
        if self.augment == "cifar":
            images = crop_flip(images, self._uniform[rows], pad=4)
        elif self.augment == "imagenet":
            images = scale_crop_light(images, self._uniform[rows], self._normal[rows], self.dataset.image_size)
        x = normalize(images, self._mean, self._std, dtype=self.dtype)
        return _prepare(x, self.channels_last), self._labels[idx]

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next batch: (x float normalised (B, 3, H, W), y int64 (B,)), both on the device."""
        out = self.batch(self.step)
        self.step += 1
        return out

    def seek(self, step: int) -> None:
        """Resume: the next ``next()`` returns batch number ``step``, as an uninterrupted stream would."""
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        self.step = int(step)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        while True:
            yield self.next()


def test_batches(dataset: ImageDataset, batch_size: int = 500, *, device="cpu", channels_last: bool = False,
                 dtype=torch.float32) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The test set in order, normalised with the training statistics, no augmentation."""
    device = torch.device(device)
    for start in range(0, dataset.num_test, batch_size):
        images = dataset.test_images[start:start + batch_size].to(device, non_blocking=True)
        labels = dataset.test_labels[start:start + batch_size].to(device, non_blocking=True)
        yield _prepare(normalize(images, dataset.mean, dataset.std, dtype=dtype), channels_last), labels


test_batches.__test__ = False   # not a pytest test, despite its name


# --------------------------------------------------------------------------- uploads

def _read_upload(source, max_bytes: int) -> tuple[bytes, str]:
    """The bytes of an upload (path, bytes or file-like), refusing anything over ``max_bytes`` unread."""
    limit_text = f"{max_bytes / 1e6:.0f} MB" if max_bytes >= 1e6 else f"{max_bytes:,} bytes"
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise BadImage(f"{path} is not a file")
        size = path.stat().st_size
        if size > max_bytes:
            raise BadImage(f"{path.name} is {size / 1e6:.1f} MB; the limit is {limit_text}. Use a smaller image.")
        return path.read_bytes(), path.name
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        name = "the upload"
    elif hasattr(source, "read"):
        if hasattr(source, "seek"):
            try:
                source.seek(0)
            except (OSError, ValueError):
                pass
        data = source.read(max_bytes + 1)
        name = getattr(source, "name", None) or "the upload"
    else:
        raise BadImage(f"cannot read an image from a {type(source).__name__}")
    if len(data) > max_bytes:
        raise BadImage(f"{name} is larger than {limit_text}. Use a smaller image.")
    if not data:
        raise BadImage(f"{name} is empty.")
    return data, str(name)


def load_image_file(path_or_bytes, *, max_bytes: int = 10_000_000, max_pixels: int = 40_000_000,
                    image_size: int = 32) -> torch.Tensor:
    """Decode one uploaded image safely into uint8 (3, image_size, image_size).

    The byte length is checked before reading, then the pixel count from the header (PIL opens
    lazily) before any decoding, so a decompression bomb never allocates its pixels.

    Raises:
        BadImage: not an image, truncated or corrupt, too many bytes, too many pixels.
    """
    Image, _, ImageOps, UnidentifiedImageError = _pil()
    data, name = _read_upload(path_or_bytes, max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            if width * height > max_pixels:
                raise BadImage(f"{name} claims to be {width:,} x {height:,} pixels (more than {max_pixels / 1e6:.0f} "
                               f"million): refused as a possible decompression bomb. Use a smaller image.")
            img.draft("RGB", (image_size, image_size))
            img.load()
            img = ImageOps.exif_transpose(img)
            img = _resize_center_crop(_to_rgb(img), image_size)
    except BadImage:
        raise
    except UnidentifiedImageError as error:
        raise BadImage(f"{name} is not an image PIL can read (PNG, JPEG, GIF, BMP, WebP, TIFF…).") from error
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise BadImage(f"{name} is too large to decode safely (a possible decompression bomb): {error}") from error
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError, struct.error) as error:
        raise BadImage(f"{name} is truncated or corrupt and cannot be decoded ({error}).") from error
    except Exception as error:  # noqa: BLE001 - an upload must never crash the app
        raise BadImage(f"{name} could not be decoded ({type(error).__name__}: {error}).") from error
    return _pil_to_tensor(img)


__all__ = [
    "DATASETS", "AUGMENTATIONS", "SYNTHETIC_CLASSES", "CIFAR10_CLASSES",
    "DataUnavailable", "BadDataFolder", "BadImage", "ImageDataset",
    "load_dataset", "make_synthetic", "load_cifar10", "load_imagefolder", "default_data_root",
    "BatchStream", "test_batches", "normalize", "crop_flip", "random_crop_flip", "scale_crop_light",
    "imagenet_augment", "ten_crop",
    "load_image_file", "channel_stats", "derive_seed", "resize_images",
]
