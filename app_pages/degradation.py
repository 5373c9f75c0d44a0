"""Degradation: the paper's Fig. 1 and Fig. 6, drawn live from the runs in the store.

Training error (dashed) and test error (bold) against iterations, as in the paper's Fig. 6,
plain nets left and residual nets right; shortcut toggles marked; paper Table 6 as an optional overlay; final
error against depth; and the current runs read in one sentence. Reads only the RunStore.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from resnet_edu import plots
from resnet_edu.live_view import SMOOTH_STEPS, RunMenu
from ui import drawing_turn, get_store, language, send_to_lab, shared_views, t

REFRESH_SECONDS = 2
PLOT_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}


def empty_state_ui() -> None:
    send_to_lab("No runs yet. Start one in the Lab — the **Fig. 1** preset (plain-20 vs plain-56) shows the "
                "degradation problem within a few minutes, and its curves appear here live.",
                "아직 실행이 없습니다. 실험실에서 시작하세요 — **그림 1** 프리셋(plain-20 대 plain-56)은 몇 분 안에 "
                "성능 저하 문제를 보여 주고, 그 곡선이 여기에 실시간으로 나타납니다.")


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
        st.session_state["_deg_selected"] = list(st.session_state["deg_runs"])

    left, right = st.columns([2, 3])
    with left:
        current = menu.group_with(saved)
        if current is not None:
            st.session_state["deg_group"] = current
        elif st.session_state.get("deg_group") not in menu.members:
            st.session_state["deg_group"] = latest
        st.selectbox(t("Comparison", "비교 실험"), menu.groups, format_func=menu.group_labels.get, key="deg_group",
                     on_change=pick_group,
                     help=t("Runs started together with one click in the Lab (newest first).",
                            "실험실에서 한 번에 함께 시작한 실행들(최신순)."))
    with right:
        st.multiselect(t("Runs", "실행"), list(menu.run_labels), format_func=menu.run_labels.get, key="deg_runs",
                       on_change=keep_selection,
                       help=t("Add or remove any run, from any comparison.", "어느 비교 실험의 실행이든 넣고 뺄 수 있습니다."))
    return list(st.session_state["deg_runs"])


def chart_options_ui() -> tuple[str, bool, bool]:
    """(x-axis, paper overlay on?, smoothing on?)"""
    cols = st.columns([3, 2, 2])
    with cols[0]:
        words = {"step": t("iterations", "반복"), "epoch": t("epochs", "에폭"), "seconds": t("seconds", "초")}
        x = st.radio(t("x-axis", "가로축"), list(plots.CURVE_X), horizontal=True, key="deg_x", format_func=words.get)
    with cols[1]:
        reference = st.toggle(t("Paper values (Table 6)", "논문 값 (표 6)"), value=False, key="deg_reference",
                              help=t("Final test errors of the paper's ResNets after 164 epochs on CIFAR-10 "
                                     "(Table 6): where a full run ends, not where your curves should be now.",
                                     "논문 ResNet을 CIFAR-10에서 164 에폭 학습한 뒤의 최종 테스트 오류(표 6): "
                                     "지금 곡선이 있어야 할 곳이 아니라, 끝까지 학습했을 때의 도착점입니다."))
    with cols[2]:
        smooth = st.toggle(t(f"Smooth ({SMOOTH_STEPS} iterations)", f"부드럽게 ({SMOOTH_STEPS}회 평균)"),
                           value=True, key="deg_smooth",
                           help=t("Each iteration's error is measured on one batch of 128 images and jumps "
                                  "around; averaging 20 iterations shows the trend.",
                                  "반복마다의 오류는 이미지 128장 한 묶음으로 재기 때문에 들쭉날쭉합니다. "
                                  "20회를 평균하면 추세가 보입니다."))
    return x, reference, smooth


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
        return table.to_csv(index=False, lineterminator="\n")
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
                 "shortcut switch flipped live in the Lab. The line styles are the paper's Fig. 6 (dashed: "
                 "training, bold: test); Fig. 1 draws the two errors in separate panels.",
                 f"점선: 훈련 오류{f'({SMOOTH_STEPS}회 평균)' if smooth else ''}. 점이 찍힌 굵은 선: 에폭마다 "
                 "잰 테스트 오류. 세로 점선: 실험실에서 실시간으로 숏컷을 켜고 끈 지점. 선 모양은 논문 그림 6과 "
                 "같습니다(점선: 훈련, 굵은 선: 테스트). 그림 1은 두 오류를 서로 다른 그림에 나눠 그립니다."))
    if reference_on:
        st.caption(t("Paper lines: final test errors after a full 164-epoch run on CIFAR-10 (Table 6), for the "
                     "ResNets of the chosen depths. A few-epoch classroom run ends well above them.",
                     "논문 선: CIFAR-10에서 164 에폭을 다 학습한 뒤의 최종 테스트 오류(표 6), 선택한 깊이의 ResNet 값. "
                     "몇 에폭짜리 수업용 실행은 그보다 한참 위에서 끝납니다."))
    st.download_button(t("Download the curves (CSV)", "곡선 데이터 내려받기 (CSV)"),
                       data=_metrics_csv(store, info), file_name="degradation_curves.csv", mime="text/csv",
                       key="deg_csv_curves", on_click="ignore", icon="⬇️")

    st.subheader(t("Final error vs depth", "깊이에 따른 최종 오류"))
    st.caption(t("The paper's claim in one picture, after a full run: without shortcuts the line rises with depth; "
                 "with them it falls (a few-minute run shows the first half at most). Training error (dashed): mean "
                 "of the last 20 iterations; test error (bold): the last evaluation.",
                 "논문의 주장을 한 장에(끝까지 학습했을 때): 숏컷이 없으면 깊을수록 선이 올라가고, 있으면 내려갑니다"
                 "(몇 분짜리 실행으로는 앞의 절반까지만 보입니다). 훈련 오류(점선)는 최근 20회 반복의 평균, 테스트 "
                 "오류(굵은 선)는 마지막 평가 값입니다."))
    st.plotly_chart(view.error_vs_depth, key="deg_depth", config=PLOT_CONFIG)
    st.dataframe(view.table, hide_index=True, width="stretch")
    st.download_button(t("Download final errors (CSV)", "최종 오류 내려받기 (CSV)"),
                       data=view.summary_csv, file_name="error_vs_depth.csv",
                       mime="text/csv", key="deg_csv_depth", on_click="ignore", icon="⬇️")
    return active


# ---------------------------------------------------------------- the page
st.title(t("Degradation: deeper plain nets train worse", "성능 저하: 더 깊은 plain 네트워크가 더 못 배운다"))
st.markdown(t(
    "In the paper's **Fig. 1**, a 56-layer plain net has *higher training error* than a 20-layer one: deeper "
    "is worse, and since it is training error, it is not overfitting. **Fig. 6** shows that identity "
    "shortcuts turn it around. These are your runs, drawn the same way, live.",
    "논문의 **그림 1**에서 56층 plain 네트워크는 20층보다 *훈련 오류가 더 높습니다*. 더 깊은데 더 나쁘고, 훈련 "
    "오류이므로 과적합이 아닙니다. **그림 6**은 항등 숏컷(identity shortcut)이 이를 뒤집는다는 것을 보여 "
    "줍니다. 여기에 여러분의 실행이 같은 방식으로, 실시간으로 그려집니다."))
st.caption(t(
    "What a few minutes can show: early in training every deeper net learns more slowly, with or without "
    "shortcuts, so the box below calls a plain gap *the degradation problem* only when a ResNet of the same depth "
    "keeps up with the shallow plain net (the **Fig. 1 + the fix** preset) or when the gap lasts. ResNet-56 "
    "overtaking ResNet-20 (Fig. 6, middle) takes the paper tens of thousands of iterations: a classroom run will "
    "not show it. *Paper values (Table 6)* marks where a full run ends.",
    "몇 분 안에 볼 수 있는 것: 학습 초기에는 숏컷이 있든 없든 깊은 네트워크일수록 느리게 배웁니다. 그래서 아래 "
    "상자는 깊이가 같은 ResNet이 얕은 plain 네트워크만큼 빨리 배울 때(**그림 1 + 해법** 프리셋)나 차이가 오래 이어질 "
    "때에만 plain 네트워크 사이의 차이를 *성능 저하 문제*라고 부릅니다. ResNet-56이 ResNet-20을 앞지르는 것(그림 6 "
    "가운데)은 논문에서도 수만 번의 반복이 걸립니다. 수업 시간의 실행으로는 볼 수 없습니다. *논문 값 (표 6)* 스위치는 "
    "끝까지 학습했을 때의 도착점을 보여 줍니다."))

store = get_store()
menu = shared_views(str(store.root)).menu(store, language())
with drawing_turn(runs_train=bool(menu.active)):  # see drawing_turn: the whole page, one tab at a time
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
