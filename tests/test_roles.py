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
            "lesion_stop": ui._stop_job, "landscape_stop": ui._stop_job, "feat_stop": ui._stop_job,
            "grad_init": ui._stop_job}


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


class _PipeToTheTrainingProcess:
    """Stands in for the training process (resnet_edu.engine.process.TrainingProcess) behind the app's
    real job manager: it keeps the commands sent to it, and the jobs stay queued. Everything before
    the pipe (admission's caps, the job's row in the store) is the app's own code."""

    alive, pid = True, None

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send(self, message: dict) -> bool:
        self.sent.append(message)
        return True

    def stops(self) -> list[str]:
        return [m["job_id"] for m in self.sent if m.get("op") == "stop_analysis"]


def _job_page(page: str, kind: str, monkeypatch) -> _PipeToTheTrainingProcess:
    """The app's job manager with no training process behind it: submits queue jobs in the store, stops
    are recorded (``.stops()``)."""
    pipe = _PipeToTheTrainingProcess()
    monkeypatch.setattr(app_manager(), "_child", lambda: pipe)
    return pipe


@pytest.mark.parametrize("page,kind,go,stop", [
    ("app_pages/lesion.py", "lesion", "lesion_go", "lesion_stop"),
    ("app_pages/landscape.py", "landscape", "landscape_go", "landscape_stop"),
], ids=["lesion", "landscape"])
def test_only_the_tab_that_started_a_job_or_the_teacher_stops_it(tiny_twins_dir, passcode, monkeypatch, page, kind,
                                                                 go, stop):
    owner = open_page(page)
    pipe = _job_page(page, kind, monkeypatch)
    owner.button(key=go).click().run()
    assert not owner.exception, owner.exception
    (job_id,) = list(app_manager().store.list_analyses(kind=kind)["job_id"])
    assert not owner.button(key=stop).disabled

    other = open_page(page)  # another student's tab sees the same job
    assert other.button(key=stop).disabled
    forge(other, other.button(key=stop), job_id)
    assert pipe.stops() == []

    teacher = _unlock(open_page(page))
    assert not teacher.button(key=stop).disabled
    owner.button(key=stop).click().run()
    assert pipe.stops() == [job_id]


def test_only_the_tab_that_started_a_features_view_or_the_teacher_stops_it(passcode, monkeypatch):
    pipe = _job_page("app_pages/features.py", "features", monkeypatch)
    owner = open_page("app_pages/features.py")  # fresh nets: the page asks for their feature maps at once
    (job_id,) = list(app_manager().store.list_analyses(kind="features")["job_id"])
    assert not owner.button(key="feat_stop").disabled

    other = open_page("app_pages/features.py")  # the same view: another tab reads the same job
    assert other.button(key="feat_stop").disabled
    forge(other, other.button(key="feat_stop"), job_id)
    assert pipe.stops() == []
    other.select_slider(key="feat_fresh_depth").set_value(20).run()  # moving on stops only this tab's own views
    assert not other.exception, other.exception
    assert len(app_manager().store.list_analyses(kind="features")) == 2 and pipe.stops() == []

    assert not _unlock(open_page("app_pages/features.py")).button(key="feat_stop").disabled
    owner.button(key="feat_stop").click().run()
    assert pipe.stops() == [job_id]


def test_only_the_tab_that_started_a_measurement_at_init_or_the_teacher_stops_it(passcode, monkeypatch):
    pipe = _job_page("app_pages/gradients.py", "gradients_at_init", monkeypatch)
    owner = open_page("app_pages/gradients.py")
    owner.multiselect(key="grad_init_depths").set_value([8])
    owner.button(key="grad_init_go").click().run()
    assert not owner.exception, owner.exception
    (job_id,) = list(app_manager().store.list_analyses(kind="gradients_at_init")["job_id"])
    assert not owner.button(key="grad_init_stop").disabled

    other = open_page("app_pages/gradients.py")
    assert other.button(key="grad_init_stop").disabled
    forge(other, other.button(key="grad_init_stop"), job_id)
    assert pipe.stops() == []
    owner.button(key="grad_init_stop").click().run()
    assert pipe.stops() == [job_id]


def _submit_twice(page: str):
    """How each page asks for a job, done twice by one tab; returns the second ask (it may be repeated)."""
    def click(key):
        return lambda at: at.button(key=key).click().run()

    if page == "app_pages/features.py":  # the first view is asked for when the page opens
        return [lambda at: None, lambda at: at.select_slider(key="feat_fresh_depth").set_value(20).run()]
    if page == "app_pages/lab.py":  # two data sets' downloads (the teacher's, with no passcode set)
        return [click("lab_get_cifar10"), click("lab_get_imagenette-160")]
    go = {"app_pages/lesion.py": "lesion_go", "app_pages/landscape.py": "landscape_go",
          "app_pages/gradients.py": "grad_init_go"}[page]
    return [click(go), click(go)]


@pytest.mark.parametrize("page,kind", [
    ("app_pages/lesion.py", "lesion"), ("app_pages/landscape.py", "landscape"),
    ("app_pages/features.py", "features"), ("app_pages/gradients.py", "gradients_at_init"),
    ("app_pages/lab.py", "download"),
], ids=["lesion", "landscape", "features", "gradients", "lab-downloads"])
def test_a_tab_over_its_job_cap_is_told_why_in_its_language_and_nothing_is_queued(request, monkeypatch, page, kind):
    monkeypatch.delenv(security.PASSCODE_ENV, raising=False)
    monkeypatch.setenv("RESNET_EDU_MAX_QUEUED_JOBS_PER_TAB", "1")
    if page in ("app_pages/lesion.py", "app_pages/landscape.py"):
        request.getfixturevalue("tiny_twins_dir")  # trained nets to study
    pipe = _job_page(page, kind, monkeypatch)
    store = app_manager().store
    first, again = _submit_twice(page)
    tab = open_page(page)
    first(tab)
    assert not tab.exception, tab.exception
    assert len(store.list_analyses(kind=kind)) == 1
    for lang, sentence in (("en", "analysis jobs are already waiting or training in this tab"),
                           ("ko", "이 탭에서 이미 분석 작업 1개가 대기 중이거나 실행 중입니다")):
        tab.session_state["lang"] = lang
        again(tab)
        assert not tab.exception, tab.exception
        assert any(sentence in error.value for error in tab.error), [e.value for e in tab.error]
        assert len(store.list_analyses(kind=kind)) == 1 and len(pipe.sent) == 1  # nothing more queued
    other = open_page(page)  # another tab has a cap of its own (on Features, it opens on the view already asked for)
    _submit_twice(page)[1](other)
    assert len(store.list_analyses(kind=kind)) == 2


def test_without_a_passcode_every_tab_may_stop_every_job(tiny_twins_dir, monkeypatch):
    monkeypatch.delenv(security.PASSCODE_ENV, raising=False)
    owner = open_page("app_pages/lesion.py")
    pipe = _job_page("app_pages/lesion.py", "lesion", monkeypatch)
    owner.button(key="lesion_go").click().run()
    other = open_page("app_pages/lesion.py")
    assert not other.button(key="lesion_stop").disabled
    other.button(key="lesion_stop").click().run()
    assert len(pipe.stops()) == 1


def test_owners_are_kept_per_tab_and_bounded():
    owners = security.Owners(max_tabs=2, max_ids=3)
    owners.claim("tab-a", ["r1", "r2"])
    owners.claim("tab-b", ["r3"])
    assert owners.owns("tab-a", "r1") and not owners.owns("tab-b", "r1") and not owners.owns("tab-c", "r1")
    owners.claim("tab-a", ["r4", "r5"])  # at most 3 ids a tab: the oldest goes
    assert not owners.owns("tab-a", "r1") and owners.owns("tab-a", "r5")
    owners.claim("tab-c", ["r6"])  # at most 2 tabs: the one unused longest goes
    assert not owners.owns("tab-b", "r3") and owners.owns("tab-a", "r4") and owners.owns("tab-c", "r6")
