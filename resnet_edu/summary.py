"""The paper's Table 1 for a real model: output size, blocks, weighted layers, parameters, multiply-adds.

:func:`weight_layers` is the one count of depth as the paper counts it (convolutions and fc
layers on the main path); :func:`describe` is the table.

The numbers are measured on a built net (one image through it under torch's FLOP counter)
and returned as a pandas table; :mod:`resnet_edu.models` is the architecture only.
The Architecture page and the diagrams show its rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from resnet_edu.models import (
    RESIDUAL_BLOCKS,
    Bottleneck,
    count_parameters,
    on_main_path,
    residual_blocks,
    shortcut_state,
)


def weight_layers(module: nn.Module) -> int:
    """Weighted layers on the main path, as the paper counts depth: convolutions and fully connected
    layers, shortcut projections (``downsample``) excluded. 56 for ResNet-56, 1 for ``conv1``."""
    return sum(1 for name, layer in module.named_modules()
               if isinstance(layer, (nn.Conv2d, nn.Linear)) and on_main_path(name))


def _format_shape(shape: Sequence[int]) -> str:
    return "×".join(str(size) for size in shape)


def describe(model: nn.Module, input_size: Sequence[int] = (3, 32, 32), per_block: bool = False) -> pd.DataFrame:
    """A real model stage by stage, as the paper's tables list it (Table 1 for the ImageNet nets, the table
    of Sec. 4.2 for the CIFAR nets): one row per stage (or per block).

    Columns: ``layer`` (torchvision name), ``output_size`` (C×H×W), ``blocks``,
    ``weight_layers`` (convs and fc on the main path, as the paper counts depth),
    ``parameters`` and ``mult_adds``, measured by running one image through the model
    under ``torch.utils.flop_counter.FlopCounterMode`` (FLOPs / 2). The last row is the total.
    ``df.attrs["notes"]`` holds remarks such as the ResNet-50 stride placement.
    """
    rows_of = ["conv1"] + [f"layer{i}" for i in range(1, model.num_stages + 1)] + ["fc"]
    if per_block:
        rows_of = ["conv1"] + [name for name, _ in residual_blocks(model)] + ["fc"]
    modules = dict(model.named_modules())
    output_sizes: dict[str, tuple[int, ...]] = {}
    hooks = []
    for name in rows_of:
        def record(_module, _inputs, output, name=name):
            output_sizes[name] = tuple(output.shape[1:])
        hooks.append(modules[name].register_forward_hook(record))

    was_training = model.training
    model.eval()
    x = torch.zeros(1, *input_size, device=next(model.parameters()).device)
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    flop_counts = counter.get_flop_counts()
    root = type(model).__name__  # FlopCounterMode names modules "<RootClass>.<path>"

    def mult_adds(name: str) -> int:
        return sum(flop_counts.get(f"{root}.{name}", {}).values()) // 2

    rows = []
    for name in rows_of:
        module = modules[name]
        params = count_parameters(module)
        if name == "conv1":
            params += count_parameters(model.bn1)
        blocks = len(module) if isinstance(module, nn.Sequential) else (1 if isinstance(module, RESIDUAL_BLOCKS) else 0)
        rows.append({"layer": name, "output_size": _format_shape(output_sizes[name]), "blocks": blocks,
                     "weight_layers": weight_layers(module), "parameters": params, "mult_adds": mult_adds(name)})
    frame = pd.DataFrame(rows)
    total = {"layer": "total", "output_size": _format_shape(output_sizes["fc"]), "blocks": int(frame["blocks"].sum()),
             "weight_layers": int(frame["weight_layers"].sum()), "parameters": count_parameters(model),
             "mult_adds": sum(flop_counts.get("Global", {}).values()) // 2}
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)

    notes = []
    if any(isinstance(block, Bottleneck) for _, block in residual_blocks(model)):
        notes.append("Bottleneck stride: the authors' released models put it in the first 1x1 conv, which gives "
                     "Table 1's numbers (ResNet-50: 3.8G multiply-adds; the paper's text does not say where); "
                     "torchvision's v1.5 puts it in the 3x3 conv (4.1G), slightly more accurate. "
                     "Build with stride_in_1x1=True for the released models' version.")
    if not all(shortcut_state(model).values()):
        notes.append("Some shortcuts are off: those blocks compute a plain F(x), with the same parameters.")
    if model.shortcut_type != "A":
        notes.append(f"Option {model.shortcut_type}: projection shortcuts (1x1 conv + BN) add parameters "
                     "(counted in the stage rows, not in weight_layers, as the paper counts depth).")
    frame.attrs["notes"] = notes
    return frame
