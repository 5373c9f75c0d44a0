"""The first point of a comparison reaches every open tab soon: the shared view is rebuilt when a run
gets its first iteration, and the sidebar polls slowly while nothing trains (a tab opened before
the comparison notices it), fast while a run waits for its first iteration, every 2 s while runs
train. ``run_every`` never fires in AppTest: ``at.run()`` stands for the next tick."""

from __future__ import annotations

import pytest
import streamlit
from page_helpers import app_manager, open_page, texts

from resnet_edu.app.live_view import SharedViews
from resnet_edu.runs import ACTIVE_STATUSES, RunStore


def _step(store, run_id, step):
    store.log_step(run_id, step, epoch=step / 50, train_seconds=0.1 * step, train_loss=2.0, train_error=0.9,
                   lr=0.1, images_per_second=100.0)
    store.flush()


def test_a_young_view_is_rebuilt_when_a_run_gets_its_first_iteration(runs_dir):
    store = RunStore(runs_dir)
    try:
        run = store.create_run("plain-20", {"family": "cifar", "depth": 20, "shortcuts": False}, status="running")
        views = SharedViews(min_seconds=3600.0)  # every view young: only a lifecycle change rebuilds
        empty = views.get(store, [run])
        _step(store, run, 1)
        first = views.get(store, [run])
        assert first is not empty and views.builds == 2
        assert [trace for trace in first.curves.data if (trace.meta or {}).get("series") == "train"]
        _step(store, run, 2)
        assert views.get(store, [run]) is first  # later iterations wait for the view to age
    finally:
        store.close()


@pytest.fixture
def sidebar_polls(monkeypatch):
    """The run_every of every running_jobs_sidebar the app defines, in order."""
    polls: list = []
    real = streamlit.fragment

    def spy(func=None, *, run_every=None):
        def decorate(f):
            if f.__name__ == "running_jobs_sidebar":
                polls.append(run_every)
            return real(f, run_every=run_every)
        return decorate(func) if func is not None else decorate

    monkeypatch.setattr(streamlit, "fragment", spy)
    return polls


def test_a_tab_opened_before_a_comparison_starts_notices_it(runs_dir, monkeypatch, sidebar_polls):
    at = open_page("app_pages/degradation.py")
    assert sidebar_polls[-1] == 5.0  # nothing trains: a slow poll, one store read
    assert "No run is training." in texts(at)

    manager = app_manager()
    store = manager.store
    run = store.create_run("plain-20", {"family": "cifar", "depth": 20, "shortcuts": False}, group_id="gnew",
                           status="running")
    # Started from another tab: the app's manager knows it (a stand-in for the training process).
    monkeypatch.setattr(manager, "active_runs", lambda: [r for r, s in store.statuses([run]).items()
                                                         if s in ACTIVE_STATUSES])
    at.run()  # the sidebar's next tick redraws the page
    assert not at.exception, at.exception
    assert "Training now (1)" in texts(at)
    assert at.session_state["deg_runs"] == [run]  # the page shows the new comparison
    assert sidebar_polls[-1] == 0.5  # running, no iteration yet: poll fast for the first point

    _step(store, run, 1)
    at.run()
    assert not at.exception, at.exception
    assert sidebar_polls[-1] == 2.0
    store.set_status(run, "finished")
    at.run()
    assert sidebar_polls[-1] == 5.0 and "No run is training." in texts(at)
