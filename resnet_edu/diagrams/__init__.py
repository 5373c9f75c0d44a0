"""Block and network diagrams derived from a real model's structure (Graphviz DOT text).

Nothing here is a static picture: a diagram is *traced* from the module it shows.

    trace    one residual block run on a zero tensor: its layers in order, their output
             shapes, the shortcut branch, whether the addition happened (a BlockGraph)
    block    the block diagram: a BlockGraph as DOT (and torchview's drawing of a block)
    network  a whole net (a ResNet, or torchvision's VGG) grouped into the stack of the
             paper's Table 1 / Fig. 3 (stem, stages, head), measured, and drawn as DOT
    costs    the paper's nets built for the diagrams, their Table 1 with measured costs
    dot      DOT syntax, the colours of each kind of layer, the labels in both languages

``st.graphviz_chart`` renders the DOT in the browser (no graphviz binary needed). Traces run
on whatever device the model lives on; a model built under ``torch.device("meta")`` traces in
milliseconds even at 224 px, because meta tensors carry shapes without data. Labels come in
English or Korean (``lang="en" | "ko"``).
"""

from __future__ import annotations

from resnet_edu.diagrams.block import block_dot, shortcut_label, torchview_dot
from resnet_edu.diagrams.costs import (
                                       build_for_diagram,
                                       cost_until_map,
                                       filters_by_map_size,
                                       head_share,
                                       input_size_of,
                                       paper_stage_names,
                                       released_placement_mult_adds,
                                       stage_table,
                                       vgg19_mult_adds,
)
from resnet_edu.diagrams.dot import human, shape_text
from resnet_edu.diagrams.network import (
                                       Stack,
                                       StackNode,
                                       idle_shortcut_parameters,
                                       network_dot,
                                       network_stack,
                                       vgg19_stack,
)
from resnet_edu.diagrams.trace import BlockGraph, Op, block_input_shapes, trace_block, trace_model_block

__all__ = [
    "BlockGraph", "Op", "Stack", "StackNode", "block_dot", "block_input_shapes", "build_for_diagram", "cost_until_map",
    "filters_by_map_size", "head_share", "human",
    "idle_shortcut_parameters",
    "input_size_of", "network_dot", "network_stack", "paper_stage_names", "released_placement_mult_adds", "shape_text",
    "shortcut_label",
    "stage_table", "torchview_dot", "trace_block", "trace_model_block", "vgg19_mult_adds", "vgg19_stack",
]
