"""Checkpoints: where a run's files live, which one is the latest, and reading one safely.

Its own file because checkpoints are files beside the database, not rows in it: the store
records where each was saved (relative to the runs folder, so the folder can be moved or
copied) and finds the newest that still exists.

A checkpoint is a dict saved with ``torch.save``: the model's and the optimizer's state, the
run's config, its step and what the data set looked like (see ``Trainer.checkpoint``). It is
read with ``torch.load(..., weights_only=True)``, which refuses pickled code, so a file
someone hands you cannot run anything. torch is imported only by ``load_checkpoint``: the
store itself never needs it, so the app's pages open the store without loading torch.
"""

from __future__ import annotations

import os
import pathlib
import sqlite3
from typing import TYPE_CHECKING

from resnet_edu.runs.schema import INSERT_EVENT
from resnet_edu.runs.values import RunNotFound, check_run_id, dumps, loads, to_int, utc_now

if TYPE_CHECKING:
    import torch

CHECKPOINT_FORMAT = "resnet-lab-checkpoint-1"
INIT_CHECKPOINT = "init.pt"  # a run's weights before its first step: where the landscape's path starts
LAST_CHECKPOINT = "last.pt"  # the newest checkpoint (each epoch's end, a stop): what resume reads


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a ResNet Lab checkpoint safely (weights_only=True); ValueError for anything else.

    Args:
        path: the checkpoint file.
        map_location: where the tensors go, e.g. ``"cpu"`` or ``"cuda:0"``.
    """
    import torch

    path = pathlib.Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path.name!r} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # corrupt, truncated, pickled code, not a torch file at all
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{path.name!r} is not a readable ResNet Lab checkpoint ({first_line[:160]})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path.name!r} is not a ResNet Lab checkpoint (no '{CHECKPOINT_FORMAT}' marker)")
    return payload


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

        if not self._commit(work):
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

