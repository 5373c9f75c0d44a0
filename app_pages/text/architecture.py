"""The Architecture page's prose: what each diagram and table shows, and the paper's notes on cost."""

SHORTCUT_TYPE_HELP = dict(
    en="A (Sec. 3.3): identity everywhere, zero-padding the extra channels when the shape changes (no "
       "parameters). B (Sec. 3.3): a 1x1 projection where the shape changes, identity elsewhere. C (Sec. 4.1, "
       "Table 3): projections everywhere.",
    ko="A(3.3절): 모든 숏컷이 항등 사상이고, 모양이 바뀔 때는 늘어난 채널을 0으로 채움(파라미터 없음). B(3.3절): 모양이 바뀔 때만 "
       "1x1 사영(projection), 나머지는 항등 사상. C(4.1절, 표 3): 모든 숏컷을 사영으로.")

FOLLOW_HELP = dict(
    en="Draw the net of a run that is training now, with its live shortcut state (toggle it in the Lab).",
    ko="지금 학습 중인 실행의 네트워크를 실시간 숏컷 상태와 함께 그립니다 (실험실에서 켜고 끌 수 있습니다).")

LEGEND = dict(
    en="Colours, as in the diagrams: :blue-background[conv] :yellow-background[BN] :green-background[ReLU] "
       ":orange-background[⊕ addition] · dashed orange line = shortcut on, grey dotted line = shortcut off.",
    ko="색(그림과 같음): :blue-background[conv] :yellow-background[BN] :green-background[ReLU] :orange-background[⊕ 덧셈] · "
       "주황 파선 = 숏컷 켜짐, 회색 점선 = 숏컷 꺼짐.")

NETWORK_LEGEND = dict(
    en="Each box is a stage (blue) or the stem and head. The loop beside a stage stands for its shortcuts: dashed "
       "orange = all on, dashed light orange = some on, grey dotted = all off.",
    ko="상자 하나가 한 단계(파란색)이거나 입력부·출력부입니다. 단계 옆의 고리는 그 단계의 숏컷입니다: 주황 파선 = 모두 켜짐, "
       "연한 주황 파선 = 일부만 켜짐, 회색 점선 = 모두 꺼짐.")

TORCHVIEW_CAPTION = dict(
    en="Every tensor operation of the first block, as torchview records it — the diagrams above are a readable "
       "summary of this.",
    ko="첫 블록의 모든 텐서 연산을 torchview가 기록한 그대로 보여 줍니다 — 위의 그림은 이것을 읽기 쉽게 요약한 것입니다.")

PLAIN_HAS_THESE_LAYERS = dict(
    en="Shortcuts off: the plain net has exactly these layers; with option A it also has exactly the same "
       "parameters as the residual net.",
    ko="숏컷을 끈 plain 네트워크도 층은 똑같습니다. 옵션 A라면 파라미터 수까지 잔차 네트워크와 정확히 같습니다.")

MEASURED_COST = dict(
    en="Measured on this app's model with one image through `torch.utils.flop_counter` (multiply-adds = FLOPs / "
       "2), as the paper counts them.",
    ko="이 앱의 모델에 이미지 1장을 통과시켜 `torch.utils.flop_counter`로 측정했습니다 (곱셈-덧셈 = FLOPs / 2, 논문의 계산 방식).")

def deeper_yet_cheaper(vgg: dict, res: dict) -> dict:
    """Why the 34-layer nets cost less than VGG-19, with numbers measured on the three real models.

    Args:
        vgg, res: ``total`` and ``to_56`` (multiply-adds in all, and before the maps are 56×56),
            ``filters`` ({map side: filters}); ``vgg`` also ``fc`` and ``fc_params`` (its fully
            connected layers' multiply-adds and parameters) and ``params``.
    """
    g = lambda value: f"{value / 1e9:.2f}G"  # noqa: E731
    shared = sorted((side for side in vgg["filters"] if side in res["filters"]), reverse=True)
    pairs = ", ".join(f"{vgg['filters'][side]} vs {res['filters'][side]} at {side}×{side}" for side in shared)
    pairs_ko = ", ".join(f"{side}×{side}에서 {vgg['filters'][side]} 대 {res['filters'][side]}" for side in shared)
    fc = f"{100 * vgg['fc'] / vgg['total']:.1f}%"
    more = vgg["to_56"] > res["total"]
    early_sides = [str(side) for side in sorted(vgg["filters"], reverse=True) if side > 56]
    early, early_ko = " and ".join(early_sides), ", ".join(early_sides)
    more_en = f": VGG-19 has spent more there than a 34-layer net's whole {g(res['total'])}" if more else ""
    more_ko = f" VGG-19는 여기까지만으로도 34층 네트워크 전체({g(res['total'])})보다 많이 씁니다." if more else ""
    return dict(
        en=f"Deeper, yet cheaper — where the savings are. Getting from the 224×224 image down to 56×56 maps costs "
           f"VGG-19 {g(vgg['to_56'])} multiply-adds (its 3×3 convs at {early} px) and the 34-layer "
           f"nets {g(res['to_56'])} (one stride-2 7×7 conv and a max pool, Table 1){more_en}. After that the 34-layer nets use fewer filters at each map size "
           f"({pairs}; Sec. 3.3: \"fewer filters and lower complexity than VGG nets\"). Both use 3×3 filters, so "
           f"that is not the reason, and neither are VGG-19's 4096-wide fully connected layers: they hold "
           f"{vgg['fc_params'] / 1e6:.0f}M of its {vgg['params'] / 1e6:.0f}M parameters but only {fc} of its "
           "multiply-adds. VGG-19 is measured here with `torchvision.models.vgg19(weights=None)`; the 34-layer nets "
           "use option A, as in Fig. 3. Red ticks: the paper's numbers.",
        ko=f"더 깊지만 더 가볍습니다 — 어디서 아끼는가. 224×224 이미지를 56×56 맵까지 줄이는 데 VGG-19는 곱셈-덧셈 "
           f"{g(vgg['to_56'])}을(를) 쓰고({early_ko}픽셀에서 계산하는 3×3 합성곱), 34층 네트워크는 {g(res['to_56'])}만 "
           f"씁니다(stride 2인 7×7 conv 하나와 최대 풀링, 표 1).{more_ko} 그 뒤에도 34층 네트워크는 맵 크기마다 필터가 더 적습니다"
           f"({pairs_ko}; 3.3절: \"VGG 네트워크보다 필터가 적고 복잡도가 낮다\"). 둘 다 3×3 필터를 쓰므로 그것은 이유가 "
           f"아니고, VGG-19의 폭 4096 완전 연결층도 아닙니다: 파라미터 {vgg['params'] / 1e6:.0f}M 중 "
           f"{vgg['fc_params'] / 1e6:.0f}M을 차지하지만 곱셈-덧셈은 {fc}뿐입니다. VGG-19는 "
           "`torchvision.models.vgg19(weights=None)`로 직접 측정했고, 34층 네트워크는 그림 3처럼 옵션 A입니다. 빨간 눈금: 논문의 값.")


INTRO = dict(
    en="Every diagram on this page is **traced from the real PyTorch model** the Lab trains: change the depth, "
       "the shortcut option or switch the shortcuts off, and the drawings, the table and the costs follow.",
    ko="이 페이지의 모든 그림은 실험실에서 학습하는 **실제 PyTorch 모델을 추적해서** 그린 것입니다. 깊이나 숏컷 옵션을 바꾸거나 숏컷을 끄면 그림, 표, 연산량이 함께 바뀝니다.")

BLOCK_SHORTCUT_OFF = dict(
    en="Shortcut **off**: the block computes a plain F(x) — no addition, same weights.",
    ko="숏컷 **꺼짐**: 이 블록은 덧셈 없이 F(x)만 계산합니다 — 가중치는 그대로입니다.")

IDENTITY_SHORTCUT = dict(
    en="Shapes match, so the shortcut is the identity: y = F(x) + x, no parameters.",
    ko="입력과 출력의 모양이 같아 숏컷은 항등 사상입니다: y = F(x) + x, 파라미터 없음.")

SAME_LAYERS = dict(
    en="The same layers; the residual net only adds the shortcuts (Fig. 3, middle and right).",
    ko="층은 똑같고, 잔차 네트워크에는 숏컷만 더해집니다 (그림 3의 가운데와 오른쪽).")

IDENTICAL_PARAMETERS = dict(
    en="Identical parameter counts: identity and zero-padding shortcuts are free (option A).",
    ko="파라미터 수가 똑같습니다: 항등·0 채우기 숏컷(옵션 A)에는 파라미터가 없습니다.")


def zero_padding_shortcut(in_shape: str, out_shape: str) -> dict:
    return dict(en=f"The shape changes ({in_shape} → {out_shape}): "
                   "option A subsamples x and pads the new channels with zeros — still no parameters.",
                ko=f"모양이 바뀝니다 ({in_shape} → {out_shape}): "
                   "옵션 A는 x를 서브샘플링하고 늘어난 채널을 0으로 채웁니다 — 역시 파라미터가 없습니다.")


def projection_shortcut(params: int) -> dict:
    return dict(en=f"A projection y = F(x) + W_s·x (1x1 conv + BN) matches the shapes: {params:,} extra parameters.",
                ko=f"사영 숏컷 y = F(x) + W_s·x (1x1 conv + BN)가 모양을 맞춥니다: 파라미터 {params:,}개 추가.")


def bottleneck_cost(depth: int, paper: str, stride_in_3x3: str, stride_in_1x1: str) -> dict:
    """Why this ResNet-50/101/152 measures more multiply-adds than Table 1 (where the stride sits)."""
    return dict(en=f"ResNet-{depth}: Table 1 gives {paper} multiply-adds; this net measures {stride_in_3x3}. The "
                   "paper's text says only that conv3_1, conv4_1 and conv5_1 downsample with stride 2; its "
                   "released models put that stride in the first 1x1 conv of the block, which gives the "
                   f"paper's number ({stride_in_1x1} measured here for that placement). This torchvision-style "
                   "net puts it in the 3x3 conv (torchvision's \"v1.5\"): the 3x3 conv then works on the "
                   "larger map, which costs more and is slightly more accurate.",
                ko=f"ResNet-{depth}: 표 1은 곱셈-덧셈 {paper}이지만 이 네트워크에서 잰 값은 {stride_in_3x3}입니다. "
                   "논문 본문은 conv3_1, conv4_1, conv5_1이 stride 2로 크기를 줄인다고만 말합니다. 논문 저자들이 공개한 "
                   "모델은 그 stride를 블록의 첫 1x1 conv에 두며, 그러면 논문의 값이 나옵니다(그렇게 두고 여기서 잰 값: "
                   f"{stride_in_1x1}). 이 네트워크는 torchvision처럼(\"v1.5\") stride를 3x3 conv에 "
                   "둡니다. 그러면 3x3 conv가 더 큰 맵에서 계산하므로 연산이 늘고 정확도가 조금 높아집니다.")


def projections_counted(shortcut_type: str) -> dict:
    return dict(en=f"Option {shortcut_type}: projection shortcuts (1x1 conv + BN) add parameters; they are counted "
                   "in the stage rows but not as weight layers, as the paper counts depth.",
                ko=f"옵션 {shortcut_type}: 사영 숏컷(1x1 conv + BN)이 파라미터를 더합니다. 단계별 파라미터에는 "
                   "포함하지만, 논문처럼 깊이(가중치 층 수)에는 세지 않습니다.")


def following_live(name: str, data: str, depth: int, shortcut_type: str, state: str) -> dict:
    return dict(en=f"Following **{name}** live: {data}-style net, {depth} layers, option {shortcut_type} · shortcuts {state}",
                ko=f"**{name}** 실시간 추적 중: {data}형 네트워크, {depth}층, 옵션 {shortcut_type} · 숏컷 {state}")
