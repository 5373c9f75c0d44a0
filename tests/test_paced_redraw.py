"""Every page's live panels wait for the server's CPU budget on a timed redraw while runs train
(ui.paced_redraw), as the Degradation page does; a page's first draw never waits."""

from __future__ import annotations

import pytest

import ui


class _Budget:
    def __init__(self) -> None:
        self.waits = 0

    def wait(self) -> None:
        self.waits += 1


@pytest.fixture
def budget(monkeypatch):
    recorder = _Budget()
    monkeypatch.setattr(ui, "page_cpu_budget", lambda: recorder)
    return recorder


@pytest.mark.parametrize(("fragment_rerun", "runs_train", "waits"),
                         [(True, True, 1), (True, False, 0), (False, True, 0), (False, False, 0)])
def test_only_a_timed_redraw_while_runs_train_waits(budget, monkeypatch, fragment_rerun, runs_train, waits):
    monkeypatch.setattr(ui, "fragment_rerun", lambda: fragment_rerun)
    with ui.paced_redraw(runs_train=runs_train):
        pass
    assert budget.waits == waits


def test_a_panel_drawn_inside_another_waits_once(budget, monkeypatch):
    """A page run holds the turn while a panel inside it draws: the budget is asked once, not twice."""
    monkeypatch.setattr(ui, "fragment_rerun", lambda: True)
    with ui.paced_redraw(runs_train=True), ui.paced_redraw(runs_train=True):
        pass
    assert budget.waits == 1


def test_outside_a_fragment_run_nothing_counts_as_a_fragment_rerun():
    assert ui.fragment_rerun() is False
