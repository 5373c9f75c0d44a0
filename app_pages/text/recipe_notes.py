"""The Lab's recipe notes: what the "paper" and the "classroom" recipe do, and where each differs from the paper.

Shown under the recipe choice (one bullet each, ``ui.t(**note)``). The numbers they quote are
the library's: resnet_edu.train.recipes (schedule, warm-ups) and resnet_edu.train.TRAIN_ERROR_WINDOW;
docs/RECIPE.md has the measurements behind the classroom recipe.
"""

from resnet_edu.train import LINEAR_WARMUP_STEPS, TRAIN_ERROR_WINDOW
from resnet_edu.train.classroom import (
                                  PAPER_BATCH_SIZE,
                                  PAPER_LR,
                                  SEEDS_MEASURED,
                                  UNSCALED_LR_BATCH,
                                  UNSCALED_LR_SEEDS_MET,
                                  cpu_batch_text,
                                  default_learning_rate,
)
from resnet_edu.train.recipes import COLLAPSE_BATCH, COLLAPSE_ITERATIONS, COLLAPSE_LR, SHORTER_WARMUPS_TRIED

_SMALL = UNSCALED_LR_BATCH  # the batch lr 0.1 was tried at, unscaled
_SMALL_LR = default_learning_rate("classroom", _SMALL)
_COLLAPSE = f"{COLLAPSE_ITERATIONS[0]}–{COLLAPSE_ITERATIONS[1]}"
_SHORTER = SHORTER_WARMUPS_TRIED

# Each recipe in words, by the name TrainConfig.recipe takes; where it differs from the paper.
RECIPE_NOTES: dict[str, list[dict[str, str]]] = {
    "paper": [
        dict(en="Sec. 4.2: SGD (momentum 0.9, weight decay 1e-4), He init, batch 128, lr 0.1 ÷10 at 50% and 75% of "
                "the run (the paper: at 32k and 48k of 64k iterations), pad-4 crop and flip.",
             ko="4.2절: SGD(모멘텀 0.9, 가중치 감쇠 1e-4), He 초기화, 배치 128, 학습률 0.1을 전체의 50%·75% 지점에서 ÷10"
                "(논문: 64k 반복 중 32k·48k), 4픽셀 패딩 자르기와 뒤집기."),
        dict(en="Where it differs from the paper — inputs: the paper subtracts the per-pixel mean image; here every "
                "recipe subtracts each colour channel's mean and divides by its standard deviation.",
             ko="논문과 다른 점 — 입력: 논문은 픽셀별 평균 이미지를 빼지만, 여기서는 모든 레시피가 색 채널마다 평균을 빼고 "
                "표준편차로 나눕니다."),
        dict(en="Warm-up: the paper starts ResNet-110 at lr 0.01 until its training error is below 80% (about 400 "
                "iterations), then returns to 0.1. Here every CIFAR net of 110 or more layers does so, plain twins "
                "too (the paper does not say how plain-110 started; twins share one schedule); the error is the mean "
                f"of the last {TRAIN_ERROR_WINDOW} iterations; and the warm-up ends after 400 iterations at the latest, so a net that "
                "never gets below 80% does not stay at 0.01 for the whole run.",
             ko="워밍업: 논문은 ResNet-110을 훈련 오류가 80% 아래로 내려갈 때까지(약 400번 반복) 학습률 0.01로 학습한 뒤 "
                "0.1로 돌아갑니다. 여기서는 110층 이상인 CIFAR 네트워크 모두에 적용하고 plain 쌍둥이도 같습니다(논문은 "
                f"plain-110을 어떻게 시작했는지 말하지 않으며, 쌍둥이는 같은 학습 일정을 씁니다). 오류는 최근 {TRAIN_ERROR_WINDOW}번 반복의 "
                "평균이며, 80% 아래로 내려가지 못하는 네트워크가 끝까지 0.01에 머물지 않도록 워밍업은 늦어도 400번 반복 "
                "뒤에 끝납니다."),
        dict(en="Length and data: the paper trains 64k iterations (≈ 164 epochs) on all 50k CIFAR-10 training images "
                "and tests on the 10k test images; here the run is as long as you choose, on the data set you choose.",
             ko="길이와 데이터: 논문은 CIFAR-10 훈련 이미지 50k장 전부로 64k번 반복(≈ 164 에폭) 학습하고 테스트 이미지 "
                "10k장으로 테스트합니다. 여기서는 길이와 데이터셋을 여러분이 고릅니다."),
        dict(en=f"In short runs ResNet-56 can collapse: at batch {COLLAPSE_BATCH} and lr {COLLAPSE_LR:g} its loss "
                f"blew up on some seeds and it sat at chance for about {_COLLAPSE} iterations. Keep this recipe to "
                "show that.",
             ko=f"짧은 실행에서는 ResNet-56이 무너질 수 있습니다. 배치 {COLLAPSE_BATCH}, 학습률 {COLLAPSE_LR:g}에서 일부 "
                f"시드의 손실이 폭발했고, 약 {_COLLAPSE}번의 반복 동안 찍기 수준에 머물렀습니다. 이 현상을 보여 줄 때 "
                "이 레시피를 쓰세요."),
    ],
    "classroom": [
        dict(en="It changes three things from the paper, the same for every net, plain or residual, of any depth. "
                f"**Warm-up:** the learning rate rises linearly from 1% of its base value to the base value over the "
                f"first {LINEAR_WARMUP_STEPS} iterations (a gradual warm-up, Goyal et al. 2017); this replaces the "
                "paper's constant 0.01 warm-up of ResNet-110.",
             ko="논문과 세 가지가 다르며, 깊이와 상관없이 plain 네트워크와 잔차 네트워크 모두 똑같이 적용합니다. "
                f"**워밍업:** 학습률을 처음 {LINEAR_WARMUP_STEPS}번의 반복 동안 기준값의 1%에서 기준값까지 선형으로 "
                "올립니다(점진적 워밍업, Goyal 외 2017). 논문에서 ResNet-110에만 쓴 0.01 고정 워밍업을 대신합니다."),
        dict(en=f"**Learning rate:** the base value follows the batch size. The paper's {PAPER_LR:g} is for batches "
                f"of {PAPER_BATCH_SIZE}, so a batch of {_SMALL} starts at {_SMALL_LR:g} ({PAPER_LR:g} × "
                f"{_SMALL}/{PAPER_BATCH_SIZE}, the linear scaling rule, Goyal et al. 2017).",
             ko=f"**학습률:** 기준값이 배치 크기를 따릅니다. 논문의 학습률({PAPER_LR:g})은 배치 {PAPER_BATCH_SIZE}용이므로 "
                f"배치 {_SMALL}에서는 {_SMALL_LR:g}({PAPER_LR:g} × {_SMALL}/{PAPER_BATCH_SIZE}, 선형 스케일링 규칙, "
                "Goyal 외 2017)에서 시작합니다."),
        dict(en=f"**Batch size:** on a CPU, batches of {cpu_batch_text()} instead of {PAPER_BATCH_SIZE}, which show "
                f"the degradation sooner; on a GPU the paper's {PAPER_BATCH_SIZE}. With lr {PAPER_LR:g} at batch "
                f"{_SMALL}, ResNet-56 fell behind plain-20 in its first minute on the built-in synthetic set (it kept "
                f"up on {UNSCALED_LR_SEEDS_MET['synthetic']} of {SEEDS_MEASURED} seeds); on CIFAR-10 photos it kept up "
                f"on {UNSCALED_LR_SEEDS_MET['real']} of {SEEDS_MEASURED}. That was measured on those two data sets only.",
             ko=f"**배치 크기:** CPU에서는 성능 저하가 더 빨리 보이도록 배치 크기를 {PAPER_BATCH_SIZE} 대신 "
                f"{cpu_batch_text()}(으)로 줄이고, GPU에서는 논문의 배치 크기({PAPER_BATCH_SIZE})를 씁니다. 배치 "
                f"{_SMALL}에서 학습률 {PAPER_LR:g}을(를) 그대로 쓰자 내장 합성 데이터셋에서는 ResNet-56이 첫 1분 동안 "
                f"plain-20에 뒤처졌고(시드 {SEEDS_MEASURED}개 중 {UNSCALED_LR_SEEDS_MET['synthetic']}개에서만 따라감), "
                f"CIFAR-10 사진에서는 따라갔습니다(시드 {SEEDS_MEASURED}개 중 {UNSCALED_LR_SEEDS_MET['real']}개). 이 두 "
                "데이터셋에서만 잰 결과입니다."),
        dict(en=f"Why the warm-up: at batch {COLLAPSE_BATCH} and lr {COLLAPSE_LR:g}, from the first step or after a "
                f"warm-up of only {_SHORTER[0]} or {_SHORTER[1]} iterations, a ResNet-56 in a few-minute run blew up on "
                f"some seeds and sat at chance for about {_COLLAPSE} iterations — behind plain-56, the opposite of the "
                "paper. Zero-initialising the residual branches kept it stable but left every residual net far behind "
                "plain-20. The measurements: docs/RECIPE.md.",
             ko=f"워밍업을 하는 이유: 배치 {COLLAPSE_BATCH}, 학습률 {COLLAPSE_LR:g}에서 첫 반복부터 시작하거나 워밍업을 "
                f"{_SHORTER[0]}번, {_SHORTER[1]}번의 반복으로만 하면, 몇 분짜리 실행에서 ResNet-56이 일부 시드에서 폭발해 "
                f"약 {_COLLAPSE}번의 반복 동안 찍기 수준에 머물렀습니다. 논문과 정반대로 plain-56보다 뒤처진 것입니다. "
                "잔차 가지를 0으로 초기화하면 안정되지만 모든 잔차 네트워크가 plain-20보다 한참 느려졌습니다. 측정 결과: "
                "docs/RECIPE.md."),
        dict(en="Short runs warm up for at most half of their iterations, and the lr schedule (÷10 at 50% and 75%) "
                "is scaled to the chosen number of epochs.",
             ko="짧은 실행은 전체 반복의 절반까지만 워밍업하고, 학습률 일정(50%·75% 지점에서 ÷10)은 선택한 에폭 수에 맞춰 "
                "줄어듭니다."),
    ],
}
