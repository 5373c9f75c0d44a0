"""Gradients: is the degradation problem caused by vanishing gradients? Measure it.

Per-layer gradient norms recorded while the runs train (a heatmap per run, plain and
residual side by side), the first-conv / last-conv ratio over time, the paper's Fig. 7
layer responses, and a measurement of fresh nets at initialisation. Reads only the
RunStore; the numbers come from resnet_edu.probes.
"""

from __future__ import annotations


import pandas as pd
import streamlit as st

from resnet_edu import analysis, plots, probes, run_picking
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
        "흔한 설명은 깊은 plain 네트워크(plain net)가 잘 학습되지 않는 이유가 기울기가 첫 층까지 돌아오는 동안 "
        "**사라지기(vanishing)** 때문이라고 합니다. 논문(4.1절)은 그럴 *가능성이 낮다*고 말합니다. 배치 정규화(BN)가 "
        "순전파 신호의 분산을 0이 아니게 유지하고, 저자들이 역전파 기울기가 \"건강한 크기\"를 보인다는 것을 "
        "확인했기 때문입니다. 대신 깊은 plain 네트워크는 *수렴 속도가 지수적으로 느릴* 수 있다고 추측합니다. 어느 "
        "쪽도 그냥 믿지 마세요. 여기에 모든 합성곱 층의 기울기 크기를 직접 잰 값이 있습니다."))
    with st.expander(t("How to read the numbers", "숫자 읽는 법")):
        st.markdown(t(
            "- **‖∇W‖** is the L2 norm of a convolution's weight gradient, recorded every few iterations while "
            "a run trains.\n"
            "- **first / last** divides the first conv's norm (next to the image) by the last conv's (next to "
            "the classifier). **≫ 1**: gradients *grow* toward the input. **≪ 1**: they shrink toward the "
            "input — that would be vanishing.\n"
            "- **Two caveats.** The two layers differ in size (in a CIFAR net the first conv has 432 weights, "
            "the last 36,864), so their raw norms are not like for like, and no single value is \"healthy\": "
            "compare nets with each other, plain with residual. And with batch norm after every conv, scaling a "
            "conv's weights changes nothing downstream; what an SGD step does to a layer is set by "
            "**‖∇W‖ / ‖W‖**, the step relative to the weights. The measurement at initialisation at the bottom "
            "of this page shows both.\n"
            "- A reference measurement on real CIFAR-10 at initialisation: plain-56 ≈ **1558** (norms 435 vs "
            "0.28), ResNet-56 ≈ **5.8**, plain-20 ≈ **8.8**. At initialisation plain-56's gradient is not "
            "vanishing: it is *growing*, about 1,500-fold, on its way back to the input — \"exploding\" would be "
            "the closer word, and it is not the paper's explanation either. Don't trade one myth for another: the "
            "paper's claim is only that the gradients do not vanish. Once training starts the ratio can move far "
            "(plain-56's may fall well below 1 within a few dozen iterations): is that the input's gradient "
            "shrinking, or the last layer's growing? The heat map below tells which.",
            "- **‖∇W‖**는 합성곱 가중치 기울기의 L2 크기로, 학습 중 몇 번의 반복마다 기록됩니다.\n"
            "- **처음 / 마지막**은 첫 합성곱(이미지 쪽)의 크기를 마지막 합성곱(분류기 쪽)의 크기로 나눈 값입니다. "
            "**≫ 1**이면 기울기가 입력 쪽으로 갈수록 *커집니다*. **≪ 1**이면 입력 쪽으로 갈수록 작아집니다 — 이것이 "
            "기울기 소실입니다.\n"
            "- **주의할 점 두 가지.** 두 층은 크기가 다릅니다(CIFAR 네트워크에서 첫 합성곱의 가중치는 432개, 마지막은 "
            "36,864개). 그래서 기울기 크기를 그대로 비교할 수 없고, \"건강한\" 값이 따로 정해져 있지도 않습니다. plain "
            "네트워크와 잔차 네트워크처럼 네트워크끼리 비교하세요. 또 합성곱마다 뒤에 배치 정규화가 있으면 가중치의 "
            "크기를 바꿔도 그다음 계산은 달라지지 않습니다. SGD 한 걸음이 층을 얼마나 바꾸는지는 가중치에 대한 상대적인 "
            "크기 **‖∇W‖ / ‖W‖**가 정합니다. 이 페이지 맨 아래의 초기화 직후 측정은 두 값을 모두 보여 줍니다.\n"
            "- 실제 CIFAR-10에서 초기화 직후 잰 참고값: plain-56 ≈ **1558** (크기 435 대 0.28), ResNet-56 ≈ "
            "**5.8**, plain-20 ≈ **8.8**. 초기화 직후 plain-56의 기울기는 사라지는 것이 아니라 입력 쪽으로 돌아오면서 약 1,500배 "
            "*커집니다* — 굳이 말하면 \"폭발\"에 가깝고, 이것 역시 논문의 설명은 아닙니다. 하나의 통념을 다른 통념으로 "
            "바꾸지 마세요. 논문이 말하는 것은 기울기가 사라지지 않는다는 것뿐입니다. 학습이 시작되면 이 비율은 크게 "
            "움직일 수 있습니다(plain-56의 비율은 수십 번의 반복 만에 1보다 한참 작아지기도 합니다). 입력 쪽 기울기가 "
            "줄어든 걸까요, 마지막 층의 기울기가 커진 걸까요? 아래 히트맵이 알려 줍니다."))
    with st.container(border=True):
        st.markdown(t(
            "**A question for the class.** He et al. (Sec. 4.1) find the degradation of plain nets \"unlikely to be "
            "caused by vanishing gradients\". A year later Veit, Wilber & Belongie (2016) wrote that residual "
            "networks \"avoid the vanishing gradient problem by introducing short paths which can carry gradient "
            "throughout the extent of very deep networks\": they measured gradients along the paths *inside* a "
            "ResNet and found that the long paths contribute almost nothing. Do the two papers disagree, or do "
            "they talk about different things? What do the measurements on this page support?",
            "**수업 질문.** He 외(4.1절)는 plain 네트워크의 성능 저하가 \"기울기 소실 때문일 가능성은 낮다\"고 봅니다. "
            "1년 뒤 Veit, Wilber, Belongie(2016)는 잔차 네트워크가 \"아주 깊은 네트워크 전체에 기울기를 나를 수 있는 "
            "짧은 경로를 만들어 기울기 소실 문제를 피한다\"고 썼습니다. 이들은 ResNet *안의* 경로별 기울기를 재서, 긴 "
            "경로는 거의 기여하지 않는다는 것을 보였습니다. 두 논문은 서로 다른 말을 하는 걸까요, 아니면 서로 다른 것을 "
            "두고 말하는 걸까요? 이 페이지의 측정값은 어느 쪽을 뒷받침하나요?"))


def empty_state_ui() -> None:
    send_to_lab("No run has recorded gradients yet. Start one in the Lab — the **Fig. 1** preset (plain-20 vs "
                "plain-56) records gradient norms every few iterations, and they appear here live. Meanwhile, "
                "measure fresh nets at initialisation below.",
                "아직 기울기를 기록한 실행이 없습니다. 실험실에서 시작하세요 — **그림 1** 프리셋(plain-20 대 plain-56)은 "
                "몇 번의 반복마다 기울기 크기를 기록하고, 그 값이 여기에 실시간으로 나타납니다. 그동안 아래에서 "
                "초기화 직후의 새 네트워크를 재 볼 수 있습니다.")


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


@st.cache_data(show_spinner=False, max_entries=64)
def checkpoint_weights(path: str, modified: float) -> tuple[int, dict[str, float]]:
    """Conv weight norms of a checkpoint (keyed by its modification time, so a newer save is read again)."""
    return probes.checkpoint_weight_norms(path)


def relative_at_checkpoint(store, run_id: str, stats: pd.DataFrame) -> dict[str, float] | None:
    """first/last ‖∇W‖/‖W‖ at the run's latest checkpoint, or None when it has none (or it is unreadable)."""
    path = store.latest_checkpoint(run_id)
    if path is None:
        return None
    try:
        step, weights = checkpoint_weights(str(path), path.stat().st_mtime)
    except (OSError, ValueError):
        return None
    result = probes.relative_ratio_at(stats, step, weights)
    return result if result["ratio"] == result["ratio"] else None  # nan: nothing recorded by then


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
            relative = relative_at_checkpoint(get_store(), row.run_id, stats[row.run_id])
            if relative is not None:
                st.caption(t(f"‖∇W‖ / ‖W‖ (weights of the checkpoint, it. {relative['step']}): "
                             f"**{_ratio_text(relative['ratio'])}**",
                             f"‖∇W‖ / ‖W‖ (체크포인트의 가중치, {relative['step']}회): "
                             f"**{_ratio_text(relative['ratio'])}**"))
    table = pd.concat(frames, ignore_index=True)
    st.plotly_chart(plots.gradient_ratio_figure(table, lang=lang, uirevision=revision), key="grad_ratio",
                    config=PLOT_CONFIG)
    st.caption(t("Dotted: plain nets; solid: ResNets; one colour per depth. Raw ‖∇W‖, the norm the runs record; "
                 "the step relative to the weights, ‖∇W‖ / ‖W‖, is shown above at each run's latest checkpoint "
                 "and measured at initialisation below. "
                 "Above the grey line the first layer gets the larger gradient; far below it, the gradient has "
                 "(nearly) vanished by the time it reaches the input. Watch how plain and residual nets of the "
                 "same depth differ, and how the ratio moves as training goes on.",
                 "점선: plain 네트워크, 실선: ResNet, 깊이마다 한 색. 실행이 기록하는 값은 ‖∇W‖입니다. 가중치에 대한 상대 "
                 "크기 ‖∇W‖ / ‖W‖는 위에 각 실행의 최근 체크포인트 기준으로 보이고, 아래 초기화 직후 측정에서도 잽니다. "
                 "회색 선 위쪽이면 첫 층이 더 큰 기울기를 받고, 한참 "
                 "아래쪽이면 기울기가 입력에 닿을 때쯤 (거의) 사라진 것입니다. 같은 깊이의 plain 네트워크와 ResNet이 어떻게 "
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
                 "왼쪽은 plain 네트워크, 오른쪽은 ResNet입니다. 위쪽에 어두운 띠가 있다면 입력 쪽에서 기울기가 사라진다는 "
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
        "대체로 plain 네트워크보다 작고, 깊은 ResNet일수록(20 → 56 → 110) 더 작습니다. 잔차 함수가 0에 가깝게 머물러 "
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
                          help=t("When one net's responses dwarf the others'.", "한 네트워크의 응답이 너무 커서 나머지가 안 보일 때."))
    st.plotly_chart(plots.response_figure(table, lang=lang, log=log_scale, uirevision=revision),
                    key="grad_responses", config=PLOT_CONFIG)
    st.caption(t(f"From each run's latest record (iteration: {'; '.join(steps)}). The paper measured fully "
                 "trained nets; early in training the picture is still forming. Both recipes start from the same He "
                 "initialisation (no branch starts at zero); the classroom recipe only ramps the learning rate up "
                 "over the first 100 iterations, so early on its weights have moved less than a paper-recipe run's.",
                 f"각 실행의 가장 최근 기록 기준 (반복: {'; '.join(steps)}). 논문은 학습을 마친 네트워크를 쟀습니다. 학습 "
                 "초기에는 그림이 아직 만들어지는 중입니다. 두 레시피 모두 같은 He 초기화에서 시작합니다(0에서 시작하는 "
                 "가지는 없습니다). 수업용 레시피는 처음 100번의 반복 동안 학습률을 서서히 올릴 뿐이라, 초기에는 "
                 "논문 레시피로 학습한 실행보다 가중치가 덜 움직였습니다."))
    st.download_button(t("Download the responses (CSV)", "층 응답 내려받기 (CSV)"),
                       data=_csv(table[["run_id", "name", "depth", "shortcuts", "step", "layer_index", "layer",
                                        "value", "rank"]]),
                       file_name="layer_responses.csv", mime="text/csv", key="grad_csv_resp", on_click="ignore",
                       icon="⬇️")


def charts(run_ids: list[str]) -> bool:
    """Everything that changes while runs train; returns whether any chosen run still trains."""
    store = get_store()
    table = run_picking.run_table(store.list_runs())
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
        kind_names = {"plain": t("plain", "plain 네트워크"), "residual": t("residual", "잔차 네트워크")}
        kinds = st.multiselect(t("Kinds", "종류"), list(kind_names), default=list(kind_names),
                               key="grad_init_kinds", format_func=kind_names.get)
    with cols[3]:
        batch = st.select_slider(t("Batch", "배치 크기"), INIT_BATCHES, value=128, key="grad_init_batch")
    clicked = st.button(t("Measure at initialisation", "초기화 직후 재기"), key="grad_init_go", type="primary",
                        icon="📏")
    return dataset, depths, [k == "residual" for k in kinds], batch, clicked


def init_section() -> None:
    lang = language()
    st.subheader(t("Fresh nets, at initialisation", "초기화 직후의 새 네트워크"))
    st.caption(t("Build nets with He initialisation (the paper's, Sec. 3.4), run one forward and backward pass "
                 "on a batch of images, and measure every layer. No training, no waiting: a few seconds.",
                 "He 초기화(논문 3.4절)로 네트워크를 만들고, 이미지 한 묶음으로 순전파와 역전파를 한 번 해서 모든 층을 잽니다. "
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
        first, last = result["first"], result["last"]
        with columns[index % len(columns)]:
            st.metric(result["name"], _ratio_text(result["ratio"]),
                      help=f"‖∇ {first}‖ = {result['grad_norm'][first]:.3g}, ‖∇ {last}‖ = {result['grad_norm'][last]:.3g}; "
                           f"‖{first}‖ = {result['weight_norm'][first]:.3g}, ‖{last}‖ = {result['weight_norm'][last]:.3g}")
            st.caption(t(f"first / last conv ‖∇W‖; relative to the weights (‖∇W‖ / ‖W‖): "
                         f"**{_ratio_text(result['relative_ratio'])}**",
                         f"첫 / 마지막 합성곱의 ‖∇W‖; 가중치에 대한 상대 크기(‖∇W‖ / ‖W‖): "
                         f"**{_ratio_text(result['relative_ratio'])}**"))
    frame = probes.init_norms_frame(results)
    measures = {"grad_norm": t("‖∇W‖", "‖∇W‖"), "relative": t("‖∇W‖ / ‖W‖", "‖∇W‖ / ‖W‖")}
    value = st.radio(t("Plot", "그래프"), list(measures), format_func=measures.get, horizontal=True,
                     key="grad_init_value",
                     help=t("‖∇W‖ / ‖W‖: the size of an SGD step relative to the layer's weights, what matters "
                            "for a conv followed by batch norm.",
                            "‖∇W‖ / ‖W‖: 층의 가중치에 대한 SGD 한 걸음의 상대 크기. 뒤에 배치 정규화가 있는 합성곱에서는 "
                            "이 값이 중요합니다."))
    titles = {"grad_norm": ("gradient norm ‖∇W‖ (log)", "기울기 크기 ‖∇W‖ (로그)"),
              "relative": ("‖∇W‖ / ‖W‖ (log)", "‖∇W‖ / ‖W‖ (로그)")}
    st.plotly_chart(plots.layer_norms_figure(frame, value=value, lang=lang, y_title=titles[value]),
                    key="grad_init_chart", config=PLOT_CONFIG)
    st.caption(t("One point per convolution, input on the left. On a log axis, a straight slope means the "
                 "norm changes by the same factor in every layer — exponentially with depth. Does the plain "
                 "net's gradient vanish toward the input, or grow? What does the shortcut change?",
                 "합성곱 층마다 점 하나, 왼쪽이 입력 쪽입니다. 로그 축에서 곧은 직선은 층마다 같은 배율로 변한다는 "
                 "뜻, 즉 깊이에 따라 지수적으로 변합니다. plain 네트워크의 기울기는 입력 쪽으로 갈수록 사라지나요, "
                 "커지나요? 숏컷은 무엇을 바꾸나요?"))
    st.download_button(t("Download the measurement (CSV)", "측정값 내려받기 (CSV)"), data=_csv(frame),
                       file_name="gradients_at_init.csv", mime="text/csv", key="grad_csv_init", on_click="ignore",
                       icon="⬇️")


# ---------------------------------------------------------------- the page
st.title(t("🌊 Gradients: do they vanish?", "🌊 기울기: 정말 사라질까?"))
intro_ui()

runs = run_picking.run_table(get_store().list_runs())
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
