"""Does the data set show the paper's degradation problem (Fig. 1) early in training?

Trains plain-20, plain-56 and ResNet-56 in lockstep on the same batches (one BatchStream) and
prints their running training errors (mean of the last 20 steps) every 10 steps, then one JSON
object. Recipe: SGD momentum 0.9, weight decay 1e-4, batch 128, lr warmed up linearly from 0 to
0.1 over the first 78 steps (then constant), channels_last, bf16 autocast unless --fp32.

    python benchmarks/synthetic_check.py                         # synthetic
    python benchmarks/synthetic_check.py --data "$RESNET_EDU_CIFAR_SUBSET"   # an ImageFolder of CIFAR-10 photos

Prints JSON; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from resnet_edu.data import BatchStream, load_dataset  # noqa: E402
from resnet_edu.models import build_model  # noqa: E402

NETS = {"plain-20": (20, False), "plain-56": (56, False), "resnet-56": (56, True)}


def running(errors: list[float], window: int = 20) -> float:
    tail = errors[-window:]
    return sum(tail) / len(tail)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="synthetic", help="'synthetic' or an ImageFolder root")
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--warmup", type=int, default=78, help="linear warm-up steps from 0 to --lr")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fp32", action="store_true", help="no bf16 autocast")
    parser.add_argument("--zero-init", action="store_true", help="zero-init the last BN gamma of residual branches")
    parser.add_argument("--nets", default=",".join(NETS), help="comma-separated subset of " + ",".join(NETS))
    parser.add_argument("--out", help="also write the JSON (with per-step errors) to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    t0 = time.time()
    if args.data == "synthetic":
        dataset = load_dataset("synthetic", seed=args.seed)
    else:
        dataset = load_dataset("imagefolder", root=args.data, image_size=32, seed=args.seed)
    data_seconds = time.time() - t0
    stream = BatchStream(dataset, args.batch_size, seed=args.seed, augment="cifar", channels_last=True)

    nets = {}
    for name in args.nets.split(","):
        depth, shortcuts = NETS[name]
        torch.manual_seed(args.seed)
        opts = {"zero_init_residual": True} if (args.zero_init and shortcuts) else {}
        model = build_model("cifar", depth, num_classes=dataset.num_classes, shortcuts=shortcuts, **opts)
        model = model.to(memory_format=torch.channels_last).train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.0, momentum=0.9, weight_decay=1e-4)
        nets[name] = {"model": model, "opt": optimizer, "errors": [], "losses": [], "seconds": 0.0}

    history = []
    train_start = time.time()
    for step in range(args.steps):
        lr = args.lr * min(1.0, (step + 1) / args.warmup) if args.warmup else args.lr
        x, y = stream.next()
        for net in nets.values():
            start = time.time()
            for group in net["opt"].param_groups:
                group["lr"] = lr
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=not args.fp32):
                logits = net["model"](x)
            loss = F.cross_entropy(logits.float(), y)
            net["opt"].zero_grad(set_to_none=True)
            loss.backward()
            net["opt"].step()
            net["errors"].append(float((logits.argmax(1) != y).float().mean()))
            net["losses"].append(loss.item())
            net["seconds"] += time.time() - start
        row = {"step": step + 1, **{name: round(running(net["errors"]), 4) for name, net in nets.items()}}
        history.append(row)
        if (step + 1) % 10 == 0 or step + 1 == args.steps:
            print(json.dumps({**row, "loss": {n: round(v["losses"][-1], 3) for n, v in nets.items()},
                              "elapsed_s": round(time.time() - train_start, 1)}), flush=True)

    def at(step: int) -> dict:
        step = min(step, len(history))
        return {k: v for k, v in history[step - 1].items() if k != "step"}

    first_gap = None
    if {"plain-20", "plain-56"} <= set(nets):
        for row in history:
            if row["step"] >= 20 and row["plain-56"] - row["plain-20"] >= 0.05 and (
                    "resnet-56" not in row or row["plain-56"] - row["resnet-56"] >= 0.05):
                first_gap = row["step"]
                break
    result = {
        "data": dataset.name, "num_train": dataset.num_train, "steps": args.steps, "batch_size": args.batch_size,
        "recipe": {"lr": args.lr, "warmup_steps": args.warmup, "momentum": 0.9, "weight_decay": 1e-4,
                   "bf16_autocast": not args.fp32, "channels_last": True, "zero_init_resnet": args.zero_init},
        "running_train_error": {str(s): at(s) for s in sorted({40, 100, args.steps}) if s <= args.steps},
        "first_step_degradation_visible": first_gap,
        "data_seconds": round(data_seconds, 2),
        "train_seconds": round(time.time() - train_start, 1),
        "seconds_per_step": {n: round(v["seconds"] / args.steps, 3) for n, v in nets.items()},
        "threads": args.threads, "torch": torch.__version__, "machine": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(result))
    if args.out:
        Path(args.out).write_text(json.dumps({**result, "history": history,
                                              "per_step_error": {n: v["errors"] for n, v in nets.items()}}))
    return result


if __name__ == "__main__":
    main()
