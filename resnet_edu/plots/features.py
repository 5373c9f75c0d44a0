"""What a trained net sees: an image, its feature maps, and attribution maps laid over it.

The Features page's charts: images and maps (arrays from ``resnet_edu.inside.features``)
as pictures and overlays.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from resnet_edu.plots.style import HEAT_SCALE, style

INSIDE_CAM_SCALE = "Turbo"
INSIDE_IG_SCALE = "Inferno"


def image_figure(image: np.ndarray, *, title: str = "", height: int = 260) -> go.Figure:
    """One RGB image (H, W, 3) in [0, 1], pixels kept square."""
    fig = go.Figure(go.Image(z=np.clip(image * 255.0, 0, 255).astype(np.uint8), hoverinfo="skip"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    style(fig, height=height)
    fig.update_layout(title=dict(text=title, font=dict(size=14)), margin=dict(l=0, r=0, t=40 if title else 0, b=0))
    return fig


def feature_grid_figure(rows: list[tuple[str, list[int], np.ndarray]], *, lang: str = "en",
                        height_per_row: int = 120) -> go.Figure:
    """Feature maps as an image grid: one row per stage, its strongest channels left to right.

    Args:
        rows: (row title, channel indices, maps (k, h, w)); each map is scaled to its own maximum.
    """
    ncols = max((len(channels) for _, channels, _ in rows), default=1)
    titles = []
    for _, channels, _ in rows:
        titles += [f"#{c}" for c in channels] + [""] * (ncols - len(channels))
    fig = make_subplots(rows=max(1, len(rows)), cols=ncols, subplot_titles=titles,
                        horizontal_spacing=0.008, vertical_spacing=0.09)
    for r, (title, channels, maps) in enumerate(rows, start=1):
        for c, (channel, fmap) in enumerate(zip(channels, maps), start=1):
            top = float(np.max(fmap)) if fmap.size else 0.0
            z = fmap / top if top > 0 else np.zeros_like(fmap)
            fig.add_trace(go.Heatmap(z=z, coloraxis="coloraxis", customdata=fmap,
                                     hovertemplate=f"{title} #{channel}<br>%{{customdata:.3f}}<extra></extra>"),
                          row=r, col=c)
        fig.update_yaxes(title_text=title, row=r, col=1)
    fig.update_xaxes(showticklabels=False, showgrid=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, autorange="reversed")
    for index in range(1, len(rows) * ncols + 1):  # keep pixels square in every cell
        suffix = "" if index == 1 else str(index)
        fig.layout[f"yaxis{suffix}"].update(scaleanchor=f"x{suffix}")
    fig.update_layout(coloraxis=dict(colorscale=HEAT_SCALE, cmin=0, cmax=1, showscale=False))
    style(fig, height=60 + height_per_row * max(1, len(rows)))
    fig.update_annotations(font_size=10)
    fig.update_layout(margin=dict(l=60, r=10, t=30, b=10))
    return fig


def overlay_figure(image: np.ndarray, maps: list[tuple[str, np.ndarray]], *, scale: str = INSIDE_CAM_SCALE,
                   opacity: float = 0.55, height: int = 250) -> go.Figure:
    """The image with a heat map (H, W) in [0, 1] laid over it, one panel per map."""
    fig = make_subplots(rows=1, cols=max(1, len(maps)), subplot_titles=[t for t, _ in maps],
                        horizontal_spacing=0.02)
    pixels = np.clip(image * 255.0, 0, 255).astype(np.uint8)
    for col, (title, heat) in enumerate(maps, start=1):
        fig.add_trace(go.Image(z=pixels, hoverinfo="skip"), row=1, col=col)
        fig.add_trace(go.Heatmap(z=heat, coloraxis="coloraxis", opacity=opacity,
                                 hovertemplate=f"{title}<br>%{{z:.2f}}<extra></extra>"), row=1, col=col)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    for index in range(1, len(maps) + 1):
        suffix = "" if index == 1 else str(index)
        fig.layout[f"yaxis{suffix}"].update(scaleanchor=f"x{suffix}", autorange="reversed")
    fig.update_layout(coloraxis=dict(colorscale=scale, cmin=0, cmax=1, showscale=False))
    style(fig, height=height)
    fig.update_layout(margin=dict(l=0, r=0, t=30, b=0))
    return fig
