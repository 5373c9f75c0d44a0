"""What a class pack is: its layout and limits, what writing and opening one report, who trained its runs.

:data:`PACK_FORMAT` and :data:`PACK_VERSION` name the layout (see :mod:`resnet_edu.sharing.packs`);
the size limits bound what a reader accepts; :class:`PackSummary` and :class:`UnpackResult` say
what :func:`~resnet_edu.sharing.packs.write_pack` and :func:`~resnet_edu.sharing.packs.unpack`
did; provenance (:func:`this_machine`, :func:`provenance_line`, :func:`refuse_resuming_imported`)
says who trained an imported run, where; and where the Lab finds packs on disk.
"""

from __future__ import annotations

import dataclasses
import getpass
import pathlib
import re
import socket
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from resnet_edu.words import pick

PACK_FORMAT = "resnet-lab-pack"
PACK_VERSION = 1  # the layout above; a reader refuses any other
MANIFEST = "manifest.json"
ANALYSES = "analyses.json"
PACK_SUFFIX = ".zip"

MAX_MANIFEST_BYTES = 16_000_000
MAX_TABLES_BYTES = 2_000_000_000  # one run's run.json: a 64k-iteration ResNet-110 with probes is ~100 MB
MAX_CHECKPOINT_BYTES = 1_000_000_000  # ResNet-152 with its optimizer state is ~500 MB
DISK_MARGIN_BYTES = 64 * 1024 * 1024  # left free after unpacking, so training and the store can still write

CHECKPOINT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}\.pt")
RUN_TABLES_MEMBER = re.compile(r"runs/([A-Za-z0-9_-]{1,64})/run\.json")
CHECKPOINT_MEMBER = re.compile(r"checkpoints/([A-Za-z0-9_-]{1,64})/([A-Za-z0-9_.-]{1,64}\.pt)")
# Columns of the runs row that travel (owner/owner_pid name a process on the packing machine: they do not).
ROW_FIELDS = ("run_id", "name", "group_id", "status", "config", "device", "versions", "created_at", "started_at",
               "finished_at", "message", "steps_done", "total_steps", "last_checkpoint_step", "last_checkpoint_path",
               "images_per_second", "eta_seconds", "imported")
LAYER_FIELDS = ("step", "layer_index", "layer", "value")
EVENT_FIELDS = ("step", "kind", "detail", "created_at")
ANALYSIS_FIELDS = ("job_id", "kind", "params", "run_ids", "status", "fraction", "message", "result", "created_at",
                    "updated_at")

Progress = Callable[[float, str], None]


class BadPack(ValueError):
    """A file that cannot be opened as a class pack; the message says why, in a sentence."""


@dataclasses.dataclass
class PackSummary:
    """What :func:`write_pack` wrote."""

    path: str | None  # the file, or None when written to a file object
    run_ids: list[str]
    checkpoints: int  # checkpoint files in the pack
    analyses: int  # analysis results in the pack
    bytes: int  # size of the zip


@dataclasses.dataclass
class UnpackResult:
    """What :func:`unpack` did: the runs brought in, the runs skipped (and why), the time it took."""

    imported: list[str]
    names: dict[str, str]  # run id -> name, for every run of the pack
    skipped: list[tuple[str, str]]  # (run id, why), in English
    analyses: int
    checkpoints: int
    bytes: int  # uncompressed size of the pack
    seconds: float
    trained_by: dict[str, Any]  # the first imported run's provenance (who, where, device)

    def sentence(self, lang: str = "en") -> str:
        """The result in plain words, for the CLI and the Lab."""
        who = provenance_line(self.trained_by, lang) if self.trained_by else ""
        text = ""
        if self.imported:
            names = ", ".join(self.names[r] for r in self.imported)
            text = pick(lang, f"Opened {len(self.imported)} run(s): {names} ({who}). ",
                        f"실행 {len(self.imported)}개를 열었습니다: {names} ({who}). ")
            if self.analyses:
                text += pick(lang, f"With {self.analyses} analysis result(s). ",
                             f"분석 결과 {self.analyses}개도 함께 열었습니다. ")
        if self.skipped:
            skipped = ", ".join(f"{self.names.get(r, r)} ({r})" for r, _ in self.skipped)
            if self.imported:
                text += pick(lang, f"Skipped {len(self.skipped)} run(s) already in this store: {skipped}.",
                             f"이미 이 저장소에 있는 실행 {len(self.skipped)}개는 건너뛰었습니다: {skipped}.")
            else:
                text = pick(lang, f"Nothing new: the {len(self.skipped)} run(s) of this pack are already in this "
                                  f"store ({skipped}).",
                            f"새로 연 실행이 없습니다: 이 수업 팩의 실행 {len(self.skipped)}개는 이미 이 저장소에 "
                            f"있습니다 ({skipped}).")
        return text.strip()


# ------------------------------------------------------------------ provenance


def this_machine() -> dict[str, str]:
    """Who and where, as a pack records it: the user and host name of this process."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment (a container): say so
        user = "unknown"
    return {"user": user, "host": socket.gethostname()}


def provenance_line(trained_by: Mapping[str, Any] | None, lang: str = "en") -> str:
    """"trained by kim on gpu-box (cuda), 2026-03-01" for an imported run's provenance."""
    if not trained_by:
        return ""
    date = str(trained_by.get("date") or "")[:10]
    device = trained_by.get("device") or "?"
    user, host = trained_by.get("user") or "?", trained_by.get("host") or "?"
    return pick(lang, f"trained by {user} on {host} ({device})" + (f", {date}" if date else ""),
                f"{user}이(가) {host}({device})에서 학습" + (f", {date}" if date else ""))


def refuse_resuming_imported(info: Mapping[str, Any]) -> None:
    """ValueError with a sentence when the run came from a class pack: such a run is never resumed here.

    Args:
        info: the run as ``RunStore.get_run`` returns it.
    """
    imported = info.get("imported")
    if imported:
        who = provenance_line(imported.get("trained_by"))
        raise ValueError(f"run {info['run_id']} ({info['name']}) was opened from a class pack ({who}): it stays as "
                         "it was trained and is not resumed here; start a new run to train further")


def runs_of_group(store, group_id: str) -> list[str]:
    """The run ids of one comparison group, oldest first (the order they were created)."""
    frame = store.list_runs(group_id=group_id)
    if frame.empty:
        raise ValueError(f"no runs in group {group_id!r} (runs list shows each run's group)")
    return list(reversed(frame["run_id"].tolist()))


def default_pack_name(names: Iterable[str]) -> str:
    """A file name for a pack of these runs, e.g. ``plain-20_plain-56_ResNet-56.zip``."""
    text = "_".join(re.sub(r"[^A-Za-z0-9_.-]+", "-", n).strip("-") for n in names)[:80] or "runs"
    return f"{text}{PACK_SUFFIX}"


def packs_folder() -> pathlib.Path:
    """Where the Lab lists class packs from: ``<data root>/packs/`` (for packs larger than the upload limit)."""
    from resnet_edu.data.root import default_data_root

    return default_data_root() / "packs"


def pack_files(folder: pathlib.Path | None = None) -> list[pathlib.Path]:
    """The ``.zip`` files in the packs folder, newest first (none when it does not exist)."""
    folder = folder or packs_folder()
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.suffix.lower() == PACK_SUFFIX and p.is_file()]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)
