"""Reading a page in an AppTest: open it in a language, and get its charts and texts back.

A helper module, not a test module: page tests import it (pytest puts tests/ on the path).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_page(page: str, lang: str = "en") -> AppTest:
    """The app in ``lang``, switched to ``page`` (e.g. "app_pages/lab.py"); asserts it raised nothing."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def app_manager():
    """The cached JobManager that the AppTest's scripts use (the same object: one process)."""
    from ui import get_manager

    return get_manager()


def charts(at: AppTest) -> list[dict]:
    """Every Plotly chart on the page, as its JSON spec."""
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def values(array) -> list:
    """A plotly array from a chart spec: a plain list, or plotly 7's typed array {"dtype", "bdata"}."""
    if isinstance(array, dict) and "bdata" in array:
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def texts(at: AppTest) -> str:
    """The page's prose: markdown, captions, infos, metric labels, subheaders and titles, one per line."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    parts += [m.label for m in at.metric] + [s.value for s in at.subheader] + [t.value for t in at.title]
    return "\n".join(parts)


def tiny_lab_settings(at: AppTest, max_steps: int) -> None:
    """On the Lab page: one epoch of at most ``max_steps`` iterations on batches of 8 (the runs stay tiny)."""
    at.number_input(key="lab_epochs").set_value(1)
    at.number_input(key="lab_max_steps").set_value(max_steps)
    at.number_input(key="lab_batch").set_value(8)
    at.run()
    assert not at.exception, at.exception


def browser_sends(at: AppTest, key: str, labels: list[str]) -> None:
    """At the next run, the multiselect ``key`` reports ``labels``, as a browser does: the words it shows,
    which may be older than the page's current options (the page changed them since it was drawn)."""
    from streamlit.runtime.state.common import TESTING_KEY

    widget = at.multiselect(key=key)
    widget.set_value(list(labels))
    at.session_state[TESTING_KEY][widget.id] = str  # the labels go out as they are
