"""The Loss landscape page's prose: the question, what the paper shows, and how to read each chart."""

NEEDS_CHECKPOINTS = dict(
    en="A landscape needs trained nets with a checkpoint. Train the **Fig. 1 + the fix** preset in the Lab "
       "(plain-56 and ResNet-56 train together) and come back when an epoch has finished.",
    ko="손실 지형에는 체크포인트가 있는 학습된 네트워크가 필요합니다. 실험실에서 **그림 1 + 해법** 프리셋(plain-56과 ResNet-56을 함께 학습)을 학습하고, 한 에폭이 "
       "끝나면 다시 오세요.")

TWIN_HELP = dict(
    en="Its twin (same depth, the other kind) is chosen by default: the same random directions are used for both.",
    ko="기본으로 같은 깊이, 다른 종류의 쌍둥이 네트워크를 골라 둡니다. 두 네트워크에 같은 무작위 방향을 씁니다.")

COMPARE_WITH_TWIN = dict(
    en="Compare a plain net with its residual twin to read the difference the shortcuts make.",
    ko="숏컷이 만드는 차이를 읽으려면 plain 네트워크와 그 잔차 쌍둥이를 비교하세요.")

READ_SO_FAR = dict(
    en="Read from the points computed so far; the numbers settle as the grid fills in.",
    ko="지금까지 계산된 점으로 읽었습니다. 격자가 채워지면 숫자가 자리를 잡습니다.")

WHAT_THE_PAPER_SHOWS = dict(
    en="**What Li et al. (2018) show** (their Fig. 1 and 5, ResNet-56 on CIFAR-10 trained for 300 epochs, "
       "51×51 grid over [−1, 1]²): without skip connections the surface is chaotic — a narrow central pit "
       "among many ridges and sharp local minima, with the loss climbing steeply to large values a short way "
       "out; with them it is a single wide, smooth bowl whose contours are nearly concentric rings, close to "
       "convex. The difference grows with depth: at 20 layers both nets look smooth; at 56 and 110 the plain "
       "ones break up. They report that the nets with smooth surfaces are the ones that train well, a "
       "correlation; He et al. leave open why deep plain nets are hard to optimise.",
    ko="**Li 외(2018)가 보여 주는 것** (그들의 그림 1과 5, CIFAR-10에서 300 에폭 학습한 ResNet-56, [−1, 1]²의 51×51 격자): 스킵 연결이 없으면 "
       "지형이 혼돈스럽습니다 — 좁은 중앙 구덩이 둘레로 능선과 날카로운 국소 최솟값이 많고, 조금만 벗어나도 손실이 가파르게 큰 값까지 오릅니다. 스킵 연결이 있으면 등고선이 거의 "
       "동심원인, 넓고 매끄러운 하나의 그릇 모양으로 볼록에 가깝습니다. 차이는 깊이와 함께 커집니다: 20층에서는 둘 다 매끄럽고, 56층과 110층에서 plain 네트워크가 무너집니다. "
       "그들은 지형이 매끄러운 네트워크가 잘 학습된다는 상관관계를 보고합니다. He 외는 깊은 plain 네트워크가 왜 최적화하기 어려운지를 열어 둡니다.")

INTERPOLATION_CAPTION = dict(
    en="Goodfellow et al. (2015): the loss on the straight line between the two, continued to t = −0.5 and "
       "1.5; BN running statistics are interpolated with the weights. At t = 0 the net has never seen data, so "
       "BN still uses its initial statistics; points where the loss overflowed are left out. Grey dotted: plain "
       "nets, red solid: ResNets; dotted vertical lines: the initial (t = 0) and trained (t = 1) weights.",
    ko="Goodfellow 외(2015): 두 가중치를 잇는 직선 위의 손실, t = −0.5와 1.5까지 연장. BN의 누적 통계도 가중치와 함께 보간합니다. t = 0에서 네트워크는 아직 "
       "데이터를 본 적이 없어 BN이 초기 통계를 씁니다. 손실이 넘쳐 계산할 수 없는 점은 뺐습니다. 회색 점선: plain 네트워크, 빨간 "
       "실선: ResNet. 세로 점선: 초기 가중치(t = 0)와 학습된 가중치(t = 1).")

INTRO = dict(
    en="A later paper, not He et al.'s: Li, Xu, Taylor, Studer & Goldstein (2018) drew the training loss on a "
       "plane through the trained weights, along two random directions scaled filter by filter to the weights. "
       "Without shortcuts, their 56-layer net sits in a chaotic landscape; with them, in a smooth bowl. They "
       "found that smoother landscapes go together with nets that train well — a correlation, not a proof of "
       "why shortcuts help; He et al. leave that cause open. Compute that picture for the nets *you* trained.",
    ko="He 외의 논문이 아닌 후속 연구입니다: Li, Xu, Taylor, Studer, Goldstein(2018)은 학습된 가중치를 지나는 평면 위에 훈련 손실을 "
       "그렸습니다. 평면은 필터마다 가중치 크기에 맞춘 두 무작위 방향으로 정합니다. 숏컷이 없으면 그들의 56층 네트워크는 혼돈스러운 "
       "지형에 놓이고, 있으면 매끄러운 그릇에 놓입니다. 그들은 지형이 매끄러울수록 네트워크가 잘 학습된다는 것을 발견했습니다 — 숏컷이 "
       "왜 도움이 되는지에 대한 증명이 아니라 상관관계이며, He 외는 그 원인을 열어 둡니다. *여러분이* 학습한 네트워크로 그 그림을 "
       "계산해 보세요.")

def how_long(grid: int, first: int) -> dict:
    """How long the page's default grid takes, and how soon its first coarse picture appears."""
    return dict(
        en=f"On a laptop CPU a {grid}×{grid} grid of a 56-layer pair takes two to three minutes (the first "
           f"{first}×{first} picture within seconds); on a GPU, seconds. It runs in the training process, shared by "
           "every tab.",
        ko=f"노트북 CPU에서 56층 네트워크 한 쌍의 {grid}×{grid} 격자는 2–3분 걸립니다(첫 {first}×{first} 그림은 몇 초 만에). "
           "GPU에서는 몇 초입니다. 계산은 학습 프로세스에서 돌며 모든 탭이 함께 봅니다.")


def _times(ratio: float | None) -> str:
    """3.1 -> "3.1", 35512 -> "36,000": a ratio as a class reads it (two significant figures)."""
    if not ratio:
        return ""
    return f"{ratio:.2g}" if ratio < 100 else f"{float(f'{ratio:.2g}'):,.0f}"


def reading(steps: str, plain: str, residual: str, ratio: float | None, plain_rougher: bool, n: dict) -> dict:
    """The result read in plain words: which surface is bumpier, by how much, and how wide each valley is.

    Args:
        steps: "56-iteration" or "56- and 60-iteration" (already in the reader's language).
        plain, residual: the nets' names, safe for Markdown.
        ratio: how many times rougher the plain surface is (None when it cannot be told).
        plain_rougher: whether the plain surface is the rougher one.
        n: the numbers, formatted: plain_/residual_ basin.
    """
    times = _times(ratio)
    if plain_rougher:
        en = f"**bumpier**{f' — about {times} times as bumpy —' if times else ''} than"
        ko = f"**더 울퉁불퉁합니다**{f'(약 {times}배)' if times else ''}"
    else:
        en, ko = "**not bumpier** than", "**더 울퉁불퉁하지 않습니다**"
    return dict(
        en=f"On your {steps} nets, the loss surface around {plain} is {en} the one around {residual}. "
           f"The valley around the trained weights, where the loss stays below twice its value there, covers "
           f"{n['plain_basin']} of the square for {plain} and {n['residual_basin']} for {residual}. Li et al. found "
           "wide, smooth valleys around the nets that trained well.",
        ko=f"여러분의 {steps} 네트워크에서 {plain} 주변의 손실 지형은 {residual} 주변보다 {ko}. 학습된 가중치 주변에서 손실이 "
           f"그곳 값의 두 배 아래로 머무는 골짜기가 덮는 넓이는 정사각형의 {n['plain_basin']}({plain}) 대 "
           f"{n['residual_basin']}({residual})입니다. Li 외는 잘 학습된 네트워크 주변에서 넓고 매끈한 골짜기를 보았습니다.")


def reading_details(size: int, ratio: float | None, n: dict) -> dict:
    """The measurements behind :func:`reading`, for those who want them."""
    times = f" ({_times(ratio)}×)" if ratio else ""
    return dict(
        en=f"Bumpiness is the mean absolute second difference over the {size}×{size} grid: "
           f"{n['plain_roughness']} (plain) vs {n['residual_roughness']} (residual){times}; "
           f"{n['plain_concave']} vs {n['residual_concave']} of the second differences are negative (where the "
           f"surface bends down, it is not convex). Along the 1-D slice the loss rises by {n['plain_rise']} vs "
           f"{n['residual_rise']} at distance 0.5, from {n['plain_center']} and {n['residual_center']} at the "
           "trained weights.",
        ko=f"울퉁불퉁함은 {size}×{size} 격자의 2차 차분 절댓값 평균입니다: {n['plain_roughness']}(plain) 대 "
           f"{n['residual_roughness']}(잔차){times}. 2차 차분 가운데 음수인 것(아래로 굽는 곳: 볼록하지 않음)의 비율: "
           f"{n['plain_concave']} 대 {n['residual_concave']}. 1차원 단면에서 거리 0.5만큼 가면 손실이 {n['plain_rise']} 대 "
           f"{n['residual_rise']} 오릅니다(학습된 가중치에서 {n['plain_center']}, {n['residual_center']}).")


def contours_caption(images: int, known: int, grid: object) -> dict:
    return dict(
        en=f"The loss on {images} training images at θ* + α·δ + β·η, with δ and η two random "
           f"filter-normalised directions (the same draws for both nets); ★ = the trained weights. Colours share "
           f"one scale, capped a few times above the trained loss so the bowl stays visible. "
           f"{known}×{known} of {grid}×{grid} points.",
        ko=f"훈련 이미지 {images}장에서 잰 θ* + α·δ + β·η의 손실. δ와 η는 필터 정규화한 두 무작위 방향입니다"
           f"(두 네트워크에 같은 난수). ★ = 학습된 가중치. 두 그림은 같은 색 척도를 쓰며, 그릇 모양이 보이도록 학습된 손실의 몇 배에서 "
           f"잘랐습니다. {grid}×{grid} 중 {known}×{known}점.")
