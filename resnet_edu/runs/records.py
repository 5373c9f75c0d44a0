"""Runs as records: create one, change its status, log an event, delete it.

These are the rare writes that decide what a run *is* (its id,
settings, status and history), as opposed to the stream of metrics in ``writer.py``. Each
is committed at once, after everything buffered before it, so the order in the file is
the order in which things happened.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from resnet_edu.runs.schema import (
    ACTIVE_STATUSES,
    ENDED_STATUSES,
    INSERT_EVENT,
    METRIC_TABLES,
    PER_RUN_TABLES,
    RUN_STATUSES,
)
from resnet_edu.runs.values import (
    MAX_MESSAGE_CHARS,
    RunNotFound,
    check_run_id,
    check_text,
    dumps,
    run_versions,
    to_int,
    utc_now,
)


def check_status(status: Any) -> str:
    """``status`` if it is one of ``RUN_STATUSES``; ValueError listing them otherwise."""
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}; allowed: {', '.join(RUN_STATUSES)}")
    return status


class RunRecordsMixin:
    """The run-records part of ``RunStore``.

    Uses ``self._commit``, ``self._drop_buffered`` and ``self._flush_lock`` (writer),
    ``self._query`` (connections), ``self._checkpoint_path`` (checkpoints) and ``self._owner``
    (this process's identity, ``ownership.py``).
    """

    def _init_records(self) -> None:
        self._known: set[str] = set()  # run ids seen to exist (skips a query per log call)
        self._deleted: set[str] = set()  # deleted here: late logs from workers are dropped

    def _require_run(self, run_id: Any) -> str:
        run_id = check_run_id(run_id)
        if run_id in self._known:
            return run_id
        row = self._query("SELECT 1 FROM runs WHERE run_id = ?", (run_id,))
        if not row:
            raise RunNotFound(run_id)
        self._known.add(run_id)
        return run_id

    def _accepts_logs(self, run_id: Any) -> bool:
        """For the hot logging path: False for a run deleted by this process (drop silently)."""
        if run_id in self._known:
            return True
        if run_id in self._deleted:
            return False
        self._require_run(run_id)
        return True

    def has_run(self, run_id: Any) -> bool:
        """Whether a run with this id exists (never raises)."""
        try:
            self._require_run(run_id)
        except RunNotFound:
            return False
        return True

    def create_run(
        self,
        name: str,
        config: Mapping[str, Any] | Any,
        *,
        group_id: str | None = None,
        device: str = "cpu",
        total_steps: int | None = None,
        status: str = "queued",
    ) -> str:
        """Create a run and return its new id (``"r"`` + 8 hex digits).

        Args:
            name: any unicode text up to 200 characters; empty means "use the id".
            config: the training settings, a dict (or a dataclass), stored as JSON.
            group_id: runs created together to be compared (e.g. plain vs residual).
            device: where it trains, e.g. ``"cpu"`` or ``"cuda:0"``.
            total_steps: planned number of steps, if known.
            status: ``"queued"`` (default) or any of ``RUN_STATUSES``.
        """
        name = check_text(name, "run name").strip()
        if dataclasses.is_dataclass(config) and not isinstance(config, type):
            config = dataclasses.asdict(config)
        if not isinstance(config, Mapping):
            raise TypeError(f"config must be a dict, got {type(config).__name__}")
        config_json = dumps(dict(config))
        if group_id is not None:
            group_id = check_text(group_id, "group id")
        device = check_text(device, "device", 64)
        if total_steps is not None:
            total_steps = to_int(total_steps, "total_steps")
        check_status(status)
        versions = dumps(run_versions())
        now = utc_now()
        started = now if status == "running" else None
        finished = now if status in ENDED_STATUSES else None
        while True:
            run_id = "r" + secrets.token_hex(4)

            def work(c: sqlite3.Connection, run_id: str = run_id) -> None:
                c.execute(
                    "INSERT INTO runs (run_id, name, group_id, status, config, device, versions, created_at,"
                    " started_at, finished_at, total_steps, owner, owner_pid)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (run_id, name or run_id, group_id, status, config_json, device, versions, now,
                     started, finished, total_steps, self._owner, os.getpid()),
                )

            try:
                self._commit(work)
            except sqlite3.IntegrityError:  # id collision: 1 in 4 billion, draw again
                continue
            self._known.add(run_id)
            return run_id

    def set_status(self, run_id: str, status: str, message: str | None = None) -> None:
        """Change a run's status; committed at once, after everything buffered.

        ``running`` sets ``started_at`` (first time only) and makes this process the run's
        owner; an ending status sets ``finished_at``. ``message`` (e.g. why it failed)
        replaces the old one; going back to running/queued clears an old message.
        """
        check_run_id(run_id)
        check_status(status)
        if message is not None:  # often an exception's text: never refuse it, trim it
            message = str(message)[:MAX_MESSAGE_CHARS].encode("utf-8", "replace").decode("utf-8")
        now = utc_now()
        if status in ACTIVE_STATUSES:
            sql = (
                "UPDATE runs SET status = ?, message = ?, finished_at = NULL, owner = ?, owner_pid = ?,"
                " started_at = CASE WHEN ? = 'running' THEN COALESCE(started_at, ?) ELSE started_at END"
                " WHERE run_id = ?"
            )
            args: tuple = (status, message, self._owner, os.getpid(), status, now, run_id)
        else:
            sql = "UPDATE runs SET status = ?, message = COALESCE(?, message), finished_at = ? WHERE run_id = ?"
            args = (status, message, now, run_id)

        def work(c: sqlite3.Connection) -> int:
            return c.execute(sql, args).rowcount

        if not self._commit(work, ends_run=status in ENDED_STATUSES):
            raise RunNotFound(run_id)
        self._known.add(run_id)

    def log_event(self, run_id: str, step: int, kind: str, detail: Mapping[str, Any] | None = None) -> None:
        """Record an event at a step; committed at once (with everything buffered before it).

        Any kind is accepted; the app uses started, shortcuts_toggled, stopped, diverged,
        finished, interrupted, failed, resumed and checkpoint, e.g. ``shortcuts_toggled`` with
        detail ``{"enabled": False, "stages": [1, 2] or None}``.
        """
        step = to_int(step, "step")
        kind = check_text(kind, "event kind", 64)
        if detail is not None and not isinstance(detail, Mapping):
            raise TypeError(f"event detail must be a dict or None, got {type(detail).__name__}")
        detail_json = dumps(dict(detail or {}))
        if not self._accepts_logs(run_id):
            return
        row = (run_id, step, kind, detail_json, utc_now())
        # The event saying how a run ended may use the space reserve, as its ending status may.
        self._commit(lambda c: c.execute(INSERT_EVENT, row), ends_run=kind in ENDED_STATUSES)

    def discard_after(self, run_id: str, step: int) -> None:
        """Delete steps, evals and layer stats after ``step`` (resuming from a checkpoint).

        Events are kept: they are the history of what happened to the run.
        """
        self._require_run(run_id)
        step = to_int(step, "step")

        def work(c: sqlite3.Connection) -> None:
            for table in METRIC_TABLES:
                c.execute(f"DELETE FROM {table} WHERE run_id = ? AND step > ?", (run_id, step))

        self._commit(work)

    def delete_run(self, run_id: str) -> None:
        """Delete a run: its rows in every table and its checkpoint folder.

        A worker still logging to it afterwards (in this process) is ignored, not an error.
        """
        if not self.delete_runs([run_id]):
            self._deleted.discard(run_id)  # it never existed: logging to it stays an error
            raise RunNotFound(run_id)

    def delete_runs(self, run_ids: Iterable[str]) -> int:
        """Delete many runs (rows and checkpoints) in one transaction; returns how many existed."""
        ids = list(dict.fromkeys(check_run_id(r) for r in run_ids))
        if not ids:
            return 0
        with self._flush_lock:
            self._drop_buffered(ids)
            marks = ", ".join("?" * len(ids))

            def work(c: sqlite3.Connection) -> int:
                for table in PER_RUN_TABLES:
                    c.execute(f"DELETE FROM {table} WHERE run_id IN ({marks})", ids)
                return c.execute(f"DELETE FROM runs WHERE run_id IN ({marks})", ids).rowcount

            found = self._commit(work)
            self._known.difference_update(ids)
            self._deleted.update(ids)
        for run_id in ids:
            shutil.rmtree(self._checkpoint_path(run_id), ignore_errors=True)
        return found
