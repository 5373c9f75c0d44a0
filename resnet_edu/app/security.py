"""Who may do what in a classroom: allowed data folders, the teacher passcode, who started what.

Knows nothing about Streamlit (``ui.py`` draws the passcode box and keeps the process-wide
``PasscodeGuard`` and ``Owners``; pages ask ``ui.teacher_unlocked()`` and ``ui.may_act_on()``).

Data folders
    A student types a data path into the Lab; the server then reads and decodes every image
    under it. So paths typed into the app are limited to *data roots*: the data root
    (``$RESNET_EDU_DATA`` or ``./data``) and the folders the teacher names in
    ``$RESNET_EDU_DATA_ROOTS`` (separated by ``os.pathsep``, ``:`` on Linux); never the whole
    home folder. ``check_data_path`` refuses ``..`` anywhere in the path, a path that (after
    following symbolic links) lies outside every root, a missing folder and a file. For a path
    outside the roots it never says whether that path exists.

    The command line (``python -m resnet_edu train --data-root``) is not limited, but the folder it
    records in a run's config is: ``check_recorded_root`` applies the same roots before the app
    reads a run's images for a student.

Teacher passcode
    When ``$RESNET_EDU_TEACHER_PASSCODE`` is set (and not empty), the teacher-only controls
    (stop other people's runs, Stop all, delete runs, custom data folders) stay locked in a
    tab until the passcode is entered in the sidebar. The comparison is constant-time
    (``hmac.compare_digest``). ``PasscodeGuard`` counts wrong passcodes per client address and
    over the whole server and refuses further tries until a time that grows with each failure;
    it logs every try (time, address, outcome; never what was typed). An unlocked tab locks
    again after ``$RESNET_EDU_TEACHER_UNLOCK_MINUTES`` (default 120). It keeps students out of
    the teacher's buttons; it is not a login system (use a passcode nobody can guess, and serve
    the app on a trusted network).

Who started what
    ``Owners`` remembers the runs and analysis jobs each tab started, for the whole server:
    a student's tab may stop, resume and switch only those; the teacher's (unlocked) tab all.
"""

from __future__ import annotations

import collections
import hmac
import ipaddress
import logging
import math
import os
import re
import threading
import time
from dataclasses import dataclass
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
    "UNLOCK_MINUTES_ENV",
    "unlock_seconds",
    "PasscodeGuard",
    "Attempt",
    "Owners",
    "is_loopback",
    "check_recorded_root",
    "hide_paths",
]

DATA_ROOTS_ENV = "RESNET_EDU_DATA_ROOTS"
PASSCODE_ENV = "RESNET_EDU_TEACHER_PASSCODE"
UNLOCK_MINUTES_ENV = "RESNET_EDU_TEACHER_UNLOCK_MINUTES"
DEFAULT_UNLOCK_MINUTES = 120.0
MAX_FAILED_ATTEMPTS = 3  # wrong passcodes from one address before it has to wait
LOCKOUT_SECONDS = 2.0  # the first wait; it doubles with every further failure
MAX_LOCKOUT_SECONDS = 15 * 60.0  # one address: 4 digits take days to guess
CLASS_FREE_FAILURES = 20  # wrong passcodes from all addresses together, within CLASS_WINDOW_SECONDS
CLASS_WINDOW_SECONDS = 10 * 60.0
MAX_CLASS_LOCKOUT_SECONDS = 5 * 60.0  # the whole server (the teacher at the server's own keyboard is exempt)
FORGET_FAILURES_SECONDS = 60 * 60.0  # an address quiet this long starts afresh

log = logging.getLogger(__name__)
MAX_PATH_CHARS = 1000


def data_roots() -> list[Path]:
    """The folders the app may read data from: the data root, then $RESNET_EDU_DATA_ROOTS (resolved)."""
    configured = os.environ.get(DATA_ROOTS_ENV, "")
    named = [Path(p).expanduser() for p in configured.split(os.pathsep) if p.strip()]
    candidates = [default_data_root(), *named]  # the data root always; never the whole home folder
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


def check_recorded_root(root: str | os.PathLike | None) -> Path | None:
    """The data folder a run recorded (its config's ``data_root``), if the app may read it for a student.

    ``None`` (the default data root) stays ``None``. A folder written by ``train --data-root`` on
    the command line obeys the same data roots as a folder typed into the app.

    Raises:
        ValueError: the folder is outside the data roots (the message names no path).
    """
    if not isinstance(root, (str, os.PathLike)) or not os.fspath(root).strip():
        return None  # None (or a missing value in a table): the default data root
    try:
        return check_data_path(root, must_exist=False)
    except ValueError:
        raise ValueError("this run's data folder is not one the app may read; the teacher can allow it "
                         f"with {DATA_ROOTS_ENV}") from None


# An absolute path of two or more parts (POSIX, or a Windows drive), not inside a URL.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/\\])(?:/[^\s/'\"`,;()]+){2,}/?|\b[A-Za-z]:\\[^\s'\"`,;()]+")


def hide_paths(text: object) -> str:
    """``text`` with every absolute server path cut to its last part (``…/runs.sqlite``): what a
    student reads of an error message. URLs are left alone."""
    def last_part(match: re.Match) -> str:
        parts = [p for p in re.split(r"[\\/]", match.group(0)) if p]
        return "…/" + (parts[-1] if parts else "")

    return _ABSOLUTE_PATH.sub(last_part, "" if text is None else str(text))


def unlock_seconds() -> float:
    """How long an unlocked tab stays unlocked: $RESNET_EDU_TEACHER_UNLOCK_MINUTES (default 120) in seconds."""
    text = os.environ.get(UNLOCK_MINUTES_ENV, "").strip()
    try:
        minutes = float(text) if text else DEFAULT_UNLOCK_MINUTES
    except ValueError:
        minutes = float("nan")
    if not (math.isfinite(minutes) and minutes > 0):
        log.warning("%s=%r is not a positive number of minutes: using %g", UNLOCK_MINUTES_ENV, text,
                    DEFAULT_UNLOCK_MINUTES)
        minutes = DEFAULT_UNLOCK_MINUTES
    return 60.0 * minutes


def is_loopback(address: str | None) -> bool:
    """True for this computer only: ``localhost``, 127.x.x.x, ``::1`` (and None: a local tab, as Streamlit says)."""
    if address is None:
        return True
    text = str(address).strip().strip("[]").lower()
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


# ---------------------------------------------------------------- wrong passcodes

@dataclass(frozen=True)
class Attempt:
    """What a passcode try came to: ``outcome`` is "unlocked", "wrong" or "refused" (sent while it
    had to wait: not even compared); ``retry_in`` the seconds until this address may try again."""

    outcome: str
    retry_in: float = 0.0


class PasscodeGuard:
    """Wrong passcodes counted per client address and over the whole server, with a growing wait.

    From one address the first ``MAX_FAILED_ATTEMPTS`` wrong tries are free; after that every wrong
    try makes it wait ``LOCKOUT_SECONDS``, doubled with each further failure, up to
    ``MAX_LOCKOUT_SECONDS``. Over the server, more than ``CLASS_FREE_FAILURES`` wrong tries within
    ``CLASS_WINDOW_SECONDS`` make every address but this computer's own wait in the same way (up to
    ``MAX_CLASS_LOCKOUT_SECONDS``): many tabs or many addresses gain nothing. A try during a wait is
    refused without comparing. Nothing sleeps: a refused try returns at once with the time left.
    Thread-safe; one per server (every tab shares it). ``clock`` is ``time.monotonic`` (tests pass a fake).
    """

    def __init__(self, clock=time.monotonic, max_addresses: int = 10_000):
        self._clock = clock
        self._lock = threading.Lock()
        self._by_address: collections.OrderedDict[str, tuple[int, float, float]] = collections.OrderedDict()
        self._class_failures: collections.deque[float] = collections.deque(maxlen=1000)
        self._class_wait_until = 0.0
        self._max_addresses = max_addresses

    def retry_in(self, address: str | None) -> float:
        """Seconds until ``address`` may try again (0: now)."""
        with self._lock:
            return self._wait_left(self._key(address), self._clock())

    def attempt(self, address: str | None, entered: object, expected: str | None = None) -> Attempt:
        """Check one try from ``address`` (None: this computer), count and log it."""
        key, now = self._key(address), self._clock()
        with self._lock:
            left = self._wait_left(key, now)
            if left > 0:
                log.warning("teacher passcode: refused from %s (must wait %.0f s more)", key, left)
                return Attempt("refused", left)
            if passcode_matches(entered, expected):
                self._by_address.pop(key, None)
                log.info("teacher passcode: unlocked from %s", key)
                return Attempt("unlocked")
            failures, _, _ = self._by_address.pop(key, (0, now, 0.0))
            failures += 1
            wait_until = now + self._wait(failures - MAX_FAILED_ATTEMPTS, MAX_LOCKOUT_SECONDS)
            self._by_address[key] = (failures, now, wait_until)
            while len(self._by_address) > self._max_addresses:
                self._by_address.popitem(last=False)
            self._class_failures.append(now)
            while self._class_failures and self._class_failures[0] < now - CLASS_WINDOW_SECONDS:
                self._class_failures.popleft()
            over = len(self._class_failures) - CLASS_FREE_FAILURES
            if over > 0:
                self._class_wait_until = max(self._class_wait_until,
                                             now + self._wait(over, MAX_CLASS_LOCKOUT_SECONDS))
            left = self._wait_left(key, now)
            log.warning("teacher passcode: wrong from %s (failure %d from this address, %d on the server in "
                        "%.0f min; next try in %.0f s)", key, failures, len(self._class_failures),
                        CLASS_WINDOW_SECONDS / 60, left)
            return Attempt("wrong", left)

    @staticmethod
    def _key(address: str | None) -> str:
        return "localhost" if address is None else str(address)[:100]

    @staticmethod
    def _wait(over: int, cap: float) -> float:
        """No wait for the free tries; then LOCKOUT_SECONDS doubled with every further failure, at most ``cap``."""
        return 0.0 if over <= 0 else min(cap, LOCKOUT_SECONDS * 2.0 ** min(over - 1, 30))

    def _wait_left(self, key: str, now: float) -> float:
        failures, last, until = self._by_address.get(key, (0, now, 0.0))
        if failures and now - last > FORGET_FAILURES_SECONDS:
            self._by_address.pop(key, None)
            until = 0.0
        if not is_loopback(key):
            until = max(until, self._class_wait_until)
        return max(0.0, until - now)


# ---------------------------------------------------------------- who started what

class Owners:
    """The runs and analysis jobs each tab started, kept for the whole server (thread-safe).

    A tab is named by an opaque key (``ui.py`` gives each Streamlit session a random one). The
    newest ``max_tabs`` tabs are kept, each with its newest ``max_ids`` ids: a closed tab's
    runs become the teacher's alone, as runs started from the command line are.
    """

    def __init__(self, max_tabs: int = 5000, max_ids: int = 500):
        self._lock = threading.Lock()
        self._ids: collections.OrderedDict[str, dict[str, None]] = collections.OrderedDict()
        self._max_tabs, self._max_ids = max_tabs, max_ids

    def claim(self, tab: str, ids) -> None:
        """Note that ``tab`` started (or resumed) these runs or jobs."""
        with self._lock:
            owned = self._ids.pop(tab, {})
            for item in ids:
                owned.pop(str(item), None)
                owned[str(item)] = None
            while len(owned) > self._max_ids:
                owned.pop(next(iter(owned)))
            self._ids[tab] = owned
            while len(self._ids) > self._max_tabs:
                self._ids.popitem(last=False)

    def owns(self, tab: str, item: str) -> bool:
        with self._lock:
            return str(item) in self._ids.get(tab, {})
