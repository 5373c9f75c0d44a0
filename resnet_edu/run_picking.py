"""Picking runs to compare: the store's runs as a flat table, their checkpoints, a run's plain/residual twin.

The Gradients, Features, Lesion and Landscape pages all offer "a trained run and its twin" to
look at side by side; this is the one place that decides what a twin is. Its own file: it reads
the run store's listing and knows nothing of probes, models or plots.
"""

from __future__ import annotations

import pandas as pd

RUN_TABLE_COLUMNS = ["run_id", "name", "group_id", "status", "family", "depth", "shortcuts", "recipe",
                     "dataset", "data_root", "image_size", "created_at", "steps_done"]


def checkpoints_by_run(store, run_ids) -> dict[str, str]:
    """{run id: path of its latest checkpoint} for the runs that have one (pages pick trained nets from it)."""
    paths = {run_id: store.latest_checkpoint(run_id) for run_id in run_ids}
    return {run_id: str(path) for run_id, path in paths.items() if path is not None}


def run_table(runs: pd.DataFrame) -> pd.DataFrame:
    """``RunStore.list_runs()`` flattened for choosing and pairing runs: config fields as columns.

    ``name`` is made unique within the table (a clash gets the run id appended).
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
    clash = table["name"].duplicated(keep=False)
    table.loc[clash, "name"] = table.loc[clash, "name"] + " · " + table.loc[clash, "run_id"]
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
