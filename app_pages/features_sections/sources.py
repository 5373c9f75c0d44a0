"""Nets from outside the class's runs: torchvision's pretrained ImageNet ResNets and weights files
(from the weights folder or uploaded), each optionally beside its shortcut-free twin."""

from __future__ import annotations

import hashlib
import json
import os

import streamlit as st

from app_pages.features_sections.loading import NO_DATA, imagenet_spec, load_weights_net, modified_time
from app_pages.text import features as text
from resnet_edu import models, weights
from resnet_edu.engine import feature_views
from resnet_edu.runs import ACTIVE_STATUSES
from resnet_edu.words import message_words
from ui import get_store, language, paced_redraw, refusal_words, submit_job, t, teacher_unlocked


def _with_plain_twin(name: str, source: tuple) -> list[tuple[str, tuple]]:
    """The net, and beside it (if asked) the same trained weights with every shortcut switched off."""
    nets = [(name, source)]
    if st.toggle(t("Beside it: the same weights with every shortcut switched off",
                   "옆에: 같은 가중치에서 숏컷을 모두 끈 네트워크"), value=False, key="feat_plain_twin",
                 help=t("A trained ResNet without its shortcuts: what is left of the prediction and the maps?",
                        "숏컷을 뺀 학습된 ResNet: 예측과 특징 맵에 무엇이 남을까요?")):
        nets.append((t(f"{name}, shortcuts off", f"{name}, 숏컷 끔"), (*source[:-1], False)))
    return nets


def _latest_weights_job(depth: int) -> dict | None:
    jobs = get_store().list_analyses(kind="download")
    for job in jobs.to_dict("records"):
        if job["params"].get("weights") == depth:
            return job
    return None


def _download_weights(depth: int) -> None:
    """on_click: torchvision's weights API fetches them in the training process (analysis job "download")."""
    if not teacher_unlocked():
        st.session_state["feat_download_error"] = _teacher_only_weights()
        return
    try:
        submit_job("download", {"weights": depth})  # the caps on waiting jobs, this tab's among them
    except (ValueError, RuntimeError) as error:  # admission.NotAdmitted is a ValueError
        st.session_state["feat_download_error"] = refusal_words(error)


def pretrained_download_ui(depth: int, path) -> None:
    """Not in torchvision's cache: a Download button (the training process fetches it) and where to put the
    file by hand on an offline machine; refreshed while the download runs."""
    busy = (_latest_weights_job(depth) or {}).get("status") in ACTIVE_STATUSES

    @st.fragment(run_every=2 if busy else None)
    def panel() -> None:
        with paced_redraw(runs_train=busy):  # the training process is downloading
            download_panel()

    def download_panel() -> None:
        job = _latest_weights_job(depth)
        running = job is not None and job["status"] in ACTIVE_STATUSES
        if busy and not running:
            st.rerun()  # finished (or failed): redraw the page with the net, or with the reason
        message = weights.pretrained_unavailable_message(depth, f"{path} does not exist.")
        st.info(t(**text.pretrained_missing(message, depth, os.path.basename(path), path.parent)), icon="📦")
        error = st.session_state.pop("feat_download_error", None)
        if error:
            st.error(error)
        if running:
            st.progress(float(job.get("fraction") or 0.0),
                        text=message_words(job.get("message"), language()) or t("waiting…", "기다리는 중…"))
            return
        teacher = teacher_unlocked()
        size = weights.pretrained_weights(depth).meta.get("_file_size")
        st.button(t(f"Download ResNet-{depth}'s weights" + (f" ({size:,.0f} MB)" if size else ""),
                    f"ResNet-{depth} 가중치 받기" + (f" ({size:,.0f} MB)" if size else "")),
                  key="feat_download_weights", on_click=_download_weights, args=(depth,), disabled=not teacher,
                  help=None if teacher else _teacher_only_weights())
        if job is not None and job["status"] == "failed" and job["message"]:
            st.error(job["message"], icon="📡")

    panel()


def pretrained_ui() -> tuple[list[tuple[str, tuple]], dict]:
    """torchvision's ImageNet ResNets, from torchvision's cache (offline: where to put the file)."""
    depth = st.select_slider(t("Depth (torchvision, trained on ImageNet)", "깊이 (torchvision, ImageNet으로 학습)"),
                             list(models.IMAGENET_DEPTHS), value=50, key="feat_pretrained_depth")
    path = weights.pretrained_file(depth)
    if not path.is_file():
        pretrained_download_ui(depth, path)
        return [], NO_DATA
    st.caption(t(**text.pretrained_loaded(depth)))
    return _with_plain_twin(f"ResNet-{depth} (ImageNet)", ("pretrained", depth, True)), \
        imagenet_spec(weights.PRETRAINED_IMAGE_SIZE)


def weights_file_ui() -> tuple[list[tuple[str, tuple]], dict]:
    """A state_dict file (an exported run, torchvision weights) from the weights folder of the data root, or
    uploaded; with the JSON written beside it when there is one."""
    folder = weights.weights_folder()
    found = {str(path): path.name for path in weights.weights_files(folder)}
    upload_choice = t("⬆️ upload a file…", "⬆️ 파일 올리기…")
    choice = st.selectbox(t("Weights file", "가중치 파일"), [*found, "upload"], key="feat_weights_pick",
                          format_func=lambda key: found.get(key, upload_choice),
                          placeholder=t("Choose a file", "파일을 고르세요"))
    cap = st.get_option("server.maxUploadSize")
    sizes = {depth: weights.pretrained_weights(depth).meta.get("_file_size") for depth in (18, 50)}  # MB, torchvision's
    st.caption(t(**text.weights_folder_note(folder, cap, sizes)))
    meta_text, payload = "", None
    if choice != "upload":
        path = choice
        name = found[path]
        try:
            meta = weights.sidecar_of(path)
        except ValueError as error:
            st.error(t(f"The .json beside {name} cannot be used ({error}); the weights are read without it.",
                       f"{name} 옆의 .json은 쓸 수 없습니다 ({error}). 가중치만 읽습니다."))
            meta = None
        meta_text = json.dumps(meta, sort_keys=True) if meta else ""
        source = ("path", path, modified_time(path), meta_text)
    else:
        if not teacher_unlocked():
            st.info(_teacher_only_weights(), icon="🔒")
            return [], NO_DATA
        files = st.file_uploader(
            t("A weights file (.pt / .pth: a `state_dict`) and, if you have it, the .json exported beside it",
              "가중치 파일(.pt / .pth: `state_dict`)과, 있으면 함께 내보낸 .json"),
            type=["pt", "pth", "json"], accept_multiple_files=True, key="feat_weights_upload",
            help=t(**text.WEIGHTS_UPLOAD_HELP))
        tensors = [f for f in files or [] if not f.name.lower().endswith(".json")]
        sidecars = [f for f in files or [] if f.name.lower().endswith(".json")]
        if not tensors:
            return [], NO_DATA
        name = tensors[0].name
        if sidecars:
            try:
                meta_text = json.dumps(weights.parse_sidecar(sidecars[0].getvalue()), sort_keys=True)
            except ValueError as error:
                st.error(t(f"{sidecars[0].name} cannot be used ({error}); the weights are read without it.",
                           f"{sidecars[0].name}은(는) 쓸 수 없습니다 ({error}). 가중치만 읽습니다."))
        payload = tensors[0].getvalue()
        source = ("file", hashlib.sha256(payload).hexdigest(), meta_text)
    try:
        with st.spinner(t("Checking the weights…", "가중치를 확인하는 중…")):
            net = load_weights_net(source, payload)
    except ValueError as error:
        st.error(t(f"{name}: {error}", f"{name}: 이 파일은 쓸 수 없습니다 ({error})."), icon="⚠️")
        return [], NO_DATA
    if payload is not None:  # the training process computes the views: it reads the upload from the store
        feature_views.keep_input(get_store().root, payload)
    kind = weights.describe_config(net.config) + ("" if net.config["shortcuts"] else t(", plain", ", plain 네트워크"))
    st.caption(f"**{name}**: {kind}.")
    for note in net.notes:
        st.caption(f"ℹ️ {note}")
    meta = json.loads(meta_text) if meta_text else {}
    label = str(meta.get("name") or os.path.splitext(name)[0])[:60]
    spec = dict(NO_DATA, image_size=net.image_size)
    if net.config["num_classes"] == 1000:
        spec = imagenet_spec(net.image_size)
    if meta.get("dataset") in ("synthetic", "cifar10", "imagenette"):  # an exported run: its own test images
        spec = {"name": meta["dataset"], "root": None, "image_size": net.image_size}
    return _with_plain_twin(label, (*source, True)), spec


def _teacher_only_weights() -> str:
    return t(**text.TEACHER_ONLY_WEIGHTS)
