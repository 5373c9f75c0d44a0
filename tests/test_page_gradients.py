"""AppTest of the Gradients page: empty store, a real tiny run (plain-8 and ResNet-8), both languages.

``tiny_runs`` (tests/conftest.py) is a copy of two nets trained for real once per test session
(JobManager + the synthetic data set, 20 iterations each, a probe every 5th).
"""

from __future__ import annotations

import pytest
from page_helpers import charts, end_runs_while_open, open_page, texts, values
from page_tasks import wait_for_task

PAGE = "app_pages/gradients.py"


def test_empty_store_shows_the_way_to_the_lab_and_measures_at_init():
    at = open_page(PAGE, "en")
    assert at.info and "Lab" in at.info[0].value
    assert not charts(at)
    at.multiselect(key="grad_init_depths").set_value([8, 14])
    at.select_slider(key="grad_init_batch").set_value(16)
    at.button(key="grad_init_go").click().run()
    assert not at.exception, at.exception
    assert at.get("progress") or at.metric  # the measurement runs in the training process, not in this server
    job = wait_for_task("gradients_at_init")
    assert job["status"] == "finished", job["message"]
    at.run()  # the page's next tick
    assert not at.exception, at.exception
    names = [m.label for m in at.metric]
    assert names == ["plain-8", "plain-14", "ResNet-8", "ResNet-14"]
    assert all(m.value.endswith("×") for m in at.metric)
    chart = charts(at)[-1]
    assert {trace["name"] for trace in chart["data"]} == set(names)
    assert chart["layout"]["yaxis"]["type"] == "log"
    assert len(at.get("download_button")) == 1
    # Beside the raw first/last ratio, the step relative to the weights (‖∇W‖/‖W‖), and a chart of it.
    assert sum(c.value.startswith("first / last conv ‖∇W‖; relative to the weights (‖∇W‖ / ‖W‖)")
               for c in at.caption) == 4
    at.radio(key="grad_init_value").set_value("relative").run()
    assert not at.exception, at.exception
    assert "‖∇W‖ / ‖W‖" in charts(at)[-1]["layout"]["yaxis"]["title"]["text"]
    at.session_state["lang"] = "ko"  # the same tab in Korean: the measurement stays
    at.run()
    assert not at.exception, at.exception
    assert "실험실" in at.info[0].value and "초기화 직후" in texts(at)
    assert [m.label for m in at.metric] == names

    # Kept: another page and back, the settings and the measurement; a second tab sees the same measurement.
    at.switch_page("app_pages/lesion.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.multiselect(key="grad_init_depths").value == [8, 14] and at.select_slider(key="grad_init_batch").value == 16
    assert [m.label for m in at.metric] == names
    assert [m.label for m in open_page(PAGE, "en").metric] == names


def test_a_failed_measurement_says_why_in_both_languages():
    """CIFAR-10 is not in this test's data folder (and there is no network): the training process says so,
    and the page shows its reason."""
    at = open_page(PAGE, "en")
    at.radio(key="grad_init_data").set_value("cifar10")
    at.multiselect(key="grad_init_depths").set_value([8])
    at.button(key="grad_init_go").click().run()
    job = wait_for_task("gradients_at_init")
    assert job["status"] == "failed" and "could not load the data" in job["message"]
    at.run()
    assert not at.exception, at.exception
    assert at.error and at.error[0].value.startswith("The measurement could not run: could not load the data")
    assert not at.metric
    at.session_state["lang"] = "ko"
    at.run()
    assert at.error[0].value.startswith("측정을 실행할 수 없습니다")


def test_a_running_measurement_shows_progress_and_stops():
    """While the training process measures, the page shows a progress bar and a Stop button; Stop ends the task
    after the net being measured, and the page says that what was measured is shown."""
    at = open_page(PAGE, "en")
    at.multiselect(key="grad_init_depths").set_value([110])
    at.select_slider(key="grad_init_batch").set_value(16)
    at.button(key="grad_init_go").click().run()
    assert not at.exception, at.exception
    assert at.get("progress") and at.button(key="grad_init_stop")
    at.button(key="grad_init_stop").click().run()
    assert not at.exception, at.exception
    job = wait_for_task("gradients_at_init")
    assert job["status"] == "stopped" and len((job["result"] or {}).get("nets", [])) < 2
    at.run()
    assert at.warning and at.warning[0].value.startswith("Stopped")


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_caveats_a_teacher_expects(lang):
    at = open_page(PAGE, lang)
    text = texts(at)
    if lang == "en":
        assert "‖∇W‖ / ‖W‖" in text and "432 weights" in text and "36,864" in text
        assert "*growing*" in text and "Don't trade one myth for another" in text
        assert "Veit, Wilber & Belongie (2016)" in text and "avoid the vanishing gradient problem" in text
        assert "unlikely to be caused by vanishing gradients" in text
    else:
        assert "‖∇W‖ / ‖W‖" in text and "수업 질문" in text and "Veit" in text and "폭발" in text


@pytest.mark.slow
def test_real_tiny_runs(tiny_runs):
    at = open_page(PAGE, "en")
    assert "Lab" not in " ".join(i.value for i in at.info)  # no empty state
    assert len(at.multiselect(key="grad_runs").value) == 2  # the newest comparison is shown
    specs = charts(at)
    assert len(specs) == 3  # ratio over time, one heatmap figure for depth 8 (plain | residual), Fig. 7
    ratio, heat, responses = specs
    assert {trace["name"] for trace in ratio["data"] if trace.get("name")} == {"plain-8", "ResNet-8"}
    assert ratio["layout"]["yaxis"]["type"] == "log"
    heatmaps = [trace for trace in heat["data"] if trace["type"] == "heatmap"]
    assert [h["text"][0][0] for h in heatmaps] == ["conv1", "conv1"]  # the input at the top of each panel
    assert [row[0] for row in heatmaps[0]["text"]][-1] == "layer3.0.conv2" and len(values(heatmaps[0]["y"])) == 7
    assert heat["layout"]["annotations"][0]["text"] == "plain-8"  # plain left, residual right
    assert heat["layout"]["annotations"][1]["text"] == "ResNet-8"
    assert len(values(heatmaps[0]["x"])) == 4  # a probe every 5th of 20 iterations
    assert len([trace for trace in responses["data"] if trace.get("showlegend") is not False]) == 2
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) == {"plain-8", "ResNet-8"} and all(v.endswith("×") for v in metrics.values())
    # Both recipes start from He init: no page may claim the classroom recipe zero-initialises branches.
    captions = " ".join(c.value for c in at.caption)
    assert "same He initialisation (no branch starts at zero)" in captions
    assert captions.count("‖∇W‖ / ‖W‖ (weights of the checkpoint, it. 16)") == 2  # last record before the final save
    assert "start every residual branch at zero" not in captions
    note = " ".join(i.value for i in at.info)  # 20 iterations: Fig. 7 is flat, and the page says why
    assert "nearly flat at 1" in note and "of the paper's 64,000" in note and "γ" in note
    assert len(at.get("download_button")) == 3
    at.session_state["lang"] = "ko"
    at.run()
    assert not at.exception, at.exception
    assert "층 응답 (논문 그림 7)" in texts(at) and len(charts(at)) == 3
    at.multiselect(key="grad_runs").set_value(at.multiselect(key="grad_runs").value[:1]).run()
    assert not at.exception, at.exception
    ratio, heat, _ = charts(at)
    assert len([trace for trace in heat["data"] if trace["type"] == "heatmap"]) == 1


def _twins_at_their_end(tiny_twins_dir):
    """The tiny twins' folder and ids, each run's progress at its last iteration."""
    from resnet_edu.runs import RunStore

    folder, ids = tiny_twins_dir
    store = RunStore(folder)
    try:
        for run_id in ids:
            store.set_progress(run_id, 6, 6)
    finally:
        store.close()
    return folder, ids


@pytest.mark.parametrize("ending", ["finished", "failed", "deleted"])
def test_the_picker_survives_its_runs_ending_while_the_page_is_open(tiny_twins_dir, ending):
    folder, (plain_id, residual_id) = _twins_at_their_end(tiny_twins_dir)
    at = end_runs_while_open(PAGE, folder, [residual_id, plain_id], ending, {"grad_runs": "multi"},
                             click=lambda at: at.multiselect(key="grad_init_depths").set_value([8]))
    kept = {residual_id} if ending == "deleted" else {plain_id, residual_id}
    assert set(at.multiselect(key="grad_runs").value) == kept


def test_the_chosen_runs_come_back_after_another_page(tiny_twins_dir):
    folder, (plain_id, residual_id) = _twins_at_their_end(tiny_twins_dir)
    at = open_page(PAGE)
    at.multiselect(key="grad_runs").set_value([plain_id]).run()
    at.switch_page("app_pages/lesion.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.multiselect(key="grad_runs").value == [plain_id]
