"""Analysis jobs: submitted like runs, run beside training, report progress, can be stopped,
and leave their result in the store where any other reader finds it."""

from __future__ import annotations

import threading
import time

import pytest

from resnet_edu.engine import JobManager, tasks
from resnet_edu.runs import RunStore

released = threading.Event()


def counting_job(context: tasks.JobContext) -> dict:
    """A job that counts to params["to"], publishing as it goes; waits for `released` at params["hold_at"]."""
    values = []
    for value in range(context.params["to"]):
        if value == context.params.get("hold_at"):
            released.wait(60)
        if context.stopped():
            return {"values": values, "complete": False}
        values.append(value)
        context.publish({"values": values, "complete": False})
        context.report((value + 1) / context.params["to"], f"counted {value + 1}")
    return {"values": values, "complete": True}


def refusing_job(context: tasks.JobContext) -> dict:
    raise ValueError(f"run {context.params['run_id']} has no checkpoint yet")


def broken_job(context: tasks.JobContext) -> dict:
    return {"ratio": 1 / 0}


@pytest.fixture
def manager(tmp_path, monkeypatch):
    monkeypatch.setitem(tasks.KINDS, "count", f"{__name__}:counting_job")
    monkeypatch.setitem(tasks.KINDS, "refuse", f"{__name__}:refusing_job")
    monkeypatch.setitem(tasks.KINDS, "broken", f"{__name__}:broken_job")
    released.clear()
    manager = JobManager(RunStore(tmp_path / "store"), device="cpu")
    yield manager
    released.set()
    manager.shutdown()


def wait_for(store: RunStore, job_id: str, statuses: tuple[str, ...], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = store.get_analysis(job_id)
        if job["status"] in statuses:
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} is still {store.get_analysis(job_id)['status']}")


def test_a_job_runs_reports_and_its_result_is_read_by_another_store(manager, tmp_path):
    job_id = manager.submit_analysis("count", {"to": 5}, run_ids=[])
    job = wait_for(manager.store, job_id, ("finished",))
    assert job["result"] == {"values": [0, 1, 2, 3, 4], "complete": True}
    assert job["fraction"] == 1.0 and job["kind"] == "count" and job["params"] == {"to": 5}
    other = RunStore(tmp_path / "store")  # a second reader (another tab, a restarted app)
    try:
        assert other.get_analysis(job_id)["result"]["complete"] is True
        listed = other.list_analyses(kind="count")
        assert list(listed["job_id"]) == [job_id] and list(listed["status"]) == ["finished"]
    finally:
        other.close()


def test_a_job_can_be_stopped_and_keeps_what_it_published(manager):
    job_id = manager.submit_analysis("count", {"to": 10, "hold_at": 3})
    job = wait_for(manager.store, job_id, ("running",))
    deadline = time.monotonic() + 30
    while (manager.store.get_analysis(job_id)["result"] or {}).get("values") != [0, 1, 2]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    manager.stop_analysis(job_id)
    released.set()
    job = wait_for(manager.store, job_id, ("stopped",))
    assert job["result"] == {"values": [0, 1, 2], "complete": False} and job["message"] == "stopped by the teacher"


def test_bad_input_and_bugs_fail_the_job_with_a_message_not_the_process(manager):
    refused = manager.submit_analysis("refuse", {"run_id": "r123"})
    broken = manager.submit_analysis("broken", {})
    assert wait_for(manager.store, refused, ("failed",))["message"] == "run r123 has no checkpoint yet"
    assert "ZeroDivisionError" in wait_for(manager.store, broken, ("failed",))["message"]
    after = manager.submit_analysis("count", {"to": 2})  # the runner goes on
    assert wait_for(manager.store, after, ("finished",))["result"]["values"] == [0, 1]
    with pytest.raises(ValueError, match="unknown analysis"):
        manager.submit_analysis("astrology", {})


def test_jobs_left_running_by_a_dead_process_are_failed_on_the_next_open(tmp_path):
    store = RunStore(tmp_path / "store")
    job_id = store.create_analysis("count", {"to": 3}, [])
    store.update_analysis(job_id, status="running")
    with store._conn() as connection:  # as if written by a process that has since died
        connection.execute("UPDATE analysis_jobs SET owner = 'gone', owner_pid = 999999999")
    store.close()
    reopened = RunStore(tmp_path / "store")
    try:
        job = reopened.get_analysis(job_id)
        assert job["status"] == "failed" and "ended" in job["message"]
    finally:
        reopened.close()


def test_the_latest_analysis_of_exactly_these_runs(tmp_path):
    from resnet_edu.runs import RunStore

    store = RunStore(tmp_path / "store")
    a = store.create_run("plain-8", {"depth": 8})
    b = store.create_run("ResNet-8", {"depth": 8})
    first = store.create_analysis("lesion", {}, [a, b])
    store.create_analysis("lesion", {}, [a])  # about one of them only
    store.create_analysis("landscape", {}, [a, b])  # another kind
    assert store.latest_analysis("lesion", [b, a]) == first
    newer = store.create_analysis("lesion", {}, [b, a])
    assert store.latest_analysis("lesion", [a, b]) == newer
    assert store.latest_analysis("lesion", [b]) is None and store.latest_analysis("lesion", []) is None
    store.close()
