"""Who may do what in the Lab: the teacher (or anyone, without a passcode) controls every run,
a student the runs their own tab started (kept server-wide by ui.claim / ui.may_act_on)."""

from __future__ import annotations

import streamlit as st

from app_pages.text import lab as text
from ui import claim, get_manager, may_act_on, t, teacher_unlocked


def remember(run_ids) -> None:
    """Note runs this tab started or resumed: its student may stop, switch and resume them."""
    claim(run_ids)


def may_control(run_id: str) -> bool:
    """The teacher (or anyone, when no passcode is set) may control any run; a student only their own."""
    return may_act_on(run_id)


def teacher_only() -> str:
    """The message of a control that only the teacher may use."""
    return t(**text.TEACHER_ONLY)


def stop_run(run_id: str) -> None:
    """on_click of a run's Stop: checked again here, not only by the button's disabled state."""
    if may_control(run_id):
        get_manager().stop(run_id)
    else:
        st.session_state["lab_toggle_error"] = teacher_only()


def resume_run(run_id: str) -> None:
    """on_click of a past run's Resume: its owner or the teacher (checked again here, not only by the
    button's disabled state); the tab that resumes it owns it from then on."""
    if not may_control(run_id):
        st.session_state["lab_resume_error"] = teacher_only()
        return
    try:
        get_manager().resume(run_id)
    except (ValueError, KeyError) as error:
        st.session_state["lab_resume_error"] = str(error)
    else:
        remember([run_id])


def stop_every_run() -> None:
    """on_click of Stop all: teacher only (checked again here)."""
    if teacher_unlocked():
        get_manager().stop_all()
    else:
        st.session_state["lab_toggle_error"] = teacher_only()

