"""AppTest of the Lab page: presets start runs, Stop stops them, the live shortcut toggle reaches the model.

Real training threads on the built-in synthetic data set, kept tiny (small batches, few
iterations, an 8-layer net for the toggle). Never sleeps a fixed time: polls the manager.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from page_helpers import app_manager, open_page, tiny_lab_settings
from polling import wait_until
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]
PAGE = "app_pages/lab.py"
TIMEOUT = 120  # seconds; a first torch step in a fresh thread takes ~1.5 s, data generation ~2 s
pytestmark = pytest.mark.usefixtures("lab_data_roots")


def _open(lang: str = "en") -> AppTest:
    return open_page(PAGE, lang)


def _poll(condition, what: str) -> None:
    assert wait_until(condition, TIMEOUT), f"timed out after {TIMEOUT} s waiting for {what}"


def _switch(at: AppTest, run_id: str, which):
    """The shortcut toggle of a run ("all" or a stage); its key ends with the server state, e.g. _all_101."""
    prefix = f"lab_sc_{run_id}_{which}_"
    found = [w for w in at.toggle if w.key and w.key.startswith(prefix)]
    assert len(found) == 1, [w.key for w in at.toggle]
    return found[0]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_lab_renders(lang):
    at = _open(lang)
    labels = [b.label for b in at.button]
    assert any(("Fig. 1" if lang == "en" else "그림 1") in label for label in labels)
    assert at.button(key="lab_preset_fig6") and at.button(key="lab_preset_imagenet")
    assert at.multiselect(key="lab_depths_cifar").value == [20, 56]
    assert at.expander, "the recipe notes"
    # The "paper" recipe lists where it differs from Sec. 4.2 instead of claiming to be exact.
    notes = " ".join(m.value for m in at.markdown)
    if lang == "en":
        assert "per-pixel mean" in notes and "plain twins too" in notes and "400 iterations at the latest" in notes
    else:
        assert "픽셀별 평균" in notes and "늦어도 400번 반복" in notes
    at.radio(key="lab_family").set_value("imagenet").run()
    assert not at.exception, at.exception
    assert at.multiselect(key="lab_depths_imagenet").value == [18, 34]


def test_choices_shown_in_words_keep_their_value_across_a_language_switch():
    """Switching language keeps every choice and redraws the page in the new words (that the browser
    also *shows* the choice, which it holds as the old words, is checked in test_browser.py)."""
    at = _open()
    at.radio(key="lab_recipe").set_value("paper").run()
    at.radio(key="lab_family").set_value("imagenet").run()
    at.radio(key="lang").set_value("ko").run()
    assert not at.exception, at.exception
    assert at.radio(key="lab_recipe").value == "paper" and at.radio(key="lab_family").value == "imagenet"
    assert at.radio(key="lab_recipe").index == 1, "the choice shown, in Korean"
    assert any(caption.value.startswith("배치 128:") for caption in at.caption)


def test_bad_settings_show_a_message_and_start_nothing():
    at = _open()
    at.number_input(key="lab_custom_depth").set_value(10).run()
    assert any("6n+2" in e.value for e in at.error)
    assert at.button(key="lab_start").disabled
    at.number_input(key="lab_custom_depth").set_value(None).run()
    at.selectbox(key="lab_dataset").set_value("imagefolder").run()
    at.text_input(key="lab_data_root_folder").input("/no/such/folder").run()
    assert not at.exception, at.exception
    assert any("does not exist" in e.value for e in at.error)
    assert at.button(key="lab_preset_fig1").disabled
    # a CIFAR net on 64 px images: the engine's validation message, shown, nothing created
    at.text_input(key="lab_data_root_folder").input(str(REPO)).run()
    at.button(key="lab_start").click().run()
    assert not at.exception, at.exception
    assert any("32" in e.value for e in at.error)
    assert app_manager().store.list_runs().empty


@pytest.mark.slow
def test_preset_starts_runs_and_stop_stops_them():
    at = _open()
    tiny_lab_settings(at, max_steps=5000)  # long enough that Stop comes first
    at.button(key="lab_preset_fig1").click().run()
    assert not at.exception, at.exception
    manager = app_manager()
    runs = manager.store.list_runs()
    assert sorted(runs["name"]) == ["plain-20", "plain-56"]
    assert runs["group_id"].nunique() == 1
    ids = list(runs["run_id"])
    configs = [manager.store.get_run(run_id)["config"] for run_id in ids]
    assert {(config["batch_size"], config["lr"]) for config in configs} == {(8, 0.1 * 8 / 128)}  # lr scaled to the batch
    assert [m.value for m in at.success][0].startswith("Started 2 runs: plain-20, plain-56"), "a confirmation"
    _poll(lambda: all(manager.progress(r)["step"] > 0 for r in ids), what="the first iterations")
    at.run()  # a queue tick
    assert not at.exception, at.exception
    assert len(at.get("progress")) >= 2
    shown = " ".join(m.value for m in at.markdown)
    assert "plain-56" in shown and not any(run_id in shown for run_id in ids)  # names, not ids, on the cards
    at.button(key=f"lab_stop_{ids[0]}").click().run()
    assert manager.wait([ids[0]], TIMEOUT)
    assert manager.store.get_run(ids[0])["status"] == "stopped"
    at.button(key="lab_stop_all").click().run()
    assert manager.wait(ids, TIMEOUT)
    assert {manager.store.get_run(r)["status"] for r in ids} == {"stopped"}
    at.run()
    assert not at.exception, at.exception
    # stopped after some iterations: a checkpoint was saved, so both can be resumed
    resume = [b for b in at.button if b.key and b.key.startswith("lab_resume_")]
    assert {b.key for b in resume} == {f"lab_resume_{r}" for r in ids}
    assert at.dataframe and len(at.dataframe[0].value) == 2
    assert list(at.dataframe[0].value["data"]) == ["built-in shapes"] * 2  # a name, not the config's key
    assert not any(run_id in m.value for m in at.markdown for run_id in ids)  # the resume lines name the runs


@pytest.mark.slow
def test_shortcut_toggle_reaches_the_running_model():
    """The switch travels to the training process, which applies it between two iterations and
    records it: the store's events are the model's word on what happened."""
    at = _open()
    tiny_lab_settings(at, max_steps=100_000)
    at.multiselect(key="lab_depths_cifar").set_value([])
    at.number_input(key="lab_custom_depth").set_value(8)
    at.radio(key="lab_kind").set_value("residual").run()
    assert at.button(key="lab_start").label == "Train 1 net"
    at.button(key="lab_start").click().run()
    assert not at.exception, at.exception
    manager = app_manager()
    (run_id,) = list(manager.store.list_runs()["run_id"])
    _poll(lambda: manager.progress(run_id)["step"] > 0, what="the first iteration")
    assert manager.training_process_pid not in (None, os.getpid())  # trained outside the app's process

    def toggles():
        return manager.store.events(run_id).query("kind == 'shortcuts_toggled'")

    at.run()
    whole = _switch(at, run_id, "all")
    assert whole.value is True and _switch(at, run_id, 3).value is True

    whole.set_value(False).run()  # the whole net: a ResNet becomes a plain net
    assert not at.exception, at.exception
    assert _switch(at, run_id, 2).value is False  # the widgets show the new state at once
    _poll(lambda: len(toggles()) >= 1, what="the switch applied by the training process")
    assert toggles()["detail"].iloc[0] == {"enabled": False, "stages": None}

    _switch(at, run_id, 2).set_value(True).run()  # one stage back on
    _poll(lambda: len(toggles()) >= 2, what="stage 2 on")
    at.run()
    assert _switch(at, run_id, "all").value is False
    assert _switch(at, run_id, 2).value is True
    at.run()  # more queue ticks change nothing
    at.run()
    assert manager.shortcut_state(run_id) == {1: False, 2: True, 3: False}
    events = toggles()
    assert len(events) == 2 and [d["enabled"] for d in events["detail"]] == [False, True]
    assert events["detail"].iloc[1]["stages"] == [2]
    manager.stop_all()
    assert manager.wait([run_id], TIMEOUT)


@pytest.mark.slow
def test_missing_cifar10_is_reported_with_the_data_layer_message(tmp_path):
    at = _open()
    tiny_lab_settings(at, max_steps=10)
    at.selectbox(key="lab_dataset").set_value("cifar10").run()
    at.text_input(key="lab_data_root_cifar").input(str(tmp_path / "no-cifar-here")).run()
    at.button(key="lab_preset_fig1").click().run()
    assert not at.exception, at.exception
    manager = app_manager()
    ids = list(manager.store.list_runs()["run_id"])
    assert len(ids) == 2 and manager.wait(ids, TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    messages = [e.value for e in at.error]
    assert any("CIFAR-10 is not available" in m and "synthetic" in m for m in messages), messages
    assert not any("Traceback" in m for m in messages)


@pytest.mark.slow
def test_advanced_settings_offer_only_the_devices_this_machine_has_and_compilation():
    from resnet_edu import devices
    at = _open()
    device = at.selectbox(key="lab_device")
    assert device.options[0].startswith("auto (here: ") and len(device.options) == 1 + len(devices.available_devices())
    assert device.value == "auto" and at.checkbox(key="lab_compile").value is False
    at.selectbox(key="lab_device").set_value("cpu").run()
    at.checkbox(key="lab_compile").check().run()
    tiny_lab_settings(at, max_steps=2)
    at.radio(key="lab_kind").set_value("residual").run()
    at.multiselect(key="lab_depths_cifar").set_value([20]).run()
    at.button(key="lab_start").click().run()
    assert not at.exception, at.exception
    manager = app_manager()
    (run_id,) = list(manager.store.list_runs()["run_id"])
    manager.stop(run_id)  # before the training process spends a minute compiling
    assert at.success[0].value.startswith("Started 1 run: ")
    info = manager.store.get_run(run_id)
    assert info["device"] == "cpu" and info["config"]["compile"] is True
    assert manager.wait([run_id], timeout=TIMEOUT)


def test_settings_are_kept_while_another_page_is_shown():
    at = _open()
    at.selectbox(key="lab_dataset").set_value("imagefolder").run()
    at.text_input(key="lab_data_root_folder").input("/data/my-photos").run()
    at.number_input(key="lab_image_size").set_value(96).run()
    at.radio(key="lab_family").set_value("imagenet").run()
    at.multiselect(key="lab_depths_imagenet").set_value([34]).run()
    at.radio(key="lab_kind").set_value("residual").run()
    at.number_input(key="lab_epochs").set_value(7)
    at.number_input(key="lab_max_steps").set_value(250)
    at.number_input(key="lab_seed").set_value(5)
    at.number_input(key="lab_lr").set_value(0.05)
    at.number_input(key="lab_batch").set_value(48)
    at.radio(key="lab_recipe").set_value("paper")
    at.checkbox(key="lab_compile").check().run()
    at.switch_page("app_pages/degradation.py").run()
    at.switch_page("app_pages/architecture.py").run()  # two page runs without the Lab
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="lab_dataset").value == "imagefolder"
    assert at.text_input(key="lab_data_root_folder").value == "/data/my-photos"
    assert at.number_input(key="lab_image_size").value == 96
    assert at.radio(key="lab_family").value == "imagenet"
    assert at.multiselect(key="lab_depths_imagenet").value == [34]
    assert at.radio(key="lab_kind").value == "residual"
    assert [at.number_input(key=k).value for k in ("lab_epochs", "lab_max_steps", "lab_seed", "lab_lr", "lab_batch")] \
        == [7, 250, 5, 0.05, 48]
    assert at.radio(key="lab_recipe").value == "paper" and at.checkbox(key="lab_compile").value is True
    # and the settings of the other family, never changed, are still their defaults
    at.radio(key="lab_family").set_value("cifar").run()
    assert at.multiselect(key="lab_depths_cifar").value == [20, 56]


@pytest.fixture
def session_state_warnings(monkeypatch):
    """The messages Streamlit logs when a widget has a default and also a value set via session_state."""
    import logging

    from streamlit.elements.lib import policies

    logged: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record):
            logged.append(record.getMessage())

    # AppTest runs without a Streamlit Runtime, where the check is skipped; the warning is logged once
    # per process (so a flag from an earlier test is cleared).
    monkeypatch.setattr(policies, "runtime", type("Runtime", (), {"exists": staticmethod(lambda: True)}))
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)
    catch = Catch()
    policies._LOGGER.addHandler(catch)
    yield logged
    policies._LOGGER.removeHandler(catch)


@pytest.mark.parametrize("page", [PAGE, "app_pages/gradients.py", "app_pages/paper.py"])
def test_a_language_switch_logs_no_session_state_warning(page, session_state_warnings):
    at = open_page(page)
    if page == PAGE:  # settings changed from their defaults, then the page left and opened again
        at.number_input(key="lab_epochs").set_value(5).run()
        at.multiselect(key="lab_depths_cifar").set_value([20, 32]).run()
        at.switch_page("app_pages/paper.py").run()
        at.switch_page(PAGE).run()
    at.radio(key="lang").set_value("ko").run()
    at.radio(key="lang").set_value("en").run()
    assert not at.exception, at.exception
    assert not [m for m in session_state_warnings if "Session State API" in m], session_state_warnings
    if page == PAGE:
        assert at.number_input(key="lab_epochs").value == 5
        assert at.multiselect(key="lab_depths_cifar").value == [20, 32]



@pytest.mark.parametrize("lang, words", [("en", "largest batch that fits is"), ("ko", "들어가는 가장 큰 배치는")])
def test_a_comparison_too_big_for_the_memory_is_refused_with_the_batch_that_fits(monkeypatch, lang, words):
    monkeypatch.setenv("RESNET_EDU_MEMORY_LIMIT_GB", "0.5")
    monkeypatch.setenv("RESNET_EDU_MEMORY_MARGIN_GB", "0")
    at = _open(lang)
    at.number_input(key="lab_batch").set_value(512).run()
    at.button(key="lab_preset_fig1").click().run()
    assert not at.exception, at.exception
    assert any(words in e.value for e in at.error), [e.value for e in at.error]
    assert app_manager().store.list_runs().empty


def test_the_queue_caps_refuse_a_comparison_and_queue_nothing(monkeypatch, runs_dir):
    from resnet_edu.runs import RunStore
    from resnet_edu.train import TrainConfig

    monkeypatch.setenv("RESNET_EDU_MAX_QUEUED_RUNS_PER_TAB", "1")
    at = _open()
    at.button(key="lab_preset_fig1").click().run()  # two nets, one allowed per tab
    assert not at.exception, at.exception
    assert any("in this tab" in e.value and "RESNET_EDU_MAX_QUEUED_RUNS_PER_TAB" in e.value for e in at.error)
    assert app_manager().store.list_runs().empty
    monkeypatch.setenv("RESNET_EDU_MAX_QUEUED_RUNS_PER_TAB", "12")
    monkeypatch.setenv("RESNET_EDU_MAX_QUEUED_RUNS", "3")
    store = RunStore(runs_dir)
    for i in range(2):
        store.create_run(f"waiting-{i}", TrainConfig().to_dict(), status="queued")
    store.close()
    at.button(key="lab_preset_fig1").click().run()
    assert any("on this server" in e.value for e in at.error), [e.value for e in at.error]
    assert len(app_manager().store.list_runs()) == 2


def test_start_on_an_image_folder_reads_no_image_in_the_server(monkeypatch, tmp_path):
    """The server checks the folder's path only: scanning and decoding are the training process's work
    (the runs' first status), so a page run never waits for thousands of photos."""
    from image_folders import make_tree

    from resnet_edu import data
    from resnet_edu.data import loaded
    from resnet_edu.engine.process import TrainingProcessManager

    def no_decoding_here(*args, **kwargs):
        raise AssertionError("the server decoded a data set")

    handed = []
    monkeypatch.setattr(data, "load_dataset", no_decoding_here)
    monkeypatch.setattr(loaded, "_datasets", {})
    monkeypatch.setattr(TrainingProcessManager, "_hand_over", lambda self, group_id, device, runs, gpus=1:
                        handed.extend(run_id for run_id, _, _ in runs))
    folder = make_tree(tmp_path / "photos")
    at = _open()
    at.selectbox(key="lab_dataset").set_value("imagefolder").run()
    at.text_input(key="lab_data_root_folder").input(str(folder)).run()
    at.button(key="lab_preset_fig1").click().run()
    assert not at.exception, at.exception
    runs = app_manager().store.list_runs()
    assert sorted(runs["run_id"]) == sorted(handed) and len(handed) == 2
    assert {config["data_root"] for config in runs["config"]} == {str(folder.resolve())}
