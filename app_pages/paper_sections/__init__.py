"""The Paper page's sections, in the paper's order; app_pages/paper.py draws them. Here: the
tables read from assets/, the traced blocks, and the links to the page that shows each claim."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from resnet_edu import diagrams
from ui import t

ARXIV = "https://arxiv.org/abs/1512.03385"
ASSETS = Path(__file__).resolve().parents[2] / "assets"


@st.cache_data(show_spinner=False)
def ilsvrc_table() -> pd.DataFrame:
    return pd.read_csv(ASSETS / "ilsvrc.csv")


@st.cache_data(show_spinner=False)
def table6() -> pd.DataFrame:
    return pd.read_csv(ASSETS / "table6.csv")


@st.cache_data(show_spinner=False, max_entries=8)
def traced_block(family: str, depth: int, shortcut_type: str, block_name: str) -> diagrams.BlockGraph:
    model = diagrams.build_for_diagram(family, depth, shortcut_type)
    return diagrams.trace_model_block(model, block_name, diagrams.input_size_of(family))


def link(page: str, en: str, ko: str, icon: str) -> None:
    st.page_link(f"app_pages/{page}.py", label=t(en, ko), icon=icon)


def lab_link() -> None:
    link("lab", "Try it in the Lab →", "실험실에서 직접 해 보기 →", "🧪")
