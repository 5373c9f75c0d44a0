"""Block and network diagrams derived from a real model's structure (Graphviz DOT text).

Nothing here is a static picture: a diagram is *traced* from the module it shows.

* :func:`trace_block` runs one residual block on a zero tensor with a forward hook on every
  leaf module and a ``TorchFunctionMode`` that notices the ``out + identity`` addition, so
  it learns the order of the layers, each output shape, which layers sit on the shortcut
  branch and whether the addition happened at all (a switched-off shortcut does not add).
* :func:`network_stack` groups a whole net (a ResNet, or torchvision's VGG) into the
  stack of the paper's Table 1 / Fig. 3: stem, stages, head, with output sizes,
  parameters and multiply-adds measured by ``torch.utils.flop_counter.FlopCounterMode``.
* :func:`block_dot` and :func:`network_dot` turn either into DOT, which
  ``st.graphviz_chart`` renders in the browser (no graphviz binary needed).

Traces run on whatever device the model lives on; a model built under
``torch.device("meta")`` traces in milliseconds even at 224 px, because meta tensors carry
shapes without data. Labels come in English or Korean (``lang="en" | "ko"``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils.flop_counter import FlopCounterMode

from resnet_edu.models import RESIDUAL_BLOCKS, ZeroPadShortcut, build_model, describe

SHORTCUT_ATTRS = ("downsample", "shortcut")  # torchvision's name, and the other common one
_ADD_NAMES = {"add", "add_", "__add__", "__radd__", "__iadd__"}

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

_TEXT = {
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
    "gap": ("global average pool", "전역 평균 풀링"),
    "softmax": ("{n}-way fc, softmax", "{n}-way fc, softmax"),
    "pool": ("{k}×{k} max pool, /{s}", "{k}×{k} max pool, /{s}"),
    "mult_adds": ("{v} mult-adds", "곱셈-덧셈 {v}"),
    "params": ("{v} params", "파라미터 {v}"),
}


def _text(key: str, lang: str, **kwargs) -> str:
    en, ko = _TEXT[key]
    return (ko if lang == "ko" else en).format(**kwargs)


def human(number: float, digits: int = 2) -> str:
    """1234567 -> '1.23M', 3.6e9 -> '3.60G' (the paper writes FLOPs this way)."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(number) >= size:
            return f"{number / size:.{digits}f}{unit}"
    return f"{number:.0f}"


def shape_text(shape: Sequence[int]) -> str:
    return "×".join(str(size) for size in shape)


# ---------------------------------------------------------------- tracing one block


@dataclass(frozen=True)
class Op:
    """One leaf module as it ran: its name inside the block, kind, a paper-style label and output shape."""

    name: str
    kind: str  # "conv" | "bn" | "relu" | "pool" | "fc" | "zeropad" | "identity" | "other"
    label: str  # e.g. "3×3 conv, 128, /2" as in the paper's Fig. 3
    out_shape: tuple[int, ...]
    params: int = 0


@dataclass(frozen=True)
class BlockGraph:
    """What a residual block computes, as traced from the module: y = post(main(x) + shortcut(x))."""

    name: str
    type_name: str  # "BasicBlock" | "Bottleneck" | ...
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    main: tuple[Op, ...]  # the residual branch F, in execution order
    shortcut: tuple[Op, ...]  # layers with weights on the shortcut branch (empty for identity and zero-padding)
    post: tuple[Op, ...]  # after the addition (the block's last ReLU)
    shortcut_kind: str  # "identity" | "zeropad" | "projection" | "none"
    shortcut_enabled: bool  # False: the addition did not happen (a plain block)
    option: str | None = None  # "A" | "B" | "C" for the label, None when unknown

    @property
    def shape_changes(self) -> bool:
        return self.in_shape != self.out_shape

    @property
    def params(self) -> int:
        return sum(op.params for op in self.main + self.shortcut + self.post)


def _op_of(name: str, module: nn.Module, out_shape: tuple[int, ...]) -> Op:
    params = sum(p.numel() for p in module.parameters(recurse=False))
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        stride = module.stride[0]
        label = f"{kh}×{kw} conv, {module.out_channels}" + (f", /{stride}" if stride > 1 else "")
        return Op(name, "conv", label, out_shape, params)
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return Op(name, "bn", "BN", out_shape, params)
    if isinstance(module, nn.ReLU):
        return Op(name, "relu", "ReLU", out_shape, params)
    if isinstance(module, ZeroPadShortcut):
        return Op(name, "zeropad", "zero-pad", out_shape, params)
    if isinstance(module, nn.Identity):
        return Op(name, "identity", "identity", out_shape, params)
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        return Op(name, "pool", type(module).__name__, out_shape, params)
    if isinstance(module, nn.Linear):
        return Op(name, "fc", f"fc, {module.out_features}", out_shape, params)
    return Op(name, "other", type(module).__name__, out_shape, params)


class _AddSpy(TorchFunctionMode):
    """Records additions made directly in a block's forward (not inside one of its layers)."""

    def __init__(self, events: list, inside: list[int]) -> None:
        super().__init__()
        self.events = events
        self.inside = inside

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if self.inside[0] == 0 and getattr(func, "__name__", "") in _ADD_NAMES and isinstance(out, torch.Tensor):
            self.events.append(("add", None, None, tuple(out.shape[1:])))
        return out


def _shortcut_prefix(block: nn.Module) -> str | None:
    for attr in SHORTCUT_ATTRS:
        if isinstance(getattr(block, attr, None), nn.Module):
            return attr
    return None


def _run_traced(block: nn.Module, x: torch.Tensor) -> tuple[list, tuple[int, ...]]:
    """Leaf-module outputs and top-level additions, in the order the forward made them."""
    events: list = []
    inside = [0]
    hooks = []
    for name, module in block.named_modules():
        if not name or any(True for _ in module.children()):
            continue

        def before(_module, _inputs):
            inside[0] += 1

        def after(module, _inputs, output, name=name):
            inside[0] -= 1
            events.append(("module", name, module, tuple(output.shape[1:])))

        hooks.append(module.register_forward_pre_hook(before))
        hooks.append(module.register_forward_hook(after))
    was_training = block.training
    block.eval()
    try:
        with torch.no_grad(), _AddSpy(events, inside):
            out = block(x)
    finally:
        for hook in hooks:
            hook.remove()
        block.train(was_training)
    return events, tuple(out.shape[1:])


def _as_input(block: nn.Module, x: torch.Tensor | Sequence[int]) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    parameter = next(block.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    return torch.zeros(1, *x, device=device)


def trace_block(block: nn.Module, x: torch.Tensor | Sequence[int], name: str = "block",
                option: str | None = None) -> BlockGraph:
    """Trace a residual block into a :class:`BlockGraph`.

    Args:
        block: any module computing ``act(F(x) + shortcut(x))`` with its shortcut in an
            attribute ``downsample`` (or ``shortcut``), e.g. ``models.BasicBlock``.
        x: an input tensor, or its shape without the batch dimension, e.g. ``(16, 32, 32)``.
        name: shown in the diagram's title, e.g. ``"layer2.0"``.
        option: the net's shortcut option ("A", "B", "C") for the label; guessed if None.

    When the shortcut is switched off the forward makes no addition; the shortcut branch is
    then traced on a copy with it switched on, so the diagram can still show (greyed out)
    what was cut and where it would have joined.
    """
    x = _as_input(block, x)
    in_shape = tuple(x.shape[1:])
    prefix = _shortcut_prefix(block)
    events, out_shape = _run_traced(block, x)

    def on_shortcut(op_name: str) -> bool:
        return prefix is not None and (op_name == prefix or op_name.startswith(prefix + "."))

    added = any(kind == "add" for kind, *_ in events)
    reference = events
    if not added and prefix is not None and getattr(block, "shortcut_enabled", None) is False:
        twin = copy.deepcopy(block)
        twin.shortcut_enabled = True
        reference, _ = _run_traced(twin, x)

    main, post, shortcut = [], [], []
    seen_add = False
    for kind, op_name, module, shape in reference:
        if kind == "add":
            seen_add = True
            continue
        op = _op_of(op_name, module, shape)
        if on_shortcut(op_name):
            shortcut.append(op)
        elif seen_add:
            post.append(op)
        else:
            main.append(op)
    if not added:
        # The real forward has no addition: its main path is what actually ran (post included).
        main = [_op_of(n, m, s) for kind, n, m, s in events if kind == "module" and not on_shortcut(n)]
        if reference is not events:
            post_count = len(post)
            main, post = main[: len(main) - post_count], main[len(main) - post_count:]

    kinds = {op.kind for op in shortcut}
    if prefix is None:
        shortcut_kind = "none"
    elif "conv" in kinds:
        shortcut_kind = "projection"
    elif "zeropad" in kinds:
        shortcut_kind = "zeropad"
    else:
        shortcut_kind = "identity"
    return BlockGraph(name=name, type_name=type(block).__name__, in_shape=in_shape, out_shape=out_shape,
                      main=tuple(main), shortcut=tuple(op for op in shortcut if op.kind not in ("identity", "zeropad")),
                      post=tuple(post), shortcut_kind=shortcut_kind, shortcut_enabled=added, option=option)


def block_input_shapes(model: nn.Module, input_size: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """{block name: its input shape (C, H, W)} from one forward pass with pre-hooks."""
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, RESIDUAL_BLOCKS):
            def record(_module, inputs, name=name):
                shapes[name] = tuple(inputs[0].shape[1:])
            hooks.append(module.register_forward_pre_hook(record))
    parameter = next(model.parameters())
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_size, device=parameter.device))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return shapes


def trace_model_block(model: nn.Module, block_name: str, input_size: Sequence[int]) -> BlockGraph:
    """Trace the block ``block_name`` (e.g. "layer2.0") of a whole net, with its real input shape."""
    modules = dict(model.named_modules())
    if block_name not in modules:
        blocks = [n for n, m in model.named_modules() if isinstance(m, RESIDUAL_BLOCKS)]
        raise ValueError(f"no block {block_name!r}; this net has {blocks[0]} … {blocks[-1]}")
    in_shape = block_input_shapes(model, input_size)[block_name]
    return trace_block(modules[block_name], in_shape, name=block_name, option=getattr(model, "shortcut_type", None))


# ---------------------------------------------------------------- DOT helpers


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _edge_label(text: str) -> str:
    """A quoted edge label, padded: the browser's font runs wider than Graphviz's estimate and
    would otherwise clip the first letter against the edge."""
    return _quote("\n".join(f"  {line}  " for line in text.split("\n")))


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _node(node_id: str, title: str, subtitle: str = "", kind: str = "other", **attrs) -> str:
    fill, border = COLOURS.get(kind, COLOURS["other"])
    lines = f"<B>{_html(title)}</B>"
    for line in subtitle.split("\n") if subtitle else []:
        lines += f'<BR/><FONT POINT-SIZE="9" COLOR="#555555">{_html(line)}</FONT>'
    attributes = {"label": f"<{lines}>", "fillcolor": _quote(fill), "color": _quote(border)}
    attributes.update({key: value for key, value in attrs.items()})
    return f"  {_quote(node_id)} [" + ", ".join(f"{key}={value}" for key, value in attributes.items()) + "];"


def _edge(source: str, target: str, **attrs) -> str:
    text = f"  {_quote(source)} -> {_quote(target)}"
    if attrs:
        text += " [" + ", ".join(f"{key}={value}" for key, value in attrs.items()) + "]"
    return text + ";"


_HEADER = [
    "  graph [rankdir=TB, bgcolor=\"transparent\", pad=0.3, nodesep=0.35, ranksep=0.28, fontname=\"Helvetica\", "
    "fontsize=12, labelloc=t];",
    "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=11, penwidth=1.2, "
    "margin=\"0.14,0.05\"];",
    "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#495057\", arrowsize=0.7];",
]


def shortcut_label(graph: BlockGraph, lang: str = "en") -> str:
    """'identity x' / 'zero-pad (option A)' / '1x1 conv + BN (option B)' for the block's shortcut."""
    if graph.shortcut_kind == "zeropad":
        return _text("zeropad", lang)
    if graph.shortcut_kind == "projection":
        option = graph.option if graph.option in ("B", "C") else ("B" if graph.shape_changes else "C")
        return _text(f"projection_{option}", lang)
    return _text("identity", lang)


def block_dot(graph: BlockGraph, lang: str = "en", title: str | None = None) -> str:
    """DOT for one traced block: conv/BN/ReLU nodes, the ⊕ and the dashed shortcut.

    With the shortcut on, a dashed orange edge labelled by its kind ("identity x",
    "zero-pad (option A)", or through 1x1 conv + BN nodes for a projection) joins an add
    node. With it off there is no add node: the shortcut is drawn grey and dotted, ending
    in a crossed-out stub beside the block's last ReLU.
    """
    lines = ["digraph block {"] + list(_HEADER)
    if title:
        lines.append(f"  label={_quote(title)};")
    lines.append(_node("x", "x", shape_text(graph.in_shape), "io", shape="oval"))
    previous = "x"
    for op in graph.main:
        lines.append(_node(op.name, op.label, f"{op.name} · {shape_text(op.out_shape)}", op.kind))
        lines.append(_edge(previous, op.name))
        previous = op.name
    on = graph.shortcut_enabled and graph.shortcut_kind != "none"
    label = shortcut_label(graph, lang)
    if graph.shortcut_kind == "zeropad":
        channels = graph.out_shape[0] - graph.in_shape[0]
        stride = max(1, graph.in_shape[-1] // max(1, graph.out_shape[-1]))
        label += "\n" + _text("subsample", lang, s=stride, c=channels)
    if on:
        lines.append(_node("add", "+", "", "add", shape="circle", width="0.42", fixedsize="true", fontsize="16"))
        lines.append(_edge(previous, "add"))
        previous = "add"
    style = (dict(style="dashed", color=_quote(SHORTCUT_COLOUR), fontcolor=_quote(SHORTCUT_COLOUR), penwidth="2")
             if on else dict(style="dotted", color=_quote(OFF_COLOUR), fontcolor=_quote("#868e96"), penwidth="1.5"))
    if graph.shortcut_kind != "none":
        source = "x"
        for index, op in enumerate(graph.shortcut):
            kind = op.kind if on else "stage_off"
            lines.append(_node(op.name, op.label, f"{op.name} · {shape_text(op.out_shape)}", kind,
                               **({} if on else {"fontcolor": _quote("#868e96")})))
            edge_label = {"label": _edge_label(label)} if index == 0 else {}
            lines.append(_edge(source, op.name, **style, **edge_label))
            source = op.name
        if on:
            edge_label = {} if graph.shortcut else {"label": _edge_label(label)}
            lines.append(_edge(source, "add", **style, **edge_label))
        else:
            off = _text("off", lang) if graph.shortcut else f"{label}\n({_text('off', lang)})"
            lines.append(_node("cut", "✕", _text("no_add", lang), "stage_off", shape="box",
                               fontcolor=_quote("#c92a2a"), style=_quote("rounded,dashed,filled")))
            lines.append(_edge(source, "cut", **style, label=_edge_label(off), arrowhead="tee"))
            anchor = graph.post[0].name if graph.post else (graph.main[-1].name if graph.main else "x")
            lines.append(f"  {{rank=same; {_quote('cut')}; {_quote(anchor)};}}")
    for op in graph.post:
        lines.append(_node(op.name, op.label, f"{op.name} · {shape_text(op.out_shape)}", op.kind))
        lines.append(_edge(previous, op.name))
        previous = op.name
    lines.append(_node("y", _text("output", lang), shape_text(graph.out_shape), "io", shape="oval"))
    lines.append(_edge(previous, "y"))
    lines.append("}")
    return "\n".join(lines)


# ---------------------------------------------------------------- a whole net as a stack


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
    ops = [_op_of(name, module, shapes.get(name, ())) for name, module in modules]
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
            prefix = _shortcut_prefix(first)
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
    lines = ["digraph net {"] + list(_HEADER)
    if stack.title:
        lines.append(f"  label={_quote(stack.title)};")
    lines.append(_node("in", _text("input", lang), shape_text(stack.input_shape), "io", shape="oval"))
    previous = "in"
    for index, node in enumerate(stack.nodes):
        node_id = f"n{index}"
        cost = []
        if show_cost:
            cost.append(_text("params", lang, v=human(node.params)) + " · " + _text("mult_adds", lang, v=human(node.mult_adds)))
        if node.kind == "stage":
            kind_text = _text(node.block_kind or "basic", lang)
            title = f"{node.name}: " + _text("blocks", lang, n=node.blocks, kind=kind_text)
            body = "[" + " | ".join(node.lines) + "]"
            on = sum(node.shortcuts)
            fill = "stage" if on else "stage_off"
            lines.append(_node(node_id, title, "\n".join([body, shape_text(node.out_shape)] + cost), fill))
            lines.append(_edge(previous, node_id))
            if on == len(node.shortcuts):
                label = _text("shortcuts_on", lang, n=on)
                style = dict(style="dashed", color=_quote(SHORTCUT_COLOUR), fontcolor=_quote(SHORTCUT_COLOUR), penwidth="1.8")
            elif on:
                label = _text("shortcuts_some", lang, k=on, n=len(node.shortcuts))
                style = dict(style="dashed", color=_quote("#f08c00"), fontcolor=_quote("#f08c00"), penwidth="1.2")
            else:
                label = _text("shortcuts_off", lang)
                style = dict(style="dotted", color=_quote(OFF_COLOUR), fontcolor=_quote("#868e96"), penwidth="1.2")
            lines.append(_edge(node_id, node_id, label=_edge_label(label), dir="back", **style))
        else:
            kind = "io" if node.kind != "head" else "fc"
            kind = "conv" if node.kind in ("stem", "group") else kind
            title = node.lines[0] if node.lines else node.name
            rest = list(node.lines[1:]) + [shape_text(node.out_shape)] + cost
            lines.append(_node(node_id, title, "\n".join(rest), kind))
            lines.append(_edge(previous, node_id))
        previous = node_id
    lines.append("}")
    return "\n".join(lines)


# ---------------------------------------------------------------- measured costs


def paper_stage_names(family: str, num_stages: int) -> list[str]:
    """Table 1's names: conv1, conv2_x … conv5_x for ImageNet; the map size for CIFAR (Sec. 4.2)."""
    if family == "imagenet":
        return ["conv1"] + [f"conv{index + 2}_x" for index in range(num_stages)] + ["fc"]
    return ["conv1"] + [f"{size}×{size}" for size in (32, 16, 8)[:num_stages]] + ["fc"]


def build_for_diagram(family: str, depth: int, shortcut_type: str = "A", shortcuts: bool = True,
                      meta: bool = True) -> nn.Module:
    """The real net (1000 classes for ImageNet, 10 for CIFAR), on the meta device by default:
    shapes and multiply-adds are exact, and nothing is allocated."""
    num_classes = 1000 if family == "imagenet" else 10
    if meta:
        with torch.device("meta"):
            return build_model(family, depth, num_classes=num_classes, shortcuts=shortcuts, shortcut_type=shortcut_type)
    return build_model(family, depth, num_classes=num_classes, shortcuts=shortcuts, shortcut_type=shortcut_type)


def input_size_of(family: str) -> tuple[int, int, int]:
    return (3, 224, 224) if family == "imagenet" else (3, 32, 32)


def idle_shortcut_parameters(module: nn.Module) -> int:
    """Parameters of projection shortcuts that are switched off: built, but never used.

    A plain twin of an option-B/C net still holds its 1x1 projections (so the switch can turn
    them back on); the paper's plain nets have none, so they are not counted as in use.
    """
    total = 0
    for block in module.modules():
        if isinstance(block, RESIDUAL_BLOCKS) and getattr(block, "shortcut_enabled", True) is False:
            prefix = _shortcut_prefix(block)
            if prefix:
                total += sum(p.numel() for p in getattr(block, prefix).parameters())
    return total


def stage_table(family: str, depth: int, shortcut_type: str = "A", shortcuts: bool = True):
    """``models.describe`` of the net at its paper input size (224 px / 32 px), Table 1 names added.

    ``parameters`` counts the parameters in use: switched-off projection shortcuts are left
    out (they are in ``parameters_built``), so a plain net's count matches the paper's.
    """
    model = build_for_diagram(family, depth, shortcut_type, shortcuts)
    frame = describe(model, input_size_of(family))
    names = paper_stage_names(family, model.num_stages) + ["total"]
    frame.insert(1, "paper_name", names)
    modules = dict(model.named_modules())
    idle = [idle_shortcut_parameters(model if name == "total" else modules[name]) for name in frame["layer"]]
    frame["parameters_built"] = frame["parameters"]
    frame["parameters"] = frame["parameters"] - idle
    return frame


def vgg19_stack(input_size: Sequence[int] = (3, 224, 224)) -> Stack:
    """torchvision's VGG-19 (no weights, meta device) as a stack, measured like the ResNets."""
    import torchvision

    with torch.device("meta"):
        model = torchvision.models.vgg19(weights=None)
    return network_stack(model, input_size, title="VGG-19")


def vgg19_mult_adds(input_size: Sequence[int] = (3, 224, 224)) -> int:
    """Multiply-adds of VGG-19 at 224 px (Fig. 3: 19.6 billion), counted by FlopCounterMode."""
    import torchvision

    with torch.device("meta"):
        model = torchvision.models.vgg19(weights=None)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(1, *input_size, device="meta"))
    return counter.get_total_flops() // 2


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


__all__ = [
    "BlockGraph", "Op", "Stack", "StackNode", "block_dot", "block_input_shapes", "build_for_diagram", "human",
    "idle_shortcut_parameters",
    "input_size_of", "network_dot", "network_stack", "paper_stage_names", "shape_text", "shortcut_label",
    "stage_table", "torchview_dot", "trace_block", "trace_model_block", "vgg19_mult_adds", "vgg19_stack",
]
