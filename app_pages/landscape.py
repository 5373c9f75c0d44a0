"""Loss landscapes (Li et al. 2018): the loss surface around your own trained nets, plain vs residual.

The computing is an analysis job in the training process (resnet_edu.inside.landscape.landscape_job);
this page picks the nets, submits the job, and draws what the store holds, refreshing while the
job sharpens its picture. Every tab sees the same jobs. The result's reading and charts are in
app_pages/landscape_sections/result.py.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.landscape_sections.result import charts_ui, reading_ui
from app_pages.text import landscape as text
from resnet_edu.app import run_picking, security
from resnet_edu.inside.landscape import COARSE_POINTS
from resnet_edu.runs import ACTIVE_STATUSES
from resnet_edu.words import message_words
from ui import (get_store, language, live_analysis_job, md_escape, refusal_words, run_and_twin_ui, send_to_lab,
                stop_job_button, submit_job, t, without_paths)

GRIDS = [5, 9, 15, 21, 31, 51]
DEFAULT_GRID = 15
IMAGES = [32, 64, 128, 256, 512]
SPANS = [0.25, 0.5, 1.0, 2.0]
ACTIVE = ACTIVE_STATUSES


# ---------------------------------------------------------------- choosing

def empty_state_ui() -> None:
    send_to_lab(**text.NEEDS_CHECKPOINTS)


def default_run(table: pd.DataFrame, with_ckpt: pd.DataFrame) -> list[str]:
    """Residual runs with a checkpoint, those with a plain twin first, newest first (the Fig. 1 + fix pair)."""
    residual = with_ckpt[with_ckpt["shortcuts"]].sort_values("created_at", ascending=False)
    paired = [r for r in residual["run_id"] if run_picking.twin_of(table, r, with_ckpt)]
    return paired + [r for r in residual["run_id"] if r not in paired] + \
        [r for r in with_ckpt.sort_values("created_at", ascending=False)["run_id"] if r not in set(residual["run_id"])]


def nets_ui(table: pd.DataFrame, checkpoints: dict[str, str]) -> list[str]:
    """The run to look at and the run beside it (its twin by default)."""
    with_ckpt = table[table["run_id"].isin(checkpoints)]
    run_id, other = run_and_twin_ui(
        table, with_ckpt, default_run(table, with_ckpt), "landscape", t("Net", "네트워크"),
        t("Beside it", "나란히 볼 네트워크"),
        run_help=t("Residual nets with a plain twin come first, newest first.",
                   "plain 쌍둥이 네트워크가 있는 잔차 네트워크가 먼저, 최근 것부터 나옵니다."),
        other_help=t(**text.TWIN_HELP))
    chosen = [r for r in (run_id, other) if r is not None]
    plain_first = sorted(chosen, key=lambda r: bool(table.loc[table["run_id"] == r, "shortcuts"].iloc[0]))
    return plain_first


def settings_ui() -> tuple[dict, bool]:
    """(job parameters without run_ids, compute clicked?)"""
    cols = st.columns(4)
    with cols[0]:
        grid = st.select_slider(t("Grid (points per axis)", "격자 (축마다 점 수)"), GRIDS, value=DEFAULT_GRID, key="landscape_grid",
                                persist_state="session",
                                help=t(f"Li et al. (2018) use 51×51. The picture appears at {COARSE_POINTS}×{COARSE_POINTS} and "
                                       "sharpens.",
                                       f"Li 외(2018)는 51×51을 씁니다. 그림은 {COARSE_POINTS}×{COARSE_POINTS}(으)로 먼저 나타나고 점점 "
                                       "선명해집니다."))
    with cols[1]:
        images = st.select_slider(t("Training images", "훈련 이미지 수"), IMAGES, value=128, key="landscape_images",
                                  persist_state="session",
                                  help=t("The loss is measured on these fixed training images (no augmentation).",
                                         "고정된 훈련 이미지(증강 없음)에서 손실을 잽니다."))
    with cols[2]:
        span = st.select_slider(t("Span", "범위"), SPANS, value=1.0, key="landscape_span", persist_state="session",
                                help=t("The grid covers [−span, span]² in filter-normalised units (Li et al.: 1).",
                                       "격자는 필터 정규화 단위로 [−범위, 범위]²를 덮습니다 (Li 외: 1)."))
    with cols[3]:
        seed = st.number_input(t("Seed of the directions", "방향의 시드"), 0, 10_000,
                               value=0, key="landscape_seed", persist_state="session")
    clicked = st.button(t("Compute the landscape", "손실 지형 계산"), type="primary", icon="🏔️", key="landscape_go")
    return {"grid": int(grid), "images": int(images), "span": float(span), "seed": int(seed)}, clicked


# ---------------------------------------------------------------- the result

def job_ui(job_id: str) -> None:
    """The job's status and result; refreshes itself while the job runs."""

    def draw(job: dict) -> None:
        status_ui(job)
        if job.get("result"):
            reading_ui(job["result"])
            charts_ui(job["result"], job_id)

    live_analysis_job(job_id, draw)


def status_ui(job: dict) -> None:
    status, fraction = job["status"], float(job.get("fraction") or 0.0)
    seconds = float((job.get("result") or {}).get("seconds") or 0.0)
    if status in ACTIVE:
        eta = ""
        if status == "running" and 0.02 < fraction < 1 and seconds:
            eta = t(f", about {seconds * (1 - fraction) / fraction:.0f} s left", f", 약 {seconds * (1 - fraction) / fraction:.0f}초 남음")
        label = t("queued behind other work in the training process", "학습 프로세스에서 차례를 기다리는 중") \
            if status == "queued" else f"{md_escape(message_words(job.get('message') or '', language()))} {fraction:.0%}{eta}"
        cols = st.columns([5, 1])
        cols[0].progress(min(1.0, fraction), text=label)
        stop_job_button(cols[1], job["job_id"], "landscape_stop")  # the tab that started it, or the teacher
    elif status == "failed":
        message = without_paths(job.get("message"))  # a student reads no server path
        st.error(t(f"The landscape could not be computed: {md_escape(message)}",
                   f"손실 지형을 계산할 수 없습니다: {md_escape(message_words(message, 'ko'))}"))
    elif status == "stopped":
        st.warning(t("Stopped: the picture shows the points computed until then.",
                     "중지됨: 그때까지 계산한 점을 보여 줍니다."), icon="⏹️")
    else:
        result = job.get("result") or {}
        device = str(result.get("device", "?")).upper()  # "CPU", "CUDA:0", "MPS"
        st.caption(t(f"Computed in {result.get('seconds', 0):.0f} s on {device} "
                     f"({result.get('precision', '?')}).",
                     f"{device}에서 {result.get('seconds', 0):.0f}초 걸렸습니다 "
                     f"({result.get('precision', '?')})."))


# ---------------------------------------------------------------- the page
st.title(t("🏔️ Loss landscape: the loss surface with and without shortcuts",
           "🏔️ 손실 지형: 숏컷이 있을 때와 없을 때의 손실 지형"))
st.markdown(t(**text.INTRO))

store = get_store()
runs, checkpoint_of = run_picking.trained_runs(store)
if not checkpoint_of:
    empty_state_ui()
else:
    chosen = nets_ui(runs, checkpoint_of)
    params, clicked = settings_ui()
    if clicked:
        try:
            for root in runs[runs["run_id"].isin(chosen)]["data_root"]:  # recorded by the CLI too: same folders
                security.check_recorded_root(root)
            submit_job("landscape", {"run_ids": chosen, **params}, run_ids=chosen)  # this tab's caps on waiting jobs; its Stop
        except ValueError as error:  # a folder outside the allowed ones, or a cap on waiting jobs (NotAdmitted)
            st.error(t("Could not start: ", "시작할 수 없습니다: ") + md_escape(refusal_words(error)))
    job_id = store.latest_analysis("landscape", chosen)
    if job_id is None:
        st.caption(t(**text.how_long(DEFAULT_GRID, COARSE_POINTS)))
    else:
        job_ui(job_id)
