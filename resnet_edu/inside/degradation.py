"""Reading training runs the way the paper reads them (Fig. 1, Fig. 6, Table 6).

Pure functions of the run store's data: no Streamlit, no plotting. The Degradation page and
the CLI use them to turn curves into the paper's claim:

* ``summarize_runs``: one row per run — depth, plain or residual, final training error
  (mean of the last ``TRAIN_ERROR_WINDOW`` iterations, as the CLI's ``final_train_error``), last test error.
* ``degradation_sentence``: the current runs in one or two sentences, in English or Korean
  (defined in ``resnet_edu.inside.verdict`` with the rule that decides when to name the degradation
  problem; importable from here).
* ``CurveBuffer``: a run's training curve read incrementally (``since_step``) and kept at
  most ``max_points`` points long, each point the exact mean of the iterations it covers.
* ``load_table6``: the paper's Table 6 (CIFAR-10 test error of ResNets) from ``assets/``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from resnet_edu.assets import paper_table
from resnet_edu.inside.verdict import (  # noqa: F401  (the verdict's names, where callers have always found them)
    HOLD_STEPS,
    MIN_STEPS_TO_CLAIM,
    MIN_STEPS_TO_READ,
    NOISE_POINTS,
    WITHDRAW_POINTS,
    degradation_sentence,
    degradation_verdict,
)
from resnet_edu.runs import RunNotFound
from resnet_edu.runs.schema import BLOCK_COLUMNS
from resnet_edu.train import TRAIN_ERROR_WINDOW

SUMMARY_COLUMNS = ["run_id", "name", "group_id", "status", "family", "depth", "kind", "steps", "epoch",
                   "final_train_error", "final_test_error", "test_step"]


def run_kind(config: dict[str, Any]) -> str:
    """"residual" or "plain", from a run's stored config (its shortcuts when it started)."""
    return "residual" if config.get("shortcuts", True) else "plain"


def load_table6() -> pd.DataFrame:
    """Paper Table 6: depth, params_millions, test_error_paper_pct, test_error_akamaster_pct, note, source."""
    return paper_table("table6.csv")


# ---------------------------------------------------------------- one row per run

def _final_values(store, run_id: str, steps_done: int, at_step: int | None) -> tuple[float, int, float, float, int]:
    """(mean training error of the last TRAIN_ERROR_WINDOW iterations, last step, epoch, last test error, its step)."""
    end = steps_done if at_step is None else min(steps_done, at_step)
    since = max(-1, end - 3 * TRAIN_ERROR_WINDOW)
    steps = store.steps(run_id, since_step=since)
    if at_step is not None:
        steps = steps[steps["step"] <= at_step]
    if len(steps) < TRAIN_ERROR_WINDOW and since > -1:  # progress lagged, or steps were logged sparsely
        steps = store.steps(run_id)
        if at_step is not None:
            steps = steps[steps["step"] <= at_step]
    tail = steps.tail(TRAIN_ERROR_WINDOW)
    train_error = float(tail["train_error"].mean()) if len(tail) else math.nan
    last_step = int(tail["step"].iloc[-1]) if len(tail) else 0
    epoch = float(tail["epoch"].iloc[-1]) if len(tail) else 0.0
    evals = store.evals(run_id)
    if at_step is not None:
        evals = evals[evals["step"] <= at_step]
    evals = evals.dropna(subset=["test_error"])
    test_error = float(evals["test_error"].iloc[-1]) if len(evals) else math.nan
    test_step = int(evals["step"].iloc[-1]) if len(evals) else 0
    return train_error, last_step, epoch, test_error, test_step


def summarize_runs(store, run_ids: Iterable[str], at_step: int | None = None) -> pd.DataFrame:
    """One row per run (``SUMMARY_COLUMNS``), in the order given; missing runs are skipped.

    Args:
        store: a ``RunStore``.
        run_ids: the runs to read.
        at_step: read every run as it was at this iteration (to compare runs of unequal
            length at the same point); None: at its last logged iteration.

    Errors are fractions in [0, 1]; ``final_train_error`` is the mean over the last
    ``TRAIN_ERROR_WINDOW`` iterations (NaN before the first), ``final_test_error`` the last test-set evaluation
    (NaN before the first).
    """
    rows = []
    for run_id in dict.fromkeys(run_ids):
        try:
            run = store.get_run(run_id)
        except RunNotFound:
            continue
        config = run.get("config") or {}
        train_error, step, epoch, test_error, test_step = _final_values(
            store, run_id, int(run.get("steps_done") or 0), at_step)
        rows.append({
            "run_id": run_id, "name": run["name"], "group_id": run.get("group_id"), "status": run["status"],
            "family": config.get("family", "cifar"), "depth": int(config.get("depth", 0)),
            "kind": run_kind(config), "steps": step, "epoch": epoch,
            "final_train_error": train_error, "final_test_error": test_error, "test_step": test_step,
        })
    frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    return frame.astype({"depth": "int64", "steps": "int64", "test_step": "int64", "epoch": "float64",
                         "final_train_error": "float64", "final_test_error": "float64"})


def common_step(summary: pd.DataFrame) -> int | None:
    """The last iteration every run of the summary has reached (runs with no step yet ignored)."""
    started = summary.loc[summary["steps"] > 0, "steps"]
    return int(started.min()) if len(started) else None


# ---------------------------------------------------------------- incremental, bounded curves

def _bucketize(steps: pd.DataFrame, stride: int) -> pd.DataFrame:
    """Rows of iterations → one row per block of ``stride`` iterations, with exact sums and counts."""
    finite_loss = steps["train_loss"].where(np.isfinite(steps["train_loss"]))
    frame = pd.DataFrame({
        "bucket": steps["step"].to_numpy() // stride,
        "step": steps["step"], "epoch": steps["epoch"], "train_seconds": steps["train_seconds"], "lr": steps["lr"],
        "error_sum": steps["train_error"].fillna(0.0), "error_n": steps["train_error"].notna().astype("int64"),
        "loss_sum": finite_loss.fillna(0.0), "loss_n": finite_loss.notna().astype("int64"),
        "ips_sum": steps["images_per_second"].fillna(0.0),
        "ips_n": steps["images_per_second"].notna().astype("int64"),
    })
    return _merge(frame)


def _merge(frame: pd.DataFrame) -> pd.DataFrame:
    return (frame.groupby("bucket", sort=True, as_index=False)
            .agg(step=("step", "last"), epoch=("epoch", "last"), train_seconds=("train_seconds", "last"),
                 lr=("lr", "last"), error_sum=("error_sum", "sum"), error_n=("error_n", "sum"),
                 loss_sum=("loss_sum", "sum"), loss_n=("loss_n", "sum"),
                 ips_sum=("ips_sum", "sum"), ips_n=("ips_n", "sum")))


class CurveBuffer:
    """One run's training curve, read incrementally and kept at most ``max_points`` points.

    Each point stands for a block of ``stride`` consecutive iterations (1, 2, 4, ...) and
    holds the exact mean training error and loss over them, at the block's last iteration.
    When the curve grows past ``max_points`` blocks, neighbours are merged and the stride
    doubles, so memory stays bounded however long the run is and no iteration is dropped
    from the averages.

    Usage: ``buffer.update(store.steps(run_id, since_step=buffer.last_step))``; then
    ``buffer.frame()``.
    """

    def __init__(self, max_points: int = 2000) -> None:
        if max_points < 2:
            raise ValueError(f"max_points must be at least 2, got {max_points}")
        self.max_points = max_points
        self.stride = 1
        self.last_step = -1  # pass as since_step to read only what is new
        self._buckets = pd.DataFrame(columns=BLOCK_COLUMNS)

    def update(self, new_steps: pd.DataFrame) -> int:
        """Add iterations after ``last_step`` (older ones are ignored); returns how many were added."""
        new_steps = new_steps[new_steps["step"] > self.last_step]
        if new_steps.empty:
            return 0
        self._add_blocks(_bucketize(new_steps, self.stride))
        self.last_step = int(new_steps["step"].max())
        return len(new_steps)

    def _add_blocks(self, added: pd.DataFrame) -> None:
        """Merge new blocks in, then halve the resolution until at most ``max_points`` remain."""
        self._buckets = added if self._buckets.empty else _merge(pd.concat([self._buckets, added]))
        while len(self._buckets) > self.max_points:
            self.stride *= 2
            merged = self._buckets.copy()
            merged["bucket"] = merged["bucket"] // 2
            self._buckets = _merge(merged)

    def update_from_store(self, store, run_id: str) -> int:
        """Read what is new of a run; a long stretch arrives already summed per block (``RunStore.step_blocks``).

        Same result as ``update(store.steps(run_id, since_step=self.last_step))``, but the first
        read of a 64,000-iteration run moves ~500 rows out of SQLite, not 64,000. Returns the
        number of blocks or rows added.
        """
        first, last = store.step_range(run_id, since_step=self.last_step)
        if first is None:
            return 0
        stride = self.stride
        while last // stride - first // stride + 1 > self.max_points:
            stride *= 2
        if last - first < self.max_points:  # a short stretch (a live run's new rows): read them as they are
            return self.update(store.steps(run_id, since_step=self.last_step))
        if stride != self.stride and not self._buckets.empty:  # coarsen what is here to the new blocks
            merged = self._buckets.copy()
            merged["bucket"] = merged["bucket"] // (stride // self.stride)
            self._buckets = _merge(merged)
        self.stride = stride
        added = store.step_blocks(run_id, stride, since_step=self.last_step)[BLOCK_COLUMNS]
        self._add_blocks(added)
        self.last_step = int(last)
        return len(added)

    def frame(self) -> pd.DataFrame:
        """step, epoch, train_seconds, lr, train_error, train_loss, images_per_second, n (iterations per point)."""
        b = self._buckets
        with np.errstate(invalid="ignore", divide="ignore"):
            out = pd.DataFrame({
                "step": b["step"].astype("int64"), "epoch": b["epoch"].astype("float64"),
                "train_seconds": b["train_seconds"].astype("float64"), "lr": b["lr"].astype("float64"),
                "train_error": (b["error_sum"] / b["error_n"].where(b["error_n"] > 0)).astype("float64"),
                "train_loss": (b["loss_sum"] / b["loss_n"].where(b["loss_n"] > 0)).astype("float64"),
                "images_per_second": (b["ips_sum"] / b["ips_n"].where(b["ips_n"] > 0)).astype("float64"),
                "n": b["error_n"].astype("int64"),
            })
        return out.reset_index(drop=True)

    def __len__(self) -> int:
        return len(self._buckets)
