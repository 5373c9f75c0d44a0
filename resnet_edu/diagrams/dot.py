"""Writing Graphviz DOT: node and edge syntax, the colours of each kind of layer, bilingual labels.

Shared by the block diagram and the network diagram, so both draw a conv, a BN or a shortcut
the same way. ``st.graphviz_chart`` renders the DOT text in the browser (no graphviz binary).
"""

from __future__ import annotations

from collections.abc import Sequence

from resnet_edu.words import pick

# Fill / border colours per kind of node (conv blue, BN yellow, ReLU green, add orange).
COLOURS = {
    "conv": ("#dbe9ff", "#3b6fd8"),
    "bn": ("#fff3bf", "#c99a06"),
    "relu": ("#d3f9d8", "#2f9e44"),
    "pool": ("#f3d9fa", "#9c36b5"),
    "fc": ("#f3d9fa", "#9c36b5"),
    "add": ("#ffe8cc", "#e8590c"),
    "io": ("#f1f3f5", "#868e96"),
    "stage": ("#e7f5ff", "#1c7ed6"),
    "stage_off": ("#f8f9fa", "#868e96"),
    "other": ("#f1f3f5", "#495057"),
}
SHORTCUT_COLOUR = "#e8590c"
OFF_COLOUR = "#adb5bd"
PHRASES = {  # key -> (English, Korean); {placeholders} are filled by phrase()
    "identity": ("identity x", "항등 x"),
    "zeropad": ("zero-pad (option A)", "0 채우기 (옵션 A)"),
    "projection_B": ("1x1 conv + BN (option B)", "1x1 conv + BN (옵션 B)"),
    "projection_C": ("1x1 conv + BN (option C)", "1x1 conv + BN (옵션 C)"),
    "off": ("shortcut off", "숏컷 꺼짐"),
    "no_add": ("no addition:\nplain block", "덧셈 없음:\n일반(plain) 블록"),
    "input": ("input", "입력"),
    "output": ("output", "출력"),
    "subsample": ("subsample /{s}, +{c} zero channels", "/{s} 서브샘플링, 0 채널 {c}개 추가"),
    "blocks": ("{n} × {kind}", "{kind} × {n}"),
    "basic": ("basic block", "기본 블록"),
    "bottleneck": ("bottleneck", "병목 블록"),
    "shortcuts_on": ("{n} shortcuts", "숏컷 {n}개"),
    "shortcuts_some": ("{k}/{n} shortcuts on", "숏컷 {n}개 중 {k}개 켜짐"),
    "shortcuts_off": ("shortcuts off", "숏컷 꺼짐"),
    "mult_adds": ("{v} mult-adds", "곱셈-덧셈 {v}"),
    "params": ("{v} params", "파라미터 {v}"),
}


def phrase(key: str, lang: str, **kwargs) -> str:
    """The label ``key`` of :data:`PHRASES` in ``lang``, its placeholders filled from ``kwargs``."""
    return pick(lang, *PHRASES[key]).format(**kwargs)


def human(number: float, digits: int = 2) -> str:
    """1234567 -> '1.23M', 3.6e9 -> '3.60G' (the paper writes FLOPs this way)."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(number) >= size:
            return f"{number / size:.{digits}f}{unit}"
    return f"{number:.0f}"


def shape_text(shape: Sequence[int]) -> str:
    return "×".join(str(size) for size in shape)


def dot_quote(text: str) -> str:
    """``text`` as a quoted DOT string (backslashes, quotes and newlines escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot_edge_label(text: str) -> str:
    """A quoted edge label, padded: the browser's font runs wider than Graphviz's estimate and
    would otherwise clip the first letter against the edge."""
    return dot_quote("\n".join(f"  {line}  " for line in text.split("\n")))


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def dot_node(node_id: str, title: str, subtitle: str = "", kind: str = "other", **attrs) -> str:
    """A box with a bold title and small grey subtitle lines, coloured by ``kind`` (see COLOURS)."""
    fill, border = COLOURS.get(kind, COLOURS["other"])
    lines = f"<B>{_html(title)}</B>"
    for line in subtitle.split("\n") if subtitle else []:
        lines += f'<BR/><FONT POINT-SIZE="9" COLOR="#555555">{_html(line)}</FONT>'
    attributes = {"label": f"<{lines}>", "fillcolor": dot_quote(fill), "color": dot_quote(border)}
    attributes.update({key: value for key, value in attrs.items()})
    return f"  {dot_quote(node_id)} [" + ", ".join(f"{key}={value}" for key, value in attributes.items()) + "];"


def dot_edge(source: str, target: str, **attrs) -> str:
    """An arrow from ``source`` to ``target``; ``attrs`` are DOT edge attributes (already quoted)."""
    text = f"  {dot_quote(source)} -> {dot_quote(target)}"
    if attrs:
        text += " [" + ", ".join(f"{key}={value}" for key, value in attrs.items()) + "]"
    return text + ";"


DOT_HEADER = [
    "  graph [rankdir=TB, bgcolor=\"transparent\", pad=0.3, nodesep=0.35, ranksep=0.28, fontname=\"Helvetica\", "
    "fontsize=12, labelloc=t];",
    "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=11, penwidth=1.2, "
    "margin=\"0.14,0.05\"];",
    "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#495057\", arrowsize=0.7];",
]
