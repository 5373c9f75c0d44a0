"""Architecture: block and network diagrams traced from the real model (resnet_edu.diagrams).

The depth picker, the shortcut option and the shortcut switch rebuild the net (on the meta
device: shapes and multiply-adds without memory); the diagrams, the paper's Table 1 for
that net, plain vs residual, and VGG-19's cost (Fig. 3) follow. While runs train, the page
can follow one of them and draw its live shortcut state, stage by stage.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from resnet_edu import diagrams, plots
from resnet_edu.models import set_shortcuts
from ui import get_manager, get_store, language, t

CIFAR_DEPTHS = (20, 32, 44, 56, 110)
IMAGENET_DEPTHS = (18, 34, 50, 101, 152)
NETS = [f"cifar-{depth}" for depth in CIFAR_DEPTHS] + [f"imagenet-{depth}" for depth in IMAGENET_DEPTHS]
DEFAULT_TYPE = {"cifar": "A", "imagenet": "B"}  # the paper's CIFAR nets use A; torchvision's ImageNet nets B
PLOT_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}
NO_RUN = "—"
ASSETS = Path(__file__).resolve().parents[1] / "assets"


def _split(net: str) -> tuple[str, int]:
    family, depth = net.split("-")
    return family, int(depth)


def _net_label(net: str) -> str:
    family, depth = _split(net)
    return f"CIFAR-10 · ResNet-{depth}" if family == "cifar" else f"ImageNet · ResNet-{depth}"


# ---------------------------------------------------------------- cached, pure computations


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


@st.cache_data(show_spinner=False)
def paper_costs() -> pd.DataFrame:
    return pd.read_csv(ASSETS / "paper_costs.csv")


# ---------------------------------------------------------------- live runs (optional)


def live_runs() -> dict[str, str]:
    """{run_id: label} of runs training now; empty when the engine is missing or idle."""
    try:
        manager = get_manager()
        active = manager.active_runs()
        return {run_id: manager.progress(run_id).get("name", run_id) for run_id in active}
    except Exception:  # the engine is optional for this page: draw the diagrams regardless
        return {}


def live_state(run_id: str) -> tuple[str, int, str, dict[int, bool]] | None:
    """(family, depth, shortcut type, {stage: on}) of a live run, or None once it has ended."""
    try:
        state = get_manager().shortcut_state(run_id)
        config = get_store().get_run(run_id)["config"]
    except Exception:
        return None
    if not state or not config:
        return None
    family = config.get("family", "cifar")
    return family, int(config.get("depth", 20)), config.get("shortcut_type") or DEFAULT_TYPE[family], dict(state)


# ---------------------------------------------------------------- controls


def controls_ui() -> tuple[str, int, str, bool, str | None]:
    """The net to draw: (family, depth, shortcut type, shortcuts on, followed run id or None)."""

    def family_changed() -> None:
        family, _ = _split(st.session_state["arch_net"])
        st.session_state["arch_type"] = DEFAULT_TYPE[family]

    st.session_state.setdefault("arch_net", "cifar-20")
    st.session_state.setdefault("arch_type", "A")
    st.session_state.setdefault("arch_shortcuts", True)
    runs = live_runs()
    following = st.session_state.get("arch_follow") in runs  # the run's own net replaces the controls
    columns = st.columns([3, 3, 2, 3] if runs else [3, 3, 2])
    with columns[0]:
        st.selectbox(t("Network", "네트워크"), NETS, format_func=_net_label, key="arch_net", on_change=family_changed,
                     disabled=following,
                     help=t("CIFAR-10 nets have depth 6n+2 (Sec. 4.2); ImageNet nets are Table 1's.",
                            "CIFAR-10 네트워크의 깊이는 6n+2(4.2절), ImageNet 네트워크는 표 1의 구성입니다."))
    with columns[1]:
        st.radio(t("Shortcut option (Sec. 3.3)", "숏컷 옵션 (3.3절)"), ["A", "B", "C"], key="arch_type", horizontal=True,
                 disabled=following,
                 help=t("A: zero-padding when the shape changes (no parameters). B: 1x1 projection when the shape "
                        "changes, identity elsewhere. C: projections everywhere (Table 3).",
                        "A: 모양이 바뀔 때 0으로 채움(파라미터 없음). B: 모양이 바뀔 때만 1x1 사영(projection), "
                        "나머지는 항등. C: 모든 숏컷을 사영으로 (표 3)."))
    with columns[2]:
        st.toggle(t("Shortcuts", "숏컷 연결"), key="arch_shortcuts", disabled=following,
                  help=t("Off: the plain twin — same layers, no additions.", "끄면 plain 쌍둥이 네트워크: 같은 층, 덧셈 없음."))
    follow = None
    if runs:
        with columns[3]:
            options = [NO_RUN] + list(runs)
            if st.session_state.get("arch_follow") not in options:
                st.session_state["arch_follow"] = NO_RUN
            chosen = st.selectbox(t("Follow a running run", "학습 중인 실행 따라가기"), options, key="arch_follow",
                                  format_func=lambda r: t("— (use the controls)", "— (직접 선택)") if r == NO_RUN else runs[r],
                                  help=t("Draw the net of a run that is training now, with its live shortcut state "
                                         "(toggle it in the Lab).",
                                         "지금 학습 중인 실행의 네트워크를 실시간 숏컷 상태와 함께 그립니다 "
                                         "(실험실에서 켜고 끌 수 있습니다)."))
            follow = None if chosen == NO_RUN else chosen
    family, depth = _split(st.session_state["arch_net"])
    return family, depth, st.session_state["arch_type"], bool(st.session_state["arch_shortcuts"]), follow


# ---------------------------------------------------------------- sections


def _legend() -> None:
    st.caption(t("Colours: :blue-background[conv] :orange-background[BN] :green-background[ReLU] "
                 ":red-background[⊕ addition] · dashed orange = shortcut on, grey dotted = shortcut off.",
                 "색: :blue-background[conv] :orange-background[BN] :green-background[ReLU] "
                 ":red-background[⊕ 덧셈] · 주황 점선 = 숏컷 켜짐, 회색 점선 = 숏컷 꺼짐."))


def _shortcut_sentence(graph: diagrams.BlockGraph) -> str:
    if not graph.shortcut_enabled:
        return t("Shortcut **off**: the block computes a plain F(x) — no addition, same weights.",
                 "숏컷 **꺼짐**: 이 블록은 덧셈 없이 F(x)만 계산합니다 — 가중치는 그대로입니다.")
    if graph.shortcut_kind == "identity":
        return t("Shapes match, so the shortcut is the identity: y = F(x) + x, no parameters.",
                 "입력과 출력의 모양이 같아 숏컷은 항등 사상입니다: y = F(x) + x, 파라미터 없음.")
    if graph.shortcut_kind == "zeropad":
        return t(f"The shape changes ({diagrams.shape_text(graph.in_shape)} → {diagrams.shape_text(graph.out_shape)}): "
                 "option A subsamples x and pads the new channels with zeros — still no parameters.",
                 f"모양이 바뀝니다 ({diagrams.shape_text(graph.in_shape)} → {diagrams.shape_text(graph.out_shape)}): "
                 "옵션 A는 x를 서브샘플링하고 늘어난 채널을 0으로 채웁니다 — 역시 파라미터가 없습니다.")
    params = sum(op.params for op in graph.shortcut)
    return t(f"A projection y = F(x) + W_s·x (1x1 conv + BN) matches the shapes: {params:,} extra parameters.",
             f"사영 숏컷 y = F(x) + W_s·x (1x1 conv + BN)가 모양을 맞춥니다: 파라미터 {params:,}개 추가.")


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
        st.caption(t("Every tensor operation of the first block, as torchview records it — the diagrams above are "
                     "a readable summary of this.",
                     "첫 블록의 모든 텐서 연산을 torchview가 기록한 그대로 보여 줍니다 — 위의 그림은 이것을 읽기 쉽게 "
                     "요약한 것입니다."))
        if st.checkbox(t("Draw it", "그리기"), key="arch_torchview"):
            try:
                st.graphviz_chart(torchview_source(family, depth, shortcut_type, first, enabled))
            except Exception as error:  # torchview is a nice-to-have: say why, keep the page
                st.warning(t(f"torchview could not draw this block: {error}", f"torchview로 그리지 못했습니다: {error}"))


def _table_for_display(frame: pd.DataFrame) -> pd.DataFrame:
    shown = frame[["paper_name", "layer", "output_size", "blocks", "weight_layers", "parameters", "mult_adds"]].copy()
    shown.columns = [t("Table 1", "표 1"), t("module", "모듈"), t("output size", "출력 크기"), t("blocks", "블록 수"),
                     t("weight layers", "가중치 층"), t("parameters", "파라미터"), t("multiply-adds", "곱셈-덧셈")]
    return shown


# Table 1's multiply-adds of the bottleneck nets. Built with stride_in_1x1=True (the released models'
# placement) model_summary.describe measures 3.86G / 7.57G / 11.28G at 224x224, the paper's numbers.
PAPER_BOTTLENECK_MULT_ADDS = {50: "3.8G", 101: "7.6G", 152: "11.3G"}


def _notes(family: str, depth: int, shortcut_type: str, shortcuts: bool, mult_adds: int) -> list[str]:
    notes = []
    if family == "imagenet" and depth in PAPER_BOTTLENECK_MULT_ADDS:
        paper, stride_in_3x3 = PAPER_BOTTLENECK_MULT_ADDS[depth], f"{mult_adds / 1e9:.2f}G"
        notes.append(t(f"ResNet-{depth}: Table 1 gives {paper} multiply-adds; this net measures {stride_in_3x3}. The "
                       "paper's text says only that conv3_1, conv4_1 and conv5_1 downsample with stride 2; its "
                       "released models put that stride in the first 1x1 conv of the block, which gives the "
                       "paper's numbers (3.86G, 7.57G, 11.28G measured here for 50, 101, 152). This torchvision-style "
                       "net puts it in the 3x3 conv (torchvision's \"v1.5\"): the 3x3 conv then works on the "
                       "larger map, which costs more and is slightly more accurate.",
                       f"ResNet-{depth}: 표 1은 곱셈-덧셈 {paper}이지만 이 네트워크에서 잰 값은 {stride_in_3x3}입니다. "
                       "논문 본문은 conv3_1, conv4_1, conv5_1이 stride 2로 크기를 줄인다고만 말합니다. 논문 저자들이 공개한 "
                       "모델은 그 stride를 블록의 첫 1x1 conv에 두며, 그러면 논문의 값이 나옵니다(여기서 잰 값: 50, 101, "
                       "152층에 3.86G, 7.57G, 11.28G). 이 네트워크는 torchvision처럼(\"v1.5\") stride를 3x3 conv에 "
                       "둡니다. 그러면 3x3 conv가 더 큰 맵에서 계산하므로 연산이 늘고 정확도가 조금 높아집니다."))
    if shortcut_type != "A":
        notes.append(t(f"Option {shortcut_type}: projection shortcuts (1x1 conv + BN) add parameters; they are counted "
                       "in the stage rows but not as weight layers, as the paper counts depth.",
                       f"옵션 {shortcut_type}: 사영 숏컷(1x1 conv + BN)이 파라미터를 더합니다. 단계별 파라미터에는 "
                       "포함하지만, 논문처럼 깊이(가중치 층 수)에는 세지 않습니다."))
    if not shortcuts:
        notes.append(t("Shortcuts off: the plain net has exactly these layers; with option A it also has exactly "
                       "the same parameters as the residual net.",
                       "숏컷을 끈 plain 네트워크도 층은 똑같습니다. 옵션 A라면 파라미터 수까지 잔차 네트워크와 "
                       "정확히 같습니다."))
    return notes


def network_ui(family: str, depth: int, shortcut_type: str, stages_on: dict[int, bool], shortcuts: bool) -> None:
    st.subheader(t("The whole network, stage by stage (Table 1)", "전체 네트워크, 단계별로 (표 1)"))
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
        title = f"{'ResNet' if all_on else 'plain' if not on else 'ResNet (partly plain)'}-{depth}"
        stack = network_stack(family, depth, shortcut_type, tuple(stages_on.values()), title)
        st.graphviz_chart(diagrams.network_dot(stack, language()))
    with right:
        st.dataframe(_table_for_display(frame), hide_index=True,
                     column_config={t("parameters", "파라미터"): st.column_config.NumberColumn(format="localized"),
                                    t("multiply-adds", "곱셈-덧셈"): st.column_config.NumberColumn(format="localized")})
        st.plotly_chart(plots.stage_cost_figure(frame, lang=language()),
                        config=PLOT_CONFIG, key="arch_stage_cost")
        st.download_button(t("Download the table (CSV)", "표 내려받기 (CSV)"), frame.to_csv(index=False),
                           file_name=f"{family}-resnet{depth}-{shortcut_type}-table1.csv", mime="text/csv",
                           key="arch_table_csv")
        st.caption(t("Measured on this app's model with one image through torch.utils.flop_counter "
                     "(multiply-adds = FLOPs / 2), as the paper counts them.",
                     "이 앱의 모델에 이미지 1장을 통과시켜 torch.utils.flop_counter로 측정했습니다 "
                     "(곱셈-덧셈 = FLOPs / 2, 논문의 계산 방식)."))
        for note in _notes(family, depth, shortcut_type, shortcuts, int(total["mult_adds"])):
            st.caption("• " + note)


def plain_vs_residual_ui(family: str, depth: int, shortcut_type: str) -> None:
    st.subheader(t("Plain vs residual, side by side", "plain vs 잔차, 나란히 보기"))
    st.caption(t("The same layers; the residual net only adds the shortcuts (Fig. 3, middle and right).",
                 "층은 똑같고, 잔차 네트워크에는 숏컷만 더해집니다 (그림 3의 가운데와 오른쪽)."))
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
    extra = int(residual_frame.iloc[-1]["parameters"] - plain_frame.iloc[-1]["parameters"])
    if extra == 0:
        st.success(t("Identical parameter counts: identity and zero-padding shortcuts are free (option A).",
                     "파라미터 수가 똑같습니다: 항등·0 채우기 숏컷(옵션 A)에는 파라미터가 없습니다."))
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
    st.caption(t("Deeper, yet cheaper: the 34-layer nets use 3×3 filters, fewer filters per layer (64–512) and no "
                 "4096-wide fully connected layers. VGG-19 is measured here with torchvision.models.vgg19(weights=None); "
                 "the 34-layer nets use option A, as in Fig. 3. Red ticks: the paper's numbers.",
                 "더 깊지만 더 가볍습니다: 34층 네트워크는 3×3 필터를 쓰고, 층마다 필터 수가 적으며(64–512), 폭 4096의 "
                 "완전 연결층이 없습니다. VGG-19는 torchvision.models.vgg19(weights=None)로 직접 측정했고, 34층 "
                 "네트워크는 그림 3처럼 옵션 A입니다. 빨간 눈금: 논문의 값."))
    st.download_button(t("Download the costs (CSV)", "연산량 내려받기 (CSV)"), table.to_csv(index=False),
                       file_name="fig3-costs.csv", mime="text/csv", key="arch_vgg_csv")
    with st.expander(t("Fig. 3 drawn from the three real models", "실제 모델 세 개로 다시 그린 그림 3")):
        columns = st.columns(3)
        stacks = (vgg_stack, network_stack("imagenet", 34, "A", (False,) * 4, t("34-layer plain", "34층 plain")),
                  network_stack("imagenet", 34, "A", (True,) * 4, t("34-layer residual", "34층 잔차")))
        for column, stack in zip(columns, stacks):
            with column:
                st.graphviz_chart(diagrams.network_dot(stack, language()))


# ---------------------------------------------------------------- page

st.title(t("🏗️ Architecture", "🏗️ 구조"))
st.markdown(t("Every diagram on this page is **traced from the real PyTorch model** the Lab trains: change the depth, "
              "the shortcut option or switch the shortcuts off, and the drawings, the table and the costs follow.",
              "이 페이지의 모든 그림은 실험실에서 학습하는 **실제 PyTorch 모델을 추적해서** 그린 것입니다. 깊이나 "
              "숏컷 옵션을 바꾸거나 숏컷을 끄면 그림, 표, 연산량이 함께 바뀝니다."))

family, depth, shortcut_type, shortcuts, follow = controls_ui()


@st.fragment(run_every=2.0 if follow else None)
def diagrams_ui() -> None:
    net_family, net_depth, net_type = family, depth, shortcut_type
    num_stages = 3 if family == "cifar" else 4
    stages_on = {stage: shortcuts for stage in range(1, num_stages + 1)}
    if follow:
        live = live_state(follow)
        if live is None:  # the run ended: redraw the whole page (back to the controls), which stops this polling
            st.rerun()
        else:
            net_family, net_depth, net_type, stages_on = live
            state = ", ".join(f"layer{s} {'✅' if on else '⛔'}" for s, on in stages_on.items())
            data = "CIFAR-10" if net_family == "cifar" else "ImageNet"
            st.info(t(f"Following **{live_runs().get(follow, follow)}** live: {data}-style net, {net_depth} layers, "
                      f"option {net_type} · shortcuts {state}",
                      f"**{live_runs().get(follow, follow)}** 실시간 추적 중: {data}형 네트워크, {net_depth}층, "
                      f"옵션 {net_type} · 숏컷 {state}"), icon="📡")
    blocks_ui(net_family, net_depth, net_type, stages_on)
    st.divider()
    network_ui(net_family, net_depth, net_type, stages_on, all(stages_on.values()))


diagrams_ui()
st.divider()
plain_vs_residual_ui(family, depth, shortcut_type)
st.divider()
vgg_ui(family, depth, shortcut_type)
st.page_link("app_pages/lab.py", label=t("Train these nets in the Lab →", "실험실에서 이 네트워크들을 학습시키기 →"), icon="🧪")
