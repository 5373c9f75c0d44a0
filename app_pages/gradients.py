"""Gradients: is the degradation problem caused by vanishing gradients? Measure it.

Per-layer gradient norms recorded while the runs train (a heatmap per run, plain and
residual side by side), the first-conv / last-conv ratio over time, the paper's Fig. 7
layer responses, and a measurement of fresh nets at initialisation. Reads only the
RunStore; the numbers come from resnet_edu.probes.
"""

from __future__ import annotations


import pandas as pd
import streamlit as st

from resnet_edu import analysis, plots, probes
from resnet_edu.runs import ACTIVE_STATUSES
from ui import get_store, language, send_to_lab, t

REFRESH_SECONDS = 3
MAX_COLUMNS = 200  # recorded iterations per heatmap sent to the browser
PLOT_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}
INIT_DEPTHS = [8, 14, 20, 32, 44, 56, 110]
INIT_BATCHES = [16, 32, 64, 128]


# ---------------------------------------------------------------- reading the store (cached per progress)

@st.cache_data(ttl=2, show_spinner=False, max_entries=256)
def layer_stats(_store, run_id: str, kind: str, steps_done: int, root: str) -> pd.DataFrame:
    """The store's per-layer stats of a run; the key includes its progress, so a live run refreshes."""
    return _store.layer_stats(run_id, kind)


@st.cache_data(show_spinner=False, max_entries=64)
def init_batch(dataset: str, batch_size: int):
    """One batch of the chosen data set, normalised with its own statistics (seeded, same every time)."""
    from resnet_edu import data

    if dataset == "cifar10":
        from resnet_edu.jobs import cached_dataset

        full = cached_dataset("cifar10")
        images, labels = full.train_images[:batch_size], full.train_labels[:batch_size]
        mean, std = full.mean, full.std
    else:
        small = data.make_synthetic(num_train=batch_size, num_test=1, seed=0)
        images, labels, mean, std = small.train_images, small.train_labels, small.mean, small.std
    return data.normalize(images, mean, std), labels


@st.cache_data(show_spinner=False, max_entries=64)
def init_measurement(dataset: str, depth: int, shortcuts: bool, batch_size: int) -> dict:
    return probes.measure_at_init("cifar", depth, shortcuts, init_batch(dataset, batch_size), seed=0)


# ---------------------------------------------------------------- UI pieces

def intro_ui() -> None:
    st.markdown(t(
        "A popular story says deep plain nets train badly because gradients **vanish** on their way back to "
        "the first layers. The paper (Sec. 4.1) says this is *unlikely*: the nets use batch normalisation, "
        "which keeps forward signals at non-zero variance, and the authors checked that the backward "
        "gradients \"exhibit healthy norms\". They conjecture instead that deep plain nets have *exponentially "
        "low convergence rates*. Don't take either side on trust: here are the gradient norms of every "
        "convolution, measured.",
        "흔한 설명은 깊은 평범한 망(plain net)이 잘 학습되지 않는 이유가 기울기가 첫 층까지 돌아오는 동안 "
        "**사라지기(vanishing)** 때문이라고 합니다. 논문(4.1절)은 그럴 *가능성이 낮다*고 말합니다. 배치 정규화(BN)가 "
        "순전파 신호의 분산을 0이 아니게 유지하고, 저자들이 역전파 기울기가 \"건강한 크기\"를 보인다는 것을 "
        "확인했기 때문입니다. 대신 깊은 평범한 망은 *수렴 속도가 지수적으로 느릴* 수 있다고 추측합니다. 어느 "
        "쪽도 그냥 믿지 마세요. 여기에 모든 합성곱 층의 기울기 크기를 직접 잰 값이 있습니다."))
    with st.expander(t("How to read the numbers", "숫자 읽는 법")):
        st.markdown(t(
            "- **‖∇W‖** is the L2 norm of a convolution's weight gradient, recorded every few iterations while "
            "a run trains.\n"
            "- **first / last** divides the first conv's norm (next to the image) by the last conv's (next to "
            "the classifier). Around 1–10: every layer gets a similar push. **≫ 1**: gradients *grow* toward the "
            "input (they explode rather than vanish). **≪ 1**: they shrink toward the input — that would be "
            "vanishing.\n"
            "- A reference measurement on real CIFAR-10 at initialisation: plain-56 ≈ **1558** (norms 435 vs "
            "0.28), ResNet-56 ≈ **5.8**, plain-20 ≈ **8.8**. Measure your own at the bottom of this page.",
            "- **‖∇W‖**는 합성곱 가중치 기울기의 L2 크기로, 학습 중 몇 번의 반복마다 기록됩니다.\n"
            "- **처음 / 마지막**은 첫 합성곱(이미지 쪽)의 크기를 마지막 합성곱(분류기 쪽)의 크기로 나눈 값입니다. "
            "1–10 정도면 모든 층이 비슷하게 밀립니다. **≫ 1**이면 기울기가 입력 쪽으로 갈수록 *커집니다*(사라지는 "
            "게 아니라 폭발). **≪ 1**이면 입력 쪽으로 갈수록 작아집니다 — 이것이 기울기 소실입니다.\n"
            "- 실제 CIFAR-10에서 초기화 직후 잰 참고값: 평범한 56층 ≈ **1558** (크기 435 대 0.28), ResNet-56 ≈ "
            "**5.8**, 평범한 20층 ≈ **8.8**. 이 페이지 맨 아래에서 직접 재 보세요."))


def empty_state_ui() -> None:
    send_to_lab("No run has recorded gradients yet. Start one in the Lab — the **Fig. 1** preset (plain-20 vs "
                "plain-56) records gradient norms every few iterations, and they appear here live. Meanwhile, "
                "measure fresh nets at initialisation below.",
                "아직 기울기를 기록한 실행이 없습니다. 실험실에서 시작하세요 — **그림 1** 프리셋(평범한 20층 vs 56층)은 "
                "몇 번의 반복마다 기울기 크기를 기록하고, 그 값이 여기에 실시간으로 나타납니다. 그동안 아래에서 "
                "초기화 직후의 새 망을 재 볼 수 있습니다.")


def run_picker_ui(table: pd.DataFrame) -> list[str]:
    """Runs to look at: a comparison group (newest first), then any runs added or removed."""
    groups = list(dict.fromkeys(table["group_id"]))

    def group_label(group_id: str) -> str:
        members = table[table["group_id"] == group_id]
        return f"{analysis.clock_label(members['created_at'].iloc[-1])} · {', '.join(members['name'])}"

    def pick_group() -> None:
        st.session_state["grad_runs"] = table.loc[table["group_id"] == st.session_state["grad_group"],
                                                  "run_id"].tolist()

    # First visit, or a comparison started since this tab last looked: show the newest one.
    if st.session_state.get("_grad_latest_group") != groups[0] or st.session_state.get("grad_group") not in groups:
        st.session_state["_grad_latest_group"] = groups[0]
        st.session_state["grad_group"] = groups[0]
        pick_group()
    st.session_state["grad_runs"] = [r for r in st.session_state.get("grad_runs", []) if r in set(table["run_id"])]
    labels = dict(zip(table["run_id"], table["name"]))
    left, right = st.columns([2, 3])
    with left:
        st.selectbox(t("Comparison", "비교 실험"), groups, format_func=group_label, key="grad_group",
                     on_change=pick_group, help=t("Runs started together in the Lab (newest first).",
                                                  "실험실에서 함께 시작한 실행들(최신순)."))
    with right:
        st.multiselect(t("Runs", "실행"), list(labels), format_func=labels.get, key="grad_runs")
    return list(st.session_state["grad_runs"])


def _ratio_text(value: float) -> str:
    if value != value:  # nan
        return "–"
    return f"{value:,.0f}×" if value >= 100 else f"{value:.3g}×"


def _csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def ratio_section(chosen: pd.DataFrame, stats: dict[str, pd.DataFrame], revision: str) -> None:
    lang = language()
    st.subheader(t("At a glance: first conv vs last conv", "한눈에: 첫 합성곱 vs 마지막 합성곱"))
    frames, summaries = [], []
    for row in chosen.itertuples(index=False):
        ratios = probes.ratio_over_time(stats[row.run_id])
        if ratios.empty:
            continue
        frames.append(ratios.assign(run_id=row.run_id, name=row.name, depth=row.depth, shortcuts=row.shortcuts))
        summaries.append((row, probes.ratio_summary(ratios)))
    if not frames:
        st.info(t("No gradient norms recorded yet for these runs (they appear after the first few iterations).",
                  "이 실행들에는 아직 기울기 크기 기록이 없습니다(처음 몇 번의 반복 뒤에 나타납니다)."))
        return
    columns = st.columns(min(4, len(summaries)))
    for index, (row, summary) in enumerate(summaries):
        with columns[index % len(columns)]:
            st.metric(row.name, _ratio_text(summary["last_ratio"]),
                      help=t(f"first conv / last conv at iteration {summary['last_step']}; at its first record "
                             f"(iteration {summary['first_step']}): {_ratio_text(summary['first_ratio'])}",
                             f"{summary['last_step']}번째 반복의 첫 합성곱 / 마지막 합성곱; 첫 기록"
                             f"({summary['first_step']}번째 반복): {_ratio_text(summary['first_ratio'])}"))
            st.caption(t(f"first record (it. {summary['first_step']}): {_ratio_text(summary['first_ratio'])}",
                         f"첫 기록 ({summary['first_step']}회): {_ratio_text(summary['first_ratio'])}"))
    table = pd.concat(frames, ignore_index=True)
    st.plotly_chart(plots.gradient_ratio_figure(table, lang=lang, uirevision=revision), key="grad_ratio",
                    config=PLOT_CONFIG)
    st.caption(t("Dotted: plain nets; solid: ResNets; one colour per depth. Above the grey line the first layer "
                 "gets the larger gradient; far below it, the gradient has (nearly) vanished by the time it "
                 "reaches the input. Watch how plain and residual nets of the same depth differ, and how the "
                 "ratio moves as training goes on.",
                 "점선: 평범한 망, 실선: ResNet, 깊이마다 한 색. 회색 선 위쪽이면 첫 층이 더 큰 기울기를 받고, 한참 "
                 "아래쪽이면 기울기가 입력에 닿을 때쯤 (거의) 사라진 것입니다. 같은 깊이의 평범한 망과 ResNet이 어떻게 "
                 "다른지, 학습이 진행되며 비율이 어떻게 움직이는지 보세요."))
    st.download_button(t("Download the ratios (CSV)", "비율 데이터 내려받기 (CSV)"),
                       data=_csv(table[["run_id", "name", "depth", "shortcuts", "step", "first_layer", "last_layer",
                                        "first", "last", "ratio"]]),
                       file_name="gradient_ratio.csv", mime="text/csv", key="grad_csv_ratio", on_click="ignore",
                       icon="⬇️")


def heatmap_section(chosen: pd.DataFrame, stats: dict[str, pd.DataFrame], revision: str) -> None:
    lang = language()
    st.subheader(t("Every layer, every recorded iteration", "모든 층, 기록된 모든 반복"))
    st.caption(t("Rows: convolutions from the input (top) to the output (bottom); columns: iterations; colour: "
                 "the gradient norm, on one log scale shared by every panel. Plain nets left, ResNets right. A "
                 "dark band at the top would mean vanishing gradients at the input. Blank cells are exactly zero.",
                 "행: 입력(위)에서 출력(아래)까지의 합성곱 층, 열: 반복, 색: 기울기 크기(모든 패널이 같은 로그 척도). "
                 "왼쪽은 평범한 망, 오른쪽은 ResNet입니다. 위쪽에 어두운 띠가 있다면 입력 쪽에서 기울기가 사라진다는 "
                 "뜻입니다. 빈 칸은 정확히 0입니다."))
    downloads, panels, row = [], [], 0
    for (family, depth), runs_of_depth in chosen.groupby(["family", "depth"], sort=True):
        plain = runs_of_depth[~runs_of_depth["shortcuts"]]
        residual = runs_of_depth[runs_of_depth["shortcuts"]]
        for index in range(max(len(plain), len(residual))):  # twins of equal depth side by side
            row += 1
            for col, kind_rows in ((1, plain), (2, residual)):
                if index >= len(kind_rows):
                    continue
                run = kind_rows.iloc[index]
                matrix = probes.thin_columns(probes.layer_step_matrix(stats[run["run_id"]]), MAX_COLUMNS)
                if matrix.empty:
                    continue
                panels.append((run["name"], matrix, row, col))
                downloads.append(stats[run["run_id"]].assign(run_id=run["run_id"], name=run["name"]))
    if panels:
        fig = plots.gradient_heatmaps(panels, lang=lang, uirevision=revision)
        st.plotly_chart(fig, key="grad_heat", config=PLOT_CONFIG)
    if downloads:
        st.download_button(t("Download all gradient norms (CSV)", "모든 기울기 크기 내려받기 (CSV)"),
                           data=_csv(pd.concat(downloads, ignore_index=True)[["run_id", "name", "step", "layer_index",
                                                                               "layer", "value"]]),
                           file_name="gradient_norms.csv", mime="text/csv", key="grad_csv_heat",
                           on_click="ignore", icon="⬇️")


def response_section(chosen: pd.DataFrame, responses: dict[str, pd.DataFrame], revision: str) -> None:
    lang = language()
    st.subheader(t("Layer responses (the paper's Fig. 7)", "층 응답 (논문 그림 7)"))
    st.markdown(t(
        "Fig. 7 plots the standard deviation of each 3×3 layer's output *after BN, before the ReLU and the "
        "addition*. The paper finds ResNets' responses generally smaller than plain nets', and smaller for "
        "deeper ResNets (20 → 56 → 110): the residual functions stay close to zero, so each block only nudges "
        "its input — the paper's motivation for learning residuals in the first place.",
        "그림 7은 각 3×3 층 출력의 표준편차를 *BN 뒤, ReLU와 덧셈 전*에서 잰 것입니다. 논문에서 ResNet의 응답은 "
        "대체로 평범한 망보다 작고, 깊은 ResNet일수록(20 → 56 → 110) 더 작습니다. 잔차 함수가 0에 가깝게 머물러 "
        "각 블록이 입력을 살짝만 고친다는 뜻이며, 애초에 잔차를 학습하자는 논문의 동기이기도 합니다."))
    frames, steps = [], []
    for row in chosen.itertuples(index=False):
        profile = probes.profile_at(responses[row.run_id])
        if profile.empty:
            continue
        frames.append(profile.assign(run_id=row.run_id, name=row.name, depth=row.depth, shortcuts=row.shortcuts))
        steps.append(f"{row.name}: {int(profile['step'].iloc[0])}")
    if not frames:
        st.info(t("No layer responses recorded yet.", "아직 기록된 층 응답이 없습니다."))
        return
    table = pd.concat(frames, ignore_index=True)
    log_scale = st.toggle(t("Log scale", "로그 척도"), value=False, key="grad_resp_log",
                          help=t("When one net's responses dwarf the others'.", "한 망의 응답이 너무 커서 나머지가 안 보일 때."))
    st.plotly_chart(plots.response_figure(table, lang=lang, log=log_scale, uirevision=revision),
                    key="grad_responses", config=PLOT_CONFIG)
    st.caption(t(f"From each run's latest record (iteration: {'; '.join(steps)}). The paper measured fully "
                 "trained nets; early in training the picture is still forming. Classroom-recipe ResNets start "
                 "every residual branch at zero, which keeps their responses small early on for a reason of "
                 "their own: compare with runs of the 'paper' recipe.",
                 f"각 실행의 가장 최근 기록 기준 (반복: {'; '.join(steps)}). 논문은 학습을 마친 망을 쟀습니다. 학습 "
                 "초기에는 그림이 아직 만들어지는 중입니다. 수업용 레시피의 ResNet은 모든 잔차 가지를 0에서 시작하므로 "
                 "초기에는 그 때문에도 응답이 작습니다. '논문' 레시피로 학습한 실행과 비교해 보세요."))
    st.download_button(t("Download the responses (CSV)", "층 응답 내려받기 (CSV)"),
                       data=_csv(table[["run_id", "name", "depth", "shortcuts", "step", "layer_index", "layer",
                                        "value", "rank"]]),
                       file_name="layer_responses.csv", mime="text/csv", key="grad_csv_resp", on_click="ignore",
                       icon="⬇️")


def charts(run_ids: list[str]) -> bool:
    """Everything that changes while runs train; returns whether any chosen run still trains."""
    store = get_store()
    table = probes.run_table(store.list_runs())
    chosen = table.set_index("run_id").reindex([r for r in run_ids if r in set(table["run_id"])]).reset_index()
    if chosen.empty:
        st.info(t("Choose at least one run above.", "위에서 실행을 하나 이상 고르세요."))
        return False
    root = str(store.root)
    grads = {r.run_id: layer_stats(store, r.run_id, "grad_norm", int(r.steps_done), root)
             for r in chosen.itertuples(index=False)}
    responses = {r.run_id: layer_stats(store, r.run_id, "response_std", int(r.steps_done), root)
                 for r in chosen.itertuples(index=False)}
    revision = "|".join(chosen["run_id"])
    ratio_section(chosen, grads, revision)
    heatmap_section(chosen, grads, revision)
    response_section(chosen, responses, revision)
    return bool(chosen["status"].isin(ACTIVE_STATUSES).any())


def init_controls_ui() -> tuple[str, list[int], list[bool], int, bool]:
    """(data set, depths, kinds as shortcut flags, batch size, measure clicked?)"""
    cols = st.columns([2, 3, 3, 2])
    with cols[0]:
        data_names = {"synthetic": t("synthetic", "합성"), "cifar10": "CIFAR-10"}  # format_funcs must not call t()
        dataset = st.radio(t("Data", "데이터"), list(data_names), key="grad_init_data", horizontal=True,
                           format_func=data_names.get)
    with cols[1]:
        depths = st.multiselect(t("Depths", "깊이"), INIT_DEPTHS, default=[20, 56], key="grad_init_depths")
    with cols[2]:
        kind_names = {"plain": t("plain", "평범한 망"), "residual": t("residual", "잔차 망")}
        kinds = st.multiselect(t("Kinds", "종류"), list(kind_names), default=list(kind_names),
                               key="grad_init_kinds", format_func=kind_names.get)
    with cols[3]:
        batch = st.select_slider(t("Batch", "배치 크기"), INIT_BATCHES, value=128, key="grad_init_batch")
    clicked = st.button(t("Measure at initialisation", "초기화 직후 재기"), key="grad_init_go", type="primary",
                        icon="📏")
    return dataset, depths, [k == "residual" for k in kinds], batch, clicked


def init_section() -> None:
    lang = language()
    st.subheader(t("Fresh nets, at initialisation", "초기화 직후의 새 망"))
    st.caption(t("Build nets with He initialisation (the paper's, Sec. 3.4), run one forward and backward pass "
                 "on a batch of images, and measure every layer. No training, no waiting: a few seconds.",
                 "He 초기화(논문 3.4절)로 망을 만들고, 이미지 한 묶음으로 순전파와 역전파를 한 번 해서 모든 층을 잽니다. "
                 "학습도 기다림도 없이 몇 초면 됩니다."))
    dataset, depths, kinds, batch, clicked = init_controls_ui()
    if clicked:
        st.session_state["grad_init_params"] = (dataset, tuple(depths), tuple(kinds), batch)
    params = st.session_state.get("grad_init_params")
    if not params:
        return
    dataset, depths, kinds, batch = params
    nets = [(d, k) for k in sorted(set(kinds)) for d in sorted(set(depths))]
    if not nets:
        st.info(t("Choose at least one depth and one kind.", "깊이와 종류를 하나 이상 고르세요."))
        return
    results = []
    try:
        with st.spinner(t("Measuring…", "재는 중…")):
            for depth, shortcuts in nets:
                results.append(init_measurement(dataset, depth, shortcuts, batch))
    except Exception as error:  # e.g. CIFAR-10 not downloaded (DataUnavailable)
        st.warning(t(f"Could not load the data: {error}", f"데이터를 불러올 수 없습니다: {error}"))
        return
    columns = st.columns(min(4, len(results)))
    for index, result in enumerate(results):
        with columns[index % len(columns)]:
            st.metric(result["name"], _ratio_text(result["ratio"]),
                      help=t(f"‖∇ {result['first']}‖ = {result['grad_norm'][result['first']]:.3g}, "
                             f"‖∇ {result['last']}‖ = {result['grad_norm'][result['last']]:.3g}",
                             f"‖∇ {result['first']}‖ = {result['grad_norm'][result['first']]:.3g}, "
                             f"‖∇ {result['last']}‖ = {result['grad_norm'][result['last']]:.3g}"))
            st.caption(t("first conv / last conv", "첫 합성곱 / 마지막 합성곱"))
    frame = probes.init_norms_frame(results)
    st.plotly_chart(plots.layer_norms_figure(frame, lang=lang), key="grad_init_chart", config=PLOT_CONFIG)
    st.caption(t("One point per convolution, input on the left. On a log axis, a straight slope means the "
                 "norm changes by the same factor in every layer — exponentially with depth. Does the plain "
                 "net's gradient vanish toward the input, or grow? What does the shortcut change?",
                 "합성곱 층마다 점 하나, 왼쪽이 입력 쪽입니다. 로그 축에서 곧은 기울기는 층마다 같은 배율로 변한다는 "
                 "뜻, 즉 깊이에 따라 지수적으로 변합니다. 평범한 망의 기울기는 입력 쪽으로 갈수록 사라지나요, "
                 "커지나요? 지름길은 무엇을 바꾸나요?"))
    st.download_button(t("Download the measurement (CSV)", "측정값 내려받기 (CSV)"), data=_csv(frame),
                       file_name="gradients_at_init.csv", mime="text/csv", key="grad_csv_init", on_click="ignore",
                       icon="⬇️")


# ---------------------------------------------------------------- the page
st.title(t("🌊 Gradients: do they vanish?", "🌊 기울기: 정말 사라질까?"))
intro_ui()

runs = probes.run_table(get_store().list_runs())
runs = runs[runs["steps_done"] > 0]
if runs.empty:
    empty_state_ui()
else:
    selected = run_picker_ui(runs)
    polling = bool(runs.loc[runs["run_id"].isin(selected), "status"].isin(ACTIVE_STATUSES).any())

    @st.fragment(run_every=REFRESH_SECONDS if polling else None)
    def live_charts() -> None:
        still_active = charts(selected)
        if polling and not still_active:
            st.rerun()

    live_charts()

st.divider()
init_section()
