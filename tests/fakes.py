"""Stand-ins for the real classes where a real one cannot show what a test needs; tests/test_fakes.py
checks that each one still has the real class's methods and signatures.

``RecordingContext`` is what the training process hands a job (``analysis_jobs.JobContext``), except
that it keeps every report and every partial result: the real one writes them to the store, where
each publish replaces the last, so the order "coarse picture first" could not be read back.
"""

from __future__ import annotations

import json

import torch


class RecordingContext:
    """A ``JobContext`` that records what the job reports and publishes, and says "stopped" on cue.

    Args:
        params: the job's parameters, as submitted.
        store: the RunStore the job reads runs and checkpoints from (None for jobs that need none).
        stop_after_publishes: ``stopped()`` turns true once this many partial results were published.
        stop_after_reports: ``stopped()`` turns true once this many progress reports were made.
    """

    def __init__(self, params: dict, store=None, stop_after_publishes: int | None = None,
                 stop_after_reports: int | None = None) -> None:
        self.job_id, self.params, self.store, self.device = "j1", params, store, torch.device("cpu")
        self.reports: list[tuple[float, str]] = []
        self.published: list[dict] = []
        self.stop_after_publishes, self.stop_after_reports = stop_after_publishes, stop_after_reports

    def report(self, fraction: float, message: str = "") -> None:
        self.reports.append((fraction, message))

    def stopped(self) -> bool:
        return ((self.stop_after_publishes is not None and len(self.published) >= self.stop_after_publishes)
                or (self.stop_after_reports is not None and len(self.reports) >= self.stop_after_reports))

    def publish(self, partial_result: dict) -> None:
        self.published.append(json.loads(json.dumps(partial_result)))  # as the store would keep it
