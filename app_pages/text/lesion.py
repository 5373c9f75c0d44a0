"""The Lesion study page's prose: the later paper's experiment, and how to read its charts."""

NEEDS_A_RESIDUAL_NET = dict(
    en="The lesion study needs a trained residual net with a checkpoint (and ideally its plain twin). Train "
       "one in the Lab — the **Fig. 1 + the fix** preset trains plain-56 and ResNet-56 together — and come "
       "back when an epoch has finished.",
    ko="블록 제거 실험에는 체크포인트가 있는 학습된 잔차 네트워크와, 가능하면 같은 깊이의 plain 쌍둥이 네트워크가 필요합니다. 실험실에서 학습하세요 — **그림 1 + 해법** 프리셋은 "
       "plain-56과 ResNet-56을 함께 학습합니다 — 그리고 한 에폭이 끝나면 다시 오세요.")

SINGLE_BLOCK_CAPTION = dict(
    en="Each point: the test error of the trained net with that one block reduced to its shortcut (nothing "
       "retrained). Dotted: plain nets, solid: ResNets, one colour per depth. Thin flat lines, in the same colour "
       "and style: the intact nets. Shaded bands: the stages. ◆ marks the blocks that halve the map and double the "
       "channels: there the shortcut only subsamples and zero-pads, so deleting them hurts more — Veit et al. "
       "saw the same.",
    ko="각 점: 학습된 네트워크에서 그 블록 하나만 숏컷으로 바꾼(다시 학습하지 않은) 상태의 테스트 오류. 점선: plain 네트워크, 실선: "
       "ResNet, 깊이마다 한 색. 같은 색과 모양의 가는 수평선: 아무것도 지우지 않은 네트워크. 음영 띠: 단계. ◆는 맵을 절반으로 줄이고 채널을 "
       "두 배로 늘리는 블록입니다. 그곳의 숏컷은 서브샘플링하고 0을 채우기만 하므로 지우면 더 크게 다칩니다 — Veit 외도 같은 것을 보았습니다.")

INTRO = dict(
    en="A later paper's experiment: Veit, Wilber & Belongie (2016) deleted single blocks from trained ResNets "
       "at test time (a 110-layer ResNet on CIFAR-10). Because every block adds its output to an identity "
       "shortcut, a ResNet is like a collection of many paths of different lengths — \"an ensemble of "
       "relatively shallow networks\". Delete one block and the other paths still carry the signal: the error "
       "rises, but far less than you would expect. A plain net has only one path; delete any block and it "
       "collapses toward chance. He et al. saw a related sign in the paper itself (Fig. 7): the deeper the "
       "ResNet, the smaller its layer responses — \"an individual layer of ResNets tends to modify the signal "
       "less\". Try it on your own runs.",
    ko="이후 논문의 실험: Veit, Wilber, Belongie(2016)는 학습된 ResNet(CIFAR-10의 110층 ResNet)에서 테스트할 때 블록을 하나씩 지웠습니다. 모든 "
       "블록이 자기 출력을 항등 숏컷에 더하므로, ResNet은 길이가 서로 다른 많은 경로의 모음, 즉 \"비교적 얕은 네트워크들의 앙상블\"과 같습니다. 블록 하나를 지워도 다른 경로가 "
       "신호를 나르니 오류는 오르지만 생각보다 훨씬 적게 오릅니다. plain 네트워크에는 경로가 하나뿐이라, 어느 블록이든 지우면 찍기 수준으로 무너집니다. He 외는 논문 안에서 이와 "
       "통하는 단서를 보였습니다(그림 7): ResNet이 깊을수록 층 응답이 작아, \"ResNet의 층 하나는 신호를 덜 바꾸는 경향이 있다\"는 것입니다. 여러분의 실행에서 직접 확인해 "
       "보세요.")

WHAT_DELETING_KEEPS = dict(
    en="Deleting a block keeps only its shortcut: the identity, or — where the block halves the map — "
       "subsampling with zero-padded extra channels (option A). Nothing is retrained.",
    ko="블록을 지우면 숏컷만 남습니다: 항등 사상, 또는 맵을 절반으로 줄이는 블록에서는 서브샘플링과 늘어난 채널의 0 채우기(옵션 A). 다시 학습하지는 않습니다.")

def how_long(images: int) -> dict:
    """How long the study takes with the page's default number of test images."""
    return dict(
        en=f"On a laptop CPU, the study of a 56-layer pair takes a few minutes with {images} test images (fewer "
           "images: quicker; on a GPU: seconds). It runs in the training process; results are shared with every "
           "open tab.",
        ko=f"노트북 CPU에서 56층 네트워크 한 쌍을 테스트 이미지 {images}장으로 실험하면 몇 분 걸립니다(이미지가 적으면 더 빠르고, "
           "GPU에서는 몇 초). 계산은 학습 프로세스에서 돌며 결과는 열려 있는 모든 탭이 함께 씁니다.")


def _pct(error: float) -> str:
    return "–" if error != error else f"{100 * error:.0f}%"


def twin_not_learned(twin: str, error: float, steps: int) -> dict:
    """Why the twin is not chosen by default: it is still at chance."""
    return dict(
        en=f"Its twin {twin} is not chosen by default: after {steps:,} iterations its training error is {_pct(error)}, "
           "still near chance (90% for 10 classes), so deleting its blocks could not show anything.",
        ko=f"쌍둥이 {twin}은(는) 기본으로 고르지 않았습니다. {steps:,}번 반복한 뒤에도 훈련 오류 {_pct(error)}, 아직 찍기 수준"
           "(10개 클래스에서 90%)에 가까워, 블록을 지워도 보여 줄 것이 없습니다.")


def partner_not_learned(other: str, error: float, steps: int, residual: str, learned_at, need: int | None) -> dict:
    """The chosen partner has not learned yet: which net would show the contrast, and about how long it needs."""
    if need is None:
        how_long_en = f"train it until its training error falls well below chance (as {residual} also has to)"
        how_long_ko = f"훈련 오류가 찍기 수준보다 충분히 낮아질 때까지 학습하세요({residual}도 마찬가지입니다)"
    else:
        how_long_en = (f"{residual} needed {int(learned_at):,} iterations to get there; as a first guess, train "
                       f"{other} for about {need:,} iterations (plain nets usually start later)")
        how_long_ko = (f"{residual}은(는) 그만큼 내려가는 데 {int(learned_at):,}번 반복했습니다. 대략 {other}을(를) "
                       f"{need:,}번쯤 학습해 보세요(plain 네트워크는 보통 더 늦게 배우기 시작합니다)")
    return dict(
        en=f"{other} has not learned anything yet ({_pct(error)} training error after {steps:,} iterations, near "
           f"chance): there is nothing for it to lose, so the contrast with {residual} cannot show. A plain net "
           f"whose training error is well below chance would show it: {how_long_en}.",
        ko=f"{other}은(는) 아직 아무것도 배우지 못했습니다({steps:,}번 반복 뒤 훈련 오류 {_pct(error)}, 찍기 수준). 잃을 것이 "
           f"없으니 {residual}과(와)의 차이가 드러날 수 없습니다. 훈련 오류가 찍기 수준보다 충분히 낮은 plain 네트워크라면 "
           f"보여 줍니다: {how_long_ko}.")
