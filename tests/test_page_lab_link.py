"""AppTest of lesson links: the Lab's settings go into a link, and a tab opened with it shows them.

A tab "opened with a link" is an AppTest whose query parameters are set before its first run (as a
browser's URL is when the tab loads); the page to open is then chosen with switch_page, which is
what the link's path does in a browser.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from page_helpers import APP
from streamlit.testing.v1 import AppTest

LAB = "app_pages/lab.py"
pytestmark = pytest.mark.usefixtures("lab_data_roots")
SIMPLE_VIEW_HIDES = ["lab_lr", "lab_batch", "lab_max_steps", "lab_custom_depth"]


def _open_link(query: dict[str, str], page: str = LAB, url: str | None = None) -> AppTest:
    """A new tab opened with a link: its query on the first run, then ``page``."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query)
    if url:
        at.context["url"] = url
    at.run()
    assert not at.exception, at.exception
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _lab_settings(at: AppTest) -> dict:
    return {"dataset": at.selectbox(key="lab_dataset").value, "family": at.radio(key="lab_family").value,
            "depths": at.multiselect(key="lab_depths_cifar").value, "custom": at.number_input(key="lab_custom_depth").value,
            "kind": at.radio(key="lab_kind").value, "recipe": at.radio(key="lab_recipe").value,
            "epochs": at.number_input(key="lab_epochs").value, "iterations": at.number_input(key="lab_max_steps").value,
            "seed": at.number_input(key="lab_seed").value}


def _keys(at: AppTest) -> set[str]:
    return {w.key for kind in ("number_input", "radio", "selectbox", "multiselect", "checkbox", "button")
            for w in at.get(kind) if getattr(w, "key", None)}


def test_the_link_of_the_labs_settings_opens_a_new_tab_with_the_same_settings():
    teacher = _open_link({}, url="http://10.1.2.3:8501/lab")
    teacher.selectbox(key="lab_dataset").set_value("cifar10").run()
    teacher.multiselect(key="lab_depths_cifar").set_value([20, 110]).run()
    teacher.number_input(key="lab_custom_depth").set_value(26).run()
    teacher.radio(key="lab_kind").set_value("residual").run()
    teacher.radio(key="lab_recipe").set_value("paper").run()
    teacher.number_input(key="lab_epochs").set_value(5).run()
    teacher.number_input(key="lab_max_steps").set_value(300).run()
    teacher.number_input(key="lab_seed").set_value(7).run()
    teacher.selectbox(key="lab_link_preset").set_value("fig6").run()
    assert not teacher.exception, teacher.exception
    settings = _lab_settings(teacher)
    link = teacher.code[-1].value
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "http://10.1.2.3:8501/lab", link
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    assert query["preset"] == "fig6" and query["depths"] == "20,26,110" and "view" not in query

    student = _open_link(query)
    assert _lab_settings(student) == settings
    assert student.button(key="lab_preset_fig6").proto.type == "primary"
    assert student.button(key="lab_preset_fig1").proto.type == "secondary"
    assert student.button(key="lab_start").proto.type == "secondary", "the lesson's preset is the one button in colour"
    assert any("This lesson: press **Fig. 6" in c.value for c in student.caption)
    assert student.button(key="lab_start").label == "Train 3 nets"  # 20, 26, 110, residual only


def test_the_link_sets_the_first_values_only_and_never_fights_the_students_changes():
    student = _open_link({"seed": "7", "depths": "20,32", "recipe": "paper"}, page="app_pages/degradation.py")
    student.switch_page(LAB).run()  # the link opened another page: the Lab is set up when the student gets there
    assert (student.number_input(key="lab_seed").value, student.multiselect(key="lab_depths_cifar").value,
            student.radio(key="lab_recipe").value) == (7, [20, 32], "paper")
    student.number_input(key="lab_seed").set_value(9).run()
    student.radio(key="lab_recipe").set_value("classroom").run()
    student.switch_page("app_pages/degradation.py").run()
    student.switch_page(LAB).run()
    assert not student.exception, student.exception
    assert (student.number_input(key="lab_seed").value, student.radio(key="lab_recipe").value) == (9, "classroom")


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_bad_values_are_one_warning_and_the_defaults(lang):
    query = {"preset": "fig99", "depths": "21", "seed": "abc", "epochs": "5", "lang": lang}
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(query)
    at.run()  # the tab opens on the home page: it says so there too
    assert not at.exception, at.exception
    opened = " ".join(w.value for w in at.warning)
    at.switch_page(LAB).run()
    assert not at.exception, at.exception
    told = [w.value for w in at.warning]
    assert len(told) == 1 and told[0] == opened
    if lang == "en":
        assert told[0].startswith("This lesson link has values the Lab cannot use, so it keeps its defaults for them:")
        assert "depth 21 is not 6n+2 (try 20 or 26)" in told[0] and "seed='abc' is not a whole number" in told[0]
        assert "preset='fig99'" in told[0]
    else:
        assert "깊이 21: 6n+2가 아닙니다" in told[0] and "seed='abc': 정수가 아닙니다" in told[0]
    assert at.multiselect(key="lab_depths_cifar").value == [20, 56] and at.number_input(key="lab_seed").value == 0
    assert at.number_input(key="lab_epochs").value == 5, "the good value still applies"
    assert all(b.proto.type == "secondary" for b in at.button if b.key and b.key.startswith("lab_preset_"))
    at.number_input(key="lab_epochs").set_value(4).run()
    assert not at.warning, "told once on the Lab"


def test_simple_view_hides_the_advanced_controls_and_keeps_the_links_values():
    at = _open_link({"view": "simple", "depths": "20,26", "iterations": "40", "preset": "fig1_fix"})
    keys = _keys(at)
    assert not keys & {*SIMPLE_VIEW_HIDES, "lab_family", "lab_device", "lab_compile", "lab_link_page"}, keys
    assert {"lab_dataset", "lab_depths_cifar", "lab_kind", "lab_recipe", "lab_epochs", "lab_seed", "lab_start",
            "lab_preset_fig1_fix"} <= keys
    labels = [e.label for e in at.expander]
    assert not any("Real data sets" in label or "Advanced" in label or "lesson's link" in label for label in labels)
    assert at.button(key="lab_start").label == "Train 4 nets", "the hidden custom depth 26 still counts"
    assert not any(c.value.startswith("Batch ") for c in at.caption), "the defaults are filled in without a word"

    full = _open_link({"depths": "20,26"})
    assert set(SIMPLE_VIEW_HIDES) <= _keys(full) and "lab_family" in _keys(full)
    assert any("lesson's link" in e.label for e in full.expander)


def test_the_link_panel_offers_a_simple_view_and_warns_about_a_local_address():
    at = _open_link({}, url="http://localhost:8501/lab")
    at.checkbox(key="lab_link_simple").check().run()
    at.selectbox(key="lab_link_page").set_value("degradation").run()
    link = at.code[-1].value
    assert link.startswith("http://localhost:8501/degradation?") and link.endswith("&view=simple")
    assert any("works on this computer only" in c.value for c in at.caption)
    at.radio(key="lang").set_value("ko").run()
    assert not at.exception, at.exception
    assert at.code[-1].value.endswith("&view=simple&lang=ko"), "a Korean class's link opens in Korean"
