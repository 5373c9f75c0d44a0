"""The command line's grammar: every command, option and default, and the one-line errors.

A mistake in the arguments is a :class:`UserError`: ``main`` prints it as one line and exits
with status 2, never with argparse's usage dump or a traceback.
"""

from __future__ import annotations

import argparse

from resnet_edu.data.catalog import DATASETS
from resnet_edu.devices import DEVICE_CHOICES, PRECISIONS
from resnet_edu.inside.landscape import MAX_GRID as MAX_LANDSCAPE_GRID
from resnet_edu.inside.landscape import LandscapeSettings
from resnet_edu.models import FAMILIES, SHORTCUT_TYPES
from resnet_edu.train import PRESETS, RECIPES, TrainConfig

EXIT_BAD_INPUT = 2
DEFAULT_RUN = TrainConfig()  # the defaults of a run: the CLI's, the Lab's and the API's are the same
DEFAULT_LANDSCAPE = LandscapeSettings()


class UserError(Exception):
    """Something the user can fix: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse prints usage + message; we print one line
        raise UserError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m resnet_edu", description="ResNet Lab without the app.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train one network (or a preset's nets, in lockstep) and record it "
                                              "in the run store")
    train.add_argument("--preset", default=None, choices=list(PRESETS),
                       help="train the Lab's preset comparison in lockstep: fig1 (plain-20, plain-56), fig1_fix "
                            "(+ ResNet-56), fig6 (20/56/110, plain and residual), imagenet (18/34, plain and "
                            "residual); --json prints one JSON line per run. Recipe, length, data and device "
                            "flags apply to every net; --depth, --family, --plain, --shortcut-type and --name do not")
    train.add_argument("--family", default=None, choices=FAMILIES, help=f"default: {DEFAULT_RUN.family}")
    train.add_argument("--depth", type=int, default=None,
                       help=f"6n+2 for cifar (20, 56, 110); 18/34/50/101/152 (default: {DEFAULT_RUN.depth})")
    train.add_argument("--plain", action="store_true", help="the plain twin: no shortcut connections")
    train.add_argument("--shortcut-type", default=None, choices=SHORTCUT_TYPES)
    train.add_argument("--dataset", default=DEFAULT_RUN.dataset, choices=DATASETS)
    train.add_argument("--data-root", default=None)
    train.add_argument("--image-size", type=int, default=DEFAULT_RUN.image_size)
    train.add_argument("--epochs", type=int, default=DEFAULT_RUN.epochs,
                       help="passes over the training set; the lr schedule follows it. --epochs 164 --recipe paper "
                            "--dataset cifar10 is the paper's 64k iterations (Sec. 4.2)")
    train.add_argument("--max-train-images", type=int, default=None,
                       help="train on a class-balanced subset of N images")
    train.add_argument("--max-steps", type=int, default=None)
    train.add_argument("--seed", type=int, default=DEFAULT_RUN.seed)
    train.add_argument("--lr", type=float, default=None,
                       help="initial learning rate (default: 0.1, the paper's, with --recipe paper; with the classroom "
                            "recipe 0.1 x batch size / 128, the linear scaling rule)")
    train.add_argument("--batch-size", type=int, default=None,
                       help="images per iteration (default: 128, the paper's, with --recipe paper; with the classroom "
                            "recipe the measured default of the device: smaller on a CPU, see resnet_edu/train/classroom.py)")
    train.add_argument("--recipe", default=DEFAULT_RUN.recipe, choices=RECIPES)
    train.add_argument("--precision", default=DEFAULT_RUN.precision, choices=PRECISIONS)
    train.add_argument("--probe-every", type=int, default=DEFAULT_RUN.probe_every)
    train.add_argument("--name", default=None)
    train.add_argument("--device", default="auto", choices=DEVICE_CHOICES,
                       help="auto: CUDA, else Apple's MPS, else the CPU")
    train.add_argument("--compile", action="store_true", help="torch.compile the net (slower start, maybe faster steps)")
    train.add_argument("--sync-bn", action="store_true",
                       help="under torchrun on CUDA: batch norm over the global batch (default: per process; the "
                            "paper does not say, its authors' multi-GPU training most likely normalised per GPU)")
    train.add_argument("--json", action="store_true",
                       help="print a JSON summary as the last line (with --preset: one line per run)")
    train.add_argument("--run-id", default=None,
                       help="under torchrun: train this queued run (created by the app) with its stored settings")

    runs = commands.add_parser("runs", help="list, export or resume recorded runs")
    run_commands = runs.add_subparsers(dest="runs_command", required=True, parser_class=_Parser)
    listing = run_commands.add_parser("list", help="one line per run")
    listing.add_argument("--json", action="store_true")
    export = run_commands.add_parser("export", help="a run's metrics, its trained weights, or TensorBoard event files")
    export.add_argument("run_ids", nargs="*", metavar="RUN_ID",
                        help="the run (one for --csv and --weights; any number for --tensorboard)")
    export.add_argument("--group", default=None, help="with --tensorboard: every run of this comparison group")
    export.add_argument("--csv", action="store_true", help="CSV on stdout (the default)")
    export.add_argument("--tensorboard", default=None, metavar="DIR",
                        help="write event files, one sub-folder per run (its name and start time): "
                             "then tensorboard --logdir DIR")
    export.add_argument("--weights", default=None, metavar="FILE",
                        help="write the latest weights as a plain state_dict to FILE, and FILE's .json beside it")
    export.add_argument("--output", default=None, help="write to this file instead of stdout")
    resume = run_commands.add_parser("resume", help="continue an interrupted run from its last checkpoint")
    resume.add_argument("run_id")
    resume.add_argument("--json", action="store_true")
    resume.add_argument("--device", default="auto", choices=DEVICE_CHOICES,
                        help="under torchrun: where each process trains")
    switch = run_commands.add_parser("shortcuts", help="switch the shortcuts of a run training under torchrun")
    switch.add_argument("run_id")
    state = switch.add_mutually_exclusive_group(required=True)
    state.add_argument("--on", dest="enabled", action="store_true")
    state.add_argument("--off", dest="enabled", action="store_false")
    switch.add_argument("--stages", type=int, nargs="+", default=None, help="only these stages (1-based)")

    pack = run_commands.add_parser("pack", help="write runs (metrics, checkpoints, analyses) into one class pack "
                                                "(zip) to open on another machine")
    pack.add_argument("run_ids", nargs="*", metavar="RUN_ID")
    pack.add_argument("--group", default=None, help="every run of this comparison group (runs list shows groups)")
    pack.add_argument("-o", "--output", required=True, metavar="FILE", help="the pack to write, e.g. fig6.zip")
    unpack = run_commands.add_parser("unpack", help="open a class pack: its runs join this run store")
    unpack.add_argument("file", metavar="FILE")
    unpack.add_argument("--json", action="store_true", help="print what was opened as one JSON line")

    prune = run_commands.add_parser("prune", help="archive (or delete) old ended runs")
    prune.add_argument("--older-than", type=float, default=None, metavar="DAYS", help="runs created before this")
    prune.add_argument("--keep-last", type=int, default=None, metavar="N", help="always keep the newest N runs")
    prune.add_argument("--delete", action="store_true", help="delete instead of moving to runs/archive/")
    prune.add_argument("--dry-run", action="store_true", help="only list the runs that would go")
    prune.add_argument("--compact", action="store_true", help="then shrink runs.sqlite (VACUUM; nothing may train)")

    landscape = commands.add_parser("landscape", help="the loss surface around a trained run (Li et al. 2018)")
    landscape.add_argument("run_id")
    landscape.add_argument("--grid", type=int, default=DEFAULT_LANDSCAPE.grid,
                           help=f"points per axis (3 to {MAX_LANDSCAPE_GRID}; the paper: 51)")
    landscape.add_argument("--images", type=int, default=DEFAULT_LANDSCAPE.images,
                           help="training images the loss is measured on")
    landscape.add_argument("--span", type=float, default=DEFAULT_LANDSCAPE.span, help="the grid covers [-span, span]^2")
    landscape.add_argument("--seed", type=int, default=DEFAULT_LANDSCAPE.seed, help="seed of the two random directions")
    landscape.add_argument("--json", action="store_true", help="print a JSON object as the last line")

    bench = commands.add_parser("bench", help="throughput and time-to-degradation benchmarks (JSON)")
    bench.add_argument("--which", default="all", choices=["all", "throughput", "degradation"])
    bench.add_argument("--quick", action="store_true", help="smaller, faster settings")
    bench.add_argument("--data", default=None, metavar="DIR",
                       help="an ImageFolder tree of photos (train/, test/) to benchmark on; default: the folder "
                            "$RESNET_EDU_CIFAR_SUBSET names, else the built-in synthetic set")
    return parser


