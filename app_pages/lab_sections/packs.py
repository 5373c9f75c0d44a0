"""Open a class pack: runs trained elsewhere, uploaded or picked from the packs folder, join the store (teacher only)."""

from __future__ import annotations

import sqlite3

import streamlit as st

from app_pages.lab_sections.access import teacher_only
from app_pages.text import lab as text
from resnet_edu.runs.disk import describe_write_error
from resnet_edu.sharing import packs
from ui import get_manager, language, t, teacher_unlocked

UPLOAD = "upload"


def open_pack_ui() -> None:
    """The "Open a class pack" box: a file to upload or one from the packs folder, Open, progress, the result."""
    teacher = teacher_unlocked()
    folder = packs.packs_folder()
    found = {str(path): path.name for path in packs.pack_files(folder)}
    note = st.session_state.pop("lab_pack_note", None)  # what the last Open did: shown open, not in a folded box
    with st.expander(t("Open a class pack (teacher)", "수업 팩 열기 (교사)"), expanded=bool(found or note)):
        st.caption(t(**text.class_pack_note(folder, st.get_option("server.maxUploadSize"))))
        if not teacher:
            st.caption(teacher_only())
        choice = UPLOAD
        if found:
            choice = st.selectbox(t("Pack", "수업 팩"), [UPLOAD, *found], key="lab_pack_pick", disabled=not teacher,
                                  format_func=lambda key: found.get(key, t("⬆️ upload a file…", "⬆️ 파일 올리기…")))
        upload = None
        if choice == UPLOAD:
            upload = st.file_uploader(t("A class pack (.zip)", "수업 팩 (.zip)"), type=["zip"], key="lab_pack_upload",
                                      disabled=not teacher)
        source = upload if choice == UPLOAD else choice
        if st.button(t("Open the pack", "수업 팩 열기"), key="lab_pack_open", type="primary",
                     disabled=not (teacher and source is not None)):
            _open(source, upload.name if upload is not None else found[choice])
        if note:
            (st.success if note[0] == "success" else st.error)(note[1])
            if note[0] == "success":
                st.page_link("app_pages/degradation.py", label=t("See its curves on the Degradation page →",
                                                                 "성능 저하 페이지에서 곡선 보기 →"), icon="📉")


def _open(source, name: str) -> None:
    """Check and open the pack with a progress bar; the result is kept for the next page run (it re-runs at once)."""
    if not teacher_unlocked():  # checked again here, not only by the button's disabled state
        st.session_state["lab_pack_note"] = ("error", teacher_only())
        st.rerun()
    store = get_manager().store
    bar = st.progress(0.0, text=t(f"Opening {name}…", f"{name} 여는 중…"))

    def progress(fraction: float, message: str) -> None:
        bar.progress(min(1.0, max(0.0, fraction)), text=t(f"Opening {name}: {message}", f"{name} 여는 중: {message}"))

    try:
        result = packs.unpack(store, source, progress=progress, pack_name=name)
    except packs.BadPack as error:
        st.session_state["lab_pack_note"] = ("error", t(**text.pack_not_opened(error)))
    except (OSError, sqlite3.Error) as error:  # a full disk: what was moved is taken back
        st.session_state["lab_pack_note"] = ("error", describe_write_error(error, store.root, "free some space and try again"))
    else:
        seconds = t(f" ({result.seconds:.1f} s)", f" ({result.seconds:.1f}초)")
        st.session_state["lab_pack_note"] = ("success", result.sentence(language()) + seconds)
    # Drawn again at once: the box opens on the result, and the past runs above (drawn before the pack
    # was opened) list its runs.
    st.rerun()
