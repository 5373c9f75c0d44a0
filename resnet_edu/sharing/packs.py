"""Class packs: runs carried from the machine that trained them to the one in the classroom, in one zip file.

A pack holds whole runs: their rows, every logged iteration, evaluation, event and layer
statistic, the finished analyses (lesion studies, loss landscapes) about them, and their
checkpoint files (``init.pt`` and ``last.pt``), with a ``manifest.json`` that says what each run
is and who trained it where::

    manifest.json                  format, format_version, app_version, packed_at/by, runs, files
    analyses.json                  finished analysis jobs whose runs are all in the pack
    runs/<run_id>/run.json         the run's row and its tables (steps, evals, events, layer_stats)
    checkpoints/<run_id>/<name>.pt the run's checkpoint files, byte for byte

:func:`write_pack` makes one from runs of a store; :func:`unpack` brings one into a store.
Unpacking checks everything before it writes anything: the zip itself (not a zip, truncated,
damaged), the manifest's format version, every member's name (nothing outside the pack's own
layout, no path that climbs out of a folder), the sizes against the free disk, every table,
and every checkpoint, read from memory with ``torch.load(weights_only=True)`` (no pickled code)
and loaded *strictly* into the net its run's config builds. Checkpoints are then written to a
folder beside the store, moved into ``checkpoints/`` and the rows committed in one transaction;
any failure removes what was moved, so a bad pack leaves the store as it was.

Imported runs carry ``imported`` (the store's column): who trained them, on which host and
device, when, with which version, and which pack brought them. They are never resumed (a
pack's run stays as it was trained; :func:`refuse_resuming_imported`). A run whose id is
already in the store is skipped with a sentence (it is the same run, opened before); a pack
that lists one run id twice is refused.

No Streamlit here; torch is imported only when a pack is opened (the checkpoints are checked).
"""

from __future__ import annotations

import dataclasses
import getpass
import io
import json
import os
import pathlib
import re
import secrets
import shutil
import socket
import sqlite3
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any

from resnet_edu.runs.disk import human_bytes
from resnet_edu.runs.schema import ACTIVE_STATUSES, ENDED_STATUSES, EVAL_COLUMNS, INSERT_EVENT, STEP_COLUMNS
from resnet_edu.runs.values import MAX_NAME_CHARS, RunNotFound, check_run_id, dumps, loads, run_versions, utc_now
from resnet_edu.train.checkpoint import CHECKPOINT_FORMAT
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

_CHECKPOINT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}\.pt")
_RUN_TABLES = re.compile(r"runs/([A-Za-z0-9_-]{1,64})/run\.json")
_CHECKPOINT_MEMBER = re.compile(r"checkpoints/([A-Za-z0-9_-]{1,64})/([A-Za-z0-9_.-]{1,64}\.pt)")
# Columns of the runs row that travel (owner/owner_pid name a process on the packing machine: they do not).
_ROW_FIELDS = ("run_id", "name", "group_id", "status", "config", "device", "versions", "created_at", "started_at",
               "finished_at", "message", "steps_done", "total_steps", "last_checkpoint_step", "last_checkpoint_path",
               "images_per_second", "eta_seconds", "imported")
_LAYER_FIELDS = ("step", "layer_index", "layer", "value")
_EVENT_FIELDS = ("step", "kind", "detail", "created_at")
_ANALYSIS_FIELDS = ("job_id", "kind", "params", "run_ids", "status", "fraction", "message", "result", "created_at",
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


# ------------------------------------------------------------------ writing


def write_pack(store, run_ids: Iterable[str], destination: str | os.PathLike | IO[bytes], *,
               progress: Progress | None = None) -> PackSummary:
    """Write runs of ``store`` (rows, tables, analyses, checkpoints) into one zip.

    Args:
        store: the RunStore the runs are in.
        run_ids: the runs; each must have ended (a run still training is refused).
        destination: a file path (written to a temporary file, then renamed) or a binary file object.
        progress: called with (fraction done, what is being written).

    Raises:
        RunNotFound: a run id that is not in the store.
        ValueError: no runs, or a run still training.
    """
    ids = list(dict.fromkeys(check_run_id(r) for r in run_ids))
    if not ids:
        raise ValueError("choose at least one run to pack")
    store.flush()
    infos = [store.get_run(run_id) for run_id in ids]
    for info in infos:
        if info["status"] in ACTIVE_STATUSES:
            raise ValueError(f"run {info['run_id']} ({info['name']}) is still {info['status']}: "
                             "stop it or let it finish before packing")
    report = progress or (lambda fraction, message: None)
    packer = this_machine()
    files: dict[str, int] = {}
    manifest_runs = []
    checkpoints = 0
    path = None if hasattr(destination, "write") else pathlib.Path(destination)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp") if path is not None else None
    try:
        with zipfile.ZipFile(temporary or destination, "w", allowZip64=True) as zf:
            for i, info in enumerate(infos):
                run_id = info["run_id"]
                report(i / len(infos), f"{info['name']}: metrics")
                tables, owner = _tables_of(store, run_id)
                data = json.dumps(tables, ensure_ascii=False).encode("utf-8")
                member = f"runs/{run_id}/run.json"
                zf.writestr(member, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
                files[member] = len(data)
                names = []
                for file in _checkpoint_files(store, run_id):
                    report((i + 0.5) / len(infos), f"{info['name']}: {file.name}")
                    member = f"checkpoints/{run_id}/{file.name}"
                    # Stored, not deflated: float weights barely compress, and a download is built on a click.
                    zf.write(file, member, compress_type=zipfile.ZIP_STORED)
                    files[member] = file.stat().st_size
                    names.append(file.name)
                    checkpoints += 1
                manifest_runs.append(_manifest_entry(info, owner, names, packer))
            analyses = _analyses_of(store, set(ids))
            data = json.dumps(analyses, ensure_ascii=False).encode("utf-8")
            zf.writestr(ANALYSES, data, compress_type=zipfile.ZIP_DEFLATED)
            files[ANALYSES] = len(data)
            manifest = {"format": PACK_FORMAT, "format_version": PACK_VERSION,
                        "app_version": run_versions().get("resnet_lab"), "packed_at": utc_now(),
                        "packed_by": packer, "runs": manifest_runs, "files": files}
            zf.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1), compress_type=zipfile.ZIP_DEFLATED)
        if temporary is not None:
            os.replace(temporary, path)
    except BaseException:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise
    report(1.0, "done")
    size = path.stat().st_size if path is not None else _tell(destination)
    return PackSummary(str(path) if path is not None else None, ids, checkpoints, len(analyses), size)


def pack_bytes(store, run_ids: Iterable[str], progress: Progress | None = None) -> bytes:
    """The pack of ``run_ids`` as bytes (what the app's download button serves)."""
    buffer = io.BytesIO()
    write_pack(store, run_ids, buffer, progress=progress)
    return buffer.getvalue()


def _tell(handle) -> int:
    try:
        return int(handle.tell())
    except (AttributeError, OSError):
        return 0


def _tables_of(store, run_id: str) -> tuple[dict, str | None]:
    """The run's row and tables as the pack stores them, and its owner (the host that trained it comes first)."""
    columns = [row[1] for row in store._read("PRAGMA table_info(runs)", ())]
    row = dict(zip(columns, store._read("SELECT * FROM runs WHERE run_id = ?", (run_id,))[0]))
    steps = store._read(f"SELECT {', '.join(STEP_COLUMNS)} FROM steps WHERE run_id = ? ORDER BY step", (run_id,))
    evals = store._read(f"SELECT {', '.join(EVAL_COLUMNS)} FROM evals WHERE run_id = ? ORDER BY step", (run_id,))
    events = store._read("SELECT step, kind, detail, created_at FROM events WHERE run_id = ? ORDER BY id", (run_id,))
    layers: dict[str, list] = {}
    for kind, step, index, layer, value in store._read(
            "SELECT kind, step, layer_index, layer, value FROM layer_stats WHERE run_id = ?"
            " ORDER BY kind, step, layer_index", (run_id,)):
        layers.setdefault(kind, []).append([step, index, layer, value])
    return {"run": {key: row.get(key) for key in _ROW_FIELDS},
            "steps": {"columns": STEP_COLUMNS, "rows": [list(r) for r in steps]},
            "evals": {"columns": EVAL_COLUMNS, "rows": [list(r) for r in evals]},
            "events": {"columns": list(_EVENT_FIELDS), "rows": [list(r) for r in events]},
            "layer_stats": {kind: {"columns": list(_LAYER_FIELDS), "rows": rows} for kind, rows in layers.items()}}, \
        row.get("owner")


def _checkpoint_files(store, run_id: str) -> list[pathlib.Path]:
    folder = store._checkpoint_path(run_id)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and _CHECKPOINT_NAME.fullmatch(p.name))


def _analyses_of(store, run_ids: set[str]) -> list[dict]:
    rows = store._read("SELECT " + ", ".join(_ANALYSIS_FIELDS) + " FROM analysis_jobs WHERE status = 'finished'"
                       " ORDER BY created_at", ())
    jobs = []
    for row in rows:
        job = dict(zip(_ANALYSIS_FIELDS, row))
        about = loads(job["run_ids"], [])
        if about and set(about) <= run_ids:
            jobs.append(job)
    return jobs


def _manifest_entry(info: dict, owner: str | None, checkpoint_names: list[str], packer: dict) -> dict:
    imported = info.get("imported") or {}
    if imported.get("trained_by"):  # packed again: who trained it stays who trained it
        trained_by = imported["trained_by"]
    else:
        owner = owner or ""
        trained_by = {"user": packer["user"], "host": owner.split(":", 1)[0] if owner else packer["host"],
                      "device": info["device"], "date": info.get("started_at") or info.get("created_at"),
                      "app_version": (info.get("versions") or {}).get("resnet_lab")
                      or run_versions().get("resnet_lab")}
    return {"run_id": info["run_id"], "name": info["name"], "group_id": info.get("group_id"),
            "status": info["status"], "steps": int(info.get("steps_done") or 0), "device": info["device"],
            "config": info["config"], "trained_by": trained_by, "checkpoints": checkpoint_names}


# ------------------------------------------------------------------ reading and checking


@dataclasses.dataclass
class _Run:
    run_id: str
    row: dict
    tables: dict
    checkpoints: list[str]  # member names
    trained_by: dict


def _open_zip(source: str | os.PathLike | bytes | IO[bytes]) -> tuple[zipfile.ZipFile, str]:
    """The zip and the pack's name; BadPack for anything that is not a whole zip file."""
    if isinstance(source, (bytes, bytearray)):
        name, handle = "the pack", io.BytesIO(source)
        head = bytes(source[:200])
    elif hasattr(source, "read"):
        name, handle = getattr(source, "name", "the pack"), source
        position = handle.tell()
        head = handle.read(200)
        handle.seek(position)
    else:
        path = pathlib.Path(source)
        name = path.name
        if not path.is_file():
            raise BadPack(f"{name} does not exist")
        with open(path, "rb") as f:
            head = f.read(200)
        handle = path
    incomplete = BadPack(f"{name} is an incomplete zip file (its end is missing: a download or copy that stopped "
                         "early?); get the whole file again")
    try:
        zf = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        if head[:4] == b"PK\x03\x04":
            raise incomplete from None
        raise BadPack(f"{name} is not a class pack: it is not a zip file") from None
    # A pack starts with its first run's tables. Cut short, the zip's own directory is gone, and the
    # last one left in the file belongs to a checkpoint stored inside it (a torch file is a zip too).
    first = _first_member_name(head)
    if first is not None and _RUN_TABLES.fullmatch(first) and MANIFEST not in zf.NameToInfo:
        zf.close()
        raise incomplete
    return zf, str(name)


def _first_member_name(head: bytes) -> str | None:
    """The name in the zip's first local file header (None if there is none)."""
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        return None
    length = int.from_bytes(head[26:28], "little")
    return head[30:30 + length].decode("utf-8", "replace")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.file_size > limit:
        raise BadPack(f"{info.filename} is {human_bytes(info.file_size)}, more than a pack ever holds "
                      f"({human_bytes(limit)})")
    try:
        with zf.open(info) as handle:
            data = handle.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as error:
        raise BadPack(f"{info.filename} in the pack is damaged ({' '.join(str(error).split())[:120]}); "
                      "get the whole file again") from None
    if len(data) > limit:
        raise BadPack(f"{info.filename} is larger than its zip entry says: refused")
    return data


def _json_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> Any:
    data = _read_member(zf, info, limit)
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadPack(f"{info.filename} in the pack is not readable JSON") from None


def _check_member_names(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    members: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if (name.startswith(("/", "\\")) or "\\" in name or ".." in parts or re.match(r"[A-Za-z]:", name)
                or "\x00" in name):
            raise BadPack(f"the pack holds a path that leads outside its folder ({name[:80]!r}): refused")
        if info.is_dir():
            continue
        if not (name in (MANIFEST, ANALYSES) or _RUN_TABLES.fullmatch(name) or _CHECKPOINT_MEMBER.fullmatch(name)):
            raise BadPack(f"the pack holds a file a class pack never has ({name[:80]!r}): refused")
        if name in members:
            raise BadPack(f"the pack holds {name} twice: refused")
        members[name] = info
    return members


def _check_manifest(manifest: Any, members: Mapping[str, zipfile.ZipInfo]) -> list[dict]:
    if not isinstance(manifest, dict) or manifest.get("format") != PACK_FORMAT:
        raise BadPack("this zip file is not a ResNet Lab class pack (its manifest.json does not say so)")
    version = manifest.get("format_version")
    if version != PACK_VERSION:
        if isinstance(version, int) and version > PACK_VERSION:
            raise BadPack(f"this pack was made by a newer ResNet Lab (pack format {version}, app "
                          f"{manifest.get('app_version')}); this one opens format {PACK_VERSION}: update ResNet Lab")
        raise BadPack(f"this pack has format version {version!r}; this ResNet Lab opens format {PACK_VERSION}")
    runs = manifest.get("runs")
    files = manifest.get("files")
    if not isinstance(runs, list) or not runs or not isinstance(files, dict):
        raise BadPack("the pack's manifest lists no runs")
    listed = set(files) | {MANIFEST}
    if listed != set(members):
        extra = sorted(set(members) - listed) or sorted(listed - set(members))
        raise BadPack(f"the pack's files do not match its manifest ({extra[0][:80]}): refused")
    seen: set[str] = set()
    for entry in runs:
        run_id = entry.get("run_id") if isinstance(entry, dict) else None
        try:
            check_run_id(run_id)
        except RunNotFound:
            raise BadPack(f"the pack's manifest names a run with a bad id ({str(run_id)[:40]!r})") from None
        if run_id in seen:
            raise BadPack(f"the pack lists run {run_id} twice: refused (a pack holds each run once)")
        seen.add(run_id)
        if f"runs/{run_id}/run.json" not in members:
            raise BadPack(f"the pack lists run {run_id} but holds no data for it")
    for name in members:
        match = _RUN_TABLES.fullmatch(name) or _CHECKPOINT_MEMBER.fullmatch(name)
        if match and match.group(1) not in seen:
            raise BadPack(f"the pack holds {name}, of a run its manifest does not list: refused")
    return runs


def _check_tables(run_id: str, tables: Any) -> dict:
    from resnet_edu.train import TrainConfig  # the one definition of a valid run

    if not isinstance(tables, dict) or not isinstance(tables.get("run"), dict):
        raise BadPack(f"run {run_id} in the pack has no run record")
    row = tables["run"]
    if row.get("run_id") != run_id:
        raise BadPack(f"run {run_id}'s record in the pack names another run ({str(row.get('run_id'))[:40]})")
    if row.get("status") not in ENDED_STATUSES:
        raise BadPack(f"run {run_id} in the pack is {str(row.get('status'))[:20]!r}, not an ended run")
    name = row.get("name")
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_CHARS:
        raise BadPack(f"run {run_id} in the pack has no usable name")
    config = loads(row.get("config"), None)
    if not isinstance(config, dict):
        raise BadPack(f"run {run_id} in the pack has no training settings")
    try:
        TrainConfig.from_dict(config).validate()
    except (TypeError, ValueError) as error:
        raise BadPack(f"run {run_id} ({name}) in the pack has settings this ResNet Lab cannot use: {error}") from None
    for key in ("device", "versions", "created_at"):
        if not isinstance(row.get(key), str):
            raise BadPack(f"run {run_id} in the pack has no {key}")
    for key, kinds, required in (("steps_done", int, True), ("total_steps", int, False),
                                 ("last_checkpoint_step", int, False), ("images_per_second", (int, float), False),
                                 ("eta_seconds", (int, float), False), ("group_id", str, False),
                                 ("started_at", str, False), ("finished_at", str, False), ("message", str, False),
                                 ("last_checkpoint_path", str, False), ("imported", str, False)):
        value = row.get(key)
        if (value is None and required) or (value is not None and (isinstance(value, bool)
                                                                   or not isinstance(value, kinds))):
            raise BadPack(f"run {run_id} in the pack has a malformed {key}")
    for key, columns in (("steps", STEP_COLUMNS), ("evals", EVAL_COLUMNS), ("events", list(_EVENT_FIELDS))):
        _check_rows(run_id, key, tables.get(key), columns, text_columns={"kind", "detail", "created_at"})
    layer_stats = tables.get("layer_stats")
    if not isinstance(layer_stats, dict):
        raise BadPack(f"run {run_id} in the pack has no layer statistics table")
    for kind, table in layer_stats.items():
        if not isinstance(kind, str) or len(kind) > 64:
            raise BadPack(f"run {run_id} in the pack has a bad kind of layer statistics")
        _check_rows(run_id, f"layer_stats {kind}", table, list(_LAYER_FIELDS), text_columns={"layer"})
    return config


def _check_rows(run_id: str, what: str, table: Any, columns: list[str], text_columns: set[str]) -> None:
    if not isinstance(table, dict) or table.get("columns") != columns or not isinstance(table.get("rows"), list):
        raise BadPack(f"run {run_id}'s {what} table in the pack does not have the columns this ResNet Lab reads")
    for row in table["rows"]:
        if not isinstance(row, list) or len(row) != len(columns) or not isinstance(row[0], int):
            raise BadPack(f"run {run_id}'s {what} table in the pack has a malformed row")
        for name, value in zip(columns[1:], row[1:]):
            expected = str if name in text_columns else (int, float)
            if value is not None and (isinstance(value, bool) or not isinstance(value, expected)):
                raise BadPack(f"run {run_id}'s {what} table in the pack has a malformed value ({name})")


def check_checkpoint(data: bytes, member: str, config: Mapping[str, Any]) -> None:
    """BadPack unless ``data`` is a ResNet Lab checkpoint whose weights are exactly the net ``config`` builds.

    Read from memory with ``torch.load(weights_only=True)`` (a pickled object is refused, no code
    runs), then loaded strictly (``strict=True``) into the net built from the run's config.
    """
    import torch

    from resnet_edu.train import TrainConfig
    from resnet_edu.train.build import make_model

    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - corrupt, truncated, pickled code, not a torch file at all
        text = " ".join(str(error).split())
        if "Unsupported global" in text:  # a class or function the file would import and call
            raise BadPack(f"{member} contains Python objects that would run code when loaded: refused") from None
        detail = text[text.find("WeightsUnpickler error:"):] if "WeightsUnpickler error:" in text else text
        raise BadPack(f"{member} is not a readable checkpoint ({detail[:120] or type(error).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise BadPack(f"{member} is not a ResNet Lab checkpoint (no '{CHECKPOINT_FORMAT}' marker)")
    state = payload.get("model")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BadPack(f"{member} holds no weights")
    num_classes = payload.get("num_classes")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or not 1 <= num_classes <= 100_000:
        raise BadPack(f"{member} does not say how many classes its net has")
    run_config = TrainConfig.from_dict(dict(config))
    own = payload.get("config") if isinstance(payload.get("config"), dict) else {}
    for key in ("family", "depth", "shortcut_type"):
        if own.get(key) != getattr(run_config, key):
            raise BadPack(f"{member} is the checkpoint of another net ({key} {own.get(key)!r}, its run says "
                          f"{getattr(run_config, key)!r}): refused")
    model = make_model(run_config, num_classes)
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, ValueError, KeyError) as error:
        first = " ".join(str(error).split())
        raise BadPack(f"{member} does not match its run's net ({run_config.run_name}): {first[:200]}") from None


def _disk_free(folder: pathlib.Path) -> int:
    return shutil.disk_usage(folder).free


def unpack(store, source: str | os.PathLike | bytes | IO[bytes], *, progress: Progress | None = None,
           free_space: Callable[[pathlib.Path], int] = _disk_free, pack_name: str | None = None) -> UnpackResult:
    """Bring the runs of a class pack into ``store``: all checked first, then written in one go.

    Args:
        store: the RunStore to open the runs in.
        source: the pack: a path, its bytes, or a binary file object.
        progress: called with (fraction done, what is being checked or written).
        free_space: bytes free on the disk of a folder (default: ``shutil.disk_usage``).
        pack_name: the name recorded with each imported run (default: the file's name).

    Raises:
        BadPack: the file is not a usable pack (the store is unchanged).
    """
    started = time.perf_counter()
    report = progress or (lambda fraction, message: None)
    zf, name = _open_zip(source)
    name = pack_name or name
    with zf:
        report(0.0, "reading the manifest")
        members = _check_member_names(zf)
        if MANIFEST not in members:
            raise BadPack(f"{name} is a zip file but not a class pack (it has no {MANIFEST})")
        manifest = _json_member(zf, members[MANIFEST], MAX_MANIFEST_BYTES)
        entries = _check_manifest(manifest, members)
        total = sum(info.file_size for info in members.values())
        free = free_space(store.root)
        if total + DISK_MARGIN_BYTES > free:
            raise BadPack(f"the pack unpacks to {human_bytes(total)} but the disk of {store.root} has "
                          f"{human_bytes(free)} free: free some space and open it again")
        existing = {run_id for (run_id,) in store._read("SELECT run_id FROM runs", ())}
        runs: list[_Run] = []
        names: dict[str, str] = {}
        skipped: list[tuple[str, str]] = []
        for entry in entries:
            run_id = entry["run_id"]
            names[run_id] = str(entry.get("name") or run_id)[:MAX_NAME_CHARS]
            if run_id in existing:
                skipped.append((run_id, f"run {run_id} ({names[run_id]}) is already in this store "
                                        "(opened before, or trained here): skipped"))
                continue
            checkpoints = [m for m in members if m.startswith(f"checkpoints/{run_id}/")]
            trained_by = entry.get("trained_by") if isinstance(entry.get("trained_by"), dict) else {}
            runs.append(_Run(run_id, {}, {}, sorted(checkpoints), {k: trained_by.get(k) for k in
                                                                  ("user", "host", "device", "date", "app_version")}))
        analyses_raw = _json_member(zf, members[ANALYSES], MAX_MANIFEST_BYTES * 4) if ANALYSES in members else []
        analyses = _check_analyses(analyses_raw, {r for r in names})
        work = sum(members[f"runs/{r.run_id}/run.json"].file_size + sum(members[m].file_size for m in r.checkpoints)
                   for r in runs) or 1
        done = 0
        staging = store.root / f".unpacking-{secrets.token_hex(4)}"
        try:
            for run in runs:
                member = members[f"runs/{run.run_id}/run.json"]
                report(done / work, f"{names[run.run_id]}: checking the metrics")
                run.tables = _json_member(zf, member, MAX_TABLES_BYTES)
                config = _check_tables(run.run_id, run.tables)
                run.row = run.tables["run"]
                done += member.file_size
                for checkpoint in run.checkpoints:
                    info = members[checkpoint]
                    report(done / work, f"{names[run.run_id]}: checking {checkpoint.rsplit('/', 1)[1]}")
                    data = _read_member(zf, info, MAX_CHECKPOINT_BYTES)
                    check_checkpoint(data, checkpoint, config)  # from memory, before anything is written
                    target = staging / run.run_id / checkpoint.rsplit("/", 1)[1]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                    done += info.file_size
                    del data
            report(0.98, "writing into the store")
            imported_at = utc_now()
            _commit(store, runs, analyses, staging, name, imported_at, manifest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    report(1.0, "done")
    first = runs[0].trained_by if runs else {}
    return UnpackResult([r.run_id for r in runs], names, skipped, len(analyses) if runs else 0,
                        sum(len(r.checkpoints) for r in runs), total, time.perf_counter() - started, first)


def _check_analyses(raw: Any, run_ids: set[str]) -> list[dict]:
    if not isinstance(raw, list):
        raise BadPack(f"{ANALYSES} in the pack is not a list of analyses")
    jobs = []
    for job in raw:
        if not isinstance(job, dict) or set(job) != set(_ANALYSIS_FIELDS):
            raise BadPack(f"{ANALYSES} in the pack has a malformed analysis")
        about = loads(job["run_ids"], None)
        if (not isinstance(job["job_id"], str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", job["job_id"])
                or not isinstance(about, list) or not about or not set(about) <= run_ids
                or job["status"] != "finished" or not isinstance(job["kind"], str)):
            raise BadPack(f"{ANALYSES} in the pack has an analysis of runs it does not hold")
        for key in ("params", "result"):
            if job[key] is not None and loads(job[key], None) is None:
                raise BadPack(f"{ANALYSES} in the pack has an unreadable analysis {key}")
        jobs.append(job)
    return jobs


def _commit(store, runs: list[_Run], analyses: list[dict], staging: pathlib.Path, pack_name: str,
            imported_at: str, manifest: dict) -> None:
    """Move the checked checkpoints into place, then write every row in one transaction; undo the moves on failure."""
    if not runs:
        return
    store.flush()
    moved: list[pathlib.Path] = []
    columns = set(_ROW_FIELDS) & {row[1] for row in store._read("PRAGMA table_info(runs)", ())}
    try:
        for run in runs:
            source = staging / run.run_id
            if not source.is_dir():
                continue
            target = store._checkpoint_path(run.run_id)
            if target.exists():  # files left behind by a deleted run of the same id: never a live run's
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)  # same disk: a rename, whole or not at all
            moved.append(target)

        def work(c: sqlite3.Connection) -> None:
            for run in runs:
                if c.execute("SELECT 1 FROM runs WHERE run_id = ?", (run.run_id,)).fetchone():
                    raise BadPack(f"run {run.run_id} appeared in this store while the pack was opened: "
                                  "nothing was opened; try again")
                row = dict(run.row)
                kept = [m.rsplit("/", 1)[1] for m in run.checkpoints]
                last = pathlib.PurePosixPath(str(row.get("last_checkpoint_path") or "")).name
                row["last_checkpoint_path"] = f"checkpoints/{run.run_id}/{last}" if last in kept else None
                if row["last_checkpoint_path"] is None:
                    row["last_checkpoint_step"] = None
                earlier = loads(row.get("imported"), None) or {}
                row["imported"] = dumps({"trained_by": earlier.get("trained_by") or run.trained_by,
                                         "pack": pack_name, "imported_at": imported_at,
                                         "packed_at": manifest.get("packed_at"), "packed_by": manifest.get("packed_by"),
                                         "app_version": manifest.get("app_version")})
                keys = [k for k in _ROW_FIELDS if k in columns]
                c.execute(f"INSERT INTO runs ({', '.join(keys)}) VALUES ({', '.join('?' * len(keys))})",
                          [row.get(k) for k in keys])
                tables = run.tables
                c.executemany(f"INSERT INTO steps (run_id, {', '.join(STEP_COLUMNS)}) VALUES "
                              f"(?, {', '.join('?' * len(STEP_COLUMNS))})",
                              [(run.run_id, *r) for r in tables["steps"]["rows"]])
                c.executemany(f"INSERT INTO evals (run_id, {', '.join(EVAL_COLUMNS)}) VALUES "
                              f"(?, {', '.join('?' * len(EVAL_COLUMNS))})",
                              [(run.run_id, *r) for r in tables["evals"]["rows"]])
                for kind, table in tables["layer_stats"].items():
                    c.executemany("INSERT OR REPLACE INTO layer_stats (run_id, kind, step, layer_index, layer, value)"
                                  " VALUES (?, ?, ?, ?, ?, ?)", [(run.run_id, kind, *r) for r in table["rows"]])
                c.executemany(INSERT_EVENT, [(run.run_id, step, kind, _moved_detail(kind, detail, run.run_id), at)
                                             for step, kind, detail, at in tables["events"]["rows"]])
                c.execute(INSERT_EVENT, (run.run_id, int(row.get("steps_done") or 0), "imported",
                                         dumps({"pack": pack_name, "trained_by": run.trained_by}), imported_at))
            for job in analyses:
                c.execute("INSERT OR IGNORE INTO analysis_jobs (" + ", ".join(_ANALYSIS_FIELDS) + ") VALUES ("
                          + ", ".join("?" * len(_ANALYSIS_FIELDS)) + ")", [job[k] for k in _ANALYSIS_FIELDS])

        try:
            store._transaction(work)
        except sqlite3.IntegrityError as error:  # e.g. an iteration listed twice: rolled back, nothing written
            raise BadPack(f"the pack's tables repeat a row ({error}): nothing was opened") from None
    except BaseException:
        for target in moved:
            shutil.rmtree(target, ignore_errors=True)
        raise
    store._known.update(run.run_id for run in runs)


def _moved_detail(kind: str, detail: str | None, run_id: str) -> str | None:
    """A checkpoint event's path, as it is in this store (the packing store's path meant nothing here)."""
    if kind != "checkpoint":
        return detail
    parsed = loads(detail, {})
    if isinstance(parsed, dict) and parsed.get("path"):
        parsed["path"] = f"checkpoints/{run_id}/{pathlib.PurePosixPath(str(parsed['path'])).name}"
        return dumps(parsed)
    return detail


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


__all__ = ["ANALYSES", "BadPack", "MANIFEST", "PACK_FORMAT", "PACK_VERSION", "PackSummary", "UnpackResult",
           "check_checkpoint", "default_pack_name", "pack_bytes", "pack_files", "packs_folder", "provenance_line",
           "refuse_resuming_imported", "runs_of_group", "this_machine", "unpack", "write_pack"]
