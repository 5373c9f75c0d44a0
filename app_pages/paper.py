"""The paper (home): "Deep Residual Learning for Image Recognition" told for students.

The story in the paper's order — the revolution of depth, why depth matters, the
degradation problem, residual learning, the architectures, the recipe, the results, the
bottleneck and later work — each claim linked to the page of this app where students can
see it happen. The numbers are the paper's (arXiv:1512.03385); every string is in English and
Korean. The sections are in app_pages/paper_sections/, their prose in app_pages/text/paper.py.
"""

from __future__ import annotations

import streamlit as st

from app_pages.paper_sections.the_idea import (
                                               degradation_ui,
                                               headline_ui,
                                               residual_learning_ui,
                                               revolution_of_depth_ui,
                                               start_here_ui,
                                               why_depth_matters_ui,
)
from app_pages.paper_sections.the_results import bottleneck_ui, later_work_ui, networks_ui, recipe_ui, results_ui
from app_pages.text import paper as text
from ui import t

headline_ui()
start_here_ui()
revolution_of_depth_ui()
why_depth_matters_ui()
degradation_ui()
residual_learning_ui()
networks_ui()
recipe_ui()
results_ui()
bottleneck_ui()
later_work_ui()
st.divider()
st.caption(t(**text.CITE))
