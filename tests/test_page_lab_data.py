"""AppTest of the Lab's real-data parts: where CIFAR-10 and Imagenette stand, and the ImageNet-style preset
training on Imagenette when it is in the data root (a tiny tree in Imagenette's layout: the
``imagenette_tree`` fixture)."""

from __future__ import annotations

import os

import pytest
from page_helpers import app_manager, open_page, tiny_lab_settings
from polling import wait_until

PAGE = "app_pages/lab.py"
TIMEOUT = 120  # seconds: data set preparation and the first iterations, on a loaded machine
pytestmark = pytest.mark.usefixtures("lab_data_roots")


def _expander_text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_data_sets_say_what_is_missing_and_how_to_get_it_offline(lang):
    at = open_page(PAGE, lang)
    text = _expander_text(at)
    assert "cifar-10-python.tar.gz" in text and "imagenette2-160.tgz" in text and "imagenette2-320.tgz" in text
    assert os.environ["RESNET_EDU_DATA"] in text  # where to put the archive


@pytest.mark.slow
def test_imagenet_preset_trains_on_imagenette_when_it_is_here(imagenette_tree):
    at = open_page(PAGE)
    assert "Imagenette (160 px) is ready" in _expander_text(at)
    assert any("trains on Imagenette" in c.value for c in at.caption)
    tiny_lab_settings(at, max_steps=2)
    at.number_input(key="lab_batch").set_value(4).run()
    at.button(key="lab_preset_imagenet").click().run()
    assert not at.exception, at.exception
    manager = app_manager()
    runs = manager.store.list_runs()
    assert len(runs) == 4
    assert {c["dataset"] for c in runs["config"]} == {"imagenette"}
    assert {c["image_size"] for c in runs["config"]} == {32}
    ids = list(runs["run_id"])
    assert manager.wait(ids, TIMEOUT)
    statuses = {manager.store.get_run(r)["status"] for r in ids}
    assert statuses == {"finished"}, [manager.store.get_run(r)["message"] for r in ids]


@pytest.mark.slow
def test_choosing_imagenette_without_it_starts_runs_that_fail_with_the_offline_message():
    at = open_page(PAGE)
    at.selectbox(key="lab_dataset").set_value("imagenette").run()
    assert not at.exception, at.exception
    assert any("Not on this machine" in c.value for c in at.caption)
    at.radio(key="lab_family").set_value("imagenet").run()
    tiny_lab_settings(at, max_steps=2)
    at.multiselect(key="lab_depths_imagenet").set_value([18]).run()
    at.radio(key="lab_kind").set_value("residual").run()
    at.button(key="lab_start").click().run()
    manager = app_manager()
    ids = list(manager.store.list_runs()["run_id"])
    assert len(ids) == 1 and manager.wait(ids, TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    messages = [e.value for e in at.error]
    assert any("Imagenette (160 px) is not available" in m and "imagenette2-160.tgz" in m for m in messages), messages


@pytest.mark.slow
def test_get_runs_the_download_in_the_training_process_and_shows_why_it_failed_offline(monkeypatch):
    # Every request of the training process goes to a closed local port: "offline", even on a machine with
    # internet (this test must never download 163 MB).
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    at = open_page(PAGE)
    at.button(key="lab_get_cifar10").click().run()
    assert not at.exception, at.exception
    manager = app_manager()
    jobs = manager.store.list_analyses(kind="download")
    assert len(jobs) == 1 and jobs.iloc[0]["params"] == {"dataset": "cifar10"}
    job_id = jobs.iloc[0]["job_id"]
    assert wait_until(lambda: manager.store.get_analysis(job_id)["status"] == "failed", TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    messages = [e.value for e in at.error]
    assert any(m.startswith("Could not get CIFAR-10") and "cifar-10-python.tar.gz" in m for m in messages), messages
    details = [c.value for c in at.caption if c.value.startswith("Details: ")]
    assert details and "the download from" in details[0]  # the data layer's own reason, below
    assert at.button(key="lab_get_cifar10")  # offered again


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_failed_get_says_what_to_do_offline_and_offers_get_again(lang):
    at = open_page(PAGE, lang)
    store = app_manager().store
    job_id = store.create_analysis("download", {"dataset": "imagenette-160"})
    at.run()  # the download is under way: progress and Stop, no Get
    assert at.button(key="lab_download_stop_imagenette-160")
    assert not any(b.key == "lab_get_imagenette-160" for b in at.button)
    store.update_analysis(job_id, status="failed", message="Imagenette (160 px) is not available: the download "
                          "from https://example.invalid/imagenette2-160.tgz failed (<urlopen error [Errno -3] "
                          "Temporary failure in name resolution>).")
    at.run()
    assert not at.exception, at.exception
    assert not any(b.key == "lab_download_stop_imagenette-160" for b in at.button)
    assert at.button(key="lab_get_imagenette-160")  # offered again
    (message,) = [e.value for e in at.error]
    assert "imagenette2-160.tgz" in message and os.environ["RESNET_EDU_DATA"] in message  # what to put where
    assert message.startswith("Could not get Imagenette (160 px): this computer is probably offline"
                              if lang == "en" else "Imagenette (160 px)을(를) 받지 못했습니다")
    assert any("Temporary failure in name resolution" in c.value for c in at.caption)  # the reason, as details


def test_students_cannot_start_downloads_when_a_passcode_is_set(monkeypatch):
    monkeypatch.setenv("RESNET_EDU_TEACHER_PASSCODE", "s3cret")
    at = open_page(PAGE)
    assert at.button(key="lab_get_imagenette-160").disabled
