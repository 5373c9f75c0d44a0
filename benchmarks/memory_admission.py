"""How close the admission estimate is to what training really takes: estimate vs measured peak memory.

    python benchmarks/memory_admission.py                  # ResNet-20/56/110 at 32 px, ImageNet-18/34 at 112 px
    python benchmarks/memory_admission.py --small          # ResNet-20 and ImageNet-18 at 64 px, tiny: a check
    python benchmarks/memory_admission.py --device cuda    # the card's peak (torch.cuda.max_memory_allocated)

For every net and two batch sizes, one child process builds the net as a run does (the Trainer),
trains ``--steps`` iterations on a batch stream and evaluates once, as a lane does. Its images are
random uint8 tensors of the data set's real size (the memory a decoded set takes does not depend on
what the pixels show; nothing here is a result about learning). The parent reads the child's peak
resident memory with ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` (one fresh parent per child,
so each number is that child's own) and subtracts the peak of a child that only imports torch and
the library: what is left is what the comparison itself took, set beside
:func:`resnet_edu.engine.admission.memory_needed`'s estimate (which must not be below it).

Prints JSON; asserts nothing. Take numbers on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MIB = 2**20

FULL = [("cifar", 20, 32), ("cifar", 56, 32), ("cifar", 110, 32), ("imagenet", 18, 112), ("imagenet", 34, 112)]
SMALL = [("cifar", 20, 32), ("imagenet", 18, 64)]

CHILD = r"""
import json, sys, torch
spec = json.loads(sys.argv[1])
torch.set_num_threads(spec["threads"])
from resnet_edu import data as data_module
from resnet_edu.engine import admission
from resnet_edu.train import TrainConfig, Trainer
if spec["family"] is None:  # the baseline: the interpreter, torch and the library, nothing trained
    print(json.dumps({}))
    sys.exit(0)
config = TrainConfig(family=spec["family"], depth=spec["depth"], dataset="synthetic", image_size=spec["size"],
                     batch_size=spec["batch"], max_train_images=spec["train"], epochs=1, probe_every=10,
                     shortcut_type="A" if spec["family"] == "cifar" else "B")
train, test = spec["train"], admission.DATASET_IMAGES["synthetic"][1]
g = torch.Generator().manual_seed(0)
images = lambda n: torch.randint(0, 256, (n, 3, spec["size"], spec["size"]), dtype=torch.uint8, generator=g)
dataset = data_module.ImageDataset(name="memory", train_images=images(train), train_labels=torch.arange(train) % 10,
                                   test_images=images(test), test_labels=torch.arange(test) % 10,
                                   classes=tuple(str(i) for i in range(10)), mean=(0.5,) * 3, std=(0.25,) * 3)
device = torch.device(spec["device"])
trainer = Trainer(config, num_classes=10, steps_per_epoch=max(1, train // spec["batch"]), device=device)
stream = data_module.BatchStream(dataset, spec["batch"], device=device, channels_last=trainer.channels_last)
for _ in range(spec["steps"]):
    trainer.train_step(*stream.next())
trainer.read_metrics()
trainer.evaluate(data_module.test_batches(dataset, admission.EVAL_BATCH, device=device,
                                          channels_last=trainer.channels_last))
peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
print(json.dumps({"cuda_peak_bytes": peak}))
"""

PARENT = r"""
import resource, subprocess, sys
child = subprocess.run([sys.executable, "-c", sys.argv[1], sys.argv[2]], capture_output=True, text=True)
sys.stdout.write(child.stdout.strip().splitlines()[-1] if child.returncode == 0 and child.stdout.strip() else "null")
sys.stdout.write("\n" + str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) + "\n" + child.stderr[-400:])
"""


def measure(spec: dict) -> dict:
    """Run one child under a fresh parent; its peak RSS (bytes) and what it printed."""
    started = time.perf_counter()
    answer = subprocess.run([sys.executable, "-c", PARENT, CHILD, json.dumps(spec)], capture_output=True, text=True,
                            cwd=REPO, timeout=3600)
    lines = answer.stdout.splitlines()
    printed = json.loads(lines[0]) if lines and lines[0] != "null" else None
    peak = int(lines[1]) * 1024 if len(lines) > 1 else None  # Linux reports kilobytes
    return {"ok": printed is not None, "peak_rss_bytes": peak, "printed": printed, "seconds": time.perf_counter() - started,
            "stderr_tail": "\n".join(lines[2:])[-400:] if printed is None else ""}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="two tiny nets and batches: a correctness check")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--batches", default=None, help="two batch sizes, e.g. 32,128 (default 32,128; --small 4,8)")
    parser.add_argument("--steps", type=int, default=None, help="iterations per child (default 3; --small 1)")
    parser.add_argument("--train-images", type=int, default=None, help="training images held (default 10,000; --small 256)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from resnet_edu.engine import admission
    from resnet_edu.train import TrainConfig

    nets = SMALL if args.small else FULL
    batches = [int(b) for b in (args.batches or ("4,8" if args.small else "32,128")).split(",")]
    steps = args.steps or (1 if args.small else 3)
    train = args.train_images or (256 if args.small else 10_000)
    base = {"device": args.device, "threads": args.threads, "steps": steps, "train": train}
    baseline = measure({**base, "family": None, "depth": 0, "size": 0, "batch": 0})
    rows = []
    for family, depth, size in nets:
        for batch in batches:
            config = TrainConfig(family=family, depth=depth, dataset="synthetic", image_size=size, batch_size=batch,
                                 max_train_images=train, shortcut_type="A" if family == "cifar" else "B")
            need = admission.memory_needed([config], args.device)
            result = measure({**base, "family": family, "depth": depth, "size": size, "batch": batch})
            row = {"net": f"{'ResNet' if family == 'cifar' else 'ImageNet'}-{depth}", "image_size": size,
                   "batch": batch, "estimate_mib": round(need.total / MIB, 1),
                   "estimate_parts_mib": {k: round(getattr(need, k) / MIB, 1)
                                          for k in ("activations", "weights", "evaluation", "dataset")},
                   "ok": result["ok"], "seconds": round(result["seconds"], 1)}
            if result["ok"] and baseline["peak_rss_bytes"]:
                took = result["peak_rss_bytes"] - baseline["peak_rss_bytes"]
                row.update(peak_rss_mib=round(result["peak_rss_bytes"] / MIB, 1), took_mib=round(took / MIB, 1),
                           estimate_over_measured=round(need.total / took, 2) if took > 0 else None)
                cuda_peak = (result["printed"] or {}).get("cuda_peak_bytes")
                if cuda_peak:
                    row.update(cuda_peak_mib=round(cuda_peak / MIB, 1),
                               estimate_over_cuda_peak=round(need.total / cuda_peak, 2))
            else:
                row["error"] = result["stderr_tail"]
            rows.append(row)
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else None
    print(json.dumps({"device": args.device, "steps": steps, "train_images": train,
                      "baseline_rss_mib": round((baseline["peak_rss_bytes"] or 0) / MIB, 1), "load_average": load,
                      "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
