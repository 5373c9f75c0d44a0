"""How long the built-in synthetic data set (10,000 training + 2,000 test images) takes to make.

The Lab generates it whenever a run asks for it, so it should take seconds. Measured here, not
asserted in a test: a shared machine makes any time limit flaky.

    python benchmarks/synthetic_speed.py [--repeats 3]

Prints one JSON object (CPU and wall seconds per generation, torch threads, the machine's load).
"""

from __future__ import annotations

import argparse
import json
import os
import time

from resnet_edu.data import make_synthetic  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="generations to time (default 3)")
    args = parser.parse_args(argv)
    import torch

    cpu, wall = [], []
    for seed in range(args.repeats):
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        make_synthetic(seed=seed)
        cpu.append(round(time.process_time() - cpu_start, 3))
        wall.append(round(time.perf_counter() - wall_start, 3))
    result = {"benchmark": "synthetic_speed", "images": 12_000, "cpu_seconds": cpu, "wall_seconds": wall,
              "torch_threads": torch.get_num_threads(), "load_average": list(os.getloadavg())}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
