"""Starting a comparison: the settings box, the preset buttons and Start, and the checks that run
before any run exists (a bad setting is a message, and nothing is created)."""

from __future__ import annotations

import dataclasses

import streamlit as st

from app_pages.lab_sections.access import remember, teacher_only
from app_pages.lab_sections.data_sets import imagenet_preset_base
from app_pages.lab_sections.defaults import batch_reason, defaults_details, lr_reason
from app_pages.lab_sections.lesson import current_choices, link_problems_ui, proposed_preset, simple_view
from app_pages.lab_sections.settings import advanced_ui, dataset_ui, networks_ui, recipe_ui
from app_pages.text import lab as text
from resnet_edu.app import security
from resnet_edu.app.lesson_link import LabChoices
from resnet_edu.engine import admission, group_configs
from resnet_edu.train import PRESETS, TrainConfig, preset_configs
from resnet_edu.train.classroom import default_batch_size, default_learning_rate
from resnet_edu.words import message_words
from ui import get_manager, md_escape, prepare_data, t, tab_key, teacher_unlocked


def _one_line(error: BaseException) -> str:
    line = " ".join(str(error).split()) or type(error).__name__
    return line if len(line) <= 600 else line[:597] + "..."


def data_check(configs: list[TrainConfig]) -> tuple[str | None, list[TrainConfig]]:
    """(problem or None, configs with the checked folder): the data set's path is checked before any run exists.

    A typed folder must lie in the allowed data roots (resnet_edu.app.security). Nothing is read
    here: the training process scans and decodes an image folder as the first part of the runs'
    data preparation (its progress is their status), and a folder it cannot use (one class, an
    unreadable image, a batch larger than the data) ends the runs with the reason.
    """
    first = configs[0]
    if first.dataset == "synthetic":
        return None, configs
    root = first.data_root
    if root is not None:
        if not teacher_unlocked():
            return teacher_only(), configs
        try:
            root = str(security.check_data_path(root, must_exist=first.dataset == "imagefolder"))
        except ValueError as error:
            return _one_line(error), configs
        configs = [dataclasses.replace(c, data_root=root) for c in configs]
    return None, configs


def submit(configs: list[TrainConfig], device: str = "auto", gpus: int = 1) -> None:
    """Start one comparison group; a bad setting is shown as a message and nothing is created."""
    problem = problem_ko = None
    try:
        for config in configs:
            config.validate()
        if configs:
            problem, configs = data_check(configs)
        if problem is None:
            extra = {"gpus": gpus} if gpus > 1 else {}  # several GPUs: one torchrun job per net
            with admission.in_session(tab_key()):  # this tab's cap on queued runs
                run_ids = get_manager().submit(configs, device=device, **extra)
                admission.remember(run_ids)
    except admission.NotAdmitted as error:  # too big for the memory, or the queue is full
        problem, problem_ko = error.en, error.ko
    except (ValueError, RuntimeError) as error:
        problem = str(error)
    if problem is not None:
        st.error(t(f"Could not start: {problem}", f"시작할 수 없습니다: {problem_ko or message_words(problem, 'ko')}"),
                 icon="⚠️")
        return
    remember(run_ids)
    names = md_escape(", ".join(c.run_name for c in configs))
    count = len(run_ids)
    st.session_state["lab_flash"] = t(f"Started {count} run{'s' if count != 1 else ''}: {names}.",
                                      f"실행 {count}개 시작: {names}.")
    st.rerun()  # redraw the whole app, so the sidebar and the queue start refreshing themselves


def folder_problem(dataset: str, root: str | None) -> str | None:
    """A folder that is missing, a file, or outside the allowed data roots is caught here at once
    (nothing is read); the contents are checked when Start is pressed (data_check)."""
    if dataset == "synthetic":
        return None
    if dataset == "imagefolder" and not root:
        if not teacher_unlocked():
            return t(**text.IMAGE_FOLDER_TEACHER_ONLY)
        return t("Enter the image folder first.", "먼저 이미지 폴더를 입력하세요.")
    if root is None:
        return None
    try:
        security.check_data_path(root, must_exist=dataset == "imagefolder")
    except ValueError as error:
        return t(**text.folder_unusable(error))
    return None


def defaults_ui(settings: dict, device: str, dataset: str) -> None:
    """Fill in the batch size and learning rate left empty, each with a plain reason; the measurements
    behind them in an expander (a class's simple view fills them in without a word)."""
    recipe = settings["recipe"]
    batch_is_default, lr_is_default = settings["batch_size"] is None, settings["lr"] is None
    if batch_is_default:
        settings["batch_size"] = default_batch_size(recipe, device, dataset)
    if lr_is_default:
        settings["lr"] = default_learning_rate(recipe, settings["batch_size"])
    if simple_view():
        return
    if batch_is_default:
        st.caption(batch_reason(recipe, device, dataset, settings["batch_size"]))
    if lr_is_default:
        st.caption(lr_reason(settings["batch_size"], settings["lr"]))
    details = defaults_details(recipe, device, dataset, settings["batch_size"], settings["lr"],
                               batch_is_default=batch_is_default, lr_is_default=lr_is_default)
    if details:
        with st.expander(t("How these defaults were measured", "이 기본값을 정한 측정")):
            st.markdown(details)


def start_ui() -> LabChoices:
    """Settings, the preset buttons and the Start button; returns the settings as a lesson link carries them."""
    link_problems_ui("lab")
    with st.container(border=True):
        left, right = st.columns([4, 5], gap="large")  # the right side holds rows of three number boxes
        with left:
            dataset, root, size = dataset_ui()
            family, depths, kinds, depth_problem = networks_ui()
        with right:
            settings = recipe_ui()
            device, compiled, gpus = advanced_ui()
            defaults_ui(settings, device, dataset)
        base = TrainConfig(dataset=dataset, data_root=root, image_size=size, compile=compiled, **settings)
        problem = folder_problem(dataset, root)
        if problem:
            st.error(problem, icon="📁")
        elif dataset != "imagefolder" or teacher_unlocked():
            prepare_data(dataset, root, size)  # loaded in the background while the teacher sets up

        st.markdown(t(**text.PRESETS_KEEP))
        proposed = proposed_preset()
        if proposed:
            st.caption(t(f"This lesson: press **{PRESETS[proposed][0]}**.", f"이번 수업: **{PRESETS[proposed][1]}** 버튼을 누르세요."))
        cols = st.columns(2)
        for i, (key, (en, ko)) in enumerate(PRESETS.items()):
            if cols[i % 2].button(t(en, ko), key=f"lab_preset_{key}", width="stretch", disabled=bool(problem),
                                  type="primary" if key == proposed else "secondary"):
                preset_base = imagenet_preset_base(base) if key == "imagenet" else base if base.image_size == 32 \
                    else TrainConfig(**{**base.to_dict(), "image_size": 32})
                submit(preset_configs(key, preset_base), device=device, gpus=gpus)
        imagenet_base = imagenet_preset_base(base)
        if imagenet_base is not base:
            st.caption(t(**text.imagenet_preset_on_imagenette(imagenet_base.image_size)))

        n = len(depths) * len(kinds)
        label = t(f"Train {n} net{'s' if n != 1 else ''}", f"네트워크 {n}개 학습")
        if st.button(label, key="lab_start", type="secondary" if proposed else "primary",  # the lesson's preset first
                     disabled=bool(problem or depth_problem or n == 0)):
            configs = group_configs(base, depths, kinds, family=family)
            submit(configs, device=device, gpus=gpus)
    flash = st.session_state.pop("lab_flash", None)
    if flash:
        st.success(flash, icon="🚀")
        st.page_link("app_pages/degradation.py", label=t("Watch the curves on the Degradation page →",
                                                     "성능 저하 페이지에서 곡선 보기 →"), icon="📉")
    return current_choices(dataset, family, depths, kinds, settings)
