"""Admission: whether a comparison or an analysis job may be queued, decided before anything is created.

Two checks, each a :class:`NotAdmitted` (a ``ValueError`` with an English and a Korean sentence)
when it fails, so nothing is queued and the reason is said:

* **memory** (:func:`check_memory`): an estimate of what a comparison needs — the activations one
  net keeps for its backward pass at that batch and image size (measured by a forward pass on
  PyTorch's ``meta`` device, which computes shapes and allocates nothing), the weights, their
  gradients and momentum for every net of the group, an evaluation batch, and the decoded data
  set — against what the training process can use: the machine's available memory (or the
  container's limit) minus a margin; on a CUDA card its free memory, asked with
  ``torch.cuda.mem_get_info`` only in a process that already trains on it (the CLI, the training
  process), else from the driver's ``nvidia-smi`` or a short child process
  (:func:`resnet_edu.devices.describe_cuda_cards`), so the Streamlit server never holds a CUDA
  context. The sentence names the largest batch that fits.
  The training process checks again as a group starts (``at_start``), with the device it really
  trains on: on a GPU the card's free memory is known exactly only there, and other lanes may hold
  some of it by then; runs that do not fit end ``failed`` with the sentence.
* **queues** (:func:`check_queue`, :func:`check_analysis_queue`): at most so many runs and
  analysis jobs waiting or training in the whole store, and per session (one browser tab),
  a session being named with :func:`in_session` around the submit.

A teacher changes the caps with environment variables (``CAPS`` lists them with their defaults).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import torch

from resnet_edu import devices, models
from resnet_edu.data.synthetic import SYNTHETIC_TEST_IMAGES, SYNTHETIC_TRAIN_IMAGES
from resnet_edu.runs import ENDED_STATUSES, RunStore
from resnet_edu.train import TrainConfig
from resnet_edu.train.build import SMALL_INPUT_MAX_PX
from resnet_edu.train.classroom import default_batch_size

GIB = 2**30
EVAL_BATCH = 500  # the lanes evaluate 500 test images at a time (resnet_edu.engine.lanes)
# The backward pass needs, beside what the forward pass saved, the gradient of the activation it is
# working on and of the one before it, and autocast and oneDNN keep converted copies: 1.5x the saved
# tensors and four of the largest activations, a margin on the safe side; benchmarks/memory_admission.py
# sets the estimate beside the measured peak (ImageNet-18, 64 px, batch 4/8: 0.9-1.1x, 2-core EPYC).
ACTIVATION_FACTOR = 1.5
OPTIMIZER_COPIES = 3  # weights, their gradients, SGD's momentum buffer
# What training takes beside its tensors: oneDNN's kernels and workspaces, the allocator's slack, the
# probes. benchmarks/memory_admission.py --small: ResNet-20 at batch 4 and 8 took 200-240 MiB more
# than a process that only imported torch (2-core EPYC, fp32).
FIXED_OVERHEAD = 256 * 2**20
# Images a data set holds (train, test) when it is complete; an image folder's count is not known
# before it is scanned (in the training process), so only ``max_train_images`` counts for it.
DATASET_IMAGES = {"synthetic": (SYNTHETIC_TRAIN_IMAGES, SYNTHETIC_TEST_IMAGES), "cifar10": (50_000, 10_000),
                  "imagenette": (9_469, 3_925)}
LARGEST_CLASSES = 1_000  # ImageNet: the most classes a data set here can have, for the estimate's last layer

# name: (environment variable, default, what it caps)
CAPS: dict[str, tuple[str, float, str]] = {
    "memory_margin_gb": ("RESNET_EDU_MEMORY_MARGIN_GB", 1.0, "memory left free beside the training process (GiB)"),
    "memory_limit_gb": ("RESNET_EDU_MEMORY_LIMIT_GB", 0.0, "most memory one comparison may use (GiB; 0: what is free)"),
    "queued_runs": ("RESNET_EDU_MAX_QUEUED_RUNS", 48, "runs waiting or training, all tabs together"),
    "queued_runs_per_session": ("RESNET_EDU_MAX_QUEUED_RUNS_PER_TAB", 12, "runs waiting or training, per tab"),
    "queued_jobs": ("RESNET_EDU_MAX_QUEUED_JOBS", 16, "analysis jobs waiting or running, all tabs together"),
    "queued_jobs_per_session": ("RESNET_EDU_MAX_QUEUED_JOBS_PER_TAB", 4, "analysis jobs waiting or running, per tab"),
}


def cap(name: str, environ: Mapping[str, str] | None = None) -> float:
    """The value of one of :data:`CAPS`: its environment variable when set to a number >= 0, else its default."""
    variable, default, _ = CAPS[name]
    text = (os.environ if environ is None else environ).get(variable, "").strip()
    try:
        value = float(text)
    except ValueError:
        return default
    return value if value >= 0 else default


class NotAdmitted(ValueError):
    """A comparison or job that is not queued, with the reason in English (``str``) and Korean (``ko``)."""

    def __init__(self, en: str, ko: str) -> None:
        super().__init__(en)
        self.en, self.ko = en, ko

    def in_language(self, lang: str) -> str:
        return self.ko if lang == "ko" else self.en


def _gib(count: float) -> str:
    return f"{count / GIB:.1f} GiB"


# --------------------------------------------------------------------------- memory

@dataclasses.dataclass(frozen=True)
class NetShape:
    """What one net keeps in memory, per image and in all: measured on the meta device."""

    saved_per_image: int  # bytes the forward pass keeps for the backward pass, per image (fp32)
    largest_per_image: int  # bytes of the largest single activation, per image (fp32)
    parameters: int


def _measure(family: str, depth: int, shortcut_type: str, num_classes: int, image_size: int) -> NetShape:
    """A forward pass on the meta device at batch 1 and 2: the difference is one image's activations."""
    small = family == "imagenet" and image_size <= SMALL_INPUT_MAX_PX
    opts = {"small_input": small} if family == "imagenet" else {}
    with torch.device("meta"):
        model = models.build_model(family, depth, num_classes, shortcut_type=shortcut_type, **opts)
    largest = [0]

    def watch(_module, _inputs, output) -> None:
        if isinstance(output, torch.Tensor):
            largest[0] = max(largest[0], output[0].numel() * 4)

    hooks = [m.register_forward_hook(watch) for m in model.modules() if not list(m.children())]
    saved = []
    for batch in (1, 2):
        total = [0]

        def pack(tensor: torch.Tensor, total=total) -> torch.Tensor:
            total[0] += tensor.numel() * 4  # as fp32, whatever autocast does
            return tensor

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            model(torch.empty(batch, 3, image_size, image_size, device="meta"))
        saved.append(total[0])
    for hook in hooks:
        hook.remove()
    return NetShape(saved[1] - saved[0], largest[0], models.count_parameters(model))


@functools.lru_cache(maxsize=128)
def net_shape(family: str, depth: int, shortcut_type: str = "A", num_classes: int = 10, image_size: int = 32) -> NetShape:
    """:class:`NetShape` of a net. A CIFAR net of depth 6n+2 is measured at n = 1 and 2 and extended
    in n: its n blocks per stage repeat the same shapes, so the extension is exact and a ResNet-1202
    costs as little to estimate as a ResNet-20."""
    if family != "cifar" or depth <= 14:
        return _measure(family, depth, shortcut_type, num_classes, image_size)
    one, two = (_measure(family, d, shortcut_type, num_classes, image_size) for d in (8, 14))
    blocks = (depth - 2) // 6
    return NetShape(one.saved_per_image + (blocks - 1) * (two.saved_per_image - one.saved_per_image),
                    max(one.largest_per_image, two.largest_per_image),
                    one.parameters + (blocks - 1) * (two.parameters - one.parameters))


@dataclasses.dataclass(frozen=True)
class MemoryNeed:
    """Bytes a comparison needs, by what needs them."""

    per_image: int  # activations of the largest net, per image of a batch
    activations: int  # at the chosen batch (the nets of a group take their step one after another)
    weights: int  # weights, gradients and momentum of every net
    evaluation: int  # an evaluation batch passing through the largest net
    dataset: int  # the decoded images (uint8), where their number is known
    batch: int
    fixed: int = FIXED_OVERHEAD  # kernels, workspaces, allocator slack

    @property
    def total(self) -> int:
        return self.activations + self.weights + self.evaluation + self.dataset + self.fixed

    def with_batch(self, batch: int) -> MemoryNeed:
        return dataclasses.replace(self, activations=batch * self.per_image, batch=batch)


def _batch_of(config: TrainConfig, device: str) -> int:
    batch = config.batch_size or default_batch_size(config.recipe, device, dataset=config.dataset)
    return max(1, batch // max(1, config.world_size))


def dataset_bytes(config: TrainConfig) -> int:
    """The decoded images of a run's data set at its image size, as uint8 (0 when their number is unknown)."""
    train, test = DATASET_IMAGES.get(config.dataset, (0, 0))
    if config.max_train_images is not None:
        train = config.max_train_images if not train else min(train, config.max_train_images)
    return (train + test) * 3 * config.image_size ** 2


def memory_needed(configs: Sequence[TrainConfig], device: str = "cpu") -> MemoryNeed:
    """What a comparison group of ``configs`` needs on ``device`` (see the module doc)."""
    classes = LARGEST_CLASSES if configs[0].dataset == "imagefolder" else 10
    shapes = [net_shape(c.family, c.depth, c.shortcut_type, classes, c.image_size) for c in configs]
    batch = _batch_of(configs[0], device)
    per_image = int(max(ACTIVATION_FACTOR * s.saved_per_image + 4 * s.largest_per_image for s in shapes))
    weights = sum(OPTIMIZER_COPIES * 4 * s.parameters for s in shapes)
    evaluation = EVAL_BATCH * 2 * max(s.largest_per_image for s in shapes)
    return MemoryNeed(per_image, batch * per_image, weights, evaluation, dataset_bytes(configs[0]), batch)


def _cgroup_room() -> int | None:
    """What a container's memory limit leaves (cgroup v2, then v1); None without a limit."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:
            return max(0, int(limit) - usage)
    return None


def available_host_memory() -> int | None:
    """Bytes the machine (or its container) can still give a process; None where it cannot be read."""
    room = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                room = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    container = _cgroup_room()
    if container is not None:
        room = container if room is None else min(room, container)
    return room


def available_device_memory(device: str) -> int | None:
    """Free bytes on a CUDA card: ``mem_get_info`` where this process already uses CUDA (the training
    process, the CLI), else asked in a child process; None for the CPU and MPS, or when unknown."""
    target = torch.device(device)
    if target.type != "cuda":
        return None
    if torch.cuda.is_initialized():
        return int(torch.cuda.mem_get_info(target)[0])
    free = _nvidia_smi_free(target.index or 0)
    if free is not None:
        return free
    cards = devices.describe_cuda_cards()
    index = target.index or 0
    return cards[index].get("free_bytes") if index < len(cards) else None


def _nvidia_smi_free(index: int) -> int | None:
    """A card's free memory now, from the driver's ``nvidia-smi`` (no CUDA context); None without it."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return None
    try:
        answer = subprocess.run([tool, "--query-gpu=memory.free", "--format=csv,noheader,nounits", f"--id={index}"],
                                capture_output=True, text=True, timeout=10, check=True)
        return int(float(answer.stdout.strip().splitlines()[0])) * 2**20  # MiB
    except (subprocess.SubprocessError, OSError, ValueError, IndexError):
        return None


def _budget(available: int | None) -> int | None:
    limit = cap("memory_limit_gb") * GIB
    room = None if available is None else max(0, available - int(cap("memory_margin_gb") * GIB))
    if limit > 0:
        room = int(limit) if room is None else min(room, int(limit))
    return room


def _largest_batch(need: MemoryNeed, room: int) -> int:
    spare = room - (need.total - need.activations)
    return max(0, spare // need.per_image) if need.per_image else 0


# How a memory refusal ends: at the submit nothing was created; in the training process (``at_start``)
# the runs exist, queued, and end failed with the sentence.
NOTHING_QUEUED = ("nothing was queued", "아무것도 대기열에 넣지 않았습니다")
NOT_STARTED = ("these runs did not start: start them again with a smaller setting",
               "이 실행들은 시작하지 않았습니다: 더 작은 설정으로 다시 시작하세요")


def _refusal(need: MemoryNeed, room: int, where_en: str, where_ko: str, at_start: bool = False) -> NotAdmitted:
    largest = _largest_batch(need, room)
    end_en, end_ko = NOT_STARTED if at_start else NOTHING_QUEUED
    head_en = (f"this comparison needs about {_gib(need.total)} of memory at batch {need.batch} "
               f"and {where_en} can give it {_gib(room)}")
    head_ko = f"이 비교는 배치 {need.batch}에서 메모리가 약 {_gib(need.total)} 필요한데 {where_ko}에 남은 것은 {_gib(room)}입니다"
    if largest >= 1:
        return NotAdmitted(f"{head_en}: the largest batch that fits is {largest}. Choose a batch size of at most "
                           f"{largest} (or fewer, shallower nets, or smaller images); {end_en}.",
                           f"{head_ko}. 들어가는 가장 큰 배치는 {largest}입니다. 배치 크기를 {largest} 이하로 "
                           f"(또는 더 적거나 얕은 네트워크, 더 작은 이미지로) 고르세요. {end_ko}.")
    return NotAdmitted(f"{head_en}: even a batch of 1 does not fit. Choose shallower or fewer nets, or smaller "
                       f"images; {end_en}.",
                       f"{head_ko}. 배치 1도 들어가지 않습니다. 더 얕거나 적은 네트워크, 또는 더 작은 이미지를 고르세요. "
                       f"{end_ko}.")


def check_memory(configs: Sequence[TrainConfig], device: str = "cpu", *, host_room: int | None = None,
                 device_room: int | None = None, at_start: bool = False) -> MemoryNeed:
    """The comparison's :class:`MemoryNeed`; :class:`NotAdmitted` when it does not fit.

    Args:
        configs: one comparison group.
        device: where it trains ("cpu", "cuda[:N]", "mps").
        host_room, device_room: available bytes (default: measured now, see the module doc); the
            margin and ``RESNET_EDU_MEMORY_LIMIT_GB`` apply to them as to measured ones.
        at_start: the check the training process makes as a group starts (its runs exist, queued):
            the sentence says they did not start instead of "nothing was queued".
    """
    if not configs:
        raise ValueError("choose at least one network to train")
    kind = torch.device(device).type
    need = memory_needed(configs, kind)
    host = _budget(available_host_memory() if host_room is None else host_room)
    if kind == "cuda":
        card = _budget(available_device_memory(device) if device_room is None else device_room)
        if card is not None and need.total > card:
            raise _refusal(need, card, "the GPU", "GPU", at_start)
        if host is not None and need.dataset + need.weights > host:  # the host holds the decoded set
            raise _refusal(dataclasses.replace(need, activations=0, evaluation=0), host, "this computer", "이 컴퓨터",
                           at_start)
        return need
    if host is not None and need.total > host:
        raise _refusal(need, host, "this computer", "이 컴퓨터", at_start)
    return need


# --------------------------------------------------------------------------- queues and sessions

_session: contextvars.ContextVar[str | None] = contextvars.ContextVar("resnet_edu_session", default=None)
_session_lock = threading.Lock()
_session_runs: dict[str, list[str]] = {}  # session id -> runs it queued (this process; ended ones dropped)
_session_jobs: dict[str, list[str]] = {}


@contextlib.contextmanager
def in_session(session_id: str | None) -> Iterator[None]:
    """Submits inside this block count against ``session_id``'s caps (one browser tab: pass its id)."""
    token = _session.set(session_id)
    try:
        yield
    finally:
        _session.reset(token)


def remember(run_ids: Sequence[str] = (), job_ids: Sequence[str] = ()) -> None:
    """Count these runs / jobs against the current session (see :func:`in_session`)."""
    session = _session.get()
    if session is None:
        return
    with _session_lock:
        _session_runs.setdefault(session, []).extend(run_ids)
        _session_jobs.setdefault(session, []).extend(job_ids)


def _still_active(store: RunStore, run_ids: list[str]) -> list[str]:
    statuses = store.statuses(run_ids)
    return [run_id for run_id in run_ids if statuses.get(run_id, "failed") not in ENDED_STATUSES]


def _jobs_active(store: RunStore, job_ids: list[str] | None = None) -> list[str]:
    jobs = store.list_analyses()
    active = jobs[jobs["status"].isin(("queued", "running"))]["job_id"].tolist() if len(jobs) else []
    return active if job_ids is None else [job_id for job_id in job_ids if job_id in set(active)]


def _full(what_en: str, what_ko: str, count: int, limit: int, variable: str, tab: bool) -> NotAdmitted:
    where_en, where_ko = ("in this tab", "이 탭에서") if tab else ("on this server", "이 서버에서")
    return NotAdmitted(f"{count} {what_en} are already waiting or training {where_en} (the limit is {limit}, "
                       f"{variable}); wait for some to end or stop some. Nothing was queued.",
                       f"{where_ko} 이미 {what_ko} {count}개가 대기 중이거나 실행 중입니다 (한도 {limit}, {variable}). "
                       f"몇 개가 끝나기를 기다리거나 멈추세요. 아무것도 대기열에 넣지 않았습니다.")


def check_queue(store: RunStore, new_runs: int) -> None:
    """:class:`NotAdmitted` when ``new_runs`` more runs would pass the server's or this session's cap."""
    total = sum(1 for row in store.run_menu() if row[3] not in ENDED_STATUSES)
    limit = int(cap("queued_runs"))
    if total + new_runs > limit:
        raise _full("runs", "실행", total, limit, CAPS["queued_runs"][0], tab=False)
    session = _session.get()
    if session is None:
        return
    with _session_lock:
        mine = _session_runs[session] = _still_active(store, _session_runs.get(session, []))
    limit = int(cap("queued_runs_per_session"))
    if len(mine) + new_runs > limit:
        raise _full("runs", "실행", len(mine), limit, CAPS["queued_runs_per_session"][0], tab=True)


def check_analysis_queue(store: RunStore) -> None:
    """:class:`NotAdmitted` when one more analysis job would pass the server's or this session's cap."""
    limit = int(cap("queued_jobs"))
    active = _jobs_active(store)
    if len(active) + 1 > limit:
        raise _full("analysis jobs", "분석 작업", len(active), limit, CAPS["queued_jobs"][0], tab=False)
    session = _session.get()
    if session is None:
        return
    with _session_lock:
        mine = _session_jobs[session] = [job for job in _session_jobs.get(session, []) if job in set(active)]
    limit = int(cap("queued_jobs_per_session"))
    if len(mine) + 1 > limit:
        raise _full("analysis jobs", "분석 작업", len(mine), limit, CAPS["queued_jobs_per_session"][0], tab=True)


def admit(store: RunStore, configs: Sequence[TrainConfig], device: str) -> None:
    """Every check a new comparison passes before its runs are created: the queue caps, then memory."""
    check_queue(store, len(configs))
    check_memory(configs, device)


__all__ = ["CAPS", "MemoryNeed", "NetShape", "NotAdmitted", "admit", "available_device_memory",
           "available_host_memory", "cap", "check_analysis_queue", "check_memory", "check_queue", "in_session",
           "memory_needed", "net_shape", "remember"]
