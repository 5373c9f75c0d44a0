"""Tiny ImageFolder trees made on disk for tests: small PNGs that decode in a second (the synthetic
set costs each new process 15-30 s on a busy 2-core machine).

A helper module, not a test module: tests import it (pytest puts tests/ on the path).
"""

from __future__ import annotations

from pathlib import Path

COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30)]


def make_tree(root: Path, classes=("apple", "banana"), per_class: int = 6, val_per_class: int = 1,
              size: int = 20) -> Path:
    """root/train/<class>/*.png and root/val/<class>/*.png, one colour per class in shades; returns ``root``.

    Args:
        root: the folder to fill (made if missing).
        classes: the class folder names.
        per_class: training images per class.
        val_per_class: validation images per class.
        size: width and height in pixels.
    """
    from PIL import Image

    for i, name in enumerate(classes):
        for split, count in (("train", per_class), ("val", val_per_class)):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for j in range(count):
                shade = tuple(max(0, c - (j % 7) * 9) for c in COLOURS[i % len(COLOURS)])
                Image.new("RGB", (size, size), shade).save(folder / f"{j}.png")
    return root
