"""ResNet Lab: `streamlit run app.py`.

The entry point builds the navigation and the sidebar every page shares: the language
switch, the compute device and the runs now training. Pages live in app_pages/ and stay thin:
each draws its sections in order, with its longer prose in app_pages/text/.
"""

# Imported first, in the main thread: two tabs importing them at once inside fragments
# raced in Streamlit 1.67 ("partially initialized module 'pandas'": plotly looks pandas up while another
# session is still importing it).
import pandas  # noqa: F401
import plotly.graph_objects  # noqa: F401
import streamlit as st
import torch  # noqa: F401
from streamlit.errors import FragmentHandledException

from app_pages.lab_sections.lesson import open_lesson_link
from resnet_edu import devices, words
from resnet_edu.runs import StoreDamaged
from ui import (LANGUAGES, get_manager, language, open_server_warning_ui, paced_redraw, prepare_data, report_error,
                resend_choices, t, teacher_sidebar)

st.set_page_config(page_title="ResNet Lab", page_icon="🧱", layout="wide")

if language() == "ko":  # settles this tab's language before any page text is drawn
    # Korean breaks lines between any two syllables by default, which leaves one-syllable orphans in
    # titles and cuts labels in narrow columns mid-word; break headings and widget labels between
    # words only, as Korean typesetting does.
    st.html("<style>h1, h2, h3, [data-testid='stWidgetLabel'] p "
            "{ word-break: keep-all; overflow-wrap: break-word; }</style>")
with st.sidebar:
    st.radio("Language / 언어", list(LANGUAGES), format_func=LANGUAGES.get, key="lang", horizontal=True,
             on_change=resend_choices)
    teacher_sidebar()

# The home page is served at "/" only (Streamlit gives the default page no other URL), so the same page
# is also a hidden page at /paper. Links and switches to "app_pages/paper.py" find the home page first.
PAPER_TITLE = t("The paper", "논문")
PAGES = [
    st.Page("app_pages/paper.py", title=PAPER_TITLE, icon="📄", default=True, url_path="home"),
    st.Page("app_pages/paper.py", title=PAPER_TITLE, icon="📄", url_path="paper", visibility="hidden"),
    st.Page("app_pages/lab.py", title=t("Lab", "실험실"), icon="🧪", url_path="lab"),
    st.Page("app_pages/degradation.py", title=t("Degradation", "성능 저하"), icon="📉", url_path="degradation"),
    st.Page("app_pages/architecture.py", title=t("Architecture", "구조"), icon="🏗️", url_path="architecture"),
    st.Page("app_pages/gradients.py", title=t("Gradients", "기울기"), icon="🌊", url_path="gradients"),
    st.Page("app_pages/features.py", title=t("Features", "특징 맵"), icon="🔍", url_path="features"),
    st.Page("app_pages/lesion.py", title=t("Lesion study", "블록 제거 실험"), icon="✂️", url_path="lesion"),
    st.Page("app_pages/landscape.py", title=t("Loss landscape", "손실 지형"), icon="🏔️", url_path="landscape"),
]
page = st.navigation(PAGES)
open_server_warning_ui()  # served beyond this computer without a passcode: the teacher must say it is meant
open_lesson_link(page.url_path)  # a lesson link (?preset=…&depths=…&view=simple) sets up the Lab when a tab opens

try:
    manager = get_manager()
except StoreDamaged as error:  # runs.sqlite is damaged and could not even be moved aside
    st.error(str(error), icon="🛑")
    st.stop()
if manager.store.damage_report:  # damaged (set aside, or left to other programs), or deleted while in use
    with st.sidebar:
        st.warning(t(manager.store.damage_report,
                     f"실행 기록 파일(runs.sqlite)에 문제가 생겨 다음과 같이 처리했습니다: "
                     f"{manager.store.damage_report}"), icon="⚠️")

prepare_data()  # the built-in data set, loaded by the training process while the teacher reads


# The sidebar's poll: every 2 s while runs train; every 0.5 s while a run waits for its first
# iteration (it is committed about 1.5 s after the click: the page then redraws at once, instead
# of at its chart's next refresh); and, while nothing trains, one store read every 5 s, so a tab
# opened before a comparison starts (a student's) notices it and redraws the page.
TRAINING_POLL_SECONDS, STARTING_POLL_SECONDS, IDLE_POLL_SECONDS = 2.0, 0.5, 5.0


def _runs_now() -> dict[str, tuple[str, bool]]:
    """run id -> (status, has an iteration in the store) of every run training or queued: one read."""
    active = manager.active_runs()
    versions = manager.store.versions(active) if active else {}
    return {run_id: (versions[run_id][0], bool(versions[run_id][2])) for run_id in active if run_id in versions}


def _redraw_page(at_draw: dict[str, tuple[str, bool]], now: dict[str, tuple[str, bool]]) -> bool:
    """Should the whole page be drawn again? When a run started or ended, one went from queued to
    running, or every run that waited for its first iteration at the last draw now has it."""
    if now.keys() != at_draw.keys() or any(now[run_id][0] != at_draw[run_id][0] for run_id in now):
        return True
    waiting = [run_id for run_id, (status, stepped) in at_draw.items() if status == "running" and not stepped]
    return bool(waiting) and all(now[run_id][1] for run_id in waiting)


runs_at_draw = _runs_now()
starting = any(status == "running" and not stepped for status, stepped in runs_at_draw.values())


@st.fragment(run_every=STARTING_POLL_SECONDS if starting else TRAINING_POLL_SECONDS if runs_at_draw
             else IDLE_POLL_SECONDS)
def running_jobs_sidebar() -> None:
    """Runs now training, with progress. When a run starts, gets its first iteration or ends,
    the whole page is drawn again (new runs in the pickers, first points, final results)."""
    with paced_redraw(runs_train=bool(runs_at_draw)):
        _training_now()


def _training_now() -> None:
    """The device, then each run training now with its progress bar."""
    runs_now = _runs_now()
    if _redraw_page(runs_at_draw, runs_now):
        st.rerun()
    active = list(runs_now)
    st.caption(t(f"Device: **{manager.device_label}**", f"장치: **{devices.label_in('ko', manager.device_label)}**"))
    if not active:
        st.caption(t("No run is training.", "학습 중인 실행이 없습니다."))
        return
    st.markdown(t(f"**Training now ({len(active)})**", f"**학습 중 ({len(active)})**"))
    for run_id in active:
        progress = manager.progress(run_id)
        label = f"{progress['name']} · {words.status_word(progress['status'], language())}"
        st.progress(min(1.0, progress["fraction"]), text=label)


with st.sidebar:
    running_jobs_sidebar()

try:
    page.run()
except FragmentHandledException:  # a fragment's error: Streamlit has shown it (client.showErrorDetails) and logged it
    raise
except Exception as error:  # st.rerun and st.stop are not Exceptions: they pass through
    report_error(error)  # a student reads a short message and an id; the traceback goes to the server log
