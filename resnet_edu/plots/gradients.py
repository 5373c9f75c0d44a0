"""Inside the network, while it learns: gradient norms per layer and the layer responses of Fig. 7.

The Gradients page's charts. Plain nets are dotted, residual nets solid, one colour per
depth (as on every page). They read per-layer probes (one value per layer and recorded
iteration) and share the layer-axis helpers below.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from resnet_edu.plots.style import HEAT_SCALE, depth_colour, kind_dash, style
from resnet_edu.words import pick


def _log10_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Colour-bar ticks for log10 values in [lo, hi]: decades, or 1-2-5 steps when the range is narrow."""
    first, last = int(np.floor(lo)), int(np.ceil(hi))
    if last - first <= 2:
        vals = [np.log10(m) + e for e in range(first, last + 1) for m in (1, 2, 5)]
        vals = [v for v in vals if lo - 1e-9 <= v <= hi + 1e-9] or [lo, hi]
        return [float(v) for v in vals], [f"{10.0 ** v:.3g}" for v in vals]
    step = max(1, (last - first) // 8)
    vals = list(range(first, last + 1, step))
    return [float(v) for v in vals], [f"1e{v}" if abs(v) > 2 else f"{10.0 ** v:g}" for v in vals]


def _stage_spans(layers: list[str]) -> list[tuple[str, int, int]]:
    """(stage, first row, last row) of each run of layers: "conv1" is the stem, "layer2.…" stage 2."""
    spans: list[tuple[str, int, int]] = []
    for index, name in enumerate(layers):
        stage = name.split(".")[0]
        if spans and spans[-1][0] == stage:
            spans[-1] = (stage, spans[-1][1], index)
        else:
            spans.append((stage, index, index))
    return spans


def gradient_heatmaps(panels: list[tuple[str, pd.DataFrame, int, int]], *, lang: str = "en",
                      row_height: int = 300, uirevision: str | None = None) -> go.Figure:
    """Per-layer gradient norms over training, layer × iteration, on one shared log colour scale.

    A grid with plain nets in the left column and residual nets in the right one, one row
    per depth, so twins of equal depth sit side by side.

    Args:
        panels: (title, matrix, row, col), row and col 1-based; a matrix has one row per layer
            in depth order (input first, drawn at the top) and one column per recorded iteration
            (``probes.layer_step_matrix``). Zeros (e.g. zero-initialised branches) are blank.
    """
    rows = max((r for _, _, r, _ in panels), default=1)
    used = sorted({c for _, _, _, c in panels}) or [1]
    column = {c: i for i, c in enumerate(used, start=1)}  # only the kinds present get a column
    panels = [(title, matrix, r, column[c]) for title, matrix, r, c in panels]
    cols = len(used)
    titles = [""] * (rows * cols)
    for title, _, r, c in panels:
        titles[(r - 1) * cols + (c - 1)] = title
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.12,
                        vertical_spacing=min(0.12, 0.3 / rows))
    logs = []
    for _, matrix, _, _ in panels:
        values = matrix.to_numpy(dtype="float64") if not matrix.empty else np.zeros((0, 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            logs.append(np.where(values > 0, np.log10(np.where(values > 0, values, 1.0)), np.nan))
    finite = np.concatenate([v[np.isfinite(v)] for v in logs]) if logs else np.array([])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-3.0, 1.0)
    if hi - lo < 1e-6:
        lo, hi = lo - 0.5, hi + 0.5
    tickvals, ticktext = _log10_ticks(lo, hi)
    word_layer, word_step = pick(lang, "layer", "층"), pick(lang, "iteration", "반복")
    for (title, matrix, r, c), z in zip(panels, logs):
        if matrix.empty:
            continue
        layers = [str(n) for n in matrix.index]
        fig.add_trace(go.Heatmap(
            z=z, x=[int(s) for s in matrix.columns], y=list(range(len(layers))), coloraxis="coloraxis",
            customdata=matrix.to_numpy(dtype="float64"), text=[[name] * matrix.shape[1] for name in layers],
            hovertemplate=f"{word_layer} %{{text}}<br>{word_step} %{{x}}<br>‖∇W‖ = %{{customdata:.3g}}"
                          f"<extra>{title}</extra>"),
            row=r, col=c)
        spans = _stage_spans(layers)
        labels = [pick(lang, "stem", "입력층") if stage == "conv1" else
                  pick(lang, f"stage {stage.removeprefix('layer')}", f"{stage.removeprefix('layer')}단계")
                  for stage, _, _ in spans]
        fig.update_yaxes(autorange="reversed", tickmode="array", tickvals=[(a + b) / 2 for _, a, b in spans],
                         ticktext=labels, showgrid=False, zeroline=False, row=r, col=c)
        for _, first, _ in spans[1:]:  # a thin line where each stage starts
            fig.add_hline(y=first - 0.5, line=dict(color="white", width=1.5), row=r, col=c)
        fig.update_xaxes(showgrid=False, row=r, col=c)
    fig.update_xaxes(title_text=word_step, row=rows)
    fig.update_layout(coloraxis=dict(colorscale=HEAT_SCALE, cmin=lo, cmax=hi, colorbar=dict(
        title=pick(lang, "‖∇W‖<br>(log)", "‖∇W‖<br>(로그)"), tickvals=tickvals, ticktext=ticktext, len=0.9)))
    style(fig, height=80 + row_height * rows, uirevision=uirevision)
    fig.update_layout(margin=dict(l=10, r=10, t=40, b=10))
    return fig


def gradient_ratio_figure(frame: pd.DataFrame, *, lang: str = "en", height: int = 380,
                          uirevision: str | None = None) -> go.Figure:
    """First-conv / last-conv gradient norm over iterations, log scale, one line per run.

    ``frame``: run_id, name, depth, shortcuts (bool), step, ratio.
    """
    fig = go.Figure()
    for run_id, rows in frame.groupby("run_id", sort=False):
        first = rows.iloc[0]
        fig.add_trace(go.Scatter(
            x=rows["step"], y=rows["ratio"], mode="lines+markers", name=str(first["name"]), showlegend=True,
            line=dict(color=depth_colour(int(first["depth"])), dash=kind_dash(bool(first["shortcuts"])), width=2.5),
            marker=dict(size=5), meta={"run_id": run_id},
            hovertemplate=f"<b>{first['name']}</b><br>{pick(lang, 'iteration', '반복')} %{{x}}"
                          f"<br>{pick(lang, 'first/last', '처음/마지막')} = %{{y:.3g}}<extra></extra>"))
    fig.add_hline(y=1.0, line=dict(color="#969696", dash="dash", width=1),
                  annotation=dict(text=pick(lang, "equal norms", "같은 크기"), font=dict(size=11, color="#737373")),
                  annotation_position="bottom right")
    fig.update_yaxes(type="log", dtick=1, exponentformat="power",
                     title_text=pick(lang, "first / last conv gradient (log)", "첫 층 / 마지막 층 기울기 (로그)"))
    fig.update_xaxes(title_text=pick(lang, "iteration", "반복"), rangemode="tozero")
    return style(fig, height=height, uirevision=uirevision)


def layer_norms_figure(frame: pd.DataFrame, *, value: str = "grad_norm", lang: str = "en", height: int = 380,
                       log: bool = True, y_title: tuple[str, str] | None = None) -> go.Figure:
    """One value per layer (x: depth order), one line per net: e.g. gradient norms at initialisation.

    ``frame``: name, depth, shortcuts, layer, layer_index and the ``value`` column.
    """
    fig = go.Figure()
    for name, rows in frame.groupby("name", sort=False):
        first = rows.iloc[0]
        fig.add_trace(go.Scatter(
            x=rows["layer_index"], y=rows[value], mode="lines+markers", name=str(name), text=rows["layer"],
            showlegend=True,
            line=dict(color=depth_colour(int(first["depth"])), dash=kind_dash(bool(first["shortcuts"])), width=2.5),
            marker=dict(size=4),
            hovertemplate=f"<b>{name}</b> · %{{text}}<br>%{{y:.3g}}<extra></extra>"))
    en, ko = y_title or ("gradient norm ‖∇W‖ (log)", "기울기 크기 ‖∇W‖ (로그)")
    fig.update_yaxes(type="log" if log else "linear", title_text=pick(lang, en, ko))
    if log:
        fig.update_yaxes(dtick=1, exponentformat="power")
    fig.update_xaxes(title_text=pick(lang, "layer index (0 = first conv, near the input)",
                                     "층 번호 (0 = 입력 쪽 첫 합성곱)"))
    return style(fig, height=height)


def response_figure(frame: pd.DataFrame, *, lang: str = "en", height: int = 520, log: bool = False,
                    uirevision: str | None = None) -> go.Figure:
    """The paper's Fig. 7: std of each 3x3 layer's response, by layer index (top) and sorted (bottom).

    ``frame``: name, depth, shortcuts, layer, layer_index, value, rank (``probes.profile_at``).
    """
    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.3, subplot_titles=(
                        pick(lang, "by layer index (input → output)", "층 순서대로 (입력 → 출력)"),
        pick(lang, "sorted by magnitude", "크기순 정렬")))
    for name, rows in frame.groupby("name", sort=False):
        first = rows.iloc[0]
        line = dict(color=depth_colour(int(first["depth"])), dash=kind_dash(bool(first["shortcuts"])), width=2)
        hover = f"<b>{name}</b> · %{{text}}<br>std %{{y:.3f}}<extra></extra>"
        fig.add_trace(go.Scatter(x=rows["layer_index"], y=rows["value"], mode="lines", name=str(name), line=line,
                                 text=rows["layer"], legendgroup=str(name), showlegend=True, hovertemplate=hover),
                      row=1, col=1)
        ranked = rows.sort_values("rank")
        fig.add_trace(go.Scatter(x=ranked["rank"], y=ranked["value"], mode="lines", name=str(name), line=line,
                                 text=ranked["layer"], legendgroup=str(name), showlegend=False,
                                 hovertemplate=hover), row=2, col=1)
    fig.update_xaxes(title_text=pick(lang, "layer index", "층 번호"), row=1, col=1)
    fig.update_xaxes(title_text=pick(lang, "rank (largest first)", "순위 (큰 것부터)"), row=2, col=1)
    if log:
        fig.update_yaxes(title_text=pick(lang, "std (log)", "표준편차 (로그)"), type="log", dtick=1,
                         exponentformat="power")
    else:
        fig.update_yaxes(title_text=pick(lang, "std", "표준편차"), rangemode="tozero")
    style(fig, height=height, uirevision=uirevision)
    fig.update_layout(margin=dict(l=10, r=10, t=110, b=10), legend=dict(y=1.14))
    return fig
