"""AppTest of the Lesion page: empty store, a real tiny run (ResNet-8 and its plain twin), both languages."""

from __future__ import annotations

import os

import pytest
from page_helpers import charts, end_runs_while_open, open_page, texts, values
from polling import wait_until

from resnet_edu.runs import RunStore

PAGE = "app_pages/lesion.py"


def wait_for_lesion_job(timeout: float = 300.0) -> dict:
    """Poll the store until the one lesion job has ended; its final state (it must have finished)."""
    store = RunStore(os.environ["RESNET_EDU_RUNS_DIR"])
    try:
        def ended() -> bool:
            jobs = store.list_analyses(kind="lesion")
            return len(jobs) > 0 and jobs.iloc[0]["status"] in ("finished", "stopped", "failed")

        assert wait_until(ended, timeout), "the lesion job did not end"
        job = store.get_analysis(str(store.list_analyses(kind="lesion").iloc[0]["job_id"]))
    finally:
        store.close()
    assert job["status"] == "finished", job["message"]
    return job


def test_empty_store_points_to_the_lab_in_both_languages():
    at = open_page(PAGE, "en")
    assert at.info and "Lab" in at.info[0].value
    assert not charts(at)
    at.session_state["lang"] = "ko"
    at.run()
    assert not at.exception, at.exception
    assert "실험실" in at.info[0].value and "블록 제거" in texts(at)


@pytest.mark.slow
def test_real_tiny_run(tiny_runs):
    at = open_page(PAGE, "en")
    assert at.selectbox(key="lesion_other").value is not None  # the plain twin is proposed
    # 20 iterations: the plain twin is still at chance, and the page says what would show the contrast
    note = " ".join(i.value for i in at.info)
    assert "plain-8 has not learned anything yet" in note and "would show it" in note
    assert not charts(at)  # nothing runs before the click
    at.select_slider(key="lesion_count").set_value(200)
    at.slider(key="lesion_kmax").set_value(2)
    at.slider(key="lesion_draws").set_value(1)
    at.button(key="lesion_go").click().run()
    assert not at.exception, at.exception
    wait_for_lesion_job()  # computed in the training process, not in the server
    at.run()  # the page's next tick
    assert not at.exception, at.exception
    single, random_k = charts(at)
    names = {trace["name"] for trace in single["data"]}
    assert len(names) == 2 and all(("ResNet-8" in n) or ("plain-8" in n) for n in names)
    assert all(len(values(trace["x"])) == 3 for trace in single["data"])  # 3 blocks in an 8-layer net
    # k stops at 1: an 8-layer net has one block that keeps the map size (layer1.0)
    assert [values(trace["x"]) for trace in random_k["data"]] == [[0, 1], [0, 1]]
    assert len(at.get("download_button")) == 2
    summary = texts(at)
    assert "ResNet-8**:" in summary and "plain-8**:" in summary
    at.session_state["lang"] = "ko"
    at.run()  # the stored results, now in Korean
    assert not at.exception, at.exception
    assert len(charts(at)) == 2 and "블록을 하나씩 지울 때" in texts(at)

    # Work kept: another page, then back: the same two nets, and their finished study shown again.
    chosen = (at.selectbox(key="lesion_run").value, at.selectbox(key="lesion_other").value)
    at.switch_page("app_pages/gradients.py").run()
    assert not at.exception, at.exception
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert (at.selectbox(key="lesion_run").value, at.selectbox(key="lesion_other").value) == chosen
    assert len(charts(at)) == 2 and "블록을 하나씩 지울 때" in texts(at)
    assert at.slider(key="lesion_kmax").value == 2  # the settings too


@pytest.mark.parametrize("ending", ["finished", "stopped", "failed", "deleted"])
def test_the_pickers_survive_their_runs_ending_while_the_page_is_open(tiny_twins_dir, ending):
    folder, (plain_id, residual_id) = tiny_twins_dir
    at = end_runs_while_open(PAGE, folder, [residual_id, plain_id], ending,
                             {"lesion_run": "select", "lesion_other": "select"},
                             click=lambda at: at.slider(key="lesion_kmax").set_value(2))
    assert at.selectbox(key="lesion_run").value == residual_id
    assert at.selectbox(key="lesion_other").value == (None if ending == "deleted" else plain_id)


def _run_with_curve(store, name, depth, shortcuts, errors, group="g"):
    run_id = store.create_run(name, {"family": "cifar", "depth": depth, "shortcuts": shortcuts}, group_id=group,
                              status="finished")
    for step, error in enumerate(errors, start=1):
        store.log_step(run_id, step, epoch=step / 100, train_seconds=0.1 * step, train_loss=1.0, train_error=error,
                       lr=0.1, images_per_second=100.0)
    store.flush()
    return run_id


def test_the_proposed_partner_has_learned_something(store):
    """Fig. 1 + the fix after a short run: plain-56 is still at chance, plain-20 has learned. The partner
    proposed beside ResNet-56 is plain-20, and how long plain-56 needs comes from ResNet-56's own curve."""
    from resnet_edu.app import run_picking
    plain20 = _run_with_curve(store, "plain-20", 20, False, [0.9] * 50 + [0.5] * 250)
    plain56 = _run_with_curve(store, "plain-56", 56, False, [0.9] * 300)
    resnet56 = _run_with_curve(store, "ResNet-56", 56, True, [0.9] * 120 + [0.6] * 180)
    table = run_picking.run_table(store.list_runs())
    state = run_picking.learning_state(store, table["run_id"]).set_index("run_id")
    assert not state.loc[plain56, "learned"] and state.loc[plain20, "learned"] and state.loc[resnet56, "learned"]
    assert 120 < state.loc[resnet56, "learned_at"] <= 140  # where its 20-iteration mean fell below 80%
    state = state.reset_index()
    assert run_picking.twin_of(table, resnet56) == plain56
    assert run_picking.lesion_partner(table, resnet56, table, state) == plain20
    need = run_picking.iterations_to_learn(state, plain56, resnet56)
    assert need == 600  # it trained 300 iterations, longer than ResNet-56 needed, and learned nothing: twice that
    trained_twin = _run_with_curve(store, "plain-56", 56, False, [0.5] * 300)  # a twin that has learned
    table = run_picking.run_table(store.list_runs())
    state = run_picking.learning_state(store, table["run_id"])
    assert run_picking.lesion_partner(table, resnet56, table, state) == trained_twin  # the deepest that learned
    assert run_picking.lesion_partner(table, resnet56, table[table["run_id"] != plain20], state) == trained_twin
