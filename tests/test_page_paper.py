"""AppTest for the home page: the story of the paper, in English and Korean."""

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

# conftest.py's autouse fixture gives every test its own RESNET_EDU_RUNS_DIR and clears
# st.cache_resource afterwards (which stops the JobManager).
APP = str(Path(__file__).resolve().parents[1] / "app.py")

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _open(lang: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    at.switch_page("app_pages/paper.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_paper_page_tells_the_story(lang):
    at = _open(lang)
    headers = [h.value for h in at.header]
    assert len(headers) >= 9
    if lang == "ko":
        assert all(HANGUL.search(h) for h in headers), headers
        assert "잔차 학습" in " ".join(headers)
    else:
        assert "The degradation problem" in " ".join(headers)

    # The ILSVRC chart: 6 years, ResNet with 152 layers and 3.57% top-5 error.
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    bars, line = spec["data"][0], spec["data"][1]
    assert len(set(bars["customdata"])) == 6 and sorted(set(bars["customdata"]))[-1] == 2015
    assert 152 in bars["y"] and 3.57 in line["y"]
    assert "152" in bars["text"][-1] and "3.57%" in line["text"][-1]

    # Formulas, traced diagrams and the faithful vanishing-gradient statement.
    latex = " ".join(element.value for element in at.latex)
    assert r"\mathcal{H}(\mathbf{x}) - \mathbf{x}" in latex and r"W_s" in latex
    dots = [element.proto.spec for element in at.get("graphviz_chart")]
    assert len(dots) == 3 and all('"add"' in dot for dot in dots)
    assert '"conv3"' not in dots[1] and '"conv3"' in dots[2]  # Fig. 5: basic block beside a bottleneck
    caution = " ".join(info.value for info in at.info)
    assert ("healthy norms" in caution) if lang == "en" else ("기울기 소실" in caution)

    # Every claim links to a page where students can see it.
    linked = {element.proto.page for element in at.get("page_link")}
    for page in ("lab", "degradation", "architecture", "gradients", "features", "lesion", "landscape"):
        assert any(page in target for target in linked), (page, linked)

    assert [m.value for m in at.metric][:2] == ["3.57%", "152 layers" if lang == "en" else "152층"]


def _markdown(at: AppTest) -> str:
    return " ".join(element.value for element in at.markdown) + " ".join(element.value for element in at.caption)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_paper_page_facts_a_teacher_checks(lang):
    at = _open(lang)
    text = _markdown(at)
    # The data: all 50k training images, tested on the 10k test images; 45k/5k only chose the schedule.
    tables = [frame.value for frame in at.dataframe]
    recipe_table = next(frame for frame in tables if "CIFAR-10" in frame.columns and "ImageNet" in frame.columns)
    cifar = " ".join(recipe_table["CIFAR-10"].astype(str))
    if lang == "en":
        assert "all 50k training images" in cifar and "10k test images" in cifar
        assert "45k / 5k split only chose the schedule" in cifar and "per-pixel mean" in cifar
        assert "45k train / 5k validation" not in cifar
        assert "(Fig. 6's caption)" in text  # plain-110 above 60% comes from Fig. 6, not Fig. 1
        assert "two simple design rules" in text  # two rules, 3×3 convolutions named apart
    else:
        assert "50k장 전부" in cifar and "픽셀별 평균" in cifar
    # ResNet-152's headline single-model top-5 is Table 4's 4.49%; 5.71% is the 10-crop figure.
    top5 = next(m for m in at.metric if "ResNet-152 top-5" in m.label)
    assert top5.value == "4.49%" and "5.71%" in top5.proto.help and ("Table 4" in top5.proto.help or "표 4" in top5.proto.help)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_ilsvrc_metric_is_a_green_drop_in_both_languages(lang):
    at = _open(lang)
    metric = at.metric[0]
    assert metric.proto.delta.startswith("-3.1")
    assert metric.proto.color == metric.proto.MetricColor.GREEN
    assert metric.proto.direction == metric.proto.MetricDirection.DOWN


def test_the_landscape_item_links_to_the_landscape_page():
    at = _open("en")
    assert any("landscape" in element.proto.page for element in at.get("page_link"))


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_teacher_sees_where_to_start(lang):
    at = _open(lang)
    start = next(m.value for m in at.markdown if m.value.startswith(("**Start here**", "**여기서 시작하세요**")))
    steps = " ".join(m.value for m in at.markdown if m.value.startswith(("1. ", "2. ")))
    assert ("Fig. 1 + the fix" if lang == "en" else "그림 1 + 해법") in steps, (start, steps)
    pages = [element.proto.page for element in at.get("page_link")]
    assert pages[:2] == ["lab", "degradation"]  # first the Lab, then Degradation (the pages' URLs)
