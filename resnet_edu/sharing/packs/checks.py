"""Checking a class pack before anything is written: the zip, its member names, the manifest, every
table and every checkpoint (read from memory with ``weights_only=True`` and loaded strictly into the
net its run's config builds). Each check raises :class:`BadPack` with a sentence."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import pathlib
import re
import zipfile
import zlib
from collections.abc import Mapping
from typing import IO, Any

from resnet_edu.runs.disk import human_bytes
from resnet_edu.runs.schema import ENDED_STATUSES, EVAL_COLUMNS, STEP_COLUMNS
from resnet_edu.runs.values import MAX_NAME_CHARS, RunNotFound, check_run_id, loads
from resnet_edu.sharing.packs.layout import (
    ANALYSES,
    CHECKPOINT_MEMBER,
    EVENT_FIELDS,
    LAYER_FIELDS,
    MANIFEST,
    PACK_FORMAT,
    PACK_VERSION,
    RUN_TABLES_MEMBER,
    BadPack,
)
from resnet_edu.train.checkpoint import CHECKPOINT_FORMAT


@dataclasses.dataclass
class RunToOpen:
    run_id: str
    row: dict
    tables: dict
    checkpoints: list[str]  # member names
    trained_by: dict


def open_zip(source: str | os.PathLike | bytes | IO[bytes]) -> tuple[zipfile.ZipFile, str]:
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
    if first is not None and RUN_TABLES_MEMBER.fullmatch(first) and MANIFEST not in zf.NameToInfo:
        zf.close()
        raise incomplete
    return zf, str(name)


def _first_member_name(head: bytes) -> str | None:
    """The name in the zip's first local file header (None if there is none)."""
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        return None
    length = int.from_bytes(head[26:28], "little")
    return head[30:30 + length].decode("utf-8", "replace")


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
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


def json_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> Any:
    data = read_member(zf, info, limit)
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadPack(f"{info.filename} in the pack is not readable JSON") from None


def check_member_names(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    members: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if (name.startswith(("/", "\\")) or "\\" in name or ".." in parts or re.match(r"[A-Za-z]:", name)
                or "\x00" in name):
            raise BadPack(f"the pack holds a path that leads outside its folder ({name[:80]!r}): refused")
        if info.is_dir():
            continue
        if not (name in (MANIFEST, ANALYSES) or RUN_TABLES_MEMBER.fullmatch(name) or CHECKPOINT_MEMBER.fullmatch(name)):
            raise BadPack(f"the pack holds a file a class pack never has ({name[:80]!r}): refused")
        if name in members:
            raise BadPack(f"the pack holds {name} twice: refused")
        members[name] = info
    return members


def check_manifest(manifest: Any, members: Mapping[str, zipfile.ZipInfo]) -> list[dict]:
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
        match = RUN_TABLES_MEMBER.fullmatch(name) or CHECKPOINT_MEMBER.fullmatch(name)
        if match and match.group(1) not in seen:
            raise BadPack(f"the pack holds {name}, of a run its manifest does not list: refused")
    return runs


def check_tables(run_id: str, tables: Any) -> dict:
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
    for key, columns in (("steps", STEP_COLUMNS), ("evals", EVAL_COLUMNS), ("events", list(EVENT_FIELDS))):
        _check_rows(run_id, key, tables.get(key), columns, text_columns={"kind", "detail", "created_at"})
    layer_stats = tables.get("layer_stats")
    if not isinstance(layer_stats, dict):
        raise BadPack(f"run {run_id} in the pack has no layer statistics table")
    for kind, table in layer_stats.items():
        if not isinstance(kind, str) or len(kind) > 64:
            raise BadPack(f"run {run_id} in the pack has a bad kind of layer statistics")
        _check_rows(run_id, f"layer_stats {kind}", table, list(LAYER_FIELDS), text_columns={"layer"})
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
