"""The paper's recipe and the classroom recipe: learning-rate schedule, warm-ups, preset comparisons.

Sec. 4.2 (CIFAR-10): lr 0.1 divided by 10 at 32k and 48k of 64k iterations (here: at 50% and
75% of the chosen length); ResNet-110 warms up at lr 0.01 until the training error is below
80%. The "classroom" recipe replaces that warm-up with a linear one over the first 100
iterations, for every net alike. Its own file: the schedule is the part of a run a teacher
changes, and the presets are the paper's figures as lists of configs.
"""

from __future__ import annotations

import dataclasses

from resnet_edu.train.config import TrainConfig

# ---------------------------------------------------------------- recipes

# Each deviation of the "classroom" recipe from the paper, in words shown by the app (en, ko).
RECIPE_NOTES: dict[str, list[tuple[str, str]]] = {
    "paper": [
        ("Sec. 4.2: SGD (momentum 0.9, weight decay 1e-4), He init, batch 128, lr 0.1 ÷10 at 50% and 75% of the run "
         "(the paper: at 32k and 48k of 64k iterations), pad-4 crop and flip.",
         "4.2절: SGD(모멘텀 0.9, 가중치 감쇠 1e-4), He 초기화, 배치 128, 학습률 0.1을 전체의 50%·75% 지점에서 ÷10"
         "(논문: 64k 반복 중 32k·48k), 4픽셀 패딩 자르기와 뒤집기."),
        ("Where it differs from the paper — inputs: the paper subtracts the per-pixel mean image; here every "
         "recipe subtracts each colour channel's mean and divides by its standard deviation.",
         "논문과 다른 점 — 입력: 논문은 픽셀별 평균 이미지를 빼지만, 여기서는 모든 레시피가 색 채널마다 평균을 빼고 "
         "표준편차로 나눕니다."),
        ("Warm-up: the paper starts ResNet-110 at lr 0.01 until its training error is below 80% (about 400 "
         "iterations), then returns to 0.1. Here every CIFAR net of 110 or more layers does so, plain twins too "
         "(the paper does not say how plain-110 started; twins share one schedule); the error is the mean of the "
         "last 20 iterations; and the warm-up ends after 400 iterations at the latest, so a net that never gets "
         "below 80% does not stay at 0.01 for the whole run.",
         "워밍업: 논문은 ResNet-110을 훈련 오류가 80% 아래로 내려갈 때까지(약 400번 반복) 학습률 0.01로 학습한 뒤 "
         "0.1로 돌아갑니다. 여기서는 110층 이상인 CIFAR 네트워크 모두에 적용하고 plain 쌍둥이도 같습니다(논문은 "
         "plain-110을 어떻게 시작했는지 말하지 않으며, 쌍둥이는 같은 학습 일정을 씁니다). 오류는 최근 20번 반복의 "
         "평균이며, 80% 아래로 내려가지 못하는 네트워크가 끝까지 0.01에 머물지 않도록 워밍업은 늦어도 400번 반복 "
         "뒤에 끝납니다."),
        ("Length and data: the paper trains 64k iterations (≈ 164 epochs) on all 50k CIFAR-10 training images and "
         "tests on the 10k test images; here the run is as long as you choose, on the data set you choose.",
         "길이와 데이터: 논문은 CIFAR-10 훈련 이미지 50k장 전부로 64k번 반복(≈ 164 에폭) 학습하고 테스트 이미지 "
         "10k장으로 테스트합니다. 여기서는 길이와 데이터 세트를 여러분이 고릅니다."),
        ("In short runs ResNet-56 can collapse for hundreds of iterations (loss explodes at lr 0.1, then sits at "
         "chance): keep this recipe to show that.",
         "짧은 실행에서는 ResNet-56이 수백 번의 반복 동안 무너질 수 있습니다(학습률 0.1에서 손실이 폭발한 뒤 "
         "찍기 수준에 머묾). 이 현상을 보여 줄 때 이 레시피를 쓰세요."),
    ],
    "classroom": [
        ("Like the paper, but the learning rate rises linearly from 0.001 to 0.1 over the first 100 iterations "
         "(a gradual warm-up, Goyal et al. 2017), the same for every net, plain or residual, of any depth. It "
         "replaces the paper's constant 0.01 warm-up of ResNet-110.",
         "논문과 같되, 학습률을 처음 100번의 반복 동안 0.001에서 0.1까지 선형으로 올립니다(점진적 워밍업, Goyal 외 "
         "2017). 깊이와 상관없이 plain 네트워크와 잔차 네트워크 모두 똑같이 적용하며, 논문에서 ResNet-110에만 쓴 0.01 고정 "
         "워밍업을 대신합니다."),
        ("Why: with lr 0.1 from the first step, a ResNet-56 in a few-minute run can blow up and sit at chance for "
         "hundreds of iterations — behind plain-56, the opposite of the paper. Shorter warm-ups (20 or 46 "
         "iterations) still let it blow up on some seeds; zero-initialising the residual branches kept it stable "
         "but left every residual net far behind plain-20. The measurements: docs/RECIPE.md.",
         "이유: 첫 반복부터 학습률 0.1을 쓰면 몇 분짜리 실행에서 ResNet-56이 폭발해 수백 번의 반복 동안 찍기 수준에 "
         "머물 수 있습니다. 논문과 정반대로 plain-56보다 뒤처집니다. 더 짧은 워밍업(20번, 46번)으로는 일부 시드에서 "
         "여전히 폭발했고, 잔차 가지를 0으로 초기화하면 안정되지만 모든 잔차 네트워크가 plain-20보다 한참 느려졌습니다. "
         "측정 결과: docs/RECIPE.md."),
        ("Short runs warm up for at most half of their iterations, and the lr schedule (÷10 at 50% and 75%) is "
         "scaled to the chosen number of epochs.",
         "짧은 실행은 전체 반복의 절반까지만 워밍업하고, 학습률 일정(50%·75% 지점에서 ÷10)은 선택한 에폭 수에 맞춰 "
         "줄어듭니다."),
    ],
}


def needs_warmup(config: TrainConfig) -> bool:
    """Paper recipe, Sec. 4.2: "for 110 layers ... 0.01 to warm up the training until the training error is
    below 80%"."""
    return config.recipe == "paper" and config.family == "cifar" and config.depth >= 110


LINEAR_WARMUP_STEPS = 100  # classroom recipe: iterations over which the lr rises linearly to its base value


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


def steps_per_epoch(num_train: int, batch_size: int) -> int:
    return max(1, num_train // batch_size)


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
