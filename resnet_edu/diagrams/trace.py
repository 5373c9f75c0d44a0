"""Tracing one residual block: which layers ran, in what order, with what output shapes.

:func:`trace_block` runs a block on a zero tensor with a forward hook on every leaf module and
a ``TorchFunctionMode`` that notices the ``out + identity`` addition, so it learns the order of
the layers, each output shape, which layers sit on the shortcut branch and whether the
addition happened at all (a switched-off shortcut does not add). Both diagrams read what it
finds: the block diagram draws a :class:`BlockGraph`, the network
diagram labels layers with :func:`op_of`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from resnet_edu.models import RESIDUAL_BLOCKS, ZeroPadShortcut

SHORTCUT_ATTRS = ("downsample", "shortcut")  # torchvision's name, and the other common one
_ADD_NAMES = {"add", "add_", "__add__", "__radd__", "__iadd__"}


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


def op_of(name: str, module: nn.Module, out_shape: tuple[int, ...]) -> Op:
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


def shortcut_attribute(block: nn.Module) -> str | None:
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
    prefix = shortcut_attribute(block)
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
        op = op_of(op_name, module, shape)
        if on_shortcut(op_name):
            shortcut.append(op)
        elif seen_add:
            post.append(op)
        else:
            main.append(op)
    if not added:
        # The real forward has no addition: its main path is what actually ran (post included).
        main = [op_of(n, m, s) for kind, n, m, s in events if kind == "module" and not on_shortcut(n)]
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
