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
    for page in ("lab", "degradation", "architecture", "gradients", "features", "lesion"):
        assert any(page in target for target in linked), (page, linked)

    assert [m.value for m in at.metric][:2] == ["3.57%", "152 layers" if lang == "en" else "152층"]
