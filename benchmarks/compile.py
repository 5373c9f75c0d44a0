"""Does torch.compile pay within a classroom run? Compile time against the time it saves per iteration.

    python benchmarks/compile.py [--depths 20,56,110] [--steps 20] [--device auto|cpu|cuda]

For each depth, the same Trainer twice (eager, then ``TrainConfig(compile=True)``): seconds of the
first iteration (compiling happens there), iterations per second afterwards, the cost of the
recompile that a live shortcut switch triggers, and the break-even: after how many iterations the
compiled net has caught up, in iterations of 128 images (the batch it measures). A 3-epoch
classroom run of the built-in data holds as many images as 234 of those iterations (on a GPU it
is those 234; on a CPU, 936 iterations of 32). Prints one JSON object; asserts nothing.
"""

import argparse
import json
import os
import time

import torch  # noqa: E402

from resnet_edu import data as data_module  # noqa: E402
from resnet_edu.cli.machine import environment  # noqa: E402
from resnet_edu.data.synthetic import SYNTHETIC_TRAIN_IMAGES  # noqa: E402
from resnet_edu.devices import resolve_device  # noqa: E402
from resnet_edu.train import TrainConfig, Trainer  # noqa: E402

CLASSROOM_ITERATIONS = 3 * (SYNTHETIC_TRAIN_IMAGES // 128)  # a 3-epoch run's images, in iterations of 128


def _timed(trainer: Trainer, stream, steps: int) -> float:
    """Seconds for `steps` iterations, the device caught up at the end."""
    started = time.perf_counter()
    for _ in range(steps):
        trainer.train_step(*stream.next())
    trainer.read_metrics()
    if trainer.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def measure(depth: int, compiled: bool, steps: int, device: torch.device, dataset) -> dict:
    torch._dynamo.reset()
    config = TrainConfig(depth=depth, batch_size=128, epochs=1000, probe_every=0, compile=compiled)
    stream = data_module.BatchStream(dataset, 128, seed=0, device=device, channels_last=True)
    trainer = Trainer(config, num_classes=10, steps_per_epoch=stream.steps_per_epoch, device=device)
    first = _timed(trainer, stream, 1)
    _timed(trainer, stream, 2)
    steady = _timed(trainer, stream, steps) / steps
    trainer.request_shortcuts(False, stages=[2])  # what the Lab's switch does
    after_switch = _timed(trainer, stream, 1)
    return {"first_iteration_s": round(first, 2), "seconds_per_iteration": round(steady, 4),
            "first_iteration_after_a_switch_s": round(after_switch, 2), "precision": trainer.precision}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="torch.compile: compile time vs time saved per iteration")
    parser.add_argument("--depths", default="20,56,110")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = resolve_device(args.device)
    dataset = data_module.make_synthetic(num_train=2560, num_test=128)
    rows = []
    for depth in (int(d) for d in args.depths.split(",")):
        eager = measure(depth, False, args.steps, device, dataset)
        compiled = measure(depth, True, args.steps, device, dataset)
        saved = eager["seconds_per_iteration"] - compiled["seconds_per_iteration"]
        extra = compiled["first_iteration_s"] - eager["first_iteration_s"]
        rows.append({"net": f"ResNet-{depth}", "eager": eager, "compiled": compiled,
                     "speedup_per_iteration": round(eager["seconds_per_iteration"]
                                                    / compiled["seconds_per_iteration"], 2),
                     "break_even_iterations": round(extra / saved) if saved > 0 else None,
                     "pays_within_a_classroom_run": bool(saved > 0 and extra / saved < CLASSROOM_ITERATIONS)})
    print(json.dumps({"environment": environment(device), "load_average": os.getloadavg(),
                      "classroom_iterations": CLASSROOM_ITERATIONS, "nets": rows}, indent=2))
