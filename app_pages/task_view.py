"""A task of the training process on a page: find it in the store, start it once, show its progress
with a Stop button, its error or its stop, in both languages. The result is the page's to draw."""

from __future__ import annotations

import streamlit as st

from resnet_edu.runs import ACTIVE_STATUSES
from resnet_edu.words import message_words
from ui import (
    get_manager,
    get_store,
    md_escape,
    owners,
    refusal_words,
    stop_job_button,
    submit_job,
    t,
    tab_key,
    without_paths,
)


def job_with_key(store, kind: str, key: str) -> tuple[str | None, str | None]:
    """(id, status) of the newest job of ``kind`` whose parameters carry ``key`` (whichever tab started it),
    or (None, None)."""
    jobs = store.list_analyses(kind=kind)
    for job_id, params, status in zip(jobs["job_id"], jobs["params"], jobs["status"]):
        if params.get("key") == key:
            return str(job_id), str(status)
    return None, None


@st.cache_resource(max_entries=16, show_spinner=False)
def ended_job(job_id: str) -> dict | None:
    """A job that has ended (finished, failed or stopped), read and parsed once per server: it never changes
    again, and a result of several 224-pixel maps is worth not parsing at every page run. Read-only."""
    return get_store().get_analysis(job_id)


def replace_own_job(slot: str, job_id: str) -> None:
    """Remember ``job_id`` as this tab's job in ``slot``; stop the one it replaces if this tab started it and
    it is still queued or running (a student moving on to another image should not leave a queue of views
    nobody will see; a view another tab started, and may still be watching, is left alone)."""
    previous = st.session_state.get(slot)
    st.session_state[slot] = job_id
    if previous is None or previous == job_id or not owners().owns(tab_key(), previous):
        return
    job = get_store().get_analysis(previous)
    if job is not None and job["status"] in ACTIVE_STATUSES:
        get_manager().stop_analysis(previous)


def submit_ui(kind: str, params: dict, run_ids: list[str] = ()) -> str | None:
    """Start a task in the training process for this tab (through the caps on waiting jobs; its Stop is this
    tab's); its id, or None after saying why it could not start, in the reader's language."""
    try:
        return submit_job(kind, params, run_ids)
    except (ValueError, RuntimeError) as error:  # admission.NotAdmitted is a ValueError
        st.error(t("Could not start: ", "시작할 수 없습니다: ") + md_escape(refusal_words(error)))
        return None


def status_ui(job: dict, stop_key: str, working: tuple[str, str], failed: tuple[str, str],
              stopped: tuple[str, str]) -> None:
    """Progress and Stop while ``job`` is queued or running; its reason when it failed; a note when stopped.

    Args:
        working: (English, Korean) words for the progress bar, e.g. "computing the views" in both languages.
        failed: (English, Korean) start of the error line; the job's reason follows.
        stopped: (English, Korean) what a stopped job still shows.
    """
    status = job["status"]
    if status in ACTIVE_STATUSES:
        fraction = min(1.0, max(0.0, float(job.get("fraction") or 0.0)))
        label = (t("queued behind other work in the training process", "학습 프로세스에서 차례를 기다리는 중")
                 if status == "queued" else f"{t(*working)}… {fraction:.0%}")
        cols = st.columns([5, 1])
        cols[0].progress(fraction, text=label)
        stop_job_button(cols[1], job["job_id"], stop_key)  # the tab that started it, or the teacher
    elif status == "failed":
        reason = without_paths(job.get("message"))  # a student reads no server path
        st.error(t(f"{failed[0]}: {md_escape(reason)}", f"{failed[1]}: {md_escape(message_words(reason, 'ko'))}"))
    elif status == "stopped":
        st.warning(t(*stopped), icon="⏹️")
