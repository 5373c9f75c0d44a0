"""The Features page's prose: the introduction, what each view shows, and the notes on weights."""

INTRO = dict(
    en="Deep nets \"naturally integrate low/mid/high-level features\", and \"the levels of features can be enriched "
       "by the number of stacked layers\" (the paper's introduction). Here are those levels in your own nets: the "
       "outputs of **layer1** (low), **layer2** (mid) and **layer3** (high), plus two ways of asking *which parts "
       "of the image* drove the prediction. Plain and residual nets side by side, on the same image.",
    ko="깊은 네트워크는 \"저·중·고수준 특징을 자연스럽게 통합\"하고 \"특징의 수준은 쌓은 층의 수로 풍부해진다\"(논문 서론). "
       "여기서 여러분의 네트워크에서 그 수준들을 봅니다: **layer1**(저수준), **layer2**(중간), **layer3**(고수준)의 출력, "
       "그리고 *이미지의 어느 부분이* 예측을 이끌었는지 묻는 두 가지 방법. 같은 이미지에서 plain 네트워크와 잔차 네트워크를 "
       "나란히 봅니다.")

NO_CHECKPOINT = dict(
    en="No trained run with a checkpoint yet: look at fresh, untrained nets below, or train a few epochs "
       "in the Lab (a checkpoint is saved at the end of every epoch) and come back.",
    ko="체크포인트가 있는 학습된 실행이 아직 없습니다. 아래에서 학습하지 않은 새 네트워크를 보거나, 실험실에서 몇 에폭 "
       "학습한 뒤(에폭마다 체크포인트가 저장됩니다) 다시 오세요.")

EXPORT_HELP = dict(
    en="A plain `state_dict`: `models.build_model(...).load_state_dict(torch.load(file))`; "
       "ImageNet-style nets with option-B shortcuts also load into torchvision's `resnet18()` "
       "etc. Put both files into the `weights` folder of the data root to look at them under 'a weights file'.",
    ko="평범한 `state_dict`: `models.build_model(...).load_state_dict(torch.load(파일))`. "
       "옵션 B 숏컷의 ImageNet식 네트워크는 torchvision의 `resnet18()` 등에도 들어갑니다. "
       "두 파일을 데이터 폴더의 `weights` 폴더에 넣으면 '가중치 파일'에서 볼 수 있습니다.")

TEACHER_ONLY_WEIGHTS = dict(
    en="Only the teacher uploads weights files (they can be hundreds of MB): enter the teacher passcode in the "
       "sidebar.",
    ko="가중치 파일은 교사만 올릴 수 있습니다(수백 MB일 수 있습니다): 사이드바에 교사 암호를 입력하세요.")


def pretrained_missing(message: str, depth: int, filename: str, folder: object) -> dict:
    """torchvision's weights are not on this machine (the English comes from resnet_edu.weights)."""
    return dict(en=message,
                ko=f"이 컴퓨터에 사전 학습된 ResNet-{depth} 가중치가 없습니다. 아래 버튼으로 받거나, 인터넷이 "
                   f"되는 컴퓨터에서 {filename} 파일을 받아 {folder} 폴더에 넣거나, "
                   "'가중치 파일'을 쓰세요.")


def pretrained_loaded(depth: int) -> dict:
    v15 = depth >= 50  # torchvision's bottleneck nets put the stride in the 3x3 conv ("v1.5"), not the paper's 1x1
    return dict(en=f"torchvision's ResNet-{depth} weights (IMAGENET1K_V1: trained by torchvision with its own simple "
                   "recipe, not the paper authors'"
                   + (", on torchvision's \"v1.5\" blocks with the stride in the 3×3 conv" if v15 else "")
                   + "), loaded into this app's own ResNet: the same layers, so the same maps and attributions. "
                   "Upload a photo below.",
                ko=f"torchvision의 ResNet-{depth} 가중치(IMAGENET1K_V1: 논문 저자들이 아니라 torchvision이 자체의 간단한 "
                   "학습법으로 학습"
                   + (", stride를 3×3 conv에 둔 torchvision의 \"v1.5\" 블록" if v15 else "")
                   + ")를 이 앱의 ResNet에 불러왔습니다: 층이 같으므로 같은 맵과 기여도를 봅니다. 아래에 사진을 올리세요.")


def weights_folder_note(folder: object, cap: object, sizes: dict[int, float | None]) -> dict:
    """Where weights files are listed from, and the server's upload limit beside the size of torchvision's files.

    Args:
        sizes: {depth: MB of torchvision's ResNet-depth weights file} (None when unknown).
    """
    known = {depth: size for depth, size in sizes.items() if size}
    en = ", ".join(f"a ResNet-{depth} is {size:.0f} MB" for depth, size in known.items())
    ko = ", ".join(f"ResNet-{depth}은(는) {size:.0f} MB" for depth, size in known.items())
    return dict(en=f"Files in `{folder}` are listed here, with the `.json` of the same name when there is one: copy "
                   "them there, or `python -m resnet_edu runs export RUN_ID --weights "
                   f"{folder}/NAME.pt`. Uploads are limited to {cap} MB by this server"
                   + (f" ({en})" if en else "") + ": put larger files into that folder.",
                ko=f"`{folder}` 폴더의 파일이 (같은 이름의 `.json`이 있으면 함께) 여기에 나옵니다: 파일을 그 폴더에 "
                   "복사하거나 `python -m resnet_edu runs export RUN_ID --weights "
                   f"{folder}/NAME.pt`로 내보내세요. 이 서버의 업로드 한도는 {cap} MB입니다"
                   + (f"({ko})" if ko else "") + ": 더 큰 파일은 그 폴더에 넣으세요.")


WEIGHTS_UPLOAD_HELP = dict(
    en="Read with `torch.load(weights_only=True)`: a file that would run code is refused. The tensors "
       "must fit a CIFAR ResNet (6n+2) or an ImageNet ResNet-18/34/50/101/152.",
    ko="`torch.load(weights_only=True)`로 읽으므로 코드를 실행하는 파일은 거부됩니다. 텐서가 CIFAR "
       "ResNet(6n+2)이나 ImageNet ResNet-18/34/50/101/152에 맞아야 합니다.")


def image_upload_help(limit_mb: int, image_size: int) -> dict:
    return dict(en=f"At most {limit_mb} MB; it is centre-cropped and "
                   f"resized to {image_size}×{image_size}, the size the nets were trained on.",
                ko=f"최대 {limit_mb} MB. 가운데를 잘라 네트워크가 학습한 크기"
                   f"({image_size}×{image_size})로 줄입니다.")


def image_too_large(name: str, megabytes: float, limit_mb: int) -> dict:
    return dict(en=f"{name} is {megabytes:.1f} MB; the limit is {limit_mb} "
                   "MB. Use a smaller image.",
                ko=f"{name}의 크기는 {megabytes:.1f} MB로, 한도 {limit_mb} MB를 "
                   "넘습니다. 더 작은 이미지를 쓰세요.")


def maps_caption(top_k: int) -> dict:
    """What the feature-map grids show."""
    return dict(en=f"The {top_k} most active channels of each stage's output (the strongest mean activation "
                   "first), each scaled to its own maximum. Low-level maps (layer1) still look like the image: "
                   "edges and colour blobs. Deeper maps are smaller and more abstract: they respond to parts "
                   "and shapes, not pixels.",
                ko=f"각 단계 출력에서 가장 활발한 채널 {top_k}개(평균 활성화가 큰 순서), 각자의 최댓값 기준으로 색을 "
                   "맞췄습니다. 저수준 맵(layer1)은 아직 이미지처럼 보입니다: 모서리와 색 덩어리. 깊은 맵일수록 작고 "
                   "추상적이며, 픽셀이 아니라 부분과 모양에 반응합니다.")


GRADCAM_CAPTION = dict(
    en="Grad-CAM (Selvaraju et al. 2017): each stage's feature maps weighted by how much they raise "
       "the chosen class's score, upsampled over the image. Red: evidence for the class. An "
       "untrained net's maps are noise — compare with a trained one.",
    ko="Grad-CAM(Selvaraju 외 2017): 각 단계의 특징 맵에 선택한 클래스 점수를 얼마나 올리는지를 가중치로 "
       "곱해 이미지 크기로 키운 것입니다. 빨간색: 그 클래스라는 증거. 학습 전 네트워크의 맵은 잡음입니다 — 학습된 "
       "네트워크와 비교해 보세요.")

IG_CAPTION = dict(
    en="Integrated gradients (Sundararajan et al. 2017): each pixel's share of the class score, "
       "summed along a straight path from a grey image (the data set's mean colour) to this image. "
       "Bright pixels matter most.",
    ko="통합 기울기(Sundararajan 외 2017): 회색 이미지(데이터셋의 평균 색)에서 이 이미지까지 곧은 경로를 "
       "따라 모은, 클래스 점수에 대한 픽셀별 기여입니다. 밝은 픽셀이 가장 중요합니다.")


def data_unavailable(problem: object) -> dict:
    return dict(en=f"The data set of this run is not available here ({problem}); upload an image instead.",
                ko=f"이 실행의 데이터셋을 여기서 쓸 수 없습니다({problem}). 대신 이미지를 올리세요.")
