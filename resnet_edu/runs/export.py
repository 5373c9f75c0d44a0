"""A run's metrics as one table: the CSV a student opens in a spreadsheet (``runs export --csv``).

Its own file because an export joins the steps and the evaluations into one row per
step, keeping every value, which no page needs.
"""

from __future__ import annotations

import os

import pandas as pd

from resnet_edu.runs.schema import EXPORT_COLUMNS, EXPORT_DTYPES, STEP_COLUMNS
from resnet_edu.runs.values import to_frame


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
        text = self.export_frame(run_id).to_csv(index=False, lineterminator="\n")
        if path is not None:
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        return text

