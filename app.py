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

from resnet_edu import devices
from resnet_edu.runs import StoreDamaged
from ui import LANGUAGES, get_manager, language, prepare_data, resend_choices, t, teacher_sidebar

st.set_page_config(page_title="ResNet Lab", page_icon="🧱", layout="wide")

language()  # settle this tab's language before any page text is drawn
with st.sidebar:
    st.radio("Language / 언어", list(LANGUAGES), format_func=LANGUAGES.get, key="lang", horizontal=True,
             on_change=resend_choices)
    teacher_sidebar()

PAGES = [
    st.Page("app_pages/paper.py", title=t("The paper", "논문"), icon="📄", default=True, url_path="paper"),
    st.Page("app_pages/lab.py", title=t("Lab", "실험실"), icon="🧪", url_path="lab"),
    st.Page("app_pages/degradation.py", title=t("Degradation", "성능 저하"), icon="📉", url_path="degradation"),
    st.Page("app_pages/architecture.py", title=t("Architecture", "구조"), icon="🏗️", url_path="architecture"),
    st.Page("app_pages/gradients.py", title=t("Gradients", "기울기"), icon="🌊", url_path="gradients"),
    st.Page("app_pages/features.py", title=t("Features", "특징 맵"), icon="🔍", url_path="features"),
    st.Page("app_pages/lesion.py", title=t("Lesion study", "블록 제거 실험"), icon="✂️", url_path="lesion"),
    st.Page("app_pages/landscape.py", title=t("Loss landscape", "손실 지형"), icon="🏔️", url_path="landscape"),
]
page = st.navigation(PAGES)

try:
    manager = get_manager()
except StoreDamaged as error:  # runs.sqlite is damaged and could not even be moved aside
    st.error(str(error), icon="🛑")
    st.stop()
if manager.store.damage_report:  # set aside at start-up: say where the old file is kept
    with st.sidebar:
        st.warning(t(manager.store.damage_report,
                     f"실행 기록 파일이 손상되어 따로 보관하고 읽을 수 있는 것을 새 파일로 옮겼습니다: "
                     f"{manager.store.damage_report}"), icon="⚠️")

prepare_data()  # the built-in data set, loaded by the training process while the teacher reads


polling = bool(manager.active_runs())


@st.fragment(run_every=2.0 if polling else None)
def running_jobs_sidebar() -> None:
    """Runs now training, with progress; refreshes itself only while something runs."""
    active = manager.active_runs()
    if polling and not active:
        st.rerun()  # the last run ended: redraw the page with final results and stop polling
    st.caption(t(f"Device: **{manager.device_label}**", f"장치: **{devices.label_in('ko', manager.device_label)}**"))
    if not active:
        st.caption(t("No run is training.", "학습 중인 실행이 없습니다."))
        return
    st.markdown(t(f"**Training now ({len(active)})**", f"**학습 중 ({len(active)})**"))
    for run_id in active:
        progress = manager.progress(run_id)
        label = f"{progress['name']} · {progress['status']}"
        st.progress(min(1.0, progress["fraction"]), text=label)


with st.sidebar:
    running_jobs_sidebar()

page.run()
