"""Lesion study (Veit et al. 2016): delete blocks from trained nets at test time.

A residual net loses a little accuracy per deleted block; its plain twin collapses. The
computing is an analysis job in the training process (resnet_edu.lesion.lesion_job); this
page picks the nets, submits the job and draws what the store holds, shared by every tab.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from resnet_edu import lesion, plots, run_picking
from ui import get_manager, get_store, language, live_analysis_job, md_escape, send_to_lab, t

PLOT_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}
TEST_IMAGES = list(lesion.TEST_IMAGES)
ACTIVE = ("queued", "running")


# ---------------------------------------------------------------- UI pieces

def empty_state_ui() -> None:
    send_to_lab("The lesion study needs a trained residual net with a checkpoint (and ideally its plain twin). "
                "Train one in the Lab — the **Fig. 1 + the fix** preset trains plain-56 and ResNet-56 together — "
                "and come back when an epoch has finished.",
                "블록 제거 실험에는 체크포인트가 있는 학습된 잔차 네트워크와, 가능하면 같은 깊이의 plain 쌍둥이 네트워크가 필요합니다. 실험실에서 "
                "학습하세요 — **그림 1 + 해법** 프리셋은 plain-56과 ResNet-56을 함께 학습합니다 — 그리고 한 에폭이 "
                "끝나면 다시 오세요.")


def nets_ui(table: pd.DataFrame, checkpoints: dict[str, str]) -> list[str]:
    """The residual run and the run to compare it with (its plain twin by default)."""
    with_ckpt = table[table["run_id"].isin(checkpoints)]
    residual = with_ckpt[with_ckpt["shortcuts"]]
    labels = dict(zip(with_ckpt["run_id"], with_ckpt["name"]))
    paired = [r for r in residual["run_id"] if run_picking.twin_of(table, r, with_ckpt)]
    options = paired + [r for r in residual["run_id"] if r not in paired]  # runs with a twin first
    left, right = st.columns(2)
    with left:
        run_id = st.selectbox(t("Residual net", "잔차 네트워크"), options, format_func=labels.get, key="lesion_run")
    twin = run_picking.twin_of(table, run_id, with_ckpt)
    others = [None] + [r for r in with_ckpt["run_id"] if r != run_id]
    other_labels = {None: t("— none —", "— 없음 —"), **labels}
    if st.session_state.get("lesion_twin_for") != run_id or st.session_state.get("lesion_other") not in others:
        st.session_state["lesion_twin_for"] = run_id
        st.session_state["lesion_other"] = twin
    with right:
        other = st.selectbox(t("Compare with", "비교할 네트워크"), others, format_func=other_labels.get, key="lesion_other",
                             help=t("Its plain twin (same depth, same comparison) is proposed.",
                                    "같은 깊이, 같은 비교 실험의 plain 쌍둥이 네트워크가 먼저 제안됩니다."))
    return [r for r in (run_id, other) if r is not None]


def settings_ui() -> tuple[int, tuple[int, ...], int, bool]:
    """(test images, k values, draws per k, run clicked?)"""
    cols = st.columns(3)
    with cols[0]:
        count = st.select_slider(t("Test images", "테스트 이미지 수"), TEST_IMAGES, value=500, key="lesion_count",
                                 help=t("More images: a more precise error, a longer wait.",
                                        "많을수록 오류가 정확해지지만 더 오래 걸립니다."))
    with cols[1]:
        k_max = st.slider(t("Delete up to k random blocks", "무작위로 지울 블록 수 k (최대)"), 1, 8, 3, key="lesion_kmax")
    with cols[2]:
        draws = st.slider(t("Random draws per k", "k마다 무작위 추첨 횟수"), 1, 5, 2, key="lesion_draws")
    clicked = st.button(t("Run the lesion study", "블록 제거 실험 실행"), type="primary", icon="✂️", key="lesion_go")
    return count, tuple(range(1, k_max + 1)), draws, clicked


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def results_ui(result: dict) -> None:
    lang = language()
    draws = result.get("settings", {}).get("draws", 1)
    singles, randoms, sentences = [], [], []
    for net in result.get("nets", []):
        single = pd.DataFrame(net["single"])
        random_k = pd.DataFrame(net["random"])
        num_classes = int(net.get("num_classes") or 10)
        meta = dict(run_id=net["run_id"], name=net["name"], depth=int(net["depth"]), shortcuts=bool(net["shortcuts"]))
        singles.append(single.assign(**meta))
        summary = lesion.summarise_random(random_k)
        randoms.append(summary.assign(**meta))
        full = float(single["error"].iloc[0])
        chance = 1 - 1 / max(2, num_classes)
        if full > chance - 0.05:
            st.warning(t(f"{md_escape(net['name'])} is still at chance level ({_pct(full)} test error): there is "
                         "nothing to lose yet. Train it longer for a meaningful lesion study.",
                         f"{md_escape(net['name'])}은(는) 아직 찍기 수준입니다(테스트 오류 {_pct(full)}). 아직 잃을 것이 "
                         "없으니, 의미 있는 블록 제거 실험을 하려면 더 오래 학습하세요."), icon="⚠️")
        lesioned = single[single["block"] != "none"]
        mean_one = float(lesioned["error"].mean()) if len(lesioned) else float("nan")
        worst = lesioned.loc[lesioned["error"].idxmax()] if len(lesioned) else None
        name = md_escape(net["name"])
        sentences.append(t(
            f"**{name}**: {_pct(full)} test error with every block; deleting one block gives "
            f"{_pct(mean_one)} on average"
            + (f", worst {_pct(float(worst['error']))} (block {worst['block']})." if worst is not None else "."),
            f"**{name}**: 모든 블록이 있을 때 테스트 오류 {_pct(full)}; 블록 하나를 지우면 평균 {_pct(mean_one)}"
            + (f", 가장 나쁠 때 {_pct(float(worst['error']))} (블록 {worst['block']})." if worst is not None else ".")))
    if not singles:
        return
    with st.container(border=True):
        st.markdown("  \n".join(sentences))
    singles_table = pd.concat(singles, ignore_index=True)
    st.subheader(t("One block deleted at a time", "블록을 하나씩 지울 때"))
    st.plotly_chart(plots.lesion_blocks_figure(singles_table, lang=lang), key="lesion_single", config=PLOT_CONFIG)
    st.caption(t("Each point: the test error of the trained net with that one block reduced to its shortcut "
                 "(nothing retrained). Thin flat lines: the intact nets. ◆ marks the blocks that halve the map "
                 "and double the channels: there the shortcut only subsamples and zero-pads, so deleting them "
                 "hurts more — Veit et al. saw the same.",
                 "각 점: 학습된 네트워크에서 그 블록 하나만 숏컷으로 바꾼(다시 학습하지 않은) 상태의 테스트 오류. 가는 수평선: "
                 "아무것도 지우지 않은 네트워크. ◆는 맵을 절반으로 줄이고 채널을 두 배로 늘리는 블록입니다. 그곳의 숏컷은 "
                 "서브샘플링하고 0을 채우기만 하므로 지우면 더 크게 다칩니다 — Veit 외도 같은 것을 보았습니다."))
    st.download_button(t("Download (CSV)", "내려받기 (CSV)"),
                       data=singles_table[["run_id", "name", "depth", "shortcuts", "block", "position", "stage",
                                           "downsampling", "error", "delta"]].to_csv(index=False, lineterminator="\n"),
                       file_name="lesion_one_block.csv", mime="text/csv", key="lesion_csv_single",
                       on_click="ignore", icon="⬇️")
    randoms_table = pd.concat(randoms, ignore_index=True)
    st.subheader(t("k random blocks deleted", "무작위 블록 k개를 지울 때"))
    st.plotly_chart(plots.lesion_random_figure(randoms_table, lang=lang), key="lesion_random", config=PLOT_CONFIG)
    st.caption(t(f"Mean test error over {draws} random choices of k blocks (bars: ± one standard deviation); "
                 "the same blocks are deleted from both nets. Blocks that change the map size are left in place. "
                 "k = 0 is the intact net.",
                 f"블록 k개를 무작위로 {draws}번 골라 지운 평균 테스트 오류(막대: ± 표준편차). 두 네트워크에서 같은 블록을 "
                 "지웁니다. 맵 크기를 바꾸는 블록은 남겨 둡니다. k = 0은 아무것도 지우지 않은 네트워크입니다."))
    st.download_button(t("Download (CSV)", "내려받기 (CSV)"),
                       data=randoms_table[["run_id", "name", "depth", "shortcuts", "k", "mean", "std", "min", "max",
                                           "draws"]].to_csv(index=False, lineterminator="\n"),
                       file_name="lesion_random_blocks.csv", mime="text/csv", key="lesion_csv_random",
                       on_click="ignore", icon="⬇️")


def latest_job(store, run_ids: list[str]) -> str | None:
    """The newest lesion job of exactly these runs (any tab's), or None."""
    jobs = store.list_analyses(kind="lesion", run_id=run_ids[0])
    for _, job in jobs.iterrows():
        if sorted(job["run_ids"]) == sorted(run_ids):
            return str(job["job_id"])
    return None


def job_ui(job_id: str) -> None:
    """The job's progress (with Stop) or its result; refreshes itself while the job runs."""

    def draw(job: dict) -> None:
        if job["status"] in ACTIVE:
            fraction = float(job.get("fraction") or 0.0)
            label = (t("queued behind other work in the training process", "학습 프로세스에서 차례를 기다리는 중")
                     if job["status"] == "queued" else f"{md_escape(job.get('message') or '')} {fraction:.0%}")
            cols = st.columns([5, 1])
            cols[0].progress(min(1.0, fraction), text=label)
            if cols[1].button(t("Stop", "중지"), key="lesion_stop", icon="⏹️"):
                get_manager().stop_analysis(job_id)
                st.rerun()
        elif job["status"] == "failed":
            st.error(t(f"The lesion study could not run: {md_escape(job.get('message'))}",
                       f"블록 제거 실험을 실행할 수 없습니다: {md_escape(job.get('message'))}"))
        elif job["status"] == "stopped":
            st.warning(t("Stopped: the nets finished before the stop are shown.",
                         "중지됨: 중지 전에 끝난 네트워크만 보여 줍니다."), icon="⏹️")
        if job.get("result"):
            results_ui(job["result"])

    live_analysis_job(job_id, draw)


# ---------------------------------------------------------------- the page
st.title(t("✂️ Lesion study: delete a block", "✂️ 블록 제거 실험: 블록 하나 지우기"))
st.markdown(t(
    "A later paper's experiment: Veit, Wilber & Belongie (2016) deleted single blocks from trained ResNets at test "
    "time (a 110-layer ResNet on CIFAR-10). Because every block adds its output to an identity shortcut, a ResNet "
    "is like a collection of many paths of different lengths — \"an ensemble of relatively shallow networks\". "
    "Delete one block and the other paths still carry the signal: the error rises, but far less than you would "
    "expect. A plain net has only one path; delete any block and it collapses toward chance. He et al. saw a "
    "related sign in the paper itself (Fig. 7): the deeper the ResNet, the smaller its layer responses — "
    "\"an individual layer of ResNets tends to modify the signal less\". Try it on your own runs.",
    "이후 논문의 실험: Veit, Wilber, Belongie(2016)는 학습된 ResNet(CIFAR-10의 110층 ResNet)에서 테스트할 때 블록을 "
    "하나씩 지웠습니다. 모든 블록이 자기 출력을 항등 숏컷에 더하므로, ResNet은 길이가 서로 다른 많은 경로의 모음, 즉 "
    "\"비교적 얕은 네트워크들의 앙상블\"과 같습니다. 블록 하나를 지워도 다른 경로가 신호를 나르니 오류는 오르지만 "
    "생각보다 훨씬 적게 오릅니다. plain 네트워크에는 경로가 하나뿐이라, 어느 블록이든 지우면 찍기 수준으로 무너집니다. "
    "He 외는 논문 안에서 이와 통하는 단서를 보였습니다(그림 7): ResNet이 깊을수록 층 응답이 작아, \"ResNet의 층 하나는 "
    "신호를 덜 바꾸는 경향이 있다\"는 것입니다. 여러분의 실행에서 직접 확인해 보세요."))
st.caption(t("Deleting a block keeps only its shortcut: the identity, or — where the block halves the map — "
             "subsampling with zero-padded extra channels (option A). Nothing is retrained.",
             "블록을 지우면 숏컷만 남습니다: 항등 함수, 또는 맵을 절반으로 줄이는 블록에서는 서브샘플링과 늘어난 채널의 "
             "0 채우기(옵션 A). 다시 학습하지는 않습니다."))

store = get_store()
runs = run_picking.run_table(store.list_runs())
checkpoint_of = run_picking.checkpoints_by_run(store, runs["run_id"])
has_residual = bool(runs[runs["run_id"].isin(checkpoint_of)]["shortcuts"].any()) if checkpoint_of else False
if not has_residual:
    empty_state_ui()
else:
    chosen = nets_ui(runs, checkpoint_of)
    count, ks, draws, clicked = settings_ui()
    if clicked:
        try:
            get_manager().submit_analysis("lesion", {"run_ids": chosen, "count": count, "ks": list(ks),
                                                     "draws": draws}, run_ids=chosen)
        except ValueError as error:
            st.error(t(f"Could not start: {md_escape(error)}", f"시작할 수 없습니다: {md_escape(error)}"))
    job_id = latest_job(store, chosen)
    if job_id is not None:
        job_ui(job_id)
    else:
        st.caption(t("On a laptop CPU, the study of a 56-layer pair takes a few minutes with 500 test images "
                     "(fewer images: quicker; on a GPU: seconds). It runs in the training process; results are "
                     "shared with every open tab.",
                     "노트북 CPU에서 56층 네트워크 한 쌍을 테스트 이미지 500장으로 실험하면 몇 분 걸립니다(이미지가 적으면 더 빠르고, "
                     "GPU에서는 몇 초). 계산은 학습 프로세스에서 돌며 결과는 열려 있는 모든 탭이 함께 씁니다."))
