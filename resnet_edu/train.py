"""One training run: the paper's recipe, its learning-rate schedule, and what it records.

Sec. 4.2 (CIFAR-10): SGD with momentum 0.9, weight decay 1e-4, batch 128, He init, BN,
lr 0.1 divided by 10 at 32k and 48k of 64k iterations (here: at 50% and 75% of the chosen
length), pad-4 crop + flip augmentation; ResNet-110 warms up at lr 0.01 until the training
error is below 80% (about 400 iterations). That is the "paper" recipe. The default
"classroom" recipe changes one thing, for every net alike: a linear lr warm-up over the first
100 iterations, so that a few-minute run shows the paper's ordering (RECIPE_NOTES says why).

A :class:`Trainer` advances one network one step at a time, so a comparison group can
train in *lockstep* (plain-20, plain-56, ResNet-56 each take step k on the same batch k
before any takes step k+1): their curves always compare equal iterations. The group loop
and the threads live in :mod:`resnet_edu.jobs`; this module has no thread of its own.
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from resnet_edu import models
from resnet_edu.classroom import default_batch_size
from resnet_edu.devices import PRECISIONS, channels_last_ok, cpu_has_native_bf16, resolve_precision  # noqa: F401
from resnet_edu.probes import ResponseRecorder, conv_gradient_norms
from resnet_edu.runs.checkpoints import CHECKPOINT_FORMAT, load_checkpoint  # noqa: F401 (re-exported)

RECIPES = ("classroom", "paper")
MAX_LR = 100.0  # above this no SGD run can learn anything; lr 10 is allowed (it shows divergence)
MAX_BATCH = 4096
MAX_EPOCHS = 1000


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run. Frozen: safe to hand to a thread; stored with the run."""

    # the network
    family: str = "cifar"  # "cifar" (depth 6n+2) or "imagenet" (18/34/50/101/152)
    depth: int = 20  # weighted layers, as the paper counts them
    shortcuts: bool = True  # False: the plain twin (same layers, no shortcut addition)
    shortcut_type: str = "A"  # "A" zero-pad identity, "B" projection when the shape changes, "C" always
    # the data
    dataset: str = "synthetic"  # "synthetic" (built in, offline), "cifar10" or "imagefolder"
    data_root: str | None = None  # folder of cifar10 / imagefolder data; None: RESNET_EDU_DATA or ./data
    image_size: int = 32  # pixels per side the images are resized to (imagefolder)
    max_train_images: int | None = None  # train on the first N images only (quick demos, tests); None: all
    # the recipe
    recipe: str = "classroom"  # "classroom": labelled changes for few-minute runs; "paper": Sec. 4.2 (RECIPE_NOTES: where it differs)
    epochs: int = 3  # passes over the training set; the lr schedule follows this length
    max_steps: int | None = None  # stop after this many iterations (the schedule still follows epochs)
    batch_size: int | None = None  # images per SGD step; None: the recipe's default on this device (paper: 128)
    lr: float = 0.1  # initial learning rate (Sec. 4.2: 0.1)
    momentum: float = 0.9
    weight_decay: float = 1e-4
    seed: int = 0  # initial weights and batch order; the synthetic images themselves never change
    # recording
    probe_every: int = 10  # iterations between gradient-norm / layer-response recordings (0: never)
    precision: str = "auto"  # "auto": bf16 where the hardware has it natively (CUDA >= 8.0, AMX CPUs); else fp32
    compile: bool = False  # torch.compile the net: slower first iterations, then maybe faster ones
    # many processes (torchrun; see resnet_edu.distributed)
    world_size: int = 1  # processes sharing each batch: batch_size is the global batch, batch_size / world_size each
    sync_bn: bool = False  # batch statistics over the global batch (CUDA only); False: per process, as the paper
    name: str | None = None  # shown in the app; default e.g. "plain-56" / "ResNet-56"

    def __post_init__(self) -> None:
        if self.batch_size is None:  # the measured classroom default of the device "auto" picks
            object.__setattr__(self, "batch_size", default_batch_size(self.recipe, dataset=self.dataset))

    @property
    def run_name(self) -> str:
        if self.name:
            return self.name
        kind = "ResNet" if self.shortcuts else "plain"
        suffix = "" if self.shortcut_type == ("A" if self.family == "cifar" else "B") else f" ({self.shortcut_type})"
        prefix = "" if self.family == "cifar" else "ImageNet "
        return f"{prefix}{kind}-{self.depth}{suffix}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})

    def validate(self) -> None:
        """Raise ValueError with a message a student can act on; build nothing."""
        if self.family == "cifar":
            models._check_cifar_depth(self.depth)
        elif self.family == "imagenet":
            if self.depth not in models.IMAGENET_DEPTHS:
                raise ValueError(f"ImageNet depth {self.depth!r} is not one of 18, 34, 50, 101, 152")
        else:
            raise ValueError(f"unknown family {self.family!r}: use 'cifar' or 'imagenet'")
        if self.shortcut_type not in models.SHORTCUT_TYPES:
            raise ValueError(f"unknown shortcut type {self.shortcut_type!r}: use A, B or C")
        if self.recipe not in RECIPES:
            raise ValueError(f"unknown recipe {self.recipe!r}: use 'classroom' or 'paper'")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}: use auto, fp32 or bf16")
        if not isinstance(self.compile, bool):
            raise ValueError(f"compile must be true or false, not {self.compile!r}")
        _check_number(self.lr, "learning rate", low=0.0, high=MAX_LR, low_open=True)
        _check_number(self.momentum, "momentum", low=0.0, high=0.999)
        _check_number(self.weight_decay, "weight decay", low=0.0, high=0.1)
        _check_whole(self.epochs, "epochs", 1, MAX_EPOCHS)
        _check_whole(self.batch_size, "batch size", 1, MAX_BATCH)
        _check_whole(self.seed, "seed", 0, 2**31 - 1)
        _check_whole(self.probe_every, "probe interval", 0, 100_000)
        _check_whole(self.image_size, "image size", 16, 512)
        if self.max_train_images is not None:
            _check_whole(self.max_train_images, "max training images", 1, 10_000_000)
        if self.max_steps is not None:
            _check_whole(self.max_steps, "max steps", 1, 10_000_000)
        _check_whole(self.world_size, "world size", 1, MAX_BATCH)
        if self.batch_size % self.world_size:
            raise ValueError(f"batch size {self.batch_size} does not split evenly over {self.world_size} processes: "
                             f"use a multiple of {self.world_size}")
        if not isinstance(self.sync_bn, bool):
            raise ValueError(f"sync_bn must be true or false, not {self.sync_bn!r}")
        if self.family == "cifar" and self.image_size != 32:
            raise ValueError("CIFAR-style nets expect 32x32 images: use image size 32, or an ImageNet-style net")
        if self.name is not None and len(str(self.name)) > 200:
            raise ValueError("run name is longer than 200 characters")


def _check_number(value: Any, what: str, *, low: float, high: float, low_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, not {value!r}")
    if value < low or (low_open and value == low):
        raise ValueError(f"{what} must be {'greater than' if low_open else 'at least'} {low:g}, not {value:g}")
    if value > high:
        raise ValueError(f"{what} {value:g} is absurd: the largest allowed is {high:g}")


def _check_whole(value: Any, what: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be a whole number, not {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{what} must be between {low} and {high}, not {value}")


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


# ---------------------------------------------------------------- the trainer


class Diverged(RuntimeError):
    """The loss became NaN or infinite: the run stops; its curve up to here stays."""


_init_lock = threading.Lock()  # torch.manual_seed is process-wide: seed + build one model at a time


def make_model(config: TrainConfig, num_classes: int) -> nn.Module:
    """The network a config describes, with its recipe's initialisation, seeded by config.seed."""
    opts: dict[str, Any] = {"shortcut_type": config.shortcut_type}
    if config.family == "imagenet":
        opts["small_input"] = config.image_size <= 64
    with _init_lock:
        torch.manual_seed(config.seed)
        return models.build_model(config.family, config.depth, num_classes, shortcuts=config.shortcuts, **opts)


READ_EVERY = 10  # iterations between reads of loss and error from the device (one transfer each time)


def make_optimizer(model: nn.Module, config: TrainConfig, device: torch.device) -> torch.optim.SGD:
    """SGD with momentum and weight decay (Sec. 4.2), in the fastest form this device has.

    CUDA: the fused kernel (one launch for every parameter). CPU: the "foreach" form; the fused
    CPU kernel measured 20x slower per step for ResNet-20 on the 2-core machines (48 vs 2.4 ms).
    """
    options = {"fused": True} if device.type == "cuda" else {"foreach": True}
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                           weight_decay=config.weight_decay, **options)


class StepClock:
    """Seconds spent inside one net's training steps, without waiting for the device at each step.

    On a GPU the host only queues work: a host clock around a step measures the queueing, not
    the step. So on CUDA and MPS the clock records device events before and after each step and
    reads their distance later, when the trainer reads its metrics anyway. On the CPU work is
    done when the call returns, and the host clock is exact.
    """

    def __init__(self, device: torch.device) -> None:
        self._event_type = {"cuda": getattr(torch.cuda, "Event", None),
                            "mps": getattr(getattr(torch, "mps", None), "event", None) and torch.mps.event.Event,
                            }.get(device.type)
        self._spans: list[tuple[Any, Any]] = []
        self._host_seconds = 0.0
        self._started: Any = None

    def start(self) -> None:
        if self._event_type is None:
            self._started = time.perf_counter()
        else:
            self._started = self._event_type(enable_timing=True)
            self._started.record()

    def stop(self) -> None:
        if self._event_type is None:
            self._host_seconds += time.perf_counter() - self._started
            return
        end = self._event_type(enable_timing=True)
        end.record()
        self._spans.append((self._started, end))

    def read(self) -> float:
        """Seconds of the steps timed since the last read (call after the device caught up)."""
        if self._event_type is None:
            seconds, self._host_seconds = self._host_seconds, 0.0
            return seconds
        if self._spans:
            self._spans[-1][1].synchronize()
        seconds = sum(start.elapsed_time(end) for start, end in self._spans) / 1000.0
        self._spans = []
        return seconds


@dataclass
class _StepOnDevice:
    """A step whose loss and error are still on the device (read with the next few steps')."""

    step: int  # 1-based iteration number
    lr: float
    loss: torch.Tensor  # 0-d, on the device
    wrong: torch.Tensor  # 0-d, on the device: misclassified images of the batch
    batch: int


class Trainer:
    """One network, one optimizer, advanced one step at a time by the caller.

    A step never waits for the device: its loss and error stay there, and every ``read_every``
    steps (and at every probe, evaluation, checkpoint and the end: :meth:`read_metrics`) one
    transfer brings the whole window back, records one row per iteration and checks the loss
    is finite. On a GPU the host can so queue the next steps while the device computes.

    Args:
        config: the run's settings.
        num_classes, steps_per_epoch: from the data set the run trains on.
        device: where the model lives.
        store, run_id: where metrics go (optional: a Trainer also runs without a store).
        read_every: steps between two reads of the metrics (1: read every step).
    """

    def __init__(self, config: TrainConfig, *, num_classes: int, steps_per_epoch: int,
                 device: torch.device | str = "cpu", store=None, run_id: str | None = None,
                 read_every: int = READ_EVERY) -> None:
        config.validate()
        self.config = config
        self.device = torch.device(device)
        self.precision = resolve_precision(config.precision, self.device)
        self.channels_last = channels_last_ok(self.device)
        self.num_classes = num_classes
        self.steps_per_epoch = steps_per_epoch
        self.total_steps = config.epochs * steps_per_epoch
        self.last_step = min(self.total_steps, config.max_steps or self.total_steps)
        self.store, self.run_id = store, run_id
        self.read_every = max(1, int(read_every))

        self.model = make_model(config, num_classes).to(self.device)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        # What a step calls: the bare net here; its DistributedDataParallel wrapper under torchrun.
        self.net: nn.Module = self.model
        self.world_size = 1  # processes that share each batch (resnet_edu.distributed sets it)
        # The compiled net shares the eager net's weights; probe steps run eagerly (hooks record there).
        self.compiled = torch.compile(self.model) if config.compile else None
        self.optimizer = make_optimizer(self.model, config, self.device)
        self.responses = ResponseRecorder(self.model)
        self.step = 0  # iterations done (taken on the device, perhaps not yet read back)
        self.steps_recorded = 0  # iterations read back and recorded in the store
        self.warming_up = needs_warmup(config)
        self.linear_warmup = linear_warmup_steps(config, self.total_steps)
        self.recent_errors: deque[float] = deque(maxlen=20)
        self.train_seconds = 0.0  # time spent in training steps only (no data preparation, no evaluation)
        self.images_per_second: float | None = None  # over the last window of steps read back
        self.last_loss: float | None = None  # training loss of the last iteration read back
        self._on_device: list[_StepOnDevice] = []
        self._clock = StepClock(self.device)
        self._pending_toggles: deque[tuple[bool, tuple[int, ...] | None]] = deque()
        self._toggle_lock = threading.Lock()

    # -- live shortcut switch -------------------------------------------------
    def request_shortcuts(self, enabled: bool, stages=None) -> None:
        """Queue a shortcut switch; it is applied before the next step (thread-safe)."""
        stages = None if stages is None else tuple(sorted({int(s) for s in stages}))
        valid = set(models.shortcut_state(self.model))
        if stages is not None and not set(stages) <= valid:
            raise ValueError(f"stage(s) {sorted(set(stages) - valid)} do not exist; this net has stages {sorted(valid)}")
        with self._toggle_lock:
            self._pending_toggles.append((bool(enabled), stages))

    def shortcut_state(self) -> dict[int, bool]:
        """The state after the queued switches are applied."""
        state = models.shortcut_state(self.model)
        with self._toggle_lock:
            for enabled, stages in self._pending_toggles:
                for stage in stages or state:
                    state[stage] = enabled
        return state

    def _apply_pending_toggles(self) -> None:
        with self._toggle_lock:
            pending, self._pending_toggles = list(self._pending_toggles), deque()
        for enabled, stages in pending:
            models.set_shortcuts(self.model, enabled, stages)
            if self.store is not None:
                self.store.log_event(self.run_id, self.step, "shortcuts_toggled",
                                     {"enabled": enabled, "stages": list(stages) if stages else None})

    # -- one iteration --------------------------------------------------------
    def autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16")

    def current_lr(self) -> float:
        return learning_rate(self.step, self.total_steps, self.config.lr, self.warming_up, self.linear_warmup)

    def train_step(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        """One SGD step on a batch, queued on the device without waiting for it.

        Raises Diverged when a read of the metrics (every ``read_every`` steps) finds a NaN or
        infinite loss: the run's curve then ends at the iteration where it happened.
        """
        self._apply_pending_toggles()
        lr = self.current_lr()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        probe = self.config.probe_every > 0 and self.step % self.config.probe_every == 0
        self.responses.armed = probe
        net = self.net if probe or self.compiled is None else self.compiled
        self._clock.start()
        self.model.train()
        with self.autocast():
            logits = net(images)  # (B, num_classes)
        loss = F.cross_entropy(logits.float(), labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norms = conv_gradient_norms(self.model) if probe else None  # reads from the device
        self.optimizer.step()
        wrong = (logits.argmax(dim=1) != labels).sum()
        self._clock.stop()
        self.step += 1
        self._on_device.append(_StepOnDevice(self.step, lr, loss.detach(), wrong, labels.shape[0]))
        if probe:
            responses = self.responses.collect()
            self.read_metrics()  # a probe reads from the device anyway: record the window with it
            if self.store is not None:
                self.store.log_layer_stats(self.run_id, self.step, "grad_norm", grad_norms)
                self.store.log_layer_stats(self.run_id, self.step, "response_std", responses)
        elif len(self._on_device) >= self.read_every:
            self.read_metrics()

    def read_metrics(self) -> None:
        """Bring the steps still on the device back in one transfer and record them, one row each.

        Raises Diverged at the first NaN/inf loss; that iteration is recorded (error 1.0) and
        the later ones of the window are dropped, so the curve ends where the loss broke.
        """
        if not self._on_device:
            return
        window, self._on_device = self._on_device, []
        losses = torch.stack([pending.loss.float() for pending in window])
        wrongs = torch.stack([pending.wrong.float() for pending in window])
        values = self._sum_over_processes(torch.stack([losses, wrongs]))  # the one host synchronisation
        seconds = self._clock.read()
        self.train_seconds += seconds
        # Under torchrun each process's loss is the mean over its shard (equal shards): the global
        # batch's loss is the mean of the shards' means, its error the sum of their mistakes.
        images = sum(pending.batch for pending in window) * self.world_size
        self.images_per_second = images / seconds if seconds > 0 else None
        for pending, loss_sum, wrong in zip(window, *values):
            loss = loss_sum / self.world_size
            if not math.isfinite(loss):
                self.step = pending.step
                self.responses.armed = False
                self._record_step(pending, loss, 1.0, None)  # the curve shows where it happened
                raise Diverged(f"loss became {loss} at iteration {pending.step} (lr {pending.lr:g})")
            self._record_step(pending, loss, wrong / (pending.batch * self.world_size), self.images_per_second)

    def _sum_over_processes(self, values: torch.Tensor) -> list:
        """``values`` on the host, summed over the processes that share each batch (one here)."""
        return values.tolist()

    def _record_step(self, pending: _StepOnDevice, loss: float, error: float, images_per_second: float | None) -> None:
        self.steps_recorded = pending.step
        self.last_loss = loss
        self.recent_errors.append(error)
        # Sec. 4.2, ResNet-110: back to lr 0.1 once the training error is below 80%. Read here, so
        # the switch comes at most read_every iterations after the error crossed 80%.
        if self.warming_up and (pending.step >= WARMUP_MAX_STEPS or
                                (len(self.recent_errors) >= 10 and self.running_error < WARMUP_ERROR)):
            self.warming_up = False
        if self.store is not None:
            self.store.log_step(self.run_id, pending.step, epoch=pending.step / self.steps_per_epoch,
                                train_seconds=self.train_seconds, train_loss=loss, train_error=error,
                                lr=pending.lr, images_per_second=images_per_second)
            self.store.set_progress(self.run_id, pending.step, self.last_step)

    @property
    def epoch(self) -> float:
        return self.step / self.steps_per_epoch

    @property
    def running_error(self) -> float:
        """Training error over the last 20 iterations read back (the CLI's final_train_error)."""
        return sum(self.recent_errors) / max(1, len(self.recent_errors))

    @property
    def done(self) -> bool:
        return self.step >= self.last_step

    def at_epoch_end(self) -> bool:
        return self.step % self.steps_per_epoch == 0 or self.done

    # -- evaluation -----------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, batches) -> tuple[float, float]:
        """(test loss, test error) over (images, labels) batches, in eval mode; back to train mode after."""
        self.read_metrics()
        self.model.eval()
        total_loss = torch.zeros((), device=self.device)
        wrong = torch.zeros((), device=self.device)
        count = 0
        try:
            for images, labels in batches:
                with self.autocast():
                    logits = self.model(images)
                total_loss += F.cross_entropy(logits.float(), labels, reduction="sum")
                wrong += (logits.argmax(dim=1) != labels).sum()
                count += labels.shape[0]
        finally:
            self.model.train()
        counted = torch.tensor(float(count), device=self.device)
        total_loss, wrong, count = self._sum_over_processes(torch.stack([total_loss, wrong.float(), counted]))
        loss, error = total_loss / max(1, count), wrong / max(1, count)
        if self.store is not None:
            self.store.log_eval(self.run_id, self.step, epoch=self.epoch, train_seconds=self.train_seconds,
                                test_loss=loss, test_error=error)
        return loss, error

    # -- checkpoints ----------------------------------------------------------
    def checkpoint(self, path: str | os.PathLike, dataset_info: dict | None = None) -> Path:
        """Save model + optimizer + config + step; loadable with torch.load(weights_only=True)."""
        self.read_metrics()
        path = Path(path)
        payload = {
            "format": CHECKPOINT_FORMAT,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "config": self.config.to_dict(),
            "step": self.step,
            "train_seconds": self.train_seconds,
            "warming_up": self.warming_up,
            "recent_errors": list(self.recent_errors),
            "shortcut_state": {int(k): bool(v) for k, v in models.shortcut_state(self.model).items()},
            "num_classes": self.num_classes,
            **(dataset_info or {}),
        }
        temporary = path.with_suffix(".tmp")
        try:
            # Through a Python file, so a full disk surfaces as OSError(ENOSPC) rather than
            # torch's zip-writer assertion; fsync so the rename never exposes unwritten data.
            with open(temporary, "wb") as handle:
                torch.save(payload, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)  # the previous checkpoint stays until this one is whole
        except BaseException:
            temporary.unlink(missing_ok=True)  # a failed write leaves nothing half-done behind
            raise
        return path

    def restore(self, payload: dict) -> None:
        """Continue from a checkpoint loaded with :func:`load_checkpoint`."""
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.step = self.steps_recorded = int(payload["step"])
        self.train_seconds = float(payload.get("train_seconds", 0.0))
        self.warming_up = bool(payload.get("warming_up", False))
        self.recent_errors.extend(payload.get("recent_errors", []))
        for stage, enabled in payload.get("shortcut_state", {}).items():
            models.set_shortcuts(self.model, bool(enabled), [int(stage)])


def model_from_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu"):
    """(eval-mode model, its TrainConfig, info) from a checkpoint; info has step, num_classes, classes, mean, std."""
    payload = load_checkpoint(path, map_location=device)
    try:
        config = TrainConfig.from_dict(payload["config"])
        model = make_model(config, int(payload["num_classes"]))
        model.load_state_dict(payload["model"])
    except Exception as error:
        raise ValueError(f"checkpoint does not match its own configuration: {str(error)[:200]}") from None
    for stage, enabled in payload.get("shortcut_state", {}).items():
        models.set_shortcuts(model, bool(enabled), [int(stage)])
    model.to(device).eval()
    info = {key: payload.get(key) for key in ("step", "num_classes", "classes", "mean", "std", "dataset_name")}
    return model, config, info
