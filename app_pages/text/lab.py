"""The Lab's prose: the introduction, data-set notes, help texts and the teacher-only messages."""

from resnet_edu.data.synthetic import SYNTHETIC_TRAIN_IMAGES
from resnet_edu.train import TrainConfig
from resnet_edu.train.build import SMALL_INPUT_MAX_PX
from resnet_edu.train.classroom import (
    COMPILE_BATCH,
    COMPILE_BREAK_EVEN,
    COMPILE_SECONDS,
    COMPILE_SPEEDUP,
    CPU_BATCH_SIZE,
    RECOMPILE_SECONDS,
)
from resnet_edu.words import message_words

INTRO = dict(
    en="Pick depths, start them together (they see the same batches, in lockstep), and compare. "
       "The curves live on the **Degradation** page.",
    ko="깊이를 고르고 함께 시작하면(같은 배치로 한 반복씩 보조를 맞춰 학습) 비교할 수 있습니다. 곡선은 **성능 저하** "
       "페이지에 있습니다.")

TEACHER_ONLY = dict(en="Teacher only: enter the teacher passcode in the sidebar.",
                    ko="교사 전용: 사이드바에 교사 암호를 입력하세요.")

DATA_FOLDERS_TEACHER_ONLY = dict(en="Only the teacher chooses data folders (teacher passcode in the sidebar).",
                                 ko="데이터 폴더는 교사만 정할 수 있습니다 (사이드바의 교사 암호).")

CIFAR_FROM_DATA_ROOT = dict(
    en="CIFAR-10 is read from the data root (cifar-10-python.tar.gz or its unpacked folder). On an "
       "offline machine without it the run stops with a message saying where to put the file.",
    ko="CIFAR-10은 데이터 폴더에서 읽습니다(cifar-10-python.tar.gz 또는 압축을 푼 폴더). 파일이 없는 "
       "오프라인 컴퓨터에서는 실행이 멈추고 파일을 어디에 두어야 하는지 알려 줍니다.")

IMAGE_FOLDER_SIZE_HELP = dict(
    en=f"CIFAR-style nets need 32; ImageNet-style nets adapt their stem to small images (≤ {SMALL_INPUT_MAX_PX} px).",
    ko=f"CIFAR식 네트워크는 32가 필요합니다. ImageNet식 네트워크는 작은 이미지({SMALL_INPUT_MAX_PX}픽셀 이하)에 맞게 첫 층을 "
       "바꿉니다.")

DOWNLOADS_NOTE = dict(
    en="Downloads run in the training process: MD5-checked, resumed after an interruption, unpacked "
       "into place only when complete. Offline, an archive put into the data root by hand is "
       "found, checked and unpacked when a run first uses it. The ImageNet-style preset trains on "
       "Imagenette when it is here.",
    ko="다운로드는 학습 프로세스에서 진행됩니다: MD5로 확인하고, 중단되면 이어 받고, 다 풀린 뒤에만 "
       "제자리에 놓습니다. 오프라인에서는 데이터 폴더에 직접 넣은 압축 파일을 실행이 처음 쓸 때 찾아서 "
       "확인하고 풉니다. ImageNet식 프리셋은 Imagenette가 있으면 그것으로 학습합니다.")

PLAIN_IS_THE_TWIN = dict(
    en="A plain net is exactly its residual twin with every shortcut off: same layers, same parameters (option A).",
    ko="plain 네트워크는 모든 숏컷을 끈 잔차 네트워크와 똑같습니다: 같은 층, 같은 파라미터 (옵션 A).")

GPUS_HELP = dict(
    en="With 2 or more, each net trains on that many GPUs at once (PyTorch DistributedDataParallel, "
       "launched with torchrun), one net after another. The batch size is the total over the GPUs, as in "
       "the paper (128 on 2 GPUs: 64 each).",
    ko="2개 이상이면 각 네트워크를 그만큼의 GPU로 동시에 학습합니다(PyTorch DistributedDataParallel, torchrun으로 "
       "실행). 네트워크는 하나씩 차례로 학습합니다. 배치 크기는 논문처럼 모든 GPU를 합친 크기입니다(GPU 2개에 128: "
       "각 64).")

_EPOCHS = TrainConfig.__dataclass_fields__["epochs"].default  # the Lab's default length
_CPU_BATCH = min(CPU_BATCH_SIZE.values())
_RUN_CPU = _EPOCHS * (SYNTHETIC_TRAIN_IMAGES // _CPU_BATCH)  # iterations of a default run on a CPU
_RUN_AT_MEASURED = _EPOCHS * (SYNTHETIC_TRAIN_IMAGES // COMPILE_BATCH)  # the same run in batches of COMPILE_BATCH
_BREAK_EVEN = f"{COMPILE_BREAK_EVEN[0]:,}–{COMPILE_BREAK_EVEN[1]:,}"
_RECOMPILE = f"{RECOMPILE_SECONDS[0]}–{RECOMPILE_SECONDS[1]}"
_SPEEDUP = f"{COMPILE_SPEEDUP[0]:g}–{COMPILE_SPEEDUP[1]:g}"
COMPILE_HELP = dict(  # the measurements: resnet_edu.train.classroom (benchmarks/compile.py)
    en=f"`torch.compile` fuses the net's operations into fewer kernels. Measured on a 2-core CPU in batches of "
       f"{COMPILE_BATCH}: about {COMPILE_SECONDS} s to compile, {_RECOMPILE} s again after each shortcut switch, then "
       f"iterations {_SPEEDUP}x faster, so it paid only after {_BREAK_EVEN} iterations of {COMPILE_BATCH} images. A "
       f"{_EPOCHS}-epoch classroom run on the built-in data trains on as many images as {_RUN_AT_MEASURED:,} of "
       f"those iterations: on a GPU it is {_RUN_AT_MEASURED:,} iterations of {COMPILE_BATCH}, on a CPU {_RUN_CPU:,} "
       f"iterations of {_CPU_BATCH}. Off by default; try it for long runs and on GPUs.",
    ko=f"`torch.compile`은 네트워크의 연산을 더 적은 커널로 합칩니다. 2코어 CPU에서 배치 {COMPILE_BATCH}(으)로 측정하면 "
       f"컴파일에 약 {COMPILE_SECONDS}초, 숏컷을 바꿀 때마다 다시 {_RECOMPILE}초가 들고, 그 뒤 반복이 {_SPEEDUP}배 빨라집니다. "
       f"그래서 이미지 {COMPILE_BATCH}장짜리 반복을 {_BREAK_EVEN}번 한 뒤에야 이득입니다. 내장 데이터로 {_EPOCHS}에폭을 "
       f"학습하는 수업용 실행이 보는 이미지는 그런 반복 {_RUN_AT_MEASURED:,}번 분량입니다: GPU에서는 {COMPILE_BATCH}장짜리 "
       f"반복 {_RUN_AT_MEASURED:,}번, CPU에서는 {_CPU_BATCH}장짜리 반복 {_RUN_CPU:,}번. 기본값은 꺼짐이며, 긴 실행과 "
       "GPU에서 써 보세요.")

IMAGE_FOLDER_TEACHER_ONLY = dict(
    en="Only the teacher chooses the image folder: enter the teacher passcode in the sidebar.",
    ko="이미지 폴더는 교사만 정할 수 있습니다: 사이드바에 교사 암호를 입력하세요.")


def folder_unusable(error: object) -> dict:
    """A typed data folder that cannot be used, and the layout expected."""
    return dict(en=f"Cannot use this data folder: {error}. Expected <folder>/train/<class>/*.jpg and "
                   "<folder>/val/<class>/*.jpg.",
                ko=f"이 데이터 폴더는 쓸 수 없습니다: {message_words(str(error), 'ko')}. <폴더>/train/<클래스>/*.jpg 와 "
                   "<폴더>/val/<클래스>/*.jpg 구조가 필요합니다.")


def imagenet_preset_on_imagenette(image_size: int) -> dict:
    return dict(en=f"The ImageNet-style preset trains on Imagenette ({image_size} px), found in the data root.",
                ko=f"ImageNet식 프리셋은 데이터 폴더에 있는 Imagenette({image_size}픽셀)로 학습합니다.")


PRESETS_KEEP = dict(
    en="**Presets** — one click starts a whole comparison of the paper's nets. A preset keeps the data set, "
       "epochs, max iterations, seed, learning rate, batch size, recipe, device and compilation chosen above, and "
       "replaces the family, the depths and the shortcuts with its own nets (option A shortcuts):",
    ko="**프리셋** — 한 번 누르면 논문 네트워크의 비교 실험 전체가 시작됩니다. 위에서 고른 데이터셋, 에폭, 최대 반복, 시드, "
       "학습률, 배치 크기, 레시피, 장치, 컴파일은 그대로 쓰고, 계열, 깊이, 숏컷은 프리셋의 네트워크(옵션 A 숏컷)로 바꿉니다:")

SWITCH_SHORTCUTS_LIVE = dict(
    en="**Turn the shortcuts off and watch a ResNet become a plain net, live** — the switch is "
       "applied between two iterations and marked on every curve.",
    ko="**숏컷을 끄면 ResNet이 실시간으로 plain 네트워크가 되는 것을 볼 수 있습니다** — 전환은 두 반복 "
       "사이에 적용되고 모든 곡선에 표시됩니다.")


def archive_note(count: int) -> dict:
    """What Archive would move, and where."""
    return dict(en=f"{count} ended run(s) would move to `runs/archive/<date>/`, a runs folder of their own "
                   "(open it with `RESNET_EDU_RUNS_DIR`). Running runs never move.",
                ko=f"끝난 실행 {count}개가 `runs/archive/<날짜>/`(따로 열 수 있는 실행 폴더, "
                   "`RESNET_EDU_RUNS_DIR`로 열기)로 옮겨집니다. 학습 중인 실행은 옮기지 않습니다.")


def class_pack_note(folder: object, cap: object) -> dict:
    """What a class pack is, where one comes from, and how a large one gets here."""
    return dict(
        en="A class pack is one zip file of runs trained elsewhere (a GPU, a lab workstation, a night on a laptop): "
           "their curves, layer statistics, analyses and checkpoints. Make one with the Degradation page's "
           "*Download this comparison as a pack* or `python -m resnet_edu runs pack --group GROUP -o FILE`. "
           "Opened runs keep who trained them where, and are never resumed here. "
           f"Uploads are limited to {cap} MB by this server: put larger packs into `{folder}` (listed below), "
           "start the app with `--server.maxUploadSize 500`, or run `python -m resnet_edu runs unpack FILE`.",
        ko="수업 팩은 다른 곳(GPU, 실험실 워크스테이션, 밤새 돌린 노트북)에서 학습한 실행들을 담은 zip 파일 "
           "하나입니다: 곡선, 층별 통계, 분석 결과, 체크포인트가 들어 있습니다. 성능 저하 페이지의 *이 비교 실험을 "
           "수업 팩으로 내려받기* 또는 `python -m resnet_edu runs pack --group GROUP -o FILE`로 만듭니다. "
           "연 실행에는 누가 어디서 학습했는지가 남고, 여기서 이어서 학습하지 않습니다. "
           f"이 서버의 업로드 한도는 {cap} MB입니다: 더 큰 팩은 `{folder}`에 넣거나(아래에 나옵니다), "
           "앱을 `--server.maxUploadSize 500`으로 시작하거나, `python -m resnet_edu runs unpack FILE`을 쓰세요.")


def pack_not_opened(error: object) -> dict:
    return dict(en=f"This pack was not opened, and nothing in the Lab changed: {error}",
                ko=f"이 수업 팩은 열지 않았고 실험실은 그대로입니다: {error}")


EPOCHS_HELP = dict(  # the hours: docs/RECIPE.md, "An overnight run on a CPU" (estimated from measured speeds)
    en="Passes over the training set; the learning-rate schedule follows them. Overnight on a 2-core CPU: "
       "Fig. 6 on CIFAR-10 for 10 epochs, about 10 hours without native bf16 (about 4 with AMX); Fig. 1 + the fix "
       "a third of that. On a GPU: 164 epochs with the paper recipe is Sec. 4.2's schedule. Train it there with "
       "`python -m resnet_edu train --preset fig6 --epochs 10 ...` and open its class pack here.",
    ko="훈련 세트를 몇 번 도는지이며, 학습률 일정이 이를 따릅니다. 2코어 CPU에서 밤새: CIFAR-10으로 그림 6을 "
       "10에폭, bf16이 없으면 약 10시간(AMX가 있으면 약 4시간), 그림 1 + 해법은 그 3분의 1. GPU에서는 논문 레시피로 "
       "164에폭이 4.2절의 일정입니다. `python -m resnet_edu train --preset fig6 --epochs 10 ...`로 그곳에서 "
       "학습하고 수업 팩을 여기서 여세요.")
