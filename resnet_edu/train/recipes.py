"""The paper's recipe and the classroom recipe: learning-rate schedule, warm-ups, preset comparisons.

Sec. 4.2 (CIFAR-10): lr 0.1 divided by 10 at 32k and 48k of 64k iterations (here: at 50% and
75% of the chosen length); ResNet-110 warms up at lr 0.01 until the training error is below
80%. The "classroom" recipe changes three things, for every net alike: it replaces that
warm-up with a linear one over the first ``LINEAR_WARMUP_STEPS`` iterations, scales the paper's
lr 0.1 to the batch (0.1 x batch / 128), and on a CPU trains in smaller batches (the last two
are resnet_edu/train/classroom.py's defaults). The presets (:data:`PRESETS`,
:func:`preset_configs`) are the paper's figures as lists of configs.
"""

from __future__ import annotations

import dataclasses

from resnet_edu.train.config import TrainConfig

# ---------------------------------------------------------------- recipes


def needs_warmup(config: TrainConfig) -> bool:
    """Paper recipe, Sec. 4.2: "for 110 layers ... 0.01 to warm up the training until the training error is
    below 80%"."""
    return config.recipe == "paper" and config.family == "cifar" and config.depth >= 110


LINEAR_WARMUP_STEPS = 100  # classroom recipe: iterations over which the lr rises linearly to its base value
# Why a warm-up (docs/RECIPE.md, benchmarks/recipes.py and benchmarks/degradation.py): at batch COLLAPSE_BATCH
# and lr COLLAPSE_LR, from the first step or after a shorter linear warm-up (SHORTER_WARMUPS_TRIED
# iterations), ResNet-56's loss blew up on some seeds and it sat at chance for about COLLAPSE_ITERATIONS
# iterations, behind plain-56.
COLLAPSE_BATCH, COLLAPSE_LR = 128, 0.1
COLLAPSE_ITERATIONS = (75, 164)
SHORTER_WARMUPS_TRIED = (20, 46)


def linear_warmup_steps(config: TrainConfig, total_steps: int) -> int:
    """Classroom recipe: length of the gradual warm-up, at most half the run (before the first lr drop);
    paper recipe: 0."""
    if config.recipe != "classroom":
        return 0
    return max(1, min(LINEAR_WARMUP_STEPS, total_steps // 2))


WARMUP_LR = 0.01
WARMUP_ERROR = 0.80
WARMUP_MAX_STEPS = 400  # the paper: "about 400 iterations"


def learning_rate(step: int, total_steps: int, base_lr: float, warming_up: bool = False,
                  linear_warmup: int = 0) -> float:
    """lr of iteration `step` (0-based): base, ÷10 at 50% and ÷100 at 75% of the run (Sec. 4.2, scaled).

    warming_up: the paper's constant 0.01 phase (ResNet-110) is still on.
    linear_warmup: the first this many iterations rise linearly to base (classroom recipe).
    """
    if warming_up:
        return min(WARMUP_LR, base_lr)
    if step < linear_warmup:
        return base_lr * (step + 1) / linear_warmup
    if step >= 0.75 * total_steps:
        return base_lr / 100
    if step >= 0.5 * total_steps:
        return base_lr / 10
    return base_lr


# ---------------------------------------------------------------- presets

PRESETS: dict[str, tuple[str, str]] = {
    "fig1": ("Fig. 1: plain-20 vs plain-56", "그림 1: plain-20 대 plain-56"),
    "fig1_fix": ("Fig. 1 + the fix: plain-20, plain-56, ResNet-56", "그림 1 + 해법: plain-20, plain-56, ResNet-56"),
    "fig6": ("Fig. 6: 20/56/110, plain vs residual", "그림 6: 20/56/110층, plain 네트워크 vs 잔차 네트워크"),
    "imagenet": ("ImageNet-style 18 vs 34 (Table 2)", "ImageNet식 18층 vs 34층 (표 2)"),
}


def preset_configs(key: str, base: TrainConfig | None = None) -> list[TrainConfig]:
    """The nets of a preset comparison; `base` supplies the data set, length and recipe."""
    base = base or TrainConfig()
    if key == "fig1":
        nets = [("cifar", 20, False), ("cifar", 56, False)]
    elif key == "fig1_fix":
        nets = [("cifar", 20, False), ("cifar", 56, False), ("cifar", 56, True)]
    elif key == "fig6":
        nets = [("cifar", depth, shortcuts) for shortcuts in (False, True) for depth in (20, 56, 110)]
    elif key == "imagenet":
        nets = [("imagenet", depth, shortcuts) for shortcuts in (False, True) for depth in (18, 34)]
    else:
        raise ValueError(f"unknown preset {key!r}: choose one of {', '.join(PRESETS)}")
    # Option A everywhere: Table 2 and Fig. 4 compare plain and residual twins with parameter-free shortcuts.
    return [dataclasses.replace(base, family=family, depth=depth, shortcuts=shortcuts, shortcut_type="A", name=None)
            for family, depth, shortcuts in nets]
