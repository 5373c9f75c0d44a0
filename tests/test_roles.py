"""Roles with a teacher passcode set: a student's tab acts only on the runs and jobs it started; the
teacher's (unlocked) tab on all. Every control is also forged: the callback of the widget, disabled
in that tab, is called directly in that tab's session (Streamlit 1.67 drops a forged value of a widget
that was disabled when drawn, but not one drawn enabled just before the tab lost the right, e.g. when
its passcode ran out), and nothing may happen.
"""

from __future__ import annotations

import pytest
from page_helpers import app_manager, open_page
from polling import wait_until
from streamlit.testing.v1 import AppTest

from resnet_edu.app import security

PASSCODE = "a passcode nobody guesses 7"


@pytest.fixture
def passcode(monkeypatch):
    monkeypatch.setenv(security.PASSCODE_ENV, PASSCODE)


def _unlock(at):
    at.session_state["teacher_passcode"] = PASSCODE  # what the sidebar box keeps once the passcode is right
    at.run()
    assert not at.exception, at.exception
    return at


def _call_in_session(module: str, name: str, args: tuple) -> None:
    import importlib

    getattr(importlib.import_module(module), name)(*args)


def forge(tab: AppTest, widget, *args, state: dict | None = None) -> AppTest:
    """Call the disabled ``widget``'s callback (named by the page module's function) in ``tab``'s session."""
    assert widget.disabled, "the control should be disabled in this tab"
    callback = _callbacks()["_".join(widget.key.split("_")[:2])]
    at = AppTest.from_function(_call_in_session, args=(callback.__module__, callback.__name__, args),
                               default_timeout=60)
    at.session_state["_tab_key"] = tab.session_state["_tab_key"]  # the same tab, as far as owners go
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _callbacks() -> dict:
    from app_pages.lab_sections import access, queue

    import ui

    return {"lab_sc": queue._apply_shortcuts, "lab_stop": access.stop_run, "lab_resume": access.resume_run,
            "lesion_stop": ui._stop_job, "landscape_stop": ui._stop_job}


def _switched(manager, run_id) -> bool:
    """Whether any shortcut switch was asked for or carried out on the run."""
    state = manager.shortcut_state(run_id)
    events = manager.store.events(run_id)
    return (state is not None and not all(state.values())) or "shortcuts_toggled" in set(events["kind"])


def test_a_student_switches_stops_and_resumes_only_their_own_runs(passcode):
    owner = open_page("app_pages/lab.py")
    owner.button(key="lab_start").click().run()  # the default comparison: four runs
    assert not owner.exception, owner.exception
    manager = app_manager()
    ids = list(manager.store.list_runs()["run_id"])
    assert len(ids) == 4 and all(manager.is_active(r) for r in ids)
    first = ids[0]
    whole = f"lab_sc_{first}_all_111"

    other = open_page("app_pages/lab.py")  # another student's tab
    assert other.toggle(key=whole).disabled and other.button(key=f"lab_stop_{first}").disabled
    assert all(other.toggle(key=f"lab_sc_{first}_{stage}_111").disabled for stage in (1, 2, 3))
    # Forged: the disabled switch and Stop fired anyway. Nothing changes; the tab is told why.
    forger = forge(other, other.toggle(key=whole), first, whole, None, state={whole: False})
    assert not _switched(manager, first) and "lab_toggle_error" in forger.session_state
    forge(other, other.button(key=f"lab_stop_{first}"), first)
    assert manager.is_active(first)

    # The tab that started it may switch it and stop it, after any number of reruns and page changes.
    owner.switch_page("app_pages/degradation.py").run()
    owner.switch_page("app_pages/lab.py").run()
    assert not owner.toggle(key=whole).disabled
    owner.toggle(key=whole).set_value(False).run()
    assert not owner.exception, owner.exception
    assert wait_until(lambda: _switched(manager, first), 30)
    assert wait_until(lambda: manager.progress(first)["step"] > 0, 180)  # trained: it keeps a checkpoint when stopped
    owner.button(key=f"lab_stop_{first}").click().run()
    assert wait_until(lambda: not manager.is_active(first), 60)
    teacher = _unlock(open_page("app_pages/lab.py"))
    teacher.button(key="lab_stop_all").click().run()
    assert manager.wait(ids, timeout=120)

    # Resume: a stopped run with a checkpoint. Only its tab or the teacher may continue it.
    run_id = first
    assert manager.store.latest_checkpoint(run_id) is not None
    other.run()
    assert other.button(key=f"lab_resume_{run_id}").disabled
    forge(other, other.button(key=f"lab_resume_{run_id}"), run_id)
    assert not manager.is_active(run_id) and manager.store.get_run(run_id)["status"] == "stopped"
    owner.run()
    assert not owner.button(key=f"lab_resume_{run_id}").disabled  # the tab that started it
    teacher.run()
    assert not teacher.button(key=f"lab_resume_{run_id}").disabled


def _job_page(page: str, kind: str, monkeypatch):
    """The page with a tiny trained pair, and a submit that queues the job in the store as the
    training process would (a substitute: no process is started); stops are recorded."""
    manager = app_manager()
    stops: list[str] = []

    def submit_analysis(kind_, params, run_ids=()):
        return manager.store.create_analysis(kind_, params, run_ids=run_ids)

    def stop_analysis(job_id):
        stops.append(job_id)
        manager.store.update_analysis(job_id, status="stopped")

    monkeypatch.setattr(manager, "submit_analysis", submit_analysis)
    monkeypatch.setattr(manager, "stop_analysis", stop_analysis)
    return stops


@pytest.mark.parametrize("page,kind,go,stop", [
    ("app_pages/lesion.py", "lesion", "lesion_go", "lesion_stop"),
    ("app_pages/landscape.py", "landscape", "landscape_go", "landscape_stop"),
], ids=["lesion", "landscape"])
def test_only_the_tab_that_started_a_job_or_the_teacher_stops_it(tiny_twins_dir, passcode, monkeypatch, page, kind,
                                                                 go, stop):
    owner = open_page(page)
    stops = _job_page(page, kind, monkeypatch)
    owner.button(key=go).click().run()
    assert not owner.exception, owner.exception
    (job_id,) = list(app_manager().store.list_analyses(kind=kind)["job_id"])
    assert not owner.button(key=stop).disabled

    other = open_page(page)  # another student's tab sees the same job
    assert other.button(key=stop).disabled
    forge(other, other.button(key=stop), job_id)
    assert stops == []

    teacher = _unlock(open_page(page))
    assert not teacher.button(key=stop).disabled
    owner.button(key=stop).click().run()
    assert stops == [job_id]


def test_without_a_passcode_every_tab_may_stop_every_job(tiny_twins_dir, monkeypatch):
    monkeypatch.delenv(security.PASSCODE_ENV, raising=False)
    owner = open_page("app_pages/lesion.py")
    stops = _job_page("app_pages/lesion.py", "lesion", monkeypatch)
    owner.button(key="lesion_go").click().run()
    other = open_page("app_pages/lesion.py")
    assert not other.button(key="lesion_stop").disabled
    other.button(key="lesion_stop").click().run()
    assert len(stops) == 1


def test_owners_are_kept_per_tab_and_bounded():
    owners = security.Owners(max_tabs=2, max_ids=3)
    owners.claim("tab-a", ["r1", "r2"])
    owners.claim("tab-b", ["r3"])
    assert owners.owns("tab-a", "r1") and not owners.owns("tab-b", "r1") and not owners.owns("tab-c", "r1")
    owners.claim("tab-a", ["r4", "r5"])  # at most 3 ids a tab: the oldest goes
    assert not owners.owns("tab-a", "r1") and owners.owns("tab-a", "r5")
    owners.claim("tab-c", ["r6"])  # at most 2 tabs: the one unused longest goes
    assert not owners.owns("tab-b", "r3") and owners.owns("tab-a", "r4") and owners.owns("tab-c", "r6")
