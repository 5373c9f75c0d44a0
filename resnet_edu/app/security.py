"""Who may do what in a classroom: allowed data folders and the teacher passcode.

Knows nothing about Streamlit (``ui.py`` draws the passcode box; pages ask ``ui.teacher_unlocked()``).

Data folders
    A student types a data path into the Lab; the server then reads and decodes every image
    under it. So paths typed into the app are limited to *data roots*:
    ``$RESNET_EDU_DATA_ROOTS`` (several folders separated by ``os.pathsep``, ``:`` on Linux),
    by default the data root (``$RESNET_EDU_DATA`` or ``./data``) and the home folder of the
    user running the server. ``check_data_path`` refuses ``..`` anywhere in the path, a path
    that (after following symbolic links) lies outside every root, a missing folder and a
    file. For a path outside the roots it never says whether that path exists.

    The command line (``python -m resnet_edu train --data-root``) is not limited: whoever
    runs it can read those files anyway.

Teacher passcode
    When ``$RESNET_EDU_TEACHER_PASSCODE`` is set (and not empty), the teacher-only controls
    (stop other people's runs, Stop all, delete runs, custom data folders) stay locked in a
    tab until the passcode is entered in the sidebar. The comparison is constant-time
    (``hmac.compare_digest``); after ``MAX_FAILED_ATTEMPTS`` wrong tries a tab waits
    ``LOCKOUT_SECONDS``. It keeps honest students out of the teacher's buttons; it is not a
    login system (use a passcode nobody can guess, and serve the app on a trusted network).
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from resnet_edu.data.root import default_data_root

__all__ = [
    "DATA_ROOTS_ENV",
    "PASSCODE_ENV",
    "MAX_FAILED_ATTEMPTS",
    "LOCKOUT_SECONDS",
    "data_roots",
    "check_data_path",
    "teacher_passcode",
    "teacher_lock_enabled",
    "passcode_matches",
]

DATA_ROOTS_ENV = "RESNET_EDU_DATA_ROOTS"
PASSCODE_ENV = "RESNET_EDU_TEACHER_PASSCODE"
MAX_FAILED_ATTEMPTS = 5
LOCKOUT_SECONDS = 30.0
MAX_PATH_CHARS = 1000


def data_roots() -> list[Path]:
    """The folders data paths typed into the app must lie in (resolved, existing or not)."""
    configured = os.environ.get(DATA_ROOTS_ENV, "")
    if configured.strip():
        candidates = [Path(p).expanduser() for p in configured.split(os.pathsep) if p.strip()]
    else:
        candidates = [default_data_root(), Path.home()]
    roots: list[Path] = []
    for candidate in candidates:
        try:
            root = candidate.resolve()
        except (OSError, RuntimeError):  # a symlink loop: not a usable root
            continue
        if root not in roots:
            roots.append(root)
    return roots


def _roots_text(roots: list[Path]) -> str:
    return ", ".join(str(r) for r in roots) or "(none)"


def check_data_path(path: str | os.PathLike, *, must_exist: bool = True) -> Path:
    """The resolved folder ``path`` names, if the app may read data from it.

    Args:
        path: what was typed (``~`` is expanded; relative paths are relative to the app's folder).
        must_exist: refuse a path that does not exist (default). ``False`` allows a folder
            that does not exist yet, e.g. where CIFAR-10 is to be put.

    Raises:
        ValueError: with a message a teacher can act on: empty, ``..``, outside the data
            roots, missing, or a file rather than a folder.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"a data folder must be a path, not {type(path).__name__}")
    text = os.fspath(path)
    if isinstance(text, bytes):
        raise ValueError("a data folder must be a text path")
    text = text.strip()
    if not text:
        raise ValueError("enter a data folder")
    if len(text) > MAX_PATH_CHARS:
        raise ValueError(f"the data folder path is {len(text)} characters long; at most {MAX_PATH_CHARS} are allowed")
    if "\x00" in text or any(ord(ch) < 32 for ch in text):
        raise ValueError("the data folder path contains control characters")
    raw = Path(text).expanduser()
    if ".." in raw.parts or ".." in text.replace("\\", "/").split("/"):
        raise ValueError(f"the data folder {text} contains '..': write the folder's full path instead")
    roots = data_roots()
    try:
        resolved = raw.resolve()  # follows symbolic links: a link out of a root is outside
    except (OSError, RuntimeError) as error:
        raise ValueError(f"the data folder {text} cannot be used ({type(error).__name__})") from None
    if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
        # Same words whether or not it exists: the app is no way to probe the server's disk.
        raise ValueError(f"the data folder {text} does not exist or is outside the allowed data folders "
                         f"({_roots_text(roots)}). The teacher can allow more folders with the environment "
                         f"variable {DATA_ROOTS_ENV} (separated by '{os.pathsep}').")
    try:
        exists, is_dir = resolved.exists(), resolved.is_dir()
    except OSError as error:
        raise ValueError(f"the data folder {text} cannot be read ({type(error).__name__})") from None
    if exists and not is_dir:
        raise ValueError(f"{text} is a file, not a folder: choose the folder that holds train/ and val/")
    if must_exist and not exists:
        raise ValueError(f"the data folder {text} does not exist")
    return resolved


# ---------------------------------------------------------------- the teacher passcode

def teacher_passcode() -> str:
    """The configured passcode ('' when none is set: every control is open)."""
    return os.environ.get(PASSCODE_ENV, "")


def teacher_lock_enabled() -> bool:
    return bool(teacher_passcode())


def passcode_matches(entered: object, expected: str | None = None) -> bool:
    """Constant-time comparison of an entered passcode with the configured one.

    False when no passcode is configured (there is nothing to unlock) or ``entered`` is not text.
    """
    expected = teacher_passcode() if expected is None else expected
    if not expected or not isinstance(entered, str):
        return False
    return hmac.compare_digest(entered.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))
