"""Streamlit helpers shared by app.py and every page (the library, resnet_edu/, has none).

* ``t(en, ko)`` picks the text of the language chosen in the sidebar: every page writes its
  strings in both languages side by side, so a translation is never far from its use.
* ``get_manager()`` is the one process-wide JobManager (and through it the RunStore):
  every tab and every page sees the same runs.
"""

from __future__ import annotations

import os

import streamlit as st

LANGUAGES = {"en": "English", "ko": "한국어"}
DEFAULT_LANGUAGE = os.environ.get("RESNET_EDU_LANG", "en") if os.environ.get("RESNET_EDU_LANG") in LANGUAGES else "en"


def language() -> str:
    """The language of this tab: the sidebar switch, else ?lang=ko in the URL, else the default."""
    if "lang" not in st.session_state:
        from_url = st.query_params.get("lang")
        st.session_state["lang"] = from_url if from_url in LANGUAGES else DEFAULT_LANGUAGE
    return st.session_state["lang"]


def t(en: str, ko: str) -> str:
    """The English or Korean text, whichever this tab reads."""
    return ko if language() == "ko" else en


def _shutdown(manager) -> None:
    manager.shutdown()


@st.cache_resource(show_spinner=False, on_release=_shutdown)
def get_manager():
    """The JobManager shared by every session of this server process (threads, queue, store)."""
    from resnet_edu.jobs import JobManager

    manager = JobManager()
    import atexit

    atexit.register(manager.shutdown)
    return manager


def get_store():
    return get_manager().store


def teacher_unlocked() -> bool:
    """True when no passcode is configured, or this tab entered the right one."""
    passcode = os.environ.get("RESNET_EDU_TEACHER_PASSCODE", "")
    return not passcode or st.session_state.get("teacher_passcode") == passcode
