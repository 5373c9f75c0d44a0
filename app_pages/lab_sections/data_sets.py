"""The Lab's real data sets: which are in the data root, and their downloads (run in the training
process as analysis jobs, with progress bars refreshed while a download runs)."""

from __future__ import annotations

import dataclasses

import streamlit as st

from app_pages.lab_sections import REFRESH_SECONDS
from app_pages.lab_sections.access import teacher_only
from app_pages.text import lab as text
from resnet_edu import devices, words
from resnet_edu.data import default_data_root, downloads
from resnet_edu.runs import ACTIVE_STATUSES
from resnet_edu.train import TrainConfig
from resnet_edu.words import message_words
from ui import get_manager, language, md_escape, paced_redraw, refusal_words, submit_job, t, teacher_unlocked


def imagenette_size() -> int:
    """Imagenette's image size in the Lab: 64 px on a GPU; 32 px on a CPU (4x fewer pixels to train on)."""
    return 64 if devices.resolve_device("auto").type == "cuda" else 32


def imagenet_preset_base(base: TrainConfig) -> TrainConfig:
    """Table 2 on real photos: Imagenette when it is in the data root and the built-in set is chosen."""
    archive = downloads.imagenette_archive(imagenette_size())
    if base.dataset == "synthetic" and downloads.state(archive) in ("ready", "archive"):
        return dataclasses.replace(base, dataset="imagenette", data_root=None, image_size=imagenette_size())
    return base


def data_state_text(archive: downloads.Archive) -> str:
    """One line: is this data set here, and what happens on first use."""
    state = downloads.state(archive)
    folder = default_data_root().resolve()
    size = f"{archive.approx_bytes / 2**20:,.0f} MB"
    return {
        "ready": t(f"✅ {archive.title} is ready in {folder / archive.folder}.",
                   f"✅ {archive.title}: {folder / archive.folder}에 준비되어 있습니다."),
        "archive": t(f"📦 {archive.filename} is in {folder}: it is checked and unpacked on first use.",
                     f"📦 {archive.filename}이(가) {folder}에 있습니다: 처음 쓸 때 확인하고 압축을 풉니다."),
        "partial": t(f"⏸️ An interrupted download of {archive.filename} is in {folder}; the next download "
                     "continues from there.",
                     f"⏸️ {archive.filename}의 중단된 다운로드가 {folder}에 있습니다; 다음 다운로드가 이어 받습니다."),
    }.get(state, t(f"⬜ Not on this machine. Without internet: download {archive.filename} ({size}, "
                   f"{archive.url}) elsewhere and put it in {folder}.",
                   f"⬜ 이 컴퓨터에 없습니다. 인터넷이 없으면 다른 컴퓨터에서 {archive.filename}({size}, "
                   f"{archive.url})을(를) 받아 {folder}에 넣으세요."))


DOWNLOADING = ACTIVE_STATUSES  # a download job still under way


def latest_downloads(store) -> dict[str, dict]:
    """{archive key: its newest download job} (a job row of ``store.list_analyses``)."""
    latest: dict[str, dict] = {}
    for job in store.list_analyses(kind="download").to_dict("records"):
        key = job["params"].get("dataset")
        if key is not None:
            latest.setdefault(key, job)
    return latest


def _get_data(key: str) -> None:
    """on_click of Get: the download runs in the training process (analysis job "download")."""
    if not teacher_unlocked():
        st.session_state["lab_download_error"] = teacher_only()
        return
    try:
        submit_job("download", {"dataset": key})  # the caps on waiting jobs, this tab's among them
    except (ValueError, RuntimeError) as error:  # admission.NotAdmitted is a ValueError
        st.session_state["lab_download_error"] = refusal_words(error)


def _stop_download(job_id: str) -> None:
    if teacher_unlocked():
        get_manager().stop_analysis(job_id)
    else:
        st.session_state["lab_download_error"] = teacher_only()


def failed_download_text(archive: downloads.Archive) -> str:
    """A failed Get, in plain words: the usual cause, and how to bring the data set in by hand."""
    folder = default_data_root().resolve()
    size = f"{archive.approx_bytes / 2**20:,.0f} MB"
    return t(f"Could not get {archive.title}: this computer is probably offline (or the server did not answer). "
             f"Without internet, download {archive.filename} ({size}, {archive.url}) on another computer and put "
             f"it in {folder}: the Lab finds it there and unpacks it on first use. Online again? Press Get.",
             f"{archive.title}을(를) 받지 못했습니다: 이 컴퓨터가 인터넷에 연결되어 있지 않은 것 같습니다 (또는 서버가 "
             f"응답하지 않았습니다). 인터넷 없이 쓰려면 다른 컴퓨터에서 {archive.filename}({size}, {archive.url})을(를) "
             f"받아 {folder}에 넣으세요: 실험실이 찾아서 처음 쓸 때 압축을 풉니다. 다시 연결되면 받기를 누르세요.")


def download_line(result: dict | None, message: str) -> str:
    """Bytes, speed and time left of a download job, from what it published."""
    result = result or {}
    done, total = result.get("done_bytes"), result.get("total_bytes")
    if done is None:
        return message_words(message, language()) or t("waiting for the training process…", "학습 프로세스를 기다리는 중…")
    verbs = {"download": t("downloading", "내려받는 중"), "check": t("checking (MD5)", "확인 중 (MD5)"),
             "unpack": t("unpacking", "압축 푸는 중")}
    parts = [verbs.get(result.get("phase"), ""), f"{done / 1e6:,.0f}" + (f" / {total / 1e6:,.0f}" if total else "")
             + " MB"]
    if result.get("bytes_per_second"):
        parts.append(f"{result['bytes_per_second'] / 1e6:,.1f} MB/s")
    if result.get("seconds_left") is not None:
        parts.append(t(f"{words.seconds_label(result['seconds_left'])} left",
                       f"{words.seconds_label(result['seconds_left'], 'ko')} 남음"))
    return " · ".join(p for p in parts if p)


def data_sets_ui() -> None:
    """CIFAR-10 and Imagenette: what is in the data root, Get buttons (the download runs in the training
    process, as an analysis job) and their progress bars, refreshed while a download runs."""
    manager = get_manager()
    store = manager.store
    latest = latest_downloads(store)
    busy = any(job["status"] in DOWNLOADING for job in latest.values())
    failed = any(job["status"] == "failed" for job in latest.values())
    teacher = teacher_unlocked()
    with st.expander(t("Real data sets: CIFAR-10 and Imagenette", "실제 데이터셋: CIFAR-10과 Imagenette"),
                     expanded=busy or failed):  # a download under way, or why the last one failed

        @st.fragment(run_every=REFRESH_SECONDS if busy else None)
        def panel() -> None:
            with paced_redraw(runs_train=busy):  # the training process is downloading
                download_panel()

        def download_panel() -> None:
            latest = latest_downloads(store)
            downloading = any(job["status"] in DOWNLOADING for job in latest.values())
            if busy != downloading:
                # A download ended: redraw the page (its data set is ready) and stop polling. Or Get was
                # just clicked (this panel re-ran alone, set up without polling): redraw the page so
                # the panel polls, and shows the download's progress, its end or its failure.
                st.rerun()
            error = st.session_state.pop("lab_download_error", None)
            if error:
                st.error(error)
            for archive in downloads.ARCHIVES.values():
                job = latest.get(archive.key)
                running = job is not None and job["status"] in DOWNLOADING
                left, right = st.columns([5, 1])
                left.markdown(f"**{archive.title}** — {data_state_text(archive)}")
                if running:
                    right.button(t("Stop", "중지"), key=f"lab_download_stop_{archive.key}", width="stretch",
                                 on_click=_stop_download, args=(job["job_id"],), disabled=not teacher)
                    full = store.get_analysis(job["job_id"]) or job
                    st.progress(min(1.0, max(0.0, float(full.get("fraction") or 0.0))),
                                text=download_line(full.get("result"), full.get("message") or ""))
                elif (state := downloads.state(archive)) != "ready":
                    size = f"{archive.approx_bytes / 2**20:,.0f} MB"
                    label = {"partial": t(f"Continue ({size})", f"이어 받기 ({size})"),
                             "archive": t("Unpack", "압축 풀기")}.get(state, t(f"Get ({size})", f"받기 ({size})"))
                    right.button(label, key=f"lab_get_{archive.key}", width="stretch",
                                 on_click=_get_data, args=(archive.key,), disabled=not teacher,
                                 help=None if teacher else teacher_only())
                    if job is not None and job["status"] == "failed":
                        st.error(failed_download_text(archive), icon="📡")
                        if job["message"]:  # the data layer's own words (English), for whoever fixes it
                            st.caption(t("Details: ", "자세히: ") + md_escape(job["message"]))
                    elif job is not None and job["status"] == "stopped":
                        st.caption(t("Stopped; Get continues from where it stopped.",
                                     "멈췄습니다. 받기를 누르면 멈춘 곳부터 이어 받습니다."))
            st.caption(t(**text.DOWNLOADS_NOTE))

        panel()
