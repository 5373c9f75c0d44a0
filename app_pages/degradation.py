"""Degradation: the paper's Fig. 1 and Fig. 6, drawn live from the runs in the store.

Training error (dashed) and test error (bold) against iterations, as in the paper's Fig. 6,
plain nets left and residual nets right; shortcut toggles marked; paper Table 6 as an optional overlay; final
error against depth; and the current runs read in one sentence. Reads only the RunStore.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.text import degradation as text
from resnet_edu import plots
from resnet_edu.app.live_view import SMOOTH_STEPS, RunMenu
from resnet_edu.runs.export import csv_text
from resnet_edu.sharing.packs import default_pack_name, pack_bytes
from ui import PLOT_CONFIG, drawing_turn, get_store, language, send_to_lab, shared_views, t

REFRESH_SECONDS = 2


def empty_state_ui() -> None:
    send_to_lab(**text.NO_RUNS_YET)


def run_picker_ui(menu: RunMenu) -> list[str]:
    """The runs to draw: by default the newest comparison group; any runs can be added."""
    latest = menu.groups[0]
    # A new comparison started since this tab last looked: show it (that is what the teacher wants).
    if st.session_state.get("_deg_latest_group") != latest:
        st.session_state["_deg_latest_group"] = latest
        st.session_state["_deg_selected"] = list(menu.members[latest])
    saved = [r for r in st.session_state.get("_deg_selected", []) if r in menu.run_labels]
    if "deg_runs" not in st.session_state or st.session_state["deg_runs"] != saved:
        st.session_state["deg_runs"] = saved

    def pick_group() -> None:
        st.session_state["_deg_selected"] = list(menu.members[st.session_state["deg_group"]])
        st.session_state["deg_runs"] = st.session_state["_deg_selected"]

    def keep_selection() -> None:
        st.session_state["_deg_selected"] = [r for r in st.session_state["deg_runs"] if r in menu.run_labels]

    left, right = st.columns([2, 3])
    with left:
        current = menu.group_with(saved)
        if current is not None:
            st.session_state["deg_group"] = current
        elif st.session_state.get("deg_group") not in menu.members:
            st.session_state["deg_group"] = latest
        st.selectbox(t("Comparison", "비교 실험"), menu.groups, format_func=menu.group_label, key="deg_group",
                     on_change=pick_group,
                     help=t("Runs started together with one click in the Lab (newest first).",
                            "실험실에서 한 번에 함께 시작한 실행들(최신순)."))
    with right:
        st.multiselect(t("Runs", "실행"), list(menu.run_labels), format_func=menu.run_label, key="deg_runs",
                       on_change=keep_selection, placeholder=t("Choose runs", "실행을 고르세요"),
                       help=t("Add or remove any run, from any comparison.", "어느 비교 실험의 실행이든 넣고 뺄 수 있습니다."))
    chosen = [r for r in st.session_state["deg_runs"] if r in menu.run_labels]
    if chosen:  # where each run is, beside the picker: its label never changes while it trains or ends
        st.caption(menu.status_line(chosen, language()))
    return chosen


def chart_options_ui() -> tuple[str, bool, bool]:
    """(x-axis, paper overlay on?, smoothing on?)"""
    cols = st.columns([3, 2, 2])
    with cols[0]:
        words = {"step": t("iterations", "반복"), "epoch": t("epochs", "에폭"), "seconds": t("seconds", "초")}
        x = st.radio(t("x-axis", "가로축"), list(plots.CURVE_X), horizontal=True, key="deg_x", format_func=words.get)
    with cols[1]:
        reference = st.toggle(t("Paper values (Table 6)", "논문 값 (표 6)"), value=False, key="deg_reference",
                              help=t(**text.PAPER_LINES_HELP))
    with cols[2]:
        smooth = st.toggle(t(f"Smooth ({SMOOTH_STEPS} iterations)", f"부드럽게 ({SMOOTH_STEPS}회 평균)"),
                           value=True, key="deg_smooth",
                           help=t(**text.SMOOTH_HELP))
    return x, reference, smooth


def _class_pack(store, run_ids: list[str]):
    """A callable for st.download_button: the runs as one class pack (zip), built on click."""
    def build() -> bytes:
        return pack_bytes(store, [r for r in run_ids if store.has_run(r)])
    return build


def _metrics_csv(store, info: pd.DataFrame):
    """A callable for st.download_button: every logged iteration of the runs, built on click."""
    def build() -> str:
        frames = []
        for row in info.itertuples(index=False):
            if store.has_run(row.run_id):
                frame = store.export_frame(row.run_id)
                frame.insert(0, "kind", row.kind)
                frame.insert(0, "depth", row.depth)
                frame.insert(0, "name", row.name)
                frame.insert(0, "run_id", row.run_id)
                frames.append(frame)
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return csv_text(table)  # run names cannot start a spreadsheet formula
    return build


def _tensorboard_zip(store, run_ids: list[str]):
    """A callable for st.download_button: the runs' TensorBoard event folders as a zip, built on click."""
    def build() -> bytes:
        from resnet_edu.sharing.tensorboard import tensorboard_zip

        return tensorboard_zip(store, run_ids)
    return build


def charts(run_ids: list[str], x: str, reference_on: bool, smooth: bool) -> bool:
    """Draw everything that changes while runs train; returns whether any of them still trains."""
    store = get_store()
    lang = language()
    view = shared_views(str(store.root)).get(store, run_ids, x=x, reference_on=reference_on, smooth=smooth,
                                             lang=lang)
    if view is None:
        st.info(t("Choose at least one run above.", "위에서 실행을 하나 이상 고르세요."))
        return False
    active, info = view.active, view.info
    with st.container(border=True):
        st.markdown(("🔴 " if active else "") + view.sentence)

    st.plotly_chart(view.curves, key="deg_curves", config=PLOT_CONFIG)
    st.caption(t(f"Dashed: training error{f' (mean of {SMOOTH_STEPS} iterations)' if smooth else ''}. "
                 "Bold, with dots: test error, measured at the end of every epoch. Dotted vertical lines: a "
                 "shortcut switch flipped live in the Lab. One colour per depth. The line styles are the paper's "
                 "Fig. 6 (dashed: training, bold: test); Fig. 1 draws the two errors in separate panels.",
                 f"파선(- - -): 훈련 오류{f'({SMOOTH_STEPS}회 평균)' if smooth else ''}. 점이 찍힌 굵은 선: 에폭마다 "
                 "잰 테스트 오류. 세로 점선(···): 실험실에서 실시간으로 숏컷을 켜고 끈 지점. 깊이마다 한 색. 선 모양은 "
                 "논문 그림 6과 같습니다(파선: 훈련, 굵은 선: 테스트). 그림 1은 두 오류를 서로 다른 그림에 나눠 그립니다."))
    if reference_on:
        st.caption(t(**text.PAPER_LINES_CAPTION))
    downloads = st.container(horizontal=True)  # the curves' two downloads side by side
    downloads.download_button(t("Download the curves (CSV)", "곡선 데이터 내려받기 (CSV)"),
                              data=_metrics_csv(store, info), file_name="degradation_curves.csv", mime="text/csv",
                              key="deg_csv_curves", on_click="ignore", icon="⬇️")
    downloads.download_button(
        t("Download for TensorBoard (zip)", "TensorBoard용으로 내려받기 (zip)"),
        data=_tensorboard_zip(store, list(info["run_id"])), file_name="degradation_tensorboard.zip",
        mime="application/zip", key="deg_tensorboard", on_click="ignore", icon="📦",
        help=t("Event files, one folder per run (its name and start time): training and test error, loss, "
               "learning rate and the shortcut switches. Unzip, then run `tensorboard --logdir tensorboard`; "
               "W&B and Aim import the same files.",
               "실행마다 폴더 하나(이름과 시작 시각)에 담긴 이벤트 파일: 훈련 오류와 테스트 오류, 손실, 학습률, 숏컷 "
               "전환. 압축을 풀고 `tensorboard --logdir tensorboard`를 실행하세요. W&B와 Aim도 같은 파일을 "
               "가져옵니다."))

    st.subheader(t("Final error vs depth", "깊이에 따른 최종 오류"))
    st.caption(t(**text.PAPER_CLAIM))
    st.plotly_chart(view.error_vs_depth, key="deg_depth", config=PLOT_CONFIG)
    st.dataframe(view.table, hide_index=True, width="stretch")
    measured = view.summary["final_test_error"].notna()  # before its first evaluation a run has no test error
    stale = view.summary[measured & (view.summary["test_step"] < view.summary["steps"])]
    if len(stale):  # a fresh training error beside an older test error reads as overfitting: say it
        st.caption(t(f"Training errors are from each run's last iteration; test errors from its last evaluation "
                     f"(the end of an epoch), up to {int((stale['steps'] - stale['test_step']).max()):,} iterations "
                     "earlier: compare them with the iteration columns in mind.",
                     f"훈련 오류는 각 실행의 마지막 반복에서, 테스트 오류는 마지막 평가(에폭의 끝)에서 잰 값으로, 최대 "
                     f"{int((stale['steps'] - stale['test_step']).max()):,}번 반복 앞선 값입니다. 반복 열을 함께 보고 "
                     "비교하세요."))
    st.download_button(t("Download final errors (CSV)", "최종 오류 내려받기 (CSV)"),
                       data=view.summary_csv, file_name="error_vs_depth.csv",
                       mime="text/csv", key="deg_csv_depth", on_click="ignore", icon="⬇️")
    st.download_button(t("Download this comparison as a pack", "이 비교 실험을 수업 팩으로 내려받기"),
                       data=_class_pack(store, list(info["run_id"])), disabled=active,
                       file_name=default_pack_name(info["name"]), mime="application/zip", key="deg_pack",
                       on_click="ignore", icon="🎒",
                       help=t(**text.PACK_HELP) if not active else t(**text.PACK_WHEN_ENDED))
    return active


# ---------------------------------------------------------------- the page
st.title(t("Degradation: deeper plain nets train worse", "성능 저하: 더 깊은 plain 네트워크가 더 못 배운다"))
st.markdown(t(**text.INTRO))
st.caption(t(**text.WHAT_MINUTES_SHOW))

store = get_store()
menu = shared_views(str(store.root)).menu(store)
with drawing_turn(runs_train=bool(menu.active), timed=False):  # a click or a visit: drawn at once
    if not menu.groups:
        empty_state_ui()
    else:
        chosen = run_picker_ui(menu)
        x_axis, overlay, smoothing = chart_options_ui()
        polling = any(run_id in menu.active for run_id in chosen)

        @st.fragment(run_every=REFRESH_SECONDS if polling else None)
        def live_charts() -> None:
            with drawing_turn(runs_train=polling):
                still_active = charts(chosen, x_axis, overlay, smoothing)
            if polling and not still_active:
                st.rerun()  # the runs ended: redraw once with the final state and stop polling

        live_charts()
        st.page_link("app_pages/lab.py", label=t("Start more runs in the Lab →", "실험실에서 실행 더 시작하기 →"), icon="🧪")
