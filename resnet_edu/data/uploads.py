"""A student's own photo as a net's input: decoded safely, whatever the upload holds.

An upload can be anything: not an image, truncated, huge, or a decompression bomb (a small file
that claims billions of pixels). Every such case ends in a ``BadImage`` with a sentence that
says what is wrong, never in a crash or a process that runs out of memory.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from pathlib import Path

import torch

from resnet_edu.data.decode import pil, square_image_tensor


class BadImage(ValueError):
    """An uploaded file that is not a usable image: not an image, truncated, too large, a bomb."""


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
    Image, _, UnidentifiedImageError = pil()
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
            return square_image_tensor(img, image_size)
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
