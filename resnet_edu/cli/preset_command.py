"""``train --preset KEY``: the Lab's preset comparison from the command line, in lockstep, with one JSON line per run.

The nets are ``resnet_edu.train.preset_configs(KEY, base)``, where the base holds the
recipe, length, data and device flags; they train as one comparison group in the lane loop
the Lab uses (one stream of batches, every net one iteration after another). Ctrl-C stops
every net after its current iteration, each with a checkpoint (resumable with ``runs resume``).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time

from resnet_edu.cli.parser import UserError
from resnet_edu.cli.train_command import config_from_args, manager_with_data, run_summary, status_line

# Flags that choose one net: a preset chooses its own nets.
_ONE_NET_FLAGS = (("depth", "--depth"), ("family", "--family"), ("plain", "--plain"),
                  ("shortcut_type", "--shortcut-type"), ("name", "--name"), ("run_id", "--run-id"),
                  ("sync_bn", "--sync-bn"))


def preset_from_args(args: argparse.Namespace) -> list:
    """The preset's configs with the recipe, length, data and device flags applied; UserError when they cannot work."""
    from resnet_edu.engine.groups import check_group
    from resnet_edu.train import PRESETS, preset_configs, resolve

    for attribute, flag in _ONE_NET_FLAGS:
        if getattr(args, attribute, None) not in (None, False):
            raise UserError(f"--preset {args.preset} trains its own nets ({PRESETS[args.preset][0]}): drop {flag}")
    base = config_from_args(args, validate=False)
    try:
        configs = [resolve(config, args.device) for config in preset_configs(args.preset, base)]
        check_group(configs)
    except ValueError as error:
        raise UserError(f"--preset {args.preset}: {error}") from None
    return configs


def train_preset(args: argparse.Namespace) -> int:
    """Train a preset's nets in lockstep; print one summary per run (one JSON line each with ``--json``)."""
    from resnet_edu import distributed
    if distributed.launch_from_env() is not None:
        raise UserError("--preset trains its nets in lockstep in one process: under torchrun, train one net "
                        "at a time (--depth, --plain)")
    configs = preset_from_args(args)
    started = time.perf_counter()
    manager = manager_with_data(args.device, configs[0])
    try:
        run_ids = manager.submit(configs)
    except ValueError as error:
        manager.shutdown()
        raise UserError(str(error)) from None
    ctrl_c = "stopped from the command line (Ctrl-C)"
    previous = signal.signal(signal.SIGINT, lambda *_: manager.stop_all(reason=ctrl_c))
    try:
        while not manager.wait(run_ids, timeout=1.0):
            status_line(_progress_line(manager, run_ids))
    finally:
        signal.signal(signal.SIGINT, previous)
        manager.shutdown()
    if sys.stderr.isatty():
        print(file=sys.stderr)  # end the status line
    wall = time.perf_counter() - started
    summaries = [{**run_summary(manager.store, run_id, wall_seconds=wall),
                  "group_id": manager.store.get_run(run_id)["group_id"], "preset": args.preset}
                 for run_id in run_ids]
    for summary in summaries:
        if args.json:
            print(json.dumps(summary))
        else:
            print(" ".join(f"{key}={value}" for key, value in summary.items() if key not in ("message", "preset"))
                  + (f" ({summary['message']})" if summary["message"] else ""))
    return 0 if all(s["status"] == "finished" for s in summaries) else 1


def _progress_line(manager, run_ids: list[str]) -> str:
    parts = []
    for run_id in run_ids:
        progress = manager.progress(run_id)
        parts.append(f"{progress['name']} {progress['step']}/{progress['total_steps']}")
    return ", ".join(parts)
