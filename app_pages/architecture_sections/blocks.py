"""One residual block, traced from the real model: the first block of a stage and one inside it."""

from __future__ import annotations

import streamlit as st

from app_pages.architecture_sections.cached import block_graph, torchview_source
from app_pages.text import architecture as text
from resnet_edu import diagrams
from ui import language, t


def _legend() -> None:
    st.caption(t(**text.LEGEND))


def _shortcut_sentence(graph: diagrams.BlockGraph) -> str:
    if not graph.shortcut_enabled:
        return t(**text.BLOCK_SHORTCUT_OFF)
    if graph.shortcut_kind == "identity":
        return t(**text.IDENTITY_SHORTCUT)
    if graph.shortcut_kind == "zeropad":
        return t(**text.zero_padding_shortcut(diagrams.shape_text(graph.in_shape), diagrams.shape_text(graph.out_shape)))
    params = sum(op.params for op in graph.shortcut)
    return t(**text.projection_shortcut(params))


def blocks_ui(family: str, depth: int, shortcut_type: str, stages_on: dict[int, bool]) -> None:
    st.subheader(t("One block, traced from the real model", "블록 하나 — 실제 모델에서 추적한 그림"))
    num_stages = len(stages_on)
    if st.session_state.get("arch_stage") not in range(1, num_stages + 1):
        st.session_state["arch_stage"] = 2
    stage = st.radio(t("Stage", "단계(stage)"), list(range(1, num_stages + 1)), horizontal=True, key="arch_stage",
                     format_func=lambda s: f"layer{s}" + (f" (conv{s + 1}_x)" if family == "imagenet" else ""))
    enabled = stages_on.get(stage, True)
    first, inner = f"layer{stage}.0", f"layer{stage}.1"
    left, right = st.columns(2)
    for column, block_name, heading in (
        (left, first, t(f"First block of the stage ({first})", f"단계의 첫 블록 ({first})")),
        (right, inner, t(f"A block inside the stage ({inner})", f"단계 안쪽의 블록 ({inner})")),
    ):
        graph = block_graph(family, depth, shortcut_type, block_name, enabled)
        with column:
            st.markdown(f"**{heading}** · `{graph.type_name}`")
            st.graphviz_chart(diagrams.block_dot(graph, language()))
            st.caption(_shortcut_sentence(graph))
    _legend()
    with st.expander(t("Exact autograd graph (torchview)", "정확한 autograd 그래프 (torchview)")):
        st.caption(t(**text.TORCHVIEW_CAPTION))
        if st.checkbox(t("Draw it", "그리기"), key="arch_torchview"):
            try:
                st.graphviz_chart(torchview_source(family, depth, shortcut_type, first, enabled))
            except Exception as error:  # torchview is a nice-to-have: say why, keep the page
                st.warning(t(f"torchview could not draw this block: {error}", f"torchview로 그리지 못했습니다: {error}"))
