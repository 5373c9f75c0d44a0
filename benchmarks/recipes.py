"""Which short-run recipe shows the paper's ordering? The study behind the "classroom" recipe.

    python benchmarks/recipes.py --variant paper --variant warmup50 --variant zero_init --steps 150
    python benchmarks/recipes.py --variant warmup50 --nets plain-110,ResNet-110 --steps 125

Trains plain-20, plain-56, ResNet-20 and ResNet-56 (or --nets) in lockstep on the same
batches, once per recipe variant, and prints JSON: the mean training error of each net over
windows of 25 iterations, the peak loss, and whether the paper's ordering holds in each
window (plain-56 > plain-20 > ResNet-56 and ResNet-56 below plain-56).

Variants (all: SGD momentum 0.9, weight decay 1e-4, lr 0.1, batch 128, He init, fp32):
  paper        lr 0.1 from the first step (Sec. 4.2)
  warmupN      lr rises linearly from 0.1/N to 0.1 over the first N iterations, every net
  zero_init    the last BN of every residual branch starts at gamma = 0 (Goyal et al. 2017)
  warmupN_zero both
Measures accuracy, not speed: run it with --threads 1 twice in parallel on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import time

import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from resnet_edu import data as data_module  # noqa: E402
from resnet_edu.models import build_model  # noqa: E402

WINDOW = 25


def parse_variant(variant: str) -> tuple[int, bool]:
    """'warmup50_zero' -> (50, True); 'paper' -> (0, False)."""
    match = re.fullmatch(r"(paper|zero_init|warmup(\d+)(_zero)?)", variant)
    if not match:
        raise SystemExit(f"unknown variant {variant!r}: use paper, zero_init, warmupN or warmupN_zero")
    warmup = int(match.group(2) or 0)
    return warmup, variant == "zero_init" or bool(match.group(3))


def parse_net(name: str) -> tuple[int, bool]:
    kind, depth = name.split("-")
    return int(depth), kind.lower() == "resnet"


def run_variant(variant: str, nets: list[str], dataset, steps: int, batch_size: int, seed: int) -> dict:
    warmup, zero_init = parse_variant(variant)
    stream = data_module.BatchStream(dataset, batch_size, seed=seed, channels_last=True)
    trainers = {}
    for name in nets:
        depth, shortcuts = parse_net(name)
        torch.manual_seed(seed)
        model = build_model("cifar", depth, dataset.num_classes, shortcuts=shortcuts,
                            zero_init_residual=zero_init and shortcuts).to(memory_format=torch.channels_last)
        trainers[name] = (model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4))
    errors = {name: [] for name in nets}
    peak_loss = {name: 0.0 for name in nets}
    started = time.perf_counter()
    for step in range(steps):
        images, labels = stream.next()
        lr = 0.1 * min(1.0, (step + 1) / warmup) if warmup else 0.1
        for name, (model, optimizer) in trainers.items():
            for group in optimizer.param_groups:
                group["lr"] = lr
            logits = model(images)
            loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            value = loss.item()
            peak_loss[name] = max(peak_loss[name], value) if math.isfinite(value) else float("inf")
            errors[name].append((logits.argmax(1) != labels).float().mean().item())
    windows = []
    for end in range(WINDOW, steps + 1, WINDOW):
        mean = {name: round(sum(e[end - WINDOW:end]) / WINDOW, 3) for name, e in errors.items()}
        row = {"iterations": f"{end - WINDOW + 1}-{end}", **mean}
        if {"plain-20", "plain-56", "ResNet-56"} <= set(mean):
            row["paper_ordering"] = bool(mean["plain-56"] > mean["plain-20"] > mean["ResNet-56"])
        windows.append(row)
    return {"variant": variant, "warmup_iterations": warmup, "zero_init_residual": zero_init,
            "seconds": round(time.perf_counter() - started, 1), "peak_loss": {k: round(v, 2) for k, v in peak_loss.items()},
            "train_error_by_window": windows}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variant", action="append", help="paper, zero_init, warmupN, warmupN_zero (repeatable)")
    parser.add_argument("--nets", default="plain-20,plain-56,ResNet-20,ResNet-56")
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default="synthetic", help="'synthetic' or an ImageFolder root")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.data == "synthetic":
        dataset = data_module.make_synthetic()
    else:
        dataset = data_module.load_imagefolder(args.data)
    nets = [n.strip() for n in args.nets.split(",") if n.strip()]
    return {"data": args.data, "seed": args.seed, "batch_size": args.batch_size, "threads": torch.get_num_threads(),
            "runs": [run_variant(v, nets, dataset, args.steps, args.batch_size, args.seed)
                     for v in (args.variant or ["paper", "warmup50"])]}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
