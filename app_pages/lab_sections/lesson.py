"""Lesson links in the app: the link a tab was opened with, the simple view, and "Copy this lesson's link".

app.py calls :func:`open_lesson_link` on every page run; the first run of a tab reads the link in
its URL (resnet_edu/app/lesson_link.py checks it). The Lab's widgets then take the link's values as
their first values, and from there on they keep whatever the student chooses (Streamlit's
``persist_state``): the link sets a tab up once and never again.
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from resnet_edu.app import lesson_link
from resnet_edu.app.lesson_link import LabChoices, LessonLink
from resnet_edu.train import PRESETS
from ui import language, t

LESSON_KEY = "_lesson_link"  # the LessonLink this tab was opened with
TOLD_KEY = "_lesson_link_told"  # where this tab was told about the link's unusable values
LAB_PAGE = "lab"
# The choices shown in words: given to their widgets through session_state when the tab opens (their
# widgets keep index 0 as default, so Streamlit has no second default to warn about). Numbers and
# depth lists are passed as the widgets' own defaults instead.
WORD_CHOICE_KEYS = {"dataset": "lab_dataset", "family": "lab_family", "kind": "lab_kind", "recipe": "lab_recipe"}
# The pages a link can open (their URL paths in app.py's navigation), with their titles.
LINK_PAGES = {LAB_PAGE: ("Lab", "실험실"), "degradation": ("Degradation", "성능 저하"),
              "gradients": ("Gradients", "기울기"), "features": ("Features", "특징 맵"),
              "lesion": ("Lesion study", "블록 제거 실험"), "landscape": ("Loss landscape", "손실 지형"),
              "architecture": ("Architecture", "구조"), "": ("The paper", "논문")}


def open_lesson_link(page_url_path: str) -> None:
    """Read the link of a tab's first run; tell about unusable values on that page (the Lab tells its own)."""
    if LESSON_KEY not in st.session_state:
        link = lesson_link.read_link(st.query_params.to_dict())
        st.session_state[LESSON_KEY] = link
        for name, key in WORD_CHOICE_KEYS.items():
            if name in link.given and key not in st.session_state:
                st.session_state[key] = getattr(link.choices, name)
        if page_url_path != LAB_PAGE:
            link_problems_ui("opened")


def lesson() -> LessonLink:
    """The link this tab was opened with (no link: the Lab's defaults)."""
    return st.session_state.get(LESSON_KEY) or LessonLink()


def simple_view() -> bool:
    """A class's simple view (?view=simple): the Lab hides its advanced controls."""
    return lesson().simple


def link_problems_ui(where: str) -> None:
    """The link's unusable values in one warning, once per place (``where``) in this tab."""
    problems = lesson().problems
    told = st.session_state.setdefault(TOLD_KEY, [])
    if not problems or where in told:
        return
    told.append(where)
    lang = language()
    st.warning(t("This lesson link has values the Lab cannot use, so it keeps its defaults for them: ",
                 "이 수업 링크의 값 중 실험실이 쓸 수 없는 것이 있어 그 설정은 기본값으로 둡니다: ")
               + "; ".join(problem[lang] if lang in problem else problem["en"] for problem in problems) + ".",
               icon="🔗")


def proposed_preset() -> str | None:
    """The preset the link proposes (its button is drawn as the primary one)."""
    return lesson().choices.preset


def current_choices(dataset: str, family: str, depths: list[int], kinds: list[str], settings: dict,
                    preset: str | None = None) -> LabChoices:
    """The Lab's settings as a link carries them."""
    kind = "both" if len(kinds) != 1 else kinds[0]
    return LabChoices(preset=preset, dataset=dataset, family=family, depths=tuple(sorted(depths)), kind=kind,
                      recipe=settings["recipe"], epochs=int(settings["epochs"]), iterations=settings["max_steps"],
                      seed=int(settings["seed"]))


def lesson_link_ui(choices: LabChoices) -> None:
    """"Copy this lesson's link": the page to open, the preset to propose, the simple view, and the link."""
    if simple_view():
        return
    with st.expander(t("🔗 Copy this lesson's link", "🔗 이 수업의 링크 복사하기")):
        st.caption(t("Put it on a slide: every student's tab opens on the chosen page with the settings above "
                     "(data set, depths, shortcuts, recipe, epochs, iterations, seed). After that, each student's "
                     "own changes stay theirs.",
                     "슬라이드에 붙이세요: 학생마다 탭이 고른 페이지에서 위 설정(데이터셋, 깊이, 숏컷, 레시피, 에폭, "
                     "반복, 시드)으로 열립니다. 그다음 학생이 바꾼 설정은 그대로 학생의 것입니다."))
        left, middle = st.columns(2)
        page_words = {path: t(*titles) for path, titles in LINK_PAGES.items()}  # words now: the boxes keep them
        page = left.selectbox(t("Page to open", "열 페이지"), list(page_words), key="lab_link_page",
                              format_func=page_words.get)
        preset_words = {"": t("— none —", "— 없음 —"), **{key: t(*words) for key, words in PRESETS.items()}}
        preset = middle.selectbox(t("Preset to propose", "권할 프리셋"), list(preset_words), key="lab_link_preset",
                                  format_func=preset_words.get,
                                  help=t("Its button is shown first in the students' Lab: one click starts it.",
                                         "학생의 실험실에서 그 버튼이 강조됩니다: 한 번 누르면 시작합니다."))
        simple = st.checkbox(t("Simple view for the class (hides the advanced controls)",
                               "수업용 간단한 화면 (고급 설정 숨기기)"), key="lab_link_simple",
                             help=t("Students see the data set, depths, shortcuts, recipe, epochs, seed and the "
                                    "presets; the learning rate, batch size, iteration limit, custom depth, "
                                    "device and data-set downloads are hidden (the link's values still apply).",
                                    "학생에게는 데이터셋, 깊이, 숏컷, 레시피, 에폭, 시드와 프리셋만 보입니다. 학습률, "
                                    "배치 크기, 최대 반복, 직접 정한 깊이, 장치, 데이터셋 내려받기는 숨겨집니다 "
                                    "(링크의 값은 그대로 적용됩니다)."))
        chosen = dataclasses.replace(choices, preset=preset or None)
        query = lesson_link.link_query(chosen, "simple" if simple else "full",
                                       lang=language() if language() != "en" else None)
        address = lesson_link.app_address(st.context.url, LAB_PAGE)
        st.code(lesson_link.lesson_url(address, page, query), language=None, wrap_lines=True)
        if lesson_link.is_local(address):
            st.caption(t("This address works on this computer only. For students' computers, start the app with "
                         "`--server.address 0.0.0.0` and open it through this computer's network name or IP "
                         "address (see the README, \"Classroom network\"), then copy the link again.",
                         "이 주소는 이 컴퓨터에서만 열립니다. 학생 컴퓨터에서 열려면 앱을 "
                         "`--server.address 0.0.0.0`으로 시작하고 이 컴퓨터의 네트워크 이름이나 IP 주소로 연 뒤 "
                         "링크를 다시 복사하세요 (README의 \"Classroom network\" 참고)."))
        if choices.dataset == "imagefolder":
            st.caption(t("An image folder is not part of a link: each student's Lab asks for it.",
                         "이미지 폴더는 링크에 담기지 않습니다: 학생의 실험실이 폴더를 묻습니다."))
