"""Fresh nets measured at initialisation: one forward and backward pass, every layer's gradient
norm, in seconds (resnet_edu.inside.gradients.measure_at_init)."""

from __future__ import annotations

import streamlit as st

from app_pages.gradients_sections import csv_text, ratio_text
from app_pages.text import gradients as text
from resnet_edu import plots
from resnet_edu.inside import gradients
from ui import PLOT_CONFIG, language, t

INIT_DEPTHS = [8, 14, 20, 32, 44, 56, 110]
INIT_BATCHES = [16, 32, 64, 128]


@st.cache_data(show_spinner=False, max_entries=64)
def init_batch(dataset: str, batch_size: int):
    """One batch of the chosen data set, normalised with its own statistics (seeded, same every time)."""
    from resnet_edu import data
    if dataset == "cifar10":
        from resnet_edu.data.loaded import cached_dataset

        full = cached_dataset("cifar10")
        images, labels = full.train_images[:batch_size], full.train_labels[:batch_size]
        mean, std = full.mean, full.std
    else:
        small = data.make_synthetic(num_train=batch_size, num_test=1, seed=0)
        images, labels, mean, std = small.train_images, small.train_labels, small.mean, small.std
    return data.normalize(images, mean, std), labels


@st.cache_data(show_spinner=False, max_entries=64)
def init_measurement(dataset: str, depth: int, shortcuts: bool, batch_size: int) -> dict:
    return gradients.measure_at_init("cifar", depth, shortcuts, init_batch(dataset, batch_size), seed=0)


def init_controls_ui() -> tuple[str, list[int], list[bool], int, bool]:
    """(data set, depths, kinds as shortcut flags, batch size, measure clicked?)"""
    cols = st.columns([2, 3, 3, 2])
    with cols[0]:
        data_names = {"synthetic": t("synthetic", "합성"), "cifar10": "CIFAR-10"}  # format_funcs must not call t()
        dataset = st.radio(t("Data", "데이터"), list(data_names), key="grad_init_data", horizontal=True,
                           format_func=data_names.get)
    with cols[1]:
        depths = st.multiselect(t("Depths", "깊이"), INIT_DEPTHS, default=[20, 56], key="grad_init_depths")
    with cols[2]:
        kind_names = {"plain": t("plain", "plain 네트워크"), "residual": t("residual", "잔차 네트워크")}
        st.session_state.setdefault("grad_init_kinds", list(kind_names))  # no default=: a language switch sets it again
        kinds = st.multiselect(t("Kinds", "종류"), list(kind_names), key="grad_init_kinds", format_func=kind_names.get)
    with cols[3]:
        batch = st.select_slider(t("Batch", "배치 크기"), INIT_BATCHES, value=128, key="grad_init_batch")
    clicked = st.button(t("Measure at initialisation", "초기화 직후 재기"), key="grad_init_go", type="primary",
                        icon="📏")
    return dataset, depths, [k == "residual" for k in kinds], batch, clicked


def init_section() -> None:
    lang = language()
    st.subheader(t("Fresh nets, at initialisation", "초기화 직후의 새 네트워크"))
    st.caption(t(**text.AT_INIT_CAPTION))
    dataset, depths, kinds, batch, clicked = init_controls_ui()
    if clicked:
        st.session_state["grad_init_params"] = (dataset, tuple(depths), tuple(kinds), batch)
    params = st.session_state.get("grad_init_params")
    if not params:
        return
    dataset, depths, kinds, batch = params
    nets = [(d, k) for k in sorted(set(kinds)) for d in sorted(set(depths))]
    if not nets:
        st.info(t("Choose at least one depth and one kind.", "깊이와 종류를 하나 이상 고르세요."))
        return
    results = []
    try:
        with st.spinner(t("Measuring…", "재는 중…")):
            for depth, shortcuts in nets:
                results.append(init_measurement(dataset, depth, shortcuts, batch))
    except Exception as error:  # e.g. CIFAR-10 not downloaded (DataUnavailable)
        st.warning(t(f"Could not load the data: {error}", f"데이터를 불러올 수 없습니다: {error}"))
        return
    columns = st.columns(min(4, len(results)))
    for index, result in enumerate(results):
        first, last = result["first"], result["last"]
        with columns[index % len(columns)]:
            st.metric(result["name"], ratio_text(result["ratio"]),
                      help=f"‖∇ {first}‖ = {result['grad_norm'][first]:.3g}, ‖∇ {last}‖ = {result['grad_norm'][last]:.3g}; "
                           f"‖{first}‖ = {result['weight_norm'][first]:.3g}, ‖{last}‖ = {result['weight_norm'][last]:.3g}")
            st.caption(t(f"first / last conv ‖∇W‖; relative to the weights (‖∇W‖ / ‖W‖): "
                         f"**{ratio_text(result['relative_ratio'])}**",
                         f"첫 / 마지막 합성곱의 ‖∇W‖; 가중치에 대한 상대 크기(‖∇W‖ / ‖W‖): "
                         f"**{ratio_text(result['relative_ratio'])}**"))
    frame = gradients.init_norms_frame(results)
    measures = {"grad_norm": t("‖∇W‖", "‖∇W‖"), "relative": t("‖∇W‖ / ‖W‖", "‖∇W‖ / ‖W‖")}
    value = st.radio(t("Plot", "그래프"), list(measures), format_func=measures.get, horizontal=True,
                     key="grad_init_value",
                     help=t(**text.RELATIVE_HELP))
    titles = {"grad_norm": ("gradient norm ‖∇W‖ (log)", "기울기 크기 ‖∇W‖ (로그)"),
              "relative": ("‖∇W‖ / ‖W‖ (log)", "‖∇W‖ / ‖W‖ (로그)")}
    st.plotly_chart(plots.layer_norms_figure(frame, value=value, lang=lang, y_title=titles[value]),
                    key="grad_init_chart", config=PLOT_CONFIG)
    st.caption(t(**text.AT_INIT_CHART_CAPTION))
    st.download_button(t("Download the measurement (CSV)", "측정값 내려받기 (CSV)"), data=csv_text(frame),
                       file_name="gradients_at_init.csv", mime="text/csv", key="grad_csv_init", on_click="ignore",
                       icon="⬇️")
