"""The block diagram: one traced residual block as DOT (conv / BN / ReLU, the ⊕ and the shortcut).

Draws a :class:`~resnet_edu.diagrams.trace.BlockGraph`; torchview's autograd-level drawing of
the same block is here too, for students who want every operation.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from torch import nn

from resnet_edu.diagrams.dot import (DOT_HEADER, OFF_COLOUR, SHORTCUT_COLOUR, dot_edge, dot_edge_label, dot_node,
                                     dot_quote, phrase, shape_text)
from resnet_edu.diagrams.trace import BlockGraph


def shortcut_label(graph: BlockGraph, lang: str = "en") -> str:
    """'identity x' / 'zero-pad (option A)' / '1x1 conv + BN (option B)' for the block's shortcut."""
    if graph.shortcut_kind == "zeropad":
        return phrase("zeropad", lang)
    if graph.shortcut_kind == "projection":
        option = graph.option if graph.option in ("B", "C") else ("B" if graph.shape_changes else "C")
        return phrase(f"projection_{option}", lang)
    return phrase("identity", lang)


def block_dot(graph: BlockGraph, lang: str = "en", title: str | None = None) -> str:
    """DOT for one traced block: conv/BN/ReLU nodes, the ⊕ and the dashed shortcut.

    With the shortcut on, a dashed orange edge labelled by its kind ("identity x",
    "zero-pad (option A)", or through 1x1 conv + BN nodes for a projection) joins an add
    node. With it off there is no add node: the shortcut is drawn grey and dotted, ending
    in a crossed-out stub beside the block's last ReLU.
    """
    lines = ["digraph block {"] + list(DOT_HEADER)
    if title:
        lines.append(f"  label={dot_quote(title)};")
    lines.append(dot_node("x", "x", shape_text(graph.in_shape), "io", shape="oval"))
    previous = "x"
    for op in graph.main:
        lines.append(dot_node(op.name, op.label, f"{op.name} · {shape_text(op.out_shape)}", op.kind))
        lines.append(dot_edge(previous, op.name))
        previous = op.name
    on = graph.shortcut_enabled and graph.shortcut_kind != "none"
    label = shortcut_label(graph, lang)
    if graph.shortcut_kind == "zeropad":
        channels = graph.out_shape[0] - graph.in_shape[0]
        stride = max(1, graph.in_shape[-1] // max(1, graph.out_shape[-1]))
        label += "\n" + phrase("subsample", lang, s=stride, c=channels)
    if on:
        lines.append(dot_node("add", "+", "", "add", shape="circle", width="0.42", fixedsize="true", fontsize="16"))
        lines.append(dot_edge(previous, "add"))
        previous = "add"
    style = (dict(style="dashed", color=dot_quote(SHORTCUT_COLOUR), fontcolor=dot_quote(SHORTCUT_COLOUR), penwidth="2")
             if on else dict(style="dotted", color=dot_quote(OFF_COLOUR), fontcolor=dot_quote("#868e96"), penwidth="1.5"))
    if graph.shortcut_kind != "none":
        source = "x"
        for index, op in enumerate(graph.shortcut):
            kind = op.kind if on else "stage_off"
            lines.append(dot_node(op.name, op.label, f"{op.name} · {shape_text(op.out_shape)}", kind,
                               **({} if on else {"fontcolor": dot_quote("#868e96")})))
            edge_label = {"label": dot_edge_label(label)} if index == 0 else {}
            lines.append(dot_edge(source, op.name, **style, **edge_label))
            source = op.name
        if on:
            edge_label = {} if graph.shortcut else {"label": dot_edge_label(label)}
            lines.append(dot_edge(source, "add", **style, **edge_label))
        else:
            off = phrase("off", lang) if graph.shortcut else f"{label}\n({phrase('off', lang)})"
            lines.append(dot_node("cut", "✕", phrase("no_add", lang), "stage_off", shape="box",
                               fontcolor=dot_quote("#c92a2a"), style=dot_quote("rounded,dashed,filled")))
            lines.append(dot_edge(source, "cut", **style, label=dot_edge_label(off), arrowhead="tee"))
            anchor = graph.post[0].name if graph.post else (graph.main[-1].name if graph.main else "x")
            lines.append(f"  {{rank=same; {dot_quote('cut')}; {dot_quote(anchor)};}}")
    for op in graph.post:
        lines.append(dot_node(op.name, op.label, f"{op.name} · {shape_text(op.out_shape)}", op.kind))
        lines.append(dot_edge(previous, op.name))
        previous = op.name
    lines.append(dot_node("y", phrase("output", lang), shape_text(graph.out_shape), "io", shape="oval"))
    lines.append(dot_edge(previous, "y"))
    lines.append("}")
    return "\n".join(lines)


def torchview_dot(block: nn.Module, input_shape: Sequence[int]) -> str:
    """The exact autograd-level graph of a block, drawn by torchview (DOT source)."""
    from torchview import draw_graph

    block = copy.deepcopy(block)
    if any(parameter.is_meta for parameter in block.parameters()):
        block = block.to_empty(device="cpu")  # a meta model has no values: give it fresh ones
        for module in block.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
    graph = draw_graph(block.to("cpu").eval(), input_size=(1, *input_shape), device="cpu",
                       expand_nested=True, depth=3, roll=False, save_graph=False)
    return graph.visual_graph.source
