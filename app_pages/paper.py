"""The paper (home): "Deep Residual Learning for Image Recognition" told for students.

The story in the paper's order — the revolution of depth, why depth matters, the
degradation problem, residual learning, the architectures, the recipe, the results, the
bottleneck and later work — each claim linked to the page of this app where students can
see it happen. Facts from shared/PAPER.md; every string in English and Korean.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from resnet_edu import diagrams, plots
from ui import language, t

PLOT_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}
ARXIV = "https://arxiv.org/abs/1512.03385"
ASSETS = Path(__file__).resolve().parents[1] / "assets"


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


# ---------------------------------------------------------------- title and headline numbers

st.title(t("Deep Residual Learning for Image Recognition", "이미지 인식을 위한 깊은 잔차 학습"))
st.caption(t(f"Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun — Microsoft Research · CVPR 2016 · [arXiv:1512.03385]({ARXIV})",
             f"Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun — Microsoft Research · CVPR 2016 · [arXiv:1512.03385]({ARXIV}) "
             "(\"Deep Residual Learning for Image Recognition\")"))
st.markdown(t("In 2015 a 152-layer network won ImageNet — eight times deeper than VGG, the year before. "
              "The trick is one line of code: **add the input of a few layers to their output**. "
              "This app lets you train the paper's networks, switch that line off and on, and watch what happens.",
              "2015년, 152층짜리 네트워크가 ImageNet 대회에서 우승했습니다. 전년도의 VGG보다 8배나 깊었죠. "
              "비결은 코드 한 줄입니다: **몇 개 층의 입력을 그 층들의 출력에 더한다.** "
              "이 앱에서는 논문의 네트워크를 직접 학습시키고, 그 한 줄을 껐다 켜 보면서 무슨 일이 일어나는지 지켜볼 수 있습니다."))

headline = st.columns(4)
headline[0].metric(t("ILSVRC 2015 top-5 error", "ILSVRC 2015 top-5 오류"), "3.57%",
                   delta=t("-3.1 pts vs 2014", "-3.1%p (2014년 대비)"), delta_color="inverse", border=True,
                   help=t("Ensemble of ResNets, ImageNet test set (1st place).", "ResNet 앙상블, ImageNet 테스트 세트 (1위)."))
headline[1].metric(t("Depth", "깊이"), t("152 layers", "152층"), delta=t("8× VGG-19's 19", "VGG-19(19층)의 8배"),
                   delta_color="off", delta_arrow="off", border=True)
headline[2].metric(t("ResNet-152 multiply-adds", "ResNet-152 곱셈-덧셈"), "11.3G",
                   delta=t("VGG-19: 19.6G", "VGG-19: 19.6G"), delta_color="off", delta_arrow="off", border=True,
                   help=t("Table 1 and Fig. 3: multiply-adds per 224×224 image. Deeper, yet cheaper.",
                          "표 1과 그림 3: 224×224 이미지 1장당 곱셈-덧셈. 더 깊지만 더 가볍습니다."))
headline[3].metric(t("CIFAR-10, ResNet-110", "CIFAR-10, ResNet-110"), "6.43%",
                   delta=t("1202 layers still train", "1202층도 학습됨"), delta_color="off", delta_arrow="off", border=True,
                   help=t("Test error, Table 6 (best of 5 runs; mean 6.61 ± 0.16).", "테스트 오류, 표 6 (5회 중 최고; 평균 6.61 ± 0.16)."))

# ---------------------------------------------------------------- the revolution of depth

st.header(t("The revolution of depth", "깊이의 혁명"))
ilsvrc = ilsvrc_table()
chart, words = st.columns([3, 1])
with chart:
    st.plotly_chart(plots.ilsvrc_figure(ilsvrc, lang=language()), config=PLOT_CONFIG, key="paper_ilsvrc")
    st.caption(t("Winners of the ILSVRC (ImageNet) classification task; 2014 shows the winner GoogLeNet and VGG "
                 "(2nd). Sources: Kaiming He, “Deep Residual Networks”, ILSVRC & ICML 2016 tutorial; ILSVRC "
                 "2010–2015 results (image-net.org/challenges/LSVRC); He et al. 2015.",
                 "ILSVRC(ImageNet) 분류 부문 우승 모델입니다. 2014년은 우승한 GoogLeNet과 2위 VGG를 함께 표시했습니다. "
                 "출처: Kaiming He, “Deep Residual Networks”, ILSVRC & ICML 2016 튜토리얼; ILSVRC 2010–2015 결과 "
                 "(image-net.org/challenges/LSVRC); He et al. 2015."))
with words:
    st.markdown(t("- **2010–2011**: hand-made features (SIFT, Fisher vectors) + linear classifiers.\n"
                  "- **2012**: AlexNet, 8 layers — deep learning arrives.\n"
                  "- **2014**: VGG (19) and GoogLeNet (22) — deeper is better.\n"
                  "- **2015**: ResNet, **152 layers**, error halved again.",
                  "- **2010–2011**: 사람이 설계한 특징(SIFT, Fisher vector) + 선형 분류기.\n"
                  "- **2012**: AlexNet, 8층 — 딥러닝의 등장.\n"
                  "- **2014**: VGG(19층)와 GoogLeNet(22층) — 깊을수록 좋다.\n"
                  "- **2015**: ResNet, **152층**, 오류가 다시 절반으로."))
    st.download_button(t("Chart data (CSV)", "차트 데이터 (CSV)"), ilsvrc.to_csv(index=False), file_name="ilsvrc.csv",
                       mime="text/csv", key="paper_ilsvrc_csv")

# ---------------------------------------------------------------- why depth matters

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
st.markdown(t("Deep networks integrate low / mid / high-level features end to end, and the *levels* of features "
              "can be enriched by stacking more layers (Sec. 1). So the leading ImageNet results all used "
              "“very deep” models — which raises the question the paper starts from: **is learning better networks as "
              "easy as stacking more layers?**",
              "깊은 네트워크는 저수준·중간 수준·고수준 특징을 처음부터 끝까지 한 번에 학습하고, 층을 더 쌓을수록 특징의 "
              "*수준*이 풍부해집니다 (1절). 그래서 ImageNet 상위 결과는 모두 “매우 깊은” 모델이었습니다. 그렇다면 논문의 "
              "출발점이 된 질문: **층을 더 쌓기만 하면 더 좋은 네트워크를 얻을 수 있을까?**"))
link("features", "See the features of each stage →", "단계별 특징 맵 보기 →", "🔍")

# ---------------------------------------------------------------- degradation

st.header(t("2 · The degradation problem", "2 · 성능 저하(degradation) 문제"))
left, right = st.columns([3, 2])
with left:
    st.markdown(t("Stack more layers on a plain network and, past a point, accuracy gets **worse** — and not because "
                  "of overfitting: the **training** error rises too. In Fig. 1, a 56-layer plain net has higher training "
                  "*and* test error on CIFAR-10 than a 20-layer one. Deeper still, plain-110's error stays above 60% "
                  "(Fig. 6's caption).",
                  "plain 네트워크에 층을 계속 쌓으면 어느 순간부터 정확도가 오히려 **나빠집니다**. 과적합 때문이 아닙니다: "
                  "**훈련** 오류까지 올라가기 때문입니다. 그림 1에서 56층 plain 네트워크는 CIFAR-10에서 20층보다 훈련 "
                  "오류*와* 테스트 오류가 모두 높습니다. 더 깊은 plain-110은 오류가 60% 아래로 내려가지 않습니다(그림 6 설명)."))
    st.markdown(t("It should not happen: a deeper net could copy the shallower one and set the extra layers to the "
                  "identity, so its training error should be *no higher*. Our solvers simply fail to find that solution.",
                  "이론적으로는 일어나면 안 되는 일입니다. 깊은 네트워크는 얕은 네트워크를 그대로 복사하고 추가된 층을 항등 "
                  "사상으로 두면 되므로, 훈련 오류가 *더 높을 수는 없습니다*. 그런데 최적화 알고리즘이 그 해를 찾지 "
                  "못하는 것입니다."))
with right:
    st.info(t("**Careful — it is not (mainly) vanishing gradients.** The nets use batch normalization, and the "
              "authors checked that backward gradients “exhibit healthy norms”; training 3× longer still showed the "
              "problem. Their conjecture: deep plain nets have *exponentially low convergence rates*. Test it yourself "
              "on the Gradients page.",
              "**주의 — 원인은 (주로) 기울기 소실이 아닙니다.** 이 네트워크들은 배치 정규화(BN)를 쓰며, 저자들은 역전파된 "
              "기울기가 “건강한 크기(healthy norms)”를 유지함을 확인했습니다. 3배 더 오래 학습해도 문제는 그대로였습니다. "
              "저자들의 추측: 깊은 plain 네트워크는 *수렴 속도가 지수적으로 느리다*. 기울기 페이지에서 직접 확인해 보세요."),
            icon="⚠️")
links = st.columns(3)
with links[0]:
    link("degradation", "Watch it happen: Degradation →", "직접 보기: 성능 저하 →", "📉")
with links[1]:
    lab_link()
with links[2]:
    link("gradients", "Check the gradient norms →", "기울기 크기 확인하기 →", "🌊")

# ---------------------------------------------------------------- residual learning

st.header(t("3 · Residual learning", "3 · 잔차 학습"))
left, right = st.columns([3, 2])
with left:
    st.markdown(t("Let H(x) be the mapping a few stacked layers should learn. Instead, let them learn the **residual**",
                  "몇 개의 층이 학습해야 할 함수를 H(x)라고 합시다. 그 대신 이 층들이 **잔차**(residual)를 학습하게 합니다"))
    st.latex(r"\mathcal{F}(\mathbf{x}) := \mathcal{H}(\mathbf{x}) - \mathbf{x}")
    st.markdown(t("and add x back through a **shortcut connection** that skips them (Eq. 1):",
                  "그리고 층들을 건너뛰는 **숏컷 연결**(shortcut connection)로 x를 다시 더합니다 (식 1):"))
    st.latex(r"\mathbf{y} = \mathcal{F}(\mathbf{x}, \{W_i\}) + \mathbf{x}")
    st.markdown(t("If the identity is (nearly) optimal, pushing F towards zero is easier than learning an identity "
                  "with a stack of nonlinear layers. The identity shortcut adds **no parameters and no computation** "
                  "(just an addition), so a plain net and its residual twin can be compared fairly. When the shape "
                  "changes, a projection W_s matches it (Eq. 2):",
                  "항등 사상이 (거의) 최적이라면, 비선형 층을 쌓아 항등 사상을 배우는 것보다 F를 0 쪽으로 미는 편이 훨씬 "
                  "쉽습니다. 항등 숏컷은 **파라미터도 연산량도 늘리지 않으므로** (덧셈 하나뿐), plain 네트워크와 잔차 쌍둥이를 "
                  "공정하게 비교할 수 있습니다. 모양이 바뀔 때는 사영 W_s로 맞춥니다 (식 2):"))
    st.latex(r"\mathbf{y} = \mathcal{F}(\mathbf{x}, \{W_i\}) + W_s\,\mathbf{x}")
    st.markdown(t("Evidence that the residuals are small: the layer responses of ResNets are generally smaller than "
                  "those of plain nets, and smaller still the deeper the ResNet (Fig. 7).",
                  "잔차가 실제로 작다는 증거: ResNet 층의 응답(response)은 대체로 plain 네트워크보다 작고, ResNet이 깊을수록 "
                  "더 작아집니다 (그림 7)."))
with right:
    graph = traced_block("cifar", 20, "A", "layer1.1")
    st.graphviz_chart(diagrams.block_dot(graph, language(), title=t("A basic block (CIFAR ResNet, layer1.1)",
                                                                     "기본 블록 (CIFAR ResNet, layer1.1)")))
    st.caption(t("Traced from this app's model: two 3×3 conv layers, BN after each conv, ReLU after the addition.",
                 "이 앱의 모델에서 추적한 그림: 3×3 conv 두 개, conv마다 뒤에 BN, 덧셈 뒤에 ReLU."))
links = st.columns(3)
with links[0]:
    link("architecture", "Blocks drawn from the real model →", "실제 모델로 그린 블록 보기 →", "🏗️")
with links[1]:
    lab_link()
with links[2]:
    link("gradients", "Layer responses (Fig. 7) →", "층 응답 보기 (그림 7) →", "🌊")

# ---------------------------------------------------------------- architectures

st.header(t("4 · The networks", "4 · 네트워크 구조"))
st.markdown(t("VGG-style plain nets (Sec. 3.3): mostly **3×3 convolutions**, and two simple design rules — layers with "
              "the same output map size have the same number of filters, and when the map size is **halved** (a stride-2 "
              "conv), the number of filters is **doubled** to keep the time per layer. The net ends with **global average pooling**, one "
              "fully connected layer and **softmax**. BN follows every conv, before the ReLU; no dropout.",
              "VGG 방식의 plain 네트워크(3.3절): 주로 **3×3 합성곱**을 쓰고, 단순한 설계 규칙 두 가지를 따릅니다. 출력 "
              "특징 맵 크기가 같은 층은 필터 수도 같게 하고, 특징 맵 크기를 **절반**으로 줄일 때(stride 2 conv)는 층당 연산 "
              "시간을 유지하도록 필터 수를 **두 배**로 늘립니다. 마지막은 **전역 평균 풀링**, 완전 연결층 하나, 그리고 **softmax**입니다. 모든 conv "
              "뒤, ReLU 앞에 BN을 두고 dropout은 쓰지 않습니다."))
cifar, imagenet = st.columns(2)
with cifar:
    st.subheader(t("CIFAR-10 (Sec. 4.2)", "CIFAR-10 (4.2절)"))
    st.dataframe(pd.DataFrame({
        t("output map", "출력 맵 크기"): ["32×32", "32×32", "16×16", "8×8", "1×1"],
        t("layers", "층"): [t("3×3 conv", "3×3 conv"), "2n × 3×3", "2n × 3×3", "2n × 3×3",
                           t("global avg pool, 10-way fc, softmax", "전역 평균 풀링, 10-way fc, softmax")],
        t("filters", "필터 수"): ["16", "16", "32", "64", "—"],
    }), hide_index=True)
    st.caption(t("Depth = 6n + 2: n = 3, 5, 7, 9, 18 gives 20, 32, 44, 56, 110 layers. Shortcuts: identity, and "
                 "option A (zero-padding) where the shape changes — so plain and residual nets have exactly the same "
                 "parameters.",
                 "깊이 = 6n + 2: n = 3, 5, 7, 9, 18이면 20, 32, 44, 56, 110층. 숏컷은 항등 사상이고, 모양이 바뀌는 곳에서는 "
                 "옵션 A(0 채우기)를 씁니다 — 그래서 plain과 잔차 네트워크의 파라미터 수가 정확히 같습니다."))
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
    st.caption(t("7×7 conv and max pooling first, then stages conv2_x … conv5_x on 56 / 28 / 14 / 7 px maps. "
                 "VGG-19 needs 19.6G multiply-adds — ResNet-34 only 18% of that. Parameters: torchvision, 1000 classes.",
                 "먼저 7×7 conv와 최대 풀링, 그다음 56 / 28 / 14 / 7 px 맵에서 conv2_x … conv5_x 단계. VGG-19는 곱셈-덧셈 "
                 "19.6G가 필요하지만 ResNet-34는 그 18%뿐입니다. 파라미터 수: torchvision, 클래스 1000개 기준."))
link("architecture", "Explore every depth, stage by stage →", "모든 깊이를 단계별로 살펴보기 →", "🏗️")

# ---------------------------------------------------------------- recipe

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
    (t("data", "데이터"), t("train on all 50k training images, test on the 10k test images (the original image); "
                          "a 45k / 5k split only chose the schedule",
                          "훈련 이미지 50k장 전부로 학습, 테스트 이미지 10k장으로 테스트(원본 이미지); 45k / 5k 분할은 "
                          "학습 일정을 정하는 데만 썼음"),
     t("1.28M images, 1000 classes; 10-crop testing", "128만 장, 1000 클래스; 10-crop 테스트")),
], columns=[t("setting", "항목"), "CIFAR-10", "ImageNet"])
st.dataframe(recipe, hide_index=True)
st.caption(t("The Lab's “paper” recipe follows the CIFAR column, with the schedule scaled to the run's length; where it "
             "differs (per-channel normalisation instead of the per-pixel mean; how the 0.01 warm-up ends, and for which "
             "nets) the Lab lists it under “What each recipe changes from the paper”. Its “classroom” recipe adds one "
             "thing for a few-minute run: a linear learning-rate warm-up over the first 100 iterations, for every net.",
             "실험실의 “논문” 레시피는 CIFAR 열을 따르되 학습 일정만 실행 길이에 맞춥니다. 논문과 다른 점(픽셀별 평균 대신 "
             "채널별 정규화, 0.01 워밍업이 끝나는 조건과 적용 대상)은 실험실의 “각 레시피가 논문(4.2절)과 다른 점”에 적어 두었습니다. "
             "“수업용” 레시피는 몇 분 안에 끝나는 실행을 위해 한 가지를 더합니다: 모든 네트워크에 처음 100번의 반복 "
             "동안 학습률을 선형으로 올리는 워밍업."))
lab_link()

# ---------------------------------------------------------------- results

st.header(t("6 · Results", "6 · 결과"))
numbers = st.columns(4)
numbers[0].metric(t("plain-34 top-1 (ImageNet)", "plain-34 top-1 (ImageNet)"), "28.54%",
                  delta=t("+0.60 vs plain-18 (worse)", "+0.60 (plain-18 대비 악화)"), delta_color="inverse")
numbers[1].metric(t("ResNet-34 top-1 (ImageNet)", "ResNet-34 top-1 (ImageNet)"), "25.03%",
                  delta=t("-2.85 vs ResNet-18 (better)", "-2.85 (ResNet-18 대비 개선)"), delta_color="inverse")
numbers[2].metric(t("ResNet-152 top-5 (single model)", "ResNet-152 top-5 (단일 모델)"), "4.49%",
                  help=t("Single model, ImageNet validation, Table 4 (multi-scale, fully-convolutional testing). "
                         "With 10-crop testing it is 5.71% (Table 3).",
                         "단일 모델, ImageNet 검증 세트, 표 4 (여러 크기, 완전 합성곱 방식 테스트). 10-crop 테스트로는 "
                         "5.71%입니다 (표 3)."))
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
    st.caption(t("ResNet-1202 trains to < 0.1% training error but tests worse (7.93%): overfitting on a small data set. "
                 "Re-run: github.com/akamaster/pytorch_resnet_cifar10.",
                 "ResNet-1202는 훈련 오류가 0.1% 미만까지 내려가지만 테스트 오류는 더 나쁩니다(7.93%): 작은 데이터셋에서의 "
                 "과적합입니다. 재현: github.com/akamaster/pytorch_resnet_cifar10."))
with imagenet:
    st.markdown(t("**ImageNet top-1 error (%), 10-crop, Tables 2 and 3**", "**ImageNet top-1 오류 (%), 10-crop, 표 2·3**"))
    st.dataframe(pd.DataFrame([
        ("18", "27.94", "27.88", ""), ("34", "28.54", "25.03 (A) · 24.52 (B) · 24.19 (C)", ""),
        ("50", "", "22.85 (B)", "6.71"), ("101", "", "21.75 (B)", "6.05"), ("152", "", "21.43 (B)", "5.71"),
    ], columns=[t("layers", "층 수"), "plain", "ResNet", t("ResNet top-5", "ResNet top-5")]), hide_index=True)
    st.caption(t("Plain nets degrade from 18 to 34 layers; ResNets improve. Option B/C projections help a little — "
                 "they are not essential to fixing degradation.",
                 "plain 네트워크는 18층에서 34층으로 가며 나빠지고, ResNet은 좋아집니다. 옵션 B/C의 사영은 조금 도움이 될 뿐, "
                 "성능 저하를 해결하는 핵심은 아닙니다."))
links = st.columns(2)
with links[0]:
    link("degradation", "Plain vs residual, live (Fig. 6) →", "plain vs 잔차, 실시간으로 (그림 6) →", "📉")
with links[1]:
    lab_link()

# ---------------------------------------------------------------- bottleneck

st.header(t("7 · The bottleneck block", "7 · 병목(bottleneck) 블록"))
words, basic, bottleneck = st.columns([4, 3, 3])
with words:
    st.markdown(t("For 50, 101 and 152 layers each block is **1×1 → 3×3 → 1×1**: the first 1×1 conv reduces the "
                  "channels (256 → 64), the 3×3 conv works on the thin tensor, and the last 1×1 restores them (×4). "
                  "A bottleneck block costs about as much as a basic block (Fig. 5), so depth grows cheaply: "
                  "ResNet-152 (11.3G multiply-adds) is still cheaper than VGG-16/19 (15.3G / 19.6G).",
                  "50, 101, 152층에서는 블록마다 **1×1 → 3×3 → 1×1** 구조를 씁니다. 첫 1×1 conv가 채널을 줄이고(256 → 64), "
                  "3×3 conv는 얇아진 텐서에서 계산하며, 마지막 1×1이 채널을 다시 늘립니다(×4). 병목 블록의 연산량은 기본 "
                  "블록과 비슷해서(그림 5) 깊이를 싸게 늘릴 수 있습니다: ResNet-152(곱셈-덧셈 11.3G)도 VGG-16/19"
                  "(15.3G / 19.6G)보다 가볍습니다."))
    st.markdown(t("Identity shortcuts matter most here: they connect the two *wide* ends, so replacing them with "
                  "projections would double the block's time and size.",
                  "여기서는 항등 숏컷이 특히 중요합니다. 숏컷이 *넓은* 양 끝을 잇기 때문에, 사영으로 바꾸면 블록의 연산 시간과 "
                  "크기가 두 배가 됩니다."))
    link("architecture", "Basic vs bottleneck, traced →", "기본 블록 vs 병목 블록 비교 →", "🏗️")
with basic:
    graph = traced_block("imagenet", 34, "B", "layer1.1")
    st.graphviz_chart(diagrams.block_dot(graph, language(), title=t("Basic block (ResNet-34)", "기본 블록 (ResNet-34)")))
with bottleneck:
    graph = traced_block("imagenet", 50, "B", "layer1.1")
    st.graphviz_chart(diagrams.block_dot(graph, language(), title=t("Bottleneck (ResNet-50)", "병목 블록 (ResNet-50)")))

# ---------------------------------------------------------------- later work

st.header(t("8 · What came later", "8 · 그 후의 연구"))
later = st.columns(3)
with later[0]:
    st.markdown(t("**Ensembles of shallow paths** — Veit, Wilber, Belongie (2016). Delete one block from a trained "
                  "ResNet and the test error barely moves; do it to a plain net and it collapses.",
                  "**얕은 경로들의 앙상블** — Veit, Wilber, Belongie (2016). 학습된 ResNet에서 블록 하나를 지워도 테스트 "
                  "오류는 거의 그대로지만, plain 네트워크에서 지우면 무너집니다."))
    link("lesion", "Run the lesion study →", "블록 제거 실험 해 보기 →", "✂️")
with later[1]:
    st.markdown(t("**Loss landscapes** — Li, Xu, Taylor, Studer, Goldstein (2018). Without skip connections, "
                  "ResNet-56's loss surface is chaotic; with them it is smooth and nearly convex.",
                  "**손실 지형(loss landscape)** — Li, Xu, Taylor, Studer, Goldstein (2018). 스킵 연결이 없는 ResNet-56의 "
                  "손실 지형은 울퉁불퉁하지만, 있으면 매끄럽고 거의 볼록한 모양이 됩니다."))
    link("landscape", "See the loss landscapes of your own nets →", "내 네트워크의 손실 지형 보기 →", "🏔️")
with later[2]:
    st.markdown(t("**Identity mappings** — He, Zhang, Ren, Sun (2016). Moving BN and ReLU before the convs "
                  "(pre-activation) keeps the shortcut path a pure identity and trains 1001-layer nets.",
                  "**항등 사상(identity mappings)** — He, Zhang, Ren, Sun (2016). BN과 ReLU를 conv 앞으로 옮기면(pre-activation) "
                  "숏컷 경로가 순수한 항등 사상으로 유지되어 1001층 네트워크도 학습됩니다."))
    link("architecture", "Where the ReLU sits in a block →", "블록 안 ReLU의 위치 보기 →", "🏗️")

st.divider()
st.caption(t("Cite: K. He, X. Zhang, S. Ren, J. Sun. Deep Residual Learning for Image Recognition. CVPR 2016, pp. 770–778. "
             "Numbers on this page are the paper's (tables and figures named beside them).",
             "인용: K. He, X. Zhang, S. Ren, J. Sun. Deep Residual Learning for Image Recognition. CVPR 2016, pp. 770–778. "
             "이 페이지의 수치는 논문의 것이며, 해당 표와 그림 번호를 함께 적었습니다."))
