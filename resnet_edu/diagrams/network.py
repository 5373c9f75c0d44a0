"""The network diagram: a whole net grouped into the boxes of the paper's Fig. 3 / Table 1.

:func:`network_stack` groups a net (a ResNet, or torchvision's VGG) into stem, stages and
head, with output sizes, parameters and multiply-adds measured by
``torch.utils.flop_counter.FlopCounterMode``; :func:`network_dot` draws the stack as DOT,
with the shortcuts of every stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from resnet_edu.diagrams.dot import (DOT_HEADER, OFF_COLOUR, SHORTCUT_COLOUR, dot_edge, dot_edge_label, dot_node,
                                     dot_quote, human, phrase, shape_text)
from resnet_edu.diagrams.trace import SHORTCUT_ATTRS, op_of, shortcut_attribute
from resnet_edu.models import RESIDUAL_BLOCKS, ZeroPadShortcut


@dataclass(frozen=True)
class StackNode:
    """One box of the stack: the stem, a stage of blocks, a group of VGG layers, the head."""

    name: str  # module names it covers, e.g. "layer2" or "features.0-3"
    kind: str  # "stem" | "stage" | "group" | "head"
    lines: tuple[str, ...]  # what it computes, paper style ("3×3 conv, 64" ...)
    out_shape: tuple[int, ...]
    params: int
    mult_adds: int
    weight_layers: int
    blocks: int = 0
    block_kind: str = ""  # "basic" | "bottleneck"
    shortcuts: tuple[bool, ...] = ()  # one per block (stages only)
    shortcut_kind: str = ""  # of the stage's first block: "identity" | "zeropad" | "projection"


@dataclass(frozen=True)
class Stack:
    title: str
    input_shape: tuple[int, ...]
    nodes: tuple[StackNode, ...] = field(default_factory=tuple)

    @property
    def mult_adds(self) -> int:
        return sum(node.mult_adds for node in self.nodes)

    @property
    def params(self) -> int:
        return sum(node.params for node in self.nodes)

    @property
    def weight_layers(self) -> int:
        return sum(node.weight_layers for node in self.nodes)


def _measure(model: nn.Module, input_size: Sequence[int]) -> tuple[dict[str, tuple[int, ...]], dict[str, int]]:
    """Output shape of every module that ran, in the order they finished (dicts keep insertion
    order), and FLOPs per module name (FlopCounterMode's own names)."""
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = []
    for name, module in model.named_modules():
        if name:
            def record(_module, _inputs, output, name=name):
                if isinstance(output, torch.Tensor) and name not in shapes:
                    shapes[name] = tuple(output.shape[1:])
            hooks.append(module.register_forward_hook(record))
    parameter = next(model.parameters())
    counter = FlopCounterMode(display=False)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), counter:
            model(torch.zeros(1, *input_size, device=parameter.device))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    root = type(model).__name__
    flops = {key.removeprefix(root + "."): sum(value.values()) for key, value in counter.get_flop_counts().items()}
    return shapes, flops


def _params(modules: Sequence[nn.Module]) -> int:
    return sum(p.numel() for module in modules for p in module.parameters())


def _leaf_lines(modules: Sequence[tuple[str, nn.Module]], shapes: dict) -> list[str]:
    """Paper-style lines for a run of leaf layers; repeated convs collapse to 'n × 3×3 conv, 64'."""
    ops = [op_of(name, module, shapes.get(name, ())) for name, module in modules]
    lines: list[str] = []
    count = 0
    for index, op in enumerate(ops):
        if op.kind in ("bn", "relu", "identity", "other") and op.label in ("BN", "ReLU", "identity", "Dropout"):
            continue
        if op.kind == "pool":
            module = modules[index][1]
            if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
                if tuple(op.out_shape[1:]) in ((1, 1), ()):  # (C, 1, 1): global pooling
                    lines.append("global avg pool" if isinstance(module, nn.AdaptiveAvgPool2d) else "global max pool")
                # else: VGG's AdaptiveAvgPool2d(7) is the identity at 224 px; leave it out
            else:
                k = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
                s = module.stride if isinstance(module.stride, int) else module.stride[0]
                lines.append(f"{k}×{k} {'max' if isinstance(module, nn.MaxPool2d) else 'avg'} pool, /{s}")
            continue
        label = op.label
        if lines and count and lines[-1].endswith(label) and op.kind == "conv":
            count += 1
            lines[-1] = f"{count} × {label}"
            continue
        count = 1
        lines.append(label)
    return lines


def _leaves(module: nn.Module, prefix: str) -> list[tuple[str, nn.Module]]:
    return [(f"{prefix}.{n}" if n else prefix, m) for n, m in module.named_modules() if not any(True for _ in m.children())]


def _weight_layers(modules: Sequence[tuple[str, nn.Module]]) -> int:
    return sum(1 for name, m in modules if isinstance(m, (nn.Conv2d, nn.Linear))
               and not any(f"{attr}" in name.split(".") for attr in SHORTCUT_ATTRS))


def network_stack(model: nn.Module, input_size: Sequence[int] = (3, 32, 32), title: str = "") -> Stack:
    """Group a net into the boxes of the paper's Fig. 3 / Table 1, measured on one input.

    A ResNet's stages (``nn.Sequential`` of residual blocks) become one box each; every run
    of other top-level layers becomes one box (stem before the stages, head after). A net
    without residual stages (torchvision's VGG) is split at its pooling layers instead.
    """
    shapes, flops = _measure(model, input_size)
    children = list(model.named_children())
    is_stage = [isinstance(m, nn.Sequential) and len(m) > 0 and all(isinstance(b, RESIDUAL_BLOCKS) for b in m)
                for _, m in children]
    nodes: list[StackNode] = []

    def flops_of(names: Sequence[str]) -> int:
        return sum(flops.get(name, 0) for name in names) // 2

    if any(is_stage):
        pending: list[tuple[str, nn.Module]] = []

        order = {name: index for index, name in enumerate(shapes)}  # execution order, not registration order

        def flush(kind: str) -> None:
            if not pending:
                return
            pending.sort(key=lambda item: order.get(item[0], len(order)))
            leaves = [leaf for name, m in pending for leaf in _leaves(m, name)]
            last = pending[-1][0]
            nodes.append(StackNode(name=", ".join(n for n, _ in pending), kind=kind, lines=tuple(_leaf_lines(leaves, shapes)),
                                   out_shape=shapes.get(last, ()), params=_params([m for _, m in pending]),
                                   mult_adds=flops_of([n for n, _ in pending]), weight_layers=_weight_layers(leaves)))
            pending.clear()

        for (name, module), stage in zip(children, is_stage):
            if not stage:
                pending.append((name, module))
                continue
            flush("stem")
            first = module[0]
            convs = [m for n, m in first.named_modules() if isinstance(m, nn.Conv2d)
                     and not any(attr in n.split(".") for attr in SHORTCUT_ATTRS)]
            layer_lines = [f"{c.kernel_size[0]}×{c.kernel_size[1]}, {c.out_channels}" for c in convs]
            prefix = shortcut_attribute(first)
            shortcut = getattr(first, prefix) if prefix else None
            kind = ("projection" if shortcut is not None and any(isinstance(m, nn.Conv2d) for m in shortcut.modules())
                    else "zeropad" if isinstance(shortcut, ZeroPadShortcut) else "identity")
            leaves = _leaves(module, name)
            nodes.append(StackNode(
                name=name, kind="stage", lines=tuple(layer_lines), out_shape=shapes.get(name, ()),
                params=_params([module]) - idle_shortcut_parameters(module), mult_adds=flops_of([name]),
                weight_layers=_weight_layers(leaves),
                blocks=len(module), block_kind="bottleneck" if len(convs) == 3 else "basic",
                shortcuts=tuple(bool(getattr(block, "shortcut_enabled", True)) for block in module),
                shortcut_kind=kind))
        flush("head")
    else:
        leaves = _leaves(model, "").copy()
        leaves = [(name.lstrip("."), m) for name, m in leaves]
        group: list[tuple[str, nn.Module]] = []
        for index, (name, module) in enumerate(leaves):
            group.append((name, module))
            ends = isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)) or index == len(leaves) - 1
            if ends:
                names = [n for n, _ in group]
                lines = _leaf_lines(group, shapes)
                out = next((shapes[n] for n in reversed(names) if n in shapes), ())
                has_fc = any(isinstance(m, nn.Linear) for _, m in group)
                nodes.append(StackNode(name=f"{names[0]}–{names[-1]}" if len(names) > 1 else names[0],
                                       kind="head" if has_fc else "group", lines=tuple(lines), out_shape=out,
                                       params=_params([m for _, m in group]), mult_adds=flops_of(names),
                                       weight_layers=_weight_layers(group)))
                group = []
    return Stack(title=title, input_shape=tuple(input_size), nodes=tuple(nodes))


def network_dot(stack: Stack, lang: str = "en", show_cost: bool = True) -> str:
    """DOT for a stack: one box per stem / stage / head, with the shortcuts of every stage.

    A stage whose shortcuts are on gets a dashed orange bypass edge ("9 shortcuts");
    switched off, the bypass is grey and dotted; a partly switched stage says how many are on.
    """
    lines = ["digraph net {"] + list(DOT_HEADER)
    if stack.title:
        lines.append(f"  label={dot_quote(stack.title)};")
    lines.append(dot_node("in", phrase("input", lang), shape_text(stack.input_shape), "io", shape="oval"))
    previous = "in"
    for index, node in enumerate(stack.nodes):
        node_id = f"n{index}"
        cost = []
        if show_cost:
            cost.append(phrase("params", lang, v=human(node.params)) + " · " + phrase("mult_adds", lang, v=human(node.mult_adds)))
        if node.kind == "stage":
            kind_text = phrase(node.block_kind or "basic", lang)
            title = f"{node.name}: " + phrase("blocks", lang, n=node.blocks, kind=kind_text)
            body = "[" + " | ".join(node.lines) + "]"
            on = sum(node.shortcuts)
            fill = "stage" if on else "stage_off"
            lines.append(dot_node(node_id, title, "\n".join([body, shape_text(node.out_shape)] + cost), fill))
            lines.append(dot_edge(previous, node_id))
            if on == len(node.shortcuts):
                label = phrase("shortcuts_on", lang, n=on)
                style = dict(style="dashed", color=dot_quote(SHORTCUT_COLOUR), fontcolor=dot_quote(SHORTCUT_COLOUR), penwidth="1.8")
            elif on:
                label = phrase("shortcuts_some", lang, k=on, n=len(node.shortcuts))
                style = dict(style="dashed", color=dot_quote("#f08c00"), fontcolor=dot_quote("#f08c00"), penwidth="1.2")
            else:
                label = phrase("shortcuts_off", lang)
                style = dict(style="dotted", color=dot_quote(OFF_COLOUR), fontcolor=dot_quote("#868e96"), penwidth="1.2")
            lines.append(dot_edge(node_id, node_id, label=dot_edge_label(label), dir="back", **style))
        else:
            kind = "io" if node.kind != "head" else "fc"
            kind = "conv" if node.kind in ("stem", "group") else kind
            title = node.lines[0] if node.lines else node.name
            rest = list(node.lines[1:]) + [shape_text(node.out_shape)] + cost
            lines.append(dot_node(node_id, title, "\n".join(rest), kind))
            lines.append(dot_edge(previous, node_id))
        previous = node_id
    lines.append("}")
    return "\n".join(lines)


def idle_shortcut_parameters(module: nn.Module) -> int:
    """Parameters of projection shortcuts that are switched off: built, but never used.

    A plain twin of an option-B/C net still holds its 1x1 projections (so the switch can turn
    them back on); the paper's plain nets have none, so they are not counted as in use.
    """
    total = 0
    for block in module.modules():
        if isinstance(block, RESIDUAL_BLOCKS) and getattr(block, "shortcut_enabled", True) is False:
            prefix = shortcut_attribute(block)
            if prefix:
                total += sum(p.numel() for p in getattr(block, prefix).parameters())
    return total


def vgg19_stack(input_size: Sequence[int] = (3, 224, 224)) -> Stack:
    """torchvision's VGG-19 (no weights, meta device) as a stack, measured like the ResNets."""
    import torchvision

    with torch.device("meta"):
        model = torchvision.models.vgg19(weights=None)
    return network_stack(model, input_size, title="VGG-19")
