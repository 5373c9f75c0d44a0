"""Writing a class pack: runs of a store (rows, tables, finished analyses, checkpoint files) into one zip."""

from __future__ import annotations

import io
import json
import os
import pathlib
import secrets
import zipfile
from collections.abc import Iterable
from typing import IO

from resnet_edu.runs.schema import ACTIVE_STATUSES, EVAL_COLUMNS, STEP_COLUMNS
from resnet_edu.runs.values import check_run_id, loads, run_versions, utc_now
from resnet_edu.sharing.packs.layout import (
    ANALYSES,
    ANALYSIS_FIELDS,
    CHECKPOINT_NAME,
    EVENT_FIELDS,
    LAYER_FIELDS,
    MANIFEST,
    PACK_FORMAT,
    PACK_VERSION,
    ROW_FIELDS,
    PackSummary,
    Progress,
    this_machine,
)


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
            zf.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1),
                        compress_type=zipfile.ZIP_DEFLATED)
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
    return {"run": {key: row.get(key) for key in ROW_FIELDS},
            "steps": {"columns": STEP_COLUMNS, "rows": [list(r) for r in steps]},
            "evals": {"columns": EVAL_COLUMNS, "rows": [list(r) for r in evals]},
            "events": {"columns": list(EVENT_FIELDS), "rows": [list(r) for r in events]},
            "layer_stats": {kind: {"columns": list(LAYER_FIELDS), "rows": rows} for kind, rows in layers.items()}}, \
        row.get("owner")


def _checkpoint_files(store, run_id: str) -> list[pathlib.Path]:
    folder = store._checkpoint_path(run_id)
    if not folder.is_dir():
        return []
    from resnet_edu.train.checkpoint import PREVIOUS_CHECKPOINT  # a spare kept for recovery: not shared

    return sorted(p for p in folder.iterdir()
                  if p.is_file() and CHECKPOINT_NAME.fullmatch(p.name) and p.name != PREVIOUS_CHECKPOINT)


def _analyses_of(store, run_ids: set[str]) -> list[dict]:
    rows = store._read("SELECT " + ", ".join(ANALYSIS_FIELDS) + " FROM analysis_jobs WHERE status = 'finished'"
                       " ORDER BY created_at", ())
    jobs = []
    for row in rows:
        job = dict(zip(ANALYSIS_FIELDS, row))
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
