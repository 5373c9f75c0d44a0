"""A student's own photo as a net's input: decoded safely, whatever the upload holds.

An upload can be anything: not an image, truncated, huge, or a decompression bomb (a small file
that claims billions of pixels). Every such case ends in a ``BadImage`` with a sentence that
says what is wrong, never in a crash or a process that runs out of memory.

An image is decoded once: the result is kept by the hash of its bytes and the size asked for (the
last ``DECODED_KEPT`` of them), so a page run that shows the same upload again costs a hash, not a
decode. :func:`charge_upload` counts what one session (a browser tab) has uploaded against a byte
budget (``RESNET_EDU_UPLOAD_MB_PER_TAB``, default 100 MB); the same file again costs nothing.
"""

from __future__ import annotations

import collections
import hashlib
import io
import os
import struct
import threading
import warnings
from pathlib import Path

import torch

from resnet_edu.data.decode import pil, square_image_tensor


class BadImage(ValueError):
    """An uploaded file that is not a usable image: not an image, truncated, too large, a bomb."""


UPLOAD_BUDGET_ENV = "RESNET_EDU_UPLOAD_MB_PER_TAB"
UPLOAD_BUDGET_MB = 100.0
DECODED_KEPT = 32  # decoded uploads kept (a few kB each at a net's size)
_decoded: collections.OrderedDict[tuple, torch.Tensor] = collections.OrderedDict()
_charged: dict[str, dict[str, int]] = {}  # session -> {content hash: bytes}
_lock = threading.Lock()


def upload_budget_bytes() -> int:
    """The bytes one session may upload: ``RESNET_EDU_UPLOAD_MB_PER_TAB`` (a number > 0), else 100 MB."""
    try:
        value = float(os.environ.get(UPLOAD_BUDGET_ENV, ""))
    except ValueError:
        value = UPLOAD_BUDGET_MB
    return int((value if value > 0 else UPLOAD_BUDGET_MB) * 1e6)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def charge_upload(session_id: str, data: bytes, name: str = "the upload") -> None:
    """Count ``data`` against the session's upload budget; BadImage (and nothing counted) when it would
    pass it. A file the session already uploaded is not counted again."""
    key = content_hash(data)
    budget = upload_budget_bytes()
    with _lock:
        seen = _charged.setdefault(session_id, {})
        if key in seen:
            return
        used = sum(seen.values())
        if used + len(data) > budget:
            raise BadImage(f"{name} ({len(data) / 1e6:.1f} MB) would take this tab past its upload budget: "
                           f"{used / 1e6:.1f} of {budget / 1e6:.0f} MB used ({UPLOAD_BUDGET_ENV}). "
                           f"Reload the page to start a new tab's budget.")
        seen[key] = len(data)


def forget_session(session_id: str) -> None:
    """Drop a session's upload count (a closed tab)."""
    with _lock:
        _charged.pop(session_id, None)


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
    data, name = _read_upload(path_or_bytes, max_bytes)
    key = (content_hash(data), image_size, max_pixels)
    with _lock:
        if key in _decoded:
            _decoded.move_to_end(key)
            return _decoded[key].clone()
    image = _decode(data, name, max_pixels, image_size)
    with _lock:
        _decoded[key] = image
        while len(_decoded) > DECODED_KEPT:
            _decoded.popitem(last=False)
    return image.clone()


def _decode(data: bytes, name: str, max_pixels: int, image_size: int) -> torch.Tensor:
    Image, _, UnidentifiedImageError = pil()
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
