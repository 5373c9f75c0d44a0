"""Every Korean string of the app follows docs/GLOSSARY.md: one term per idea, particles that fit.

The Korean strings are read from the source with ``ast`` (adjacent literals are joined, as
Python joins them), from every page and library module, so a variant cannot come back in a
new page either.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "docs" / "GLOSSARY.md"
SOURCES = sorted([ROOT / "app.py", ROOT / "ui.py", *ROOT.glob("app_pages/**/*.py"), *ROOT.glob("resnet_edu/**/*.py")])
HANGUL = re.compile(r"[가-힣]")
PARTICLES = "은|는|이|가|을|를|과|와|으로|로"


def korean_strings(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string constant with Hangul in it (an f-string with {} for each placeholder)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    inside_fstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):  # f"{name}와": keep the placeholders as {} so particles show
            inside_fstrings.update(id(part) for part in node.values)
            text = "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
            if HANGUL.search(text):
                found.append((node.lineno, text))
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and HANGUL.search(node.value)
              and id(node) not in inside_fstrings):
            found.append((node.lineno, node.value))
    return found


def glossary_rows() -> list[tuple[str, str, list[str]]]:
    """(English, Korean, rejected variants) from the glossary's table."""
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("English", "---"):
            continue
        rejected = [variant.strip() for variant in cells[2].split(" / ") if variant.strip()]
        rows.append((cells[0], cells[1], rejected))
    return rows


def _variant_pattern(variant: str) -> re.Pattern:
    if variant == "망 (on its own)":  # "망" as a word of its own; 신경망 (neural network) is fine
        return re.compile(r"(?<![가-힣])망(?=[이은을과의도에만]|[^가-힣]|$)")
    return re.compile(re.escape(variant))


@functools.cache
def _all_strings() -> list[tuple[str, int, str]]:
    return [(str(path.relative_to(ROOT)), line, text) for path in SOURCES for line, text in korean_strings(path)]


def test_the_glossary_table_is_read():
    rows = glossary_rows()
    assert len(rows) >= 25
    terms = {english: korean for english, korean, _ in rows}
    assert terms["shortcut connection, shortcut"] == "숏컷 연결, 숏컷"
    assert terms["warm-up"] == "워밍업" and terms["training error"] == "훈련 오류"
    rejected = {variant for _, _, variants in rows for variant in variants}
    assert {"지름길", "평범한 망", "예열", "학습 오류", "건너뛰기", "직선으로", "확신도"} <= rejected


def test_korean_strings_are_found():
    strings = _all_strings()
    assert len(strings) > 500  # every page is bilingual
    assert any(path == "app_pages/text/paper.py" for path, _, _ in strings)  # page prose, read recursively


@pytest.mark.parametrize("english, korean, rejected", glossary_rows(), ids=lambda value: str(value)[:30])
def test_no_page_uses_a_rejected_variant(english, korean, rejected):
    if not rejected:
        return
    offending = [f"{path}:{line}: {variant!r} in {text[:80]!r}"
                 for variant in rejected for path, line, text in _all_strings()
                 if _variant_pattern(variant).search(text)]
    assert not offending, f"use {korean!r} for {english!r}:\n" + "\n".join(offending)


def test_the_checker_catches_a_variant():
    assert _variant_pattern("망 (on its own)").search("평범한 망이 더 못 배운다")
    assert not _variant_pattern("망 (on its own)").search("신경망을 학습합니다")
    assert _variant_pattern("지름길").search("지름길을 끄면")


# ---------------------------------------------------------------- particles

_READING_ENDS_IN_CONSONANT = {"0": True, "1": True, "2": False, "3": True, "4": False, "5": False, "6": True,
                              "7": True, "8": True, "9": False}  # 영/십/백/천, 일, 이, 삼, 사, 오, 육, 칠, 팔, 구
_AFTER_CONSONANT = {"은": True, "는": False, "이": True, "가": False, "을": True, "를": False, "과": True,
                    "와": False, "으로": True, "로": False}


def particle_fits(number: str, particle: str) -> bool:
    """Does the particle fit a run name ending in this number, read the Korean way (56: 오십육)?"""
    last = number[-1]
    consonant = _READING_ENDS_IN_CONSONANT[last] if last != "0" else True  # 십, 백, 천 all end in a consonant
    if particle in ("로", "으로"):  # after ㄹ (일, 칠, 팔) 로 is right
        return particle == "로" if last in "178" or not consonant else particle == "으로"
    return _AFTER_CONSONANT[particle] == consonant


def test_particle_rule():
    assert particle_fits("56", "과") and not particle_fits("56", "와")
    assert particle_fits("32", "와") and particle_fits("20", "은") and particle_fits("110", "이")
    assert particle_fits("1202", "는") and particle_fits("18", "로") and particle_fits("56", "으로")


def test_particles_after_run_names_fit():
    named = re.compile(rf"(?:plain|ResNet)-(\d+)({PARTICLES})(?![가-힣(])")
    wrong = [f"{path}:{line}: {match.group(0)!r}" for path, line, text in _all_strings()
             for match in named.finditer(text) if not particle_fits(match.group(1), match.group(2))]
    assert not wrong, "the particle does not fit the run name:\n" + "\n".join(wrong)


def test_no_fixed_particle_after_a_name_filled_in_later():
    # "{deep}와" is wrong for plain-56: write "와(과)", or rephrase with 의 / 보다.
    filled = re.compile(rf"\}}({PARTICLES})(?![가-힣(])")
    wrong = [f"{path}:{line}: {text[:90]!r}" for path, line, text in _all_strings() if filled.search(text)]
    assert not wrong, "a particle after a placeholder must fit every name:\n" + "\n".join(wrong)


def test_bold_words_and_their_particles():
    # "**숏컷** 을": the particle belongs to the word. "**잔차(residual)**를": Markdown does not close
    # a bold span that ends in a bracket and is followed by a letter.
    spaced = re.compile(rf"[가-힣]\*\* ({PARTICLES}|의|에|도)(?![가-힣])")
    unclosed = re.compile(r"[)\]\"”]\*{1,2}[가-힣]")  # the same holds for *italics*
    wrong = [f"{path}:{line}: {text[:90]!r}" for path, line, text in _all_strings()
             if spaced.search(text) or unclosed.search(text)]
    assert not wrong, "\n".join(wrong)


def test_no_fixed_particle_after_a_filled_in_gloss_or_a_file_name():
    # "{archive.filename}({size}, {url})을 받아": the particle belongs to the file name filled in before the
    # bracket; "cifar-10-python.tar.gz을": a file name is read letter by letter. Write 을(를) or rephrase.
    after_gloss = re.compile(rf"\}}\((?!(?:으|이|가|은|는|을|를|과|와)\))[^()]*\)({PARTICLES})(?![가-힣(])")
    after_file = re.compile(rf"[\w-]+\.(?:gz|tgz|tar|zip|pt|pth|json|csv|md|py|sqlite)({PARTICLES})(?![가-힣(])")
    wrong = [f"{path}:{line}: {text[:90]!r}" for path, line, text in _all_strings()
             if after_gloss.search(text) or after_file.search(text)]
    assert not wrong, "a particle after a filled-in name or a file name must fit every name:\n" + "\n".join(wrong)


# ---------------------------------------------------------------- English left in Korean strings

def kept_english() -> set[str]:
    """The lower-case English words a Korean string may keep (the glossary's last list)."""
    text = GLOSSARY.read_text(encoding="utf-8")
    section = text.split("## English kept in Korean text", 1)[1]
    return {line[2:].strip() for line in section.splitlines() if line.startswith("- ")}


_NOT_PROSE = [re.compile(pattern) for pattern in (
    r"`[^`]*`",  # code
    r"<[^<>]*>",  # HTML tags of plotly labels, <폴더>-style placeholders
    r"https?://\S+|\b[\w.-]+\.(?:org|com|io|ai)\b\S*",  # addresses
    r"[\w./<>{}-]*\.(?:py|md|pt|pth|json|csv|tgz|gz|zip|jpg|jpeg|png|sqlite|txt)(?![A-Za-z0-9])",  # file names
    r"\S*/\S*",  # paths, fractions
    r"\{[^{}]*\}",  # placeholders
    r"\b[a-z_]+=[^\s)]*",  # a parameter as typed: depths=20,56
    r"[“\"][^“”\"가-힣]*[”\"]",  # quoted English: a title, a button's English name
    r"(?<=[가-힣*])\((?=[A-Za-z])[^()가-힣]*\)",  # an English gloss right after a Korean word: 잔차(residual)
    r":\w+-background\[",  # Streamlit's colour directives
)]


def english_words(text: str) -> list[str]:
    """The lower-case English words of a Korean string that are not code, names or kept terms."""
    for pattern in _NOT_PROSE:
        text = pattern.sub(" ", text)
    return [word for word in re.findall(r"[A-Za-z]+", text) if word[0].islower() and len(word) >= 2]


def test_the_english_detector():
    kept = kept_english()
    assert {"plain", "conv", "stride"} <= kept
    assert english_words("남은 시간 3 min 05 s") == ["min"]
    assert english_words("ResNet (partly plain)-56 학습 중") == ["partly", "plain"]
    assert not english_words("`torch.load(weights_only=True)`로 읽고 {name}을(를) cifar-10-python.tar.gz에서")
    assert not english_words("**잔차**(residual)를 배웁니다; Goyal 외 2017, image-net.org/challenges")


def test_no_english_left_in_korean_strings():
    kept = kept_english()
    wrong = [f"{path}:{line}: {sorted(set(words) - kept)} in {text[:80]!r}" for path, line, text in _all_strings()
             if (words := english_words(text)) and set(words) - kept]
    assert not wrong, "English left in Korean text (translate it, or keep it in docs/GLOSSARY.md):\n" + "\n".join(wrong)


# ---------------------------------------------------------------- messages the library writes in English

_MESSAGE_CALLS = {"set_status": 2, "_set_status": 2, "report": -1, "_report": -1, "progress": -1, "Progress": 1}


def _written_messages() -> list[tuple[str, int, str]]:
    """(file, line, sample) of every message literal the library hands to the store or a progress bar;
    an f-string's placeholders become "7"."""
    found = []
    for path in sorted(ROOT.glob("resnet_edu/**/*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            args = []
            if name in _MESSAGE_CALLS and node.args:
                position = _MESSAGE_CALLS[name]
                if -len(node.args) <= position < len(node.args):
                    args.append(node.args[position])
            if name == "update_analysis":
                args += [keyword.value for keyword in node.keywords if keyword.arg == "message"]
            for arg in args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    literal, sample = arg.value, arg.value
                elif isinstance(arg, ast.JoinedStr):
                    parts = [(part.value, part.value) if isinstance(part, ast.Constant) else ("", "7")
                             for part in arg.values]
                    literal, sample = "".join(p[0] for p in parts), "".join(p[1] for p in parts)
                else:
                    continue
                if re.search(r"\b[a-z]{3,}\b", literal):  # words, not just "{title}: {line}"
                    found.append((str(path.relative_to(ROOT)), node.lineno, sample))
    return found


def test_every_message_the_library_writes_has_a_korean_form():
    from resnet_edu.words import message_words

    written = _written_messages()
    assert any(sample == "preparing data" for _, _, sample in written)  # the reader finds them
    untranslated = [f"{path}:{line}: {sample!r}" for path, line, sample in written
                    if message_words(sample, "ko") == sample or english_words(message_words(sample, "ko"))
                    and set(english_words(message_words(sample, "ko"))) - kept_english()]
    assert not untranslated, "add these to resnet_edu/words.py:\n" + "\n".join(untranslated)


@pytest.mark.parametrize("message", [
    "loss became nan at iteration 120 (lr 0.1)",
    "Generating synthetic train images: 1,000/10,000 (10%)",
    "CIFAR-10: Downloading: 42 / 163 MB, 3.1 MB/s, 3 min 05 s left (12%)",
    "the training process ended unexpectedly (exit code -9): it was killed, often because the computer ran out "
    "of memory; start the runs again",
    "Imagenette (160 px) is not available: /data/imagenette2-160 does not exist and downloading is off. To use it "
    "offline, download imagenette2-160.tgz (94 MB, from https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz)"
    " on a machine with internet access and put it in /data (the data root: set RESNET_EDU_DATA or --data-root to use "
    "another folder); it is unpacked there on first use. Or choose the built-in 'synthetic' data set, which works "
    "offline.",
])
def test_run_messages_read_in_korean(message):
    from resnet_edu.words import message_words

    korean = message_words(message, "ko")
    assert HANGUL.search(korean) and not set(english_words(korean)) - kept_english(), korean
    assert message_words(message, "en") == message


def test_refused_settings_read_in_korean():
    from resnet_edu.engine.groups import check_group
    from resnet_edu.train import TrainConfig
    from resnet_edu.words import message_words

    refusals = []
    for bad in (dict(depth=52), dict(depth=2), dict(depth=2000), dict(family="cifar", image_size=64)):
        with pytest.raises(ValueError) as error:
            TrainConfig(**bad).validate()
        refusals.append(str(error.value))
    with pytest.raises(ValueError) as error:
        check_group([])
    refusals.append(str(error.value))
    for refusal in refusals:
        korean = message_words(refusal, "ko")
        assert HANGUL.search(korean) and not set(english_words(korean)) - kept_english(), (refusal, korean)


def test_durations_and_statuses_in_korean():
    from resnet_edu.words import STATUS_WORDS, seconds_label, status_word

    assert seconds_label(185, "ko") == "3분 05초" and seconds_label(185) == "3 min 05 s"
    assert seconds_label(3720, "ko") == "1시간 02분" and seconds_label(45, "ko") == "45초"
    assert all(HANGUL.search(status_word(status, "ko")) for status in STATUS_WORDS)
