"""AppTest of the Features page with real-architecture nets: torchvision's pretrained ResNets (offline
here: the clear message), a weights file made in the test (random weights, never called trained),
hostile files, and the download buttons of a trained run."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from page_helpers import charts, open_page, texts
from page_tasks import wait_for_task
from polling import wait_until

PAGE = "app_pages/features.py"


def _photo() -> bytes:
    from PIL import Image

    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _weights(depth: int) -> bytes:
    torch.manual_seed(0)
    buffer = io.BytesIO()
    torch.save(getattr(torchvision.models, f"resnet{depth}")().state_dict(), buffer)  # random weights
    return buffer.getvalue()


def views_done(at, count: int) -> None:
    """Wait until the training process has computed the ``count``-th view asked for; then the page's next tick."""
    job = wait_for_task("features", count=count)
    assert job["status"] == "finished", job["message"]
    at.run()
    assert not at.exception, at.exception


@pytest.fixture(autouse=True)
def no_torch_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # nothing cached: as on a fresh offline machine


def test_pretrained_offline_says_where_to_put_the_file():
    at = open_page(PAGE, "en")
    at.radio(key="feat_kind").set_value("pretrained").run()
    assert not at.exception, at.exception
    message = " ".join(i.value for i in at.info)
    assert "resnet50-0676ba61.pth" in message and "upload a weights file" in message
    assert not at.metric
    at.session_state["lang"] = "ko"
    at.run()
    assert not at.exception and "resnet50-0676ba61.pth" in " ".join(i.value for i in at.info)


@pytest.mark.slow
def test_pretrained_download_runs_in_the_training_process_and_reports_offline(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):  # "offline" even with internet
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    at = open_page(PAGE, "en")
    at.radio(key="feat_kind").set_value("pretrained").run()
    at.select_slider(key="feat_pretrained_depth").set_value(18).run()
    at.button(key="feat_download_weights").click().run()
    assert not at.exception, at.exception
    from ui import get_store

    store = get_store()
    jobs = store.list_analyses(kind="download")
    assert len(jobs) == 1 and jobs.iloc[0]["params"] == {"weights": 18}
    assert wait_until(lambda: store.get_analysis(jobs.iloc[0]["job_id"])["status"] == "failed", 120)
    at.run()
    assert not at.exception, at.exception
    assert any("ResNet-18 is not available: the download failed" in e.value for e in at.error)


@pytest.mark.slow
def test_a_pretrained_net_from_torchvisions_cache_on_imagenette_photos(imagenette_tree):
    from resnet_edu import weights
    target = weights.pretrained_file(18)  # TORCH_HOME is this test's folder
    target.parent.mkdir(parents=True)
    target.write_bytes(_weights(18))  # random weights under the real file name: never called trained here
    at = open_page(PAGE, "en")
    at.radio(key="feat_kind").set_value("pretrained").run()
    at.select_slider(key="feat_pretrained_depth").set_value(18).run()
    assert not at.exception, at.exception
    assert at.radio(key="feat_source").value == "test"  # Imagenette's photos are offered
    assert at.selectbox(key="feat_class").options == ["tench", "church"]
    views_done(at, 1)
    assert [m.label for m in at.metric] == ["ResNet-18 (ImageNet)"]
    assert at.metric[0].value.endswith(("✓", "✗"))  # the true class was mapped to ImageNet's index
    at.radio(key="feat_view").set_value("gradcam").run()
    assert not at.exception, at.exception
    assert len(at.selectbox(key="feat_target").options) == 1001  # explain any of ImageNet's classes


@pytest.mark.slow
def test_a_weights_file_renders_maps_gradcam_and_a_plain_twin():
    at = open_page(PAGE, "en")
    at.radio(key="feat_kind").set_value("file").run()
    at.file_uploader(key="feat_weights_upload").set_value(("resnet18-random.pt", _weights(18),
                                                           "application/octet-stream")).run()
    assert not at.exception, at.exception
    assert "ImageNet ResNet-18 (option B, 1000 classes)" in texts(at)
    assert "ImageNet's class names" in texts(at)  # what was assumed is said
    at.file_uploader(key="feat_upload").set_value(("photo.png", _photo(), "image/png")).run()
    assert not at.exception, at.exception
    views_done(at, 1)
    assert [m.label for m in at.metric] == ["resnet18-random"]
    grids = charts(at)[1:]
    assert len(grids) == 1 and len([d for d in grids[0]["data"] if d["type"] == "heatmap"]) == 4 * 6  # 4 stages
    at.toggle(key="feat_plain_twin").set_value(True).run()
    at.radio(key="feat_view").set_value("gradcam").run()
    assert not at.exception, at.exception
    views_done(at, 3)  # the toggle asked for the pair's maps, the radio for their Grad-CAM
    assert [m.label for m in at.metric] == ["resnet18-random", "resnet18-random, shortcuts off"]
    cams = charts(at)[1:]
    assert len(cams) == 2 and all(len([d for d in c["data"] if d["type"] == "heatmap"]) == 4 for c in cams)


def test_files_in_the_weights_folder_are_offered_with_their_json():
    folder = Path(os.environ["RESNET_EDU_DATA"]) / "weights"
    folder.mkdir(parents=True)
    (folder / "resnet18-random.pt").write_bytes(_weights(18))
    (folder / "resnet18-random.json").write_text(json.dumps({"name": "ResNet-18 (random weights)"}))
    (folder / "broken.pth").write_bytes(b"not weights")
    at = open_page(PAGE, "en")
    at.radio(key="feat_kind").set_value("file").run()
    picker = at.selectbox(key="feat_weights_pick")
    assert picker.options == ["broken.pth", "resnet18-random.pt", "⬆️ upload a file…"]
    assert at.error and "broken.pth" in at.error[0].value  # the first file, refused with a message
    picker.set_value(str(folder / "resnet18-random.pt")).run()
    at.file_uploader(key="feat_upload").set_value(("photo.png", _photo(), "image/png")).run()
    assert not at.exception, at.exception
    views_done(at, 1)
    assert [m.label for m in at.metric] == ["ResNet-18 (random weights)"]
    assert len(charts(at)) == 2


@pytest.mark.parametrize("content", [b"definitely not weights", b"PK\x03\x04broken zip"])
def test_foreign_files_get_a_message_not_a_crash(content):
    at = open_page(PAGE, "en")
    at.radio(key="feat_kind").set_value("file").run()
    at.file_uploader(key="feat_weights_upload").set_value(("evil.pt", content, "application/octet-stream")).run()
    assert not at.exception, at.exception
    assert at.error and "evil.pt" in at.error[0].value and "cannot use this file" in at.error[0].value
    assert not at.metric


def test_weights_uploads_are_teacher_only_when_a_passcode_is_set(monkeypatch):
    monkeypatch.setenv("RESNET_EDU_TEACHER_PASSCODE", "s3cret")
    at = open_page(PAGE, "en")
    at.radio(key="feat_kind").set_value("file").run()
    assert not at.exception and "teacher passcode" in " ".join(i.value for i in at.info)
    assert not at.get("file_uploader")


@pytest.mark.slow
def test_a_trained_run_offers_its_weights_for_download(tiny_runs):
    at = open_page(PAGE, "en")
    assert at.radio(key="feat_kind").value == "trained"
    labels = [b.proto.label for b in at.get("download_button")]
    assert any(".pt" in label for label in labels) and any(".json" in label for label in labels)
