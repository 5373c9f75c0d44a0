"""Past runs: their table, Resume from the last checkpoint, and the teacher's Delete and Archive."""

from __future__ import annotations

import sqlite3

import pandas as pd
import streamlit as st

from app_pages.lab_sections.access import may_control, resume_run, teacher_only
from app_pages.text import lab as text
from resnet_edu import words
from resnet_edu.engine.groups import RESUMABLE_STATUSES
from resnet_edu.runs import ACTIVE_STATUSES, RunNotFound
from resnet_edu.runs.disk import describe_write_error
from resnet_edu.sharing.packs import provenance_line
from resnet_edu.words import message_words
from ui import get_manager, language, md_escape, t, teacher_unlocked, without_paths

PAST_RUNS_SHOWN = 100
RESUME_BUTTONS_SHOWN = 8


def past_runs_ui() -> None:
    manager = get_manager()
    store = manager.store
    runs = store.list_runs()
    lang = language()
    past = runs[~runs["run_id"].isin(manager.active_runs())].head(PAST_RUNS_SHOWN)
    if past.empty:
        return
    st.subheader(t("Past runs", "지난 실행"))
    failed = past[(past["status"] == "failed") & past["message"].fillna("").ne("")]
    latest_group = runs["group_id"].iloc[0]
    for row in failed[failed["group_id"] == latest_group].itertuples(index=False):
        st.error(t(f"{md_escape(row.name)} failed: {without_paths(row.message)}",
                   f"{md_escape(row.name)} 실패: {message_words(without_paths(row.message), 'ko')}"),
                 icon="⚠️")
    table = pd.DataFrame({
        t("run", "실행"): past["name"],
        t("status", "상태"): past["status"].map(lambda s: words.status_word(s, lang)),
        t("iterations", "반복"): [f"{d:,}/{int(tot):,}" if pd.notna(tot) else f"{d:,}"
                                 for d, tot in zip(past["steps_done"], past["total_steps"])],
        t("data", "데이터"): [words.dataset_word(c.get("dataset", ""), lang) for c in past["config"]],
        t("started", "시작"): past["created_at"].map(words.clock_label),
        t("message", "메시지"): past["message"].fillna("").map(lambda message: message_words(without_paths(message), lang)),
        t("run id", "실행 ID"): past["run_id"],  # what `python -m resnet_edu runs …` asks for
    })
    if past["imported"].notna().any():  # runs opened from a class pack: who trained them, where
        table.insert(len(table.columns) - 1, t("from a class pack", "수업 팩에서"), [
            provenance_line(i.get("trained_by"), lang) if isinstance(i, dict) else "" for i in past["imported"]])
    st.dataframe(table, hide_index=True, width="stretch")
    # A class pack's runs stay as they were trained: never offered to resume.
    resumable = past[past["status"].isin(RESUMABLE_STATUSES) & past["imported"].isna()].head(RESUME_BUTTONS_SHOWN * 3)
    shown = 0
    error = st.session_state.pop("lab_resume_error", None)
    if error:
        st.error(message_words(error, lang))
    for row in resumable.itertuples(index=False):
        if shown >= RESUME_BUTTONS_SHOWN or store.latest_checkpoint(row.run_id) is None:
            continue
        shown += 1
        left, right = st.columns([5, 1])
        started = words.clock_label(row.created_at)
        left.markdown(t(f"**{md_escape(row.name)}** (started {started}) was {words.status_word(row.status)} at "
                        f"iteration {row.steps_done:,}: continue from its last checkpoint.",
                        f"**{md_escape(row.name)}**({started} 시작)은(는) 반복 {row.steps_done:,}에서 "
                        f"{words.status_word(row.status, 'ko')}: 마지막 체크포인트부터 이어서 학습합니다."))
        allowed = may_control(row.run_id)
        right.button(t("Resume", "이어서 학습"), key=f"lab_resume_{row.run_id}", width="stretch",
                     on_click=resume_run, args=(row.run_id,), disabled=not allowed,
                     help=None if allowed else t("Only the teacher, or the tab that started it, can resume this run.",
                                                 "이 실행은 교사나 시작한 탭만 이어서 학습할 수 있습니다."))
    delete_ui(past)
    archive_ui()


def _delete(run_ids: tuple[str, ...]) -> None:
    """on_click of Delete: teacher only (checked again here); running runs are never deleted."""
    if not teacher_unlocked():
        st.session_state["lab_delete_note"] = ("error", teacher_only())
        return
    manager = get_manager()
    deleted = 0
    for run_id in run_ids:
        try:
            if manager.is_active(run_id) or manager.store.get_run(run_id)["status"] in ACTIVE_STATUSES:
                continue
            manager.store.delete_run(run_id)
            deleted += 1
        except RunNotFound:
            continue
    st.session_state["lab_delete_pick"] = []
    st.session_state["lab_delete_sure"] = False
    st.session_state["lab_delete_note"] = ("success", t(f"Deleted {deleted} run(s).", f"실행 {deleted}개를 지웠습니다."))


def delete_ui(past: pd.DataFrame) -> None:
    """Delete finished runs (teacher only): their curves, events and checkpoints go for good."""
    deletable = past[~past["status"].isin(ACTIVE_STATUSES)]
    teacher = teacher_unlocked()
    with st.expander(t("Delete runs (teacher)", "실행 삭제 (교사)")):
        if not teacher:
            st.caption(teacher_only())
        choices = {row.run_id: f"{row.name} · {words.status_word(row.status, language())} · {row.run_id}"
                   for row in deletable.itertuples(index=False)}
        picked = st.session_state.get("lab_delete_pick")
        if picked and not set(picked) <= set(choices):  # deleted meanwhile (another tab)
            st.session_state["lab_delete_pick"] = [r for r in picked if r in choices]
        chosen = st.multiselect(t("Runs to delete", "지울 실행"), list(choices), format_func=choices.get,
                                key="lab_delete_pick", disabled=not teacher)
        sure = st.checkbox(t("Yes, delete their curves and checkpoints for good",
                             "네, 곡선과 체크포인트를 완전히 지웁니다"), key="lab_delete_sure", disabled=not teacher)
        st.button(t("Delete", "삭제"), key="lab_delete", on_click=_delete, args=(tuple(chosen),),
                  disabled=not (teacher and chosen and sure))
        note = st.session_state.pop("lab_delete_note", None)
        if note:
            (st.success if note[0] == "success" else st.error)(note[1])


def _archive(older_than_days: float, keep_last: int) -> None:
    """on_click of Archive: teacher only (checked again here); only ended runs move."""
    if not teacher_unlocked():
        st.session_state["lab_archive_note"] = ("error", teacher_only())
        return
    store = get_manager().store
    run_ids = store.prune_candidates(older_than_days=older_than_days, keep_last=keep_last)
    try:
        folder = store.archive_runs(run_ids) if run_ids else None
    except (ValueError, OSError, sqlite3.Error) as error:  # nothing is deleted unless it was copied first
        st.session_state["lab_archive_note"] = ("error", describe_write_error(error, store.root, "try again"))
        return
    st.session_state["lab_archive_sure"] = False
    st.session_state["lab_archive_note"] = ("success", t(f"Moved {len(run_ids)} run(s) to {folder}.",
                                                         f"실행 {len(run_ids)}개를 {folder}(으)로 옮겼습니다."))


def archive_ui() -> None:
    """Move old ended runs out of the store (teacher only): a term of runs stays fast to browse."""
    teacher = teacher_unlocked()
    with st.expander(t("Archive old runs (teacher)", "오래된 실행 보관 (교사)")):
        if not teacher:
            st.caption(teacher_only())
        left, right = st.columns(2)
        days = left.number_input(t("Older than (days)", "며칠보다 오래된"), min_value=0, max_value=3650, value=90,
                                 step=7, key="lab_archive_days", disabled=not teacher)
        keep = right.number_input(t("Always keep the newest", "항상 남길 최신 실행 수"), min_value=0, max_value=10_000,
                                  value=20, step=5, key="lab_archive_keep", disabled=not teacher)
        count = len(get_manager().store.prune_candidates(older_than_days=days, keep_last=keep))
        st.caption(t(**text.archive_note(count)))
        sure = st.checkbox(t("Yes, move them out of the Lab", "네, 실험실에서 옮깁니다"), key="lab_archive_sure",
                           disabled=not teacher)
        st.button(t("Archive", "보관"), key="lab_archive", on_click=_archive, args=(float(days), int(keep)),
                  disabled=not (teacher and count and sure))
        note = st.session_state.pop("lab_archive_note", None)
        if note:
            (st.success if note[0] == "success" else st.error)(note[1])
