"""The Paper page's sections, in the paper's order; app_pages/paper.py draws them. Here: the
paper's tables, the traced blocks, and the links to the page that shows each claim."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from resnet_edu import diagrams
from resnet_edu.assets import paper_table
from resnet_edu.inside import degradation
from ui import t

ARXIV = "https://arxiv.org/abs/1512.03385"


@st.cache_data(show_spinner=False)
def ilsvrc_table() -> pd.DataFrame:
    return paper_table("ilsvrc.csv")


@st.cache_data(show_spinner=False)
def table6() -> pd.DataFrame:
    return degradation.load_table6()


@st.cache_data(show_spinner=False, max_entries=8)
def traced_block(family: str, depth: int, shortcut_type: str, block_name: str) -> diagrams.BlockGraph:
    model = diagrams.build_for_diagram(family, depth, shortcut_type)
    return diagrams.trace_model_block(model, block_name, diagrams.input_size_of(family))


def link(page: str, en: str, ko: str, icon: str) -> None:
    st.page_link(f"app_pages/{page}.py", label=t(en, ko), icon=icon)


def lab_link() -> None:
    link("lab", "Try it in the Lab →", "실험실에서 직접 해 보기 →", "🧪")
