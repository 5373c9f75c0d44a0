"""The Gradients page's prose: the question, how to read the numbers, and what each chart shows."""

from resnet_edu.inside.gradients import (
    REFERENCE_PLAIN56_NORMS,
    REFERENCE_RATIOS_AT_INIT,
    equal_gradient_ratio,
    first_last_weight_counts,
)
from resnet_edu.train.classroom import PAPER_BATCH_SIZE, PAPER_LR, cpu_batch_text, cpu_lr_text
from resnet_edu.train.recipes import LINEAR_WARMUP_STEPS

INTRO = dict(
    en="A popular story says deep plain nets train badly because gradients **vanish** on their way back to the "
       "first layers. The paper (Sec. 4.1) says this is *unlikely*: the nets use batch normalisation, which "
       "keeps forward signals at non-zero variance, and the authors checked that the backward gradients "
       "\"exhibit healthy norms\". They conjecture instead that deep plain nets have *exponentially low "
       "convergence rates*. Don't take either side on trust: here are the gradient norms of every convolution, "
       "measured.",
    ko="흔한 설명은 깊은 plain 네트워크(plain net)가 잘 학습되지 않는 이유가 기울기가 첫 층까지 돌아오는 동안 **사라지기(vanishing)** 때문이라고 합니다. "
       "논문(4.1절)은 그럴 *가능성이 낮다*고 말합니다. 배치 정규화(BN)가 순전파 신호의 분산을 0이 아니게 유지하고, 저자들이 역전파 기울기가 \"건강한 크기\"를 보인다는 것을 "
       "확인했기 때문입니다. 대신 깊은 plain 네트워크는 *수렴 속도가 지수적으로 느릴* 수 있다고 추측합니다. 어느 쪽도 그냥 믿지 마세요. 여기에 모든 합성곱 층의 기울기 크기를 직접 "
       "잰 값이 있습니다.")

_FIRST_WEIGHTS, _LAST_WEIGHTS = first_last_weight_counts("cifar")  # counted on the real net
_EQUAL = equal_gradient_ratio(_FIRST_WEIGHTS, _LAST_WEIGHTS)
_REF = REFERENCE_RATIOS_AT_INIT
_REF_FIRST, _REF_LAST = REFERENCE_PLAIN56_NORMS
_SIZES_EN = f"in a CIFAR net the first conv has {_FIRST_WEIGHTS:,} weights, the last {_LAST_WEIGHTS:,}"
_SIZES_KO = f"CIFAR 네트워크에서 첫 합성곱의 가중치는 {_FIRST_WEIGHTS:,}개, 마지막은 {_LAST_WEIGHTS:,}개"

HOW_TO_READ = dict(
    en="- **‖∇W‖** is the L2 norm of a convolution's weight gradient, recorded every few iterations while a "
       "run trains.\n"
       "- **first / last** divides the first conv's norm (next to the image) by the last conv's (next to the "
       "classifier). **≫ 1**: the first conv gets the larger gradient. **≪ 1**: it gets the smaller one — which "
       "by itself is not vanishing (next point).\n"
       f"- **Two caveats.** The two layers differ in size ({_SIZES_EN}): if every weight got the same gradient, "
       f"the ratio would already be about {_EQUAL:.2f} (√({_FIRST_WEIGHTS:,} / {_LAST_WEIGHTS:,})). So raw norms "
       "are not like for like, and no single value is \"healthy\": compare nets with each other, plain with "
       "residual. And with batch norm after every conv, scaling a conv's weights changes nothing downstream; "
       "what an SGD step does to a layer is set by **‖∇W‖ / ‖W‖**, the step relative to the weights. The "
       "measurement at initialisation at the bottom of this page shows both.\n"
       f"- A reference measurement on real CIFAR-10 at initialisation: plain-56 ≈ **{_REF['plain-56']:,.0f}** "
       f"(norms {_REF_FIRST:g} vs {_REF_LAST:g}), ResNet-56 ≈ **{_REF['ResNet-56']:g}**, plain-20 ≈ "
       f"**{_REF['plain-20']:g}**. At initialisation plain-56's gradient is not vanishing but *growing* on its way "
       f"back to the input: its first conv, with {_LAST_WEIGHTS // _FIRST_WEIGHTS}× fewer weights, gets a gradient "
       f"norm about {_REF['plain-56']:,.0f} times the last conv's — \"exploding\" would be the closer word, and it is not the paper's explanation either. "
       "Don't trade one myth for another: the paper's claim is only that the gradients do not vanish. Once "
       "training starts the ratio can move far (plain-56's may fall well below 1 within a few dozen "
       "iterations): is that the input's gradient shrinking, or the last layer's growing? The heat map below "
       "tells which.",
    ko="- **‖∇W‖**는 합성곱 가중치 기울기의 L2 크기로, 학습 중 몇 번의 반복마다 기록됩니다.\n"
       "- **처음 / 마지막**은 첫 합성곱(이미지 쪽)의 크기를 마지막 합성곱(분류기 쪽)의 크기로 나눈 값입니다. **≫ 1**이면 첫 "
       "합성곱이 더 큰 기울기를 받습니다. **≪ 1**이면 더 작은 기울기를 받는데, 그것만으로는 기울기 소실이 아닙니다(다음 항목).\n"
       f"- **주의할 점 두 가지.** 두 층은 크기가 다릅니다({_SIZES_KO}). 모든 가중치가 같은 기울기를 받아도 이 비율은 이미 "
       f"약 {_EQUAL:.2f}입니다(√({_FIRST_WEIGHTS:,} / {_LAST_WEIGHTS:,})). 그래서 기울기 크기를 그대로 비교할 수 없고, "
       "\"건강한\" 값이 따로 정해져 있지도 않습니다. plain 네트워크와 잔차 네트워크처럼 네트워크끼리 비교하세요. 또 합성곱마다 "
       "뒤에 배치 정규화가 있으면 가중치의 크기를 바꿔도 그다음 계산은 달라지지 않습니다. SGD 한 걸음이 층을 얼마나 바꾸는지는 "
       "가중치에 대한 상대적인 크기 **‖∇W‖ / ‖W‖**가 정합니다. 이 페이지 맨 아래의 초기화 직후 측정은 두 값을 모두 보여 "
       "줍니다.\n"
       f"- 실제 CIFAR-10에서 초기화 직후 잰 참고값: plain-56 ≈ **{_REF['plain-56']:,.0f}** (크기 {_REF_FIRST:g} 대 "
       f"{_REF_LAST:g}), ResNet-56 ≈ **{_REF['ResNet-56']:g}**, plain-20 ≈ **{_REF['plain-20']:g}**. 초기화 직후 "
       f"plain-56의 기울기는 사라지는 것이 아니라 입력 쪽으로 돌아오면서 *커집니다*: 가중치가 "
       f"{_LAST_WEIGHTS // _FIRST_WEIGHTS}분의 1인 첫 합성곱이 마지막 합성곱보다 약 {_REF['plain-56']:,.0f}배 큰 기울기를 "
       "받습니다. 굳이 말하면 \"폭발\"에 가깝고, 이것 역시 논문의 "
       "설명은 아닙니다. 하나의 통념을 다른 통념으로 바꾸지 마세요. 논문이 말하는 것은 기울기가 사라지지 않는다는 것뿐입니다. "
       "학습이 시작되면 이 비율은 크게 움직일 수 있습니다(plain-56의 비율은 수십 번의 반복 만에 1보다 한참 작아지기도 "
       "합니다). 입력 쪽 기울기가 줄어든 걸까요, 마지막 층의 기울기가 커진 걸까요? 아래 히트맵이 알려 줍니다.")

CLASS_QUESTION = dict(
    en="**A question for the class.** He et al. (Sec. 4.1) find the degradation of plain nets \"unlikely to be "
       "caused by vanishing gradients\". A year later Veit, Wilber & Belongie (2016) wrote that residual "
       "networks \"avoid the vanishing gradient problem by introducing short paths which can carry gradient "
       "throughout the extent of very deep networks\": they measured gradients along the paths *inside* a "
       "ResNet and found that the long paths contribute almost nothing. Do the two papers disagree, or do they "
       "talk about different things? What do the measurements on this page support?",
    ko="**수업 질문.** He 외(4.1절)는 plain 네트워크의 성능 저하가 \"기울기 소실 때문일 가능성은 낮다\"고 봅니다. 1년 뒤 Veit, Wilber, "
       "Belongie(2016)는 잔차 네트워크가 \"아주 깊은 네트워크 전체에 기울기를 나를 수 있는 짧은 경로를 만들어 기울기 소실 문제를 피한다\"고 썼습니다. 이들은 ResNet "
       "*안의* 경로별 기울기를 재서, 긴 경로는 거의 기여하지 않는다는 것을 보였습니다. 두 논문은 서로 다른 말을 하는 걸까요, 아니면 서로 다른 것을 두고 말하는 걸까요? 이 페이지의 "
       "측정값은 어느 쪽을 뒷받침하나요?")

NO_GRADIENTS_YET = dict(
    en="No run has recorded gradients yet. Start one in the Lab — the **Fig. 1** preset (plain-20 vs plain-56) "
       "records gradient norms every few iterations, and they appear here live. Meanwhile, measure fresh nets "
       "at initialisation below.",
    ko="아직 기울기를 기록한 실행이 없습니다. 실험실에서 시작하세요 — **그림 1** 프리셋(plain-20 대 plain-56)은 몇 번의 반복마다 기울기 크기를 기록하고, 그 값이 "
       "여기에 실시간으로 나타납니다. 그동안 아래에서 초기화 직후의 새 네트워크를 재 볼 수 있습니다.")

RATIO_CAPTION = dict(
    en="Dotted: plain nets; solid: ResNets; one colour per depth; grey dashed line: equal norms. Raw ‖∇W‖, the "
       "norm the runs record; the step relative to the weights, ‖∇W‖ / ‖W‖, is shown above at each run's latest "
       "checkpoint and measured at initialisation below. Above the grey line the first conv gets the larger "
       f"gradient norm. Below it is not yet vanishing: {_SIZES_EN}, so equal gradients per weight already give "
       f"about {_EQUAL:.2f}; only a ratio that keeps falling far below that, while ‖∇W‖ / ‖W‖ falls too, would be. "
       "Watch how plain and residual nets of the same depth differ, and how the ratio moves as training goes on.",
    ko="점선: plain 네트워크, 실선: ResNet, 깊이마다 한 색, 회색 파선: 두 크기가 같은 곳. 실행이 기록하는 값은 ‖∇W‖입니다. "
       "가중치에 대한 상대 크기 ‖∇W‖ / ‖W‖는 위에 각 실행의 최근 체크포인트 기준으로 보이고, 아래 초기화 직후 측정에서도 잽니다. "
       "회색 선 위쪽이면 첫 합성곱이 더 큰 기울기를 받습니다. 아래쪽이라고 해서 기울기 소실은 아닙니다: "
       f"{_SIZES_KO}라서, 가중치마다 같은 기울기를 받아도 약 {_EQUAL:.2f}입니다. 비율이 그보다 한참 아래로 계속 떨어지고 "
       "‖∇W‖ / ‖W‖도 함께 떨어질 때에야 기울기 소실이라 할 수 있습니다. 같은 깊이의 plain 네트워크와 ResNet이 어떻게 "
       "다른지, 학습이 진행되며 비율이 어떻게 움직이는지 보세요.")

HEATMAP_CAPTION = dict(
    en="Rows: convolutions from the input (top) to the output (bottom); columns: iterations; colour: the "
       "gradient norm, on one log scale shared by every panel. Plain nets left, ResNets right. Rows differ in "
       f"size ({_SIZES_EN}), so the top row is darker even when every weight gets the same gradient: compare "
       "rows of the same stage, and a plain net with its twin. Gradients that shrink (darken) row after row "
       "toward the input, stage after stage, would be vanishing. Blank cells are exactly zero.",
    ko="행: 입력(위)에서 출력(아래)까지의 합성곱 층, 열: 반복, 색: 기울기 크기(모든 패널이 같은 로그 척도). 왼쪽은 plain "
       f"네트워크, 오른쪽은 ResNet입니다. 행마다 층의 크기가 다르므로({_SIZES_KO}) 가중치마다 같은 기울기를 받아도 맨 위 "
       "행이 더 어둡습니다. 같은 단계의 행끼리, 그리고 plain 네트워크와 그 쌍둥이를 비교하세요. 입력 쪽으로 갈수록 행마다, "
       "단계마다 기울기가 작아진다면(어두워진다면) 그것이 기울기 소실입니다. 빈 칸은 정확히 0입니다.")

FIG7_INTRO = dict(
    en="Fig. 7 plots the standard deviation of each 3×3 layer's output *after BN, before the ReLU and the "
       "addition*. The paper finds ResNets' responses generally smaller than plain nets', and smaller for "
       "deeper ResNets (20 → 56 → 110): the residual functions stay close to zero, so each block only nudges "
       "its input — the paper's motivation for learning residuals in the first place.",
    ko="그림 7은 각 3×3 층 출력의 표준편차를 *BN 뒤, ReLU와 덧셈 전*에서 잰 것입니다. 논문에서 ResNet의 응답은 대체로 plain 네트워크보다 작고, 깊은 "
       "ResNet일수록(20 → 56 → 110) 더 작습니다. 잔차 함수가 0에 가깝게 머물러 각 블록이 입력을 살짝만 고친다는 뜻이며, 애초에 잔차를 학습하자는 논문의 동기이기도 합니다.")

AT_INIT_CAPTION = dict(
    en="Build nets with He initialisation (the paper's, Sec. 3.4), run one forward and backward pass on a "
       "batch of images, and measure every layer. No training, no waiting: a few seconds.",
    ko="He 초기화(논문 3.4절)로 네트워크를 만들고, 이미지 한 묶음으로 순전파와 역전파를 한 번 해서 모든 층을 잽니다. 학습도 기다림도 없이 몇 초면 됩니다.")

RELATIVE_HELP = dict(
    en="‖∇W‖ / ‖W‖: the size of an SGD step relative to the layer's weights, what matters for a conv followed "
       "by batch norm.",
    ko="‖∇W‖ / ‖W‖: 층의 가중치에 대한 SGD 한 걸음의 상대 크기. 뒤에 배치 정규화가 있는 합성곱에서는 이 값이 중요합니다.")

AT_INIT_CHART_CAPTION = dict(
    en="One point per convolution, input on the left; dotted: plain nets, solid: ResNets, one colour per depth. "
       "On a log axis, a straight slope means the norm changes by the same factor in every layer — exponentially "
       f"with depth. The first point is a smaller layer ({_SIZES_EN}): in ‖∇W‖ it sits lower even with equal "
       "gradients per weight, ‖∇W‖ / ‖W‖ takes the size out. Does the plain net's gradient vanish toward the "
       "input, or grow? What does the shortcut change?",
    ko="합성곱 층마다 점 하나, 왼쪽이 입력 쪽입니다. 점선: plain 네트워크, 실선: ResNet, 깊이마다 한 색. 로그 축에서 곧은 "
       "직선은 층마다 같은 배율로 변한다는 뜻, 즉 깊이에 따라 지수적으로 변합니다. 첫 점은 작은 층입니다"
       f"({_SIZES_KO}): ‖∇W‖로는 가중치마다 같은 기울기를 받아도 더 낮게 찍히고, ‖∇W‖ / ‖W‖는 크기의 차이를 덜어 냅니다. "
       "plain 네트워크의 기울기는 입력 쪽으로 갈수록 사라지나요, 커지나요? 숏컷은 무엇을 바꾸나요?")


PAPER_CIFAR_ITERATIONS = 64_000  # Sec. 4.2: CIFAR-10 training ends at 64k iterations


def fig7_early(longest: int, low: float, high: float) -> dict:
    """Why Fig. 7 is flat for short runs, with these runs' own numbers: the longest run's latest
    recorded iteration, and the smallest and largest response measured (every layer, every run)."""
    share = 100 * longest / PAPER_CIFAR_ITERATIONS
    return dict(
        en=f"**Why these lines are nearly flat at 1.** The longest of these runs has trained {longest:,} "
           f"iterations, {share:.2g}% of the paper's {PAPER_CIFAR_ITERATIONS:,}. Batch norm makes each layer's "
           "output standard deviation 1, then multiplies it by a learned scale (γ) that starts at 1; after a few "
           f"hundred iterations γ has barely moved, so every layer measures between {low:.2f} and {high:.2f} here. "
           "The paper's ordering (ResNets below plain nets, deeper ResNets lower still) is what γ learns over a "
           "long run: train a pair for many epochs to see it appear.",
        ko=f"**이 선들이 거의 1에 평평한 이유.** 여기서 가장 오래 학습한 실행도 {longest:,}번 반복했을 뿐이며, 논문의 "
           f"{PAPER_CIFAR_ITERATIONS:,}번의 {share:.2g}%입니다. 배치 정규화는 각 층 출력의 표준편차를 1로 맞춘 뒤 학습되는 "
           "배율(γ)을 곱하는데, γ는 1에서 시작합니다. 수백 번 반복한 뒤에도 γ는 거의 움직이지 않아, 여기서 모든 층이 "
           f"{low:.2f}~{high:.2f} 사이로 잽니다. 논문의 순서(ResNet이 plain 네트워크보다 낮고, 깊은 ResNet일수록 더 낮음)는 "
           "긴 학습 동안 γ가 배우는 것입니다. 한 쌍을 여러 에폭 학습하면 나타나는 것을 볼 수 있습니다.")


def fig7_caption(steps: str) -> dict:
    """Under the Fig. 7 chart: which record each run shows, and why a classroom run's weights have moved less."""
    return dict(
        en=f"Dotted: plain nets, solid: ResNets, one colour per depth. From each run's latest record (iteration: "
           f"{steps}). The paper measured fully trained nets; early in "
           "training the picture is still forming. Both recipes start from the same He initialisation (no branch "
           "starts at zero). The classroom recipe changes three things: its learning rate rises over the first "
           f"{LINEAR_WARMUP_STEPS} iterations, it is the paper's {PAPER_LR:g} scaled to the batch, and on a CPU the "
           f"batch is {cpu_batch_text()} (lr {cpu_lr_text()}) instead of {PAPER_BATCH_SIZE}. So after the same number "
           "of iterations its weights have moved less than a paper-recipe run's.",
        ko=f"점선: plain 네트워크, 실선: ResNet, 깊이마다 한 색. 각 실행의 가장 최근 기록 기준 (반복: {steps}). 논문은 학습을 마친 네트워크를 쟀습니다. 학습 초기에는 그림이 "
           "아직 만들어지는 중입니다. 두 레시피 모두 같은 He 초기화에서 시작합니다(0에서 시작하는 가지는 없습니다). 수업용 "
           f"레시피는 세 가지가 다릅니다: 학습률을 처음 {LINEAR_WARMUP_STEPS}번의 반복 동안 서서히 올리고, 그 학습률은 "
           f"논문의 {PAPER_LR:g}을(를) 배치 크기에 맞춘 값이며, CPU에서는 배치가 {PAPER_BATCH_SIZE} 대신 "
           f"{cpu_batch_text()}입니다(학습률 {cpu_lr_text()}). 그래서 같은 반복 수에서 논문 레시피로 학습한 실행보다 "
           "가중치가 덜 움직였습니다.")
