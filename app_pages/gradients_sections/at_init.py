"""Fresh nets measured at initialisation: one forward and backward pass, every layer's gradient
norm. The measuring is a task of the training process (resnet_edu.inside.gradients.init_gradients_job:
nets of up to 110 layers, CIFAR-10 loaded there); this section starts it and draws the newest
measurement in the store, the same in every tab."""

from __future__ import annotations

import streamlit as st

from app_pages.gradients_sections import csv_text, ratio_text
from app_pages.task_view import status_ui, submit_ui
from app_pages.text import gradients as text
from resnet_edu import plots
from resnet_edu.inside import gradients
from ui import PLOT_CONFIG, get_store, language, live_analysis_job, t

INIT_DEPTHS = [8, 14, 20, 32, 44, 56, 110]
INIT_BATCHES = [16, 32, 64, 128]
KIND = "gradients_at_init"


def init_controls_ui() -> tuple[str, list[int], list[bool], int, bool]:
    """(data set, depths, kinds as shortcut flags, batch size, measure clicked?)"""
    cols = st.columns([2, 3, 3, 2])
    with cols[0]:
        data_names = {"synthetic": t("synthetic", "합성"), "cifar10": "CIFAR-10"}  # format_funcs must not call t()
        dataset = st.radio(t("Data", "데이터"), list(data_names), key="grad_init_data", horizontal=True,
                           format_func=data_names.get, persist_state="session")
    with cols[1]:
        depths = st.multiselect(t("Depths", "깊이"), INIT_DEPTHS, default=[20, 56], key="grad_init_depths",
                                persist_state="session")
    with cols[2]:
        kind_names = {"plain": t("plain", "plain 네트워크"), "residual": t("residual", "잔차 네트워크")}
        st.session_state.setdefault("grad_init_kinds", list(kind_names))  # no default=: a language switch sets it again
        kinds = st.multiselect(t("Kinds", "종류"), list(kind_names), key="grad_init_kinds", format_func=kind_names.get,
                               persist_state="session")
    with cols[3]:
        batch = st.select_slider(t("Batch", "배치 크기"), INIT_BATCHES, value=128, key="grad_init_batch",
                                persist_state="session")
    clicked = st.button(t("Measure at initialisation", "초기화 직후 재기"), key="grad_init_go", type="primary",
                        icon="📏")
    return dataset, depths, [k == "residual" for k in kinds], batch, clicked


def init_section() -> None:
    st.subheader(t("Fresh nets, at initialisation", "초기화 직후의 새 네트워크"))
    st.caption(t(**text.AT_INIT_CAPTION))
    dataset, depths, kinds, batch, clicked = init_controls_ui()
    if clicked:
        if not depths or not kinds:
            st.info(t("Choose at least one depth and one kind.", "깊이와 종류를 하나 이상 고르세요."))
        else:
            submit_ui(KIND, {"dataset": dataset, "depths": sorted(set(depths)), "shortcuts": sorted(set(kinds)),
                             "batch": int(batch)})
    jobs = get_store().list_analyses(kind=KIND)
    if len(jobs):
        live_analysis_job(str(jobs["job_id"].iloc[0]), measurement_ui)


def measurement_ui(job: dict) -> None:
    """The newest measurement: its progress (with Stop) while it runs, then a metric per net and the chart."""
    status_ui(job, "grad_init_stop", ("measuring", "재는 중"),
              ("The measurement could not run", "측정을 실행할 수 없습니다"),
              ("Stopped: the nets measured before the stop are shown.", "중지됨: 중지 전에 잰 네트워크만 보여 줍니다."))
    results = (job.get("result") or {}).get("nets") or []
    if results:
        results_ui(results)


def results_ui(results: list[dict]) -> None:
    lang = language()
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
