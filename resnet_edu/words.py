"""The words a student reads, in English or Korean: the language picker, small labels, run messages.

* :func:`pick` chooses between an English and a Korean text written side by side where they
  are used, so a translation is never far from its English; the caller passes ``lang``
  ("en" or "ko"; anything else reads English).
* Small labels next to a curve or in a table: clock times, durations, switch labels, run
  statuses; :func:`markdown_safe` keeps a user's run name from becoming Markdown.
* :func:`message_words`: the training process writes one English line per run or analysis job
  ("preparing data", "loss became nan at iteration 120 (lr 0.1)"); this gives its Korean form.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any


def pick(lang: str, en: str, ko: str) -> str:
    """The Korean text when ``lang`` is "ko", else the English one (the default language).

    Args:
        lang: the reader's language, "en" or "ko"; anything else reads English.
        en: the English text.
        ko: the same text in Korean.
    """
    return ko if lang == "ko" else en


def clock_label(iso: str | None) -> str:
    """An ISO time stamp as the server's local "11-28 09:15" (how pages name runs); "" when unknown."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%m-%d %H:%M")
    except (TypeError, ValueError):
        return ""


def seconds_label(seconds: float | None, lang: str = "en") -> str:
    """A duration for people: "45 s", "3 min 05 s", "1 h 02 min" (in Korean with its own units);
    "–" when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    seconds = int(round(seconds))
    if seconds < 60:
        return pick(lang, f"{seconds} s", f"{seconds}초")
    if seconds < 3600:
        return pick(lang, f"{seconds // 60} min {seconds % 60:02d} s", f"{seconds // 60}분 {seconds % 60:02d}초")
    return pick(lang, f"{seconds // 3600} h {seconds % 3600 // 60:02d} min", f"{seconds // 3600}시간 {seconds % 3600 // 60:02d}분")


def toggle_label(detail: dict[str, Any], stages: Sequence[int] | None = None, lang: str = "en") -> str:
    """"shortcuts off" / "stage 2 on" / "stages 1, 3 off" for a shortcuts_toggled event's detail."""
    enabled = bool(detail.get("enabled"))
    chosen = detail.get("stages") if stages is None else stages
    if lang == "ko":
        state = "켬" if enabled else "끔"
        if not chosen:
            return f"숏컷 {state}"
        return f"{', '.join(str(s) for s in chosen)}단계 숏컷 {state}"
    state = "on" if enabled else "off"
    if not chosen:
        return f"shortcuts {state}"
    word = "stage" if len(chosen) == 1 else "stages"
    return f"{word} {', '.join(str(s) for s in chosen)} {state}"


STATUS_WORDS = {  # run status -> (English, Korean), as shown in the app
    "queued": ("queued", "대기 중"), "running": ("training", "학습 중"), "finished": ("finished", "완료"),
    "stopped": ("stopped", "중지됨"), "diverged": ("diverged", "발산"), "failed": ("failed", "실패"),
    "interrupted": ("interrupted", "중단됨"),
}


DATASET_WORDS = {  # data set (data.DATASETS) -> its name (English, Korean): a table cell, the Lab's menu
    "synthetic": ("built-in shapes", "내장 도형"), "cifar10": ("CIFAR-10", "CIFAR-10"),
    "imagenette": ("Imagenette", "Imagenette"), "imagefolder": ("image folder", "이미지 폴더"),
}


def dataset_word(dataset: str, lang: str = "en", capital: bool = False) -> str:
    """A data set's name in ``lang`` ("built-in shapes" for "synthetic"); an unknown key is shown as it is."""
    en, ko = DATASET_WORDS.get(dataset, (dataset, dataset))
    word = pick(lang, en, ko)
    return word[:1].upper() + word[1:] if capital else word


def status_word(status: str, lang: str = "en") -> str:
    en, ko = STATUS_WORDS.get(status, (status, status))
    return pick(lang, en, ko)


_MARKDOWN_SPECIALS = set("\\`*_{}[]()#!|<>~$:&")  # "-", "+", "." only matter at a line start


def markdown_safe(text: object) -> str:
    """Text (e.g. a run name) safe inside Markdown: no links, images, HTML, :directives: or $math$."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIALS else ch for ch in " ".join(str(text).split()))


# Messages without a variable part: English -> Korean.
FIXED: dict[str, str] = {
    "preparing data": "데이터 준비 중",
    "starting the training process": "학습 프로세스를 시작하는 중",
    "stopped before it started": "시작하기 전에 중지됨",
    "stopped by the teacher": "교사가 중지함",
    "the app was shut down before this run started": "이 실행이 시작되기 전에 앱이 종료됨",
    "loading the nets": "네트워크를 불러오는 중",
    "done": "완료",
    "Loading CIFAR-10": "CIFAR-10을 불러오는 중",
    "CIFAR-10 ready": "CIFAR-10 준비 완료",
    "choose at least one network to train": "학습할 네트워크를 하나 이상 고르세요",
    "the nets of one comparison must share data set, epochs, batch size, seed and recipe":
        "한 비교 실험의 네트워크는 데이터셋, 에폭, 배치 크기, 시드, 레시피가 같아야 합니다",
    "CIFAR-style nets expect 32x32 images: use image size 32, or an ImageNet-style net":
        "CIFAR식 네트워크는 32x32 이미지를 받습니다: 이미지 크기를 32로 하거나 ImageNet식 네트워크를 쓰세요",
    "enter a data folder": "데이터 폴더를 입력하세요",
    "a data folder must be a text path": "데이터 폴더는 텍스트 경로여야 합니다",
    "the data folder path contains control characters": "데이터 폴더 경로에 제어 문자가 있습니다",
    "reading the manifest": "목록(manifest)을 읽는 중",
    "writing into the store": "실행 기록에 쓰는 중",
}

_SPLIT = {"train": "훈련", "test": "테스트", "val": "검증"}
_LOSS = {"nan": "NaN(숫자가 아닌 값)", "inf": "무한대", "-inf": "음의 무한대"}
_VERB = {"Downloading": "내려받는 중", "Checking": "확인 중", "Unpacking": "압축 푸는 중"}


def _template(pattern: str, korean: Callable[[re.Match], str]) -> tuple[re.Pattern, Callable[[re.Match], str]]:
    return re.compile(pattern + r"\Z", re.DOTALL), korean


# Messages with variable parts: a pattern over the English, and how to say it in Korean.
TEMPLATES: list[tuple[re.Pattern, Callable[[re.Match], str]]] = [
    _template(r"loss became (?P<loss>\S+) at iteration (?P<step>[\d,]+) \(lr (?P<lr>[^)]+)\)",
            lambda m: f"{m['step']}번째 반복에서 손실이 {_LOSS.get(m['loss'], m['loss'])}이(가) 되었습니다(학습률 {m['lr']})"),
    _template(r"batch size (?P<b>\d+) is larger than the (?P<n>[\d,]+) training images"
            r"(?: in (?P<root>.+): choose a batch size of at most (?P<max>[\d,]+))?",
            lambda m: f"배치 크기 {m['b']}이(가) 훈련 이미지 수 {m['n']}보다 큽니다"
                      + (f"({m['root']}): 배치 크기를 {m['max']} 이하로 고르세요" if m["root"] else "")),
    _template(r"waiting: the nets of this comparison train one after another, each on (?P<n>\d+) GPUs",
            lambda m: f"대기 중: 이 비교 실험의 네트워크는 하나씩 차례로, 각각 GPU {m['n']}개로 학습합니다"),
    _template(r"starting torchrun on (?P<n>\d+) GPUs", lambda m: f"GPU {m['n']}개로 torchrun을 시작하는 중"),
    _template(r"torchrun ended with exit code (?P<code>-?\d+) before the run did: (?P<rest>.*)",
            lambda m: f"실행이 끝나기 전에 torchrun이 종료되었습니다(종료 코드 {m['code']}): {m['rest']}"),
    _template(r"the training process ended unexpectedly \(exit code (?P<code>[^)]*)\)(?P<killed>: it was killed.*)?",
            lambda m: f"학습 프로세스가 예기치 않게 끝났습니다(종료 코드 {m['code']})"
                      + (": 강제로 종료되었습니다. 컴퓨터의 메모리가 부족할 때 흔히 일어납니다. 실행을 다시 시작하세요"
                         if m["killed"] else "")),
    _template(r"(?P<name>.+): deleting blocks", lambda m: f"{m['name']}: 블록을 지우는 중"),
    _template(r"(?P<name>.+): metrics", lambda m: f"{m['name']}: 측정 기록"),
    _template(r"(?P<name>.+): checking the metrics", lambda m: f"{m['name']}: 측정 기록을 확인하는 중"),
    _template(r"(?P<name>.+): checking (?P<file>\S+)", lambda m: f"{m['name']}: {m['file']} 확인 중"),
    _template(r"(?P<name>.+): (?P<n>\d+)×(?P=n) grid", lambda m: f"{m['name']}: {m['n']}×{m['n']} 격자"),
    _template(r"(?P<name>.+): 1-D slice", lambda m: f"{m['name']}: 1차원 단면"),
    _template(r"(?P<name>.+): initial → trained", lambda m: f"{m['name']}: 초기 → 학습 후"),
    _template(r"Downloading torchvision's ResNet-(?P<d>\d+) weights to (?P<p>.+)",
              lambda m: f"torchvision의 ResNet-{m['d']} 가중치를 {m['p']}에 내려받는 중"),
    _template(r"ResNet-(?P<d>\d+) weights are ready", lambda m: f"ResNet-{m['d']} 가중치 준비 완료"),
    _template(r"(?P<title>[\w-]+) is ready in (?P<p>.+)", lambda m: f"{m['title']}: {m['p']}에 준비 완료"),
    _template(r"Generating synthetic (?P<split>\w+) images: (?P<done>[\d,]+)/(?P<n>[\d,]+)",
            lambda m: f"합성 {_SPLIT.get(m['split'], m['split'])} 이미지를 만드는 중: {m['done']}/{m['n']}"),
    _template(r"Decoding (?P<split>\w+) images: (?P<done>[\d,]+)/(?P<n>[\d,]+)",
            lambda m: f"{_SPLIT.get(m['split'], m['split'])} 이미지를 디코딩하는 중: {m['done']}/{m['n']}"),
    _template(r"Scanning (?P<name>.+)", lambda m: f"{m['name']} 폴더를 살펴보는 중"),
    _template(r"Loaded (?P<n>[\d,]+) decoded images from the cache",
            lambda m: f"캐시에서 디코딩된 이미지 {m['n']}장을 불러옴"),
    _template(r"Decoded (?P<n>[\d,]+) images", lambda m: f"이미지 {m['n']}장 디코딩 완료"),
    _template(r"(?P<verb>Downloading|Checking|Unpacking): (?P<amount>[\d,.]+(?: / [\d,.]+)? MB)"
            r"(?:, (?P<speed>[\d,.]+ MB/s))?(?:, (?P<left>\d+ (?:s|min \d+ s|h \d+ min)) left)?",
            lambda m: f"{_VERB[m['verb']]}: {m['amount']}" + (f", {m['speed']}" if m["speed"] else "")
                      + (f", {_korean_duration(m['left'])} 남음" if m["left"] else "")),
    _template(r"(?P<title>[\w-]+): (?P<rest>(?:Downloading|Checking|Unpacking): .*)",
            lambda m: f"{m['title']}: {message_words(m['rest'], 'ko')}"),
    _template(r"depth (?P<d>\d+) is not 6n\+2: try (?P<a>\d+) or (?P<b>\d+)",
            lambda m: f"깊이 {m['d']}은(는) 6n+2가 아닙니다: {m['a']} 또는 {m['b']}을(를) 써 보세요"),
    _template(r"depth (?P<d>\d+) is too small: a CIFAR ResNet has depth 6n\+2 with n >= 1 \(8, 14, 20, \.\.\.\)",
            lambda m: f"깊이 {m['d']}은(는) 너무 작습니다: CIFAR ResNet의 깊이는 n ≥ 1인 6n+2입니다(8, 14, 20, …)"),
    _template(r"depth (?P<d>\d+) is too deep: about (?P<p>[\d,]+)M parameters and ~(?P<g>[\d,]+) GiB of memory to "
            r"train at batch (?P<b>\d+); the deepest allowed is (?P<max>\d+) \(the paper's deepest\)",
            lambda m: f"깊이 {m['d']}은(는) 너무 깊습니다: 파라미터 약 {m['p']}M, 배치 {m['b']}에서 학습에 메모리 약 "
                      f"{m['g']} GiB가 필요합니다. 허용하는 가장 깊은 값은 {m['max']}입니다(논문에서 가장 깊은 네트워크)"),
    _template(r"(?P<n>\d+) networks at once is too many for one comparison: at most (?P<max>\d+)",
            lambda m: f"한 비교 실험에 네트워크 {m['n']}개는 너무 많습니다: 최대 {m['max']}개"),
    _template(r"batch size (?P<b>\d+) does not split evenly over (?P<n>\d+) processes: use a multiple of \d+",
            lambda m: f"배치 크기 {m['b']}은(는) 프로세스 {m['n']}개로 똑같이 나뉘지 않습니다: {m['n']}의 배수를 쓰세요"),
    _template(r"training on (?P<n>\d+) GPUs needs \d+ CUDA cards: this machine has (?P<have>\d+)",
            lambda m: f"GPU {m['n']}개로 학습하려면 CUDA 카드가 {m['n']}개 필요합니다: 이 컴퓨터에는 {m['have']}개 있습니다"),
    _template(r"run (?P<id>\w+) is still training", lambda m: f"실행 {m['id']}은(는) 아직 학습 중입니다"),
    _template(r"run (?P<id>\w+) has finished: there is nothing to resume",
            lambda m: f"실행 {m['id']}은(는) 끝났습니다: 이어서 학습할 것이 없습니다"),
    _template(r"run (?P<id>\w+) has no checkpoint yet \(one is saved at the end of every epoch\)",
            lambda m: f"실행 {m['id']}에는 아직 체크포인트가 없습니다(에폭이 끝날 때마다 저장됩니다)"),
    _template(r"run (?P<id>\w+) is (?P<status>\w+) in another process: stop it there first",
            lambda m: f"실행 {m['id']}은(는) 다른 프로세스에서 {m['status']} 상태입니다: 먼저 그곳에서 멈추세요"),
    _template(r"the data folder (?P<p>.+) does not exist",
            lambda m: f"데이터 폴더 {m['p']}이(가) 없습니다"),
    _template(r"the data folder (?P<p>.+) does not exist or is outside the allowed data folders \((?P<roots>.*)\)\. "
              r"The teacher can allow more folders with the environment variable (?P<env>\w+) "
              r"\(separated by '(?P<sep>.)'\)\.",
              lambda m: f"데이터 폴더 {m['p']}이(가) 없거나 허용된 데이터 폴더({m['roots']}) 밖에 있습니다. 교사는 환경 변수 "
                        f"{m['env']}(으)로 폴더를 더 허용할 수 있습니다('{m['sep']}'(으)로 구분)."),
    _template(r"(?P<p>.+) is a file, not a folder: choose the folder that holds train/ and val/",
            lambda m: f"{m['p']}은(는) 폴더가 아니라 파일입니다: train/과 val/이 있는 폴더를 고르세요"),
    _template(r"the data folder (?P<p>.+) contains '\.\.': write the folder's full path instead",
            lambda m: f"데이터 폴더 {m['p']}에 '..'이 들어 있습니다: 폴더의 전체 경로를 쓰세요"),
    _template(r"the data folder (?P<p>.+) cannot be (?:used|read) \((?P<why>\w+)\)",
            lambda m: f"데이터 폴더 {m['p']}을(를) 쓸 수 없습니다({m['why']})"),
    _template(r"the data folder path is (?P<n>\d+) characters long; at most (?P<max>\d+) are allowed",
            lambda m: f"데이터 폴더 경로가 {m['n']}자입니다: 최대 {m['max']}자까지 쓸 수 있습니다"),
]

_REASONS: list[tuple[re.Pattern, Callable[[re.Match], str]]] = [  # why a data set is not available
    _template(r"(?P<p>.+) does not exist and downloading is off\.", lambda m: f"{m['p']}이(가) 없고 내려받기가 꺼져 있습니다."),
    _template(r"(?P<p>.+) does not exist\.", lambda m: f"{m['p']}이(가) 없습니다."),
]


def _reason(text: str) -> str:
    for pattern, korean in _REASONS:
        match = pattern.match(text)
        if match:
            return korean(match)
    return text


TEMPLATES.append(_template(
    r"(?P<title>.+?) is not available: (?P<reason>.+?) To use it offline, download (?P<file>\S+) \((?P<size>[\d,]+ MB), "
    r"from (?P<url>\S+)\) on a machine with internet access and put it in (?P<root>.+?) \(the data root: set "
    r"RESNET_EDU_DATA or --data-root to use another folder\); it is unpacked there on first use\. Or choose the "
    r"built-in 'synthetic' data set, which works offline\.",
    lambda m: f"{m['title']}을(를) 쓸 수 없습니다: {_reason(m['reason'])} 오프라인에서 쓰려면 인터넷이 되는 컴퓨터에서 "
              f"{m['file']}({m['size']}, {m['url']})을(를) 내려받아 {m['root']}에 넣으세요(데이터 폴더: 다른 폴더를 쓰려면 "
              "`RESNET_EDU_DATA`나 `--data-root`를 설정하세요). 처음 쓸 때 그곳에서 압축을 풉니다. 또는 오프라인에서도 되는 내장 "
              "합성 데이터셋(synthetic)을 고르세요."))

# The Features and Gradients pages' tasks in the training process.
FIXED.update({
    "loading the data": "데이터를 불러오는 중",
    "choose at least one depth and one kind": "깊이와 종류를 하나 이상 고르세요",
    "choose at least one net": "네트워크를 하나 이상 고르세요",
})
TEMPLATES += [
    _template(r"measuring (?P<net>\S+)", lambda m: f"{m['net']} 재는 중"),
    _template(r"computing (?P<net>.+)", lambda m: f"{m['net']} 계산 중"),
    _template(r"could not load the data: (?P<reason>.+)", lambda m: f"데이터를 불러올 수 없습니다: {_reason(m['reason'])}"),
    _template(r"class (?P<c>\d+) does not exist: this net has (?P<n>\d+) classes",
              lambda m: f"클래스 {m['c']}은(는) 없습니다: 이 네트워크의 클래스는 {m['n']}개입니다"),
    _template(r"(?P<name>\S+) is no longer in the store's inputs folder: choose the image or upload the file again",
              lambda m: f"{m['name']}이(가) 실행 기록의 입력 폴더에 더 이상 없습니다: 이미지를 다시 고르거나 파일을 다시 올리세요"),
]

# A comparison the memory does not hold (resnet_edu.engine.admission): the training process stores it as
# the runs' message; a test checks these agree with the refusal's own Korean.
_WHERE = {"the GPU": "GPU", "this computer": "이 컴퓨터"}
_ENDING = {"nothing was queued": "아무것도 대기열에 넣지 않았습니다",
           "these runs did not start: start them again with a smaller setting":
               "이 실행들은 시작하지 않았습니다: 더 작은 설정으로 다시 시작하세요"}
_NEEDS = (r"this comparison needs about (?P<need>[\d.]+ GiB) of memory at batch (?P<b>\d+) and "
          r"(?P<where>the GPU|this computer) can give it (?P<room>[\d.]+ GiB): ")


def _needs_ko(m: re.Match) -> str:
    return f"이 비교는 배치 {m['b']}에서 메모리가 약 {m['need']} 필요한데 {_WHERE[m['where']]}에 남은 것은 {m['room']}입니다"


TEMPLATES += [
    _template(_NEEDS + r"the largest batch that fits is (?P<n>\d+)\. Choose a batch size of at most (?P=n) \(or fewer, "
              r"shallower nets, or smaller images\); (?P<end>.+)\.",
              lambda m: f"{_needs_ko(m)}. 들어가는 가장 큰 배치는 {m['n']}입니다. 배치 크기를 {m['n']} 이하로 (또는 더 적거나 "
                        f"얕은 네트워크, 더 작은 이미지로) 고르세요. {_ENDING.get(m['end'], m['end'])}."),
    _template(_NEEDS + r"even a batch of 1 does not fit\. Choose shallower or fewer nets, or smaller images; (?P<end>.+)\.",
              lambda m: f"{_needs_ko(m)}. 배치 1도 들어가지 않습니다. 더 얕거나 적은 네트워크, 또는 더 작은 이미지를 고르세요. "
                        f"{_ENDING.get(m['end'], m['end'])}."),
]

_PROGRESS = re.compile(r"(?P<text>.+) \((?P<percent>\d+%)\)\Z", re.DOTALL)  # a data set's progress, as lanes write it


def _korean_duration(text: str) -> str:
    """ "45 s" / "3 min 05 s" / "1 h 02 min" (labels.seconds_label's English) in Korean."""
    parts = re.fullmatch(r"(?:(?P<h>\d+) h )?(?:(?P<m>\d+) min)? ?(?:(?P<s>\d+) s)?", text.strip())
    if not parts:
        return text
    seconds = 3600 * int(parts["h"] or 0) + 60 * int(parts["m"] or 0) + int(parts["s"] or 0)
    return seconds_label(seconds, "ko")


def message_words(message: object, lang: str = "en") -> str:
    """``message`` as a page shows it: unchanged in English; in Korean when it is one of the library's own."""
    text = "" if message is None else str(message)
    if lang != "ko" or not text:
        return text
    if text in FIXED:
        return FIXED[text]
    for pattern, korean in TEMPLATES:
        match = pattern.match(text)
        if match:
            return korean(match)
    progress = _PROGRESS.match(text)
    if progress and message_words(progress["text"], lang) != progress["text"]:
        return f"{message_words(progress['text'], lang)} ({progress['percent']})"
    return text


__all__ = ["FIXED", "STATUS_WORDS", "TEMPLATES", "clock_label", "markdown_safe", "message_words", "pick",
           "seconds_label", "status_word", "toggle_label"]
