"""The ``analysis_jobs`` table: progress and results of heavy work on trained runs.

Analysis jobs (a lesion study, a loss landscape, a download) are not
runs: they have their own statuses and a JSON result. They run in the training process;
their progress and result live here, so every tab reads the same job and a restarted app
still has the results. Starting and stopping them is ``resnet_edu.engine.tasks``'s work;
this file only reads and writes their rows.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from resnet_edu.runs.ownership import owner_alive
from resnet_edu.runs.schema import ACTIVE_SQL, ANALYSIS_STATUSES
from resnet_edu.runs.values import MAX_MESSAGE_CHARS, check_run_id, check_text, dumps, loads, to_float, utc_now

_ANALYSIS_COLUMNS = ["job_id", "kind", "params", "run_ids", "status", "fraction", "message", "created_at",
                     "updated_at"]


class AnalysisJobsMixin:
    """The analysis-jobs part of ``RunStore``.

    Uses ``self._read``/``self._commit`` (writer) and ``self._owner`` (ownership).
    """

    def create_analysis(self, kind: str, params: Mapping[str, Any], run_ids: Iterable[str] = ()) -> str:
        """A queued analysis job; returns its id (e.g. "a1f0c9e2b")."""
        kind = check_text(kind, "analysis kind", 64)
        run_ids = [check_run_id(r) for r in run_ids]
        job_id = "a" + secrets.token_hex(4)
        now = utc_now()
        self._commit(lambda c: c.execute(
            "INSERT INTO analysis_jobs (job_id, kind, params, run_ids, status, fraction, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, 'queued', 0, ?, ?)", (job_id, kind, dumps(dict(params)), dumps(run_ids), now, now)))
        return job_id

    def update_analysis(self, job_id: str, *, status: str | None = None, fraction: float | None = None,
                        message: str | None = None, result: Mapping[str, Any] | None = None) -> None:
        """Change a job's status, progress, message or result (None keeps the old value)."""
        if status is not None and status not in ANALYSIS_STATUSES:
            raise ValueError(f"unknown analysis status {status!r}; allowed: {', '.join(ANALYSIS_STATUSES)}")
        if message is not None:
            message = str(message)[:MAX_MESSAGE_CHARS]
        owner = (self._owner, os.getpid()) if status == "running" else (None, None)
        self._commit(lambda c: c.execute(
            "UPDATE analysis_jobs SET status = COALESCE(?, status), fraction = COALESCE(?, fraction),"
            " message = COALESCE(?, message), result = COALESCE(?, result), updated_at = ?,"
            " owner = COALESCE(?, owner), owner_pid = COALESCE(?, owner_pid) WHERE job_id = ?",
            (status, to_float(fraction), message, None if result is None else dumps(dict(result)), utc_now(),
             *owner, job_id)))

    def get_analysis(self, job_id: str) -> dict[str, Any] | None:
        """One job: the keys of ``list_analyses`` plus ``result`` (dict or None); None if there is no such job."""
        rows = self._read("SELECT " + ", ".join(_ANALYSIS_COLUMNS) + ", result FROM analysis_jobs"
                          " WHERE job_id = ?", (str(job_id),))
        if not rows:
            return None
        job = dict(zip(_ANALYSIS_COLUMNS + ["result"], rows[0]))
        job["params"], job["run_ids"] = loads(job["params"], {}), loads(job["run_ids"], [])
        job["result"] = loads(job["result"], None)
        return job

    def list_analyses(self, kind: str | None = None, run_id: str | None = None) -> pd.DataFrame:
        """Analysis jobs, newest first (without their results), optionally of one kind or about one run."""
        sql = "SELECT " + ", ".join(_ANALYSIS_COLUMNS) + " FROM analysis_jobs"
        where, args = [], []
        if kind is not None:
            where, args = where + ["kind = ?"], args + [kind]
        if run_id is not None:  # run ids are [A-Za-z0-9_-]: safe inside a LIKE pattern
            where, args = where + ["run_ids LIKE ?"], args + [f'%"{check_run_id(run_id)}"%']
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._read(sql + " ORDER BY created_at DESC, rowid DESC", args)
        frame = pd.DataFrame(rows, columns=_ANALYSIS_COLUMNS)
        frame["params"] = frame["params"].map(lambda text: loads(text, {}))
        frame["run_ids"] = frame["run_ids"].map(lambda text: loads(text, []))
        return frame

    def latest_analysis(self, kind: str, run_ids: Iterable[str]) -> str | None:
        """The newest job of ``kind`` about exactly these runs (whichever tab started it), or None."""
        wanted = sorted(run_ids)
        if not wanted:
            return None
        for _, job in self.list_analyses(kind=kind, run_id=wanted[0]).iterrows():
            if sorted(job["run_ids"]) == wanted:
                return str(job["job_id"])
        return None

    def fail_orphaned_analyses(self, reason: str) -> list[str]:
        """Queued/running jobs whose process is gone become ``failed`` with ``reason``."""
        rows = self._read(f"SELECT job_id, owner, owner_pid FROM analysis_jobs WHERE status IN {ACTIVE_SQL}", ())
        orphans = [job_id for job_id, owner, pid in rows
                   if owner is not None and owner != self._owner and not owner_alive(owner, pid)]
        for job_id in orphans:
            self.update_analysis(job_id, status="failed", message=reason)
        return orphans
