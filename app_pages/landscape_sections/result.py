"""The landscape job's result: the reading in words beside the paper's picture, and the charts
(contours, 3-D surfaces, 1-D slices, the path from initial to trained weights)."""

from __future__ import annotations

import streamlit as st

from app_pages.text import landscape as text
from resnet_edu.inside import landscape
from resnet_edu.plots import landscape as landscape_plots
from resnet_edu.runs.export import csv_text
from ui import PLOT_CONFIG, language, md_escape, t


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def reading_ui(result: dict) -> None:
    """The sentence that reads the result honestly, beside the paper's published picture in words."""
    nets = result.get("nets", [])
    plain = next((n for n in nets if not n["shortcuts"] and n["known"]), None)
    residual = next((n for n in nets if n["shortcuts"] and n["known"]), None)
    left, right = st.columns(2)
    with left, st.container(border=True):
        if plain is None or residual is None:
            st.markdown(t(**text.COMPARE_WITH_TWIN))
        else:
            c = landscape.comparison(plain, residual)
            size = len(plain["known"])
            if plain["step"] == residual["step"]:
                steps = t(f"{plain['step']}-iteration", f"{plain['step']}회 반복한")
            else:
                steps = t(f"{plain['step']}- and {residual['step']}-iteration",
                          f"{plain['step']}회와 {residual['step']}회 반복한")
            numbers = {f"{kind}_{what}": _num(c[f"{kind}_{what}"]) for kind in ("plain", "residual")
                       for what in ("roughness", "rise")}
            numbers.update({f"{kind}_{what}": _pct(c[f"{kind}_{what}"]) for kind in ("plain", "residual")
                            for what in ("concave", "basin")})
            numbers.update(plain_center=_num(plain["center_loss"]), residual_center=_num(residual["center_loss"]))
            st.markdown(t(**text.reading(steps, md_escape(plain["name"]), md_escape(residual["name"]),
                                         c["roughness_ratio"], c["plain_rougher"], numbers)))
            with st.expander(t("The measurements", "측정값")):
                st.markdown(t(**text.reading_details(size, c["roughness_ratio"], numbers)))
            if not result.get("done"):
                st.caption(t(**text.READ_SO_FAR))
    with right, st.container(border=True):
        st.markdown(t(**text.WHAT_THE_PAPER_SHOWS))


def charts_ui(result: dict, job_id: str) -> None:
    lang = language()
    nets = [n for n in result.get("nets", []) if n["known"]]
    if not nets:
        return
    settings = result.get("settings", {})
    st.subheader(t("Contours of the loss", "손실의 등고선"))
    st.plotly_chart(landscape_plots.contour_figure(nets, lang=lang, uirevision=job_id), key="landscape_contours",
                    config=PLOT_CONFIG)
    st.caption(t(**text.contours_caption(nets[0]["images"], len(nets[0]["known"]), settings.get("grid"))))
    st.subheader(t("The same surfaces in 3-D", "같은 지형을 3차원으로"))
    st.plotly_chart(landscape_plots.surface_figure(nets, lang=lang, uirevision=job_id), key="landscape_surface",
                    config=PLOT_CONFIG)
    left, right = st.columns(2)
    with left:
        st.subheader(t("1-D slices", "1차원 단면"))
        if any(n.get("slice") for n in nets):
            st.plotly_chart(landscape_plots.slices_figure(nets, lang=lang), key="landscape_slices", config=PLOT_CONFIG)
            st.caption(t("The loss along δ alone (β = 0), every net on one chart, on a log axis. Grey dotted: "
                         "plain nets, red solid: ResNets; the dotted vertical line: the trained weights (α = 0).",
                         "δ 방향만 따라간 손실(β = 0), 모든 네트워크를 한 그림에, 로그 축으로. 회색 점선: plain 네트워크, "
                         "빨간 실선: ResNet. 세로 점선: 학습된 가중치(α = 0)."))
    with right:
        st.subheader(t("From initial to trained weights", "초기 가중치에서 학습된 가중치까지"))
        if any(n.get("interpolation") for n in nets):
            st.plotly_chart(landscape_plots.interpolation_figure(nets, lang=lang), key="landscape_path",
                            config=PLOT_CONFIG)
            st.caption(t(**text.INTERPOLATION_CAPTION))
        for n in nets:
            if n.get("interpolation") is None and n.get("interpolation_message"):
                st.caption(t(f"{md_escape(n['name'])}: {md_escape(n['interpolation_message'])}.",
                             f"{md_escape(n['name'])}: 초기 가중치가 저장되지 않은 실행입니다. 다시 학습하면 초기화부터의 "
                             "경로를 볼 수 있습니다."))
    st.download_button(t("Download the grid (CSV)", "격자 내려받기 (CSV)"),
                       data=csv_text(landscape.grid_frame(result)),  # run names cannot start a formula
                       file_name="loss_landscape.csv", mime="text/csv", key="landscape_csv", on_click="ignore",
                       icon="⬇️")
