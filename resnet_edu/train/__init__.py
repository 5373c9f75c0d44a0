"""Training one run: its config, the paper's and the classroom recipe, the Trainer, its checkpoints.

Sec. 4.2 (CIFAR-10): SGD with momentum 0.9, weight decay 1e-4, batch 128, He init, BN,
lr 0.1 divided by 10 at 32k and 48k of 64k iterations (here: at 50% and 75% of the chosen
length), pad-4 crop + flip augmentation; ResNet-110 warms up at lr 0.01 until the training
error is below 80% (about 400 iterations). That is the "paper" recipe. The default
"classroom" recipe changes three things, for every net alike, so that a few-minute run shows
the paper's ordering: a linear lr warm-up over the first 100 iterations, the paper's lr 0.1
scaled to the batch (0.1 x batch / 128, the linear scaling rule), and on a CPU batches of 32
instead of 128 (resnet_edu/train/classroom.py; docs/RECIPE.md has the measurements).

One file per concern:

* :mod:`~resnet_edu.train.config`: :class:`TrainConfig`, its validation, and :func:`resolve` (the
  batch size and lr a run gets on its device, filled in when it is submitted);
* :mod:`~resnet_edu.train.recipes`: the lr schedule, the warm-ups, the preset comparisons;
* :mod:`~resnet_edu.train.build`: the seeded net and the optimizer a config describes;
* :mod:`~resnet_edu.train.trainer`: the :class:`Trainer`, one net advanced one step at a time;
* :mod:`~resnet_edu.train.checkpoint`: a checkpoint written atomically, a trained net loaded back.

The rest of the Lab imports from ``resnet_edu.train`` itself; these are its names.
"""

from resnet_edu.train.build import make_model, make_optimizer
from resnet_edu.train.checkpoint import CHECKPOINT_FORMAT, load_checkpoint, model_from_checkpoint, write_checkpoint
from resnet_edu.train.config import MAX_BATCH, MAX_EPOCHS, MAX_LR, RECIPES, TrainConfig, resolve
from resnet_edu.train.recipes import (
    LINEAR_WARMUP_STEPS,
    PRESETS,
    WARMUP_ERROR,
    WARMUP_LR,
    WARMUP_MAX_STEPS,
    learning_rate,
    linear_warmup_steps,
    needs_warmup,
    preset_configs,
)
from resnet_edu.train.trainer import READ_EVERY, TRAIN_ERROR_WINDOW, Diverged, StepClock, Trainer

__all__ = [
    "CHECKPOINT_FORMAT", "LINEAR_WARMUP_STEPS", "MAX_BATCH", "MAX_EPOCHS", "MAX_LR", "PRESETS", "READ_EVERY",
    "RECIPES", "TRAIN_ERROR_WINDOW", "WARMUP_ERROR", "WARMUP_LR", "WARMUP_MAX_STEPS", "Diverged", "StepClock",
    "TrainConfig", "Trainer", "learning_rate", "linear_warmup_steps", "load_checkpoint", "make_model",
    "make_optimizer", "model_from_checkpoint", "needs_warmup", "preset_configs", "resolve", "write_checkpoint",
]
