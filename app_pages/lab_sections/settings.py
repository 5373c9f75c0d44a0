"""The Lab's settings: data set, networks, recipe, device. Each returns what it chose; the Start
section turns them into TrainConfigs.

The first values come from the lesson link the tab was opened with (else the Lab's defaults, both in
resnet_edu/app/lesson_link.py); in a class's simple view the advanced controls are not drawn and their
values are the link's (or the defaults)."""

from __future__ import annotations

import streamlit as st

from app_pages.lab_sections.data_sets import data_state_text, imagenette_size
from app_pages.lab_sections.lesson import lesson, simple_view
from app_pages.text import lab as text
from app_pages.text.recipe_notes import RECIPE_NOTES
from resnet_edu import devices, models
from resnet_edu.app.lesson_link import CIFAR_DEPTHS, EPOCHS_RANGE, IMAGENET_DEPTHS, ITERATIONS_RANGE, SEED_RANGE
from resnet_edu.data import downloads
from resnet_edu.engine import torchrun_queue
from resnet_edu.train import TrainConfig
from resnet_edu.words import dataset_word, message_words
from ui import language, t, teacher_unlocked


def dataset_ui() -> tuple[str, str | None, int]:
    """(data set, data root or None, image size)."""
    details = {"synthetic": t("synthetic, offline, seconds", "합성, 오프라인, 몇 초"), "cifar10": "",
               "imagenette": t("real photos, 10 ImageNet classes", "실제 사진, ImageNet 10개 클래스"),
               "imagefolder": t("ImageNet-style", "ImageNet식")}
    names = {key: dataset_word(key, language(), capital=True) + (f" ({detail})" if detail else "")
             for key, detail in details.items()}
    dataset = st.selectbox(t("Data set", "데이터셋"), list(names), format_func=names.get, key="lab_dataset", persist_state="session")
    root, size = None, 32
    locked = not teacher_unlocked()  # custom data folders are a teacher-only control
    if dataset == "cifar10":
        root = st.text_input(t("Data root (empty: RESNET_EDU_DATA or ./data)",
                               "데이터 폴더 (비우면 RESNET_EDU_DATA 또는 ./data)"),
                             key="lab_data_root_cifar", persist_state="session", disabled=locked).strip() or None
        if locked:
            root = None  # the configured data root; a typed value is ignored, not only greyed out
            st.caption(t(**text.DATA_FOLDERS_TEACHER_ONLY))
        st.caption(t(**text.CIFAR_FROM_DATA_ROOT))
    elif dataset == "imagenette":
        size = int(st.number_input(t("Image size (px)", "이미지 크기 (픽셀)"), min_value=16, max_value=320,
                                   value=imagenette_size(), step=16, key="lab_image_size_imagenette", persist_state="session",
                                   help=t("Use an ImageNet-style net: CIFAR-style nets need 32 px.",
                                          "ImageNet식 네트워크를 쓰세요: CIFAR식 네트워크는 32픽셀이 필요합니다.")))
        st.caption(data_state_text(downloads.imagenette_archive(size)))
    elif dataset == "imagefolder":
        root = st.text_input(t("Folder with train/ and val/ (one sub-folder per class)",
                               "train/과 val/이 있는 폴더 (클래스마다 하위 폴더)"),
                             key="lab_data_root_folder", persist_state="session", placeholder="/data/imagenette2-160",
                             disabled=locked).strip() or None
        if locked:
            root = None
        size = int(st.number_input(t("Image size (px)", "이미지 크기 (픽셀)"), min_value=16, max_value=512,
                                   value=64, step=16, key="lab_image_size", persist_state="session",
                                   help=t(**text.IMAGE_FOLDER_SIZE_HELP)))
    return dataset, root, size


def networks_ui() -> tuple[str, list[int], list[str], str | None]:
    """(family, depths, kinds, problem with the custom depth or None)."""
    choices, simple = lesson().choices, simple_view()
    families = {"cifar": t("CIFAR (6n+2 layers)", "CIFAR (6n+2층)"),
                "imagenet": t("ImageNet-style (18/34/50)", "ImageNet식 (18/34/50)")}
    if simple:
        family = st.session_state.get("lab_family", choices.family)
    else:
        family = st.radio(t("Family", "계열"), list(families), horizontal=True, key="lab_family",
                          persist_state="session", format_func=families.get)
    problem = None
    if family == "cifar":
        depths = st.multiselect(t("Depths", "깊이"), list(CIFAR_DEPTHS), default=choices.listed_depths("cifar"),
                                key="lab_depths_cifar", persist_state="session")
        custom = choices.custom_depth if simple else st.number_input(
            t("Custom depth, 6n+2 (optional)", "직접 정한 깊이, 6n+2 (선택)"), min_value=8,
            max_value=models.MAX_CIFAR_DEPTH, value=choices.custom_depth, step=6, key="lab_custom_depth",
            persist_state="session", placeholder="8, 14, 26, …")
        if custom is not None:
            try:
                TrainConfig(depth=int(custom)).validate()
                depths = sorted(set(depths) | {int(custom)})
            except ValueError as error:
                problem = str(error)
                st.error(t(problem, message_words(problem, "ko")))
    else:
        depths = st.multiselect(t("Depths", "깊이"), list(IMAGENET_DEPTHS), default=choices.listed_depths("imagenet"),
                                key="lab_depths_imagenet", persist_state="session")
    kind_words = {"both": t("both (twins)", "둘 다 (쌍둥이)"), "plain": t("plain", "plain 네트워크"),
                  "residual": t("residual", "잔차 네트워크")}
    kind = st.radio(t("Shortcuts", "숏컷"), list(kind_words), horizontal=True, key="lab_kind", persist_state="session",
                    format_func=kind_words.get,
                    help=t(**text.PLAIN_IS_THE_TWIN))
    kinds = ["plain", "residual"] if kind == "both" else [kind]
    return family, sorted(depths), kinds, problem


def recipe_ui() -> dict:
    """Length, optimiser and recipe settings as TrainConfig keyword arguments."""
    choices, simple = lesson().choices, simple_view()
    cols = st.columns(2)  # two boxes a row: three left no room for a placeholder beside the +/- buttons
    epochs = cols[0].number_input(t("Epochs", "에폭"), min_value=EPOCHS_RANGE[0], max_value=EPOCHS_RANGE[1],
                                  value=choices.epochs, step=1, key="lab_epochs", persist_state="session",
                                  help=t(**text.EPOCHS_HELP))
    max_steps = choices.iterations if simple else cols[1].number_input(
        t("Max iterations", "최대 반복"), min_value=ITERATIONS_RANGE[0], max_value=ITERATIONS_RANGE[1],
        value=choices.iterations, step=50, key="lab_max_steps", persist_state="session",
        placeholder=t("no limit", "무제한"),
        help=t("Stops early; the lr schedule still follows the epochs.", "일찍 멈춥니다. 학습률 일정은 그대로 에폭을 따릅니다."))
    cols = st.columns(2) if not simple else [cols[1], None]  # simple view: the seed beside the epochs
    seed = cols[0].number_input(t("Seed", "시드"), min_value=SEED_RANGE[0], max_value=SEED_RANGE[1],
                                value=choices.seed, step=1, key="lab_seed", persist_state="session")
    lr = None if simple else cols[1].number_input(t("Learning rate", "학습률"), min_value=0.0001, max_value=100.0, value=None,
                              step=0.01, format="%.4f", key="lab_lr", persist_state="session", placeholder=t("default", "기본값"),
                              help=t("Empty: the recipe's default for the batch size (shown below the settings).",
                                     "비워 두면 배치 크기에 맞춘 레시피의 기본값을 씁니다 (설정 아래에 표시)."))
    batch = None if simple else st.columns(2)[0].number_input(t("Batch size", "배치 크기"), min_value=1, max_value=4096, value=None, step=16,
                                 key="lab_batch", persist_state="session", placeholder=t("default", "기본값"),
                                 help=t("Empty: the default of the recipe and device (shown below the settings).",
                                        "비워 두면 레시피와 장치의 기본값을 씁니다 (설정 아래에 표시)."))
    recipe_words = {"classroom": t("classroom (default)", "수업용 (기본)"), "paper": t("paper (Sec. 4.2)", "논문 (4.2절)")}
    recipe = st.radio(t("Recipe", "레시피"), list(recipe_words), format_func=recipe_words.get,
                      horizontal=True, key="lab_recipe", persist_state="session")
    with st.expander(t("What each recipe changes from the paper (Sec. 4.2)", "각 레시피가 논문(4.2절)과 다른 점")):
        for name in ("classroom", "paper"):
            st.markdown(f"**{recipe_words[name]}**")
            st.markdown("\n".join(f"- {t(**note)}" for note in RECIPE_NOTES.get(name, [])))
    return {"epochs": int(epochs), "max_steps": None if max_steps is None else int(max_steps), "seed": int(seed),
            "lr": None if lr is None else float(lr), "batch_size": None if batch is None else int(batch),
            "recipe": recipe}


def gpus_ui() -> int:
    """How many GPUs each net of the comparison trains on (torchrun); shown only with 2+ CUDA cards."""
    cards = torchrun_queue.cuda_card_count()  # looked up at each call: tests stand in other card counts
    if cards < 2:
        return 1
    return int(st.selectbox(
        t("Train on N GPUs", "GPU N개로 학습"), [str(n) for n in range(1, cards + 1)],  # text: shown in words
        key="lab_gpus", persist_state="session", format_func=lambda n: t(f"{n} GPU{'s' if n != '1' else ''}", f"GPU {n}개"),
        help=t(**text.GPUS_HELP)))


def advanced_ui() -> tuple[str, bool, int]:
    """(device, compile, GPUs): where the comparison trains, whether its nets are compiled, on how many GPUs."""
    if simple_view():
        return "auto", False, 1
    with st.expander(t("Advanced: device and compilation", "고급: 장치와 컴파일")):
        choices = ["auto"] + devices.available_devices()
        best = devices.available_devices()[0]
        words = {"auto": t(f"auto (here: {best.upper()})", f"자동 (여기서는 {best.upper()})"), "cpu": "CPU",
                 "cuda": "CUDA GPU", "mps": "Apple GPU (MPS)"}
        device = st.selectbox(t("Device", "장치"), choices, format_func=words.get, key="lab_device", persist_state="session",
                              help=t("auto: a CUDA GPU when there is one, else an Apple GPU, else the CPU.",
                                     "자동: CUDA GPU가 있으면 그것을, 없으면 Apple GPU를, 그것도 없으면 CPU를 씁니다."))
        compiled = st.checkbox(t("Compile the nets (`torch.compile`)", "네트워크 컴파일하기 (`torch.compile`)"),
                               key="lab_compile", persist_state="session", help=t(**text.COMPILE_HELP))
        gpus = gpus_ui() if device in ("auto", "cuda") else 1
    return device, compiled, gpus
