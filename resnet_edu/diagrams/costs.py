"""The paper's nets as the diagrams build them, and their Table 1 measured: names, parameters, multiply-adds.

Builds a net on the meta device (shapes and multiply-adds exact, nothing allocated) at its
paper input size, and measures it; VGG-19's multiply-adds for Fig. 3's comparison.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from resnet_edu.diagrams.network import Stack, idle_shortcut_parameters
from resnet_edu.models import build_model
from resnet_edu.summary import describe


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


def cost_until_map(stack: Stack, side: int) -> int:
    """Multiply-adds a net spends before its feature maps are ``side`` × ``side`` or smaller (that node included).

    VGG-19 reaches 56×56 after four 3×3 convs at 224 and 112 px; a ResNet after one stride-2 7×7
    conv and a max pool (Table 1): where most of "deeper, yet cheaper" comes from.
    """
    total = 0
    for node in stack.nodes:
        total += node.mult_adds
        if len(node.out_shape) == 3 and node.out_shape[-1] <= side:
            break
    return total


def filters_by_map_size(stack: Stack) -> dict[int, int]:
    """{side of the maps a stage's 3×3 convs work on: their number of filters} (the stem and head left out).

    A VGG group ends in a 2×2 max pool, so its convs work on maps twice the side of its output.
    """
    widths = {}
    for node in stack.nodes:
        if node.kind not in ("stage", "group") or len(node.out_shape) != 3:
            continue
        pooled = any("max pool" in line for line in node.lines)
        widths[node.out_shape[-1] * (2 if pooled else 1)] = node.out_shape[0]
    return widths


def head_share(stack: Stack) -> tuple[int, int]:
    """(multiply-adds, parameters) of the fully connected head: VGG-19's three fc layers, a ResNet's one."""
    heads = [node for node in stack.nodes if node.kind == "head"]
    return sum(node.mult_adds for node in heads), sum(node.params for node in heads)


def released_placement_mult_adds(depth: int, shortcut_type: str = "B") -> int:
    """Multiply-adds at 224 px of a bottleneck ResNet with the stride in the first 1x1 conv of a block,
    where the authors' released models put it: Table 1's numbers (3.8G, 7.6G, 11.3G for 50, 101, 152)."""
    with torch.device("meta"):
        model = build_model("imagenet", depth, num_classes=1000, shortcut_type=shortcut_type, stride_in_1x1=True)
    return int(describe(model, input_size_of("imagenet")).iloc[-1]["mult_adds"])
