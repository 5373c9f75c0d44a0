"""Loss landscapes (the Landscape page): contours, a 3-D surface, slices, the path from init.

Every builder takes the per-net dicts of :func:`resnet_edu.inside.landscape.compute` (plain data,
JSON as stored) and returns a ``plotly.graph_objects.Figure`` in the house style. Plain nets
are dotted, residual nets solid, as everywhere. Importing it loads torch (through
:mod:`resnet_edu.inside.landscape`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from resnet_edu.inside.landscape import known_grid
from resnet_edu.plots.style import HEAT_SCALE, KIND_COLOURS, kind_dash, style
from resnet_edu.words import pick


def _line(entry: dict) -> dict:
    """Colour by kind (residual red, plain grey) and dash by kind, as on every chart."""
    shortcuts = bool(entry.get("shortcuts"))
    return dict(color=KIND_COLOURS["residual" if shortcuts else "plain"], dash=kind_dash(shortcuts), width=2.5)


def loss_cap(entries: list[dict], factor: float = 4.0) -> float:
    """Top of the shared colour scale: a few times the highest centre loss, so the bowl keeps its contrast.

    Li et al. plot contours up to a fixed level for the same reason: far from θ* the loss of
    a plain net explodes and would flatten every other contour.
    """
    centres = [e["center_loss"] for e in entries if e.get("center_loss") is not None]
    values = [v for e in entries for row in known_grid(e)[2] for v in row if v is not None]
    if not values:
        return 1.0
    top = max(values)
    return min(top, factor * max(centres)) if centres and max(centres) > 0 else top


def _clipped(grid: list[list[float | None]], cap: float) -> list[list[float | None]]:
    return [[None if v is None or not math.isfinite(v) else min(v, cap) for v in row] for row in grid]


def _loss_range(entries: list[dict]) -> tuple[float, float]:
    """(lowest loss computed, :func:`loss_cap`): the one colour (and height) scale of every net's picture."""
    low = min((v for e in entries for row in known_grid(e)[2] for v in row if v is not None), default=0.0)
    return low, loss_cap(entries)


def _known_grids(entries: list[dict], cap: float) -> Iterator[tuple[int, dict, list, list, list]]:
    """(subplot column, entry, alphas, betas, loss capped at ``cap``) of every net with points computed so far."""
    for col, entry in enumerate(entries, start=1):
        alphas, betas, loss = known_grid(entry)
        if alphas:
            yield col, entry, alphas, betas, _clipped(loss, cap)


def _grid_hover(entry: dict, lang: str) -> str:
    loss = pick(lang, "loss", "손실")
    return f"α %{{y:.2f}}, β %{{x:.2f}}<br>{loss} %{{z:.3f}}<extra>{entry['name']}</extra>"


def contour_figure(entries: list[dict], *, lang: str = "en", height: int = 440,
                   uirevision: str | None = None) -> go.Figure:
    """Loss contours of each net side by side on one colour scale; ★ marks the trained weights (0, 0).

    Rows of a grid are α (the first direction, vertical axis), columns β (horizontal axis).
    """
    fig = make_subplots(rows=1, cols=max(1, len(entries)), subplot_titles=[e["name"] for e in entries],
                        horizontal_spacing=0.08)
    low, cap = _loss_range(entries)
    for col, entry, alphas, betas, loss in _known_grids(entries, cap):
        fig.add_trace(go.Contour(
            x=betas, y=alphas, z=loss, zmin=low, zmax=cap, colorscale=HEAT_SCALE,
            contours=dict(coloring="heatmap", showlabels=True, labelfont=dict(size=10, color="white")),
            ncontours=18, line=dict(width=0.8), showscale=col == len(entries),
            colorbar=dict(title=pick(lang, "loss", "손실")), hovertemplate=_grid_hover(entry, lang)), row=1, col=col)
        fig.add_trace(go.Scatter(x=[0], y=[0], mode="markers", marker=dict(symbol="star", size=14, color="white",
                                                                           line=dict(color="black", width=1)),
                                 showlegend=False, hoverinfo="skip"), row=1, col=col)
        fig.update_xaxes(title_text="β", row=1, col=col, constrain="domain")
        fig.update_yaxes(title_text="α" if col == 1 else None, row=1, col=col, scaleanchor=f"x{col if col > 1 else ''}")
    return style(fig, height=height, uirevision=uirevision)


def surface_figure(entries: list[dict], *, lang: str = "en", height: int = 520,
                   uirevision: str | None = None) -> go.Figure:
    """The loss as 3-D surfaces, one scene per net, on the same capped z range (Li et al., Fig. 1 and 5)."""
    fig = make_subplots(rows=1, cols=max(1, len(entries)), specs=[[{"type": "scene"}] * max(1, len(entries))],
                        subplot_titles=[e["name"] for e in entries], horizontal_spacing=0.02)
    low, cap = _loss_range(entries)
    for col, entry, alphas, betas, loss in _known_grids(entries, cap):
        fig.add_trace(go.Surface(x=betas, y=alphas, z=loss, cmin=low, cmax=cap, colorscale=HEAT_SCALE, showscale=False,
                                 hovertemplate=_grid_hover(entry, lang)), row=1, col=col)
    scene = dict(xaxis_title="β", yaxis_title="α", zaxis_title=pick(lang, "loss", "손실"),
                 zaxis=dict(range=[low, cap]), camera=dict(eye=dict(x=1.5, y=1.5, z=0.9)),
                 aspectmode="manual", aspectratio=dict(x=1, y=1, z=0.7))
    fig.update_scenes(**scene)
    return style(fig, height=height, uirevision=uirevision)


def _paths_figure(entries: list[dict], key: str, x_key: str, x_name: str, lang: str) -> go.Figure:
    """One line per net of ``entry[key]`` (x: ``entry[key][x_key]``, y: its loss) on a log loss axis."""
    fig = go.Figure()
    for entry in entries:
        path = entry.get(key)
        if not path:
            continue
        fig.add_trace(go.Scatter(x=path[x_key], y=path["loss"], mode="lines+markers", name=entry["name"],
                                 line=_line(entry),
                                 hovertemplate=f"{x_name} %{{x:.2f}}<br>" + pick(lang, "loss", "손실")
                                               + " %{y:.3f}<extra>" + entry["name"] + "</extra>"))
    fig.update_yaxes(title_text=pick(lang, "training loss (log)", "훈련 손실 (로그)"), type="log")
    return fig


def slices_figure(entries: list[dict], *, lang: str = "en", height: int = 380) -> go.Figure:
    """Loss along the first direction through θ* (β = 0), every net on one chart; log axis (a plain net's loss explodes)."""
    fig = _paths_figure(entries, "slice", "alphas", "α", lang)
    fig.add_vline(x=0, line=dict(color="#737373", width=1, dash="dot"))
    fig.update_xaxes(title_text=pick(lang, "α: distance along the random direction (filter-normalised)",
                                     "α: 무작위 방향을 따라 간 거리 (필터 정규화)"))
    return style(fig, height=height)


def interpolation_figure(entries: list[dict], *, lang: str = "en", height: int = 380) -> go.Figure:
    """Loss on the straight line from the initial weights (t = 0) to the trained ones (t = 1), and beyond."""
    fig = _paths_figure(entries, "interpolation", "t", "t", lang)
    for x, en, ko in ((0, "initial", "초기"), (1, "trained", "학습 후")):
        fig.add_vline(x=x, line=dict(color="#737373", width=1, dash="dot"),
                      annotation=dict(text=pick(lang, en, ko), font=dict(size=11, color="#737373")),
                      annotation_position="top")
    fig.update_xaxes(title_text=pick(lang, "t: (1 − t)·initial + t·trained weights",
                                     "t: (1 − t)·초기 가중치 + t·학습된 가중치"))
    return style(fig, height=height)


__all__ = ["contour_figure", "interpolation_figure", "loss_cap", "slices_figure", "surface_figure"]
