"""How a download or an unpack reports where it stands (bytes, speed, time left), and how it stops.

Shared by fetching and unpacking, and read by the Lab's progress bars, so one file defines the
phases, the one-line description and the rate of reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

REPORT_SECONDS = 0.25  # at most four progress calls a second


@dataclass(frozen=True)
class Progress:
    """Where a download or an unpack stands; handed to the ``progress`` callback."""

    phase: str  # "download", "check" (MD5) or "unpack"
    done_bytes: int  # bytes of the archive on disk (download) or read so far (check, unpack)
    total_bytes: int | None  # the archive's size, None until the server says it
    bytes_per_second: float | None  # measured over this attempt (resumed bytes are not counted)
    seconds_left: float | None  # at the current speed; None while unknown

    @property
    def fraction(self) -> float:
        if not self.total_bytes:
            return 0.0
        return min(1.0, self.done_bytes / self.total_bytes)

    def describe(self) -> str:
        """One line for a progress bar, e.g. 'Downloading: 42 / 163 MB, 3.1 MB/s, 39 s left'."""
        verb = {"download": "Downloading", "check": "Checking", "unpack": "Unpacking"}[self.phase]
        total = f" / {self.total_bytes / 1e6:,.0f}" if self.total_bytes else ""
        text = f"{verb}: {self.done_bytes / 1e6:,.0f}{total} MB"
        if self.bytes_per_second:
            text += f", {self.bytes_per_second / 1e6:,.1f} MB/s"
        if self.seconds_left is not None:
            text += f", {format_seconds(self.seconds_left)} left"
        return text


ProgressCallback = Callable[[Progress], None]


class DownloadStopped(Exception):
    """Stop was pressed; the ``.part`` file stays so that the next attempt resumes."""


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
