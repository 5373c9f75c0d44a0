"""The Lab's recipe notes: what the "paper" and the "classroom" recipe do, and where each differs from the paper.

Shown under the recipe choice (one bullet each, ``ui.t(**note)``). The numbers they quote are
the library's: resnet_edu.train.recipes (schedule, warm-ups) and resnet_edu.train.TRAIN_ERROR_WINDOW;
docs/RECIPE.md has the measurements behind the classroom recipe.
"""

from resnet_edu.train import TRAIN_ERROR_WINDOW

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
                "10k장으로 테스트합니다. 여기서는 길이와 데이터 세트를 여러분이 고릅니다."),
        dict(en="In short runs ResNet-56 can collapse for hundreds of iterations (loss explodes at lr 0.1, then sits "
                "at chance): keep this recipe to show that.",
             ko="짧은 실행에서는 ResNet-56이 수백 번의 반복 동안 무너질 수 있습니다(학습률 0.1에서 손실이 폭발한 뒤 "
                "찍기 수준에 머묾). 이 현상을 보여 줄 때 이 레시피를 쓰세요."),
    ],
    "classroom": [
        dict(en="Like the paper, but the learning rate rises linearly from 1% of its base value to the base value "
                "over the first 100 iterations (a gradual warm-up, Goyal et al. 2017), the same for every net, plain "
                "or residual, of any depth. It replaces the paper's constant 0.01 warm-up of ResNet-110.",
             ko="논문과 같되, 학습률을 처음 100번의 반복 동안 기준값의 1%에서 기준값까지 선형으로 올립니다(점진적 워밍업, "
                "Goyal 외 2017). 깊이와 상관없이 plain 네트워크와 잔차 네트워크 모두 똑같이 적용하며, 논문에서 ResNet-110에만 쓴 "
                "0.01 고정 워밍업을 대신합니다."),
        dict(en="The base learning rate follows the batch size: the paper's 0.1 is for batches of 128, so a batch of 32 "
                "starts at 0.025 (0.1 × 32/128, the linear scaling rule, Goyal et al. 2017). On a CPU the classroom "
                "trains in small batches, which show the degradation sooner; with 0.1 there, ResNet-56 fell behind "
                "plain-20 in its first minute.",
             ko="기준 학습률은 배치 크기를 따릅니다. 논문의 0.1은 배치 128용이므로 배치 32는 0.025(0.1 × 32/128, 선형 스케일링 "
                "규칙, Goyal 외 2017)에서 시작합니다. CPU에서는 성능 저하가 더 빨리 보이도록 작은 배치로 학습하는데, 거기서 "
                "0.1을 쓰면 ResNet-56이 첫 1분 동안 plain-20에 뒤처졌습니다."),
        dict(en="Why: with lr 0.1 from the first step, a ResNet-56 in a few-minute run can blow up and sit at chance "
                "for hundreds of iterations — behind plain-56, the opposite of the paper. Shorter warm-ups (20 or 46 "
                "iterations) still let it blow up on some seeds; zero-initialising the residual branches kept it "
                "stable but left every residual net far behind plain-20. The measurements: docs/RECIPE.md.",
             ko="이유: 첫 반복부터 학습률 0.1을 쓰면 몇 분짜리 실행에서 ResNet-56이 폭발해 수백 번의 반복 동안 찍기 수준에 "
                "머물 수 있습니다. 논문과 정반대로 plain-56보다 뒤처집니다. 더 짧은 워밍업(20번, 46번)으로는 일부 시드에서 "
                "여전히 폭발했고, 잔차 가지를 0으로 초기화하면 안정되지만 모든 잔차 네트워크가 plain-20보다 한참 느려졌습니다. "
                "측정 결과: docs/RECIPE.md."),
        dict(en="Short runs warm up for at most half of their iterations, and the lr schedule (÷10 at 50% and 75%) "
                "is scaled to the chosen number of epochs.",
             ko="짧은 실행은 전체 반복의 절반까지만 워밍업하고, 학습률 일정(50%·75% 지점에서 ÷10)은 선택한 에폭 수에 맞춰 "
                "줄어듭니다."),
    ],
}
