"""The training process: the app's runs and analysis jobs run here, outside the app's own process.

    python -m resnet_edu.engine.worker        # started by the app (resnet_edu.engine.process), never by hand

It reads the app's commands, one JSON object a line, from stdin (the protocol is described in
:mod:`resnet_edu.engine.process`) and carries them out with a :class:`~resnet_edu.engine.lanes.LaneRunner`
per device — the same code the CLI and the tests run. It writes nothing back but the RunStore:
every status, metric, switch and result goes there, where the app reads it. It lives as long
as the app, so torch is imported and a data set decoded once, not once per comparison. When
its input ends (the app closed or died) it stops every run with a checkpoint and exits.
"""

from __future__ import annotations

import json
import sys

from resnet_edu.engine.lanes import LaneRun, LaneRunner
from resnet_edu.engine.process import PARENT_GONE
from resnet_edu.engine.torchrun_queue import TorchrunQueue
from resnet_edu.runs import RunStore
from resnet_edu.train import TrainConfig


class _Runners:
    """One LaneRunner per device asked for, sharing the store; created on first use."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._by_device: dict[str, LaneRunner] = {}
        self.torchrun = TorchrunQueue(store)  # comparisons trained "on N GPUs": one torchrun job per net

    def on(self, device: str | None) -> LaneRunner:
        key = device or "auto"
        if key not in self._by_device:
            self._by_device[key] = LaneRunner(store=self.store, device=key)
        return self._by_device[key]

    def all(self) -> list[LaneRunner]:
        return list(self._by_device.values())


def carry_out(runners: _Runners, command: dict) -> None:
    """Do one command of the app."""
    op, run_id = command.get("op"), command.get("run_id")
    if op == "train" and int(command.get("gpus") or 1) > 1:
        runners.torchrun.adopt([(spec["run_id"], bool(spec.get("resume_from"))) for spec in command["runs"]],
                               int(command["gpus"]))
    elif op == "train":
        runs = []
        for spec in command["runs"]:
            run = LaneRun(spec["run_id"], TrainConfig.from_dict(spec["config"]), resume_from=spec.get("resume_from"))
            run.pending_toggles = [(bool(enabled), stages) for enabled, stages in spec.get("toggles", [])]
            runs.append(run)
        runners.on(command.get("device")).adopt(command["group_id"], runs)
    elif op == "prepare":
        runners.on(command.get("device")).prepare(command.get("dataset", "synthetic"), command.get("data_root"),
                                                  int(command.get("image_size", 32)))
    elif op == "analyse":
        runners.on(command.get("device")).run_analysis(command["job_id"])
    else:
        if op == "stop":
            runners.torchrun.stop(run_id, reason=command.get("reason"))
        elif op == "stop_all":
            runners.torchrun.stop_all(reason=command.get("reason"))
        elif op == "shortcuts" and run_id in runners.torchrun.known_runs():
            runners.torchrun.set_shortcuts(run_id, bool(command["enabled"]), command.get("stages"))
        for runner in runners.all():
            if op == "stop":
                runner.stop(run_id, reason=command.get("reason"))
            elif op == "stop_all":
                runner.stop_all(reason=command.get("reason"))
            elif op == "shortcuts" and run_id in runner.known_runs():
                try:
                    runner.set_shortcuts(run_id, bool(command["enabled"]), command.get("stages"))
                except (KeyError, ValueError):  # the run ended meanwhile
                    pass
            elif op == "stop_analysis":
                runner.stop_analysis(command["job_id"])


def main() -> int:
    hello = json.loads(sys.stdin.readline() or "{}")
    if "store" not in hello:
        print("resnet_edu.engine.worker: the first line must name the store folder", file=sys.stderr)
        return 2
    runners = _Runners(RunStore(hello["store"]))
    for line in sys.stdin:
        try:
            carry_out(runners, json.loads(line))
        except Exception as error:  # noqa: BLE001 - one bad command must not end the others' training
            print(f"resnet_edu.engine.worker: command refused: {type(error).__name__}: {error}", file=sys.stderr)
    for runner in runners.all():  # the app is gone: stop everything, checkpointed
        runner.stop_all(reason=PARENT_GONE)
    runners.torchrun.shutdown()
    for runner in runners.all():
        runner.shutdown(timeout=30)
    runners.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
