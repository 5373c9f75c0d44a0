"""Gradients: is the degradation problem caused by vanishing gradients? Measure it.

Per-layer gradient norms recorded while the runs train (a heatmap per run, plain and
residual side by side), the first-conv / last-conv ratio over time, the paper's Fig. 7
layer responses, and a measurement of fresh nets at initialisation. Reads only the
RunStore; the numbers come from resnet_edu.inside.gradients. The sections are in
app_pages/gradients_sections/.
"""

from __future__ import annotations

import streamlit as st

from app_pages.gradients_sections.at_init import init_section
from app_pages.gradients_sections.during_training import charts, empty_state_ui, run_picker_ui
from app_pages.text import gradients as text
from resnet_edu.app import run_picking
from resnet_edu.runs import ACTIVE_STATUSES
from ui import get_store, paced_redraw, t

REFRESH_SECONDS = 3


def intro_ui() -> None:
    st.markdown(t(**text.INTRO))
    with st.expander(t("How to read the numbers", "숫자 읽는 법")):
        st.markdown(t(**text.HOW_TO_READ))
    with st.container(border=True):
        st.markdown(t(**text.CLASS_QUESTION))


st.title(t("🌊 Gradients: do they vanish?", "🌊 기울기: 정말 사라질까?"))
intro_ui()

runs = run_picking.run_table(get_store().list_runs())
runs = runs[runs["steps_done"] > 0]
if runs.empty:
    empty_state_ui()
else:
    selected = run_picker_ui(runs)
    polling = bool(runs.loc[runs["run_id"].isin(selected), "status"].isin(ACTIVE_STATUSES).any())

    @st.fragment(run_every=REFRESH_SECONDS if polling else None)
    def live_charts() -> None:
        with paced_redraw(runs_train=polling):
            still_active = charts(selected)
        if polling and not still_active:
            st.rerun()

    live_charts()

st.divider()
init_section()
