"""AppTest of the Gradients page: empty store, a real tiny run (plain-8 and ResNet-8), both languages.

``tiny_runs_dir`` trains the two nets for real once per test session (JobManager + the
synthetic data set, 20 iterations each); the Features and Lesion page tests reuse it.
"""

from __future__ import annotations

import base64
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

APP = str(REPO / "app.py")
PAGE = "app_pages/gradients.py"


def train_tiny_runs(base: Path) -> Path:
    """A finished comparison group (plain-8, ResNet-8) trained for real; made once, then copied per use."""
    done = base / "tiny_runs_done"
    source = base / "tiny_runs"
    if not done.exists():
        from resnet_edu.jobs import JobManager
        from resnet_edu.runs import RunStore
        from resnet_edu.train import TrainConfig

        shutil.rmtree(source, ignore_errors=True)
        store = RunStore(source)
        manager = JobManager(store=store, device="cpu")
        try:
            base_config = TrainConfig(depth=8, epochs=1, max_steps=20, batch_size=32, probe_every=5,
                                      max_train_images=640)
            ids = manager.submit([base_config.__class__(**{**base_config.to_dict(), "shortcuts": s})
                                  for s in (False, True)])
            assert manager.wait(ids, timeout=300), "the tiny runs did not finish"
            for run_id in ids:
                assert store.get_run(run_id)["status"] == "finished", store.get_run(run_id)
                assert store.latest_checkpoint(run_id) is not None
        finally:
            manager.shutdown()
            store.close()
        done.touch()
    return source


@pytest.fixture
def tiny_runs(tmp_path_factory, tmp_path, monkeypatch):
    """RESNET_EDU_RUNS_DIR = a fresh copy of the tiny runs (pages must only read, but be safe)."""
    source = train_tiny_runs(tmp_path_factory.getbasetemp())
    copy = tmp_path / "runs_copy"
    shutil.copytree(source, copy)
    monkeypatch.setenv("RESNET_EDU_RUNS_DIR", str(copy))
    st.cache_resource.clear()
    yield copy
    st.cache_resource.clear()


@pytest.fixture(autouse=True)
def empty_runs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RESNET_EDU_RUNS_DIR", str(tmp_path / "runs"))
    yield
    st.cache_resource.clear()


def open_page(page: str, lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def values(array) -> list:
    """A plotly array from a chart spec: a plain list, or plotly 7's typed array {"dtype", "bdata"}."""
    if isinstance(array, dict) and "bdata" in array:
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    parts += [m.label for m in at.metric] + [s.value for s in at.subheader] + [t.value for t in at.title]
    return "\n".join(parts)


def test_empty_store_shows_the_way_to_the_lab_and_measures_at_init():
    at = open_page(PAGE, "en")
    assert at.info and "Lab" in at.info[0].value
    assert not charts(at)
    at.multiselect(key="grad_init_depths").set_value([8, 14])
    at.select_slider(key="grad_init_batch").set_value(16)
    at.button(key="grad_init_go").click().run()
    assert not at.exception, at.exception
    names = [m.label for m in at.metric]
    assert names == ["plain-8", "plain-14", "ResNet-8", "ResNet-14"]
    assert all(m.value.endswith("×") for m in at.metric)
    chart = charts(at)[-1]
    assert {trace["name"] for trace in chart["data"]} == set(names)
    assert chart["layout"]["yaxis"]["type"] == "log"
    assert len(at.get("download_button")) == 1
    # Beside the raw first/last ratio, the step relative to the weights (‖∇W‖/‖W‖), and a chart of it.
    assert sum("‖∇W‖ / ‖W‖" in c.value for c in at.caption) == 4
    at.radio(key="grad_init_value").set_value("relative").run()
    assert not at.exception, at.exception
    assert "‖∇W‖ / ‖W‖" in charts(at)[-1]["layout"]["yaxis"]["title"]["text"]
    at.session_state["lang"] = "ko"  # the same tab in Korean: the measurement stays
    at.run()
    assert not at.exception, at.exception
    assert "실험실" in at.info[0].value and "초기화 직후" in texts(at)
    assert [m.label for m in at.metric] == names


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


def test_real_tiny_runs(tiny_runs):
    at = open_page(PAGE, "en")
    assert not at.info
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
    assert len(at.get("download_button")) == 3
    at.session_state["lang"] = "ko"
    at.run()
    assert not at.exception, at.exception
    assert "층 응답 (논문 그림 7)" in texts(at) and len(charts(at)) == 3
    at.multiselect(key="grad_runs").set_value(at.multiselect(key="grad_runs").value[:1]).run()
    assert not at.exception, at.exception
    ratio, heat, _ = charts(at)
    assert len([trace for trace in heat["data"] if trace["type"] == "heatmap"]) == 1
