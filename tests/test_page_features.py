"""AppTest of the Features page: fresh nets on an empty store, a real tiny run (plain-8 / ResNet-8), both languages."""

from __future__ import annotations

import os

import pytest
from page_helpers import charts, open_page, texts
from page_tasks import wait_for_task

from resnet_edu.runs import RunStore

PAGE = "app_pages/features.py"


def test_empty_store_offers_fresh_nets_in_both_languages():
    at = open_page(PAGE, "en")
    assert at.info and "Lab" in at.info[0].value
    assert at.radio(key="feat_kind").value == "fresh"
    at.select_slider(key="feat_fresh_depth").set_value(20).run()
    assert not at.exception, at.exception
    job = wait_for_task("features")  # computed in the training process, not in this server
    assert job["status"] == "finished", job["message"]
    at.run()  # the page's next tick
    assert not at.exception, at.exception
    assert [m.label for m in at.metric] == ["plain-20", "ResNet-20"]
    grids = charts(at)[1:]  # the first chart is the chosen image
    assert len(grids) == 2 and all(len([d for d in g["data"] if d["type"] == "heatmap"]) == 3 * 6 for g in grids)
    at.session_state["lang"] = "ko"
    at.run()
    assert not at.exception, at.exception
    assert "특징 맵" in texts(at) and at.info and "실험실" in at.info[0].value
    # Another tab asking for the same view of the same image reads the same result: nothing is computed again.
    store = RunStore(os.environ["RESNET_EDU_RUNS_DIR"])
    asked = len(store.list_analyses(kind="features"))  # ResNet-56 (the default) and ResNet-20
    other = open_page(PAGE, "en")
    other.select_slider(key="feat_fresh_depth").set_value(20).run()
    assert [m.label for m in other.metric] == ["plain-20", "ResNet-20"] and len(charts(other)) == 3
    assert len(store.list_analyses(kind="features")) == asked
    store.close()


@pytest.mark.slow
def test_real_tiny_run_side_by_side(tiny_runs):
    at = open_page(PAGE, "en")
    wait_for_task("features")
    at.run()
    assert at.radio(key="feat_kind").value == "trained"
    first = at.selectbox(key="feat_run").value
    assert at.selectbox(key="feat_other").value not in (None, first)  # its twin is proposed
    assert sorted(m.label for m in at.metric) == ["ResNet-8", "plain-8"]
    assert all(m.delta.endswith("confidence") for m in at.metric)
    assert len(charts(at)) == 3  # the image, then one feature-map grid per net
    at.selectbox(key="feat_class").set_value(3)
    at.slider(key="feat_index").set_value(2)
    at.radio(key="feat_view").set_value("gradcam").run()
    assert not at.exception, at.exception
    wait_for_task("features", count=2)
    at.run()
    cams = charts(at)[1:]
    assert len(cams) == 2 and all(len([d for d in c["data"] if d["type"] == "heatmap"]) == 3 for c in cams)
    at.radio(key="feat_view").set_value("ig").run()
    at.select_slider(key="feat_ig_steps").set_value(16)
    at.toggle(key="feat_ig_noise").set_value(True)
    at.selectbox(key="feat_target").set_value(1).run()
    assert not at.exception, at.exception
    assert wait_for_task("features", count=3)["status"] == "finished"
    at.run()
    assert len(charts(at)) == 3 and at.get("download_button")
    at.session_state["lang"] = "ko"
    at.run()
    assert not at.exception, at.exception
    assert all(m.delta.endswith("신뢰도") for m in at.metric) and "통합 기울기" in texts(at)
    at.selectbox(key="feat_other").set_value(None).run()
    assert not at.exception, at.exception
    wait_for_task("features", count=4)
    at.run()
    assert len(at.metric) == 1


@pytest.mark.parametrize("ending", ["finished", "deleted"])
def test_the_run_pickers_survive_their_runs_ending_and_come_back_after_another_page(tiny_twins_dir, ending):
    from page_helpers import end_runs_while_open

    folder, (plain_id, residual_id) = tiny_twins_dir
    at = end_runs_while_open(PAGE, folder, [residual_id, plain_id], ending,
                             {"feat_run": "select", "feat_other": "select"},
                             click=lambda at: None)  # any rerun sends the widgets' states
    chosen = (at.selectbox(key="feat_run").value, at.selectbox(key="feat_other").value)
    at.switch_page("app_pages/lesion.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert (at.selectbox(key="feat_run").value, at.selectbox(key="feat_other").value) == chosen
    assert at.radio(key="feat_kind").value == "trained"


def test_inputs_no_waiting_job_names_go_after_a_day_unused_or_beyond_the_size_cap(store):
    """The Features task's inputs (images and uploaded weights, by content hash) are bounded by the store."""
    import time

    import numpy as np

    from resnet_edu.engine.feature_views import keep_input

    def aged(name: str, seconds: float) -> str:
        then = time.time() - seconds
        os.utime(store.root / "inputs" / name, (then, then))
        return name

    day, image = 86_400, np.zeros((3, 8, 8), dtype=np.uint8)
    waiting = aged(keep_input(store.root, image), 2 * day)
    store.create_analysis("features", {"image": waiting, "nets": []})  # queued: its image stays
    weights = aged(keep_input(store.root, b"uploaded weights"), 2 * day)
    running = store.create_analysis("features", {"image": "other.npy", "nets": [
        {"name": "up", "source": ["file", weights.removesuffix(".pt"), "", True]}]})  # named by its hash
    store.update_analysis(running, status="running")
    done = aged(keep_input(store.root, image + 1), 2 * day)
    store.update_analysis(store.create_analysis("features", {"image": done, "nets": []}), status="finished")
    used_again = aged(keep_input(store.root, image + 2), 2 * day)
    keep_input(store.root, image + 2)  # a page showed it again: a day counts from now
    recent = aged(keep_input(store.root, image + 3), 3600)
    assert store.prune_inputs() == [done]

    big = [aged(keep_input(store.root, bytes([i]) * 1000), 7200 - i) for i in range(3)]  # oldest first
    fresh = keep_input(store.root, b"x" * 1000)  # just written, for a job about to be submitted
    total = sum(p.stat().st_size for p in (store.root / "inputs").iterdir())
    assert store.prune_inputs(max_bytes=total - 1500) == big[:2]  # the least recently used, until under the cap
    assert store.prune_inputs(max_bytes=0) == [big[2], recent]  # all it may: not what a job names, nor the newest
    assert {p.name for p in (store.root / "inputs").iterdir()} == {waiting, weights, used_again, fresh}
