"""One process vs a two-process torchrun job on the CPU: training images per second of the same run.

    python benchmarks/torchrun_cpu.py [--depth 20] [--batch-size 128] [--steps 40] [--processes 2]

Both train the same net on the same global batches (synthetic data, no probes); the one-process
run uses every core, each torchrun process its share (gloo all-reduces the gradients). Prints
one JSON object: each run's ``images_per_second`` (the CLI's, training steps only), the ratio,
the CPU and the load average before and after (the machine may be shared: read the numbers with it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(command: list[str], runs_dir: str) -> dict:
    env = dict(os.environ, RESNET_EDU_RUNS_DIR=runs_dir)
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args()
    train = ["train", "--depth", str(args.depth), "--batch-size", str(args.batch_size), "--max-steps",
             str(args.steps), "--probe-every", "0", "--precision", args.precision, "--device", "cpu", "--json"]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        single = _run([sys.executable, "-m", "resnet_edu", *train], folder)
        several = _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
                        str(args.processes), "-m", "resnet_edu", *train], folder)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    print(json.dumps({
        "net": f"ResNet-{args.depth}", "global_batch": args.batch_size, "steps": args.steps,
        "precision": args.precision, "cpu": cpu, "cores": len(os.sched_getaffinity(0)),
        "one_process_images_per_second": single["images_per_second"],
        f"{args.processes}_processes_images_per_second": several["images_per_second"],
        "ratio": round(several["images_per_second"] / single["images_per_second"], 3),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }))


if __name__ == "__main__":
    main()
