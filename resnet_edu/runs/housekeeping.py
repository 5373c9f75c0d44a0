"""A term of runs: choose old runs to prune, move runs into an archive, shrink the file; and a bound
on the store's ``inputs/`` folder.

Pruning, archiving and compacting are housekeeping a teacher does between lessons (``runs prune``,
``runs archive``, ``runs compact`` on the CLI, the Lab's "Manage runs"), never while a
run trains, and they work on whole files and folders rather than on rows. ``prune_inputs`` runs
whenever a page asks for a new view: it removes the files analysis jobs read (an image, uploaded
weights) that no queued or running job names, once unused for a day or while the folder is too big.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone

from resnet_edu.runs.connections import retry_busy
from resnet_edu.runs.schema import ACTIVE_SQL, ENDED_STATUSES, PER_RUN_TABLES
from resnet_edu.runs.values import to_int

INPUTS_FOLDER = "inputs"  # files analysis jobs read (a Features view's image, uploaded weights), named by content
INPUTS_MAX_AGE_S = 86_400  # an input no active job names goes once unused this long (s)
INPUTS_MAX_BYTES = 1 << 30  # beyond this the least recently used inputs go first (bytes)
INPUTS_GRACE_S = 600  # younger inputs always stay: a page may have written one for a job it is submitting (s)


def _texts(value) -> Iterator[str]:
    """Every string inside a job's parameters (lists and dicts opened)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)


class HousekeepingMixin:
    """The housekeeping part of ``RunStore``.

    Uses ``self._read``/``self.flush`` (writer), ``self._conn``/``self._transaction``
    (connections), ``self._require_run``/``self.delete_runs`` (records) and
    ``self._checkpoint_path`` (checkpoints).
    """

    def prune_candidates(self, older_than_days: float | None = None, keep_last: int | None = None) -> list[str]:
        """Ended runs that may go: created more than ``older_than_days`` ago and not among the
        newest ``keep_last`` runs (both conditions when both are given). Running runs never.

        Args:
            older_than_days: only runs created before now minus this many days.
            keep_last: always keep this many of the newest runs (of any status).
        """
        if older_than_days is None and keep_last is None:
            raise ValueError("say which runs: older_than_days, keep_last or both")
        rows = self._read("SELECT run_id, status, created_at FROM runs ORDER BY created_at DESC, rowid DESC", ())
        if keep_last is not None:
            rows = rows[max(0, to_int(keep_last, "keep_last")):]
        if older_than_days is not None:
            cutoff = datetime.now(timezone.utc).timestamp() - float(older_than_days) * 86400
            rows = [r for r in rows if datetime.fromisoformat(r[2]).timestamp() < cutoff]
        return [run_id for run_id, status, _ in rows if status in ENDED_STATUSES]

    def archive_runs(self, run_ids: Iterable[str], folder: str | os.PathLike | None = None) -> pathlib.Path:
        """Move ended runs into an archive store, then delete them here.

        The archive is a runs folder of its own (``runs.sqlite`` + ``checkpoints/``), by default
        ``<root>/archive/<UTC time>/``: open it with ``RESNET_EDU_RUNS_DIR=<that folder>`` to look
        at the old runs again. Rows are copied and committed there before anything is deleted here.
        Space freed in ``runs.sqlite`` is reused by new runs (``compact()`` shrinks the file).

        Raises:
            ValueError: a run is still queued or running.
        """
        ids = list(dict.fromkeys(self._require_run(r) for r in run_ids))
        if not ids:
            raise ValueError("no runs to archive")
        marks = ", ".join("?" * len(ids))
        active = self._read(f"SELECT run_id FROM runs WHERE run_id IN ({marks}) AND status IN {ACTIVE_SQL}",
                            ids)
        if active:
            raise ValueError(f"run {active[0][0]} is still training: stop it first")
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        target = pathlib.Path(folder) if folder is not None else self.root / "archive" / stamp
        archive = type(self)(target)  # a RunStore of its own: creates the schema; closed before we attach it
        archive._reserve.release()  # nothing trains there
        archive.close()
        conn = self._conn()
        retry_busy(lambda: conn.execute("ATTACH DATABASE ? AS archive", (str(archive.db_path),)))
        try:
            def copy(c: sqlite3.Connection) -> None:
                for table in ("runs", *PER_RUN_TABLES):
                    # Columns by name (both sides may have been migrated in a different order).
                    here = [r[1] for r in c.execute(f"PRAGMA main.table_info({table})")]
                    there = {r[1] for r in c.execute(f"PRAGMA archive.table_info({table})")}
                    names = ", ".join(n for n in here if n in there and not (table == "events" and n == "id"))
                    order = " ORDER BY id" if table == "events" else ""
                    c.execute(f"INSERT OR REPLACE INTO archive.{table} ({names}) SELECT {names} FROM main.{table}"
                              f" WHERE run_id IN ({marks}){order}", ids)

            self._transaction(copy)
        finally:
            conn.execute("DETACH DATABASE archive")
        for run_id in ids:
            source = self._checkpoint_path(run_id)
            if source.is_dir():
                destination = target / "checkpoints" / run_id
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(source), str(destination))
        self.delete_runs(ids)
        return target

    def compact(self) -> tuple[int, int]:
        """Shrink ``runs.sqlite`` to what it holds (SQLite's VACUUM); returns (bytes before, after).

        Needs free space about the size of the file, and holds every writer back while it
        runs (seconds per 100 MB): do it when nothing trains.
        """
        before = self.db_path.stat().st_size
        self.flush()
        conn = self._conn()
        retry_busy(lambda: conn.execute("VACUUM"))
        retry_busy(lambda: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
        return before, self.db_path.stat().st_size

    def prune_inputs(self, max_age_s: float = INPUTS_MAX_AGE_S, max_bytes: int = INPUTS_MAX_BYTES,
                     grace_s: float = INPUTS_GRACE_S) -> list[str]:
        """Remove files of ``<root>/inputs/`` that no queued or running analysis job names: those unused
        (last written or touched) more than ``max_age_s`` ago, then the least recently used until the
        folder holds at most ``max_bytes``. A job names a file by its name or its content hash (the
        name without its suffix) anywhere in its parameters. A file younger than ``grace_s`` stays.

        Returns:
            The names removed (a file another process removed first, or cannot remove, is skipped).
        """
        folder = self.root / INPUTS_FOLDER
        files = []
        with contextlib.suppress(OSError):  # no inputs yet (or the folder, or a file, went away meanwhile)
            for entry in folder.iterdir():
                found = entry.stat()
                if entry.is_file():
                    files.append((found.st_mtime, found.st_size, entry))
        rows = self._read(f"SELECT params FROM analysis_jobs WHERE status IN {ACTIVE_SQL}", ())
        named = {text for (params,) in rows for text in _texts(json.loads(params or "{}"))}
        now = time.time()
        total = sum(size for _, size, _ in files)
        removed = []
        for mtime, size, entry in sorted(files, key=lambda item: item[0]):  # least recently used first
            if entry.name in named or entry.name.split(".")[0] in named or now - mtime < grace_s:
                continue
            if now - mtime <= max_age_s and total <= max_bytes:
                continue
            with contextlib.suppress(OSError):
                if entry.stat().st_mtime != mtime:  # used again since it was listed (ui: keep_input touches it)
                    continue
                entry.unlink()
                removed.append(entry.name)
                total -= size
        return removed
