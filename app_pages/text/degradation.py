"""The Degradation page's prose: the paper's Fig. 1, what a few minutes of training can show, and how to read the curves."""

from resnet_edu.train import TRAIN_ERROR_WINDOW

NO_RUNS_YET = dict(
    en="No runs yet. Start one in the Lab — the **Fig. 1** preset (plain-20 vs plain-56) shows the degradation "
       "problem within a few minutes, and its curves appear here live.",
    ko="아직 실행이 없습니다. 실험실에서 시작하세요 — **그림 1** 프리셋(plain-20 대 plain-56)은 몇 분 안에 성능 저하 문제를 보여 주고, 그 곡선이 여기에 실시간으로 "
       "나타납니다.")

PAPER_LINES_HELP = dict(
    en="Final test errors of the paper's ResNets after 164 epochs on CIFAR-10 (Table 6): where a full run "
       "ends, not where your curves should be now.",
    ko="논문 ResNet을 CIFAR-10에서 164 에폭 학습한 뒤의 최종 테스트 오류(표 6): 지금 곡선이 있어야 할 곳이 아니라, 끝까지 학습했을 때의 도착점입니다.")

SMOOTH_HELP = dict(
    en="Each iteration's error is measured on one batch of 128 images and jumps around; averaging 20 "
       "iterations shows the trend.",
    ko="반복마다의 오류는 이미지 128장 한 묶음으로 재기 때문에 들쭉날쭉합니다. 20회를 평균하면 추세가 보입니다.")

PAPER_LINES_CAPTION = dict(
    en="Paper lines: final test errors after a full 164-epoch run on CIFAR-10 (Table 6), for the ResNets of "
       "the chosen depths. A few-epoch classroom run ends well above them.",
    ko="논문 선: CIFAR-10에서 164 에폭을 다 학습한 뒤의 최종 테스트 오류(표 6), 선택한 깊이의 ResNet 값. 몇 에폭짜리 수업용 실행은 그보다 한참 위에서 끝납니다.")

PAPER_CLAIM = dict(
    en="The paper's claim in one picture, after a full run: without shortcuts the line rises with depth; with "
       "them it falls (a few-minute run shows the first half at most). Training error (dashed): mean of the "
       f"last {TRAIN_ERROR_WINDOW} iterations; test error (bold): the last evaluation.",
    ko="논문의 주장을 한 장에(끝까지 학습했을 때): 숏컷이 없으면 깊을수록 선이 올라가고, 있으면 내려갑니다(몇 분짜리 실행으로는 앞의 절반까지만 보입니다). 훈련 오류(점선)는 최근 "
       f"{TRAIN_ERROR_WINDOW}회 반복의 평균, 테스트 오류(굵은 선)는 마지막 평가 값입니다.")

INTRO = dict(
    en="In the paper's **Fig. 1**, a 56-layer plain net has *higher training error* than a 20-layer one: "
       "deeper is worse, and since it is training error, it is not overfitting. **Fig. 6** shows that identity "
       "shortcuts turn it around. These are your runs, drawn the same way, live.",
    ko="논문의 **그림 1**에서 56층 plain 네트워크는 20층보다 *훈련 오류가 더 높습니다*. 더 깊은데 더 나쁘고, 훈련 오류이므로 과적합이 아닙니다. **그림 6**은 항등 "
       "숏컷(identity shortcut)이 이를 뒤집는다는 것을 보여 줍니다. 여기에 여러분의 실행이 같은 방식으로, 실시간으로 그려집니다.")

WHAT_MINUTES_SHOW = dict(
    en="What a few minutes can show: early in training every deeper net learns more slowly, with or without "
       "shortcuts, so the box below calls a plain gap *the degradation problem* only when a ResNet of the same "
       "depth keeps up with the shallow plain net (the **Fig. 1 + the fix** preset) or when the gap lasts. "
       "ResNet-56 overtaking ResNet-20 (Fig. 6, middle) takes the paper tens of thousands of iterations: a "
       "classroom run will not show it. *Paper values (Table 6)* marks where a full run ends.",
    ko="몇 분 안에 볼 수 있는 것: 학습 초기에는 숏컷이 있든 없든 깊은 네트워크일수록 느리게 배웁니다. 그래서 아래 상자는 깊이가 같은 ResNet이 얕은 plain 네트워크만큼 빨리 "
       "배울 때(**그림 1 + 해법** 프리셋)나 차이가 오래 이어질 때에만 plain 네트워크 사이의 차이를 *성능 저하 문제*라고 부릅니다. ResNet-56이 ResNet-20을 "
       "앞지르는 것(그림 6 가운데)은 논문에서도 수만 번의 반복이 걸립니다. 수업 시간의 실행으로는 볼 수 없습니다. *논문 값 (표 6)* 스위치는 끝까지 학습했을 때의 도착점을 보여 "
       "줍니다.")
