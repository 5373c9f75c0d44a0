"""Batch augmentation on tensors, on the training device: the paper's two recipes, plus normalisation.

* CIFAR (Sec. 4.2): pad 4 pixels, take a random 32x32 crop, flip horizontally with probability 1/2.
* ImageNet (Sec. 3.4): scale augmentation (shorter side S in [256, 480], a 224 crop, here scaled
  to the image size), a flip, and AlexNet's PCA colour noise.

Each works on a whole uint8 batch in one gather or one grid_sample, from random numbers drawn
beforehand (by :class:`~resnet_edu.data.stream.BatchStream`, once per epoch): nothing here waits
for the device or loops over images.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional as F

AUGMENTATIONS = ("cifar", "imagenet", "none")

# AlexNet's PCA of ImageNet RGB pixels (Krizhevsky et al. 2012), as used by fb.resnet.torch,
# the reference ResNet implementation: eigenvalues and eigenvectors (columns).
_PCA_EIGVAL = (0.2175, 0.0188, 0.0045)
_PCA_EIGVEC = ((-0.5675, 0.7192, 0.4009),
               (-0.5808, -0.0045, -0.8140),
               (-0.5836, -0.6948, 0.4203))


def normalize(images_uint8: torch.Tensor, mean: Sequence[float], std: Sequence[float],
              dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float (x / 255 - mean) / std, on the images' device."""
    mean_t = torch.as_tensor(mean, dtype=torch.float32, device=images_uint8.device).view(1, -1, 1, 1)
    std_t = torch.as_tensor(std, dtype=torch.float32, device=images_uint8.device).view(1, -1, 1, 1)
    x = images_uint8.to(torch.float32).div_(255.0).sub_(mean_t).div_(std_t)
    return x if dtype == torch.float32 else x.to(dtype)


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
