"""The image, the view (feature maps, Grad-CAM, integrated gradients) and the results side by side, computed
by a task in the training process (resnet_edu.engine.feature_views) and read from the store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch

from app_pages.task_view import ended_job, job_with_key, replace_own_job, status_ui, submit_ui
from app_pages.text import features as text
from resnet_edu import plots
from resnet_edu.engine import feature_views
from resnet_edu.engine.feature_views import TOP_K
from resnet_edu.inside import features
from resnet_edu.runs import ACTIVE_STATUSES
from resnet_edu.runs.export import csv_text
from ui import PLOT_CONFIG, get_store, language, live_analysis_job, t, tab_key

KIND = "features"

MAX_UPLOAD_BYTES = 5_000_000  # checked before decoding (data.load_image_file checks pixels too)

LEVEL = {"layer1": ("low", "저수준"), "layer2": ("mid", "중간 수준"), "layer3": ("high", "고수준"),
         "layer4": ("highest", "최고 수준")}


def _stage_title(stage: str) -> str:
    en, ko = LEVEL.get(stage, (stage, stage))
    return t(f"{stage} · {en}", f"{stage} · {ko}")


def image_ui(dataset, image_size: int) -> tuple[np.ndarray | None, int | None]:
    """The chosen image, uint8 (3, H, W), and its true class (None for an upload)."""
    sources = {"test": t("from the test set", "테스트 세트에서"), "upload": t("upload your own", "직접 올리기")}
    if dataset is None:
        sources.pop("test")
    source = st.radio(t("Image", "이미지"), list(sources), format_func=sources.get, horizontal=True, key="feat_source")
    if source == "upload":
        upload = st.file_uploader(t("A PNG or JPEG image", "PNG 또는 JPEG 이미지"), type=["png", "jpg", "jpeg"],
                                  key="feat_upload", max_upload_size=MAX_UPLOAD_BYTES // 1_000_000,
                                  help=t(**text.image_upload_help(MAX_UPLOAD_BYTES // 1_000_000, image_size)))
        if upload is None:
            return None, None
        if upload.size > MAX_UPLOAD_BYTES:
            st.error(t(**text.image_too_large(upload.name, upload.size / 1e6, MAX_UPLOAD_BYTES // 1_000_000)))
            return None, None
        from resnet_edu.data import BadImage, load_image_file
        from resnet_edu.data.uploads import charge_upload

        try:
            charge_upload(tab_key(), upload.getvalue(), upload.name)  # this tab's upload budget
            image = load_image_file(upload.getvalue(), max_bytes=MAX_UPLOAD_BYTES, image_size=image_size)
        except BadImage as error:
            st.error(t(f"This file cannot be used: {error}", f"이 파일은 쓸 수 없습니다: {error}"))
            return None, None
        return image.numpy(), None
    classes = list(dataset.classes)
    names = dict(enumerate(classes))
    left, right = st.columns([1, 2])
    with left:
        label = st.selectbox(t("Class", "클래스"), list(names), format_func=names.get, key="feat_class",
                             placeholder=t("Choose a class", "클래스를 고르세요"))
    members = (dataset.test_labels == label).nonzero().flatten()
    with right:
        number = st.slider(t(f"Image of this class (of {len(members)})", f"이 클래스의 이미지 ({len(members)}장 중)"),
                           1, max(1, len(members)), 1, key="feat_index")
    if len(members) == 0:
        return None, None
    return dataset.test_images[int(members[min(number, len(members)) - 1])].numpy(), label


def view_ui(classes: list[str]) -> tuple[str, int | None, tuple]:
    """(view, target class or None for "each net's prediction", options of the view)."""
    views = {"maps": t("feature maps", "특징 맵"), "gradcam": "Grad-CAM",
             "ig": t("integrated gradients", "통합 기울기(IG)")}
    view = st.radio(t("View", "보기"), list(views), format_func=views.get, horizontal=True, key="feat_view")
    options: tuple = ()
    target = None
    if view != "maps":
        targets = {-1: t("each net's predicted class", "각 네트워크가 예측한 클래스"), **dict(enumerate(classes))}
        left, right = st.columns(2)
        with left:
            chosen = st.selectbox(t("Explain the score of", "설명할 점수의 클래스"), list(targets),
                                  format_func=targets.get, key="feat_target",
                                  placeholder=t("Choose a class", "클래스를 고르세요"))
            target = None if chosen == -1 else int(chosen)
        if view == "ig":
            with right:
                n_steps = st.select_slider(t("Integration steps", "적분 단계 수"), [16, 32, 64], value=32,
                                           key="feat_ig_steps")
                noise = st.toggle(t("Smooth with NoiseTunnel (SmoothGrad, 8 noisy copies)",
                                    "NoiseTunnel로 부드럽게 (SmoothGrad, 잡음 섞은 사본 8개)"),
                                  value=False, key="feat_ig_noise")
            options = (noise, n_steps)
    return view, target, options


def explain_view_ui(view: str) -> None:
    if view == "maps":
        st.caption(t(**text.maps_caption(TOP_K)))
    elif view == "gradcam":
        st.caption(t(**text.GRADCAM_CAPTION))
    else:
        st.caption(t(**text.IG_CAPTION))


def _frame_of(name: str, view: str, maps: list[dict]) -> pd.DataFrame:
    """Long table of one net's view, for the CSV download."""
    rows = []
    for entry in maps:
        arrays = np.asarray(entry["values"], dtype=np.float32)
        if view == "maps":
            for channel, array in zip(entry["channels"], arrays):
                ys, xs = np.indices(array.shape)
                rows.append(pd.DataFrame({"net": name, "stage": entry["stage"], "channel": channel, "y": ys.ravel(),
                                          "x": xs.ravel(), "value": array.ravel()}))
        else:
            ys, xs = np.indices(arrays.shape)
            rows.append(pd.DataFrame({"net": name, "stage": entry["stage"], "y": ys.ravel(), "x": xs.ravel(),
                                      "value": arrays.ravel()}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def results_ui(nets: list[tuple[str, tuple]], image: np.ndarray, true_label: int | None, view: str,
               target: int | None, options: tuple) -> None:
    """The nets' views of the image, side by side: computed by a task in the training process (started
    here unless some tab asked for the same already), drawn from the store, refreshed while it runs."""
    store = get_store()
    image_name = feature_views.keep_input(store.root, image)
    sources = [list(source) for _, source in nets]
    key = feature_views.view_key(sources, image_name, view, target, list(options))
    job_id, status = job_with_key(store, KIND, key)
    if job_id is None:
        store.prune_inputs()  # inputs no waiting job names: gone after a day unused, or when the folder is too big
        params = {"key": key, "nets": [{"name": name, "source": list(source)} for name, source in nets],
                  "image": image_name, "view": view, "target": target, "options": list(options)}
        job_id, status = submit_ui(KIND, params), "queued"
        if job_id is None:
            return
    replace_own_job("feat_job", job_id)
    names = [name for name, _ in nets]
    picture = features.to_hwc_numpy(torch.from_numpy(image))
    if status in ACTIVE_STATUSES:
        live_analysis_job(job_id, lambda job: job_ui(job, names, picture, true_label, view))
    elif (job := ended_job(job_id)) is not None:
        job_ui(job, names, picture, true_label, view)


def job_ui(job: dict, names: list[str], picture: np.ndarray, true_label: int | None, view: str) -> None:
    """One job's progress (with Stop) or reason, then each net's prediction and view (``names``: the page's,
    in its language, one per net of the job)."""
    status_ui(job, "feat_stop", ("computing the views", "보기를 계산하는 중"),
              ("The views could not be computed", "보기를 계산할 수 없습니다"),
              ("Stopped: the nets computed before the stop are shown.", "중지됨: 중지 전에 계산한 네트워크만 보여 줍니다."))
    again = job["status"] in ("failed", "stopped") and st.button(t("Compute again", "다시 계산"), key="feat_again",
                                                                icon="🔁")
    if again and submit_ui(KIND, job["params"]) is not None:
        st.rerun()
    done = (job.get("result") or {}).get("nets") or []
    lang = language()
    columns = st.columns(len(names))
    frames = []
    for index, (column, name) in enumerate(zip(columns, names)):
        with column:
            if index >= len(done):
                if job["status"] in ACTIVE_STATUSES:
                    st.caption(t(f"Computing {name}…", f"{name} 계산 중…"))
                continue
            net = done[index]
            if "error" in net:  # a corrupt, foreign or vanished checkpoint or weights file
                st.error(t(f"{name}: cannot load its checkpoint ({net['error']}).",
                           f"{name}: 체크포인트를 불러올 수 없습니다 ({net['error']})."))
                continue
            verdict = ""
            if true_label is not None:
                verdict = " ✓" if net["index"] == true_label else " ✗"
            st.metric(name, f"{net['predicted']}{verdict}", f"{net['confidence']:.0%} " + t("confidence", "신뢰도"),
                      delta_color="off", delta_arrow="off")
            if view == "maps":
                rows = [(_stage_title(m["stage"]), m["channels"], np.asarray(m["values"], dtype=np.float32))
                        for m in net["maps"]]
                fig = plots.feature_grid_figure(rows, lang=lang, height_per_row=115)
            else:
                titles = [(_stage_title(m["stage"]) if m["stage"] != "IG" else t("|IG| over the image", "이미지 위의 |IG|"),
                           np.asarray(m["values"], dtype=np.float32)) for m in net["maps"]]
                scale = plots.INSIDE_IG_SCALE if view == "ig" else plots.INSIDE_CAM_SCALE
                fig = plots.overlay_figure(picture, titles, scale=scale, height=260 if view != "ig" else 330,
                                           opacity=0.55 if view != "ig" else 0.75)
            st.plotly_chart(fig, key=f"feat_chart_{index}", config=PLOT_CONFIG)
            if view != "maps":
                st.caption(t(f"explaining the score of: **{net['target_name']}**",
                             f"설명하는 점수의 클래스: **{net['target_name']}**"))
            frames.append(_frame_of(name, view, net["maps"]))
    if frames:
        table = pd.concat(frames, ignore_index=True)
        st.download_button(t("Download these maps (CSV)", "이 맵 데이터 내려받기 (CSV)"),
                           data=csv_text(table), file_name=f"features_{view}.csv",
                           mime="text/csv", key="feat_csv", on_click="ignore", icon="⬇️")
