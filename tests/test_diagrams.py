"""Diagrams are traced from the real module: nodes, shortcut edges and costs follow the model."""

import re
from functools import lru_cache

import pytest
import torch
from torch import nn

from resnet_edu import diagrams
from resnet_edu.diagrams import block_dot, network_dot, network_stack, trace_block, trace_model_block
from resnet_edu.models import BasicBlock, Bottleneck, build_model, set_shortcuts

# (family, depth, input size): a basic-block net and a bottleneck net, both on small inputs.
NETS = {"basic": ("cifar", 20, (3, 32, 32)), "bottleneck": ("imagenet", 50, (3, 64, 64))}


@lru_cache(maxsize=None)
def _meta_model(kind: str, option: str, enabled: bool) -> nn.Module:
    family, depth, _ = NETS[kind]
    with torch.device("meta"):  # shapes without memory: tracing a 50-layer net takes milliseconds
        return build_model(family, depth, shortcut_type=option, shortcuts=enabled)


def _dot_for(kind: str, option: str, enabled: bool, block_name: str, lang: str = "en") -> tuple[str, diagrams.BlockGraph]:
    graph = trace_model_block(_meta_model(kind, option, enabled), block_name, NETS[kind][2])
    return block_dot(graph, lang), graph


def _nodes(dot: str) -> set[str]:
    return set(re.findall(r'^\s*"([^"]+)" \[label=', dot, flags=re.M))


def _edges(dot: str) -> list[tuple[str, str, str]]:
    return re.findall(r'^\s*"([^"]+)" -> "([^"]+)"(?: \[(.*)\])?;$', dot, flags=re.M)


@pytest.mark.parametrize("kind", ["basic", "bottleneck"])
@pytest.mark.parametrize("option", ["A", "B"])
@pytest.mark.parametrize("enabled", [True, False], ids=["on", "off"])
@pytest.mark.parametrize("block_name", ["layer2.0", "layer2.1"], ids=["downsampling", "same-shape"])
def test_block_dot_nodes_and_shortcut_edges(kind, option, enabled, block_name):
    dot, graph = _dot_for(kind, option, enabled, block_name)
    nodes, edges = _nodes(dot), _edges(dot)
    assert dot.startswith("digraph") and dot.rstrip().endswith("}") and dot.count("{") == dot.count("}")

    convs = {"basic": ["conv1", "conv2"], "bottleneck": ["conv1", "conv2", "conv3"]}[kind]
    assert set(convs) <= nodes and {f"bn{i}" for i in range(1, len(convs) + 1)} <= nodes
    assert [op.name for op in graph.main if op.kind == "conv"] == convs  # execution order, from the module
    last_relu = f"act{len(convs)}"
    assert last_relu in nodes

    dashed = [edge for edge in edges if "style=dashed" in edge[2]]
    if enabled:
        assert "add" in nodes and "cut" not in nodes
        assert dashed, "the shortcut is a dashed edge when it is on"
        assert all(target in ("add",) or target.startswith("downsample") for _, target, _ in dashed)
        assert (f"bn{len(convs)}", "add", "") in edges and ("add", last_relu, "") in edges  # ReLU after the addition
    else:
        assert "add" not in nodes and not dashed
        assert "cut" in nodes and any("style=dotted" in attrs for _, _, attrs in edges)
        assert (f"bn{len(convs)}", last_relu, "") in edges  # the plain block: straight on to the ReLU

    # Projection nodes only for option B, and only where the shape changes (B in a same-shape block is the identity).
    # Bottleneck nets change channels in layer1.0 and layer2.0; basic nets only in layer2.0 here.
    projection = option == "B" and block_name == "layer2.0"
    assert ("downsample.0" in nodes) == projection
    assert ("downsample.1" in nodes) == projection
    if projection:
        assert "1x1 conv + BN (option B)" in dot and "1×1 conv" in dot
    elif block_name == "layer2.0":
        assert "zero-pad (option A)" in dot
    else:
        assert "identity x" in dot


def test_shortcut_kinds_and_shapes_come_from_the_module():
    _, zero_pad = _dot_for("basic", "A", True, "layer2.0")
    assert zero_pad.shortcut_kind == "zeropad" and zero_pad.in_shape == (16, 32, 32) and zero_pad.out_shape == (32, 16, 16)
    assert zero_pad.main[0].label == "3×3 conv, 32, /2"  # the stride-2 conv that halves the map
    _, projection = _dot_for("bottleneck", "B", True, "layer2.0")
    assert projection.shortcut_kind == "projection"
    assert [op.label for op in projection.shortcut] == ["1×1 conv, 512, /2", "BN"]
    assert [op.label for op in projection.main if op.kind == "conv"] == ["1×1 conv, 128", "3×3 conv, 128, /2",
                                                                          "1×1 conv, 512"]
    assert projection.params == sum(p.numel() for p in Bottleneck(256, 128, stride=2, shortcut_type="B").parameters())


def test_changing_the_module_changes_the_diagram():
    block = BasicBlock(16, 16)
    before = block_dot(trace_block(block, (16, 8, 8)))
    assert "3×3 conv, 16" in before and "5×5" not in before
    block.conv2 = nn.Conv2d(16, 16, kernel_size=5, padding=2, bias=False)
    block.act1 = nn.Tanh()
    after = block_dot(trace_block(block, (16, 8, 8)))
    assert "5×5 conv, 16" in after and "Tanh" in after and "act1" in _nodes(after)
    block.downsample = nn.Sequential(nn.Conv2d(16, 16, 1, bias=False), nn.BatchNorm2d(16))
    projected = block_dot(trace_block(block, (16, 8, 8), option="C"))
    assert "downsample.0" in _nodes(projected) and "(option C)" in projected


def test_any_module_with_an_addition_is_traced():
    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)
            self.shortcut = nn.Identity()
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(self.conv(x) + self.shortcut(x))

    graph = trace_block(Tiny(), (4, 6, 6))
    assert graph.shortcut_enabled and graph.shortcut_kind == "identity"
    assert [op.name for op in graph.main] == ["conv"] and [op.name for op in graph.post] == ["relu"]


def test_live_switch_on_a_model_shows_in_the_trace():
    model = build_model("cifar", 20)
    on = trace_model_block(model, "layer3.1", (3, 32, 32))
    set_shortcuts(model, False, stages=[3])
    off = trace_model_block(model, "layer3.1", (3, 32, 32))
    still_on = trace_model_block(model, "layer2.1", (3, 32, 32))
    assert on.shortcut_enabled and not off.shortcut_enabled and still_on.shortcut_enabled
    assert [op.name for op in off.main] == [op.name for op in on.main]  # same layers, only the addition is gone


def test_korean_labels():
    dot, _ = _dot_for("basic", "A", True, "layer2.1", lang="ko")
    assert "항등 x" in dot and "출력" in dot
    dot, _ = _dot_for("basic", "A", False, "layer2.0", lang="ko")
    assert "숏컷 꺼짐" in dot and "0 채우기 (옵션 A)" in dot


def test_network_stack_cifar56_matches_the_paper():
    with torch.device("meta"):
        model = build_model("cifar", 56)
    stack = network_stack(model, (3, 32, 32), "ResNet-56")
    assert stack.params == 853_018 and stack.weight_layers == 56
    stages = [node for node in stack.nodes if node.kind == "stage"]
    assert [node.blocks for node in stages] == [9, 9, 9]
    assert [node.out_shape for node in stages] == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]
    assert [node.kind for node in stack.nodes] == ["stem", "stage", "stage", "stage", "head"]
    dot = network_dot(stack)
    assert dot.count("9 shortcuts") == 3 and "shortcuts off" not in dot

    set_shortcuts(model, False, stages=[2])
    dot = network_dot(network_stack(model, (3, 32, 32)))
    assert dot.count("9 shortcuts") == 2 and dot.count("shortcuts off") == 1


def test_network_stack_imagenet34_at_224():
    with torch.device("meta"):
        model = build_model("imagenet", 34, num_classes=1000)
    stack = network_stack(model, (3, 224, 224))
    assert stack.params == 21_797_672 and stack.weight_layers == 34
    assert 3.55e9 < stack.mult_adds < 3.75e9  # Table 1: 3.6G
    assert stack.nodes[0].lines == ("7×7 conv, 64, /2", "3×3 max pool, /2") and stack.nodes[0].out_shape == (64, 56, 56)
    assert [node.out_shape[1] for node in stack.nodes if node.kind == "stage"] == [56, 28, 14, 7]


def test_stage_table_has_table1_names_and_totals():
    frame = diagrams.stage_table("imagenet", 50, "B", True)
    assert list(frame["paper_name"]) == ["conv1", "conv2_x", "conv3_x", "conv4_x", "conv5_x", "fc", "total"]
    assert frame.iloc[-1]["parameters"] == 25_557_032
    cifar = diagrams.stage_table("cifar", 20, "A", False)
    assert list(cifar["paper_name"])[1:4] == ["32×32", "16×16", "8×8"]


def test_vgg19_costs_19_6_billion_multiply_adds():
    assert diagrams.vgg19_mult_adds() == pytest.approx(19.6e9, rel=0.01)
    stack = diagrams.vgg19_stack()
    assert stack.weight_layers == 19 and stack.params == 143_667_240
    assert stack.nodes[0].lines[0] == "2 × 3×3 conv, 64"
    assert "VGG-19" in network_dot(stack)


def test_torchview_graph_of_a_meta_block():
    with torch.device("meta"):
        model = build_model("cifar", 20)
    source = diagrams.torchview_dot(model.layer2[0], (16, 32, 32))
    assert "digraph" in source and "conv2d" in source.lower()


def test_human_numbers():
    assert diagrams.human(853_018) == "853.02K"
    assert diagrams.human(3.6e9, 1) == "3.6G"
    assert diagrams.human(12) == "12"


def test_switched_off_projections_are_not_counted_as_in_use():
    plain_b = diagrams.stage_table("imagenet", 34, "B", False).iloc[-1]
    residual_a = diagrams.stage_table("imagenet", 34, "A", True).iloc[-1]
    assert plain_b["parameters_built"] == 21_797_672  # the modules are there, ready to be switched on
    assert plain_b["parameters"] == residual_a["parameters"] == 21_623_848  # plain-34 = ResNet-34 (A) in use
