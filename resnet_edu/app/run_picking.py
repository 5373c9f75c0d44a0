"""Picking runs to compare: the store's runs as a flat table, their checkpoints, a run's plain/residual twin,
and the names a picker shows for them.

The Gradients, Features, Lesion and Landscape pages all offer "a trained run and its twin" to
look at side by side; this is the one place that decides what a twin is, from the run store's
listing alone (no probes, models or plots).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from resnet_edu.words import clock_label

RUN_TABLE_COLUMNS = ["run_id", "name", "group_id", "status", "family", "depth", "shortcuts", "recipe",
                     "dataset", "data_root", "image_size", "created_at", "steps_done"]


def _clock_with_seconds(iso: str | None) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return ""


def _number_repeats(labels: list[str]) -> list[str]:
    """The second and later copies of a label get " (2)", " (3)"… (the list keeps its order)."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


def distinct_names(names: Sequence[str], created_at: Sequence[str | None], always_time: bool = False) -> list[str]:
    """Run names a person can tell apart, without run ids: a name shared by several runs gets the
    time the run started ("plain-20 · 11-28 09:15"), with seconds where the minute is shared too,
    and a number after that. None of it changes while a run trains or ends, so a picker that
    shows these names keeps its choice.

    Args:
        names: the runs' names, in the order of ``created_at``.
        created_at: when each run was created (ISO time stamps, as the store keeps them).
        always_time: give every run its start time, not only those whose name is shared (a picker of
            all the runs ever made, where a new run may later share the name).
    """
    names = [str(n) for n in names]
    counts = pd.Series(names).value_counts()
    labels = [f"{n} · {clock_label(c)}" if always_time or counts[n] > 1 else n for n, c in zip(names, created_at)]
    counts = pd.Series(labels).value_counts()
    labels = [f"{n} · {_clock_with_seconds(c)}" if counts[label] > 1 else label
              for label, n, c in zip(labels, names, created_at)]
    return _number_repeats(labels)


def checkpoints_by_run(store, run_ids) -> dict[str, str]:
    """{run id: path of its latest checkpoint} for the runs that have one (pages pick trained nets from it)."""
    paths = {run_id: store.latest_checkpoint(run_id) for run_id in run_ids}
    return {run_id: str(path) for run_id, path in paths.items() if path is not None}


def run_table(runs: pd.DataFrame) -> pd.DataFrame:
    """``RunStore.list_runs()`` flattened for choosing and pairing runs: config fields as columns.

    ``name`` is made unique within the table (see :func:`distinct_names`: a shared name gets the start time).
    """
    if runs.empty:
        return pd.DataFrame(columns=RUN_TABLE_COLUMNS)
    config = runs["config"]
    table = pd.DataFrame({
        "run_id": runs["run_id"].to_numpy(), "name": runs["name"].astype(str).to_numpy(),
        "group_id": runs["group_id"].fillna(runs["run_id"]).to_numpy(), "status": runs["status"].to_numpy(),
        "family": [c.get("family", "cifar") for c in config], "depth": [int(c.get("depth", 0)) for c in config],
        "shortcuts": [bool(c.get("shortcuts", True)) for c in config],
        "recipe": [c.get("recipe", "") for c in config], "dataset": [c.get("dataset", "synthetic") for c in config],
        "data_root": [c.get("data_root") for c in config], "image_size": [int(c.get("image_size", 32)) for c in config],
        "created_at": runs["created_at"].to_numpy(), "steps_done": runs["steps_done"].to_numpy(),
    })
    table["name"] = distinct_names(table["name"], table["created_at"])
    return table


def trained_runs(store) -> tuple[pd.DataFrame, dict[str, str]]:
    """(every run as :func:`run_table`, {run id: latest checkpoint} of those that have one): what a
    page that looks inside trained nets starts from."""
    table = run_table(store.list_runs())
    return table, checkpoints_by_run(store, table["run_id"])


def twin_of(table: pd.DataFrame, run_id: str, candidates: pd.DataFrame | None = None) -> str | None:
    """The run's twin: same family and depth, the other kind (plain ↔ residual), same group if possible.

    Args:
        table: :func:`run_table` rows.
        candidates: restrict the choice (e.g. runs that have a checkpoint); default ``table``.
    """
    rows = table[table["run_id"] == run_id]
    if rows.empty:
        return None
    me = rows.iloc[0]
    pool = table if candidates is None else candidates
    match = pool[(pool["family"] == me["family"]) & (pool["depth"] == me["depth"])
                 & (pool["shortcuts"] != me["shortcuts"]) & (pool["run_id"] != run_id)]
    if match.empty:
        return None
    same_group = match[match["group_id"] == me["group_id"]]
    return str((same_group if len(same_group) else match).iloc[0]["run_id"])


LEARNED_MARGIN = 0.10  # a net "has learned" once its training error is this far below chance (10 points)


def learning_state(store, run_ids, num_classes: int = 10, window: int = 20) -> pd.DataFrame:
    """How far each run has learned, from its own training curve.

    Columns: run_id, steps (its last logged iteration), train_error (mean of the last ``window``
    iterations, NaN before any), learned (``train_error`` at least ``LEARNED_MARGIN`` below chance),
    learned_at (the first iteration where the ``window``-mean got there; None if it never did).
    """
    chance = 1 - 1 / max(2, num_classes)
    rows = []
    for run_id in run_ids:
        steps = store.steps(run_id)
        if steps.empty:
            rows.append({"run_id": run_id, "steps": 0, "train_error": float("nan"), "learned": False,
                         "learned_at": None})
            continue
        smooth = steps["train_error"].rolling(window, min_periods=1).mean()
        below = steps.loc[smooth.to_numpy() < chance - LEARNED_MARGIN, "step"]
        error = float(smooth.iloc[-1])
        rows.append({"run_id": run_id, "steps": int(steps["step"].iloc[-1]), "train_error": error,
                     "learned": error < chance - LEARNED_MARGIN,
                     "learned_at": int(below.iloc[0]) if len(below) else None})
    return pd.DataFrame(rows, columns=["run_id", "steps", "train_error", "learned", "learned_at"])


def lesion_partner(table: pd.DataFrame, run_id: str, candidates: pd.DataFrame,
                   state: pd.DataFrame) -> str | None:
    """The net to delete blocks from beside a residual run: one that has learned something.

    Its plain twin if the twin has learned (:func:`learning_state`); otherwise the deepest plain net
    of the same family that has, from the same comparison if possible; otherwise the twin all the
    same (the page then says why its result cannot show the contrast yet), or None.
    """
    learned = set(state.loc[state["learned"].astype(bool), "run_id"])
    twin = twin_of(table, run_id, candidates)
    if twin in learned:
        return twin
    me = table[table["run_id"] == run_id].iloc[0]
    plain = candidates[(~candidates["shortcuts"].astype(bool)) & (candidates["family"] == me["family"])
                       & candidates["run_id"].isin(learned)]
    if len(plain):
        plain = plain.assign(same_group=plain["group_id"] == me["group_id"])
        return str(plain.sort_values(["same_group", "depth"], ascending=False).iloc[0]["run_id"])
    return twin


def iterations_to_learn(state: pd.DataFrame, run_id: str, reference_id: str) -> int | None:
    """A first guess at how long ``run_id`` needs to learn: as long as ``reference_id`` (which has learned)
    took to get there, counted from now if ``run_id`` has already trained longer than that. None when the
    reference has not learned either."""
    rows = state.set_index("run_id")
    if reference_id not in rows.index or run_id not in rows.index:
        return None
    took = rows.loc[reference_id, "learned_at"]
    if took is None or pd.isna(took):
        return None
    return int(max(took, 2 * rows.loc[run_id, "steps"]) if rows.loc[run_id, "steps"] >= took else took)
