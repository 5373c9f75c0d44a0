"""AppTest of the Degradation page: curves, toggle markers, paper overlay, x-axis switch, CSV, empty state.

The runs here are written straight into a temporary RunStore with made-up numbers shaped like
Fig. 1 (plain-56 above plain-20): a page-render test only; the app never shows such data as real.
"""

from __future__ import annotations

import base64
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from page_helpers import browser_sends
from streamlit.testing.v1 import AppTest

from resnet_edu.runs import RunStore

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
PAGE = "app_pages/degradation.py"
STEPS_PER_EPOCH = 50


def _error(step: int, offset: float) -> float:
    return min(0.9, 0.6 * math.exp(-step / 60) + 0.25 + offset)


def _write_runs(root: Path) -> dict[str, str]:
    """A finished 'Fig. 1 + fix' group: plain-20, plain-56, ResNet-56 (its shortcuts toggled off at step 100)."""
    store = RunStore(root)
    ids = {}
    try:
        for name, depth, shortcuts, offset in (("plain-20", 20, False, 0.0), ("plain-56", 56, False, 0.12),
                                                ("ResNet-56", 56, True, -0.04)):
            config = {"family": "cifar", "depth": depth, "shortcuts": shortcuts, "dataset": "synthetic"}
            rid = store.create_run(name, config, group_id="gtest", status="running", total_steps=150)
            for step in range(1, 151):
                store.log_step(rid, step, epoch=step / STEPS_PER_EPOCH, train_seconds=0.05 * step, train_loss=1.0,
                               train_error=_error(step, offset), lr=0.1, images_per_second=500.0)
            for step in (50, 100, 150):
                store.log_eval(rid, step, epoch=step / STEPS_PER_EPOCH, train_seconds=0.05 * step, test_loss=1.0,
                               test_error=_error(step, offset) + 0.05)
            store.set_progress(rid, 150, 150)
            if shortcuts:
                store.log_event(rid, 100, "shortcuts_toggled", {"enabled": False, "stages": None})
            store.set_status(rid, "finished")
            ids[name] = rid
    finally:
        store.close()
    return ids


def _open(lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _values(data) -> list:
    """Plotly 7 writes numeric arrays as {"dtype", "bdata" (base64)}; plain lists stay lists."""
    if isinstance(data, dict) and "bdata" in data:
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist()
    return list(data)


def _series(spec: dict, series: str) -> list[dict]:
    return [tr for tr in spec["data"] if (tr.get("meta") or {}).get("series") == series]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_empty_state_links_to_the_lab(lang):
    at = _open(lang)
    assert at.info, "a friendly empty state"
    assert ("Lab" if lang == "en" else "실험실") in at.info[0].value
    assert any(link.proto.page.endswith("lab") or "lab" in link.proto.page for link in at.get("page_link"))
    assert not at.get("plotly_chart")


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_curves_toggle_marker_sentence_and_downloads(runs_dir, lang):
    ids = _write_runs(runs_dir)
    at = _open(lang)
    assert set(at.multiselect(key="deg_runs").value) == set(ids.values())  # default: the latest group
    curves, depth = _charts(at)
    train = {tr["meta"]["run_id"]: tr for tr in _series(curves, "train")}
    assert set(train) == set(ids.values())
    assert {tr["name"] for tr in train.values()} == {"plain-20", "plain-56", "ResNet-56"}
    assert train[ids["ResNet-56"]]["xaxis"] == "x2" and train[ids["plain-56"]]["xaxis"] == "x"
    assert len(_series(curves, "test")) == 3
    assert curves["layout"]["uirevision"] and curves["layout"]["uirevision"] == depth["layout"]["uirevision"]
    toggle_lines = [s for s in curves["layout"]["shapes"] if s["type"] == "line" and s["x0"] == s["x1"]]
    assert [s["x0"] for s in toggle_lines] == [100]
    assert len(_series(curves, "toggle")) == 1
    assert {(tr["meta"]["kind"], tr["meta"]["series"]) for tr in depth["data"] if "kind" in tr["meta"]} == {
        ("plain", "train"), ("plain", "test"), ("residual", "train"), ("residual", "test")}
    text = " ".join(m.value for m in at.markdown)
    captions = " ".join(c.value for c in at.caption)
    if lang == "en":
        # Both gaps (plain-56 above plain-20, ResNet-56 below plain-56) have lasted: the degradation problem.
        assert "now by 12.0 and 16.0 points (iteration 150)" in text
        assert "the degradation problem" in text and "not overfitting" in text
        assert "Dashed: training error" in captions and "Bold, with dots: test error" in captions
        assert "Early speed is not the degradation problem" in captions
    else:
        assert "12.0%p" in text and "과적합" in text and "성능 저하(degradation) 문제입니다" in text
        assert "파선(- - -): 훈련 오류" in captions and "굵은 선: 에폭마다" in captions
    downloads = at.get("download_button")
    assert sum("TensorBoard" in d.proto.label for d in downloads) == 1, "the same runs for TensorBoard (zip)"
    assert {d.proto.label for d in downloads} and all(d.proto.label for d in downloads)
    assert at.dataframe and len(at.dataframe[0].value) == 3


@pytest.mark.slow
def test_overlay_toggle_and_x_axis_switch(runs_dir):
    ids = _write_runs(runs_dir)
    at = _open()
    curves, _ = _charts(at)
    assert not _series(curves, "reference")

    at.toggle(key="deg_reference").set_value(True).run()
    assert not at.exception, at.exception
    curves, depth = _charts(at)
    assert len(_series(curves, "reference")) == 1
    hlines = sorted(s["y0"] for s in curves["layout"]["shapes"] if s["type"] == "line" and s["y0"] == s["y1"])
    assert hlines == [6.97, 8.75]  # Table 6: ResNet-20 and ResNet-56
    assert _series(depth, "reference")
    assert any("164" in c.value for c in at.caption)

    at.radio(key="deg_x").set_value("epoch").run()
    assert not at.exception, at.exception
    curves, _ = _charts(at)
    plain20 = next(tr for tr in _series(curves, "train") if tr["meta"]["run_id"] == ids["plain-20"])
    assert max(_values(plain20["x"])) == pytest.approx(150 / STEPS_PER_EPOCH)
    assert curves["layout"]["xaxis"]["title"]["text"] == "epochs"
    toggle_line = next(s for s in curves["layout"]["shapes"] if s["type"] == "line" and s["x0"] == s["x1"])
    assert toggle_line["x0"] == pytest.approx(100 / STEPS_PER_EPOCH)

    at.radio(key="deg_x").set_value("seconds").run()
    curves, _ = _charts(at)
    assert curves["layout"]["xaxis"]["title"]["text"] == "training time (s)"

    # choosing fewer runs redraws only those
    at.multiselect(key="deg_runs").set_value([ids["plain-20"]]).run()
    assert not at.exception, at.exception
    curves, _ = _charts(at)
    assert [tr["meta"]["run_id"] for tr in _series(curves, "train")] == [ids["plain-20"]]
    at.run()  # the choice survives a rerun
    assert at.multiselect(key="deg_runs").value == [ids["plain-20"]]


def test_live_run_is_read_incrementally(runs_dir, monkeypatch):
    """A run still training: the page polls, and a later tick shows the new iterations."""
    from resnet_edu.app import live_view
    monkeypatch.setattr(live_view, "REBUILD_SECONDS", 0.0)  # every new iteration shows (the app: every 3 s)
    store = RunStore(runs_dir)
    try:
        rid = store.create_run("plain-20", {"family": "cifar", "depth": 20, "shortcuts": False}, group_id="glive",
                               status="running")
        for step in range(1, 31):
            store.log_step(rid, step, epoch=step / 50, train_seconds=step * 0.1, train_loss=1.0, train_error=0.5,
                           lr=0.1, images_per_second=100.0)
        store.flush()
        at = _open()
        train = _series(_charts(at)[0], "train")[0]
        assert max(_values(train["customdata"])) == 30
        for step in range(31, 61):
            store.log_step(rid, step, epoch=step / 50, train_seconds=step * 0.1, train_loss=1.0, train_error=0.4,
                           lr=0.1, images_per_second=100.0)
        store.flush()
        at.run()  # what run_every does in the browser
        assert not at.exception, at.exception
        train = _series(_charts(at)[0], "train")[0]
        assert max(_values(train["customdata"])) == 60 and len(_values(train["x"])) == 60
        store.set_status(rid, "finished")
    finally:
        store.close()


@pytest.mark.slow
def test_sessions_share_one_build_until_a_run_changes(runs_dir, monkeypatch):
    """A classroom of viewers costs one figure build per change of the runs, not one per viewer;
    new iterations wait for the next rebuild (at most every few seconds), a run ending shows at once."""
    from resnet_edu.app import live_view
    builds = []
    real_build = live_view.build_degradation_view
    monkeypatch.setattr(live_view, "build_degradation_view",
                        lambda *args, **kwargs: builds.append(1) or real_build(*args, **kwargs))
    monkeypatch.setattr(live_view, "REBUILD_SECONDS", 600.0)  # no time-based rebuild during this test
    _write_runs(runs_dir)
    viewers = [_open() for _ in range(3)]
    for at in viewers:
        at.run()
        assert not at.exception, at.exception
    assert len(builds) == 1
    specs = [_charts(at)[0] for at in viewers]
    assert specs[0] == specs[1] == specs[2]

    store = RunStore(runs_dir)
    try:
        rid = store.list_runs()["run_id"].iloc[0]
        store.log_step(rid, 151, epoch=151 / STEPS_PER_EPOCH, train_seconds=8.0, train_loss=1.0, train_error=0.3,
                       lr=0.1, images_per_second=500.0)
        store.flush()
        viewers[0].run()
        viewers[1].run()
        assert len(builds) == 1  # one new iteration: drawn at the next timed rebuild, not per viewer
        store.set_status(rid, "stopped", "stopped by the teacher")
    finally:
        store.close()
    viewers[0].run()
    viewers[1].run()
    assert len(builds) == 2  # a run ended: rebuilt at once, shared again


def test_a_page_opened_or_clicked_is_drawn_at_once_even_while_runs_train(runs_dir, monkeypatch):
    """A full page run (a click, opening the page) never waits for the page CPU budget, so the teacher
    who pressed Start sees the page at once; nothing waits either while nothing trains."""
    from resnet_edu.app import live_view
    waits = []
    monkeypatch.setattr(live_view.CpuBudget, "wait", lambda self: waits.append(self.cores) or 0.0)
    ids = _write_runs(runs_dir)
    at = _open()
    store = RunStore(runs_dir)
    try:
        store.set_status(ids["plain-56"], "running")  # (the RunStore of another process trains it)
    finally:
        store.close()
    at.run()
    assert not at.exception, at.exception
    assert waits == []


def test_timed_redraws_wait_for_the_cpu_budget_while_runs_train_once_per_turn(monkeypatch):
    """A fragment's timed redraw (ui.drawing_turn with timed=True) is paced by CpuBudget.wait while runs
    train: once, not again for a turn taken inside it; never when nothing trains or when asked for."""
    import ui
    from resnet_edu.app import live_view
    waits = []
    monkeypatch.setattr(live_view.CpuBudget, "wait", lambda self: waits.append(self.cores) or 0.0)
    with ui.drawing_turn(runs_train=False):
        pass
    with ui.drawing_turn(runs_train=True, timed=False):
        with ui.drawing_turn(runs_train=True):
            pass
    assert waits == []
    with ui.drawing_turn(runs_train=True):
        with ui.drawing_turn(runs_train=True):
            pass
    assert len(waits) == 1 and waits[0] > 0


def test_a_bad_page_cpu_budget_setting_falls_back_to_the_default(monkeypatch):
    import ui

    monkeypatch.delenv("RESNET_EDU_PAGE_CPU_CORES", raising=False)
    default = ui._page_cpu_cores()
    assert default == max(0.2, 0.1 * (os.cpu_count() or 2))  # a tenth of the machine, at least 0.2
    monkeypatch.setenv("RESNET_EDU_PAGE_CPU_CORES", "0.5")
    assert ui._page_cpu_cores() == 0.5
    for bad in ("lots", "-1", "nan", "inf", "0"):
        monkeypatch.setenv("RESNET_EDU_PAGE_CPU_CORES", bad)
        assert ui._page_cpu_cores() == default, bad


def _running_group(root: Path) -> dict[str, str]:
    """plain-20 and ResNet-20 of one comparison, still training (a few logged iterations each)."""
    store = RunStore(root)
    ids = {}
    try:
        for name, shortcuts in (("plain-20", False), ("ResNet-20", True)):
            config = {"family": "cifar", "depth": 20, "shortcuts": shortcuts, "dataset": "synthetic"}
            rid = store.create_run(name, config, group_id="gend", status="running", total_steps=100)
            for step in range(1, 41):
                store.log_step(rid, step, epoch=step / STEPS_PER_EPOCH, train_seconds=0.05 * step, train_loss=1.0,
                               train_error=_error(step, 0.0), lr=0.1, images_per_second=500.0)
            store.set_progress(rid, 40, 100)
            ids[name] = rid
        store.flush()
    finally:
        store.close()
    return ids


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("ending", ["finished", "stopped", "failed", "deleted"])
def test_the_page_survives_its_runs_ending_while_it_is_open(runs_dir, ending, lang):
    """Watch a comparison train, let it end (or be stopped, fail, be deleted), then click: no exception,
    the choice of runs kept, and no run still said to be training."""
    ids = _running_group(runs_dir)
    at = _open(lang)
    assert set(at.multiselect(key="deg_runs").value) == set(ids.values())
    shown = list(at.multiselect(key="deg_runs").values)  # the labels the browser shows while they train
    store = RunStore(runs_dir)
    try:
        if ending == "deleted":
            store.delete_run(ids["plain-20"])
        else:
            for rid in ids.values():
                store.set_status(rid, ending)
    finally:
        store.close()
    at.run()  # the tick that sees the end redraws the page
    assert not at.exception, at.exception
    # The browser keeps the choice it showed while the runs trained, and the next click sends it back
    # in the words it shows (a browser sends labels, not ids).
    browser_sends(at, "deg_runs", shown)
    at.radio(key="deg_x").set_value("epoch").run()
    assert not at.exception, at.exception
    at.radio(key="lang").set_value("ko" if lang == "en" else "en").run()  # the sidebar's language switch
    assert not at.exception, at.exception
    at.radio(key="deg_x").set_value("step").run()
    assert not at.exception, at.exception
    kept = set(ids.values()) - ({ids["plain-20"]} if ending == "deleted" else set())
    assert set(at.multiselect(key="deg_runs").value) == kept
    assert _charts(at), "the curves are still drawn"
    labels = " ".join(at.multiselect(key="deg_runs").options)
    assert "training" not in labels and "학습 중" not in labels


def test_a_test_error_older_than_the_training_error_is_said_so(runs_dir):
    """The last test error comes from the end of an epoch, the training error from the last iteration:
    the table shows both iterations and the page says how far apart they are."""
    ids = _running_group(runs_dir)
    store = RunStore(runs_dir)
    try:
        for rid in ids.values():
            store.log_eval(rid, 25, epoch=0.5, train_seconds=1.0, test_loss=1.0, test_error=0.5)
            store.set_status(rid, "finished")
    finally:
        store.close()
    at = _open()
    table = at.dataframe[0].value
    assert list(table["test measured at iteration"]) == [25, 25] and list(table["iterations"]) == [40, 40]
    assert any("up to 15 iterations earlier" in c.value for c in at.caption)


def test_no_test_error_yet_is_not_dated(runs_dir):
    """Before the first end of an epoch a run has no test error: the table gives no iteration for it,
    and the page does not call a missing test error older than the training error."""
    _running_group(runs_dir)
    at = _open()
    table = at.dataframe[0].value
    assert table["test error %"].isna().all() and table["test measured at iteration"].isna().all()
    assert not any("iterations earlier" in c.value for c in at.caption)
