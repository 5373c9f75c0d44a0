"""Analysis jobs: submitted like runs, run beside training, report progress, can be stopped,
and leave their result in the store where any other reader finds it."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

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


# ------------------------------------------------------------------ the Features and Gradients pages' tasks


def test_the_gradients_at_init_task_measures_each_net_as_measure_at_init_does(tmp_path):
    from resnet_edu.inside import gradients

    manager = JobManager(RunStore(tmp_path / "store"), device="cpu")
    try:
        job_id = manager.submit_analysis("gradients_at_init", {"dataset": "synthetic", "depths": [14, 8, 8],
                                                               "shortcuts": [True, False], "batch": 16})
        job = wait_for(manager.store, job_id, ("finished", "failed"), timeout=120)
        assert job["status"] == "finished", job["message"]
        nets = job["result"]["nets"]
        assert [n["name"] for n in nets] == ["plain-8", "plain-14", "ResNet-8", "ResNet-14"]  # plain first, no repeat
        direct = gradients.measure_at_init("cifar", 14, True, gradients.init_batch("synthetic", 16), seed=0)
        assert nets[3]["grad_norm"] == pytest.approx(direct["grad_norm"], rel=1e-5)  # the same numbers, stored as data
        refused = manager.submit_analysis("gradients_at_init", {"dataset": "imagenet", "depths": [8], "shortcuts": [True]})
        assert "unknown data set 'imagenet'" in wait_for(manager.store, refused, ("failed",))["message"]
        empty = manager.submit_analysis("gradients_at_init", {"dataset": "synthetic", "depths": [], "shortcuts": [True]})
        assert wait_for(manager.store, empty, ("failed",))["message"] == "choose at least one depth and one kind"
    finally:
        manager.shutdown()


def _features_params(store, nets, image, view="maps", target=None, options=()):
    from resnet_edu.engine import feature_views

    name = feature_views.keep_input(store.root, image)
    sources = [source for _, source in nets]
    return {"key": feature_views.view_key(sources, name, view, target, list(options)), "image": name, "view": view,
            "nets": [{"name": n, "source": s} for n, s in nets], "target": target, "options": list(options)}


def test_the_features_task_computes_each_nets_view_as_the_library_does(tmp_path):
    from resnet_edu.data import normalize
    from resnet_edu.engine import feature_views
    from resnet_edu.inside import features

    mean, std, classes = [0.5] * 3, [0.25] * 3, [f"c{i}" for i in range(10)]
    fresh = ["fresh", "cifar", 8, True, 10, 32, mean, std, classes]
    image = np.random.default_rng(0).integers(0, 256, (3, 32, 32), dtype=np.uint8)
    manager = JobManager(RunStore(tmp_path / "store"), device="cpu")
    try:
        store = manager.store
        params = _features_params(store, [("ResNet-8", fresh), ("gone", ["checkpoint", str(tmp_path / "no.pt"), 0.0])],
                                  image, view="gradcam", target=3)
        job = wait_for(store, manager.submit_analysis("features", params), ("finished", "failed"), timeout=120)
        assert job["status"] == "finished", job["message"]
        resnet, gone = job["result"]["nets"]
        assert "error" in gone and "error" not in resnet  # a net that cannot load is said, the other still shown
        assert resnet["target"] == 3 and resnet["target_name"] == "c3" and resnet["predicted"] in classes
        model = feature_views.load_net(feature_views._as_tuple(fresh), str(store.root))[0]
        x = normalize(torch.from_numpy(image)[None], mean, std)
        expected = features.gradcam_maps(model, x, 3)
        assert [m["stage"] for m in resnet["maps"]] == list(expected)
        for stored in resnet["maps"]:
            assert np.allclose(stored["values"], expected[stored["stage"]], atol=1e-4)

        ig = _features_params(store, [("ResNet-8", fresh)], image, view="ig", options=(False, 16))
        job = wait_for(store, manager.submit_analysis("features", ig), ("finished", "failed"), timeout=120)
        (net,) = job["result"]["nets"]
        assert np.asarray(net["maps"][0]["values"]).shape == (32, 32) and net["target"] == net["index"]

        wrong_class = _features_params(store, [("ResNet-8", fresh)], image, view="gradcam", target=10)
        job = wait_for(store, manager.submit_analysis("features", wrong_class), ("failed",))
        assert job["message"] == "class 10 does not exist: this net has 10 classes"
        missing = dict(_features_params(store, [("ResNet-8", fresh)], image), image="0" * 64 + ".npy")
        job = wait_for(store, manager.submit_analysis("features", missing), ("failed",))
        assert "no longer in the store's inputs folder" in job["message"]
        outside = dict(missing, image="../runs.sqlite")
        assert "not an input of this store" in wait_for(store, manager.submit_analysis("features", outside),
                                                        ("failed",))["message"]
    finally:
        manager.shutdown()


def test_a_stopped_features_task_keeps_the_nets_computed_before_the_stop(tmp_path):
    from resnet_edu.engine import feature_views

    store = RunStore(tmp_path / "store")
    fresh = ["fresh", "cifar", 8, False, 10, 32, [0.5] * 3, [0.25] * 3, [str(i) for i in range(10)]]
    image = np.zeros((3, 32, 32), dtype=np.uint8)
    params = _features_params(store, [("plain-8", fresh), ("plain-8 again", fresh)], image)
    job_id = store.create_analysis("features", params)
    context = tasks.JobContext(job_id, params, store, torch.device("cpu"))
    published = []
    context.publish = lambda result: (published.append(len(result["nets"])), context.stop_event.set())
    result = feature_views.features_job(context)
    assert len(result["nets"]) == 1 and published == [1]  # stopped after the first net
    assert [m["stage"] for m in result["nets"][0]["maps"]] == ["layer1", "layer2", "layer3"]
    assert np.asarray(result["nets"][0]["maps"][0]["values"]).shape == (feature_views.TOP_K, 32, 32)
    store.close()


def test_inputs_are_kept_once_by_their_content(tmp_path):
    from resnet_edu.engine import feature_views

    image = np.arange(3 * 4 * 4, dtype=np.uint8).reshape(3, 4, 4)
    name = feature_views.keep_input(tmp_path, image)
    assert name == feature_views.keep_input(tmp_path, image.copy()) and name.endswith(".npy")
    assert np.array_equal(np.load(tmp_path / "inputs" / name, allow_pickle=False), image)
    weights_name = feature_views.keep_input(tmp_path, b"weights")
    assert weights_name.endswith(".pt") and (tmp_path / "inputs" / weights_name).read_bytes() == b"weights"
    assert sorted(p.name for p in (tmp_path / "inputs").iterdir()) == sorted([name, weights_name])
