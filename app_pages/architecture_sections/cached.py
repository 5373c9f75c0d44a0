"""The nets the Architecture page draws, built on the meta device (shapes and costs, no memory) and
cached per server: every tab that asks for ResNet-56 gets the same diagrams."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from resnet_edu import diagrams
from resnet_edu.assets import paper_table
from resnet_edu.models import set_shortcuts


@st.cache_data(show_spinner=False, max_entries=64)
def stage_table(family: str, depth: int, shortcut_type: str, shortcuts: bool) -> pd.DataFrame:
    return diagrams.stage_table(family, depth, shortcut_type, shortcuts)


@st.cache_data(show_spinner=False, max_entries=64)
def network_stack(family: str, depth: int, shortcut_type: str, stages_on: tuple[bool, ...], title: str) -> diagrams.Stack:
    model = diagrams.build_for_diagram(family, depth, shortcut_type)
    off = [index + 1 for index, on in enumerate(stages_on) if not on]
    if off:
        set_shortcuts(model, False, stages=off)
    return diagrams.network_stack(model, diagrams.input_size_of(family), title=title)


@st.cache_data(show_spinner=False, max_entries=128)
def block_graph(family: str, depth: int, shortcut_type: str, block_name: str, enabled: bool) -> diagrams.BlockGraph:
    model = diagrams.build_for_diagram(family, depth, shortcut_type, shortcuts=enabled)
    return diagrams.trace_model_block(model, block_name, diagrams.input_size_of(family))


@st.cache_data(show_spinner=False)
def vgg19_cost() -> tuple[int, diagrams.Stack]:
    """VGG-19 measured with torchvision.models.vgg19(weights=None) and FlopCounterMode."""
    stack = diagrams.vgg19_stack()
    return diagrams.vgg19_mult_adds(), stack


@st.cache_data(show_spinner=False, max_entries=16)
def torchview_source(family: str, depth: int, shortcut_type: str, block_name: str, enabled: bool) -> str:
    model = diagrams.build_for_diagram(family, depth, shortcut_type, shortcuts=enabled)
    shape = diagrams.block_input_shapes(model, diagrams.input_size_of(family))[block_name]
    return diagrams.torchview_dot(dict(model.named_modules())[block_name], shape)


@st.cache_data(show_spinner=False, max_entries=8)
def released_placement_mult_adds(depth: int, shortcut_type: str) -> int:
    return diagrams.released_placement_mult_adds(depth, shortcut_type)


@st.cache_data(show_spinner=False)
def paper_costs() -> pd.DataFrame:
    return paper_table("paper_costs.csv")
