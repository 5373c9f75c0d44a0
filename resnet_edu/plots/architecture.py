"""What depth costs: the ILSVRC depth race, and parameters and multiply-adds per net and stage.

The Paper and Architecture pages' charts, drawn from tables (the ILSVRC winners,
``model_summary.describe``, measured costs), not from training runs.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from resnet_edu.plots.style import style
from resnet_edu.words import pick

ILSVRC_BAR = "#74a9cf"
ILSVRC_HIGHLIGHT = "#d94801"
ERROR_LINE = "#252525"


def ilsvrc_figure(table, *, lang: str = "en", height: int = 430) -> go.Figure:
    """The "revolution of depth": ILSVRC classification winners, depth (bars) and top-5 error (line).

    ``table`` has columns year, entry, layers (empty for shallow, hand-engineered entries),
    top5_error (%), as in ``assets/ilsvrc.csv``.
    """
    labels = [f"{int(year)}<br>{entry}" for year, entry in zip(table["year"], table["entry"])]
    layers = [None if layers != layers or layers is None else int(layers) for layers in table["layers"]]
    shallow = pick(lang, "shallow", "얕은 모델")
    layer_word = pick(lang, "layers", "층")
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    deepest = max(value for value in layers if value is not None)
    fig.add_trace(go.Bar(
        x=labels, y=[value if value is not None else 0 for value in layers],
        name=pick(lang, "layers (depth)", "층 수 (깊이)"),
        marker_color=[ILSVRC_HIGHLIGHT if value == deepest else ILSVRC_BAR for value in layers],
        text=[(f"{value}{layer_word}" if lang == "ko" else f"{value} {layer_word}") if value is not None else shallow
              for value in layers],
        textposition="outside", cliponaxis=False, customdata=list(table["year"]),
        hovertemplate="%{x}<br>%{text}<extra></extra>"), secondary_y=False)
    fig.add_trace(go.Scatter(
        x=labels, y=list(table["top5_error"]), name=pick(lang, "top-5 error (%)", "top-5 오류 (%)"),
        mode="lines+markers", line=dict(color=ERROR_LINE, width=2.5), marker=dict(size=9),
        text=[f"{value:g}%" for value in table["top5_error"]],
        customdata=list(table["year"]), hovertemplate="%{x}<br>top-5 %{y:.2f}%<extra></extra>"), secondary_y=True)
    for label, value in zip(labels, table["top5_error"]):  # on a white chip, readable over the bars
        fig.add_annotation(x=label, y=value, yref="y2", text=f"<b>{value:g}%</b>", showarrow=False, yshift=16,
                           bgcolor="rgba(255,255,255,0.85)", font=dict(color=ERROR_LINE, size=12))
    fig.update_yaxes(title_text=pick(lang, "layers", "층 수"), range=[0, deepest * 1.18], dtick=50, secondary_y=False)
    fig.update_yaxes(title_text=pick(lang, "top-5 error (%)", "top-5 오류 (%)"),
                     range=[0, max(table["top5_error"]) * 1.25], dtick=10, ticksuffix="%", showgrid=False,
                     secondary_y=True)
    fig.update_xaxes(title_text=pick(lang, "ILSVRC classification, by year", "ILSVRC 분류 부문, 연도별"))
    return style(fig, height=height)


def stage_cost_figure(frame, *, lang: str = "en", height: int = 360) -> go.Figure:
    """Parameters and multiply-adds per stage (rows of ``model_summary.describe`` without the total)."""
    rows = frame[frame["layer"] != "total"]
    names = [f"{paper} ({layer})" if paper != layer else layer
             for paper, layer in zip(rows.get("paper_name", rows["layer"]), rows["layer"])]
    fig = make_subplots(rows=1, cols=2, subplot_titles=(pick(lang, "parameters", "파라미터 수"),
                        pick(lang, "multiply-adds (one image)", "곱셈-덧셈 (이미지 1장)")))
    fig.add_trace(go.Bar(x=names, y=rows["parameters"], marker_color="#4263eb", name=pick(lang, "parameters", "파라미터"),
                         hovertemplate="%{x}<br>%{y:,}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Bar(x=names, y=rows["mult_adds"], marker_color="#e8590c",
                         name=pick(lang, "multiply-adds", "곱셈-덧셈"),
                         hovertemplate="%{x}<br>%{y:,}<extra></extra>"), row=1, col=2)
    fig.update_layout(showlegend=False)
    return style(fig, height=height)


def cost_comparison_figure(table, *, lang: str = "en", height: int = 320) -> go.Figure:
    """Fig. 3's point as bars: multiply-adds (billions) of VGG-19 and the 34-layer nets (and more).

    ``table`` has columns model, mult_adds (count) and optionally paper_g (the paper's number, G).
    """
    values = [value / 1e9 for value in table["mult_adds"]]
    colours = ["#868e96" if "VGG" in str(model) else ("#adb5bd" if "plain" in str(model).lower() else "#1c7ed6")
               for model in table["model"]]
    fig = go.Figure(go.Bar(
        y=list(table["model"]), x=values, orientation="h", marker_color=colours,
        text=[f"{value:.2f}G" for value in values], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.2f}G<extra></extra>", name=pick(lang, "measured", "측정값")))
    if "paper_g" in table:
        fig.add_trace(go.Scatter(
            y=list(table["model"]), x=list(table["paper_g"]), mode="markers",
            marker=dict(symbol="line-ns", size=22, line=dict(width=3, color="#c92a2a")),
            name=pick(lang, "paper (Fig. 3 / Table 1)", "논문 값 (그림 3 / 표 1)"),
            hovertemplate="%{y}: %{x}G (paper)<extra></extra>"))
    fig.update_xaxes(title_text=pick(lang, "multiply-adds per 224×224 image (billions)",
                                     "224×224 이미지 1장당 곱셈-덧셈 (십억, G)"),
                     range=[0, max(values) * 1.2])
    fig.update_yaxes(autorange="reversed")
    return style(fig, height=height)
