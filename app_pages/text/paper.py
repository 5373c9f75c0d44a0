"""The Paper page's prose: the paper's story section by section, with its numbers (Tables 1-6, Figs. 1-7)."""

from resnet_edu.train.classroom import PAPER_BATCH_SIZE, PAPER_LR, cpu_batch_text, cpu_lr_text
from resnet_edu.train.recipes import LINEAR_WARMUP_STEPS

INTRO = dict(
    en="In 2015 a 152-layer network won ImageNet — eight times deeper than VGG, the year before. The trick is "
       "one line of code: **add the input of a few layers to their output**. This app lets you train the "
       "paper's networks, switch that line off and on, and watch what happens.",
    ko="2015년, 152층짜리 네트워크가 ImageNet 대회에서 우승했습니다. 전년도의 VGG보다 8배나 깊었죠. 비결은 코드 한 줄입니다: **몇 개 층의 입력을 그 층들의 출력에 "
       "더한다.** 이 앱에서는 논문의 네트워크를 직접 학습시키고, 그 한 줄을 껐다 켜 보면서 무슨 일이 일어나는지 지켜볼 수 있습니다.")

TOP5_DEFINED = dict(
    en="**Top-5 error**, ImageNet's main measure: the share of test images whose true class is not among the "
       "five classes the net scores highest, of ImageNet's 1000 (**top-1 error**: its first choice is wrong).",
    ko="**top-5 오류**는 ImageNet의 주요 척도입니다: 네트워크가 가장 높은 점수를 준 다섯 클래스 안에 정답이 없는 테스트 이미지의 "
       "비율입니다(클래스는 1000개; **top-1 오류**: 첫 번째 답이 틀린 비율).")

ILSVRC_CAPTION = dict(
    en="Winners of the ILSVRC (ImageNet) classification task; 2014 shows the winner GoogLeNet and VGG (2nd). "
       "Sources: Kaiming He, “Deep Residual Networks”, ILSVRC & ICML 2016 tutorial; ILSVRC 2010–2015 results "
       "(image-net.org/challenges/LSVRC); He et al. 2015.",
    ko="ILSVRC(ImageNet) 분류 부문 우승 모델입니다. 2014년은 우승한 GoogLeNet과 2위 VGG를 함께 표시했습니다. 출처: Kaiming He, “Deep "
       "Residual Networks”, ILSVRC & ICML 2016 튜토리얼; ILSVRC 2010–2015 결과 (image-net.org/challenges/LSVRC); He 외 "
       "2015.")

ILSVRC_HISTORY = dict(
    en="- **2010–2011**: hand-made features (SIFT, Fisher vectors) + linear classifiers.\n"
       "- **2012**: AlexNet, 8 layers — deep learning arrives.\n"
       "- **2014**: VGG (19) and GoogLeNet (22) — deeper is better.\n"
       "- **2015**: ResNet, **152 layers**, error halved again.",
    ko="- **2010–2011**: 사람이 설계한 특징(SIFT, Fisher vector) + 선형 분류기.\n"
       "- **2012**: AlexNet, 8층 — 딥러닝의 등장.\n"
       "- **2014**: VGG(19층)와 GoogLeNet(22층) — 깊을수록 좋다.\n"
       "- **2015**: ResNet, **152층**, 오류가 다시 절반으로.")

LEVELS_OF_FEATURES = dict(
    en="Deep networks integrate low / mid / high-level features end to end, and the *levels* of features can "
       "be enriched by stacking more layers (Sec. 1). So the leading ImageNet results all used “very deep” "
       "models — which raises the question the paper starts from: **is learning better networks as easy as "
       "stacking more layers?**",
    ko="깊은 네트워크는 저수준·중간 수준·고수준 특징을 처음부터 끝까지 한 번에 학습하고, 층을 더 쌓을수록 특징의 *수준*이 풍부해집니다 (1절). 그래서 ImageNet 상위 결과는 모두 "
       "“매우 깊은” 모델이었습니다. 그렇다면 논문의 출발점이 된 질문: **층을 더 쌓기만 하면 더 좋은 네트워크를 얻을 수 있을까?**")

DEGRADATION = dict(
    en="Stack more layers on a plain network and, past a point, accuracy gets **worse** — and not because of "
       "overfitting: the **training** error rises too. In Fig. 1, a 56-layer plain net has higher training "
       "*and* test error on CIFAR-10 than a 20-layer one. Deeper still, plain-110's error stays above 60% "
       "(Fig. 6's caption).",
    ko="plain 네트워크에 층을 계속 쌓으면 어느 순간부터 정확도가 오히려 **나빠집니다**. 과적합 때문이 아닙니다: **훈련** 오류까지 올라가기 때문입니다. 그림 1에서 56층 "
       "plain 네트워크는 CIFAR-10에서 20층보다 훈련 오류*와* 테스트 오류가 모두 높습니다. 더 깊은 plain-110은 오류가 60% 아래로 내려가지 않습니다(그림 6 설명).")

SHOULD_NOT_HAPPEN = dict(
    en="It should not happen: a deeper net could copy the shallower one and set the extra layers to the "
       "identity, so its training error should be *no higher*. Yet current solvers fail to find solutions as "
       "good — or not in feasible time (Sec. 1).",
    ko="이론적으로는 일어나면 안 되는 일입니다. 깊은 네트워크는 얕은 네트워크를 그대로 복사하고 추가된 층을 항등 사상으로 두면 되므로, 훈련 오류가 *더 높지 않아야* 합니다. "
       "그런데 지금의 최적화 알고리즘은 그만큼 좋은 해를 (적당한 시간 안에) 찾지 못합니다.")

NOT_VANISHING = dict(
    en="**Careful — it is not (mainly) vanishing gradients.** The nets use batch normalization, and the "
       "authors checked that backward gradients “exhibit healthy norms”; training 3× longer still showed the "
       "problem. Their conjecture: deep plain nets have *exponentially low convergence rates*. Test it "
       "yourself on the Gradients page.",
    ko="**주의 — 원인은 (주로) 기울기 소실이 아닙니다.** 이 네트워크들은 배치 정규화(BN)를 쓰며, 저자들은 역전파된 기울기가 “건강한 크기(healthy norms)”를 유지함을 "
       "확인했습니다. 3배 더 오래 학습해도 문제는 그대로였습니다. 저자들의 추측: 깊은 plain 네트워크는 *수렴 속도가 지수적으로 느리다*. 기울기 페이지에서 직접 확인해 보세요.")

RESIDUAL_MAPPING = dict(
    en="Let H(x) be the mapping a few stacked layers should learn. Instead, let them learn the **residual**",
    ko="몇 개의 층이 학습해야 할 함수를 H(x)라고 합시다. 그 대신 이 층들이 **잔차**(residual)를 학습하게 합니다")

WHY_EASIER = dict(
    en="If the identity is (nearly) optimal, pushing F towards zero is easier than learning an identity with a "
       "stack of nonlinear layers. The identity shortcut adds **no parameters and no computation** (just an "
       "addition), so a plain net and its residual twin can be compared fairly. When the shape changes, a "
       "projection W_s matches it (Eq. 2):",
    ko="항등 사상이 (거의) 최적이라면, 비선형 층을 쌓아 항등 사상을 배우는 것보다 F를 0 쪽으로 미는 편이 더 쉽습니다. 항등 숏컷은 **파라미터도 연산량도 늘리지 않으므로** (덧셈 "
       "하나뿐), plain 네트워크와 잔차 쌍둥이를 공정하게 비교할 수 있습니다. 모양이 바뀔 때는 사영 W_s로 맞춥니다 (식 2):")

SHORTCUT_OPTIONS = dict(
    en="Where a block changes the shape (halves the map, doubles the channels), the paper compares three kinds of "
       "shortcut: **option A** — identity, the extra channels padded with zeros (no parameters; Sec. 3.3); "
       "**option B** — projections W_s (1×1 conv) only where the shape changes, identity elsewhere (Sec. 3.3); "
       "**option C** — projections on every shortcut (Sec. 4.1, Table 3).",
    ko="블록이 모양을 바꾸는 곳(맵을 절반으로, 채널을 두 배로)에서 논문은 세 가지 숏컷을 비교합니다: **옵션 A** — 항등 사상, 늘어난 "
       "채널은 0으로 채움(파라미터 없음, 3.3절), **옵션 B** — 모양이 바뀌는 곳에만 사영 W_s(1×1 conv), 나머지는 항등 사상(3.3절), "
       "**옵션 C** — 모든 숏컷을 사영으로(4.1절, 표 3).")

RESIDUALS_ARE_SMALL = dict(
    en="Evidence that the residuals are small: the layer responses of ResNets are generally smaller than those "
       "of plain nets, and smaller still the deeper the ResNet (Fig. 7).",
    ko="잔차가 실제로 작다는 증거: ResNet 층의 응답(response)은 대체로 plain 네트워크보다 작고, ResNet이 깊을수록 더 작아집니다 (그림 7).")

BLOCK_CAPTION = dict(
    en="Traced from this app's model: two 3×3 conv layers, BN after each conv, ReLU after the addition. The "
       "dashed orange line is the identity shortcut.",
    ko="이 앱의 모델에서 추적한 그림: 3×3 conv 두 개, conv마다 뒤에 BN, 덧셈 뒤에 ReLU. 주황 파선이 항등 숏컷입니다.")

BOTTLENECK_CAPTION = dict(
    en="Both traced from this app's models (a block inside the first stage, so the shortcut is the identity: the "
       "dashed orange line). Each box says its layer and the shape of its output.",
    ko="둘 다 이 앱의 모델에서 추적한 그림입니다(첫 단계 안쪽의 블록이라 숏컷은 항등 사상: 주황 파선). 상자마다 층과 출력 "
       "모양을 적었습니다.")

DESIGN_RULES = dict(
    en="VGG-style plain nets (Sec. 3.3): mostly **3×3 convolutions**, and two simple design rules — layers "
       "with the same output map size have the same number of filters, and when the map size is **halved** (a "
       "stride-2 conv), the number of filters is **doubled** to keep the time per layer. The net ends with "
       "**global average pooling**, one fully connected layer and **softmax**. BN follows every conv, before "
       "the ReLU; no dropout.",
    ko="VGG 방식의 plain 네트워크(3.3절): 주로 **3×3 합성곱**을 쓰고, 단순한 설계 규칙 두 가지를 따릅니다. 출력 특징 맵 크기가 같은 층은 필터 수도 같게 하고, 특징 "
       "맵 크기를 **절반**으로 줄일 때(stride 2 conv)는 층당 연산 시간을 유지하도록 필터 수를 **두 배**로 늘립니다. 마지막은 **전역 평균 풀링**, 완전 연결층 하나, "
       "그리고 **softmax**입니다. 모든 conv 뒤, ReLU 앞에 BN을 두고 dropout은 쓰지 않습니다.")

CIFAR_NETS = dict(
    en="Depth = 6n + 2: n = 3, 5, 7, 9, 18 gives 20, 32, 44, 56, 110 layers. Shortcuts: identity, and option A "
       "(zero-padding) where the shape changes — so plain and residual nets have exactly the same parameters.",
    ko="깊이 = 6n + 2: n = 3, 5, 7, 9, 18이면 20, 32, 44, 56, 110층. 숏컷은 항등 사상이고, 모양이 바뀌는 곳에서는 옵션 A(0 채우기)를 씁니다 — "
       "그래서 plain과 잔차 네트워크의 파라미터 수가 정확히 같습니다.")

IMAGENET_NETS = dict(
    en="7×7 conv and max pooling first, then stages conv2_x … conv5_x on 56 / 28 / 14 / 7 px maps. VGG-19 "
       "needs 19.6G multiply-adds — ResNet-34 only 18% of that. Parameters: torchvision, 1000 classes.",
    ko="먼저 7×7 conv와 최대 풀링, 그다음 56 / 28 / 14 / 7 px 맵에서 conv2_x … conv5_x 단계. VGG-19는 곱셈-덧셈 19.6G가 필요하지만 "
       "ResNet-34는 그 18%뿐입니다. 파라미터 수: torchvision, 클래스 1000개 기준.")

CIFAR_AUGMENTATION = dict(
    en="train on all 50k training images, test on the 10k test images (the original image); a 45k / 5k split "
       "only chose the schedule",
    ko="훈련 이미지 50k장 전부로 학습, 테스트 이미지 10k장으로 테스트(원본 이미지); 45k / 5k 분할은 학습 일정을 정하는 데만 썼음")

TEN_CROP_DEFINED = dict(
    en="**10-crop testing** (Krizhevsky et al. 2012): each test image is scored on ten 224×224 crops — the four "
       "corners and the centre, and the mirror image of each — and the ten scores are averaged. The paper uses it "
       "for its comparisons (Tables 2, 3); its best single-model results use multi-scale, fully-convolutional "
       "testing instead (Table 4).",
    ko="**10-crop 테스트**(Krizhevsky 외 2012): 테스트 이미지마다 224×224 조각 열 개 — 네 모서리와 가운데, 그리고 각각을 좌우로 "
       "뒤집은 것 — 에서 점수를 매겨 평균합니다. 논문은 비교 실험(표 2, 3)에 이 방식을 쓰고, 단일 모델 최고 결과(표 4)는 여러 "
       "크기에서 완전 합성곱 방식으로 테스트합니다.")

LAB_RECIPE = dict(
    en="The Lab's “paper” recipe follows the CIFAR column, with the schedule scaled to the run's length; where "
       "it differs (per-channel normalisation instead of the per-pixel mean; how the 0.01 warm-up ends, and "
       "for which nets) the Lab lists it under “What each recipe changes from the paper”. Its “classroom” "
       "recipe changes three things for a few-minute run, for every net: a linear learning-rate warm-up over "
       f"the first {LINEAR_WARMUP_STEPS} iterations; the paper's lr {PAPER_LR:g} scaled to the batch ({PAPER_LR:g} "
       f"× batch/{PAPER_BATCH_SIZE}); and on a CPU, batches of {cpu_batch_text()} instead of {PAPER_BATCH_SIZE} "
       f"(so lr {cpu_lr_text()}).",
    ko="실험실의 “논문” 레시피는 CIFAR 열을 따르되 학습 일정만 실행 길이에 맞춥니다. 논문과 다른 점(픽셀별 평균 대신 채널별 정규화, 0.01 워밍업이 끝나는 조건과 적용 대상)은 "
       "실험실의 “각 레시피가 논문(4.2절)과 다른 점”에 적어 두었습니다. “수업용” 레시피는 몇 분 안에 끝나는 실행을 위해 모든 네트워크에서 세 가지를 바꿉니다: 처음 "
       f"{LINEAR_WARMUP_STEPS}번의 반복 동안 학습률을 선형으로 올리는 워밍업, 배치 크기에 맞춘 학습률(논문의 {PAPER_LR:g} × 배치/"
       f"{PAPER_BATCH_SIZE}), 그리고 CPU에서는 배치 {PAPER_BATCH_SIZE} 대신 {cpu_batch_text()}(학습률 "
       f"{cpu_lr_text()}).")

IMAGENET_RESULTS = dict(
    en="Single model, ImageNet validation, Table 4 (multi-scale, fully-convolutional testing). With 10-crop "
       "testing it is 5.71% (Table 3).",
    ko="단일 모델, ImageNet 검증 세트, 표 4 (여러 크기, 완전 합성곱 방식 테스트). 10-crop 테스트로는 5.71%입니다 (표 3).")

RESNET_1202 = dict(
    en="ResNet-1202 trains to < 0.1% training error but tests worse than ResNet-110 (7.93% vs 6.43%, Table 6): the "
       "paper argues overfitting — 19.4M parameters for a small data set. "
       "Re-run: github.com/akamaster/pytorch_resnet_cifar10.",
    ko="ResNet-1202는 훈련 오류가 0.1% 미만까지 내려가지만 테스트 오류는 ResNet-110보다 나쁩니다(7.93% 대 6.43%, 표 6): 논문은 "
       "작은 데이터셋에 파라미터 19.4M은 너무 커서 생긴 과적합으로 봅니다. 재현: "
       "github.com/akamaster/pytorch_resnet_cifar10.")

PLAIN_DEGRADE_RESNETS_IMPROVE = dict(
    en="Plain nets degrade from 18 to 34 layers; ResNets improve. Option B/C projections help a little — they "
       "are not essential to fixing degradation.",
    ko="plain 네트워크는 18층에서 34층으로 가며 나빠지고, ResNet은 좋아집니다. 옵션 B/C의 사영은 조금 도움이 될 뿐, 성능 저하를 해결하는 핵심은 아닙니다.")

BOTTLENECK = dict(
    en="For 50, 101 and 152 layers each block is **1×1 → 3×3 → 1×1**: the first 1×1 conv reduces the channels "
       "(256 → 64), the 3×3 conv works on the thin tensor, and the last 1×1 restores them (×4). A bottleneck "
       "block costs about as much as a basic block (Fig. 5), so depth grows cheaply: ResNet-152 (11.3G "
       "multiply-adds) is still cheaper than VGG-16/19 (15.3G / 19.6G).",
    ko="50, 101, 152층에서는 블록마다 **1×1 → 3×3 → 1×1** 구조를 씁니다. 첫 1×1 conv가 채널을 줄이고(256 → 64), 3×3 conv는 얇아진 텐서에서 "
       "계산하며, 마지막 1×1이 채널을 다시 늘립니다(×4). 병목 블록의 연산량은 기본 블록과 비슷해서(그림 5) 깊이를 싸게 늘릴 수 있습니다: ResNet-152(곱셈-덧셈 "
       "11.3G)도 VGG-16/19(15.3G / 19.6G)보다 가볍습니다.")

IDENTITY_MATTERS = dict(
    en="Identity shortcuts matter most here: they connect the two *wide* ends, so replacing them with "
       "projections would double the block's time and size.",
    ko="여기서는 항등 숏컷이 특히 중요합니다. 숏컷이 *넓은* 양 끝을 잇기 때문에, 사영으로 바꾸면 블록의 연산 시간과 크기가 두 배가 됩니다.")

ENSEMBLES = dict(
    en="**Ensembles of shallow paths** — Veit, Wilber, Belongie (2016). Delete one block from a trained ResNet "
       "and the test error barely moves; do it to a plain net and it collapses.",
    ko="**얕은 경로들의 앙상블** — Veit, Wilber, Belongie (2016). 학습된 ResNet에서 블록 하나를 지워도 테스트 오류는 거의 그대로지만, plain "
       "네트워크에서 지우면 무너집니다.")

LOSS_LANDSCAPES = dict(
    en="**Loss landscapes** — Li, Xu, Taylor, Studer, Goldstein (2018). Without skip connections, ResNet-56's "
       "loss surface is chaotic; with them it is smooth and nearly convex.",
    ko="**손실 지형(loss landscape)** — Li, Xu, Taylor, Studer, Goldstein (2018). 스킵 연결이 없는 ResNet-56의 손실 지형은 "
       "혼돈스럽지만, 있으면 매끄럽고 거의 볼록한 모양이 됩니다.")

IDENTITY_MAPPINGS = dict(
    en="**Identity mappings** — He, Zhang, Ren, Sun (2016). Moving BN and ReLU before the convs "
       "(pre-activation) keeps the shortcut path a pure identity and trains 1001-layer nets.",
    ko="**항등 사상(identity mappings)** — He, Zhang, Ren, Sun (2016). BN과 ReLU를 conv 앞으로 옮기면(pre-activation) 숏컷 "
       "경로가 순수한 항등 사상으로 유지되어 1001층 네트워크도 학습됩니다.")

CITE = dict(
    en="Cite: K. He, X. Zhang, S. Ren, J. Sun. Deep Residual Learning for Image Recognition. CVPR 2016, pp. "
       "770–778. Numbers on this page are the paper's (tables and figures named beside them).",
    ko="인용: K. He, X. Zhang, S. Ren, J. Sun. “Deep Residual Learning for Image Recognition.” CVPR 2016, pp. "
       "770–778. 이 페이지의 수치는 논문의 것이며, 해당 표와 그림 번호를 함께 적었습니다.")

START_HERE = dict(
    en="**Start here** — the paper's first result, live, in a few minutes, with nothing to download:",
    ko="**여기서 시작하세요** — 논문의 첫 결과를 몇 분 안에, 아무것도 내려받지 않고 직접 봅니다:")

START_HERE_STEPS = [
    dict(en="Open the **Lab**.", ko="**실험실**을 엽니다."),
    dict(en="Click **Fig. 1 + the fix**: plain-20, plain-56 and ResNet-56 start training side by side on the "
            "built-in images.",
         ko="**그림 1 + 해법**을 누릅니다: plain-20, plain-56, ResNet-56이 내장 이미지로 나란히 학습을 시작합니다."),
    dict(en="Open **Degradation** and watch: the deeper plain net falls behind the shallower one, while the "
            "residual net of the same depth keeps up.",
         ko="**성능 저하** 페이지를 열고 지켜봅니다: 더 깊은 plain 네트워크는 얕은 네트워크보다 뒤처지고, 같은 깊이의 잔차 "
            "네트워크는 따라갑니다."),
]
