"""Lab: start plain and residual nets, watch them train, flip their shortcuts live.

The page only collects settings and talks to the process-wide JobManager: training runs in
the manager's training process and every number goes to the RunStore, which the Degradation
page reads. The queue refreshes itself in a fragment while something trains. Each section is
a file of app_pages/lab_sections/; this file draws them in order.
"""

from __future__ import annotations

import streamlit as st

from app_pages.lab_sections.data_sets import data_sets_ui
from app_pages.lab_sections.lesson import lesson_link_ui, simple_view
from app_pages.lab_sections.packs import open_pack_ui
from app_pages.lab_sections.past_runs import past_runs_ui
from app_pages.lab_sections.queue import queue_ui
from app_pages.lab_sections.starting import start_ui
from app_pages.text import lab as text
from ui import t

st.title(t("Lab: train plain and residual nets", "실험실: plain과 잔차 네트워크 학습"))
st.markdown(t(**text.INTRO))
choices = start_ui()
lesson_link_ui(choices)
if not simple_view():  # a class's simple view (?view=simple in a lesson link) leaves the downloads to the teacher
    data_sets_ui()
st.subheader(t("Training now", "학습 중"))
queue_ui()
st.page_link("app_pages/degradation.py", label=t("See the curves on the Degradation page →",
                                             "성능 저하 페이지에서 곡선 보기 →"), icon="📉")
past_runs_ui()
open_pack_ui()
