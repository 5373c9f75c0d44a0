"""``runs``: list, pack, unpack, export (CSV, weights, TensorBoard), prune, resume runs and switch the shortcuts of a torchrun job, all from the store."""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import sys
import time
from pathlib import Path

from resnet_edu.cli.parser import UserError
from resnet_edu.cli.train_command import run_summary, train_distributed


def runs_main(args: argparse.Namespace) -> int:
    from resnet_edu import distributed
    from resnet_edu.runs import RunNotFound, RunStore, StoreDamaged
    from resnet_edu.runs.disk import describe_write_error, is_write_failure

    launch = distributed.launch_from_env()
    if args.runs_command == "resume" and launch is not None:  # rank 0 opens the store, the others never do
        return train_distributed(args, launch, resume_run_id=args.run_id)

    try:
        store = RunStore()
    except StoreDamaged as error:
        raise UserError(str(error)) from None
    if store.damage_report:  # set aside and salvaged: say so, then go on
        print(store.damage_report, file=sys.stderr)
    try:
        if args.runs_command in ("pack", "unpack"):
            from resnet_edu.cli.pack_command import pack_main

            return pack_main(store, args)
        if args.runs_command == "list":
            frame = store.list_runs()
            # Runs opened from a class pack say who trained them where; the others are this machine's.
            frame["imported"] = frame["imported"].map(
                lambda imported: _trained_by(imported) if isinstance(imported, dict) else "")
            columns = ["run_id", "name", "status", "steps_done", "total_steps", "device", "created_at", "group_id",
                       "imported"]
            frame = frame[[c for c in columns if c in frame.columns]]
            if args.json:
                print(frame.to_json(orient="records"))
            elif frame.empty:
                print("no runs yet: python -m resnet_edu train --depth 20 --epochs 1")
            else:
                print(frame.to_string(index=False))
            return 0
        if args.runs_command == "export" and args.tensorboard:
            return _export_tensorboard(store, args)
        if args.runs_command == "export":
            args.run_id = _one_run(args)
        if args.runs_command == "export" and args.weights:
            return _export_weights(store, args)
        if args.runs_command == "export":
            text = store.export_csv(args.run_id)
            if args.output:
                try:
                    with open(args.output, "w", encoding="utf-8") as handle:
                        handle.write(text)
                except OSError as error:
                    if not is_write_failure(error):
                        raise UserError(f"cannot write {args.output}: {error.strerror or error}") from None
                    raise UserError(describe_write_error(error, Path(args.output).parent,
                                                         advice="free some space and export again")) from None
            else:
                sys.stdout.write(text)
            return 0
        if args.runs_command == "prune":
            return _prune(store, args)
        if args.runs_command == "shortcuts":
            return _request_shortcuts(store, args)
        return _resume(store, args)
    except RunNotFound as error:
        raise UserError(str(error)) from None
    finally:
        store.close()


def _trained_by(imported: dict) -> str:
    from resnet_edu.sharing.packs import provenance_line

    return provenance_line(imported.get("trained_by"))


def _prune(store, args: argparse.Namespace) -> int:
    from resnet_edu.runs.disk import human_bytes

    if args.older_than is None and args.keep_last is None:
        raise UserError("say which runs: --older-than DAYS, --keep-last N, or both")
    if (args.older_than is not None and not (0 <= args.older_than < 1e6)) or (args.keep_last is not None
                                                                               and args.keep_last < 0):
        raise UserError("--older-than must be 0 or more days, --keep-last 0 or more runs")
    run_ids = store.prune_candidates(older_than_days=args.older_than, keep_last=args.keep_last)
    verb = "delete" if args.delete else "archive"
    if args.dry_run or not run_ids:
        print(f"would {verb} {len(run_ids)} runs" + (": " + " ".join(run_ids) if run_ids else ""))
        return 0
    try:
        if args.delete:
            store.delete_runs(run_ids)
            print(f"deleted {len(run_ids)} runs")
        else:
            print(f"archived {len(run_ids)} runs to {store.archive_runs(run_ids)}")
        if args.compact:
            before, after = store.compact()
            print(f"{store.db_path.name}: {human_bytes(before)} -> {human_bytes(after)}")
    except ValueError as error:
        raise UserError(str(error)) from None
    except (OSError, sqlite3.Error) as error:  # a full disk while copying or compacting: nothing was deleted
        from resnet_edu.runs.disk import describe_write_error

        raise UserError(describe_write_error(error, store.root, advice="free some space and try again")) from None
    return 0


def _one_run(args: argparse.Namespace) -> str:
    """The one run that --csv and --weights export."""
    if len(args.run_ids) != 1 or args.group is not None:
        raise UserError("--csv and --weights export one RUN_ID (several runs or --group: use --tensorboard DIR)")
    return args.run_ids[0]


def _export_tensorboard(store, args: argparse.Namespace) -> int:
    """``runs export RUN_ID… | --group GROUP --tensorboard DIR``: one event folder per run; prints one JSON line."""
    from resnet_edu.runs.disk import describe_write_error, is_write_failure
    from resnet_edu.sharing.tensorboard import write_runs

    if bool(args.run_ids) == (args.group is not None):
        raise UserError("say which runs: RUN_ID… or --group GROUP (not both)")
    if args.group is not None:
        run_ids = store.list_runs(group_id=args.group)["run_id"].tolist()[::-1]  # oldest first, as started
        if not run_ids:
            raise UserError(f"no runs in group '{args.group}' (python -m resnet_edu runs list shows the groups)")
    else:
        run_ids = list(dict.fromkeys(args.run_ids))
        for run_id in run_ids:
            store.get_run(run_id)  # RunNotFound (exit 2) before anything is written
    folder = Path(args.tensorboard)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} is a file, not a folder: give --tensorboard a folder")
    try:
        written = write_runs(store, run_ids, folder)
    except OSError as error:
        if not is_write_failure(error):
            raise UserError(f"cannot write {folder}: {error.strerror or error}") from None
        raise UserError(describe_write_error(error, folder, advice="free some space and export again")) from None
    print(json.dumps({"tensorboard": str(folder), "open_with": f"tensorboard --logdir {folder}",
                      "runs": [{"run_id": run_id, "folder": str(path)} for run_id, path in written.items()]}))
    return 0


def _export_weights(store, args: argparse.Namespace) -> int:
    """``runs export RUN_ID --weights FILE``: the state_dict (torchvision layout) and its JSON; prints both paths."""
    from resnet_edu.weights import export_run

    try:
        weights_path, config_path = export_run(store, args.run_id, args.weights)
    except (ValueError, OSError) as error:
        raise UserError(" ".join(str(error).split())) from None
    print(json.dumps({"run_id": args.run_id, "weights": str(weights_path), "config": str(config_path)}))
    return 0


def _request_shortcuts(store, args: argparse.Namespace) -> int:
    from resnet_edu.models import stage_count
    from resnet_edu.runs import ACTIVE_STATUSES
    from resnet_edu.runs.requests import ShortcutInbox
    from resnet_edu.train import TrainConfig

    info = store.get_run(args.run_id)
    if info["status"] not in ACTIVE_STATUSES:
        raise UserError(f"run {args.run_id} is {info['status']}, not training")
    if int(info["config"].get("world_size", 1)) <= 1:
        raise UserError(f"run {args.run_id} trains in one process: switch its shortcuts in the Lab "
                        "(this command reaches runs trained under torchrun)")
    stages = set(range(1, stage_count(TrainConfig.from_dict(info["config"]).family) + 1))
    if args.stages is not None and not set(args.stages) <= stages:
        raise UserError(f"stage(s) {sorted(set(args.stages) - stages)} do not exist; "
                        f"this net has stages {sorted(stages)}")
    ShortcutInbox(store.root, args.run_id).put(args.enabled, args.stages)
    print(f"asked run {args.run_id} to switch shortcuts {'on' if args.enabled else 'off'}"
          + (f" in stage(s) {', '.join(map(str, args.stages))}" if args.stages else "")
          + ": rank 0 applies it before its next iteration, on every process")
    return 0


def _resume(store, args: argparse.Namespace) -> int:
    from resnet_edu.engine import JobManager

    started = time.perf_counter()
    manager = JobManager(store=store)
    try:
        manager.resume(args.run_id)
    except ValueError as error:
        raise UserError(str(error)) from None
    previous = signal.signal(signal.SIGINT, lambda *_: manager.stop(args.run_id))
    try:
        manager.wait([args.run_id], timeout=10**9)
    finally:
        signal.signal(signal.SIGINT, previous)
        manager.shutdown()
    summary = run_summary(store, args.run_id, wall_seconds=time.perf_counter() - started)
    print(json.dumps(summary) if args.json else summary)
    return 0 if summary["status"] == "finished" else 1


