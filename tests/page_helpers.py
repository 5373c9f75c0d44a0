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


def browser_sends(at: AppTest, key: str, labels) -> None:
    """At the next run, the select box or multiselect ``key`` reports ``labels``, as a browser does: the
    words it shows, which may be older than the page's current options (the page changed them since)."""
    from streamlit.runtime.state.common import TESTING_KEY

    widget = at.multiselect(key=key) if isinstance(labels, list) else at.selectbox(key=key)
    if not isinstance(labels, list) and labels not in widget.options:
        widget.options.append(labels)  # the browser still lists a run that is gone from the page's options
    widget.set_value(labels)
    at.session_state[TESTING_KEY][widget.id] = str  # the labels go out as they are


def end_runs_while_open(page: str, folder, run_ids: list[str], ending: str, pickers: dict[str, str],
                        click, lang: str = "en") -> AppTest:
    """Open ``page`` while ``run_ids`` train, end them as ``ending`` says (finished, stopped, failed, or
    the last one deleted), then click as a student would, with the browser still showing the old
    choices (``pickers``: widget key -> "select" or "multi"), and switch the language. Asserts that
    nothing raised and that no picker calls a run "training"; returns the AppTest."""
    from resnet_edu.runs import RunStore

    store = RunStore(folder)
    try:
        for run_id in run_ids:
            store.set_status(run_id, "running")
    finally:
        store.close()
    at = open_page(page, lang)
    shown = {key: list(at.multiselect(key=key).values) if kind == "multi" else _shown(at.selectbox(key=key))
             for key, kind in pickers.items()}
    store = RunStore(folder)
    try:
        if ending == "deleted":
            store.delete_run(run_ids[-1])
        for run_id in run_ids[: -1 if ending == "deleted" else None]:
            store.set_status(run_id, "finished" if ending == "deleted" else ending)
    finally:
        store.close()
    at.run()  # the page's next run sees the end
    assert not at.exception, at.exception
    for key, labels in shown.items():
        if labels is not None:
            browser_sends(at, key, labels)
    click(at)
    at.run()
    assert not at.exception, at.exception
    at.radio(key="lang").set_value("ko" if lang == "en" else "en").run()  # the sidebar's language switch
    assert not at.exception, at.exception
    for key, kind in pickers.items():
        widget = at.multiselect(key=key) if kind == "multi" else at.selectbox(key=key)
        words = " ".join(str(option) for option in widget.options)
        assert "training" not in words and "학습 중" not in words
    return at


def _shown(selectbox) -> str | None:
    """The label a select box shows for its choice (None when nothing is chosen)."""
    value = selectbox.value
    return None if value is None else selectbox.format_func(value)
