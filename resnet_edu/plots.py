"""Plotly figure builders shared by the pages (one module, so every chart looks alike).

Sections: common style; training curves (Degradation, Lab); architecture (Architecture,
Paper); inside the network (Gradients, Features, Lesion). Every builder takes plain data
(pandas frames, numbers) and returns a ``plotly.graph_objects.Figure``; none reads the
store or imports Streamlit.
"""

from __future__ import annotations

import plotly.graph_objects as go

# ---------------------------------------------------------------- common style
FONT_FAMILY = "Inter, 'Noto Sans KR', 'Malgun Gothic', sans-serif"
PLAIN_DASH = "dot"
# One colour per depth, the same on every page (20 / 32 / 44 / 56 / 110 and ImageNet 18 / 34 / 50).
DEPTH_COLOURS = {8: "#9ecae1", 14: "#6baed6", 20: "#2171b5", 26: "#41ab5d", 32: "#238b45", 44: "#807dba",
                 56: "#d94801", 110: "#a50f15", 1202: "#252525",
                 18: "#2171b5", 34: "#d94801", 50: "#6a51a3", 101: "#a50f15", 152: "#252525"}


def depth_colour(depth: int) -> str:
    return DEPTH_COLOURS.get(depth, "#636363")


def style(fig: go.Figure, *, height: int = 420, uirevision: str | None = None) -> go.Figure:
    """House style: white background, readable fonts, legend on top; uirevision keeps zoom across refreshes."""
    fig.update_layout(template="plotly_white", height=height, font=dict(family=FONT_FAMILY, size=13),
                      margin=dict(l=10, r=10, t=50, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0))
    if uirevision is not None:
        fig.update_layout(uirevision=uirevision)
    return fig


# ---------------------------------------------------------------- training curves


# ---------------------------------------------------------------- architecture


# ---------------------------------------------------------------- inside the network
