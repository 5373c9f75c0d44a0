"""Loss landscapes (Li et al. 2018): the loss surface around your own trained nets, plain vs residual.

The computing is an analysis job in the training process (resnet_edu.landscape.landscape_job);
this page picks the nets, submits the job, and draws what the store holds, refreshing while the
job sharpens its picture. Every tab sees the same jobs.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from resnet_edu import landscape, run_picking
from resnet_edu.plots import landscape as landscape_plots
from ui import get_manager, get_store, language, live_analysis_job, md_escape, send_to_lab, t

PLOT_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}
GRIDS = [5, 9, 15, 21, 31, 51]
IMAGES = [32, 64, 128, 256, 512]
SPANS = [0.25, 0.5, 1.0, 2.0]
ACTIVE = ("queued", "running")


# ---------------------------------------------------------------- choosing

def empty_state_ui() -> None:
    send_to_lab("A landscape needs trained nets with a checkpoint. Train the **Fig. 1 + the fix** preset in the "
                "Lab (plain-56 and ResNet-56 train together) and come back when an epoch has finished.",
                "손실 지형에는 체크포인트가 있는 학습된 네트워크가 필요합니다. 실험실에서 **그림 1 + 해법** 프리셋(plain-56과 "
                "ResNet-56을 함께 학습)을 학습하고, 한 에폭이 끝나면 다시 오세요.")


def default_run(table: pd.DataFrame, with_ckpt: pd.DataFrame) -> list[str]:
    """Residual runs with a checkpoint, those with a plain twin first, newest first (the Fig. 1 + fix pair)."""
    residual = with_ckpt[with_ckpt["shortcuts"]].sort_values("created_at", ascending=False)
    paired = [r for r in residual["run_id"] if run_picking.twin_of(table, r, with_ckpt)]
    return paired + [r for r in residual["run_id"] if r not in paired] + \
        [r for r in with_ckpt.sort_values("created_at", ascending=False)["run_id"] if r not in set(residual["run_id"])]


def nets_ui(table: pd.DataFrame, checkpoints: dict[str, str]) -> list[str]:
    """The run to look at and the run beside it (its twin by default)."""
    with_ckpt = table[table["run_id"].isin(checkpoints)]
    labels = dict(zip(with_ckpt["run_id"], with_ckpt["name"]))
    options = default_run(table, with_ckpt)
    left, right = st.columns(2)
    with left:
        run_id = st.selectbox(t("Net", "네트워크"), options, format_func=labels.get, key="landscape_run",
                              help=t("Residual nets with a plain twin come first, newest first.",
                                     "plain 쌍둥이 네트워크가 있는 잔차 네트워크가 먼저, 최근 것부터 나옵니다."))
    twin = run_picking.twin_of(table, run_id, with_ckpt)
    others = [None] + [r for r in with_ckpt["run_id"] if r != run_id]
    other_labels = {None: t("— none —", "— 없음 —"), **labels}
    if st.session_state.get("landscape_twin_for") != run_id or st.session_state.get("landscape_other") not in others:
        st.session_state["landscape_twin_for"] = run_id
        st.session_state["landscape_other"] = twin
    with right:
        other = st.selectbox(t("Beside it", "나란히 볼 네트워크"), others, format_func=other_labels.get,
                             key="landscape_other",
                             help=t("Its twin (same depth, the other kind) is proposed: the same random "
                                    "directions are used for both.",
                                    "쌍둥이 네트워크(같은 깊이, 다른 종류)이 먼저 제안됩니다. 두 네트워크에 같은 무작위 방향을 씁니다."))
    chosen = [r for r in (run_id, other) if r is not None]
    plain_first = sorted(chosen, key=lambda r: bool(table.loc[table["run_id"] == r, "shortcuts"].iloc[0]))
    return plain_first


def settings_ui() -> tuple[dict, bool]:
    """(job parameters without run_ids, compute clicked?)"""
    cols = st.columns(4)
    with cols[0]:
        grid = st.select_slider(t("Grid (points per axis)", "격자 (축마다 점 수)"), GRIDS, value=15, key="landscape_grid",
                                help=t("The paper uses 51×51. The picture appears at 5×5 and sharpens.",
                                       "논문은 51×51을 씁니다. 그림은 5×5로 먼저 나타나고 점점 선명해집니다."))
    with cols[1]:
        images = st.select_slider(t("Training images", "학습 이미지 수"), IMAGES, value=128, key="landscape_images",
                                  help=t("The loss is measured on these fixed training images (no augmentation).",
                                         "고정된 학습 이미지(증강 없음)에서 손실을 잽니다."))
    with cols[2]:
        span = st.select_slider(t("Span", "범위"), SPANS, value=1.0, key="landscape_span",
                                help=t("The grid covers [−span, span]² in filter-normalised units (the paper: 1).",
                                       "격자는 필터 정규화 단위로 [−범위, 범위]²를 덮습니다 (논문: 1)."))
    with cols[3]:
        seed = st.number_input(t("Seed of the directions", "방향의 시드"), 0, 10_000, 0, key="landscape_seed")
    clicked = st.button(t("Compute the landscape", "손실 지형 계산"), type="primary", icon="🏔️", key="landscape_go")
    return {"grid": int(grid), "images": int(images), "span": float(span), "seed": int(seed)}, clicked


def latest_job(store, run_ids: list[str]) -> str | None:
    """The newest landscape job of exactly these runs (any tab's), or None."""
    jobs = store.list_analyses(kind="landscape", run_id=run_ids[0])
    for _, job in jobs.iterrows():
        if sorted(job["run_ids"]) == sorted(run_ids):
            return str(job["job_id"])
    return None


# ---------------------------------------------------------------- the result

def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def reading_ui(result: dict) -> None:
    """The sentence that reads the result honestly, beside the paper's published picture in words."""
    nets = result.get("nets", [])
    plain = next((n for n in nets if not n["shortcuts"] and n["known"]), None)
    residual = next((n for n in nets if n["shortcuts"] and n["known"]), None)
    left, right = st.columns(2)
    with left, st.container(border=True):
        if plain is None or residual is None:
            st.markdown(t("Compare a plain net with its residual twin to read the difference the shortcuts make.",
                          "숏컷이 만드는 차이를 읽으려면 plain 네트워크와 그 잔차 쌍둥이를 비교하세요."))
        else:
            c = landscape.comparison(plain, residual)
            size = len(plain["known"])
            if plain["step"] == residual["step"]:
                steps = t(f"{plain['step']}-iteration", f"{plain['step']}회 반복한")
            else:
                steps = t(f"{plain['step']}- and {residual['step']}-iteration",
                          f"{plain['step']}회와 {residual['step']}회 반복한")
            verdict_en = "is" if c["plain_rougher"] else "is not"
            verdict_ko = "더 거칩니다" if c["plain_rougher"] else "더 거칠지 않습니다"
            ratio = f" ({c['roughness_ratio']:.2g}×)" if c["roughness_ratio"] else ""
            st.markdown(t(
                f"On your {steps} nets, the plain surface **{verdict_en} rougher** than the residual one: the mean "
                f"absolute second difference over the {size}×{size} grid is {_num(c['plain_roughness'])} for "
                f"{md_escape(plain['name'])} and {_num(c['residual_roughness'])} for {md_escape(residual['name'])}"
                f"{ratio}; {_pct(c['plain_concave'])} vs {_pct(c['residual_concave'])} of the second differences "
                f"are negative (where the surface bends down, it is not convex). The loss rises by "
                f"{_num(c['plain_rise'])} vs {_num(c['residual_rise'])} at distance 0.5 along the 1-D slice, from "
                f"{_num(plain['center_loss'])} and {_num(residual['center_loss'])} at the trained weights; the basin "
                f"where the loss stays below twice its trained value covers {_pct(c['plain_basin'])} vs "
                f"{_pct(c['residual_basin'])} of the square.",
                f"여러분의 {steps} 네트워크에서 plain 네트워크의 지형은 잔차 네트워크보다 **{verdict_ko}**: {size}×{size} 격자의 2차 차분 "
                f"절댓값 평균은 {md_escape(plain['name'])} {_num(c['plain_roughness'])}, {md_escape(residual['name'])} "
                f"{_num(c['residual_roughness'])}{ratio}. 2차 차분 가운데 음수인 것(아래로 굽는 곳: 볼록하지 않음)의 비율: "
                f"{_pct(c['plain_concave'])} 대 {_pct(c['residual_concave'])}. 1차원 단면에서 거리 0.5만큼 "
                f"가면 손실이 {_num(c['plain_rise'])} 대 {_num(c['residual_rise'])} 오릅니다(학습된 가중치에서 "
                f"{_num(plain['center_loss'])}, {_num(residual['center_loss'])}). 손실이 학습된 값의 두 배 아래로 머무는 "
                f"분지의 넓이: 정사각형의 {_pct(c['plain_basin'])} 대 {_pct(c['residual_basin'])}."))
            if not result.get("done"):
                st.caption(t("Read from the points computed so far; the numbers settle as the grid fills in.",
                             "지금까지 계산된 점으로 읽었습니다. 격자가 채워지면 숫자가 자리를 잡습니다."))
    with right, st.container(border=True):
        st.markdown(t(
            "**What the paper shows** (Li et al. 2018, Fig. 1 and 5, ResNet-56 on CIFAR-10 trained for 300 "
            "epochs, 51×51 grid over [−1, 1]²): without skip connections the surface is chaotic — a narrow "
            "central pit among many ridges and sharp local minima, with the loss climbing steeply to large "
            "values a short way out; with them it is a single wide, smooth bowl whose contours are nearly "
            "concentric rings, close to convex. The difference grows with depth: at 20 layers both nets look "
            "smooth; at 56 and 110 the plain ones break up.",
            "**논문이 보여 주는 것** (Li 외 2018, 그림 1과 5, CIFAR-10에서 300 에폭 학습한 ResNet-56, [−1, 1]²의 51×51 "
            "격자): 스킵 연결이 없으면 지형이 혼돈스럽습니다 — 좁은 중앙 구덩이 둘레로 능선과 날카로운 국소 최솟값이 "
            "많고, 조금만 벗어나도 손실이 가파르게 큰 값까지 오릅니다. 스킵 연결이 있으면 등고선이 거의 동심원인, 넓고 매끄러운 "
            "하나의 그릇 모양으로 볼록에 가깝습니다. 차이는 깊이와 함께 커집니다: 20층에서는 둘 다 매끄럽고, 56층과 "
            "110층에서 plain 네트워크가 무너집니다."))


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def charts_ui(result: dict, job_id: str) -> None:
    lang = language()
    nets = [n for n in result.get("nets", []) if n["known"]]
    if not nets:
        return
    settings = result.get("settings", {})
    st.subheader(t("Contours of the loss", "손실의 등고선"))
    st.plotly_chart(landscape_plots.contour_figure(nets, lang=lang, uirevision=job_id), key="landscape_contours",
                    config=PLOT_CONFIG)
    st.caption(t(
        f"The loss on {nets[0]['images']} training images at θ* + α·δ + β·η, with δ and η two random "
        f"filter-normalised directions (the same draws for both nets); ★ = the trained weights. Colours share "
        f"one scale, capped a few times above the trained loss so the bowl stays visible. "
        f"{len(nets[0]['known'])}×{len(nets[0]['known'])} of {settings.get('grid')}×{settings.get('grid')} points.",
        f"학습 이미지 {nets[0]['images']}장에서 잰 θ* + α·δ + β·η의 손실. δ와 η는 필터 정규화한 두 무작위 방향입니다"
        f"(두 네트워크에 같은 난수). ★ = 학습된 가중치. 두 그림은 같은 색 척도를 쓰며, 그릇 모양이 보이도록 학습된 손실의 몇 배에서 "
        f"잘랐습니다. {settings.get('grid')}×{settings.get('grid')} 중 {len(nets[0]['known'])}×{len(nets[0]['known'])}점."))
    st.subheader(t("The same surfaces in 3-D", "같은 지형을 3차원으로"))
    st.plotly_chart(landscape_plots.surface_figure(nets, lang=lang, uirevision=job_id), key="landscape_surface",
                    config=PLOT_CONFIG)
    left, right = st.columns(2)
    with left:
        st.subheader(t("1-D slices", "1차원 단면"))
        if any(n.get("slice") for n in nets):
            st.plotly_chart(landscape_plots.slices_figure(nets, lang=lang), key="landscape_slices", config=PLOT_CONFIG)
            st.caption(t("The loss along δ alone (β = 0), every net on one chart, on a log axis.",
                         "δ 방향만 따라간 손실(β = 0), 모든 네트워크를 한 그림에, 로그 축으로."))
    with right:
        st.subheader(t("From initial to trained weights", "초기 가중치에서 학습된 가중치까지"))
        if any(n.get("interpolation") for n in nets):
            st.plotly_chart(landscape_plots.interpolation_figure(nets, lang=lang), key="landscape_path",
                            config=PLOT_CONFIG)
            st.caption(t("Goodfellow et al. (2015): the loss on the straight line between the two, continued to "
                         "t = −0.5 and 1.5; BN running statistics are interpolated with the weights. At t = 0 the "
                         "net has never seen data, so BN still uses its initial statistics; points where the loss "
                         "overflowed are left out.",
                         "Goodfellow 외(2015): 두 가중치를 잇는 직선 위의 손실, t = −0.5와 1.5까지 연장. BN의 누적 통계도 "
                         "가중치와 함께 보간합니다. t = 0에서 네트워크는 아직 데이터를 본 적이 없어 BN이 초기 통계를 씁니다. 손실이 "
                         "넘쳐(overflow) 계산할 수 없는 점은 뺐습니다."))
        for n in nets:
            if n.get("interpolation") is None and n.get("interpolation_message"):
                st.caption(t(f"{md_escape(n['name'])}: {md_escape(n['interpolation_message'])}.",
                             f"{md_escape(n['name'])}: 초기 가중치가 저장되지 않은 실행입니다. 다시 학습하면 초기화부터의 "
                             "경로를 볼 수 있습니다."))
    st.download_button(t("Download the grid (CSV)", "격자 내려받기 (CSV)"),
                       data=landscape.grid_frame(result).to_csv(index=False, lineterminator="\n"),
                       file_name="loss_landscape.csv", mime="text/csv", key="landscape_csv", on_click="ignore",
                       icon="⬇️")


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
            if status == "queued" else f"{md_escape(job.get('message') or '')} {fraction:.0%}{eta}"
        cols = st.columns([5, 1])
        cols[0].progress(min(1.0, fraction), text=label)
        if cols[1].button(t("Stop", "중지"), key="landscape_stop", icon="⏹️"):
            get_manager().stop_analysis(job["job_id"])
            st.rerun()
    elif status == "failed":
        st.error(t(f"The landscape could not be computed: {md_escape(job.get('message'))}",
                   f"손실 지형을 계산할 수 없습니다: {md_escape(job.get('message'))}"))
    elif status == "stopped":
        st.warning(t("Stopped: the picture shows the points computed until then.",
                     "중지됨: 그때까지 계산한 점을 보여 줍니다."), icon="⏹️")
    else:
        result = job.get("result") or {}
        st.caption(t(f"Computed in {result.get('seconds', 0):.0f} s on {result.get('device', '?')} "
                     f"({result.get('precision', '?')}).",
                     f"{result.get('device', '?')}에서 {result.get('seconds', 0):.0f}초 걸렸습니다 "
                     f"({result.get('precision', '?')})."))


# ---------------------------------------------------------------- the page
st.title(t("🏔️ Loss landscape: why shortcuts make deep nets trainable",
           "🏔️ 손실 지형: 숏컷이 깊은 네트워크를 학습 가능하게 만드는 이유"))
st.markdown(t(
    "Beyond the paper: Li, Xu, Taylor, Studer & Goldstein (2018) drew the training loss on a plane through the "
    "trained weights, along two random directions scaled filter by filter to the weights. Without shortcuts, "
    "a 56-layer net sits in a chaotic landscape; with them, in a smooth bowl that gradient descent can follow. "
    "Compute that picture for the nets *you* trained.",
    "논문 너머의 실험: Li, Xu, Taylor, Studer, Goldstein(2018)는 학습된 가중치를 지나는 평면 위에 학습 손실을 그렸습니다. "
    "평면은 필터마다 가중치 크기에 맞춘 두 무작위 방향으로 정합니다. 숏컷이 없으면 56층 네트워크는 혼돈스러운 지형에 놓이고, "
    "있으면 SGD가 따라 내려갈 수 있는 매끄러운 그릇에 놓입니다. *여러분이* 학습한 네트워크로 그 그림을 계산해 보세요."))

store = get_store()
runs = run_picking.run_table(store.list_runs())
checkpoint_of = run_picking.checkpoints_by_run(store, runs["run_id"])
if not checkpoint_of:
    empty_state_ui()
else:
    chosen = nets_ui(runs, checkpoint_of)
    params, clicked = settings_ui()
    if clicked:
        try:
            get_manager().submit_analysis("landscape", {"run_ids": chosen, **params}, run_ids=chosen)
        except ValueError as error:
            st.error(t(f"Could not start: {md_escape(error)}", f"시작할 수 없습니다: {md_escape(error)}"))
    job_id = latest_job(store, chosen)
    if job_id is None:
        st.caption(t("On a laptop CPU a 15×15 grid of a 56-layer pair takes two to three minutes (the first 5×5 "
                     "picture within seconds); on a GPU, seconds. It runs in the training process, shared by every tab.",
                     "노트북 CPU에서 56층 네트워크 한 쌍의 15×15 격자는 2–3분 걸립니다(첫 5×5 그림은 몇 초 만에). GPU에서는 "
                     "몇 초입니다. 계산은 학습 프로세스에서 돌며 모든 탭이 함께 봅니다."))
    else:
        job_ui(job_id)
