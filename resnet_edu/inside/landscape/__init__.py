"""Loss landscapes of trained nets: why shortcuts make deep nets trainable, as a picture.

Li, Xu, Taylor, Studer, Goldstein (2018), "Visualizing the Loss Landscape of Neural Nets"
(NeurIPS): plot the training loss on a plane through the trained weights θ*,

    L(α, β) = loss(θ* + α·δ + β·η),   (α, β) in [−span, span]²,

where δ and η are random Gaussian directions with *filter normalisation* (Sec. 4): every
filter of a direction (a conv's output filter, a row of the fc layer) is rescaled to the
norm of the same filter of θ*, so that the scale invariance of ReLU nets with BatchNorm
cannot make one net look sharper than another. Their Fig. 5: ResNet-56 without skip
connections has a chaotic surface, with them a smooth, nearly convex one.

What this package computes, as the authors do (their ``ignore='biasbn'``): 1-D parameters
(biases, BN weight and bias) are not perturbed and BN running statistics stay as trained;
the net is in eval mode and the loss is measured on a fixed set of training images, without
augmentation. Also computed: a 1-D slice along δ, and the linear path from the net's initial
weights to its trained weights over t in [−0.5, 1.5] (Goodfellow, Vinyals, Saxe 2015), with
the BN running statistics interpolated too (a net evaluated with its trained statistics on
its initial weights would show a wrong loss).

Where this differs from the paper: 128 images instead of the whole training set, 15×15
points instead of 51×51 by default (a class watches it on a laptop), bf16 on CPUs and GPUs
that compute it natively (the surface is the same to about three digits), and no Hessian
eigenvalue map (power iterations of Hessian-vector products at every grid point cost about
50 times the loss grid: minutes on a GPU, hours on a laptop CPU).

For speed the grid is evaluated on a copy of the net with every BN folded into its conv
(in eval mode BN is a per-channel affine map: the same function, a quarter less time on a
CPU), in inference mode, channels_last, all images in one batch.

The grid is computed coarse-to-fine: first 5×5 points of the final grid, then more of its
rows and columns, so a picture is on screen within seconds and sharpens in place. Every
point is computed by the same code whatever the order, so the final grid is identical to
one computed directly.

    plane    what to compute (LandscapeSettings), the two filter-normalised directions, the grid
             of points and its coarse-to-fine levels, a stored run loaded for the landscape
    surface  the loss at a point (LossMeter, on a BN-folded copy of the net), the init→trained
             path, the computation as a stream (compute), all at once (landscape), as a job
    reading  roughness, basin width, a plain net against its twin, the grid as a table
"""

from __future__ import annotations

from resnet_edu.inside.landscape.plane import (
    COARSE_POINTS,
    INIT_CHECKPOINT,
    MAX_GRID,
    PRECISIONS,
    LandscapeSettings,
    Net,
    axis,
    filter_normalize,
    init_checkpoint_path,
    load_net,
    perturbed_parameters,
    random_direction,
    random_directions,
    refinement_levels,
    training_images,
)
from resnet_edu.inside.landscape.reading import basin_fraction, comparison, grid_frame, known_grid, rise_at, roughness
from resnet_edu.inside.landscape.surface import (
    LossMeter,
    Progress,
    compute,
    conv_bn_pairs,
    fold_batchnorm,
    interpolate_state,
    landscape,
    landscape_job,
)

__all__ = ["COARSE_POINTS", "INIT_CHECKPOINT", "LandscapeSettings", "LossMeter", "MAX_GRID", "Net", "PRECISIONS",
           "Progress", "axis", "basin_fraction", "comparison", "compute", "conv_bn_pairs", "filter_normalize",
           "fold_batchnorm", "grid_frame", "init_checkpoint_path", "interpolate_state", "known_grid", "landscape",
           "landscape_job", "load_net", "perturbed_parameters", "random_direction", "random_directions",
           "refinement_levels", "rise_at", "roughness", "training_images"]
