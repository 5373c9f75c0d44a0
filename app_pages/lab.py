"""Lab: start plain and residual nets, watch them train, flip their shortcuts live.

The page only collects settings and talks to the process-wide JobManager: training runs in
the manager's training process and every number goes to the RunStore, which the Degradation
page reads. The queue refreshes itself in a fragment while something trains.
"""

from __future__ import annotations

import dataclasses
import sqlite3

import pandas as pd
import streamlit as st

from app_pages.text.recipe_notes import RECIPE_NOTES
from resnet_edu import analysis, classroom, devices, models, security
from resnet_edu.classroom import default_batch_size
from resnet_edu.data import default_data_root, downloads
from resnet_edu.disk import describe_write_error
from resnet_edu.distributed.queue import cuda_card_count
from resnet_edu.jobs import cached_dataset, group_configs
from resnet_edu.runs import ACTIVE_STATUSES, RunNotFound
from resnet_edu.train import PRESETS, TrainConfig, preset_configs
from ui import get_manager, language, md_escape, prepare_data, t, teacher_unlocked

REFRESH_SECONDS = 2
CIFAR_DEPTHS = [20, 32, 44, 56, 110]
IMAGENET_DEPTHS = [18, 34, 50]
RESUMABLE = ("interrupted", "stopped")
PAST_RUNS_SHOWN = 100
RESUME_BUTTONS_SHOWN = 8
MINE_KEY = "lab_my_runs"  # run ids this tab started or resumed: its owner may stop them
COMPILE_HELP = (  # numbers from benchmarks/compile.py on a 2-core CPU (bf16)
    "torch.compile fuses the net's operations into fewer kernels. Measured on a 2-core CPU: about 50 s to "
    "compile, 20–50 s again after each shortcut switch, then iterations 1.1–1.3x faster, so it pays only after "
    "1,200–1,600 iterations (a 3-epoch classroom run has 234). Off by default; try it for long runs and on GPUs.",
    "torch.compile은 네트워크의 연산을 더 적은 커널로 합칩니다. 2코어 CPU에서 측정하면 컴파일에 약 50초, 숏컷을 바꿀 "
    "때마다 다시 20–50초가 들고, 그 뒤 반복이 1.1–1.3배 빨라집니다. 그래서 1,200–1,600번 반복 뒤에야 이득입니다(3에폭 "
    "수업용 실행은 234번). 기본값은 꺼짐이며, 긴 실행과 GPU에서 써 보세요.")


# ---------------------------------------------------------------- who may do what

def _mine() -> set[str]:
    return set(st.session_state.get(MINE_KEY, []))


def _remember(run_ids) -> None:
    st.session_state[MINE_KEY] = sorted(_mine() | set(run_ids))


def may_control(run_id: str) -> bool:
    """The teacher (or anyone, when no passcode is set) may stop any run; a student only their own."""
    return teacher_unlocked() or run_id in _mine()


def _teacher_only() -> str:
    return t("Teacher only: enter the teacher passcode in the sidebar.", "교사 전용: 사이드바에 교사 암호를 입력하세요.")


def _stop(run_id: str) -> None:
    """on_click of a run's Stop: checked again here, not only by the button's disabled state."""
    if may_control(run_id):
        get_manager().stop(run_id)
    else:
        st.session_state["lab_toggle_error"] = _teacher_only()


def _stop_all() -> None:
    if teacher_unlocked():
        get_manager().stop_all()
    else:
        st.session_state["lab_toggle_error"] = _teacher_only()


# ---------------------------------------------------------------- settings

def dataset_ui() -> tuple[str, str | None, int]:
    """(data set, data root or None, image size)."""
    names = {"synthetic": t("Built-in synthetic shapes (offline, seconds)", "내장 합성 도형 (오프라인, 몇 초)"),
             "cifar10": "CIFAR-10",
             "imagenette": t("Imagenette (real photos, 10 ImageNet classes)", "Imagenette (실제 사진, ImageNet 10개 클래스)"),
             "imagefolder": t("Image folder (ImageNet-style)", "이미지 폴더 (ImageNet식)")}
    dataset = st.selectbox(t("Data set", "데이터셋"), list(names), format_func=names.get, key="lab_dataset")
    root, size = None, 32
    locked = not teacher_unlocked()  # custom data folders are a teacher-only control
    if dataset == "cifar10":
        root = st.text_input(t("Data root (empty: RESNET_EDU_DATA or ./data)",
                               "데이터 폴더 (비우면 RESNET_EDU_DATA 또는 ./data)"),
                             key="lab_data_root_cifar", disabled=locked).strip() or None
        if locked:
            root = None  # the configured data root; a typed value is ignored, not only greyed out
            st.caption(t("Only the teacher chooses data folders (teacher passcode in the sidebar).",
                         "데이터 폴더는 교사만 정할 수 있습니다 (사이드바의 교사 암호)."))
        st.caption(t("CIFAR-10 is read from the data root (cifar-10-python.tar.gz or its unpacked folder). On an "
                     "offline machine without it the run stops with a message saying where to put the file.",
                     "CIFAR-10은 데이터 폴더에서 읽습니다(cifar-10-python.tar.gz 또는 압축을 푼 폴더). 파일이 없는 "
                     "오프라인 컴퓨터에서는 실행이 멈추고 파일을 어디에 두어야 하는지 알려 줍니다."))
    elif dataset == "imagenette":
        size = int(st.number_input(t("Image size (px)", "이미지 크기 (픽셀)"), min_value=16, max_value=320,
                                   value=imagenette_size(), step=16, key="lab_image_size_imagenette",
                                   help=t("Use an ImageNet-style net: CIFAR-style nets need 32 px.",
                                          "ImageNet식 네트워크를 쓰세요: CIFAR식 네트워크는 32픽셀이 필요합니다.")))
        st.caption(data_state_text(downloads.imagenette_archive(size)))
    elif dataset == "imagefolder":
        root = st.text_input(t("Folder with train/ and val/ (one sub-folder per class)",
                               "train/과 val/이 있는 폴더 (클래스마다 하위 폴더)"),
                             key="lab_data_root_folder", placeholder="/data/imagenette2-160",
                             disabled=locked).strip() or None
        if locked:
            root = None
        size = int(st.number_input(t("Image size (px)", "이미지 크기 (픽셀)"), min_value=16, max_value=512, value=64,
                                   step=16, key="lab_image_size",
                                   help=t("CIFAR-style nets need 32; ImageNet-style nets adapt their stem to "
                                          "small images (≤ 64 px).", "CIFAR식 네트워크는 32가 필요합니다. ImageNet식 네트워크는 "
                                          "작은 이미지(64픽셀 이하)에 맞게 첫 층을 바꿉니다.")))
    return dataset, root, size


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
                   f"{archive.url})을 받아 {folder}에 넣으세요."))


DOWNLOADING = ("queued", "running")


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
        st.session_state["lab_download_error"] = _teacher_only()
        return
    try:
        get_manager().submit_analysis("download", {"dataset": key})
    except (ValueError, RuntimeError) as error:
        st.session_state["lab_download_error"] = str(error)


def _stop_download(job_id: str) -> None:
    if teacher_unlocked():
        get_manager().stop_analysis(job_id)
    else:
        st.session_state["lab_download_error"] = _teacher_only()


def download_line(result: dict | None, message: str) -> str:
    """Bytes, speed and time left of a download job, from what it published."""
    result = result or {}
    done, total = result.get("done_bytes"), result.get("total_bytes")
    if done is None:
        return message or t("waiting for the training process…", "학습 프로세스를 기다리는 중…")
    verbs = {"download": t("downloading", "내려받는 중"), "check": t("checking (MD5)", "확인 중 (MD5)"),
             "unpack": t("unpacking", "압축 푸는 중")}
    parts = [verbs.get(result.get("phase"), ""), f"{done / 1e6:,.0f}" + (f" / {total / 1e6:,.0f}" if total else "")
             + " MB"]
    if result.get("bytes_per_second"):
        parts.append(f"{result['bytes_per_second'] / 1e6:,.1f} MB/s")
    if result.get("seconds_left") is not None:
        left = downloads.format_seconds(result["seconds_left"])
        parts.append(t(f"{left} left", f"{left} 남음"))
    return " · ".join(p for p in parts if p)


def data_sets_ui() -> None:
    """CIFAR-10 and Imagenette: what is in the data root, Get buttons (the download runs in the training
    process, as an analysis job) and their progress bars, refreshed while a download runs."""
    manager = get_manager()
    store = manager.store
    busy = any(job["status"] in DOWNLOADING for job in latest_downloads(store).values())
    teacher = teacher_unlocked()
    with st.expander(t("Real data sets: CIFAR-10 and Imagenette", "실제 데이터 세트: CIFAR-10과 Imagenette"),
                     expanded=busy):

        @st.fragment(run_every=REFRESH_SECONDS if busy else None)
        def panel() -> None:
            latest = latest_downloads(store)
            if busy and not any(job["status"] in DOWNLOADING for job in latest.values()):
                st.rerun()  # a download ended: redraw the page (its data set is ready) and stop polling
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
                                 help=None if teacher else _teacher_only())
                    if job is not None and job["status"] == "failed" and job["message"]:
                        st.error(job["message"], icon="📡")
                    elif job is not None and job["status"] == "stopped":
                        st.caption(t("Stopped; Get continues from where it stopped.",
                                     "멈췄습니다. 받기를 누르면 멈춘 곳부터 이어 받습니다."))
            st.caption(t("Downloads run in the training process: MD5-checked, resumed after an interruption, unpacked "
                         "into place only when complete. Offline, an archive put into the data root by hand is "
                         "found, checked and unpacked when a run first uses it. The ImageNet-style preset trains on "
                         "Imagenette when it is here.",
                         "다운로드는 학습 프로세스에서 진행됩니다: MD5로 확인하고, 중단되면 이어 받고, 다 풀린 뒤에만 "
                         "제자리에 놓습니다. 오프라인에서는 데이터 폴더에 직접 넣은 압축 파일을 실행이 처음 쓸 때 찾아서 "
                         "확인하고 풉니다. ImageNet식 프리셋은 Imagenette가 있으면 그것으로 학습합니다."))

        panel()


def networks_ui() -> tuple[str, list[int], list[str], str | None]:
    """(family, depths, kinds, problem with the custom depth or None)."""
    families = {"cifar": t("CIFAR (6n+2 layers)", "CIFAR (6n+2층)"),
                "imagenet": t("ImageNet-style (18/34/50)", "ImageNet식 (18/34/50)")}
    family = st.radio(t("Family", "계열"), list(families), horizontal=True, key="lab_family",
                      format_func=families.get)
    problem = None
    if family == "cifar":
        depths = st.multiselect(t("Depths", "깊이"), CIFAR_DEPTHS, default=[20, 56], key="lab_depths_cifar")
        custom = st.number_input(t("Custom depth, 6n+2 (optional)", "직접 정한 깊이, 6n+2 (선택)"), min_value=8,
                                 max_value=models.MAX_CIFAR_DEPTH, value=None, step=6, key="lab_custom_depth",
                                 placeholder="8, 14, 26, …")
        if custom is not None:
            try:
                TrainConfig(depth=int(custom)).validate()
                depths = sorted(set(depths) | {int(custom)})
            except ValueError as error:
                problem = str(error)
                st.error(problem)
    else:
        depths = st.multiselect(t("Depths", "깊이"), IMAGENET_DEPTHS, default=[18, 34], key="lab_depths_imagenet")
    kind_words = {"both": t("both (twins)", "둘 다 (쌍둥이)"), "plain": t("plain", "plain 네트워크"),
                  "residual": t("residual", "잔차 네트워크")}
    kind = st.radio(t("Shortcuts", "숏컷"), list(kind_words), horizontal=True, key="lab_kind",
                    format_func=kind_words.get,
                    help=t("A plain net is exactly its residual twin with every shortcut off: same layers, same "
                           "parameters (option A).", "plain 네트워크는 모든 숏컷을 끈 잔차 네트워크와 똑같습니다: 같은 층, 같은 "
                           "파라미터 (옵션 A)."))
    kinds = ["plain", "residual"] if kind == "both" else [kind]
    return family, sorted(depths), kinds, problem


def recipe_ui() -> dict:
    """Length, optimiser and recipe settings as TrainConfig keyword arguments."""
    cols = st.columns(3)
    epochs = cols[0].number_input(t("Epochs", "에폭"), min_value=1, max_value=1000, value=3, step=1, key="lab_epochs")
    max_steps = cols[1].number_input(t("Max iterations", "최대 반복 횟수"), min_value=1, max_value=10_000_000,
                                     value=None, step=50, key="lab_max_steps", placeholder=t("no limit", "제한 없음"),
                                     help=t("Stops early; the lr schedule still follows the epochs.",
                                            "일찍 멈춥니다. 학습률 일정은 그대로 에폭을 따릅니다."))
    seed = cols[2].number_input(t("Seed", "시드"), min_value=0, max_value=2**31 - 1, value=0, step=1, key="lab_seed")
    cols = st.columns(3)
    lr = cols[0].number_input(t("Learning rate", "학습률"), min_value=0.0001, max_value=100.0, value=0.1,
                              step=0.01, format="%.4f", key="lab_lr")
    batch = cols[1].number_input(t("Batch size", "배치 크기"), min_value=1, max_value=4096, value=None, step=16,
                                 key="lab_batch", placeholder=t("default", "기본값"),
                                 help=t("Empty: the default of the recipe and device (shown below the settings).",
                                        "비워 두면 레시피와 장치의 기본값을 씁니다 (설정 아래에 표시)."))
    recipe_words = {"classroom": t("classroom (default)", "수업용 (기본)"), "paper": t("paper (Sec. 4.2)", "논문 (4.2절)")}
    recipe = st.radio(t("Recipe", "레시피"), list(recipe_words), format_func=recipe_words.get,
                      horizontal=True, key="lab_recipe")
    with st.expander(t("What each recipe changes from the paper (Sec. 4.2)", "각 레시피가 논문(4.2절)과 다른 점")):
        for name in ("classroom", "paper"):
            st.markdown(f"**{recipe_words[name]}**")
            st.markdown("\n".join(f"- {t(**note)}" for note in RECIPE_NOTES.get(name, [])))
    return {"epochs": int(epochs), "max_steps": None if max_steps is None else int(max_steps), "seed": int(seed),
            "lr": float(lr), "batch_size": None if batch is None else int(batch), "recipe": recipe}


def gpus_ui() -> int:
    """How many GPUs each net of the comparison trains on (torchrun); shown only with 2+ CUDA cards."""
    cards = cuda_card_count()
    if cards < 2:
        return 1
    return int(st.selectbox(
        t("Train on N GPUs", "GPU N개로 학습"), list(range(1, cards + 1)), key="lab_gpus",
        format_func=lambda n: t(f"{n} GPU{'s' if n > 1 else ''}", f"GPU {n}개"),
        help=t("With 2 or more, each net trains on that many GPUs at once (PyTorch DistributedDataParallel, "
               "launched with torchrun), one net after another. The batch size is the total over the GPUs, as in "
               "the paper (128 on 2 GPUs: 64 each).",
               "2개 이상이면 각 네트워크를 그만큼의 GPU로 동시에 학습합니다(PyTorch DistributedDataParallel, torchrun으로 "
               "실행). 네트워크는 하나씩 차례로 학습합니다. 배치 크기는 논문처럼 모든 GPU를 합친 크기입니다(GPU 2개에 128: "
               "각 64).")))


def advanced_ui() -> tuple[str, bool, int]:
    """(device, compile, GPUs): where the comparison trains, whether its nets are compiled, on how many GPUs."""
    with st.expander(t("Advanced: device and compilation", "고급: 장치와 컴파일")):
        choices = ["auto"] + devices.available_devices()
        best = devices.available_devices()[0]
        words = {"auto": t(f"auto (here: {best.upper()})", f"자동 (여기서는 {best.upper()})"), "cpu": "CPU",
                 "cuda": "CUDA GPU", "mps": "Apple GPU (MPS)"}
        device = st.selectbox(t("Device", "장치"), choices, format_func=words.get, key="lab_device",
                              help=t("auto: a CUDA GPU when there is one, else an Apple GPU, else the CPU.",
                                     "자동: CUDA GPU가 있으면 그것을, 없으면 Apple GPU를, 그것도 없으면 CPU를 씁니다."))
        compiled = st.checkbox(t("Compile the nets (torch.compile)", "네트워크 컴파일하기 (torch.compile)"),
                               key="lab_compile", help=t(COMPILE_HELP[0], COMPILE_HELP[1]))
        gpus = gpus_ui() if device in ("auto", "cuda") else 1
    return device, compiled, gpus


def batch_reason(recipe: str, device: str, dataset: str, batch: int) -> str:
    """Why the comparison trains in batches of ``batch``: the paper's, or what was measured on a CPU."""
    if recipe == "paper":
        return t(f"Batch {batch}, as in the paper (Sec. 4.2).", f"배치 {batch}: 논문(4.2절)과 같습니다.")
    kind = devices.available_devices()[0] if device == "auto" else device.split(":")[0]
    if kind != "cpu":
        return t(f"Batch {batch}, the paper's: on a GPU a smaller batch would not show the gap sooner.",
                 f"배치 {batch}: 논문과 같습니다. GPU에서는 배치를 줄여도 차이가 더 빨리 보이지 않습니다.")
    rows = classroom.CPU_MEDIAN_SECONDS[classroom.data_kind(dataset)]
    precision = devices.resolve_precision("auto", devices.resolve_device("cpu"))
    precision = precision if precision in rows else next(iter(rows))
    seconds = ", ".join(f"{size}: {t(f'{median:.0f} s', f'{median:.0f}초')}" if met == 3 else
                        f"{size}: {t(f'{met} of 3 seeds only', f'시드 3개 중 {met}개에서만')}"
                        for size, (median, met) in rows[precision].items())
    data = t("the built-in synthetic set", "내장 합성 데이터셋") if dataset == "synthetic" else t("real photos", "실제 사진")
    return t(f"Batch {batch}, the classroom default on a CPU for {data}: the fastest batch size that showed the "
             f"degradation on all three seeds tried. Seconds from the click until plain-56 was clearly behind "
             f"plain-20 while ResNet-56 kept up ({precision}, median of seeds 0-2, {classroom.CPU_MEASURED_ON}), "
             f"by batch size: {seconds}.",
             f"배치 {batch}: CPU의 수업용 기본값({data})입니다. 시험한 시드 3개 모두에서 성능 저하를 보여 준 배치 "
             f"크기 중 가장 빠릅니다. 클릭부터 ResNet-56이 plain-20을 따라가는 동안 plain-56이 뚜렷이 뒤처질 "
             f"때까지 걸린 시간 ({precision}, 시드 0-2의 중앙값, {classroom.CPU_MEASURED_ON}), 배치 크기별: "
             f"{seconds}.")


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 600 else text[:597] + "..."


def data_check(configs: list[TrainConfig]) -> tuple[str | None, list[TrainConfig]]:
    """(problem or None, configs with the checked folder): the data set is checked before any run exists.

    A typed folder must lie in the allowed data roots (resnet_edu.security). An image folder is
    decoded here, once (cached for the runs and every page), so a file instead of a folder, a
    single class, an unreadable image or a batch larger than the data is reported at once
    instead of as a failed run. CIFAR-10 is left to the runs: without the archive they stop
    with the data layer's message on where to put it.
    """
    first = configs[0]
    if first.dataset == "synthetic":
        return None, configs
    root = first.data_root
    if root is not None:
        if not teacher_unlocked():
            return _teacher_only(), configs
        try:
            root = str(security.check_data_path(root, must_exist=first.dataset == "imagefolder"))
        except ValueError as error:
            return _one_line(error), configs
        configs = [dataclasses.replace(c, data_root=root) for c in configs]
    if first.dataset != "imagefolder":
        return None, configs
    try:
        with st.spinner(t("Reading the image folder (once; later runs reuse it)…",
                          "이미지 폴더를 읽는 중 (한 번만; 다음 실행은 다시 씁니다)…")):
            dataset = cached_dataset(first.dataset, root, first.image_size)
    except Exception as error:  # BadDataFolder, a permission error, a broken file: a message, never a crash
        return _one_line(error), configs
    if first.batch_size > dataset.num_train:
        return (f"batch size {first.batch_size} is larger than the {dataset.num_train} training images in "
                f"{root}: choose a batch size of at most {dataset.num_train}"), configs
    return None, configs


def submit(configs: list[TrainConfig], device: str = "auto", gpus: int = 1) -> None:
    """Start one comparison group; a bad setting is shown as a message and nothing is created."""
    problem = None
    try:
        for config in configs:
            config.validate()
        if configs:
            problem, configs = data_check(configs)
        if problem is None:
            extra = {"gpus": gpus} if gpus > 1 else {}  # several GPUs: one torchrun job per net
            run_ids = get_manager().submit(configs, device=device, **extra)
    except (ValueError, RuntimeError) as error:
        problem = str(error)
    if problem is not None:
        st.error(t(f"Could not start: {problem}", f"시작할 수 없습니다: {problem}"), icon="⚠️")
        return
    _remember(run_ids)
    names = md_escape(", ".join(c.run_name for c in configs))
    st.session_state["lab_flash"] = t(f"Started {len(run_ids)} runs: {names}.", f"실행 {len(run_ids)}개 시작: {names}.")
    st.rerun()  # redraw the whole app, so the sidebar and the queue start refreshing themselves


def folder_problem(dataset: str, root: str | None) -> str | None:
    """A folder that is missing, a file, or outside the allowed data roots is caught here at once
    (nothing is read); the contents are checked when Start is pressed (data_check)."""
    if dataset == "synthetic":
        return None
    if dataset == "imagefolder" and not root:
        if not teacher_unlocked():
            return t("Only the teacher chooses the image folder: enter the teacher passcode in the sidebar.",
                     "이미지 폴더는 교사만 정할 수 있습니다: 사이드바에 교사 암호를 입력하세요.")
        return t("Enter the image folder first.", "먼저 이미지 폴더를 입력하세요.")
    if root is None:
        return None
    try:
        security.check_data_path(root, must_exist=dataset == "imagefolder")
    except ValueError as error:
        return t(f"Cannot use this data folder: {error}. Expected <folder>/train/<class>/*.jpg and "
                 "<folder>/val/<class>/*.jpg.",
                 f"이 데이터 폴더는 쓸 수 없습니다: {error}. <폴더>/train/<클래스>/*.jpg 와 "
                 "<폴더>/val/<클래스>/*.jpg 구조가 필요합니다.")
    return None


def start_ui() -> None:
    """Settings, the preset buttons and the Start button."""
    with st.container(border=True):
        left, right = st.columns([1, 1], gap="large")
        with left:
            dataset, root, size = dataset_ui()
            family, depths, kinds, depth_problem = networks_ui()
        with right:
            settings = recipe_ui()
            device, compiled, gpus = advanced_ui()
            if settings["batch_size"] is None:
                settings["batch_size"] = default_batch_size(settings["recipe"], device, dataset)
                st.caption(batch_reason(settings["recipe"], device, dataset, settings["batch_size"]))
        base = TrainConfig(dataset=dataset, data_root=root, image_size=size, compile=compiled, **settings)
        problem = folder_problem(dataset, root)
        if problem:
            st.error(problem, icon="📁")
        elif dataset != "imagefolder" or teacher_unlocked():
            prepare_data(dataset, root, size)  # loaded in the background while the teacher sets up

        st.markdown(t("**Presets** — one click starts the whole comparison with the settings above:",
                      "**프리셋** — 한 번 누르면 위 설정으로 비교 실험 전체가 시작됩니다:"))
        cols = st.columns(2)
        for i, (key, (en, ko)) in enumerate(PRESETS.items()):
            if cols[i % 2].button(t(en, ko), key=f"lab_preset_{key}", width="stretch", disabled=bool(problem)):
                preset_base = imagenet_preset_base(base) if key == "imagenet" else base if base.image_size == 32 \
                    else TrainConfig(**{**base.to_dict(), "image_size": 32})
                submit(preset_configs(key, preset_base), device=device, gpus=gpus)
        imagenet_base = imagenet_preset_base(base)
        if imagenet_base is not base:
            st.caption(t(f"The ImageNet-style preset trains on Imagenette ({imagenet_base.image_size} px), found in "
                         "the data root.", f"ImageNet식 프리셋은 데이터 폴더에 있는 Imagenette"
                         f"({imagenet_base.image_size}픽셀)로 학습합니다."))

        n = len(depths) * len(kinds)
        label = t(f"Train {n} net{'s' if n != 1 else ''}", f"네트워크 {n}개 학습")
        if st.button(label, key="lab_start", type="primary", disabled=bool(problem or depth_problem or n == 0)):
            configs = group_configs(base, depths, kinds, family=family)
            submit(configs, device=device, gpus=gpus)
    flash = st.session_state.pop("lab_flash", None)
    if flash:
        st.success(flash, icon="🚀")
        st.page_link("app_pages/degradation.py", label=t("Watch the curves on the Degradation page →",
                                                     "성능 저하 페이지에서 곡선 보기 →"), icon="📉")


# ---------------------------------------------------------------- the queue

def _apply_shortcuts(run_id: str, key: str, stages: list[int] | None) -> None:
    """on_change of a shortcut toggle: hand the flip to the live run (applied between two iterations)."""
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
    whole = f"lab_sc_{run_id}_all_{tag}"
    cols = st.columns([2] + [1] * len(state))
    cols[0].toggle(t("Shortcuts (whole net)", "숏컷 (네트워크 전체)"), value=all(state.values()), key=whole,
                   on_change=_apply_shortcuts, args=(run_id, whole, None))
    for col, (stage, on) in zip(cols[1:], sorted(state.items())):
        key = f"lab_sc_{run_id}_{stage}_{tag}"
        col.toggle(t(f"stage {stage}", f"{stage}단계"), value=on, key=key, on_change=_apply_shortcuts,
                   args=(run_id, key, [stage]))


def run_card_ui(run_id: str, device: str) -> None:
    manager = get_manager()
    p = manager.progress(run_id)
    lang = language()
    with st.container(border=True):
        head, stop = st.columns([5, 1])
        head.markdown(f"**{md_escape(p['name'])}** · {analysis.status_word(p['status'], lang)} · `{run_id}` · {device}")
        allowed = may_control(run_id)
        stop.button(t("Stop", "중지"), key=f"lab_stop_{run_id}", on_click=_stop, args=(run_id,),
                    width="stretch", disabled=not allowed,
                    help=None if allowed else t("Only the teacher, or the tab that started it, can stop this run.",
                                                "이 실행은 교사나 시작한 탭만 멈출 수 있습니다."))
        total = p.get("total_steps") or 0
        ips = p.get("images_per_second")
        of = f"/{total:,}" if total else ""
        parts = [t(f"iteration {p['step']:,}{of}", f"반복 {p['step']:,}{of}")]
        if p.get("epoch") is not None and p["status"] == "running":
            parts.append(t(f"epoch {p['epoch']:.2f}", f"에폭 {p['epoch']:.2f}"))
        parts.append(t(f"ETA {analysis.seconds_label(p.get('eta_seconds'))}",
                       f"남은 시간 {analysis.seconds_label(p.get('eta_seconds'))}"))
        parts.append(t(f"{ips:,.0f} images/s", f"초당 {ips:,.0f}장") if ips else t("– images/s", "초당 –장"))
        st.progress(min(1.0, max(0.0, float(p.get("fraction") or 0.0))), text=" · ".join(parts))
        if p.get("message"):
            st.caption(p["message"])
        if p["status"] in ("running", "queued"):
            shortcut_toggles_ui(run_id)


def queue_ui() -> None:
    """The runs of this app process, refreshed every 2 s while something trains."""
    manager = get_manager()
    polling = bool(manager.active_runs())

    @st.fragment(run_every=REFRESH_SECONDS if polling else None)
    def queue() -> None:
        active = manager.active_runs()
        if polling and not active:
            st.rerun()  # the last run ended: redraw the page (past runs, Resume) and stop polling
        if not active:
            st.caption(t("Nothing is training. Start a preset above.", "학습 중인 것이 없습니다. 위에서 프리셋을 시작하세요."))
            return
        head, stop_all = st.columns([5, 1])
        head.markdown(t("**Turn the shortcuts off and watch a ResNet become a plain net, live** — the switch is "
                        "applied between two iterations and marked on every curve.",
                        "**숏컷을 끄면 ResNet이 실시간으로 plain 네트워크가 되는 것을 볼 수 있습니다** — 전환은 두 반복 "
                        "사이에 적용되고 모든 곡선에 표시됩니다."))
        teacher = teacher_unlocked()
        stop_all.button(t("Stop all", "모두 중지"), key="lab_stop_all", on_click=_stop_all, width="stretch",
                        disabled=not teacher, help=None if teacher else _teacher_only())
        error = st.session_state.pop("lab_toggle_error", None)
        if error:
            st.warning(error)
        for run_id in active:
            run_card_ui(run_id, manager.device_label)

    queue()


# ---------------------------------------------------------------- past runs

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
        st.error(t(f"{md_escape(row.name)} failed: {row.message}", f"{md_escape(row.name)} 실패: {row.message}"),
                 icon="⚠️")
    table = pd.DataFrame({
        t("run", "실행"): past["name"],
        t("status", "상태"): past["status"].map(lambda s: analysis.status_word(s, lang)),
        t("iterations", "반복"): [f"{d:,}/{int(tot):,}" if pd.notna(tot) else f"{d:,}"
                                 for d, tot in zip(past["steps_done"], past["total_steps"])],
        t("data", "데이터"): [c.get("dataset", "") for c in past["config"]],
        t("started", "시작"): past["created_at"].map(analysis.clock_label),
        t("message", "메시지"): past["message"].fillna(""),
        "id": past["run_id"],
    })
    st.dataframe(table, hide_index=True, width="stretch")
    resumable = past[past["status"].isin(RESUMABLE)].head(RESUME_BUTTONS_SHOWN * 3)
    shown = 0
    for row in resumable.itertuples(index=False):
        if shown >= RESUME_BUTTONS_SHOWN or store.latest_checkpoint(row.run_id) is None:
            continue
        shown += 1
        left, right = st.columns([5, 1])
        left.markdown(t(f"**{md_escape(row.name)}** (`{row.run_id}`) was {analysis.status_word(row.status)} at "
                        f"iteration {row.steps_done:,}: continue from its last checkpoint.",
                        f"**{md_escape(row.name)}** (`{row.run_id}`)은 반복 {row.steps_done:,}에서 "
                        f"{analysis.status_word(row.status, 'ko')}: 마지막 체크포인트부터 이어서 학습합니다."))
        if right.button(t("Resume", "이어서 학습"), key=f"lab_resume_{row.run_id}", width="stretch"):
            try:
                manager.resume(row.run_id)
            except (ValueError, KeyError) as error:
                st.error(str(error))
            else:
                _remember([row.run_id])
                st.rerun()
    delete_ui(past)
    archive_ui()


def _delete(run_ids: tuple[str, ...]) -> None:
    """on_click of Delete: teacher only (checked again here); running runs are never deleted."""
    if not teacher_unlocked():
        st.session_state["lab_delete_note"] = ("error", _teacher_only())
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
            st.caption(_teacher_only())
        labels = {row.run_id: f"{row.name} · {analysis.status_word(row.status, language())} · {row.run_id}"
                  for row in deletable.itertuples(index=False)}
        picked = st.session_state.get("lab_delete_pick")
        if picked and not set(picked) <= set(labels):  # deleted meanwhile (another tab)
            st.session_state["lab_delete_pick"] = [r for r in picked if r in labels]
        chosen = st.multiselect(t("Runs to delete", "지울 실행"), list(labels), format_func=labels.get,
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
        st.session_state["lab_archive_note"] = ("error", _teacher_only())
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
            st.caption(_teacher_only())
        left, right = st.columns(2)
        days = left.number_input(t("Older than (days)", "며칠보다 오래된"), min_value=0, max_value=3650, value=90,
                                 step=7, key="lab_archive_days", disabled=not teacher)
        keep = right.number_input(t("Always keep the newest", "항상 남길 최신 실행 수"), min_value=0, max_value=10_000,
                                  value=20, step=5, key="lab_archive_keep", disabled=not teacher)
        count = len(get_manager().store.prune_candidates(older_than_days=days, keep_last=keep))
        st.caption(t(f"{count} ended run(s) would move to `runs/archive/<date>/`, a runs folder of their own "
                     "(open it with `RESNET_EDU_RUNS_DIR`). Running runs never move.",
                     f"끝난 실행 {count}개가 `runs/archive/<날짜>/`(따로 열 수 있는 실행 폴더, "
                     "`RESNET_EDU_RUNS_DIR`로 열기)로 옮겨집니다. 학습 중인 실행은 옮기지 않습니다."))
        sure = st.checkbox(t("Yes, move them out of the Lab", "네, 실험실에서 옮깁니다"), key="lab_archive_sure",
                           disabled=not teacher)
        st.button(t("Archive", "보관"), key="lab_archive", on_click=_archive, args=(float(days), int(keep)),
                  disabled=not (teacher and count and sure))
        note = st.session_state.pop("lab_archive_note", None)
        if note:
            (st.success if note[0] == "success" else st.error)(note[1])


# ---------------------------------------------------------------- the page
st.title(t("Lab: train plain and residual nets", "실험실: plain 네트워크와 잔차 네트워크 학습시키기"))
st.markdown(t("Pick depths, start them together (they see the same batches, in lockstep), and compare. "
              "The curves live on the **Degradation** page.",
              "깊이를 고르고 함께 시작하면(같은 배치를 같은 속도로 학습) 비교할 수 있습니다. 곡선은 **성능 저하** "
              "페이지에 있습니다."))
start_ui()
data_sets_ui()
st.subheader(t("Training now", "학습 중"))
queue_ui()
st.page_link("app_pages/degradation.py", label=t("See the curves on the Degradation page →",
                                             "성능 저하 페이지에서 곡선 보기 →"), icon="📉")
past_runs_ui()
