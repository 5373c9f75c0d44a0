"""``train``: one run from the command line (or one process of a torchrun job), and its JSON summary.

The summary (:func:`run_summary`) is the contract outside scripts read: run_id, final training
error over the last TRAIN_ERROR_WINDOW (20) iterations, final test error, steps, epochs, images per second of
training time, real wall seconds and the device.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time

from resnet_edu.cli.parser import EXIT_BAD_INPUT, UserError


def config_from_args(args: argparse.Namespace, validate: bool = True):
    """The TrainConfig the arguments describe, resolved for ``--device`` (its batch size and lr are numbers).

    ``validate=False`` leaves the checks and the resolving to the caller (a preset's base:
    ``preset_from_args`` resolves each of the preset's nets).
    """
    from resnet_edu.train import TrainConfig, resolve

    family = args.family or "cifar"
    depth = args.depth if args.depth is not None else 20
    shortcut_type = args.shortcut_type or ("A" if family == "cifar" else "B")
    config = TrainConfig(family=family, depth=depth, shortcuts=not args.plain, shortcut_type=shortcut_type,
                         dataset=args.dataset, data_root=args.data_root, image_size=args.image_size,
                         max_train_images=args.max_train_images,
                         recipe=args.recipe, epochs=args.epochs, max_steps=args.max_steps, batch_size=args.batch_size,
                         lr=args.lr, seed=args.seed, probe_every=args.probe_every, precision=args.precision,
                         compile=args.compile, sync_bn=args.sync_bn, name=args.name)
    if not validate:
        return config
    try:
        config = resolve(config, args.device)
        config.validate()
    except ValueError as error:
        raise UserError(str(error)) from None
    return config


def train_main(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    from resnet_edu import distributed
    launch = distributed.launch_from_env()
    if config.sync_bn:
        check_sync_bn(args.device, launch)
    if launch is not None:
        return train_distributed(args, launch, config=config, queued_run_id=args.run_id)
    if args.run_id is not None:
        raise UserError("--run-id is for torchrun jobs (the app's training process starts them)")
    started = time.perf_counter()
    manager = manager_with_data(args.device, config)
    (run_id,) = manager.submit([config])
    ctrl_c = "stopped from the command line (Ctrl-C)"
    previous = signal.signal(signal.SIGINT, lambda *_: manager.stop(run_id, reason=ctrl_c))
    try:
        while not manager.wait([run_id], timeout=1.0):
            progress = manager.progress(run_id)
            speed = progress["images_per_second"]
            status_line(f"{progress['name']}: step {progress['step']}/{progress['total_steps']}"
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


def manager_with_data(device: str, config):
    """A JobManager on ``device`` with ``config``'s data set loaded; UserError for a missing device or data."""
    from resnet_edu import data
    from resnet_edu.data.loaded import cached_dataset
    from resnet_edu.engine import JobManager, admission

    try:
        manager = JobManager(device=device)
    except ValueError as error:  # a device this machine does not have: say which it has
        raise UserError(str(error)) from None
    try:  # before any image is decoded: a comparison too big for this computer is refused at once
        admission.admit(manager.store, [config], manager.device)
    except ValueError as error:
        manager.shutdown()
        raise UserError(str(error)) from None
    try:
        dataset = cached_dataset(config.dataset, config.data_root, config.image_size,
                                 progress=lambda fraction, message: status_line(f"{message} {fraction:.0%}"),
                                 max_train=config.max_train_images)
    except (data.DataUnavailable, data.BadDataFolder, ValueError) as error:
        manager.shutdown()
        raise UserError(" ".join(str(error).split())) from None
    if config.batch_size > dataset.num_train:
        manager.shutdown()
        raise UserError(f"batch size {config.batch_size} is larger than the {dataset.num_train} training images")
    return manager


def check_sync_bn(device: str, launch) -> None:
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


def train_distributed(args: argparse.Namespace, launch, *, config=None, resume_run_id: str | None = None,
                       queued_run_id: str | None = None, on_iteration=None) -> int:
    """Every rank of a torchrun job runs this; rank 0 alone prints (and writes the store).
    ``on_iteration(run, trainer)``, after each iteration, is for tests (fault injection)."""
    from resnet_edu import distributed
    from resnet_edu.runs import RunStore

    started = time.perf_counter()
    try:
        result = distributed.train_job(launch, config=config, resume_run_id=resume_run_id, queued_run_id=queued_run_id,
                                       device_choice=args.device, on_iteration=on_iteration,
                                       status_line=status_line if launch.is_main else None)
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


def status_line(text: str) -> None:
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


