"""The Degradation page's prose: the paper's Fig. 1, what a few minutes of training can show, and how to read the curves."""

from resnet_edu.app.live_view import SMOOTH_STEPS
from resnet_edu.inside.verdict import HOLD_STEPS, MEASURED_STEPS, MIN_STEPS_TO_CLAIM, NOISE_POINTS, WITHDRAW_POINTS
from resnet_edu.train import TRAIN_ERROR_WINDOW
from resnet_edu.train.classroom import PAPER_BATCH_SIZE, cpu_batch_text

NO_RUNS_YET = dict(
    en="No runs yet. Start one in the Lab — the **Fig. 1** preset (plain-20 vs plain-56) shows the deeper plain net "
       "falling behind within a few minutes, and its curves appear here live.",
    ko="아직 실행이 없습니다. 실험실에서 시작하세요 — **그림 1** 프리셋(plain-20 대 plain-56)은 몇 분 안에 더 깊은 plain 네트워크가 뒤처지는 모습을 보여 주고, 그 곡선이 여기에 실시간으로 "
       "나타납니다.")

PAPER_LINES_HELP = dict(
    en="Final test errors of the paper's ResNets after 164 epochs on CIFAR-10 (Table 6): where a full run "
       "ends, not where your curves should be now.",
    ko="논문 ResNet을 CIFAR-10에서 164 에폭 학습한 뒤의 최종 테스트 오류(표 6): 지금 곡선이 있어야 할 곳이 아니라, 끝까지 학습했을 때의 도착점입니다.")

SMOOTH_HELP = dict(
    en="Each iteration's error is measured on one batch only — with the classroom recipe "
       f"{cpu_batch_text()} images on a CPU, {PAPER_BATCH_SIZE} on a GPU; with the paper recipe {PAPER_BATCH_SIZE} — "
       f"so it jumps around; averaging {SMOOTH_STEPS} iterations shows the trend.",
    ko="반복마다의 오류는 배치 하나로만 잽니다 — 수업용 레시피는 CPU에서 이미지 "
       f"{cpu_batch_text()}장, GPU에서 {PAPER_BATCH_SIZE}장, 논문 레시피는 {PAPER_BATCH_SIZE}장 — 그래서 들쭉날쭉합니다. "
       f"{SMOOTH_STEPS}회를 평균하면 추세가 보입니다.")

PAPER_LINES_CAPTION = dict(
    en="Paper lines (dash-dot, in the colour of their depth): final test errors after a full 164-epoch run on "
       "CIFAR-10 (Table 6), for the ResNets of the chosen depths. A few-epoch classroom run ends well above them.",
    ko="논문 선(일점쇄선 -·-, 깊이마다 그 색): CIFAR-10에서 164 에폭을 다 학습한 뒤의 최종 테스트 오류(표 6), 선택한 깊이의 "
       "ResNet 값. 몇 에폭짜리 수업용 실행은 그보다 한참 위에서 끝납니다.")

PAPER_CLAIM = dict(
    en="The paper's claim in one picture, after a full run: without shortcuts the line rises with depth; with "
       "them it falls (a few-minute run shows the first half at most). Grey: plain nets, red: ResNets. Training "
       f"error (dashed, hollow dots): mean of the last {TRAIN_ERROR_WINDOW} iterations; test error (bold): the last "
       "evaluation; grey stars: the paper's ResNets after 164 epochs (Table 6), when *Paper values* is on.",
    ko="논문의 주장을 한 장에(끝까지 학습했을 때): 숏컷이 없으면 깊을수록 선이 올라가고, 있으면 내려갑니다(몇 분짜리 실행으로는 앞의 "
       "절반까지만 보입니다). 회색: plain 네트워크, 빨간색: ResNet. 훈련 오류(파선, 속이 빈 점)는 최근 "
       f"{TRAIN_ERROR_WINDOW}회 반복의 평균, 테스트 오류(굵은 선)는 마지막 평가 값, 회색 별: *논문 값*을 켰을 때 논문 ResNet의 "
       "164 에폭 뒤 값(표 6)입니다.")

INTRO = dict(
    en="In the paper's **Fig. 1**, a 56-layer plain net has *higher training error* than a 20-layer one: "
       "deeper is worse, and since it is training error, it is not overfitting. **Fig. 6** shows that identity "
       "shortcuts turn it around. These are your runs, drawn the same way, live.",
    ko="논문의 **그림 1**에서 56층 plain 네트워크는 20층보다 *훈련 오류가 더 높습니다*. 더 깊은데 더 나쁘고, 훈련 오류이므로 과적합이 아닙니다. **그림 6**은 항등 "
       "숏컷(identity shortcut)이 이를 뒤집는다는 것을 보여 줍니다. 여기에 여러분의 실행이 같은 방식으로, 실시간으로 그려집니다.")

WHAT_MINUTES_SHOW = dict(
    en="What a few minutes can show: whether plain-56's training error rises above plain-20's, and whether "
       "ResNet-56, just as deep, stays below plain-56. Early speed is not the degradation problem (in the paper "
       "ResNet-18 converges faster than plain-18, yet the two end about equally accurate: Sec. 4.1, Table 2), "
       "so the box below names *the degradation problem* only once both gaps have stayed above the run-to-run "
       f"noise ({NOISE_POINTS:g} points) for {HOLD_STEPS:,} iterations, and not before iteration "
       f"{MIN_STEPS_TO_CLAIM:,}; once named, it stays named unless a gap falls below {WITHDRAW_POINTS:g} points. "
       "In the classroom runs measured for this app, a 56-layer ResNet trailed the 20-layer nets over its first "
       f"{MEASURED_STEPS:,} iterations in some settings and led them in others; the paper shows whole runs "
       "(Fig. 6, middle), at whose end the deeper ResNets have the lower error. *Paper values (Table 6)* marks "
       "where a full run ends.",
    ko="몇 분 안에 볼 수 있는 것: plain-56의 훈련 오류가 plain-20보다 높아지는지, 그리고 깊이가 같은 ResNet-56의 훈련 오류가 "
       "plain-56보다 낮게 유지되는지입니다. 초반의 학습 속도는 성능 저하 문제가 아닙니다(논문에서 ResNet-18은 plain-18보다 빨리 "
       "수렴하지만 최종 정확도는 비슷합니다: 4.1절, 표 2). 그래서 아래 상자는 두 차이가 모두 실행마다 우연히 생기는 차이"
       f"({NOISE_POINTS:g}%p)보다 큰 상태로 {HOLD_STEPS:,}번의 반복 동안 유지될 때에만, 그리고 {MIN_STEPS_TO_CLAIM:,}번째 반복 "
       f"이후에만 *성능 저하 문제*라고 부릅니다. 한 번 그렇게 부르면, 어느 한 차이가 {WITHDRAW_POINTS:g}%p 아래로 떨어지지 "
       f"않는 한 그 결론을 유지합니다. 이 앱에서 잰 수업용 실행에서는 처음 {MEASURED_STEPS:,}번의 반복 동안 56층 ResNet이 "
       "20층 네트워크들보다 뒤진 설정도 있었고 앞선 설정도 있었습니다. 논문은 끝까지 학습한 곡선을 보여 주며(그림 6 가운데), "
       "그 끝에서는 더 깊은 ResNet의 오류가 더 낮습니다. *논문 값 (표 6)* 스위치는 끝까지 학습했을 때의 도착점을 보여 줍니다.")

PACK_HELP = dict(
    en="One zip file with these runs: curves, events, layer statistics, analyses and checkpoints, and who trained "
       "them where. Open it on another machine in the Lab (*Open a class pack*) or with "
       "`python -m resnet_edu runs unpack FILE`: every page then works on these runs there.",
    ko="이 실행들을 담은 zip 파일 하나: 곡선, 이벤트, 층별 통계, 분석 결과, 체크포인트, 그리고 누가 어디서 "
       "학습했는지. 다른 컴퓨터의 실험실(*수업 팩 열기*)이나 `python -m resnet_edu runs unpack FILE`로 열면 그곳의 "
       "모든 페이지가 이 실행들로 동작합니다.")

PACK_WHEN_ENDED = dict(en="A pack holds ended runs: available when every chosen run has stopped or finished.",
                       ko="수업 팩에는 끝난 실행만 담깁니다: 고른 실행이 모두 멈추거나 끝나면 내려받을 수 있습니다.")
