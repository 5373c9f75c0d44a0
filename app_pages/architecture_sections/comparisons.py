"""Two comparisons: the plain net beside its residual twin, and VGG-19's cost beside the 34-layer nets (Fig. 3)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.architecture_sections.cached import network_stack, paper_costs, stage_table, vgg19_cost
from app_pages.text import architecture as text
from resnet_edu import diagrams, plots
from ui import PLOT_CONFIG, language, t


def plain_vs_residual_ui(family: str, depth: int, shortcut_type: str) -> None:
    st.subheader(t("Plain vs residual, side by side", "plain vs 잔차, 나란히 보기"))
    st.caption(t(**text.SAME_LAYERS))
    plain_frame = stage_table(family, depth, shortcut_type, False)
    residual_frame = stage_table(family, depth, shortcut_type, True)
    num_stages = len(plain_frame) - 3
    columns = st.columns(2)
    for column, frame, on, name in ((columns[0], plain_frame, False, f"plain-{depth}"),
                                    (columns[1], residual_frame, True, f"ResNet-{depth}")):
        with column:
            total = frame.iloc[-1]
            a, b = st.columns(2)
            a.metric(t(f"{name}: parameters", f"{name}: 파라미터"), diagrams.human(int(total["parameters"])),
                     help=f"{int(total['parameters']):,}")
            b.metric(t(f"{name}: multiply-adds", f"{name}: 곱셈-덧셈"), diagrams.human(int(total["mult_adds"])))
            stack = network_stack(family, depth, shortcut_type, (on,) * num_stages, name)
            st.graphviz_chart(diagrams.network_dot(stack, language(), show_cost=False))
    st.caption(t(**text.NETWORK_LEGEND))
    extra = int(residual_frame.iloc[-1]["parameters"] - plain_frame.iloc[-1]["parameters"])
    if extra == 0:
        st.success(t(**text.IDENTICAL_PARAMETERS))
    else:
        st.info(t(f"Option {shortcut_type} projections add {extra:,} parameters to the residual net.",
                  f"옵션 {shortcut_type}의 사영 숏컷이 잔차 네트워크에 파라미터 {extra:,}개를 더합니다."))


def vgg_ui(family: str, depth: int, shortcut_type: str) -> None:
    st.subheader(t("How expensive? VGG-19 vs the 34-layer nets (Fig. 3)", "얼마나 비쌀까? VGG-19 vs 34층 네트워크 (그림 3)"))
    vgg_mult_adds, vgg_stack = vgg19_cost()
    plain34 = stage_table("imagenet", 34, "A", False).iloc[-1]
    res34 = stage_table("imagenet", 34, "A", True).iloc[-1]
    paper = paper_costs().set_index("model")["mult_adds_g"]
    rows = [("VGG-19", vgg_mult_adds, int(vgg_stack.params), paper["VGG-19"]),
            (t("34-layer plain", "34층 plain"), int(plain34["mult_adds"]), int(plain34["parameters"]), paper["34-layer plain"]),
            (t("34-layer residual", "34층 잔차"), int(res34["mult_adds"]), int(res34["parameters"]), paper["34-layer residual"])]
    if family == "imagenet" and depth != 34:
        chosen = stage_table(family, depth, shortcut_type, True).iloc[-1]
        rows.append((f"ResNet-{depth}", int(chosen["mult_adds"]), int(chosen["parameters"]),
                     paper.get(f"ResNet-{depth}", float("nan"))))
    table = pd.DataFrame(rows, columns=["model", "mult_adds", "parameters", "paper_g"])
    metrics = st.columns(3)
    metrics[0].metric(t("VGG-19 multiply-adds", "VGG-19 곱셈-덧셈"), diagrams.human(vgg_mult_adds, 1),
                      help=f"{vgg_mult_adds:,}")
    metrics[1].metric(t("34-layer nets", "34층 네트워크"), diagrams.human(int(res34["mult_adds"]), 1),
                      help=f"{int(res34['mult_adds']):,}")
    metrics[2].metric(t("34-layer / VGG-19", "34층 / VGG-19"), f"{res34['mult_adds'] / vgg_mult_adds:.1%}",
                      help=t("The paper: “only 18% of VGG-19”.", "논문: “VGG-19의 18%에 불과”."))
    st.plotly_chart(plots.cost_comparison_figure(table, lang=language()), config=PLOT_CONFIG,
                    key="arch_vgg_cost")
    res34_stack = network_stack("imagenet", 34, "A", (True,) * 4, t("34-layer residual", "34층 잔차"))
    fc_adds, fc_params = diagrams.head_share(vgg_stack)
    st.caption(t(**text.deeper_yet_cheaper(
        dict(total=vgg_mult_adds, to_56=diagrams.cost_until_map(vgg_stack, 56), params=int(vgg_stack.params),
             filters=diagrams.filters_by_map_size(vgg_stack), fc=fc_adds, fc_params=fc_params),
        dict(total=int(res34["mult_adds"]), to_56=diagrams.cost_until_map(res34_stack, 56),
             filters=diagrams.filters_by_map_size(res34_stack)))))
    st.download_button(t("Download the costs (CSV)", "연산량 내려받기 (CSV)"), table.to_csv(index=False),
                       file_name="fig3-costs.csv", mime="text/csv", key="arch_vgg_csv")
    with st.expander(t("Fig. 3 drawn from the three real models", "실제 모델 세 개로 다시 그린 그림 3")):
        columns = st.columns(3)
        stacks = (vgg_stack, network_stack("imagenet", 34, "A", (False,) * 4, t("34-layer plain", "34층 plain")),
                  network_stack("imagenet", 34, "A", (True,) * 4, t("34-layer residual", "34층 잔차")))
        for column, stack in zip(columns, stacks):
            with column:
                st.graphviz_chart(diagrams.network_dot(stack, language()))
        st.caption(t(**text.NETWORK_LEGEND))
