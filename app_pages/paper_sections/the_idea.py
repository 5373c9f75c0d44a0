"""The paper's idea: the headline numbers, the revolution of depth, why depth matters, the
degradation problem and residual learning (Sections 1-3)."""

from __future__ import annotations

import streamlit as st

from app_pages.paper_sections import ARXIV, ilsvrc_table, lab_link, link, traced_block
from app_pages.text import paper as text
from resnet_edu import diagrams, plots
from ui import PLOT_CONFIG, language, t


def headline_ui() -> None:
    """The title, the paper in a paragraph, and four headline numbers."""
    st.title(t("Deep Residual Learning for Image Recognition", "이미지 인식을 위한 깊은 잔차 학습"))
    st.caption(t(f"Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun — Microsoft Research · CVPR 2016 · [arXiv:1512.03385]({ARXIV})",
                 f"Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun — Microsoft Research · CVPR 2016 · [arXiv:1512.03385]({ARXIV}) "
                 "(\"Deep Residual Learning for Image Recognition\")"))
    st.markdown(t(**text.INTRO))
    headline = st.columns(4)
    headline[0].metric(t("ILSVRC 2015 top-5 error", "ILSVRC 2015 top-5 오류"), "3.57%",
                       delta=t("-3.1 pts vs 2014", "-3.1%p (2014년 대비)"), delta_color="inverse", border=True,
                       help=t("Ensemble of ResNets, ImageNet test set (1st place).", "ResNet 앙상블, ImageNet 테스트 세트 (1위)."))
    headline[1].metric(t("Depth", "깊이"), t("152 layers", "152층"), delta=t("8× VGG-19's 19", "VGG-19(19층)의 8배"),
                       delta_color="off", delta_arrow="off", border=True)
    headline[2].metric(t("ResNet-152 multiply-adds", "ResNet-152 곱셈-덧셈"), "11.3G",
                       delta=t("VGG-19: 19.6G", "VGG-19: 19.6G"), delta_color="off", delta_arrow="off", border=True,
                       help=t("Table 1 and Fig. 3: multiply-adds per 224×224 image. Deeper, yet cheaper: one stride-2 "
                              "7×7 conv and a max pool shrink the image to 56×56 before the first 3×3 conv, and every "
                              "map size has fewer filters than in VGG (Sec. 3.3). The Architecture page measures it.",
                              "표 1과 그림 3: 224×224 이미지 1장당 곱셈-덧셈. 더 깊지만 더 가볍습니다: stride 2인 7×7 conv "
                              "하나와 최대 풀링이 첫 3×3 conv 전에 이미지를 56×56으로 줄이고, 맵 크기마다 필터가 VGG보다 "
                              "적습니다(3.3절). 구조 페이지에서 직접 잽니다."))
    headline[3].metric(t("CIFAR-10, ResNet-110", "CIFAR-10, ResNet-110"), "6.43%",
                       delta=t("1202 layers still train", "1202층도 학습됨"), delta_color="off", delta_arrow="off", border=True,
                       help=t("Test error, Table 6 (best of 5 runs; mean 6.61 ± 0.16).", "테스트 오류, 표 6 (5회 중 최고; 평균 6.61 ± 0.16)."))
    st.caption(t(**text.TOP5_DEFINED))


def start_here_ui() -> None:
    """A teacher's first three steps: the Lab's "Fig. 1 + the fix", then the Degradation page."""
    with st.container(border=True):
        st.markdown(t(**text.START_HERE))
        steps = [t(**step) for step in text.START_HERE_STEPS]
        st.markdown(f"1. {steps[0]}")
        link("lab", "Open the Lab →", "실험실 열기 →", "🧪")
        st.markdown(f"2. {steps[1]}\n3. {steps[2]}")
        link("degradation", "Open Degradation →", "성능 저하 열기 →", "📉")


def revolution_of_depth_ui() -> None:
    """ILSVRC winners year by year: depth went from 8 to 152 layers."""
    st.header(t("The revolution of depth", "깊이의 혁명"))
    ilsvrc = ilsvrc_table()
    chart, words = st.columns([3, 1])
    with chart:
        st.plotly_chart(plots.ilsvrc_figure(ilsvrc, lang=language()), config=PLOT_CONFIG, key="paper_ilsvrc")
        st.caption(t(**text.ILSVRC_CAPTION))
    with words:
        st.markdown(t(**text.ILSVRC_HISTORY))
        st.download_button(t("Chart data (CSV)", "차트 데이터 (CSV)"), ilsvrc.to_csv(index=False), file_name="ilsvrc.csv",
                           mime="text/csv", key="paper_ilsvrc_csv")


def why_depth_matters_ui() -> None:
    """Low / mid / high-level features, enriched by the number of stacked layers."""
    st.header(t("1 · Why depth matters", "1 · 왜 깊이가 중요한가"))
    levels = st.columns(3)
    for column, (title_en, title_ko, body_en, body_ko) in zip(levels, [
        ("Low-level", "저수준", "Early layers respond to edges, colours and simple textures.",
         "앞쪽 층은 모서리, 색, 단순한 질감에 반응합니다."),
        ("Mid-level", "중간 수준", "Middle layers combine them into parts and patterns.",
         "중간 층은 이것들을 조합해 부분과 패턴을 만듭니다."),
        ("High-level", "고수준", "Late layers respond to whole objects and classes.",
         "뒤쪽 층은 물체 전체와 클래스에 반응합니다."),
    ]):
        with column:
            st.markdown(f"**{t(title_en, title_ko)}** · {t(body_en, body_ko)}")
    st.markdown(t(**text.LEVELS_OF_FEATURES))
    link("features", "See the features of each stage →", "단계별 특징 맵 보기 →", "🔍")


def degradation_ui() -> None:
    """Deeper plain nets train worse (Fig. 1), and why that is not overfitting."""
    st.header(t("2 · The degradation problem", "2 · 성능 저하(degradation) 문제"))
    left, right = st.columns([3, 2])
    with left:
        st.markdown(t(**text.DEGRADATION))
        st.markdown(t(**text.SHOULD_NOT_HAPPEN))
    with right:
        st.info(t(**text.NOT_VANISHING),
                icon="⚠️")
    links = st.columns(3)
    with links[0]:
        link("degradation", "Watch it happen: Degradation →", "직접 보기: 성능 저하 →", "📉")
    with links[1]:
        lab_link()
    with links[2]:
        link("gradients", "Check the gradient norms →", "기울기 크기 확인하기 →", "🌊")


def residual_learning_ui() -> None:
    """F(x) := H(x) - x and the shortcut connection (Eq. 1, 2), beside a traced block."""
    st.header(t("3 · Residual learning", "3 · 잔차 학습"))
    left, right = st.columns([3, 2])
    with left:
        st.markdown(t(**text.RESIDUAL_MAPPING))
        st.latex(r"\mathcal{F}(\mathbf{x}) := \mathcal{H}(\mathbf{x}) - \mathbf{x}")
        st.markdown(t("and add x back through a **shortcut connection** that skips them (Eq. 1):",
                      "그리고 층들을 건너뛰는 **숏컷 연결**(shortcut connection)로 x를 다시 더합니다 (식 1):"))
        st.latex(r"\mathbf{y} = \mathcal{F}(\mathbf{x}, \{W_i\}) + \mathbf{x}")
        st.markdown(t(**text.WHY_EASIER))
        st.latex(r"\mathbf{y} = \mathcal{F}(\mathbf{x}, \{W_i\}) + W_s\,\mathbf{x}")
        st.markdown(t(**text.SHORTCUT_OPTIONS))
        st.markdown(t(**text.RESIDUALS_ARE_SMALL))
    with right:
        graph = traced_block("cifar", 20, "A", "layer1.1")
        st.graphviz_chart(diagrams.block_dot(graph, language(), title=t("A basic block (CIFAR ResNet, layer1.1)",
                                                                         "기본 블록 (CIFAR ResNet, layer1.1)")))
        st.caption(t(**text.BLOCK_CAPTION))
    links = st.columns(3)
    with links[0]:
        link("architecture", "Blocks drawn from the real model →", "실제 모델로 그린 블록 보기 →", "🏗️")
    with links[1]:
        lab_link()
    with links[2]:
        link("gradients", "Layer responses (Fig. 7) →", "층 응답 보기 (그림 7) →", "🌊")
