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
