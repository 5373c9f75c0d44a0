"""Headless command line: ``python -m resnet_edu train | runs | landscape | bench``.

Bad arguments, a missing data set or an unknown run end with exit status 2 and one line
on stderr that says what is wrong — never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path

EXIT_BAD_INPUT = 2


class UserError(Exception):
    """Something the user can fix: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage + message; we print one line
        raise UserError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m resnet_edu", description="ResNet Lab without the app.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train one network and record it in the run store")
    train.add_argument("--family", default="cifar", choices=["cifar", "imagenet"])
    train.add_argument("--depth", type=int, default=20, help="6n+2 for cifar (20, 56, 110); 18/34/50/101/152")
    train.add_argument("--plain", action="store_true", help="the plain twin: no shortcut connections")
    train.add_argument("--shortcut-type", default=None, choices=["A", "B", "C"])
    train.add_argument("--dataset", default="synthetic", choices=["synthetic", "cifar10", "imagefolder"])
    train.add_argument("--data-root", default=None)
    train.add_argument("--image-size", type=int, default=32)
    train.add_argument("--epochs", type=int, default=3)
    train.add_argument("--max-train-images", type=int, default=None, help="train on the first N images only")
    train.add_argument("--max-steps", type=int, default=None)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--lr", type=float, default=0.1)
    train.add_argument("--batch-size", type=int, default=None,
                       help="images per iteration (default: 128, the paper's, with --recipe paper; with the classroom "
                            "recipe the measured default of the device: smaller on a CPU, see resnet_edu/classroom.py)")
    train.add_argument("--recipe", default="classroom", choices=["classroom", "paper"])
    train.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    train.add_argument("--probe-every", type=int, default=10)
    train.add_argument("--name", default=None)
    train.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                       help="auto: CUDA, else Apple's MPS, else the CPU")
    train.add_argument("--compile", action="store_true", help="torch.compile the net (slower start, maybe faster steps)")
    train.add_argument("--sync-bn", action="store_true",
                       help="under torchrun on CUDA: batch norm over the global batch "
                            "(default: per process, as in the paper)")
    train.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    train.add_argument("--run-id", default=None,
                       help="under torchrun: train this queued run (created by the app) with its stored settings")

    runs = commands.add_parser("runs", help="list, export or resume recorded runs")
    run_commands = runs.add_subparsers(dest="runs_command", required=True, parser_class=_Parser)
    listing = run_commands.add_parser("list", help="one line per run")
    listing.add_argument("--json", action="store_true")
    export = run_commands.add_parser("export", help="a run's metrics, or its trained weights")
    export.add_argument("run_id")
    export.add_argument("--csv", action="store_true", help="CSV on stdout (the default)")
    export.add_argument("--weights", default=None, metavar="FILE",
                        help="write the latest weights as a plain state_dict to FILE, and FILE's .json beside it")
    export.add_argument("--output", default=None, help="write to this file instead of stdout")
    resume = run_commands.add_parser("resume", help="continue an interrupted run from its last checkpoint")
    resume.add_argument("run_id")
    resume.add_argument("--json", action="store_true")
    resume.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                        help="under torchrun: where each process trains")
    switch = run_commands.add_parser("shortcuts", help="switch the shortcuts of a run training under torchrun")
    switch.add_argument("run_id")
    state = switch.add_mutually_exclusive_group(required=True)
    state.add_argument("--on", dest="enabled", action="store_true")
    state.add_argument("--off", dest="enabled", action="store_false")
    switch.add_argument("--stages", type=int, nargs="+", default=None, help="only these stages (1-based)")

    prune = run_commands.add_parser("prune", help="archive (or delete) old ended runs")
    prune.add_argument("--older-than", type=float, default=None, metavar="DAYS", help="runs created before this")
    prune.add_argument("--keep-last", type=int, default=None, metavar="N", help="always keep the newest N runs")
    prune.add_argument("--delete", action="store_true", help="delete instead of moving to runs/archive/")
    prune.add_argument("--dry-run", action="store_true", help="only list the runs that would go")
    prune.add_argument("--compact", action="store_true", help="then shrink runs.sqlite (VACUUM; nothing may train)")

    landscape = commands.add_parser("landscape", help="the loss surface around a trained run (Li et al. 2018)")
    landscape.add_argument("run_id")
    landscape.add_argument("--grid", type=int, default=15, help="points per axis (3 to 101; the paper: 51)")
    landscape.add_argument("--images", type=int, default=128, help="training images the loss is measured on")
    landscape.add_argument("--span", type=float, default=1.0, help="the grid covers [-span, span]^2")
    landscape.add_argument("--seed", type=int, default=0, help="seed of the two random directions")
    landscape.add_argument("--json", action="store_true", help="print a JSON object as the last line")

    bench = commands.add_parser("bench", help="throughput and time-to-degradation benchmarks (JSON)")
    bench.add_argument("--which", default="all", choices=["all", "throughput", "degradation"])
    bench.add_argument("--quick", action="store_true", help="smaller, faster settings")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "train":
            return _train(args)
        if args.command == "runs":
            return _runs(args)
        if args.command == "landscape":
            return _landscape(args)
        return _bench(args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _config_from_args(args: argparse.Namespace):
    from resnet_edu.classroom import default_batch_size
    from resnet_edu.train import TrainConfig

    batch_size = args.batch_size
    if batch_size is None:  # the default of the device the run will train on
        batch_size = default_batch_size(args.recipe, args.device, args.dataset)

    shortcut_type = args.shortcut_type or ("A" if args.family == "cifar" else "B")
    config = TrainConfig(family=args.family, depth=args.depth, shortcuts=not args.plain, shortcut_type=shortcut_type,
                         dataset=args.dataset, data_root=args.data_root, image_size=args.image_size,
                         max_train_images=args.max_train_images,
                         recipe=args.recipe, epochs=args.epochs, max_steps=args.max_steps, batch_size=batch_size,
                         lr=args.lr, seed=args.seed, probe_every=args.probe_every, precision=args.precision,
                         compile=args.compile, sync_bn=args.sync_bn, name=args.name)
    try:
        config.validate()
    except ValueError as error:
        raise UserError(str(error)) from None
    return config


def _train(args: argparse.Namespace) -> int:
    config = _config_from_args(args)
    from resnet_edu import distributed

    launch = distributed.launch_from_env()
    if config.sync_bn:
        _check_sync_bn(args.device, launch)
    if launch is not None:
        return _train_distributed(args, launch, config=config, queued_run_id=args.run_id)
    if args.run_id is not None:
        raise UserError("--run-id is for torchrun jobs (the app's training process starts them)")
    from resnet_edu import data
    from resnet_edu.jobs import JobManager, cached_dataset

    started = time.perf_counter()
    try:
        manager = JobManager(device=args.device)
    except ValueError as error:  # a device this machine does not have: say which it has
        raise UserError(str(error)) from None
    try:
        dataset = cached_dataset(config.dataset, config.data_root, config.image_size,
                                 progress=lambda fraction, message: _status_line(f"{message} {fraction:.0%}"),
                                 max_train=config.max_train_images)
    except (data.DataUnavailable, data.BadDataFolder, ValueError) as error:
        raise UserError(" ".join(str(error).split())) from None
    if config.batch_size > dataset.num_train:
        raise UserError(f"batch size {config.batch_size} is larger than the {dataset.num_train} training images")
    (run_id,) = manager.submit([config])
    ctrl_c = "stopped from the command line (Ctrl-C)"
    previous = signal.signal(signal.SIGINT, lambda *_: manager.stop(run_id, reason=ctrl_c))
    try:
        while not manager.wait([run_id], timeout=1.0):
            progress = manager.progress(run_id)
            speed = progress["images_per_second"]
            _status_line(f"{progress['name']}: step {progress['step']}/{progress['total_steps']}"
                         + (f", {speed:,.0f} images/s" if speed else "") + f" {progress['message']}")
    finally:
        signal.signal(signal.SIGINT, previous)
        manager.shutdown()
    print(file=sys.stderr)
    summary = run_summary(manager.store, run_id, wall_seconds=time.perf_counter() - started)
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key:>20}: {value}")
    return 0 if summary["status"] == "finished" else 1


def _check_sync_bn(device: str, launch) -> None:
    from resnet_edu import devices, distributed

    if launch is None:
        raise UserError("--sync-bn synchronises batch norm over the processes of a torchrun job: "
                        "one process has nothing to synchronise")
    try:
        kind = devices.resolve_device(device).type
    except ValueError as error:
        raise UserError(str(error)) from None
    if kind != "cuda":
        raise UserError(distributed.SYNC_BN_ON_CPU)


def _train_distributed(args: argparse.Namespace, launch, *, config=None, resume_run_id: str | None = None,
                       queued_run_id: str | None = None) -> int:
    """Every rank of a torchrun job runs this; rank 0 alone prints (and writes the store)."""
    from resnet_edu import distributed
    from resnet_edu.runs import RunStore

    started = time.perf_counter()
    try:
        result = distributed.train_job(launch, config=config, resume_run_id=resume_run_id, queued_run_id=queued_run_id,
                                       device_choice=args.device,
                                       status_line=_status_line if launch.is_main else None)
    except distributed.StartRefused as error:
        if launch.is_main:  # rank 0 says why, once
            print(f"error: {' '.join(str(error).split())}", file=sys.stderr, flush=True)
        distributed.end_refused_job()
        return EXIT_BAD_INPUT
    if not launch.is_main:
        return 0 if result.status == "finished" else 1
    print(file=sys.stderr)
    with RunStore() as store:
        summary = run_summary(store, result.run_id, wall_seconds=time.perf_counter() - started)
    if args.json:
        print(json.dumps(summary), flush=True)
    else:
        for key, value in summary.items():
            print(f"{key:>20}: {value}", flush=True)
    return 0 if summary["status"] == "finished" else 1


def _status_line(text: str) -> None:
    if sys.stderr.isatty():
        print(f"\r{text[:110]:<110}", end="", file=sys.stderr, flush=True)


def run_summary(store, run_id: str, wall_seconds: float | None = None) -> dict:
    """The JSON contract of `train --json` (documented in the README), computed from the store."""
    from resnet_edu.train import TRAIN_ERROR_WINDOW

    info = store.get_run(run_id)
    steps = store.steps(run_id)
    evals = store.evals(run_id)
    batch_size = info["config"].get("batch_size", 128)
    speeds = steps["images_per_second"].dropna()
    speeds = speeds[speeds > 0]
    train_seconds = float((batch_size / speeds).sum()) if len(speeds) else 0.0
    final_train = float(steps["train_error"].tail(TRAIN_ERROR_WINDOW).mean()) if len(steps) else None
    final_test = float(evals["test_error"].iloc[-1]) if len(evals) else None
    last_epoch = float(steps["epoch"].iloc[-1]) if len(steps) else 0.0

    def clean(value):
        return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else value

    return {
        "run_id": run_id,
        "name": info["name"],
        "status": info["status"],
        "final_train_error": clean(final_train),
        "final_test_error": clean(final_test),
        "steps": int(steps["step"].iloc[-1]) if len(steps) else 0,
        "epochs": round(last_epoch, 4),
        "images_per_second": round(len(speeds) * batch_size / train_seconds, 2) if train_seconds else None,
        "wall_seconds": round(wall_seconds, 3) if wall_seconds is not None else None,
        "device": info["device"],
        "world_size": int(info["config"].get("world_size", 1)),
        "message": info.get("message") or "",
    }


def _runs(args: argparse.Namespace) -> int:
    from resnet_edu import distributed
    from resnet_edu.runs.disk import describe_write_error, is_write_failure
    from resnet_edu.runs import RunNotFound, RunStore, StoreDamaged

    launch = distributed.launch_from_env()
    if args.runs_command == "resume" and launch is not None:  # rank 0 opens the store, the others never do
        return _train_distributed(args, launch, resume_run_id=args.run_id)

    try:
        store = RunStore()
    except StoreDamaged as error:
        raise UserError(str(error)) from None
    if store.damage_report:  # set aside and salvaged: say so, then go on
        print(store.damage_report, file=sys.stderr)
    try:
        if args.runs_command == "list":
            frame = store.list_runs()
            columns = ["run_id", "name", "status", "steps_done", "total_steps", "device", "created_at", "group_id"]
            frame = frame[[c for c in columns if c in frame.columns]]
            if args.json:
                print(frame.to_json(orient="records"))
            elif frame.empty:
                print("no runs yet: python -m resnet_edu train --depth 20 --epochs 1")
            else:
                print(frame.to_string(index=False))
            return 0
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
    from resnet_edu.distributed import ShortcutInbox
    from resnet_edu.groups import stage_count
    from resnet_edu.train import TrainConfig

    info = store.get_run(args.run_id)
    if info["status"] not in ("running", "queued"):
        raise UserError(f"run {args.run_id} is {info['status']}, not training")
    if int(info["config"].get("world_size", 1)) <= 1:
        raise UserError(f"run {args.run_id} trains in one process: switch its shortcuts in the Lab "
                        "(this command reaches runs trained under torchrun)")
    stages = set(range(1, stage_count(TrainConfig.from_dict(info["config"])) + 1))
    if args.stages is not None and not set(args.stages) <= stages:
        raise UserError(f"stage(s) {sorted(set(args.stages) - stages)} do not exist; "
                        f"this net has stages {sorted(stages)}")
    ShortcutInbox(store.root, args.run_id).put(args.enabled, args.stages)
    print(f"asked run {args.run_id} to switch shortcuts {'on' if args.enabled else 'off'}"
          + (f" in stage(s) {', '.join(map(str, args.stages))}" if args.stages else "")
          + ": rank 0 applies it before its next iteration, on every process")
    return 0


def _resume(store, args: argparse.Namespace) -> int:
    from resnet_edu.jobs import JobManager

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


def _landscape(args: argparse.Namespace) -> int:
    """The loss grid of one run; JSON: run_id, grid, span, alphas, betas, loss (row i = alphas[i]), center_loss, seconds."""
    import os

    # As in the training process: OpenMP threads sleep while they wait instead of spinning, which on a
    # CPU shared with other work made a grid 8 times faster. Read when torch loads, so set it first.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from resnet_edu import landscape
    from resnet_edu.runs import RunStore

    settings = landscape.LandscapeSettings(grid=args.grid, images=args.images, span=args.span, seed=args.seed,
                                           slice_points=0, interpolation_points=0)
    try:
        settings.validate()
    except ValueError as error:
        raise UserError(str(error)) from None
    store = RunStore()
    try:
        from resnet_edu.devices import resolve_device

        net = landscape.load_net(store, args.run_id, settings.images, resolve_device("auto"))
        result = landscape.landscape(net, settings, progress=lambda fraction, message: _status_line(
            f"{message} {fraction:.0%}"))
    except ValueError as error:
        raise UserError(" ".join(str(error).split())) from None
    finally:
        store.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)  # end the status line
    summary = {"run_id": args.run_id, "name": result["name"], "grid": settings.grid, "span": settings.span,
               "seed": settings.seed, "images": result["images"], "alphas": result["alphas"],
               "betas": result["betas"], "loss": result["loss"], "error": result["error"],
               "center_loss": result["center_loss"], "center_error": result["center_error"],
               "roughness": result["roughness"], "precision": result["precision"], "seconds": result["seconds"]}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['name']}: loss at the trained weights {summary['center_loss']:.4f}, "
              f"{settings.grid}x{settings.grid} grid over [-{settings.span:g}, {settings.span:g}]^2 "
              f"in {summary['seconds']:.1f} s ({summary['precision']})")
        for alpha, row in zip(summary["alphas"], summary["loss"]):
            print(f"{alpha:+.3f} " + " ".join("   nan" if v is None else f"{v:6.3f}" for v in row))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from resnet_edu import bench

    results = {}
    if args.which in ("all", "throughput"):
        results["throughput"] = bench.throughput(quick=args.quick)
    if args.which in ("all", "degradation"):
        results["degradation"] = bench.degradation(quick=args.quick)
    print(json.dumps(results))
    return 0
