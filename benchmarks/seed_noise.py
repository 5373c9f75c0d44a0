"""Run-to-run noise of the Degradation page's verdict: the Fig. 1 + fix preset over several seeds.

    python benchmarks/seed_noise.py [--seeds 0 1 2] [--max-steps 150] [--runs-dir DIR]

Trains plain-20, plain-56 and ResNet-56 in lockstep (the Lab's "Fig. 1 + the fix" preset,
built-in synthetic data, classroom recipe, 3-epoch schedule) once per seed, then reads every
run as the page does: training error as the mean of the last 20 iterations
(``resnet_edu.train.TRAIN_ERROR_WINDOW``). For each checkpoint iteration it prints each net's error per
seed, the gaps (plain-56 − plain-20, ResNet-56 − plain-20) per seed, and their spread over
seeds (sample std). The seed changes the initial weights and the batch order; the synthetic
images stay the same. Prints JSON; asserts nothing. ``--runs-dir`` keeps the runs (e.g. for
screenshots) and reads every seed's group already there too; by default they go to a
temporary folder. On a busy machine pin it to one core (``taskset -c 1``): two threads
competing with other processes slowed each step more than tenfold here.
"""

import argparse
import json
import statistics
import tempfile
import time

from resnet_edu.cli.machine import environment  # noqa: E402
from resnet_edu.engine import JobManager  # noqa: E402
from resnet_edu.runs import RunStore  # noqa: E402
from resnet_edu.train import TRAIN_ERROR_WINDOW, TrainConfig, preset_configs  # noqa: E402

NETS = ("plain-20", "plain-56", "ResNet-56")


def _window_mean(steps, at: int) -> float:
    rows = steps[steps["step"] <= at].tail(TRAIN_ERROR_WINDOW)
    return round(100 * float(rows["train_error"].mean()), 2)


def _spread(values: list[float]) -> float | None:
    return round(statistics.stdev(values), 2) if len(values) > 1 else None


def train(seeds: list[int], max_steps: int, folder: str) -> float:
    """Train the preset once per seed into ``folder``; returns the wall seconds."""
    manager = JobManager(RunStore(folder))
    started = time.monotonic()
    try:
        run_ids = []
        for seed in seeds:
            base = TrainConfig(epochs=3, max_steps=max_steps, seed=seed)
            run_ids += manager.submit(preset_configs("fig1_fix", base))
        manager.wait(run_ids, timeout=3 * 3600)
    finally:
        manager.shutdown()
    return round(time.monotonic() - started, 1)


def read(folder: str) -> dict:
    """Every Fig. 1 + fix group in ``folder`` (one per seed), read up to the shortest group's length."""
    store = RunStore(folder)
    try:
        runs = store.list_runs()
        steps = {}
        for run in runs.itertuples(index=False):
            if run.name in NETS and int(run.steps_done or 0) > 0:  # skip runs stopped before their first step
                steps.setdefault(int(run.config.get("seed", 0)), {})[run.name] = store.steps(run.run_id)
    finally:
        store.close()
    seeds = sorted(seed for seed, nets in steps.items() if set(nets) == set(NETS))
    length = min(int(steps[seed][net]["step"].max()) for seed in seeds for net in NETS)
    table = []
    for at in range(TRAIN_ERROR_WINDOW, length + 1, 10):
        errors = {net: [_window_mean(steps[seed][net], at) for seed in seeds] for net in NETS}
        gap_plain = [round(p56 - p20, 2) for p56, p20 in zip(errors["plain-56"], errors["plain-20"])]
        gap_res = [round(r56 - p20, 2) for r56, p20 in zip(errors["ResNet-56"], errors["plain-20"])]
        table.append({"iteration": at, "train_error_pct": errors,
                      "spread_pct": {net: _spread(values) for net, values in errors.items()},
                      "plain56_minus_plain20": gap_plain, "plain56_minus_plain20_spread": _spread(gap_plain),
                      "resnet56_minus_plain20": gap_res, "resnet56_minus_plain20_spread": _spread(gap_res)})
    return {"seeds": seeds, "iterations": length, "checkpoints": table}


def measure(seeds: list[int], max_steps: int, folder: str) -> dict:
    seconds = train(seeds, max_steps, folder) if seeds else 0.0
    return {"environment": environment(), "trained_seeds": seeds, "max_steps": max_steps,
            "window": f"mean training error of the last {TRAIN_ERROR_WINDOW} iterations (%)",
            "wall_seconds": seconds, **read(folder)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="seed-to-seed spread of the Fig. 1 + fix curves")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2],
                        help="seeds to train (none: only read the groups already in --runs-dir)")
    parser.add_argument("--max-steps", type=int, default=150)
    parser.add_argument("--runs-dir", default=None, help="keep the runs here (default: a temporary folder)")
    args = parser.parse_args()
    if args.runs_dir:
        print(json.dumps(measure(args.seeds, args.max_steps, args.runs_dir), indent=1))
    else:
        with tempfile.TemporaryDirectory() as folder:
            print(json.dumps(measure(args.seeds, args.max_steps, folder), indent=1))
