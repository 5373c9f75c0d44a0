"""Plotly figure builders for the pages, one file per kind of chart, all in one house style.

    style         the template, fonts, one colour per depth, plain nets dotted (shared by all)
    curves        training and test error against iterations (Fig. 1 / Fig. 6), error vs depth
    architecture  the ILSVRC depth race, parameters and multiply-adds per stage and per net
    gradients     gradient norms per layer over training, layer responses (Fig. 7)
    features      an image, its feature maps, attribution maps laid over it
    lesion        test error after deleting blocks
    landscape     loss landscapes: contours, surfaces, slices, the path from init

Every builder takes plain data (pandas frames, arrays, dicts as stored) and returns a
``plotly.graph_objects.Figure``; none reads the store or imports Streamlit. The figures of
all but ``landscape`` are importable from here (``from resnet_edu.plots import
training_curves``); ``landscape`` is imported as ``resnet_edu.plots.landscape``, because it
reads the results of :mod:`resnet_edu.inside.landscape` and so loads torch, which the other charts
do not need.
"""

from __future__ import annotations

from resnet_edu.plots.architecture import cost_comparison_figure, ilsvrc_figure, stage_cost_figure
from resnet_edu.plots.curves import CURVE_X, error_vs_depth, smoothed_error, training_curves
from resnet_edu.plots.features import (
                                       INSIDE_CAM_SCALE,
                                       INSIDE_IG_SCALE,
                                       feature_grid_figure,
                                       image_figure,
                                       overlay_figure,
)
from resnet_edu.plots.gradients import gradient_heatmaps, gradient_ratio_figure, layer_norms_figure, response_figure
from resnet_edu.plots.lesion import lesion_blocks_figure, lesion_random_figure
from resnet_edu.plots.style import DEPTH_COLOURS, KIND_COLOURS, PLAIN_DASH, depth_colour, kind_dash, kind_word, style

__all__ = [
    "CURVE_X", "DEPTH_COLOURS", "INSIDE_CAM_SCALE", "INSIDE_IG_SCALE", "KIND_COLOURS", "PLAIN_DASH",
    "cost_comparison_figure", "depth_colour", "error_vs_depth", "feature_grid_figure", "gradient_heatmaps",
    "gradient_ratio_figure", "ilsvrc_figure", "image_figure", "kind_dash", "kind_word", "layer_norms_figure",
    "lesion_blocks_figure", "lesion_random_figure", "overlay_figure", "response_figure", "smoothed_error",
    "stage_cost_figure", "style", "training_curves",
]
