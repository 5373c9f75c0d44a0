"""Residual and plain networks from "Deep Residual Learning for Image Recognition".

He, Zhang, Ren, Sun (2015), arXiv:1512.03385. One code path builds both kinds of net:
a *plain* net is exactly a residual net whose shortcut connections are switched off, so
the two have the same layers and (with option-A shortcuts) the same parameters.

CIFAR-10 nets (Sec. 4.2), depth = 6n + 2, three stages of n basic blocks on
32x32 / 16x16 / 8x8 maps with 16 / 32 / 64 filters, option-A shortcuts:

    depth   n    parameters   paper test error (Table 6)
    20      3    0.27M        8.75%
    32      5    0.46M        7.51%
    44      7    0.66M        7.17%
    56      9    0.85M        6.97%
    110     18   1.7M         6.43%
    1202    200  19.4M        7.93%

ImageNet nets (Table 1), four stages on 56 / 28 / 14 / 7 px maps, 1000 classes:

    depth   block        blocks per stage   parameters (torchvision)   multiply-adds at 224 px
    18      basic        [2, 2, 2, 2]       11,689,512                 1.8G
    34      basic        [3, 4, 6, 3]       21,797,672                 3.6G
    50      bottleneck   [3, 4, 6, 3]       25,557,032                 3.8G (paper) / 4.1G (torchvision v1.5)
    101     bottleneck   [3, 4, 23, 3]      44,549,160                 7.6G
    152     bottleneck   [3, 8, 36, 3]      60,192,808                 11.3G

Module names follow torchvision (``conv1``, ``bn1``, ``layer1``..``layer4``, ``fc``; a
block's shortcut branch is its ``downsample``), so torchvision state_dicts load unchanged
and Captum layer targets look familiar. Every ReLU is its own module and nothing is
in-place (``out = out + identity``): Captum's hooks rely on both.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

FAMILIES = ("cifar", "imagenet")
IMAGENET_DEPTHS = (18, 34, 50, 101, 152)
SHORTCUT_TYPES = ("A", "B", "C")
SHORTCUT_BRANCH = "downsample"  # torchvision's name for a block's shortcut module (option A, B or C)
MAX_CIFAR_DEPTH = 1202  # the deepest net of the paper (Sec. 4.2, "Exploring over 1000 layers")
CIFAR_WIDTHS = (16, 32, 64)
IMAGENET_WIDTHS = (64, 128, 256, 512)

# Serialises shortcut flips so a reader of shortcut_state() never sees half a flip.
_shortcut_lock = threading.Lock()


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding 1; no bias, because BatchNorm follows every conv."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)


class ZeroPadShortcut(nn.Module):
    """Option A (Sec. 3.3): identity that subsamples and zero-pads the extra channels.

    It adds no parameter, so a plain net and its residual twin have equal counts.
    A named module rather than a lambda, so the model can be pickled and deep-copied.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]  # (B, C_in, H/s, W/s)
        extra = self.out_channels - self.in_channels
        return F.pad(x, (0, 0, 0, 0, 0, extra))  # (B, C_out, H/s, W/s), new channels are 0

    def extra_repr(self) -> str:
        return f"{self.in_channels}->{self.out_channels}, stride={self.stride}"


def make_shortcut(in_channels: int, out_channels: int, stride: int, shortcut_type: str) -> nn.Module:
    """The shortcut branch of a block: identity, option A (zero-pad) or a projection.

    Sec. 3.3 / Table 3: (A) zero-padding for increasing dimensions, all shortcuts
    parameter-free; (B) projections (1x1 conv + BN) only where dimensions change;
    (C) projections everywhere.
    """
    shape_changes = stride != 1 or in_channels != out_channels
    if shortcut_type == "C" or (shortcut_type == "B" and shape_changes):
        return nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))
    if shortcut_type == "A" and shape_changes:
        return ZeroPadShortcut(in_channels, out_channels, stride)
    return nn.Identity()


class BasicBlock(nn.Module):
    """Two 3x3 convs (Fig. 2 / Fig. 5 left): out = ReLU(F(x) + x)."""

    expansion = 1

    def __init__(self, in_channels: int, width: int, stride: int = 1, shortcut_type: str = "A",
                 stride_in_1x1: bool = False, stage: int = 1) -> None:
        super().__init__()
        out_channels = width * self.expansion
        self.stage = stage  # 1-based stage (layer1, layer2, ...): known even inside a compiled or DDP-wrapped net
        self.conv1 = conv3x3(in_channels, width, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.act1 = nn.ReLU()
        self.conv2 = conv3x3(width, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.act2 = nn.ReLU()
        self.downsample = make_shortcut(in_channels, out_channels, stride, shortcut_type)
        self.shortcut_enabled = True  # False: this block is a plain block
        self.branch_enabled = True  # False: the residual branch F is deleted (lesion study)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)  # (B, width, H/s, W/s)
        out = self.bn1(out)
        out = self.act1(out)
        out = self.conv2(out)
        return self.bn2(out)  # (B, width, H/s, W/s); Fig. 7 measures this response

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.branch_enabled:  # Veit et al. 2016: only the shortcut path remains
            return self.act2(self.downsample(x))
        out = self.residual(x)
        if self.shortcut_enabled:
            out = out + self.downsample(x)  # never +=: the hooks' saved tensors must stay intact
        return self.act2(out)


class Bottleneck(nn.Module):
    """1x1 reduce -> 3x3 -> 1x1 expand (x4), Fig. 5 right; used for 50/101/152 layers.

    The paper puts the stride in the first 1x1 conv (3.8G multiply-adds for ResNet-50);
    torchvision's "v1.5" puts it in the 3x3 conv (4.1G, slightly more accurate).
    """

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int = 1, shortcut_type: str = "B",
                 stride_in_1x1: bool = False, stage: int = 1) -> None:
        super().__init__()
        out_channels = width * self.expansion
        self.stage = stage
        stride_1x1, stride_3x3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = conv1x1(in_channels, width, stride_1x1)
        self.bn1 = nn.BatchNorm2d(width)
        self.act1 = nn.ReLU()
        self.conv2 = conv3x3(width, width, stride_3x3)
        self.bn2 = nn.BatchNorm2d(width)
        self.act2 = nn.ReLU()
        self.conv3 = conv1x1(width, out_channels)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.act3 = nn.ReLU()
        self.downsample = make_shortcut(in_channels, out_channels, stride, shortcut_type)
        self.shortcut_enabled = True
        self.branch_enabled = True

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)  # (B, width, H, W)
        out = self.bn1(out)
        out = self.act1(out)
        out = self.conv2(out)  # (B, width, H/s, W/s)
        out = self.bn2(out)
        out = self.act2(out)
        out = self.conv3(out)  # (B, 4 * width, H/s, W/s)
        return self.bn3(out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.branch_enabled:
            return self.act3(self.downsample(x))
        out = self.residual(x)
        if self.shortcut_enabled:
            out = out + self.downsample(x)
        return self.act3(out)


RESIDUAL_BLOCKS = (BasicBlock, Bottleneck)


class ResNet(nn.Module):
    """Stem -> stages of blocks -> global average pooling -> fully connected layer.

    Args:
        block: ``BasicBlock`` or ``Bottleneck``.
        blocks_per_stage: e.g. ``[3, 3, 3]`` for CIFAR ResNet-20, ``[3, 4, 6, 3]`` for ResNet-34.
        widths: filters of each stage; each stride-2 stage doubles them (Sec. 3.3: "the number
            of filters is doubled so as to preserve the time complexity per layer").
        stem: ``"cifar"`` (3x3 conv, 16 filters), ``"imagenet"`` (7x7/2 conv + 3x3/2 max-pool)
            or ``"small"`` (3x3 conv, 64 filters, no pooling, for 32–64 px images).
        num_classes: outputs of the final fully connected layer.
        shortcut_type: ``"A"``, ``"B"`` or ``"C"``, see :func:`make_shortcut`.
        stride_in_1x1: bottlenecks only; the paper's placement of the stride.
        zero_init_residual: start the last BN of each residual branch at gamma = 0, so every
            block starts as the identity (Goyal et al. 2017; torchvision's option).
    """

    def __init__(self, block: type[nn.Module], blocks_per_stage: Sequence[int], widths: Sequence[int],
                 stem: str = "cifar", num_classes: int = 10, shortcut_type: str = "A",
                 stride_in_1x1: bool = False, zero_init_residual: bool = False) -> None:
        super().__init__()
        self.family = "cifar" if stem == "cifar" else "imagenet"
        self.shortcut_type = shortcut_type
        stem_width = widths[0]
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(3, stem_width, kernel_size=7, stride=2, padding=3, bias=False)
            self.maxpool: nn.Module = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        else:  # "cifar" and "small": keep the full resolution of a small image
            self.conv1 = conv3x3(3, stem_width)
            self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm2d(stem_width)
        self.relu = nn.ReLU()

        in_channels = stem_width
        for index, (num_blocks, width) in enumerate(zip(blocks_per_stage, widths), start=1):
            stride = 1 if index == 1 else 2  # Sec. 3.3: downsampling by stride-2 convolutions
            stage = []
            for block_index in range(num_blocks):
                stage.append(block(in_channels, width, stride if block_index == 0 else 1,
                                   shortcut_type=shortcut_type, stride_in_1x1=stride_in_1x1, stage=index))
                in_channels = width * block.expansion
            self.add_module(f"layer{index}", nn.Sequential(*stage))
        self.num_stages = len(blocks_per_stage)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, num_classes)

        for module in self.modules():
            if isinstance(module, nn.Conv2d):  # He init (Sec. 3.4, [13])
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if zero_init_residual:
            for module in self.modules():
                if isinstance(module, Bottleneck):
                    nn.init.zeros_(module.bn3.weight)
                elif isinstance(module, BasicBlock):
                    nn.init.zeros_(module.bn2.weight)

    @property
    def stages(self) -> list[nn.Sequential]:
        return [getattr(self, f"layer{index}") for index in range(1, self.num_stages + 1)]

    # The forward pass in three named pieces: the lesion study runs the stem and the head around
    # its own walk through the blocks, and so computes exactly what forward computes.
    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        """Image to the first stage's input: conv1, BN, ReLU (and the max-pool of ImageNet nets)."""
        x = self.conv1(x)  # CIFAR: (B, 16, 32, 32); ImageNet: (B, 64, 112, 112)
        x = self.bn1(x)
        x = self.relu(x)
        return self.maxpool(x)  # ImageNet: (B, 64, 56, 56)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's output to class scores: global average pooling, then the fc layer."""
        x = self.avgpool(x)  # (B, C, 1, 1)
        x = torch.flatten(x, 1)  # (B, C)
        return self.fc(x)  # (B, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.forward_stem(x)
        for stage in self.stages:
            x = stage(x)  # CIFAR: (B, 64, 8, 8) after layer3; ImageNet: (B, 512 * e, 7, 7) after layer4
        return self.forward_head(x)


def _nearest_cifar_depths(depth: int) -> tuple[int, int]:
    below = max(8, depth - (depth - 2) % 6)
    return below, below + 6


def estimate_cifar_cost(depth: int, batch_size: int = 128) -> tuple[int, float]:
    """Parameters and rough training memory (GiB) of a CIFAR net, without building it.

    Memory counts the activations kept for backward (about 6 tensors of a block's output
    size per block, fp32) plus weights, gradients and momentum. An order of magnitude,
    enough to refuse a net that would not fit.
    """
    n = max(0, (depth - 2) // 6)
    params = 3 * 9 * 16 + 2 * 16 + 64 * 10 + 10
    activations = 16 * 32 * 32
    for width, size in zip(CIFAR_WIDTHS, (32, 16, 8)):
        params += n * 2 * (9 * width * width + 2 * width)
        activations += n * 6 * width * size * size
    gib = (batch_size * activations * 4 + params * 4 * 3) / 2**30
    return params, gib


def default_shortcut_type(family: str) -> str:
    """The paper's shortcut option of a family: A (zero-padding) for CIFAR (Sec. 4.2), B for ImageNet (Table 2)."""
    return "A" if family == "cifar" else "B"


def check_architecture(family: str, depth: int, shortcut_type: str | None = None) -> None:
    """Raise ValueError, with a message a student can act on, unless the paper has such a net.

    The one rule both :func:`build_model` and ``TrainConfig.validate`` apply, so a config that
    validates always builds.

    Args:
        family: ``"cifar"`` (depth 6n+2, at most 1202) or ``"imagenet"`` (18, 34, 50, 101, 152).
        depth: weighted layers, as the paper counts them.
        shortcut_type: ``"A"``, ``"B"``, ``"C"``, or None for the family's default.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}: use 'cifar' (depth 6n+2) or 'imagenet' (18/34/50/101/152)")
    if shortcut_type is not None and shortcut_type not in SHORTCUT_TYPES:
        raise ValueError(f"unknown shortcut_type {shortcut_type!r}: use 'A' (zero-padding), 'B' or 'C' (projections)")
    if family == "imagenet":
        if depth not in IMAGENET_DEPTHS:
            raise ValueError(f"ImageNet depth {depth!r} is not one of {', '.join(map(str, IMAGENET_DEPTHS))}")
        return
    if isinstance(depth, bool) or not isinstance(depth, int):
        raise ValueError(f"depth must be a whole number such as 20 or 56, not {depth!r}")
    if depth < 8:
        raise ValueError(f"depth {depth} is too small: a CIFAR ResNet has depth 6n+2 with n >= 1 (8, 14, 20, ...)")
    if depth > MAX_CIFAR_DEPTH:
        params, gib = estimate_cifar_cost(depth)
        raise ValueError(
            f"depth {depth} is too deep: about {params / 1e6:,.0f}M parameters and ~{gib:,.0f} GiB of "
            f"memory to train at batch 128; the deepest allowed is {MAX_CIFAR_DEPTH} (the paper's deepest)")
    if (depth - 2) % 6:
        below, above = _nearest_cifar_depths(depth)
        raise ValueError(f"depth {depth} is not 6n+2: try {below} or {above}")


STAGES = {"cifar": 3, "imagenet": 4}  # stages of blocks (layer1, layer2, ...) of each family of nets


def stage_count(family: str) -> int:
    """How many stages of blocks a family's nets have: 3 for the CIFAR nets, 4 for the ImageNet nets."""
    return STAGES[family]


def build_model(family: str, depth: int, num_classes: int = 10, shortcuts: bool = True, **opts) -> nn.Module:
    """Build a residual net, or its plain twin with ``shortcuts=False``.

    Args:
        family: ``"cifar"`` (depth 6n+2) or ``"imagenet"`` (depth 18, 34, 50, 101 or 152).
        depth: number of weighted layers (convolutions and the final fully connected layer).
        num_classes: size of the output layer.
        shortcuts: False builds the plain net: same layers, shortcut additions switched off.
        **opts: ``shortcut_type`` ("A" default for CIFAR, "B" default for ImageNet, or "C"),
            ``small_input`` (ImageNet nets on 32–64 px images), ``stride_in_1x1`` (paper's
            bottleneck), ``zero_init_residual``.

    Raises:
        ValueError: for an unknown family, a depth the family does not have, or a bad option.
    """
    allowed_opts = {"shortcut_type", "small_input", "stride_in_1x1", "zero_init_residual"}
    unknown = sorted(set(opts) - allowed_opts)
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed_opts))}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive whole number, not {num_classes!r}")
    shortcut_type = opts.get("shortcut_type", default_shortcut_type(family))
    check_architecture(family, depth, shortcut_type)
    common = dict(num_classes=num_classes, shortcut_type=shortcut_type,
                  zero_init_residual=bool(opts.get("zero_init_residual", False)))

    if family == "cifar":
        if opts.get("small_input") or opts.get("stride_in_1x1"):
            raise ValueError("small_input and stride_in_1x1 apply to the 'imagenet' family only")
        n = (depth - 2) // 6
        model = ResNet(BasicBlock, [n, n, n], CIFAR_WIDTHS, stem="cifar", **common)
    else:
        layouts = {18: (BasicBlock, [2, 2, 2, 2]), 34: (BasicBlock, [3, 4, 6, 3]),
                   50: (Bottleneck, [3, 4, 6, 3]), 101: (Bottleneck, [3, 4, 23, 3]),
                   152: (Bottleneck, [3, 8, 36, 3])}
        block, blocks_per_stage = layouts[depth]
        stem = "small" if opts.get("small_input") else "imagenet"
        model = ResNet(block, blocks_per_stage, IMAGENET_WIDTHS, stem=stem,
                       stride_in_1x1=bool(opts.get("stride_in_1x1", False)), **common)
    if not shortcuts:
        set_shortcuts(model, False)
    return model


def on_main_path(name: str) -> bool:
    """True for a module or parameter path of the stacked layers F(x) (``"layer2.0.conv1.weight"``),
    False for one of a shortcut branch (``"layer2.0.downsample.0"``): the paper counts depth on the
    main path, and Fig. 7's layer-by-layer story leaves the projections out."""
    return SHORTCUT_BRANCH not in name.split(".")


def residual_blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, block) of every residual block, in forward order, e.g. ("layer2.0", BasicBlock).

    The names are the module paths of ``model`` as given: a compiled net's carry an ``_orig_mod.``
    prefix and a DDP-wrapped net's a ``module.`` prefix. Code that needs a block's stage reads
    ``block.stage`` instead of parsing its name.
    """
    return [(name, module) for name, module in model.named_modules() if isinstance(module, RESIDUAL_BLOCKS)]


def set_shortcuts(model: nn.Module, enabled: bool, stages: Iterable[int] | None = None) -> None:
    """Switch the shortcut connections of all blocks, or of the listed stages (1-based).

    Flips one boolean per block: nothing is re-allocated, the weights and the optimizer's
    state stay, and it is safe to call from another thread while the model trains (a
    training loop that wants the switch exactly between two steps should queue it).
    Works on a bare, a ``torch.compile``-d or a DDP-wrapped net alike (blocks know their stage).
    """
    blocks = [block for _, block in residual_blocks(model)]
    stage_numbers = sorted({block.stage for block in blocks})
    chosen = set(stage_numbers) if stages is None else set(stages)
    unknown = chosen - set(stage_numbers)
    if unknown:
        raise ValueError(f"stage(s) {sorted(unknown)} do not exist; this net has stages {stage_numbers}")
    with _shortcut_lock:
        for block in blocks:
            if block.stage in chosen:
                block.shortcut_enabled = bool(enabled)


def shortcut_state(model: nn.Module) -> dict[int, bool]:
    """{stage: True if every block of that stage has its shortcut on}."""
    state: dict[int, bool] = {}
    with _shortcut_lock:
        for _, block in residual_blocks(model):
            state[block.stage] = state.get(block.stage, True) and block.shortcut_enabled
    return state


def count_parameters(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def net_name(family: str, depth: int, shortcuts: bool, shortcut_type: str | None = None) -> str:
    """The paper's naming: "plain-56" or "ResNet-56"; "ImageNet ResNet-34" for the ImageNet family,
    and the shortcut option when it is not the family's default, e.g. "ResNet-56 (B)"."""
    kind = "ResNet" if shortcuts else "plain"
    option = shortcut_type or default_shortcut_type(family)
    suffix = "" if option == default_shortcut_type(family) else f" ({option})"
    prefix = "" if family == "cifar" else "ImageNet "
    return f"{prefix}{kind}-{depth}{suffix}"


__all__ = [
    "BasicBlock", "Bottleneck", "ResNet", "ZeroPadShortcut", "build_model", "check_architecture", "count_parameters",
    "default_shortcut_type", "estimate_cifar_cost", "make_shortcut", "net_name", "residual_blocks", "set_shortcuts",
    "shortcut_state", "FAMILIES", "IMAGENET_DEPTHS", "SHORTCUT_TYPES", "MAX_CIFAR_DEPTH",
]

