"""A torchrun entry for the tests: ``train`` / ``runs resume`` as the CLI runs them, with faults injected.

    python -m torch.distributed.run --standalone --nproc_per_node 2 tests/torchrun_faults.py train ...

The production loop reads no test settings: this script passes the engine's ``on_iteration``
callback, which reads them from the environment the test sets. After the job each rank writes
what it ended with (a digest of its weights, the switches it applied) for the test to compare.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import torch

from resnet_edu import distributed
from resnet_edu.cli import UserError, build_parser
from resnet_edu.cli.parser import EXIT_BAD_INPUT
from resnet_edu.cli.train_command import config_from_args, train_distributed

REPORT_ENV = "RESNET_EDU_TEST_RANK_REPORT"  # a folder: every rank writes rankN.json there at its end
KILL_ENV = "RESNET_EDU_TEST_KILL"  # "RANK:ITERATION[:raise]": that rank is killed (SIGKILL), or raises, after it
TOGGLE_ENV = "RESNET_EDU_TEST_TOGGLE_AT"  # ITERATION: rank 0 puts "shortcuts off" into the inbox after it


class Faults:
    """The ``on_iteration`` callback: keeps the trainer for the report and injects the faults asked for."""

    def __init__(self, launch: distributed.Launch) -> None:
        self.launch = launch
        rank, at, *how = os.environ.get(KILL_ENV, "-1:-1").split(":")
        self.kill_rank, self.kill_at, self.raise_instead = int(rank), int(at), how == ["raise"]
        self.toggle_at = int(os.environ.get(TOGGLE_ENV, "-1"))
        self.trainer = None

    def __call__(self, run, trainer) -> None:
        self.trainer = trainer
        if self.launch.rank == self.kill_rank and trainer.step == self.kill_at:
            if self.raise_instead:
                raise RuntimeError(f"rank {self.launch.rank} failed on purpose after iteration {self.kill_at}")
            os.kill(os.getpid(), signal.SIGKILL)
        if self.launch.is_main and trainer.step == self.toggle_at:
            distributed.ShortcutInbox(Path(os.environ["RESNET_EDU_RUNS_DIR"]), run.run_id).put(False)

    def report(self) -> None:
        folder = os.environ.get(REPORT_ENV)
        if not folder or self.trainer is None:
            return
        report = {"rank": self.launch.rank, "step": self.trainer.step, "digest": self.trainer.weights_digest(),
                  "switches": self.trainer.switches_applied, "threads": torch.get_num_threads()}
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"rank{self.launch.rank}.json").write_text(json.dumps(report))


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    launch = distributed.launch_from_env()
    faults = Faults(launch)
    try:
        if args.command == "train":
            code = train_distributed(args, launch, config=config_from_args(args), queued_run_id=args.run_id,
                                     on_iteration=faults)
        else:  # runs resume RUN_ID
            code = train_distributed(args, launch, resume_run_id=args.run_id, on_iteration=faults)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    faults.report()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
