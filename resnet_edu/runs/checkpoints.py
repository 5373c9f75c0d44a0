"""Checkpoints in the store: where a run's files live and which one is the latest.

Checkpoints are files beside the database, not rows in it: the store
records where each was saved (relative to the runs folder, so the folder can be moved or
copied) and finds the newest that still exists.

What a checkpoint file holds, and reading one safely, is :mod:`resnet_edu.train.checkpoint`.
"""

from __future__ import annotations

import os
import pathlib
import sqlite3

from resnet_edu.runs.schema import INSERT_EVENT
from resnet_edu.runs.values import RunNotFound, check_run_id, dumps, loads, to_int, utc_now


class CheckpointsMixin:
    """The checkpoint part of ``RunStore``.

    Uses ``self.root``, ``self._read``/``self._commit`` (writer) and ``self._require_run`` (records).
    """

    def _checkpoint_path(self, run_id: str) -> pathlib.Path:
        return self.root / "checkpoints" / check_run_id(run_id)

    def checkpoint_dir(self, run_id: str) -> pathlib.Path:
        """``root/checkpoints/<run_id>/``, created if missing."""
        self._require_run(run_id)
        folder = self._checkpoint_path(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _stored_path(self, path: str | os.PathLike) -> str:
        # Relative to the runs folder when inside it, so the folder can be moved or copied.
        p = pathlib.Path(path)
        try:
            return p.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(p.resolve())

    def _resolve_stored(self, stored: str | None) -> pathlib.Path | None:
        if not stored:
            return None
        p = pathlib.Path(stored)
        return p if p.is_absolute() else self.root / p

    def record_checkpoint(self, run_id: str, step: int, path: str | os.PathLike) -> None:
        """Note that a checkpoint of ``run_id`` at ``step`` was saved at ``path`` (committed at once)."""
        self._require_run(run_id)
        step = to_int(step, "step")
        stored = self._stored_path(path)
        detail = dumps({"path": stored, "step": step})

        def work(c: sqlite3.Connection) -> int:
            n = c.execute(
                "UPDATE runs SET last_checkpoint_step = ?, last_checkpoint_path = ? WHERE run_id = ?",
                (step, stored, run_id),
            ).rowcount
            if n:
                c.execute(INSERT_EVENT, (run_id, step, "checkpoint", detail, utc_now()))
            return n

        if not self._commit(work, ends_run=True):  # the checkpoint a stopped run resumes from
            raise RunNotFound(run_id)

    def latest_checkpoint(self, run_id: str) -> pathlib.Path | None:
        """Path of the newest recorded checkpoint file that still exists, or None."""
        self._require_run(run_id)
        row = self._read("SELECT last_checkpoint_path FROM runs WHERE run_id = ?", (run_id,))
        candidates = [row[0][0]] if row else []
        events = self._read(
            "SELECT detail FROM events WHERE run_id = ? AND kind = 'checkpoint' ORDER BY step DESC, id DESC",
            (run_id,),
        )
        candidates += [loads(d, {}).get("path") for (d,) in events]
        for stored in candidates:
            p = self._resolve_stored(stored)
            if p is not None and p.is_file():
                return p
        return None

