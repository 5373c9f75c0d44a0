"""The runs training now: a card per run with its progress, Stop, and the live shortcut switches."""

from __future__ import annotations

import streamlit as st

from app_pages.lab_sections import REFRESH_SECONDS
from app_pages.lab_sections.access import may_control, stop_every_run, stop_run, teacher_only
from app_pages.text import lab as text
from resnet_edu import devices, words
from resnet_edu.runs import ACTIVE_STATUSES
from resnet_edu.words import message_words
from ui import get_manager, language, md_escape, paced_redraw, t, teacher_unlocked, without_paths


def _apply_shortcuts(run_id: str, key: str, stages: list[int] | None) -> None:
    """on_change of a shortcut toggle: hand the flip to the live run (applied between two iterations).
    Its owner's tab or the teacher's only (checked again here, not only by the toggle's disabled state)."""
    if not may_control(run_id):
        st.session_state["lab_toggle_error"] = teacher_only()
        return
    try:
        get_manager().set_shortcuts(run_id, bool(st.session_state[key]), stages)
    except (KeyError, ValueError) as error:
        st.session_state["lab_toggle_error"] = str(error)


def shortcut_toggles_ui(run_id: str) -> None:
    """Whole-net and per-stage switches that show the live model's shortcut state.

    The widget keys carry the server state (e.g. ``..._all_101``): when the state changes,
    fresh widgets are drawn with the server's values. With fixed keys mirrored through
    st.session_state, a toggle click racing a 2-s queue refresh sent the browser's stale
    values back as "changes" and switched the shortcuts back on (seen under CPU load).
    """
    state = get_manager().shortcut_state(run_id)
    if not state:
        return
    tag = "".join("1" if state[stage] else "0" for stage in sorted(state))
    locked = not may_control(run_id)
    whole = f"lab_sc_{run_id}_all_{tag}"
    cols = st.columns([2] + [1] * len(state))
    cols[0].toggle(t("Shortcuts (whole net)", "숏컷 (네트워크 전체)"), value=all(state.values()), key=whole,
                   on_change=_apply_shortcuts, args=(run_id, whole, None), disabled=locked,
                   help=teacher_only() if locked else None)
    for col, (stage, on) in zip(cols[1:], sorted(state.items())):
        key = f"lab_sc_{run_id}_{stage}_{tag}"
        col.toggle(t(f"stage {stage}", f"{stage}단계"), value=on, key=key, on_change=_apply_shortcuts,
                   args=(run_id, key, [stage]), disabled=locked)


def run_card_ui(run_id: str, device: str) -> None:
    manager = get_manager()
    p = manager.progress(run_id)
    lang = language()
    with st.container(border=True):
        head, stop = st.columns([5, 1])
        head.markdown(f"**{md_escape(p['name'])}** · {words.status_word(p['status'], lang)} · "
                      f"{devices.label_in(lang, device)}")
        allowed = may_control(run_id)
        stop.button(t("Stop", "중지"), key=f"lab_stop_{run_id}", on_click=stop_run, args=(run_id,),
                    width="stretch", disabled=not allowed,
                    help=None if allowed else t("Only the teacher, or the tab that started it, can stop this run.",
                                                "이 실행은 교사나 시작한 탭만 멈출 수 있습니다."))
        total = p.get("total_steps") or 0
        ips = p.get("images_per_second")
        of = f"/{total:,}" if total else ""
        parts = [t(f"iteration {p['step']:,}{of}", f"반복 {p['step']:,}{of}")]
        if p.get("epoch") is not None and p["status"] == "running":
            parts.append(t(f"epoch {p['epoch']:.2f}", f"에폭 {p['epoch']:.2f}"))
        parts.append(t(f"ETA {words.seconds_label(p.get('eta_seconds'))}",
                       f"남은 시간 {words.seconds_label(p.get('eta_seconds'), 'ko')}"))
        parts.append(t(f"{ips:,.0f} images/s", f"초당 {ips:,.0f}장") if ips else t("– images/s", "초당 –장"))
        st.progress(min(1.0, max(0.0, float(p.get("fraction") or 0.0))), text=" · ".join(parts))
        if p.get("message"):
            st.caption(md_escape(message_words(without_paths(p["message"]), lang)))
        if p["status"] in ACTIVE_STATUSES:
            shortcut_toggles_ui(run_id)


def queue_ui() -> None:
    """The runs of this app process, refreshed every 2 s while something trains."""
    manager = get_manager()
    polling = bool(manager.active_runs())

    @st.fragment(run_every=REFRESH_SECONDS if polling else None)
    def queue() -> None:
        with paced_redraw(runs_train=polling):
            draw_active_runs()

    def draw_active_runs() -> None:
        active = manager.active_runs()
        if polling and not active:
            st.rerun()  # the last run ended: redraw the page (past runs, Resume) and stop polling
        if not active:
            st.caption(t("Nothing is training. Start a preset above.", "학습 중인 것이 없습니다. 위에서 프리셋을 시작하세요."))
            return
        head, stop_all = st.columns([5, 1])
        head.markdown(t(**text.SWITCH_SHORTCUTS_LIVE))
        teacher = teacher_unlocked()
        stop_all.button(t("Stop all", "모두 중지"), key="lab_stop_all", on_click=stop_every_run, width="stretch",
                        disabled=not teacher, help=None if teacher else teacher_only())
        error = st.session_state.pop("lab_toggle_error", None)
        if error:
            st.warning(message_words(error, language()))
        for run_id in active:
            run_card_ui(run_id, manager.device_label)

    queue()
