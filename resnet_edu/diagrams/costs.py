"""The paper's nets as the diagrams build them, and their Table 1 measured: names, parameters, multiply-adds.

Builds a net on the meta device (shapes and multiply-adds exact, nothing allocated) at its
paper input size, and measures it; VGG-19's multiply-adds for Fig. 3's comparison.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from resnet_edu.diagrams.network import idle_shortcut_parameters
from resnet_edu.model_summary import describe
from resnet_edu.models import build_model


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


def stage_table(family: str, depth: int, shortcut_type: str = "A", shortcuts: bool = True):
    """``model_summary.describe`` of the net at its paper input size (224 px / 32 px), Table 1 names added.

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


def vgg19_mult_adds(input_size: Sequence[int] = (3, 224, 224)) -> int:
    """Multiply-adds of VGG-19 at 224 px (Fig. 3: 19.6 billion), counted by FlopCounterMode."""
    import torchvision

    with torch.device("meta"):
        model = torchvision.models.vgg19(weights=None)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(1, *input_size, device="meta"))
    return counter.get_total_flops() // 2
