"""Headless command line: ``python -m resnet_edu train | runs | landscape | bench``.

Bad arguments, a missing data set or an unknown run end with exit status 2 and one line
on stderr that says what is wrong — never a traceback.

    parser.py         the grammar: commands, options, defaults; UserError
    train_command.py  train (one process, or one rank of a torchrun job) and its JSON summary
    preset_command.py train --preset: a preset's nets in lockstep, one JSON line per run
    pack_command.py   runs pack | unpack: class packs
    runs_command.py   runs list | export | resume | shortcuts | prune
    tools_command.py  landscape RUN_ID, bench
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from resnet_edu.cli.parser import EXIT_BAD_INPUT, UserError, build_parser
from resnet_edu.cli.preset_command import train_preset
from resnet_edu.cli.runs_command import runs_main
from resnet_edu.cli.tools_command import bench_main, landscape_main
from resnet_edu.cli.train_command import config_from_args, run_summary, train_main


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "train":
            return train_preset(args) if args.preset else train_main(args)
        if args.command == "runs":
            return runs_main(args)
        if args.command == "landscape":
            return landscape_main(args)
        return bench_main(args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


__all__ = ["EXIT_BAD_INPUT", "UserError", "config_from_args", "build_parser", "main", "run_summary"]
