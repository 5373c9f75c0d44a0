"""The built-in synthetic data set: 10 shape classes, 32x32, generated from a seed in ~1-2 s, offline.

The synthetic set is a real learning problem at three levels: *low* (colour, edges), *mid*
(textures, corners, hollow vs filled) and *high* (shape identity). The label is the identity of
the largest shape (circle, ring, square, frame, triangle, cross, star, crescent, heart, arrow).
Its position, size, tilt, outline, colour and texture are random; colour, texture and background
hue are tied to the class only some of the time (cues a net picks up early, as it picks up sky
and grass on CIFAR-10), so colour alone cannot solve it. Each object sits on a muted textured
background among up to two smaller distractor shapes of any class and a stray line, under
pixel noise. In lockstep training from the same batches, plain-56 falls >= 5 points behind
plain-20 in training error within ~50 iterations, as on CIFAR-10 (benchmarks/synthetic_check.py).

The shapes and textures are drawn in :mod:`resnet_edu.data.synthetic_shapes`; this file decides
what goes into each image (the random choices, tied to the class some of the time) and renders it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from resnet_edu.data.dataset import ImageDataset, Progress, make_dataset, report, seeded_generator
from resnet_edu.data.synthetic_shapes import SPRITE_EXTENT, SYNTHETIC_CLASSES, hsv_to_rgb, sprite_bank, texture


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
    p["bg1"] = hsv_to_rgb(bg_hue, uniform(*spec.bg_saturation), bg_value)
    bg_value2 = (bg_value + uniform(*spec.bg_contrast) * (torch.randint(0, 2, (n,), generator=g) * 2 - 1)).clamp(0.03, 1)
    p["bg2"] = hsv_to_rgb((bg_hue + uniform(-0.15, 0.15)) % 1.0, uniform(*spec.bg_saturation), bg_value2)
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
    p["fg1"] = hsv_to_rgb(hue, uniform(*spec.fg_saturation), fg_value)
    hue2 = (hue + uniform(-0.3, 0.3)) % 1.0
    p["fg2"] = hsv_to_rgb(hue2, uniform(0.2, 1.0), (fg_value * uniform(0.55, 1.0)).clamp(0.03, 1))
    p["fg_kind"] = torch.where(torch.rand(n, generator=g) < spec.class_texture_prob, labels % 6,
                               torch.randint(0, 6, (n,), generator=g))
    p["fg_freq"] = uniform(0.7, 1.6)                # cycles per shape unit
    p["fg_phase"] = uniform(0, 2 * math.pi, 2)
    p["outline"] = (torch.rand(n, generator=g) < 0.35).float()
    p["outline_rgb"] = hsv_to_rgb(torch.rand(n, generator=g), uniform(0, 0.6),
                                   torch.where(fg_value < 0.5, uniform(0.75, 1.0), uniform(0.0, 0.2)))
    # Distractors: smaller shapes of any class, behind the main object.
    p["n_distract"] = torch.multinomial(torch.tensor(spec.distractors), n, replacement=True, generator=g)
    p["d_label"] = torch.randint(0, len(SYNTHETIC_CLASSES), (n, 3), generator=g)
    p["d_cx"], p["d_cy"] = uniform(-0.85, 0.85, 3), uniform(-0.85, 0.85, 3)
    p["d_radius"] = p["radius"][:, None] * uniform(*spec.distractor_size, 3)
    p["d_angle"] = uniform(0, 2 * math.pi, 3)
    p["d_rgb"] = hsv_to_rgb(torch.rand(3 * n, generator=g), uniform(0, 1, 3).flatten(),
                             uniform(0.05, 1, 3).flatten()).view(n, 3, 3)
    # A stray line (an edge that belongs to no object) in half of the images.
    p["line"] = torch.rand(n, generator=g) < spec.line_prob
    p["line_ends"] = uniform(-1, 1, 4)
    p["line_width"] = uniform(0.5, 1.2)             # pixels
    p["line_rgb"] = hsv_to_rgb(torch.rand(n, generator=g), uniform(0, 1), uniform(0.05, 1))
    # Pixel noise.
    p["noise"] = uniform(*spec.noise)
    return p


def _place(bank: torch.Tensor, labels, cx, cy, radius, angle, size: int):
    """Sample class sprites into (n, C, size, size) coverage maps; also return the grid (shape units)."""
    cos, sin = torch.cos(angle), torch.sin(angle)
    scale = 1.0 / (radius * SPRITE_EXTENT)
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
    return coverage, grid * SPRITE_EXTENT


def _render(p: dict[str, torch.Tensor], size: int, blobs: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Render one chunk of images from their parameters and unit noise; returns uint8 (n, 3, size, size)."""
    big = sprite_bank(64)
    small = sprite_bank(24)[:, :1]                 # distractors: fill only
    pixel_coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    yy, xx = torch.meshgrid(pixel_coords, pixel_coords, indexing="ij")

    # Background: two colours mixed by a texture in rotated pixel coordinates.
    c, s = torch.cos(p["bg_rot"])[:, None, None], torch.sin(p["bg_rot"])[:, None, None]
    u, v = c * xx + s * yy, -s * xx + c * yy
    t = texture(p["bg_kind"], u, v, p["bg_freq"], p["bg_phase"][:, 0], p["bg_phase"][:, 1], blobs)[:, None]
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
    t = texture(p["fg_kind"], grid[..., 0], grid[..., 1], p["fg_freq"], p["fg_phase"][:, 0],
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
    g = seeded_generator(seed, "synthetic", split)
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
            gb = seeded_generator(seed, "synthetic", split, block)
            blobs.append(torch.randn(size, 1, 4, 4, generator=gb))
            noise.append(torch.randn(size, 3, image_size, image_size, generator=gb))
        part = {key: value[start:stop] for key, value in params.items()}
        images[start:stop] = _render(part, image_size, torch.cat(blobs), torch.cat(noise))
        report(progress, done + share * stop / num, f"Generating synthetic {split} images: {stop:,}/{num:,}")
    return images, labels


SYNTHETIC_TRAIN_IMAGES = 10_000  # the built-in set's size (the Lab and the CLI use all of it)
SYNTHETIC_TEST_IMAGES = 2_000


def make_synthetic(num_train: int = SYNTHETIC_TRAIN_IMAGES, num_test: int = SYNTHETIC_TEST_IMAGES, seed: int = 0,
                   image_size: int = 32, progress: Progress | None = None) -> ImageDataset:
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
    return make_dataset("synthetic", train_images, train_labels, test_images, test_labels, SYNTHETIC_CLASSES)
