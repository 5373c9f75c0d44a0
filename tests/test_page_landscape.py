"""AppTest of the Landscape page, and the landscape job in the real training process.

Empty store (both languages); tiny trained twins (plain-8, ResNet-8 with init.pt): the page
proposes the twin, the click submits a job that the training process computes (not the
server), a second session reads the same result; a job reports progress and can be stopped.
"""

from __future__ import annotations

import os

import pytest
from page_helpers import app_manager, charts, open_page, texts
from polling import wait_until

PAGE = "app_pages/landscape.py"
ENDED = ("finished", "stopped", "failed")


def wait_for(store, job_id: str, done, timeout: float = 300.0) -> dict:
    """Poll the store (as a page does) until ``done(job)``; the job as it was then. Never a fixed sleep."""
    seen: dict = {}

    def reached() -> bool:
        seen["job"] = store.get_analysis(job_id)
        return seen["job"] is not None and bool(done(seen["job"]))

    assert wait_until(reached, timeout), f"job {job_id} did not get there: {seen.get('job')}"
    return seen["job"]


def test_empty_store_points_to_the_lab_in_both_languages():
    at = open_page(PAGE, "en")
    assert at.info and "Lab" in at.info[0].value and not charts(at)
    assert "Loss landscape" in texts(at)
    at.session_state["lang"] = "ko"
    at.run()
    assert not at.exception, at.exception
    assert "실험실" in at.info[0].value and "손실 지형" in texts(at)


@pytest.mark.slow
def test_the_job_runs_in_the_training_process_and_a_second_session_reads_it(tiny_twins_dir):
    from resnet_edu.runs import RunStore

    folder, (plain_id, residual_id) = tiny_twins_dir
    at = open_page(PAGE, "en")
    assert not at.info and not charts(at)
    assert at.selectbox(key="landscape_run").value == residual_id
    assert at.selectbox(key="landscape_other").value == plain_id  # the twin is proposed
    at.select_slider(key="landscape_grid").set_value(5)
    at.select_slider(key="landscape_images").set_value(32)
    at.button(key="landscape_go").click().run()
    assert not at.exception, at.exception

    store = RunStore(folder)
    try:
        jobs = store.list_analyses(kind="landscape")
        assert len(jobs) == 1 and sorted(jobs.iloc[0]["run_ids"]) == sorted([plain_id, residual_id])
        job = wait_for(store, str(jobs.iloc[0]["job_id"]), lambda j: j["status"] in ENDED)
    finally:
        store.close()
    assert job["status"] == "finished", job["message"]
    result = job["result"]
    training_pid = app_manager().training_process_pid
    assert result["process_id"] == training_pid and training_pid != os.getpid()  # not in the server
    assert [n["name"] for n in result["nets"]] == ["plain-8", "ResNet-8"] and result["done"]

    at.run()  # the page's next tick
    assert not at.exception, at.exception
    assert len(charts(at)) == 4  # contours, surfaces, slices, path from init
    reading = texts(at)
    assert "the loss surface around plain-8 is" in reading and "What Li et al. (2018) show" in reading
    assert "e+" not in " ".join(m.value for m in at.markdown if "loss surface around" in m.value)  # plain words
    assert any("second difference" in m.value for m in at.expander[0].markdown)  # the numbers, behind an expander
    assert len(at.get("download_button")) == 1

    # Work kept: another page, then back: the same nets, and the finished landscape shown again.
    at.switch_page("app_pages/lesion.py").run()
    assert not at.exception, at.exception
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="landscape_other").value == plain_id
    assert len(charts(at)) == 4 and at.select_slider(key="landscape_grid").value == 5

    second = open_page(PAGE, "ko")  # another tab: the same job, read back from the store
    assert len(charts(second)) == 4 and "Li 외(2018)가 보여 주는 것" in texts(second)
    contours = charts(second)[0]
    assert {trace["type"] for trace in contours["data"]} == {"contour", "scatter"}


@pytest.mark.slow
def test_a_landscape_job_reports_progress_and_can_be_stopped(tiny_twins_dir):
    from resnet_edu.engine import JobManager
    from resnet_edu.runs import RunStore

    folder, ids = tiny_twins_dir
    manager = JobManager(RunStore(folder), isolation="process")
    try:
        job_id = manager.submit_analysis("landscape", {"run_ids": ids, "grid": 51, "images": 24,
                                                       "precision": "fp32"}, run_ids=ids)
        first = wait_for(manager.store, job_id, lambda j: j["status"] == "running" and j.get("result"))
        assert 0 < first["fraction"] < 1 and first["message"]
        assert [len(n["known"]) for n in first["result"]["nets"]][0] == 5  # the coarse picture came first
        manager.stop_analysis(job_id)
        stopped = wait_for(manager.store, job_id, lambda j: j["status"] in ENDED, timeout=120)
    finally:
        manager.shutdown()
    assert stopped["status"] == "stopped"
    assert not stopped["result"]["done"] and stopped["fraction"] < 1
    other = JobManager(RunStore(folder))
    try:
        with pytest.raises(ValueError):
            other.submit_analysis("no such kind", {}, run_ids=[])
    finally:
        other.shutdown()
