"""Opening a class pack: :func:`unpack` checks every part first, then brings the runs into a store in
one go (checkpoints moved beside the store, rows committed in one transaction; any failure undoes it)."""

from __future__ import annotations

import os
import pathlib
import re
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable
from typing import IO, Any

from resnet_edu.runs.disk import human_bytes
from resnet_edu.runs.schema import EVAL_COLUMNS, INSERT_EVENT, STEP_COLUMNS
from resnet_edu.runs.values import MAX_NAME_CHARS, dumps, loads, utc_now
from resnet_edu.sharing.packs.checks import (
    RunToOpen,
    check_checkpoint,
    check_manifest,
    check_member_names,
    check_tables,
    json_member,
    open_zip,
    read_member,
)
from resnet_edu.sharing.packs.layout import (
    ANALYSES,
    ANALYSIS_FIELDS,
    DISK_MARGIN_BYTES,
    MANIFEST,
    MAX_CHECKPOINT_BYTES,
    MAX_MANIFEST_BYTES,
    MAX_TABLES_BYTES,
    ROW_FIELDS,
    BadPack,
    Progress,
    UnpackResult,
)


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
    zf, name = open_zip(source)
    name = pack_name or name
    with zf:
        report(0.0, "reading the manifest")
        members = check_member_names(zf)
        if MANIFEST not in members:
            raise BadPack(f"{name} is a zip file but not a class pack (it has no {MANIFEST})")
        manifest = json_member(zf, members[MANIFEST], MAX_MANIFEST_BYTES)
        entries = check_manifest(manifest, members)
        total = sum(info.file_size for info in members.values())
        free = free_space(store.root)
        if total + DISK_MARGIN_BYTES > free:
            raise BadPack(f"the pack unpacks to {human_bytes(total)} but the disk of {store.root} has "
                          f"{human_bytes(free)} free: free some space and open it again")
        existing = {run_id for (run_id,) in store._read("SELECT run_id FROM runs", ())}
        runs: list[RunToOpen] = []
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
            runs.append(RunToOpen(run_id, {}, {}, sorted(checkpoints), {k: trained_by.get(k) for k in
                                                                  ("user", "host", "device", "date", "app_version")}))
        analyses_raw = json_member(zf, members[ANALYSES], MAX_MANIFEST_BYTES * 4) if ANALYSES in members else []
        analyses = _check_analyses(analyses_raw, {r for r in names})
        work = sum(members[f"runs/{r.run_id}/run.json"].file_size + sum(members[m].file_size for m in r.checkpoints)
                   for r in runs) or 1
        done = 0
        staging = store.root / f".unpacking-{secrets.token_hex(4)}"
        try:
            for run in runs:
                member = members[f"runs/{run.run_id}/run.json"]
                report(done / work, f"{names[run.run_id]}: checking the metrics")
                run.tables = json_member(zf, member, MAX_TABLES_BYTES)
                config = check_tables(run.run_id, run.tables)
                run.row = run.tables["run"]
                done += member.file_size
                for checkpoint in run.checkpoints:
                    info = members[checkpoint]
                    report(done / work, f"{names[run.run_id]}: checking {checkpoint.rsplit('/', 1)[1]}")
                    data = read_member(zf, info, MAX_CHECKPOINT_BYTES)
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
        if not isinstance(job, dict) or set(job) != set(ANALYSIS_FIELDS):
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


def _commit(store, runs: list[RunToOpen], analyses: list[dict], staging: pathlib.Path, pack_name: str,
            imported_at: str, manifest: dict) -> None:
    """Move the checked checkpoints into place, then write every row in one transaction; undo the moves on failure."""
    if not runs:
        return
    store.flush()
    moved: list[pathlib.Path] = []
    columns = set(ROW_FIELDS) & {row[1] for row in store._read("PRAGMA table_info(runs)", ())}
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
                keys = [k for k in ROW_FIELDS if k in columns]
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
                c.execute("INSERT OR IGNORE INTO analysis_jobs (" + ", ".join(ANALYSIS_FIELDS) + ") VALUES ("
                          + ", ".join("?" * len(ANALYSIS_FIELDS)) + ")", [job[k] for k in ANALYSIS_FIELDS])

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
