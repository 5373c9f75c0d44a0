"""Reading runs back: one run, the list of runs, and a run's metrics as DataFrames.

Reads are what every page does on every refresh, so each is one
indexed query, and each returns a frame with fixed columns and types even when it has no
rows. Before reading, a store commits what its own process has buffered, so a process
always reads what it wrote.

A long curve is not read row by row: ``step_blocks`` sums blocks of iterations in SQL, so
a chart of a 64,000-iteration run gets a few hundred rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

import pandas as pd

from resnet_edu.runs.schema import (
    BLOCK_COLUMNS,
    BLOCK_DTYPES,
    EVAL_COLUMNS,
    EVAL_DTYPES,
    EVENT_COLUMNS,
    EVENT_DTYPES,
    LAYER_COLUMNS,
    LAYER_DTYPES,
    RUN_COLUMNS,
    RUN_DTYPES,
    STEP_COLUMNS,
    STEP_DTYPES,
)
from resnet_edu.runs.values import RunNotFound, check_run_id, loads, to_frame, to_int

_RUN_SELECT = "SELECT " + ", ".join(RUN_COLUMNS) + " FROM runs"


def _run_row_to_dict(row: sqlite3.Row | tuple) -> dict[str, Any]:
    d = dict(zip(RUN_COLUMNS, row))
    d["config"] = loads(d["config"], {})
    d["versions"] = loads(d["versions"], {})
    d["imported"] = loads(d["imported"], None)  # None: trained with this store
    return d


class ReadsMixin:
    """The reading part of ``RunStore``.

    Uses ``self._read`` and ``self._flush_for_read`` (writer), ``self._query`` (connections)
    and ``self._require_run``/``self._known`` (records).
    """

    def get_run(self, run_id: str) -> dict[str, Any]:
        """One run as a dict (keys: ``RUN_COLUMNS``); config, versions and imported (or None) parsed."""
        check_run_id(run_id)
        self._flush_for_read()
        rows = self._query(_RUN_SELECT + " WHERE run_id = ?", (run_id,))
        if not rows:
            raise RunNotFound(run_id)
        self._known.add(run_id)
        return _run_row_to_dict(rows[0])

    def list_runs(self, group_id: str | None = None) -> pd.DataFrame:
        """All runs (or one group's), newest first, columns ``RUN_COLUMNS``."""
        self._flush_for_read()
        sql, args = _RUN_SELECT, ()
        if group_id is not None:
            sql, args = sql + " WHERE group_id = ?", (group_id,)
        rows = self._query(sql + " ORDER BY created_at DESC, rowid DESC", args)
        return to_frame([_run_row_to_dict(r) for r in rows], RUN_COLUMNS, RUN_DTYPES)

    def run_menu(self) -> list[tuple[str, str, str | None, str, str]]:
        """(run_id, name, group_id, status, created_at) of every run, newest first.

        What a run picker shows, and cheap enough to ask on every page re-run (no config
        parsing, no DataFrame): equal answers mean a menu built from the last one still holds.
        """
        return [tuple(row) for row in self._read(
            "SELECT run_id, name, group_id, status, created_at FROM runs ORDER BY created_at DESC, rowid DESC", ())]

    def statuses(self, run_ids: Iterable[str]) -> dict[str, str]:
        """{run_id: status} of the given runs that exist; one query, cheap enough for every page re-run."""
        run_ids = [check_run_id(r) for r in run_ids]
        if not run_ids:
            return {}
        self._flush_for_read()
        marks = ",".join("?" * len(run_ids))
        return dict(self._read(f"SELECT run_id, status FROM runs WHERE run_id IN ({marks})", run_ids))

    def steps(self, run_id: str, since_step: int = -1) -> pd.DataFrame:
        """Training steps with ``step > since_step``, sorted by step (columns ``STEP_COLUMNS``)."""
        return self._rows_after("steps", STEP_COLUMNS, STEP_DTYPES, run_id, since_step)

    def evals(self, run_id: str, since_step: int = -1) -> pd.DataFrame:
        """Evaluations with ``step > since_step``, sorted by step (columns ``EVAL_COLUMNS``)."""
        return self._rows_after("evals", EVAL_COLUMNS, EVAL_DTYPES, run_id, since_step)

    def _rows_after(self, table: str, columns: list[str], dtypes: dict[str, str], run_id: str,
                    since_step: int) -> pd.DataFrame:
        # A page asks for "the rows after the last one I drew": one range scan of the primary key.
        self._require_run(run_id)
        rows = self._read(f"SELECT {', '.join(columns)} FROM {table} WHERE run_id = ? AND step > ? ORDER BY step",
                          (run_id, to_int(since_step, "since_step")))
        return to_frame(rows, columns, dtypes)

    def layer_stats(self, run_id: str, kind: str) -> pd.DataFrame:
        """Per-layer values of one kind: step, layer, layer_index, value (by step, then depth)."""
        self._require_run(run_id)
        rows = self._read(
            "SELECT step, layer, layer_index, value FROM layer_stats WHERE run_id = ? AND kind = ?"
            " ORDER BY step, layer_index",
            (run_id, kind),
        )
        return to_frame(rows, LAYER_COLUMNS, LAYER_DTYPES)

    def events(self, run_id: str) -> pd.DataFrame:
        """Events sorted by step (then time): step, kind, detail (dict), created_at."""
        self._require_run(run_id)
        rows = self._read(
            "SELECT step, kind, detail, created_at FROM events WHERE run_id = ? ORDER BY step, id", (run_id,)
        )
        rows = [(s, k, loads(d, {}), t) for s, k, d, t in rows]
        return to_frame(rows, EVENT_COLUMNS, EVENT_DTYPES)

    def versions(self, run_ids: Iterable[str]) -> dict[str, tuple]:
        """For each existing run: (status, name, last step, evaluations, events, last event id).

        Cheap (primary-key and index lookups only) and different whenever anything a chart
        of the run draws has changed: the key for caching what is built from a run.
        """
        ids = list(dict.fromkeys(check_run_id(r) for r in run_ids))
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        rows = self._read(
            "SELECT r.run_id, r.status, r.name,"
            " (SELECT MAX(step) FROM steps s WHERE s.run_id = r.run_id),"
            " (SELECT COUNT(*) FROM evals e WHERE e.run_id = r.run_id),"
            " (SELECT COUNT(*) FROM events v WHERE v.run_id = r.run_id),"
            " (SELECT MAX(id) FROM events v WHERE v.run_id = r.run_id)"
            f" FROM runs r WHERE r.run_id IN ({marks})", ids)
        return {row[0]: tuple(row[1:]) for row in rows}

    def step_range(self, run_id: str, since_step: int = -1) -> tuple[int | None, int | None]:
        """(first, last) logged step after ``since_step``, or (None, None): two primary-key lookups."""
        self._require_run(run_id)
        first, last = self._read("SELECT MIN(step), MAX(step) FROM steps WHERE run_id = ? AND step > ?",
                                 (run_id, to_int(since_step, "since_step")))[0]
        return first, last

    def step_blocks(self, run_id: str, stride: int, since_step: int = -1) -> pd.DataFrame:
        """Training steps summed per block of ``stride`` iterations, in SQL: a long curve, drawn.

        One row per ``bucket = step // stride``: the block's last ``step`` (and its epoch,
        train_seconds, lr), and sums and counts of the training error, the finite losses and
        the images per second. Means over any set of blocks stay exact: a chart of a
        64,000-iteration run gets ~500 rows instead of 64,000.

        Args:
            run_id: the run.
            stride: iterations per block (1 or more).
            since_step: only steps after this one.
        """
        self._require_run(run_id)
        stride = to_int(stride, "stride")
        if stride < 1:
            raise ValueError(f"stride must be at least 1, got {stride}")
        # With exactly one max() aggregate, SQLite takes the bare columns (epoch, train_seconds,
        # lr) from the row holding the maximum: the block's last iteration.
        finite = "ABS(train_loss) < 1e308"  # NULL (a NaN) and inf are left out, as in the mean
        rows = self._read(
            "SELECT step / ? AS bucket, MAX(step), epoch, train_seconds, lr,"
            " TOTAL(train_error), COUNT(train_error),"
            f" TOTAL(CASE WHEN {finite} THEN train_loss END), COUNT(CASE WHEN {finite} THEN 1 END),"
            " TOTAL(images_per_second), COUNT(images_per_second)"
            " FROM steps WHERE run_id = ? AND step > ? GROUP BY bucket ORDER BY bucket",
            (stride, run_id, to_int(since_step, "since_step")))
        return to_frame(rows, BLOCK_COLUMNS, BLOCK_DTYPES)
