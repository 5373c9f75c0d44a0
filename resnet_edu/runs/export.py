"""A run's metrics as one table: the CSV a student opens in a spreadsheet (``runs export --csv``),
and ``spreadsheet_safe``/``csv_text``: every CSV the app or the CLI writes, with no cell a
spreadsheet would run as a formula (a run name such as ``=HYPERLINK(...)``).
"""

from __future__ import annotations

import os

import pandas as pd

from resnet_edu.runs.schema import EXPORT_COLUMNS, EXPORT_DTYPES, STEP_COLUMNS
from resnet_edu.runs.values import to_frame


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what makes Excel, LibreOffice or Sheets read a cell as a formula


def _neutralised(value):
    """A text cell that a spreadsheet would run as a formula, with a ' in front (OWASP's advice); else as it was."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names cannot start a formula. Numbers (-0.5) stay numbers."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(_neutralised)
    safe.columns = [_neutralised(c) for c in safe.columns]
    return safe


def csv_text(frame: pd.DataFrame) -> str:
    """``frame`` as CSV text (no index, \\n line ends) that is safe to open in a spreadsheet."""
    return spreadsheet_safe(frame).to_csv(index=False, lineterminator="\n")


class ExportMixin:
    """The export part of ``RunStore``. Uses ``self._read`` (writer) and ``self._require_run`` (records)."""

    def export_frame(self, run_id: str) -> pd.DataFrame:
        """One row per logged step, with test loss/error where an evaluation was made.

        Evaluations at a step that has no step row get their own row, so nothing is lost.
        """
        self._require_run(run_id)
        s_cols = ", ".join(f"s.{c}" for c in STEP_COLUMNS)
        sql = (
            f"SELECT {s_cols}, e.test_loss, e.test_error FROM steps s"
            " LEFT JOIN evals e ON e.run_id = s.run_id AND e.step = s.step WHERE s.run_id = ?"
            " UNION ALL"
            " SELECT e.step, e.epoch, e.train_seconds, NULL, NULL, NULL, NULL, e.test_loss, e.test_error"
            " FROM evals e WHERE e.run_id = ?"
            " AND NOT EXISTS (SELECT 1 FROM steps s WHERE s.run_id = e.run_id AND s.step = e.step)"
            " ORDER BY 1"
        )
        return to_frame(self._read(sql, (run_id, run_id)), EXPORT_COLUMNS, EXPORT_DTYPES)

    def export_csv(self, run_id: str, path: str | os.PathLike | None = None) -> str:
        """The run's metrics (``export_frame``) as CSV text; also written to ``path`` if given."""
        text = csv_text(self.export_frame(run_id))
        if path is not None:
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        return text

