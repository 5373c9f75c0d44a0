"""Lesion studies: test error after deleting blocks of a trained net (Veit et al. 2016).

The Lesion page's charts. Plain nets are dotted, residual nets solid, one colour per depth.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from resnet_edu.plots.style import depth_colour, kind_dash, style
from resnet_edu.words import pick


def lesion_blocks_figure(frame: pd.DataFrame, *, lang: str = "en", height: int = 420) -> go.Figure:
    """Test error with one block deleted, per block, one line per net; the intact nets as flat lines.

    ``frame``: name, depth, shortcuts, block ("none" = the intact net), position (1 = first block),
    stage, downsampling, error. Stages are shaded; ◆ marks the blocks that shrink the map.
    """
    fig = go.Figure()
    for number, (name, rows) in enumerate(frame.groupby("name", sort=False)):
        first = rows.iloc[0]
        colour = depth_colour(int(first["depth"]))
        dash = kind_dash(bool(first["shortcuts"]))
        full = rows[rows["block"] == "none"]
        lesioned = rows[rows["block"] != "none"]
        fig.add_trace(go.Scatter(
            x=lesioned["position"], y=100 * lesioned["error"], mode="lines+markers",
            name=pick(lang, f"{name}: one block deleted", f"{name}: 블록 하나 제거"), showlegend=True,
            line=dict(color=colour, dash=dash, width=2.5), text=lesioned["block"],
            marker=dict(size=[11 if d else 6 for d in lesioned["downsampling"]],
                        symbol=["diamond" if d else "circle" for d in lesioned["downsampling"]]),
            hovertemplate=f"<b>{name}</b> − %{{text}}<br>{pick(lang, 'test error', '테스트 오류')} %{{y:.1f}}%"
                          "<extra></extra>"))
        if len(full):
            fig.add_hline(y=100 * float(full["error"].iloc[0]), line=dict(color=colour, dash=dash, width=1),
                          opacity=0.7, annotation=dict(text=pick(lang, f"{name}, intact", f"{name}, 제거 없음"),
                                                       font=dict(size=11, color=colour)),
                          annotation_position="bottom right" if number % 2 else "top left")
    blocks = frame[frame["block"] != "none"]
    layouts = {name: tuple(zip(rows["position"], rows["stage"])) for name, rows in blocks.groupby("name", sort=False)}
    # Nets of different depths have their stages at different blocks: shade the first net's, and say whose.
    owner = None if len(set(layouts.values())) <= 1 else next(iter(layouts))
    for stage, rows in (blocks if owner is None else blocks[blocks["name"] == owner]).groupby("stage"):
        lo, hi = float(rows["position"].min()) - 0.5, float(rows["position"].max()) + 0.5
        words = (pick(lang, f"stage {int(stage)}", f"{int(stage)}단계") if owner is None
                 else pick(lang, f"{owner}: stage {int(stage)}", f"{owner} {int(stage)}단계"))
        fig.add_vrect(x0=lo, x1=hi, fillcolor="#f0f0f0" if int(stage) % 2 else "#ffffff", opacity=0.6,
                      layer="below", line_width=0, annotation=dict(text=words, font=dict(size=11, color="#737373")),
                      annotation_position="top")  # shade every other stage, label each
    fig.update_xaxes(title_text=pick(lang, "deleted block (1 = nearest the input; ◆ = the map shrinks)",
                                     "제거한 블록 (1 = 입력 쪽 첫 블록; ◆ = 맵이 줄어드는 블록)"),
                     showgrid=False, rangemode="tozero")
    fig.update_yaxes(title_text=pick(lang, "test error (%)", "테스트 오류 (%)"), range=[0, 100])
    return style(fig, height=height)


def lesion_random_figure(summary: pd.DataFrame, *, lang: str = "en", height: int = 380) -> go.Figure:
    """Mean test error (± std over random draws) after deleting k random blocks, one line per net.

    ``summary``: name, depth, shortcuts, k, mean, std (``lesion.summarise_random`` + run columns).
    """
    fig = go.Figure()
    for name, rows in summary.groupby("name", sort=False):
        first = rows.iloc[0]
        fig.add_trace(go.Scatter(
            x=rows["k"], y=100 * rows["mean"], mode="lines+markers", name=str(name), showlegend=True,
            error_y=dict(type="data", array=100 * rows["std"].fillna(0), visible=True, thickness=1.2),
            line=dict(color=depth_colour(int(first["depth"])), dash=kind_dash(bool(first["shortcuts"])), width=2.5),
            hovertemplate=f"<b>{name}</b><br>k = %{{x}}<br>{pick(lang, 'mean test error', '평균 테스트 오류')} "
                          "%{y:.1f}%<extra></extra>"))
    fig.update_xaxes(title_text=pick(lang, "number of blocks deleted at random (k)", "무작위로 제거한 블록 수 (k)"),
                     dtick=1)
    fig.update_yaxes(title_text=pick(lang, "test error (%)", "테스트 오류 (%)"), range=[0, 100])
    return style(fig, height=height)
