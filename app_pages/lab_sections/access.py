"""Who may do what in the Lab: the teacher (or anyone, without a passcode) controls every run,
a student the runs their own tab started."""

from __future__ import annotations

import streamlit as st

from app_pages.text import lab as text
from ui import get_manager, t, teacher_unlocked

MINE_KEY = "lab_my_runs"  # run ids this tab started or resumed: its owner may stop them


def _mine() -> set[str]:
    return set(st.session_state.get(MINE_KEY, []))


def remember(run_ids) -> None:
    """Note runs this tab started or resumed: its student may stop them."""
    st.session_state[MINE_KEY] = sorted(_mine() | set(run_ids))


def may_control(run_id: str) -> bool:
    """The teacher (or anyone, when no passcode is set) may stop any run; a student only their own."""
    return teacher_unlocked() or run_id in _mine()


def teacher_only() -> str:
    """The message of a control that only the teacher may use."""
    return t(**text.TEACHER_ONLY)


def stop_run(run_id: str) -> None:
    """on_click of a run's Stop: checked again here, not only by the button's disabled state."""
    if may_control(run_id):
        get_manager().stop(run_id)
    else:
        st.session_state["lab_toggle_error"] = teacher_only()


def stop_every_run() -> None:
    """on_click of Stop all: teacher only (checked again here)."""
    if teacher_unlocked():
        get_manager().stop_all()
    else:
        st.session_state["lab_toggle_error"] = teacher_only()

