"""The house style every chart shares: template, fonts, one colour per depth, plain dotted.

Every figure module draws with it, so each colour and dash is defined once:
a ResNet-56 is the same orange on the Degradation, Gradients and Lesion pages, a plain net is
dotted on every chart, a residual one solid.
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

from resnet_edu.words import pick

# plotly_white's layout without its per-trace-type defaults (about 60% of its size): every
# figure carries its template to every browser on every refresh, so a lean one is cheaper
# to copy and send. Registered once; figures refer to it by name.
TEMPLATE = "resnet_lab"
if TEMPLATE not in pio.templates:
    pio.templates[TEMPLATE] = go.layout.Template(layout=pio.templates["plotly_white"].layout)
FONT_FAMILY = "Inter, 'Noto Sans KR', 'Malgun Gothic', sans-serif"
PLAIN_DASH = "dot"
# One colour per depth, the same on every page (20 / 32 / 44 / 56 / 110 and ImageNet 18 / 34 / 50).
DEPTH_COLOURS = {8: "#9ecae1", 14: "#6baed6", 20: "#2171b5", 26: "#41ab5d", 32: "#238b45", 44: "#807dba",
                 56: "#d94801", 110: "#a50f15", 1202: "#252525",
                 18: "#2171b5", 34: "#d94801", 50: "#6a51a3", 101: "#a50f15", 152: "#252525"}
KIND_COLOURS = {"plain": "#525252", "residual": "#c0392b"}  # where colour tells the kind, not the depth
KIND_WORDS = {"plain": ("plain", "plain 네트워크"), "residual": ("residual", "잔차 네트워크")}  # (English, Korean)
HEAT_SCALE = "Viridis"  # heat maps and loss contours


def depth_colour(depth: int) -> str:
    """The colour of a net of this depth on every chart (grey for a depth without one)."""
    return DEPTH_COLOURS.get(depth, "#636363")


def kind_word(kind: str, lang: str = "en") -> str:
    """"plain" or "residual" in the reader's language (an unknown kind as it is)."""
    return pick(lang, *KIND_WORDS.get(kind, (kind, kind)))


def kind_dash(shortcuts: bool) -> str:
    """Line dash of a net: solid with shortcuts (a ResNet), dotted without (a plain net)."""
    return "solid" if shortcuts else PLAIN_DASH


def style(fig: go.Figure, *, height: int = 420, uirevision: str | None = None) -> go.Figure:
    """House style: white background, readable fonts, legend on top; uirevision keeps zoom across refreshes."""
    fig.update_layout(template=TEMPLATE, height=height, font=dict(family=FONT_FAMILY, size=13),
                      margin=dict(l=10, r=10, t=50, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0))
    if uirevision is not None:
        fig.update_layout(uirevision=uirevision)
    return fig
