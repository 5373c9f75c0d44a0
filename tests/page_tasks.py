"""Waiting for a page's task in the training process: poll the app's store until the newest job of a kind ends.

A helper module, not a test module: page tests import it (pytest puts tests/ on the path).
"""

from __future__ import annotations

import os

from polling import wait_until

from resnet_edu.runs import ACTIVE_STATUSES, RunStore


def wait_for_task(kind: str, timeout: float = 300.0, count: int = 1) -> dict:
    """The newest job of ``kind`` once it has ended (at least ``count`` jobs of that kind exist by then)."""
    store = RunStore(os.environ["RESNET_EDU_RUNS_DIR"])
    try:
        def ended() -> bool:
            jobs = store.list_analyses(kind=kind)
            return len(jobs) >= count and jobs.iloc[0]["status"] not in ACTIVE_STATUSES

        assert wait_until(ended, timeout), f"the {kind} task did not end"
        return store.get_analysis(str(store.list_analyses(kind=kind).iloc[0]["job_id"]))
    finally:
        store.close()
