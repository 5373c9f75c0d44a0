"""The paper's nets and what they achieved: the architectures, the training recipe, the results,
the bottleneck block and the work that came later (Sections 3.3-4 and after)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.paper_sections import lab_link, link, table6, traced_block
from app_pages.text import paper as text
from resnet_edu import diagrams
from ui import language, t


def networks_ui() -> None:
    """The CIFAR-10 and ImageNet nets (Sec. 3.3, 4.2, Table 1)."""
    st.header(t("4 · The networks", "4 · 네트워크 구조"))
    st.markdown(t(**text.DESIGN_RULES))
    cifar, imagenet = st.columns(2)
    with cifar:
        st.subheader(t("CIFAR-10 (Sec. 4.2)", "CIFAR-10 (4.2절)"))
        st.dataframe(pd.DataFrame({
            t("output map", "출력 맵 크기"): ["32×32", "32×32", "16×16", "8×8", "1×1"],
            t("layers", "층"): [t("3×3 conv", "3×3 conv"), "2n × 3×3", "2n × 3×3", "2n × 3×3",
                               t("global avg pool, 10-way fc, softmax", "전역 평균 풀링, 10-way fc, softmax")],
            t("filters", "필터 수"): ["16", "16", "32", "64", "—"],
        }), hide_index=True)
        st.caption(t(**text.CIFAR_NETS))
    with imagenet:
        st.subheader(t("ImageNet (Table 1)", "ImageNet (표 1)"))
        st.dataframe(pd.DataFrame({
            t("layers", "층 수"): [18, 34, 50, 101, 152],
            t("block", "블록"): [t("basic", "기본"), t("basic", "기본"), t("bottleneck", "병목"), t("bottleneck", "병목"),
                                t("bottleneck", "병목")],
            t("blocks per stage", "단계별 블록 수"): ["2, 2, 2, 2", "3, 4, 6, 3", "3, 4, 6, 3", "3, 4, 23, 3", "3, 8, 36, 3"],
            t("multiply-adds", "곱셈-덧셈"): ["1.8G", "3.6G", "3.8G", "7.6G", "11.3G"],
            t("params", "파라미터"): ["11.7M", "21.8M", "25.6M", "44.5M", "60.2M"],
        }), hide_index=True)
        st.caption(t(**text.IMAGENET_NETS))
    link("architecture", "Explore every depth, stage by stage →", "모든 깊이를 단계별로 살펴보기 →", "🏗️")


def recipe_ui() -> None:
    """The training recipe of both data sets (Sec. 3.4, 4.2)."""
    st.header(t("5 · The training recipe (Sec. 4.2, 3.4)", "5 · 학습 방법 (4.2절, 3.4절)"))
    recipe = pd.DataFrame([
        (t("optimizer", "옵티마이저"), t("SGD, momentum 0.9", "SGD, 모멘텀 0.9"), t("SGD, momentum 0.9", "SGD, 모멘텀 0.9")),
        (t("weight decay", "가중치 감쇠"), "0.0001", "0.0001"),
        (t("batch size", "배치 크기"), "128", "256"),
        (t("learning rate", "학습률"), t("0.1, ÷10 at 32k and 48k iterations, stop at 64k (64k × 128 / 50k ≈ 164 epochs)",
                                       "0.1, 32k·48k 반복에서 ÷10, 64k에서 종료 (64k × 128 / 50k ≈ 164 에폭)"),
         t("0.1, ÷10 when the error plateaus, up to 60×10⁴ iterations", "0.1, 오류가 정체되면 ÷10, 최대 60×10⁴ 반복")),
        (t("warm-up", "워밍업"), t("ResNet-110: 0.01 until training error < 80% (≈ 400 iterations), then 0.1",
                                  "ResNet-110: 훈련 오류가 80% 아래가 될 때까지(≈ 400 반복) 0.01, 그 뒤 0.1"), "—"),
        (t("initialization", "초기화"), t("He et al. (2015)", "He 초기화 (2015)"), t("He et al. (2015)", "He 초기화 (2015)")),
        (t("normalization", "정규화"), t("BN after each conv, before ReLU; no dropout", "conv마다 뒤에 BN, ReLU 앞; dropout 없음"),
         t("BN after each conv, before ReLU; no dropout", "conv마다 뒤에 BN, ReLU 앞; dropout 없음")),
        (t("inputs", "입력"), t("per-pixel mean subtracted", "픽셀별 평균을 뺌"),
         t("per-pixel mean subtracted", "픽셀별 평균을 뺌")),
        (t("augmentation", "데이터 증강"), t("pad 4, random 32×32 crop, horizontal flip", "4픽셀 패딩, 32×32 무작위 자르기, 좌우 뒤집기"),
         t("scale (shorter side 256–480), 224×224 crop, flip, colour", "크기 조절(짧은 변 256–480), 224×224 자르기, 뒤집기, 색 변형")),
        (t("data", "데이터"), t(**text.CIFAR_AUGMENTATION),
         t("1.28M images, 1000 classes; 10-crop testing", "128만 장, 1000 클래스; 10-crop 테스트")),
    ], columns=[t("setting", "항목"), "CIFAR-10", "ImageNet"])
    st.dataframe(recipe, hide_index=True)
    st.caption(t(**text.TEN_CROP_DEFINED))
    st.caption(t(**text.LAB_RECIPE))
    lab_link()


def results_ui() -> None:
    """The results: Tables 2, 3, 4 and 6."""
    st.header(t("6 · Results", "6 · 결과"))
    numbers = st.columns(4)
    numbers[0].metric(t("plain-34 top-1 (ImageNet)", "plain-34 top-1 (ImageNet)"), "28.54%",
                      delta=t("+0.60 vs plain-18 (worse)", "+0.60 (plain-18 대비 악화)"), delta_color="inverse")
    numbers[1].metric(t("ResNet-34 top-1 (ImageNet)", "ResNet-34 top-1 (ImageNet)"), "25.03%",
                      delta=t("-2.85 vs ResNet-18 (better)", "-2.85 (ResNet-18 대비 개선)"), delta_color="inverse")
    numbers[2].metric(t("ResNet-152 top-5 (single model)", "ResNet-152 top-5 (단일 모델)"), "4.49%",
                      help=t(**text.IMAGENET_RESULTS))
    numbers[3].metric(t("ResNet-110 (CIFAR-10)", "ResNet-110 (CIFAR-10)"), "6.43%",
                      help=t("Test error, best of 5 (mean 6.61 ± 0.16), Table 6.", "테스트 오류, 5회 중 최고 (평균 6.61 ± 0.16), 표 6."))
    cifar, imagenet = st.columns(2)
    with cifar:
        st.markdown(t("**CIFAR-10 test error (%), Table 6** — deeper is better, up to 110 layers",
                      "**CIFAR-10 테스트 오류 (%), 표 6** — 110층까지는 깊을수록 좋아집니다"))
        results = table6()
        shown = pd.DataFrame({
            t("depth", "깊이"): results["depth"],
            t("params (M)", "파라미터 (M)"): results["params_millions"],
            t("paper", "논문"): results["test_error_paper_pct"],
            t("PyTorch re-run", "PyTorch 재현"): results["test_error_akamaster_pct"],
        })
        st.dataframe(shown, hide_index=True, column_config={
            name: st.column_config.NumberColumn(format="%.2f") for name in (t("paper", "논문"), t("PyTorch re-run", "PyTorch 재현"))})
        st.caption(t(**text.RESNET_1202))
    with imagenet:
        st.markdown(t("**ImageNet top-1 error (%), 10-crop, Tables 2 and 3**", "**ImageNet top-1 오류 (%), 10-crop, 표 2·3**"))
        st.dataframe(pd.DataFrame([
            ("18", "27.94", "27.88", ""), ("34", "28.54", "25.03 (A) · 24.52 (B) · 24.19 (C)", ""),
            ("50", "", "22.85 (B)", "6.71"), ("101", "", "21.75 (B)", "6.05"), ("152", "", "21.43 (B)", "5.71"),
        ], columns=[t("layers", "층 수"), "plain", "ResNet", t("ResNet top-5", "ResNet top-5")]), hide_index=True)
        st.caption(t(**text.PLAIN_DEGRADE_RESNETS_IMPROVE))
    links = st.columns(2)
    with links[0]:
        link("degradation", "Plain vs residual, live (Fig. 6) →", "plain vs 잔차, 실시간으로 (그림 6) →", "📉")
    with links[1]:
        lab_link()


def bottleneck_ui() -> None:
    """The bottleneck block of ResNet-50/101/152 (Fig. 5)."""
    st.header(t("7 · The bottleneck block", "7 · 병목(bottleneck) 블록"))
    words, basic, bottleneck = st.columns([4, 3, 3])
    with words:
        st.markdown(t(**text.BOTTLENECK))
        st.markdown(t(**text.IDENTITY_MATTERS))
        link("architecture", "Basic vs bottleneck, traced →", "기본 블록 vs 병목 블록 비교 →", "🏗️")
    with basic:
        graph = traced_block("imagenet", 34, "B", "layer1.1")
        st.graphviz_chart(diagrams.block_dot(graph, language(), title=t("Basic block (ResNet-34)", "기본 블록 (ResNet-34)")))
    with bottleneck:
        graph = traced_block("imagenet", 50, "B", "layer1.1")
        st.graphviz_chart(diagrams.block_dot(graph, language(), title=t("Bottleneck (ResNet-50)", "병목 블록 (ResNet-50)")))
    st.caption(t(**text.BOTTLENECK_CAPTION))


def later_work_ui() -> None:
    """Three later papers, each with the page that shows it."""
    st.header(t("8 · What came later", "8 · 그 후의 연구"))
    later = st.columns(3)
    with later[0]:
        st.markdown(t(**text.ENSEMBLES))
        link("lesion", "Run the lesion study →", "블록 제거 실험 해 보기 →", "✂️")
    with later[1]:
        st.markdown(t(**text.LOSS_LANDSCAPES))
        link("landscape", "See the loss landscapes of your own nets →", "내 네트워크의 손실 지형 보기 →", "🏔️")
    with later[2]:
        st.markdown(t(**text.IDENTITY_MAPPINGS))
        link("architecture", "Where the ReLU sits in a block →", "블록 안 ReLU의 위치 보기 →", "🏗️")
