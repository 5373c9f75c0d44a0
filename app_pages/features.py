"""Features: what do plain and residual nets see in one image? Feature maps and attributions (Captum).

Low / mid / high-level features are the outputs of layer1 / layer2 / layer3 (and layer4 for
ImageNet-style nets). The computing is in resnet_edu.explain; this page picks the nets and the
image, caches the results per (checkpoint, image, view) and draws them. Besides the class's own
runs it shows torchvision's pretrained ImageNet ResNets and weights files (resnet_edu.weights):
a fully trained net has the edges -> textures -> objects hierarchy that a few minutes of
training cannot give.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import threading

import numpy as np
import pandas as pd
import streamlit as st
import torch

from resnet_edu import explain, models, plots, run_picking, weights
from ui import get_manager, get_store, language, send_to_lab, t, teacher_unlocked

MAX_UPLOAD_BYTES = 5_000_000  # checked before decoding (data.load_image_file checks pixels too)
TOP_K = 6  # channels per stage in the feature-map grids
PLOT_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}
FRESH_DEPTHS = [20, 56, 110]
LEVEL = {"layer1": ("low", "저수준"), "layer2": ("mid", "중간 수준"), "layer3": ("high", "고수준"),
         "layer4": ("highest", "최고 수준")}


# ---------------------------------------------------------------- models and data (cached, shared by tabs)

@st.cache_resource(max_entries=4, show_spinner=False)
def load_weights_net(source: tuple, _payload: bytes | None = None) -> weights.LoadedNet:
    """A net from torchvision's cache ("pretrained", depth), the weights folder ("path", path, mtime, json text)
    or an upload ("file", sha256, json text), whose bytes come in ``_payload`` (not hashed: the digest in the
    key stands for them)."""
    if source[0] == "pretrained":
        return weights.load_pretrained(source[1])
    if source[0] == "path":
        return weights.load_weights(source[1], json.loads(source[3]) if source[3] else None)
    if _payload is None:
        raise ValueError("the uploaded weights are no longer in memory: upload the file again")
    return weights.load_weights(_payload, json.loads(source[2]) if source[2] else None)


@st.cache_resource(max_entries=8, show_spinner=False)
def load_net(source: tuple, _payload: bytes | None = None):
    """(model, mean, std, classes, lock) for ("checkpoint", path, mtime), ("fresh", family, depth, shortcuts,
    num_classes, image_size, mean, std, classes), ("pretrained", depth, shortcuts) or ("file", sha256, json
    text, shortcuts). The lock serialises Captum's hooks on a shared model."""
    if source[0] in ("pretrained", "path", "file"):
        net = load_weights_net(source[:-1], _payload)
        model = net.model
        if not source[-1]:  # the same trained weights with every shortcut switched off: its own copy
            model = copy.deepcopy(net.model)
            models.set_shortcuts(model, False)
        return model, net.mean, net.std, net.classes, threading.Lock()
    if source[0] == "checkpoint":
        from resnet_edu.train import model_from_checkpoint

        model, _config, info = model_from_checkpoint(source[1])
        mean, std, classes = info.get("mean"), info.get("std"), info.get("classes")
    else:
        from resnet_edu.train import TrainConfig, make_model

        _, family, depth, shortcuts, num_classes, image_size, mean, std, classes = source
        config = TrainConfig(family=family, depth=depth, shortcuts=shortcuts, image_size=image_size, recipe="paper")
        model = make_model(config, num_classes).eval()
    return model, tuple(mean), tuple(std), list(classes), threading.Lock()


@st.cache_resource(max_entries=4, show_spinner=False)
def load_images(name: str, root: str | None, image_size: int):
    """The data set a run was trained on (shared with the trainer's cache when it is loaded already)."""
    from resnet_edu.jobs import cached_dataset

    return cached_dataset(name, root, image_size)


@st.cache_data(max_entries=256, show_spinner=False)
def compute_view(source: tuple, image: np.ndarray, view: str, target: int | None, options: tuple) -> dict:
    """Prediction plus one view of one net on one image (uint8 (3, H, W)); plain data, so cacheable."""
    from resnet_edu.data import normalize

    model, mean, std, _classes, lock = load_net(source)
    x = normalize(torch.from_numpy(image)[None], mean, std)
    with lock:
        prediction = explain.predict(model, x)
        chosen = prediction.index if target is None else int(target)
        result = {"index": prediction.index, "confidence": prediction.confidence, "target": chosen}
        if view == "maps":
            result["maps"] = [(m.stage, m.channels, m.maps) for m in explain.feature_maps(model, x, k=TOP_K)]
        elif view == "gradcam":
            result["maps"] = list(explain.gradcam_maps(model, x, chosen).items())
        else:
            noise_tunnel, n_steps = options
            result["maps"] = [("IG", explain.integrated_gradients(model, x, chosen, noise_tunnel=noise_tunnel,
                                                                  n_steps=n_steps))]
    return result


# ---------------------------------------------------------------- UI pieces

def _stage_title(stage: str) -> str:
    en, ko = LEVEL.get(stage, (stage, stage))
    return t(f"{stage} · {en}", f"{stage} · {ko}")


def empty_state_ui() -> None:
    send_to_lab("No trained run with a checkpoint yet: look at fresh, untrained nets below, or train a few epochs "
                "in the Lab (a checkpoint is saved at the end of every epoch) and come back.",
                "체크포인트가 있는 학습된 실행이 아직 없습니다. 아래에서 학습하지 않은 새 네트워크를 보거나, 실험실에서 몇 에폭 "
                "학습한 뒤(에폭마다 체크포인트가 저장됩니다) 다시 오세요.")


def nets_ui(table: pd.DataFrame, checkpoints: dict[str, str]) -> tuple[list[tuple[str, tuple]], dict]:
    """The nets to compare as [(name, source)] and the data set to draw images from."""
    choices = {"trained": t("trained runs", "학습된 실행"), "fresh": t("fresh, untrained nets", "학습 전 새 네트워크"),
               "pretrained": t("pretrained ResNet (ImageNet)", "사전 학습된 ResNet (ImageNet)"),
               "file": t("a weights file", "가중치 파일")}
    if not checkpoints:
        choices.pop("trained")
    kind = st.radio(t("Nets", "네트워크"), list(choices), format_func=choices.get, horizontal=True, key="feat_kind")
    if kind == "pretrained":
        return pretrained_ui()
    if kind == "file":
        return weights_file_ui()
    if kind == "trained":
        with_ckpt = table[table["run_id"].isin(checkpoints)]
        labels = dict(zip(with_ckpt["run_id"], with_ckpt["name"]))
        left, right = st.columns(2)
        with left:
            run_id = st.selectbox(t("Run", "실행"), list(labels), format_func=labels.get, key="feat_run")
        twin = run_picking.twin_of(table, run_id, with_ckpt)
        others = [None] + [r for r in labels if r != run_id]
        other_labels = {None: t("— none —", "— 없음 —"), **labels}
        # a new run (or a choice that is gone): propose its plain/residual twin
        if st.session_state.get("feat_twin_for") != run_id or st.session_state.get("feat_other") not in others:
            st.session_state["feat_twin_for"] = run_id
            st.session_state["feat_other"] = twin
        with right:
            other = st.selectbox(t("Side by side with", "나란히 볼 실행"), others, format_func=other_labels.get,
                                 key="feat_other", help=t("Its twin of the other kind (same depth) is proposed.",
                                                          "같은 깊이의 다른 종류(plain 네트워크 ↔ 잔차 네트워크)가 먼저 제안됩니다."))
        nets = []
        for rid in [run_id, other]:
            if rid is None:
                continue
            path = checkpoints[rid]
            nets.append((labels[rid], ("checkpoint", path, _mtime(path))))
        row = with_ckpt[with_ckpt["run_id"] == run_id].iloc[0]
        export_ui(labels[run_id], checkpoints[run_id])
        return nets, {"name": row["dataset"], "root": row["data_root"], "image_size": int(row["image_size"])}
    depth = st.select_slider(t("Depth (fresh CIFAR nets, He initialisation)", "깊이 (학습 전 CIFAR 네트워크, He 초기화)"),
                             FRESH_DEPTHS, value=56, key="feat_fresh_depth")
    nets = [(models.net_name("cifar", depth, False), ("fresh", "cifar", depth, False)),
            (models.net_name("cifar", depth, True), ("fresh", "cifar", depth, True))]
    return nets, {"name": "synthetic", "root": None, "image_size": 32}


@functools.lru_cache(maxsize=2)
def _exported(path: str, mtime: float) -> tuple[bytes, str]:
    """(state_dict bytes, its JSON) of a checkpoint; made when a download button is clicked (in its thread)."""
    payload, config = weights.export_checkpoint(path)
    return payload, json.dumps(config, indent=2) + "\n"


def export_ui(name: str, path: str) -> None:
    """Download the chosen run's weights: a plain state_dict and the JSON that says how to rebuild the net."""
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:60] or "weights"
    mtime = _mtime(path)
    left, right = st.columns(2)
    left.download_button(t("Download its weights (.pt)", "가중치 내려받기 (.pt)"),
                         data=lambda: _exported(path, mtime)[0], file_name=f"{stem}.pt",
                         mime="application/octet-stream", key="feat_export_pt", on_click="ignore", icon="⬇️",
                         help=t("A plain state_dict: models.build_model(...).load_state_dict(torch.load(file)); "
                                "ImageNet-style nets with option-B shortcuts also load into torchvision's resnet18() "
                                "etc. Put both files into the weights folder of the data root to look at them under 'a weights file'.",
                                "평범한 state_dict: models.build_model(...).load_state_dict(torch.load(파일)). "
                                "옵션 B 숏컷의 ImageNet식 네트워크는 torchvision의 resnet18() 등에도 들어갑니다. "
                                "두 파일을 데이터 폴더의 weights 폴더에 넣으면 '가중치 파일'에서 볼 수 있습니다."))
    right.download_button(t("… and its settings (.json)", "… 설정 (.json)"),
                          data=lambda: _exported(path, mtime)[1], file_name=f"{stem}.json", mime="application/json",
                          key="feat_export_json", on_click="ignore", icon="⬇️")


NO_DATA = {"name": None, "root": None, "image_size": weights.PRETRAINED_IMAGE_SIZE}
PHOTOS = "imagenette photos"  # ImageNet nets on real photos: Imagenette's validation images, when they are here
PHOTOS_SHOWN = 200  # decoded once at the net's size (and cached on disk): enough to pick from, cheap to hold


def imagenet_spec(image_size: int) -> dict:
    """Images for a net with ImageNet's 1000 classes: Imagenette's photos when unpacked in the data root."""
    from resnet_edu.data import downloads

    if downloads.state(downloads.imagenette_archive(image_size)) == "ready":
        return {"name": PHOTOS, "root": None, "image_size": image_size}
    return dict(NO_DATA, image_size=image_size)


@st.cache_resource(max_entries=1, show_spinner=False)
def load_photos(image_size: int):
    """A seeded sample of Imagenette's validation photos (its 10 classes are ImageNet classes)."""
    from resnet_edu.data import load_imagenette

    return load_imagenette(image_size=image_size, max_train=10, max_test=PHOTOS_SHOWN)


def imagenet_label(name: str) -> int | None:
    """The ImageNet index of an Imagenette class name ("tench" -> 0), for the ✓/✗ of a 1000-class net."""
    categories = weights.imagenet_categories()
    return categories.index(name) if name in categories else None


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
        get_manager().submit_analysis("download", {"weights": depth})
    except (ValueError, RuntimeError) as error:
        st.session_state["feat_download_error"] = str(error)


def pretrained_download_ui(depth: int, path) -> None:
    """Not in torchvision's cache: a Download button (the training process fetches it) and where to put the
    file by hand on an offline machine; refreshed while the download runs."""
    busy = (_latest_weights_job(depth) or {}).get("status") in ("queued", "running")

    @st.fragment(run_every=2 if busy else None)
    def panel() -> None:
        job = _latest_weights_job(depth)
        running = job is not None and job["status"] in ("queued", "running")
        if busy and not running:
            st.rerun()  # finished (or failed): redraw the page with the net, or with the reason
        message = weights.pretrained_unavailable_message(depth, f"{path} does not exist.")
        st.info(t(message, f"이 컴퓨터에 사전 학습된 ResNet-{depth} 가중치가 없습니다. 아래 버튼으로 받거나, 인터넷이 "
                           f"되는 컴퓨터에서 {os.path.basename(path)} 파일을 받아 {path.parent} 폴더에 넣거나, "
                           "'가중치 파일'을 쓰세요."), icon="📦")
        error = st.session_state.pop("feat_download_error", None)
        if error:
            st.error(error)
        if running:
            st.progress(float(job.get("fraction") or 0.0), text=job.get("message") or t("waiting…", "기다리는 중…"))
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
    st.caption(t(f"torchvision's ResNet-{depth} weights (IMAGENET1K_V1, the paper authors' recipe), loaded into "
                 "this app's own ResNet: the same layers, so the same maps and attributions. Upload a photo below.",
                 f"torchvision의 ResNet-{depth} 가중치(IMAGENET1K_V1, 논문 저자들의 학습법)를 이 앱의 ResNet에 "
                 "불러왔습니다: 층이 같으므로 같은 맵과 기여도를 봅니다. 아래에 사진을 올리세요."))
    return _with_plain_twin(f"ResNet-{depth} (ImageNet)", ("pretrained", depth, True)), \
        imagenet_spec(weights.PRETRAINED_IMAGE_SIZE)


def weights_file_ui() -> tuple[list[tuple[str, tuple]], dict]:
    """A state_dict file (an exported run, torchvision weights) from the weights folder of the data root, or
    uploaded; with the JSON written beside it when there is one."""
    folder = weights.weights_folder()
    found = {str(path): path.name for path in weights.weights_files(folder)}
    upload_choice = t("⬆️ upload a file…", "⬆️ 파일 올리기…")
    choice = st.selectbox(t("Weights file", "가중치 파일"), [*found, "upload"], key="feat_weights_pick",
                          format_func=lambda key: found.get(key, upload_choice))
    cap = st.get_option("server.maxUploadSize")
    st.caption(t(f"Files in `{folder}` are listed here, with the `.json` of the same name when there is one: copy "
                 "them there, or `python -m resnet_edu runs export RUN_ID --weights "
                 f"{folder}/NAME.pt`. Uploads are limited to {cap} MB by this server (a ResNet-18 is 45 MB, a "
                 "ResNet-50 98 MB): put larger files into that folder.",
                 f"`{folder}` 폴더의 파일이 (같은 이름의 `.json`이 있으면 함께) 여기에 나옵니다: 파일을 그 폴더에 "
                 "복사하거나 `python -m resnet_edu runs export RUN_ID --weights "
                 f"{folder}/NAME.pt`로 내보내세요. 이 서버의 업로드 한도는 {cap} MB입니다(ResNet-18은 45 MB, "
                 "ResNet-50은 98 MB): 더 큰 파일은 그 폴더에 넣으세요."))
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
        source = ("path", path, _mtime(path), meta_text)
    else:
        if not teacher_unlocked():
            st.info(_teacher_only_weights(), icon="🔒")
            return [], NO_DATA
        files = st.file_uploader(
            t("A weights file (.pt / .pth: a state_dict) and, if you have it, the .json exported beside it",
              "가중치 파일(.pt / .pth: state_dict)과, 있으면 함께 내보낸 .json"),
            type=["pt", "pth", "json"], accept_multiple_files=True, key="feat_weights_upload",
            help=t("Read with torch.load(weights_only=True): a file that would run code is refused. The tensors "
                   "must fit a CIFAR ResNet (6n+2) or an ImageNet ResNet-18/34/50/101/152.",
                   "torch.load(weights_only=True)로 읽으므로 코드를 실행하는 파일은 거부됩니다. 텐서가 CIFAR "
                   "ResNet(6n+2)이나 ImageNet ResNet-18/34/50/101/152에 맞아야 합니다."))
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
    return t("Only the teacher uploads weights files (they can be hundreds of MB): enter the teacher passcode in the "
             "sidebar.", "가중치 파일은 교사만 올릴 수 있습니다(수백 MB일 수 있습니다): 사이드바에 교사 암호를 입력하세요.")


def _mtime(path: str) -> float:
    try:
        return os.path.getmtime(path)
    except OSError:
        return 0.0


def image_ui(dataset, image_size: int) -> tuple[np.ndarray | None, int | None]:
    """The chosen image, uint8 (3, H, W), and its true class (None for an upload)."""
    sources = {"test": t("from the test set", "테스트 세트에서"), "upload": t("upload your own", "직접 올리기")}
    if dataset is None:
        sources.pop("test")
    source = st.radio(t("Image", "이미지"), list(sources), format_func=sources.get, horizontal=True, key="feat_source")
    if source == "upload":
        upload = st.file_uploader(t("A PNG or JPEG image", "PNG 또는 JPEG 이미지"), type=["png", "jpg", "jpeg"],
                                  key="feat_upload", max_upload_size=MAX_UPLOAD_BYTES // 1_000_000,
                                  help=t(f"At most {MAX_UPLOAD_BYTES // 1_000_000} MB; it is centre-cropped and "
                                         f"resized to {image_size}×{image_size}, the size the nets were trained on.",
                                         f"최대 {MAX_UPLOAD_BYTES // 1_000_000} MB. 가운데를 잘라 네트워크가 학습한 크기"
                                         f"({image_size}×{image_size})로 줄입니다."))
        if upload is None:
            return None, None
        if upload.size > MAX_UPLOAD_BYTES:
            st.error(t(f"{upload.name} is {upload.size / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 1_000_000} "
                       "MB. Use a smaller image.",
                       f"{upload.name}의 크기는 {upload.size / 1e6:.1f} MB로, 한도 {MAX_UPLOAD_BYTES // 1_000_000} MB를 "
                       "넘습니다. 더 작은 이미지를 쓰세요."))
            return None, None
        from resnet_edu.data import BadImage, load_image_file

        try:
            image = load_image_file(upload.getvalue(), max_bytes=MAX_UPLOAD_BYTES, image_size=image_size)
        except BadImage as error:
            st.error(t(f"This file cannot be used: {error}", f"이 파일은 쓸 수 없습니다: {error}"))
            return None, None
        return image.numpy(), None
    classes = list(dataset.classes)
    names = dict(enumerate(classes))
    left, right = st.columns([1, 2])
    with left:
        label = st.selectbox(t("Class", "클래스"), list(names), format_func=names.get, key="feat_class")
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
                                  format_func=targets.get, key="feat_target")
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
        st.caption(t(f"The {TOP_K} most active channels of each stage's output (the strongest mean activation "
                     "first), each scaled to its own maximum. Low-level maps (layer1) still look like the image: "
                     "edges and colour blobs. Deeper maps are smaller and more abstract: they respond to parts "
                     "and shapes, not pixels.",
                     f"각 단계 출력에서 가장 활발한 채널 {TOP_K}개(평균 활성화가 큰 순서), 각자의 최댓값 기준으로 색을 "
                     "맞췄습니다. 저수준 맵(layer1)은 아직 이미지처럼 보입니다: 모서리와 색 덩어리. 깊은 맵일수록 작고 "
                     "추상적이며, 픽셀이 아니라 부분과 모양에 반응합니다."))
    elif view == "gradcam":
        st.caption(t("Grad-CAM (Selvaraju et al. 2017): each stage's feature maps weighted by how much they raise "
                     "the chosen class's score, upsampled over the image. Red: evidence for the class. An "
                     "untrained net's maps are noise — compare with a trained one.",
                     "Grad-CAM(Selvaraju 외 2017): 각 단계의 특징 맵에 선택한 클래스 점수를 얼마나 올리는지를 가중치로 "
                     "곱해 이미지 크기로 키운 것입니다. 빨간색: 그 클래스라는 증거. 학습 전 네트워크의 맵은 잡음입니다 — 학습된 "
                     "네트워크와 비교해 보세요."))
    else:
        st.caption(t("Integrated gradients (Sundararajan et al. 2017): each pixel's share of the class score, "
                     "summed along a straight path from a grey image (the data set's mean colour) to this image. "
                     "Bright pixels matter most.",
                     "통합 기울기(Sundararajan 외 2017): 회색 이미지(데이터 세트의 평균 색)에서 이 이미지까지 곧은 경로를 "
                     "따라 모은, 클래스 점수에 대한 픽셀별 기여입니다. 밝은 픽셀이 가장 중요합니다."))


def _frame_of(name: str, view: str, maps) -> pd.DataFrame:
    """Long table of one net's view, for the CSV download."""
    rows = []
    for entry in maps:
        if view == "maps":
            stage, channels, arrays = entry
            for channel, array in zip(channels, arrays):
                ys, xs = np.indices(array.shape)
                rows.append(pd.DataFrame({"net": name, "stage": stage, "channel": channel, "y": ys.ravel(),
                                          "x": xs.ravel(), "value": array.ravel()}))
        else:
            stage, array = entry
            ys, xs = np.indices(array.shape)
            rows.append(pd.DataFrame({"net": name, "stage": stage, "y": ys.ravel(), "x": xs.ravel(),
                                      "value": array.ravel()}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def results_ui(nets: list[tuple[str, tuple]], image: np.ndarray, true_label: int | None, view: str,
               target: int | None, options: tuple) -> None:
    lang = language()
    picture = explain.to_hwc_numpy(torch.from_numpy(image))
    columns = st.columns(len(nets))
    frames = []
    for column, (name, source) in zip(columns, nets):
        with column:
            try:
                with st.spinner(t(f"Computing {name}…", f"{name} 계산 중…")):
                    result = compute_view(source, image, view, target, options)
                classes = load_net(source)[3]
            except (ValueError, weights.WeightsUnavailable) as error:  # a corrupt or foreign checkpoint
                st.error(t(f"{name}: cannot load its checkpoint ({error}).",
                           f"{name}: 체크포인트를 불러올 수 없습니다 ({error})."))
                continue
            predicted = classes[result["index"]] if result["index"] < len(classes) else str(result["index"])
            verdict = ""
            if true_label is not None:
                verdict = " ✓" if result["index"] == true_label else " ✗"
            st.metric(name, f"{predicted}{verdict}", f"{result['confidence']:.0%} " + t("confidence", "신뢰도"),
                      delta_color="off", delta_arrow="off")
            if view == "maps":
                rows = [(_stage_title(stage), channels, maps) for stage, channels, maps in result["maps"]]
                fig = plots.feature_grid_figure(rows, lang=lang, height_per_row=115)
            else:
                titles = [(_stage_title(stage) if stage != "IG" else t("|IG| over the image", "이미지 위의 |IG|"), m)
                          for stage, m in result["maps"]]
                scale = plots.INSIDE_IG_SCALE if view == "ig" else plots.INSIDE_CAM_SCALE
                fig = plots.overlay_figure(picture, titles, scale=scale, height=260 if view != "ig" else 330,
                                           opacity=0.55 if view != "ig" else 0.75)
            st.plotly_chart(fig, key=f"feat_chart_{len(frames)}", config=PLOT_CONFIG)
            if view != "maps":
                target_name = classes[result["target"]] if result["target"] < len(classes) else result["target"]
                st.caption(t(f"explaining the score of: **{target_name}**", f"설명하는 점수의 클래스: **{target_name}**"))
            frames.append(_frame_of(name, view, result["maps"]))
    if frames:
        table = pd.concat(frames, ignore_index=True)
        st.download_button(t("Download these maps (CSV)", "이 맵 데이터 내려받기 (CSV)"),
                           data=table.to_csv(index=False, lineterminator="\n"), file_name=f"features_{view}.csv",
                           mime="text/csv", key="feat_csv", on_click="ignore", icon="⬇️")


# ---------------------------------------------------------------- the page
st.title(t("🔍 Features: what the nets see", "🔍 특징 맵: 네트워크가 보는 것"))
st.markdown(t(
    "Deep nets \"naturally integrate low/mid/high-level features\", and \"the levels of features can be enriched "
    "by the number of stacked layers\" (the paper's introduction). Here are those levels in your own nets: the "
    "outputs of **layer1** (low), **layer2** (mid) and **layer3** (high), plus two ways of asking *which parts "
    "of the image* drove the prediction. Plain and residual nets side by side, on the same image.",
    "깊은 네트워크는 \"저·중·고수준 특징을 자연스럽게 통합\"하고 \"특징의 수준은 쌓은 층의 수로 풍부해진다\"(논문 서론). "
    "여기서 여러분의 네트워크에서 그 수준들을 봅니다: **layer1**(저수준), **layer2**(중간), **layer3**(고수준)의 출력, "
    "그리고 *이미지의 어느 부분이* 예측을 이끌었는지 묻는 두 가지 방법. 같은 이미지에서 plain 네트워크와 잔차 네트워크를 "
    "나란히 봅니다."))

store = get_store()
runs = run_picking.run_table(store.list_runs())
checkpoint_of = run_picking.checkpoints_by_run(store, runs["run_id"])
if not checkpoint_of:
    empty_state_ui()

chosen_nets, data_spec = nets_ui(runs, checkpoint_of)
images = None
try:
    if data_spec["name"] == PHOTOS:
        with st.spinner(t("Decoding Imagenette's photos (once)…", "Imagenette 사진을 읽는 중 (한 번만)…")):
            images = load_photos(data_spec["image_size"])
    elif data_spec["name"] is not None:  # pretrained nets and bare weights files: the user's own photos
        with st.spinner(t("Loading the data set…", "데이터 세트를 불러오는 중…")):
            images = load_images(data_spec["name"], data_spec["root"], data_spec["image_size"])
except Exception as problem:  # CIFAR-10 not downloaded, a folder that moved: uploads still work
    st.warning(t(f"The data set of this run is not available here ({problem}); upload an image instead.",
                 f"이 실행의 데이터 세트를 여기서 쓸 수 없습니다({problem}). 대신 이미지를 올리세요."))

if images is not None and chosen_nets and chosen_nets[0][1][0] == "fresh":  # fresh nets take the data's shape
    chosen_nets = [(name, (*source, images.num_classes, images.image_size, tuple(images.mean), tuple(images.std),
                           tuple(images.classes))) for name, source in chosen_nets]

if chosen_nets and (chosen_nets[0][1][0] != "fresh" or images is not None):
    picked, truth = image_ui(images, data_spec["image_size"])
    if picked is not None:
        left, right = st.columns([1, 4])
        with left:
            caption = images.classes[truth] if (images is not None and truth is not None) else t("your image", "올린 이미지")
            st.plotly_chart(plots.image_figure(explain.to_hwc_numpy(torch.from_numpy(picked)), title=caption,
                                               height=200), key="feat_image", config=PLOT_CONFIG)
        with right:
            try:
                own_classes = images is not None and data_spec["name"] != PHOTOS
                class_names = list(images.classes) if own_classes else load_net(chosen_nets[0][1])[3]
            except (ValueError, weights.WeightsUnavailable) as problem:  # corrupt, foreign or gone
                st.error(t(f"Cannot load this run's checkpoint ({problem}).",
                           f"이 실행의 체크포인트를 불러올 수 없습니다 ({problem})."))
                class_names = None
            if class_names is not None:
                view_name, target_class, view_options = view_ui(class_names)
                explain_view_ui(view_name)
        if class_names is not None:
            if data_spec["name"] == PHOTOS and truth is not None:  # Imagenette's class -> ImageNet's index
                truth = imagenet_label(images.classes[truth])
            results_ui(chosen_nets, picked, truth, view_name, target_class, view_options)
