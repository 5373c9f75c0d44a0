"""Lesion study (Veit et al. 2016): delete blocks from trained nets at test time.

A residual net loses a little accuracy per deleted block; its plain twin collapses. The
computing is an analysis job in the training process (resnet_edu.inside.lesion.lesion_job); this
page picks the nets, submits the job and draws what the store holds, shared by every tab.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.text import lesion as text
from resnet_edu import plots
from resnet_edu.app import run_picking, security
from resnet_edu.inside import lesion
from resnet_edu.runs import ACTIVE_STATUSES
from resnet_edu.runs.export import csv_text
from resnet_edu.words import message_words
from ui import (
    PLOT_CONFIG,
    get_store,
    language,
    live_analysis_job,
    md_escape,
    refusal_words,
    run_and_twin_ui,
    send_to_lab,
    stop_job_button,
    submit_job,
    t,
    without_paths,
)

TEST_IMAGES = list(lesion.TEST_IMAGES)
DEFAULT_TEST_IMAGES = 500
ACTIVE = ACTIVE_STATUSES


# ---------------------------------------------------------------- UI pieces

def empty_state_ui() -> None:
    send_to_lab(**text.NEEDS_A_RESIDUAL_NET)


def nets_ui(table: pd.DataFrame, checkpoints: dict[str, str]) -> list[str]:
    """The residual run and the run to compare it with: its plain twin if the twin has learned
    something, otherwise a plain net that has (and the page says why)."""
    with_ckpt = table[table["run_id"].isin(checkpoints)]
    residual = with_ckpt[with_ckpt["shortcuts"]]
    paired = [r for r in residual["run_id"] if run_picking.twin_of(table, r, with_ckpt)]
    options = paired + [r for r in residual["run_id"] if r not in paired]  # runs with a twin first
    state = run_picking.learning_state(get_store(), with_ckpt["run_id"])
    run_id, other = run_and_twin_ui(
        table, with_ckpt, options, "lesion", t("Residual net", "잔차 네트워크"), t("Compare with", "비교할 네트워크"),
        other_help=t("A plain net that has learned something is chosen by default: its twin (same depth, same "
                     "comparison) if the twin has, otherwise the deepest plain net that has.",
                     "기본으로 무언가를 배운 plain 네트워크를 골라 둡니다. 쌍둥이(같은 깊이, 같은 비교 실험)가 배웠다면 "
                     "쌍둥이를, 아니면 배운 plain 네트워크 중 가장 깊은 것을 고릅니다."),
        propose=lambda r: run_picking.lesion_partner(table, r, with_ckpt, state))
    partner_note_ui(table, with_ckpt, state, run_id, other)
    return [r for r in (run_id, other) if r is not None]


def partner_note_ui(table: pd.DataFrame, with_ckpt: pd.DataFrame, state: pd.DataFrame, run_id: str,
                    other: str | None) -> None:
    """Say why the proposed partner is not the twin, or why the chosen one cannot show the contrast yet."""
    names = dict(zip(table["run_id"], table["name"]))
    rows = state.set_index("run_id")
    twin = run_picking.twin_of(table, run_id, with_ckpt)
    if twin is not None and twin != other and not rows.loc[twin, "learned"]:
        st.caption(t(**text.twin_not_learned(names[twin], rows.loc[twin, "train_error"], int(rows.loc[twin, "steps"]))))
    if other is None or rows.loc[other, "learned"]:
        return
    need = run_picking.iterations_to_learn(state, other, run_id)
    st.info(t(**text.partner_not_learned(names[other], rows.loc[other, "train_error"], int(rows.loc[other, "steps"]),
                                         names[run_id], rows.loc[run_id, "learned_at"], need)), icon="⏳")


def settings_ui() -> tuple[int, tuple[int, ...], int, bool]:
    """(test images, k values, draws per k, run clicked?)"""
    cols = st.columns(3)
    with cols[0]:
        count = st.select_slider(t("Test images", "테스트 이미지 수"), TEST_IMAGES, value=DEFAULT_TEST_IMAGES, key="lesion_count",
                                 persist_state="session",
                                 help=t("More images: a more precise error, a longer wait.",
                                        "많을수록 오류가 정확해지지만 더 오래 걸립니다."))
    with cols[1]:
        k_max = st.slider(t("Delete up to k random blocks", "무작위로 지울 블록 수 k (최대)"), 1, 8,
                          value=3, key="lesion_kmax", persist_state="session")
    with cols[2]:
        draws = st.slider(t("Random draws per k", "k마다 무작위 추첨 횟수"), 1, 5, value=2, key="lesion_draws",
                          persist_state="session")
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
    st.caption(t(**text.SINGLE_BLOCK_CAPTION))
    st.download_button(t("Download (CSV)", "내려받기 (CSV)"),
                       data=csv_text(singles_table[["run_id", "name", "depth", "shortcuts", "block", "position", "stage",
                                           "downsampling", "error", "delta"]]),
                       file_name="lesion_one_block.csv", mime="text/csv", key="lesion_csv_single",
                       on_click="ignore", icon="⬇️")
    randoms_table = pd.concat(randoms, ignore_index=True)
    st.subheader(t("k random blocks deleted", "무작위 블록 k개를 지울 때"))
    st.plotly_chart(plots.lesion_random_figure(randoms_table, lang=lang), key="lesion_random", config=PLOT_CONFIG)
    st.caption(t(f"Mean test error over {draws} random choices of k blocks (bars: ± one standard deviation); "
                 "the same blocks are deleted from both nets. Blocks that change the map size are left in place. "
                 "k = 0 is the intact net. Dotted: plain nets, solid: ResNets, one colour per depth.",
                 f"블록 k개를 무작위로 {draws}번 골라 지운 평균 테스트 오류(막대: ± 표준편차). 두 네트워크에서 같은 블록을 "
                 "지웁니다. 맵 크기를 바꾸는 블록은 남겨 둡니다. k = 0은 아무것도 지우지 않은 네트워크입니다. 점선: plain "
                 "네트워크, 실선: ResNet, 깊이마다 한 색."))
    st.download_button(t("Download (CSV)", "내려받기 (CSV)"),
                       data=csv_text(randoms_table[["run_id", "name", "depth", "shortcuts", "k", "mean", "std", "min", "max",
                                           "draws"]]),
                       file_name="lesion_random_blocks.csv", mime="text/csv", key="lesion_csv_random",
                       on_click="ignore", icon="⬇️")


def job_ui(job_id: str) -> None:
    """The job's progress (with Stop) or its result; refreshes itself while the job runs."""

    def draw(job: dict) -> None:
        if job["status"] in ACTIVE:
            fraction = float(job.get("fraction") or 0.0)
            label = (t("queued behind other work in the training process", "학습 프로세스에서 차례를 기다리는 중")
                     if job["status"] == "queued"
                     else f"{md_escape(message_words(job.get('message') or '', language()))} {fraction:.0%}")
            cols = st.columns([5, 1])
            cols[0].progress(min(1.0, fraction), text=label)
            stop_job_button(cols[1], job_id, "lesion_stop")  # the tab that started it, or the teacher
        elif job["status"] == "failed":
            message = without_paths(job.get("message"))  # a student reads no server path
            st.error(t(f"The lesion study could not run: {md_escape(message)}",
                       f"블록 제거 실험을 실행할 수 없습니다: {md_escape(message_words(message, 'ko'))}"))
        elif job["status"] == "stopped":
            st.warning(t("Stopped: the nets finished before the stop are shown.",
                         "중지됨: 중지 전에 끝난 네트워크만 보여 줍니다."), icon="⏹️")
        if job.get("result"):
            results_ui(job["result"])

    live_analysis_job(job_id, draw)


# ---------------------------------------------------------------- the page
st.title(t("✂️ Lesion study: delete a block", "✂️ 블록 제거 실험: 블록 하나 지우기"))
st.markdown(t(**text.INTRO))
st.caption(t(**text.WHAT_DELETING_KEEPS))

store = get_store()
runs, checkpoint_of = run_picking.trained_runs(store)
has_residual = bool(runs[runs["run_id"].isin(checkpoint_of)]["shortcuts"].any()) if checkpoint_of else False
if not has_residual:
    empty_state_ui()
else:
    chosen = nets_ui(runs, checkpoint_of)
    count, ks, draws, clicked = settings_ui()
    if clicked:
        try:
            for root in runs[runs["run_id"].isin(chosen)]["data_root"]:  # recorded by the CLI too: same folders
                security.check_recorded_root(root)
            submit_job("lesion", {"run_ids": chosen, "count": count, "ks": list(ks), "draws": draws},
                       run_ids=chosen)  # this tab's caps on waiting jobs; its Stop is this tab's
        except ValueError as error:  # a folder outside the allowed ones, or a cap on waiting jobs (NotAdmitted)
            st.error(t("Could not start: ", "시작할 수 없습니다: ") + md_escape(refusal_words(error)))
    job_id = store.latest_analysis("lesion", chosen)
    if job_id is not None:
        job_ui(job_id)
    else:
        st.caption(t(**text.how_long(DEFAULT_TEST_IMAGES)))
