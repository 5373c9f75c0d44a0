"""Unit tests: training-curve figures (resnet_edu.plots) and run summaries (resnet_edu.inside.degradation)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from resnet_edu import plots, words
from resnet_edu.inside import degradation

RUNS = pd.DataFrame([
    {"run_id": "ra", "name": "plain-20", "depth": 20, "kind": "plain", "family": "cifar"},
    {"run_id": "rb", "name": "plain-56", "depth": 56, "kind": "plain", "family": "cifar"},
    {"run_id": "rc", "name": "ResNet-56", "depth": 56, "kind": "residual", "family": "cifar"},
])
OFFSETS = {"ra": 0.0, "rb": 0.08, "rc": -0.05}  # plain-56 above plain-20, ResNet-56 below


def _curve(step: int, offset: float) -> float:
    return min(0.95, max(0.0, 0.7 * math.exp(-step / 80) + 0.2 + offset))


def _frames(n_steps: int = 200, spe: int = 50):
    steps = pd.DataFrame([{"run_id": r, "step": s, "epoch": s / spe, "train_seconds": 0.1 * s,
                           "train_error": _curve(s, off)} for r, off in OFFSETS.items() for s in range(1, n_steps + 1)])
    evals = pd.DataFrame([{"run_id": r, "step": s, "epoch": s / spe, "train_seconds": 0.1 * s,
                           "test_error": _curve(s, off) + 0.03}
                          for r, off in OFFSETS.items() for s in range(spe, n_steps + 1, spe)])
    events = pd.DataFrame([{"run_id": "rc", "step": 100, "kind": "shortcuts_toggled",
                            "detail": {"enabled": False, "stages": None}},
                           {"run_id": "rc", "step": 0, "kind": "started", "detail": {}}])
    return steps, evals, events


def _traces(fig, series):
    return [tr for tr in fig.data if (tr.meta or {}).get("series") == series]


# ---------------------------------------------------------------- training_curves

def test_training_curves_has_one_train_and_test_trace_per_run_in_the_right_panel():
    steps, evals, events = _frames()
    fig = plots.training_curves(steps, evals, events, RUNS)
    train = {tr.meta["run_id"]: tr for tr in _traces(fig, "train")}
    test = {tr.meta["run_id"]: tr for tr in _traces(fig, "test")}
    assert set(train) == set(test) == {"ra", "rb", "rc"}
    assert train["ra"].xaxis == "x" and train["rb"].xaxis == "x"  # plain: left
    assert train["rc"].xaxis == "x2"  # residual: right
    # The paper's line styles (Fig. 6 caption): dashed = training error, bold = test error.
    assert test["ra"].line.width > train["ra"].line.width
    assert train["ra"].line.dash == "dash" and test["ra"].line.dash in (None, "solid")
    assert train["rb"].line.color == plots.depth_colour(56) == train["rc"].line.color  # colour by depth
    assert np.nanmax(np.asarray(train["rb"].y, dtype=float)) <= 100  # percent
    assert len(test["ra"].x) == 4
    # shared y across the two panels
    assert fig.layout.yaxis2.matches == "y" and fig.layout.xaxis2.matches == "x"


def test_training_curves_marks_shortcut_toggles():
    steps, evals, events = _frames()
    fig = plots.training_curves(steps, evals, events, RUNS, lang="en")
    lines = [s for s in fig.layout.shapes if s.type == "line" and s.x0 == s.x1]
    assert len(lines) == 1 and lines[0].x0 == 100 and lines[0].xref == "x2"
    assert any("shortcuts off" in (a.text or "") for a in fig.layout.annotations)
    markers = _traces(fig, "toggle")
    assert len(markers) == 1 and list(markers[0].x) == [100]


@pytest.mark.parametrize("x, column", [("step", "step"), ("epoch", "epoch"), ("seconds", "train_seconds")])
def test_training_curves_x_axis_switch(x, column):
    steps, evals, events = _frames()
    fig = plots.training_curves(steps, evals, events, RUNS, x=x)
    train = _traces(fig, "train")[0]
    expected = steps[steps["run_id"] == train.meta["run_id"]][column].to_numpy()
    np.testing.assert_allclose(np.asarray(train.x, dtype=float), expected)
    toggle_line = [s for s in fig.layout.shapes if s.type == "line" and s.x0 == s.x1][0]
    rc = steps[steps["run_id"] == "rc"]
    assert toggle_line.x0 == pytest.approx(float(rc.loc[rc["step"] == 100, column].iloc[0]))
    assert fig.layout.xaxis.title.text == plots.CURVE_X[x][1]
    with pytest.raises(ValueError):
        plots.training_curves(steps, evals, events, RUNS, x="hours")


def test_training_curves_reference_overlay_from_table6():
    steps, evals, events = _frames()
    table6 = degradation.load_table6()
    without = plots.training_curves(steps, evals, events, RUNS)
    with_ref = plots.training_curves(steps, evals, events, RUNS, reference=table6)
    assert not _traces(without, "reference")
    assert len(_traces(with_ref, "reference")) == 1
    assert "164 epochs" in _traces(with_ref, "reference")[0].name
    hlines = [s for s in with_ref.layout.shapes if s.type == "line" and s.y0 == s.y1]
    assert sorted(s.y0 for s in hlines) == [6.97, 8.75]  # depths 20 and 56 of the selection
    assert all(s.yref == "y2" for s in hlines)  # ResNet values: the residual panel


def test_training_curves_smoothing_is_a_mean_over_iterations_and_empty_panels_are_labelled():
    steps, evals, events = _frames()
    noisy = steps.copy()
    noisy["train_error"] = np.where(noisy["step"] % 2 == 0, 0.2, 0.4)
    only_plain = RUNS[RUNS["kind"] == "plain"]
    fig = plots.training_curves(noisy, evals, events, only_plain, smooth_steps=20)
    y = np.asarray(_traces(fig, "train")[0].y, dtype=float)
    assert np.allclose(y[20:], 30.0)  # the mean of 0.2 and 0.4, in percent
    assert any("no residual net" in (a.text or "") for a in fig.layout.annotations)
    # rows that are already means of 4 iterations: a 20-iteration window is 5 rows
    grouped = pd.DataFrame({"run_id": "ra", "step": [4, 8, 12], "epoch": 0.0, "train_seconds": 0.0,
                            "train_error": [0.1, 0.2, 0.3], "n": 4})
    assert plots.smoothed_error(grouped, 8).round(6).tolist() == [0.1, 0.15, 0.25]


def test_training_curves_handles_no_data_and_diverged_values_and_korean():
    empty_steps = pd.DataFrame(columns=["run_id", "step", "epoch", "train_seconds", "train_error"])
    empty_evals = pd.DataFrame(columns=["run_id", "step", "epoch", "train_seconds", "test_error"])
    fig = plots.training_curves(empty_steps, empty_evals, None, RUNS, lang="ko")
    assert fig.layout.yaxis.title.text == "오류 (%)"
    steps, evals, events = _frames()
    steps.loc[steps.index[-1], "train_error"] = float("inf")
    fig = plots.training_curves(steps, evals, events, RUNS, uirevision="abc")
    assert fig.layout.uirevision == "abc"
    fig.to_json()  # serialisable (no inf)


# ---------------------------------------------------------------- error_vs_depth

def _summary():
    return pd.DataFrame([
        {"run_id": "a", "name": "plain-20", "family": "cifar", "depth": 20, "kind": "plain", "steps": 200,
         "final_train_error": 0.20, "final_test_error": 0.25},
        {"run_id": "b", "name": "plain-56", "family": "cifar", "depth": 56, "kind": "plain", "steps": 200,
         "final_train_error": 0.30, "final_test_error": 0.33},
        {"run_id": "c", "name": "ResNet-20", "family": "cifar", "depth": 20, "kind": "residual", "steps": 200,
         "final_train_error": 0.18, "final_test_error": math.nan},
        {"run_id": "d", "name": "ResNet-56", "family": "cifar", "depth": 56, "kind": "residual", "steps": 200,
         "final_train_error": 0.12, "final_test_error": 0.2},
        {"run_id": "e", "name": "ResNet-56", "family": "cifar", "depth": 56, "kind": "residual", "steps": 100,
         "final_train_error": 0.14, "final_test_error": 0.2},
    ])


def test_error_vs_depth_one_line_per_kind_and_metric():
    fig = plots.error_vs_depth(_summary(), reference=degradation.load_table6())
    by = {(tr.meta["kind"], tr.meta["series"]): tr for tr in fig.data if "kind" in (tr.meta or {})}
    assert set(by) == {("plain", "train"), ("plain", "test"), ("residual", "train"), ("residual", "test")}
    assert list(by[("plain", "train")].x) == [20, 56]
    assert np.allclose(by[("plain", "train")].y, [20.0, 30.0])
    assert np.allclose(by[("residual", "train")].y, [18.0, 13.0])  # two ResNet-56 runs averaged
    assert list(by[("residual", "test")].x) == [56]  # no test error yet for ResNet-20
    ref = [tr for tr in fig.data if (tr.meta or {}).get("series") == "reference"]
    assert len(ref) == 1 and list(ref[0].y) == [8.75, 6.97]
    assert list(fig.layout.xaxis.tickvals) == [20, 56]


def test_error_vs_depth_empty():
    fig = plots.error_vs_depth(pd.DataFrame(columns=degradation.SUMMARY_COLUMNS), lang="ko")
    assert not fig.data and "아직" in fig.layout.annotations[0].text


# ---------------------------------------------------------------- analysis

def _fill(store, name, depth, shortcuts, errors, evals=()):
    rid = store.create_run(name, {"family": "cifar", "depth": depth, "shortcuts": shortcuts}, group_id="g",
                           status="running")
    for step, err in enumerate(errors, start=1):
        store.log_step(rid, step, epoch=step / 50, train_seconds=0.1 * step, train_loss=1.0, train_error=err, lr=0.1,
                       images_per_second=100.0)
    store.set_progress(rid, len(errors), 200)
    for step, err in evals:
        store.log_eval(rid, step, epoch=step / 50, train_seconds=0.1 * step, test_loss=1.0, test_error=err)
    store.set_status(rid, "finished")
    return rid


def test_summarize_runs_final_errors(store):
    a = _fill(store, "plain-20", 20, False, [0.9] * 80 + [0.3] * 20, evals=[(50, 0.5), (100, 0.35)])
    b = _fill(store, "ResNet-56", 56, True, [0.5] * 10)
    summary = degradation.summarize_runs(store, [a, b, "rmissing1"])
    assert list(summary["run_id"]) == [a, b]
    row = summary.set_index("run_id").loc[a]
    assert row["kind"] == "plain" and row["depth"] == 20 and row["steps"] == 100
    assert row["final_train_error"] == pytest.approx(0.3)  # mean of the last 20 iterations
    assert row["final_test_error"] == pytest.approx(0.35) and row["test_step"] == 100
    row = summary.set_index("run_id").loc[b]
    assert row["kind"] == "residual" and row["final_train_error"] == pytest.approx(0.5)
    assert math.isnan(row["final_test_error"])
    # the same runs read at iteration 60: before the drop, and before the second evaluation
    at60 = degradation.summarize_runs(store, [a, b], at_step=60).set_index("run_id")
    assert at60.loc[a, "steps"] == 60 and at60.loc[a, "final_train_error"] == pytest.approx(0.9)
    assert at60.loc[a, "final_test_error"] == pytest.approx(0.5)
    assert degradation.common_step(summary) == 10


def test_curve_buffer_is_incremental_bounded_and_exact():
    rng = np.random.default_rng(0)
    errors = rng.random(1000)
    rows = pd.DataFrame({"step": np.arange(1, 1001), "epoch": np.arange(1, 1001) / 100,
                         "train_seconds": np.arange(1, 1001) * 0.01, "train_loss": 1.0, "train_error": errors,
                         "lr": 0.1, "images_per_second": 50.0})
    buffer = degradation.CurveBuffer(max_points=64)
    for start in range(0, 1000, 137):  # arrive in uneven chunks, as a live run does
        added = buffer.update(rows.iloc[start:start + 137])
        assert added == len(rows.iloc[start:start + 137])
    assert buffer.update(rows.iloc[:10]) == 0  # already seen
    frame = buffer.frame()
    assert len(frame) <= 64 and buffer.stride == 16
    assert frame["n"].sum() == 1000  # every iteration counted once
    assert (frame["train_error"] * frame["n"]).sum() == pytest.approx(errors.sum())
    assert frame["step"].iloc[-1] == 1000 and buffer.last_step == 1000
    first = frame.iloc[0]
    assert first["train_error"] == pytest.approx(errors[: int(first["n"])].mean())


def test_labels_and_table6():
    assert words.toggle_label({"enabled": False, "stages": None}) == "shortcuts off"
    assert words.toggle_label({"enabled": True, "stages": [2]}) == "stage 2 on"
    assert words.toggle_label({"enabled": True, "stages": [1, 3]}, lang="ko") == "1, 3단계 숏컷 켬"
    assert words.seconds_label(185) == "3 min 05 s" and words.seconds_label(None) == "–"
    table6 = degradation.load_table6()
    assert table6.set_index("depth").loc[56, "test_error_paper_pct"] == 6.97
    assert {"params_millions", "test_error_akamaster_pct", "source"} <= set(table6.columns)


# ---------------------------------------------------------------- the shared Degradation view

def test_prepared_figure_draws_exactly_like_the_figure_it_was_made_from():
    import plotly.io as pio

    from resnet_edu.app.live_view import PreparedFigure

    steps, evals, events = _frames()
    fig = plots.training_curves(steps, evals, events, RUNS, smooth_steps=20)
    prepared = PreparedFigure(fig)
    assert json.loads(pio.to_json(prepared.to_dict(), validate=False)) == json.loads(pio.to_json(fig, validate=False))
    assert prepared.to_dict() is prepared.to_dict()  # computed once, not per draw
    assert fig.layout.template.layout.font is not None and not fig.layout.template.data.scatter  # lean template


def test_degradation_view_reads_the_store_incrementally_and_keeps_the_order(store):
    from resnet_edu.app.live_view import SharedCurves, build_degradation_view

    deep = _fill(store, "plain-56", 56, False, [0.9] * 100, evals=[(50, 0.9)])
    shallow = _fill(store, "plain-20", 20, False, [0.9] * 50 + [0.6] * 50, evals=[(50, 0.7)])
    curves = SharedCurves(max_points=40)
    view = build_degradation_view(store, [shallow, deep, "rgone0000"], curves=curves)
    assert list(view.info["name"]) == ["plain-20", "plain-56"] and not view.active
    assert "plain-56" in view.sentence and "plain-20" in view.sentence
    train = _traces(view.curves, "train")
    assert [tr.name for tr in train] == ["plain-20", "plain-56"] and all(len(tr.x) <= 40 for tr in train)
    assert view.summary.set_index("name").loc["plain-56", "final_train_error"] == pytest.approx(0.9)
    assert build_degradation_view(store, ["rgone0000"], curves=curves) is None


def test_shared_views_rebuild_on_lifecycle_at_once_and_on_progress_at_most_every_min_seconds(store):
    """A view younger than ``min_seconds`` is shared through new iterations; an older one is rebuilt.
    The age is set through ``min_seconds`` (an hour: every view is young; zero: every view is old),
    so no assert depends on how fast this machine runs."""
    from resnet_edu.app.live_view import SharedViews

    young, old = 3600.0, 0.0
    run = _fill(store, "plain-20", 20, False, [0.9] * 30)
    store.set_status(run, "running")
    views = SharedViews(min_seconds=young, max_entries=2)
    first = views.get(store, [run])
    assert views.get(store, [run]) is first and views.builds == 1  # nothing changed: shared

    def advance(step):
        store.log_step(run, step, epoch=step / 50, train_seconds=0.1 * step, train_loss=1.0, train_error=0.5,
                       lr=0.1, images_per_second=100.0)
        store.flush()

    advance(31)
    assert views.get(store, [run]) is first and views.builds == 1  # new iteration, view still young
    views.min_seconds = old
    second = views.get(store, [run])
    assert views.builds == 2 and _traces(second.curves, "train")[0].customdata[-1] == 31
    views.min_seconds = young
    advance(32)
    store.set_status(run, "finished")  # a run that ends shows at once, however young the view
    third = views.get(store, [run])
    assert views.builds == 3 and not third.active
    views.min_seconds = old
    assert views.get(store, [run]) is third  # old, but nothing changed since: no rebuild

    assert views.get(store, [run], lang="ko") is not third and views.builds == 4  # other options: their own view
    views.get(store, [run], x="epoch")  # a third selection: the least recently drawn one goes
    assert views.builds == 5 and len(views._entries) == 2
    views.get(store, [run])
    assert views.builds == 6


def test_the_run_menu_groups_runs_as_started_and_is_rebuilt_only_when_the_list_changes(store):
    from resnet_edu.app.live_view import SharedViews

    group = "g-fig1"
    shallow = store.create_run("plain-20", {"depth": 20}, group_id=group)
    deep = store.create_run("plain-56", {"depth": 56}, group_id=group)
    alone = store.create_run("ResNet-110 ✨", {"depth": 110})
    rows = store.run_menu()
    assert [row[0] for row in rows] == [alone, deep, shallow]  # newest first
    assert rows[0][1:4] == ("ResNet-110 ✨", None, "queued")

    views = SharedViews()
    menu = views.menu(store)
    assert menu.groups == (alone, group)  # a run started alone is its own group
    assert menu.members[group] == [deep, shallow] and menu.active == {shallow, deep, alone}
    assert menu.group_labels[group].endswith("· plain-56, plain-20")
    assert menu.run_labels[deep].startswith("plain-56 · ") and "queued" not in menu.run_labels[deep]
    assert "queued" in menu.status_line([deep])
    assert menu.group_with([shallow, deep]) == group and menu.group_with([shallow]) is None

    for step in range(1, 4):  # iterations coming in do not change the menu: the same object is reused
        store.log_step(deep, step, epoch=0.1, train_seconds=0.1, train_loss=1.0, train_error=0.5, lr=0.1,
                       images_per_second=10.0)
    store.flush()
    assert views.menu(store) is menu
    label = menu.run_labels[deep]
    store.set_status(deep, "finished")  # an ending run does
    menu = views.menu(store)
    assert deep not in menu.active and menu.run_labels[deep] == label  # a label never says the status
    assert "finished" in menu.status_line([deep]) and "완료" in menu.status_line([deep], "ko")
    store.delete_run(alone)
    assert views.menu(store).groups == (group,)


def test_the_view_carries_the_summary_table_in_the_reader_s_language(store):
    from resnet_edu.app.live_view import build_degradation_view

    run = _fill(store, "plain-20", 20, False, [0.25] * 30, evals=[(30, 0.3)])
    english = build_degradation_view(store, [run])
    korean = build_degradation_view(store, [run], lang="ko")
    assert english.table.to_pylist() == [{
        "run": "plain-20", "depth": 20, "kind": "plain", "iterations": 30,
        "training error % (last 20)": 25.0, "test error %": 30.0, "test measured at iteration": 30,
        "status": "finished"}]
    assert korean.table.column_names[0] == "실행" and korean.table.column(2).to_pylist() == ["plain 네트워크"]
    assert english.summary_csv.splitlines()[0].startswith("run_id,") and "plain-20" in english.summary_csv


def test_the_cpu_budget_lets_pages_through_while_under_it_and_holds_them_while_over():
    from resnet_edu.app.live_view import CpuBudget

    clock = {"now": 100.0, "cpu": 0.0, "cores_busy": 0.1}

    def sleep(seconds):  # while a page waits, the process keeps using `cores_busy` cores
        clock["now"] += seconds
        clock["cpu"] += seconds * clock["cores_busy"]

    budget = CpuBudget(cores=0.3, window=1.0, max_wait=5.0, step=0.05,
                       clock=lambda: clock["now"], cpu_seconds=lambda: clock["cpu"], sleep=sleep)
    assert budget.wait() == 0.0  # nothing known yet: no wait
    sleep(2.0)  # 0.1 cores used: under budget
    assert budget.usage() == pytest.approx(0.1) and budget.wait() == 0.0

    clock["cpu"] += 0.8  # a burst: 0.8 CPU seconds within the last second
    clock["cores_busy"] = 0.0  # then quiet: the page waits until the last second is back under 0.3 cores
    waited = budget.wait()
    assert 0.0 < waited < 1.1 and budget.usage() <= 0.3

    clock["cores_busy"] = 1.0  # busy all along (e.g. something else in this process): never wait forever
    sleep(2.0)
    assert budget.wait() == pytest.approx(5.0, abs=0.06) and budget.waited_seconds == pytest.approx(waited + 5.0, abs=0.06)


def test_line_styles_are_the_papers_in_every_training_chart():
    """Fig. 6's caption: "dashed lines denote training error, and bold lines denote testing error"."""
    steps, evals, events = _frames()
    fig = plots.training_curves(steps, evals, events, RUNS, lang="en")
    style = {tr.name: tr.line for tr in _traces(fig, "style")}
    assert style["training error (dashed)"].dash == "dash"
    assert style["test error (bold)"].width > style["training error (dashed)"].width
    korean = plots.training_curves(steps, evals, events, RUNS, lang="ko")
    assert {tr.name for tr in _traces(korean, "style")} == {"훈련 오류 (파선)", "테스트 오류 (굵은 선)"}
    depth = plots.error_vs_depth(_summary())
    by = {(tr.meta["kind"], tr.meta["series"]): tr.line for tr in depth.data if "kind" in (tr.meta or {})}
    assert by[("plain", "train")].dash == "dash" and by[("plain", "test")].dash in (None, "solid")
    assert by[("plain", "test")].width > by[("plain", "train")].width


def test_runs_that_share_a_name_are_told_apart_by_their_start_time_never_their_id():
    from resnet_edu.app.run_picking import distinct_names

    names = ["plain-20", "plain-20", "ResNet-20", "plain-20"]
    created = ["2025-11-28T09:15:00+00:00", "2025-11-28T10:40:00+00:00", "2025-11-28T10:40:00+00:00",
               "2025-11-28T10:40:30+00:00"]
    labels = distinct_names(names, created)
    assert labels[2] == "ResNet-20"  # a name nobody else has stays as it is
    assert len(set(labels)) == 4 and all(label.startswith(name) for label, name in zip(labels, names))
    assert labels[1].count(":") == 2 and labels[3].count(":") == 2  # the same minute: seconds tell them apart
    same = distinct_names(["plain-20", "plain-20"], [created[0], created[0]])
    assert same[0] != same[1] and same[1].endswith("(2)")
    assert distinct_names(["a"], [created[0]], always_time=True)[0].startswith("a · ")
