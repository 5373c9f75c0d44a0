"""The whole network, stage by stage: its diagram, the paper's table for it (Table 1 for ImageNet nets, the
table of Sec. 4.2 for CIFAR nets), and what it costs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.architecture_sections.cached import network_stack, released_placement_mult_adds, stage_table
from app_pages.text import architecture as text
from resnet_edu import diagrams, plots
from ui import PLOT_CONFIG, language, t

# Table 1's multiply-adds of the bottleneck nets. Built with stride_in_1x1=True (the released models'
# placement) the nets measure the paper's numbers (diagrams.released_placement_mult_adds).
PAPER_BOTTLENECK_MULT_ADDS = {50: "3.8G", 101: "7.6G", 152: "11.3G"}


def _paper_table(family: str) -> tuple[str, str]:
    """The paper's table of this family's nets: Table 1 (ImageNet), the unnumbered table of Sec. 4.2 (CIFAR-10)."""
    return ("Table 1", "표 1") if family == "imagenet" else ("Sec. 4.2's table", "4.2절의 표")


def _table_for_display(frame: pd.DataFrame, family: str) -> pd.DataFrame:
    shown = frame[["paper_name", "layer", "output_size", "blocks", "weight_layers", "parameters", "mult_adds"]].copy()
    shown = shown.replace({"paper_name": {"total": t("total", "합계")}, "layer": {"total": t("total", "합계")}})
    shown.columns = [t(*_paper_table(family)), t("module", "모듈"), t("output size", "출력 크기"), t("blocks", "블록 수"),
                     t("weight layers", "가중치 층"), t("parameters", "파라미터"), t("multiply-adds", "곱셈-덧셈")]
    return shown


def _notes(family: str, depth: int, shortcut_type: str, shortcuts: bool, mult_adds: int) -> list[str]:
    notes = []
    if family == "imagenet" and depth in PAPER_BOTTLENECK_MULT_ADDS:
        paper, stride_in_3x3 = PAPER_BOTTLENECK_MULT_ADDS[depth], f"{mult_adds / 1e9:.2f}G"
        stride_in_1x1 = f"{released_placement_mult_adds(depth, shortcut_type) / 1e9:.2f}G"
        notes.append(t(**text.bottleneck_cost(depth, paper, stride_in_3x3, stride_in_1x1)))
    if shortcut_type != "A":
        notes.append(t(**text.projections_counted(shortcut_type)))
    if not shortcuts:
        notes.append(t(**text.PLAIN_HAS_THESE_LAYERS))
    return notes


def network_ui(family: str, depth: int, shortcut_type: str, stages_on: dict[int, bool], shortcuts: bool) -> None:
    table_en, table_ko = _paper_table(family)
    st.subheader(t(f"The whole network, stage by stage ({table_en})", f"전체 네트워크, 단계별로 ({table_ko})"))
    all_on = all(stages_on.values())
    frame = stage_table(family, depth, shortcut_type, all_on)
    total = frame.iloc[-1]
    size = "224×224" if family == "imagenet" else "32×32"
    metrics = st.columns(4)
    metrics[0].metric(t("Weight layers", "가중치 층"), int(total["weight_layers"]))
    metrics[1].metric(t("Parameters", "파라미터"), diagrams.human(int(total["parameters"])),
                      help=f"{int(total['parameters']):,}")
    metrics[2].metric(t(f"Multiply-adds ({size})", f"곱셈-덧셈 ({size})"), diagrams.human(int(total["mult_adds"])),
                      help=f"{int(total['mult_adds']):,}")
    on = sum(stages_on.values())
    metrics[3].metric(t("Stages with shortcuts", "숏컷이 켜진 단계"), f"{on} / {len(stages_on)}")

    left, right = st.columns([2, 3])
    with left:
        title = (f"ResNet-{depth}" if all_on else f"plain-{depth}" if not on else
                 t(f"ResNet-{depth}, {on} of {len(stages_on)} stages with shortcuts",
                   f"ResNet-{depth}, {len(stages_on)}단계 중 {on}단계만 숏컷"))
        stack = network_stack(family, depth, shortcut_type, tuple(stages_on.values()), title)
        st.graphviz_chart(diagrams.network_dot(stack, language()))
        st.caption(t(**text.NETWORK_LEGEND))
    with right:
        st.dataframe(_table_for_display(frame, family), hide_index=True,
                     column_config={t("parameters", "파라미터"): st.column_config.NumberColumn(format="localized"),
                                    t("multiply-adds", "곱셈-덧셈"): st.column_config.NumberColumn(format="localized")})
        st.plotly_chart(plots.stage_cost_figure(frame, lang=language()),
                        config=PLOT_CONFIG, key="arch_stage_cost")
        st.download_button(t("Download the table (CSV)", "표 내려받기 (CSV)"), frame.to_csv(index=False),
                           file_name=f"{family}-resnet{depth}-{shortcut_type}-stages.csv", mime="text/csv",
                           key="arch_table_csv")
        st.caption(t(**text.MEASURED_COST))
        for note in _notes(family, depth, shortcut_type, shortcuts, int(total["mult_adds"])):
            st.caption("• " + note)
