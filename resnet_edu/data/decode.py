"""One decoded photo as the nets see it: upright, RGB, the shorter side resized, the centre square.

Shared by image folders (thousands of files, decoded once and cached) and uploads (one file a
student brings), so both give a net the same pixels for the same photo. PIL is imported only
here and only when something is decoded.
"""

from __future__ import annotations

import numpy as np
import torch


def pil():
    """PIL's ``Image``, ``ImageOps`` and ``UnidentifiedImageError``, imported on first use."""
    from PIL import Image, ImageOps, UnidentifiedImageError
    return Image, ImageOps, UnidentifiedImageError


def _to_rgb(img):
    """RGB image; transparent parts composited on white (what a viewer shows)."""
    Image = pil()[0]
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, img).convert("RGB")
    return img.convert("RGB")


def _resize_center_crop(img, size: int):
    """Resize the shorter side to ``size`` (antialiased bilinear), then take the central square."""
    Image = pil()[0]
    w, h = img.size
    scale = size / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), Image.BILINEAR)
    left, top = (nw - size) // 2, (nh - size) // 2
    if (nw, nh) != (size, size):
        img = img.crop((left, top, left + size, top + size))
    return img


def square_image_tensor(img, size: int) -> torch.Tensor:
    """An opened PIL image as uint8 (3, size, size): turned upright (EXIF), RGB, resized, centre-cropped.

    Call ``img.draft("RGB", (size, size))`` first: a JPEG then decodes at a reduced scale, much faster.
    """
    img = _resize_center_crop(_to_rgb(pil()[1].exif_transpose(img)), size)
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()
