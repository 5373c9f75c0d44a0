"""How long do the loss landscapes of plain-56 and ResNet-56 take (15×15 grid, 128 images)?

The Landscape page's default job: both nets, the same two random filter-normalised
directions, coarse-to-fine (the 5×5 picture first). Timed here without the 1-D slice and the
init→trained path (``--with-paths`` adds them). Nets are freshly initialised unless
``--runs-dir`` and ``--run-ids`` name trained runs: the cost of a point does not depend on the
weights. The budget on a 2-core CPU is 3 minutes; on a GPU, seconds.

    python benchmarks/landscape.py                       # precision auto (bf16 on AMX CPUs and GPUs)
    python benchmarks/landscape.py --precision fp32

Prints one JSON object (with the load average before and after: the machine may be shared);
asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import time

# As in the app's training process, where landscape jobs run: OpenMP threads sleep instead of
# spinning while they wait, which matters on a CPU shared with other work. Before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

from resnet_edu.cli.machine import cpu_name  # noqa: E402
from resnet_edu.data import load_dataset, normalize  # noqa: E402
from resnet_edu.devices import resolve_device  # noqa: E402
from resnet_edu.inside import landscape
from resnet_edu.models import build_model  # noqa: E402


def _fresh_nets(images: int, device: torch.device) -> list[landscape.Net]:
    dataset = load_dataset("synthetic")
    x = normalize(dataset.train_images[:images], dataset.mean, dataset.std)
    y = dataset.train_labels[:images]
    nets = []
    for shortcuts in (False, True):
        torch.manual_seed(0)
        model = build_model("cifar", 56, shortcuts=shortcuts).to(device).eval()
        nets.append(landscape.Net(run_id="fresh", name=("ResNet-56" if shortcuts else "plain-56"), model=model,
                                  images=x, labels=y, initial_state=None, shortcuts=shortcuts, depth=56))
    return nets


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=15)
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--precision", default="auto", choices=list(landscape.PRECISIONS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--with-paths", action="store_true", help="also the 1-D slices and init→trained paths")
    parser.add_argument("--runs-dir", default=None, help="a run store with trained runs (default: fresh nets)")
    parser.add_argument("--run-ids", default=None, help="comma-separated: the plain run, then its twin")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = resolve_device("auto")
    load_before = os.getloadavg()

    if args.runs_dir and args.run_ids:
        from resnet_edu.runs import RunStore

        store = RunStore(args.runs_dir)
        nets = [landscape.load_net(store, run_id, args.images, device) for run_id in args.run_ids.split(",")]
    else:
        nets = _fresh_nets(args.images, device)
    settings = landscape.LandscapeSettings(grid=args.grid, images=args.images, precision=args.precision,
                                           slice_points=21 if args.with_paths else 0,
                                           interpolation_points=21 if args.with_paths else 0)
    started = time.perf_counter()
    first_picture = None
    result = None
    for step in landscape.compute(nets, settings, device):
        result = step.result
        if first_picture is None and all(n["known"] for n in result["nets"]):
            first_picture = time.perf_counter() - started
    seconds = time.perf_counter() - started
    points = len(nets) * args.grid ** 2
    report = {
        "benchmark": "landscape",
        "nets": [n["name"] for n in result["nets"]],
        "grid": args.grid, "images": args.images, "precision": result["precision"], "device": str(device),
        "cpu": cpu_name() if device.type == "cpu" else torch.cuda.get_device_name(device),
        "threads": torch.get_num_threads(),
        "seconds": round(seconds, 2),
        "seconds_first_picture_5x5": round(first_picture or 0.0, 2),
        "seconds_per_net": {n["name"]: n["seconds"] for n in result["nets"]},
        "points": points, "seconds_per_point": round(seconds / points, 4),
        "budget_seconds": 180, "within_budget": seconds <= 180,
        "trained_nets": bool(args.runs_dir and args.run_ids),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "cpu_count": os.cpu_count(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "torch": torch.__version__,
    }
    if report["trained_nets"]:  # a fresh net's loss (untrained BN statistics) says nothing about a landscape
        report["center_loss"] = {n["name"]: n["center_loss"] for n in result["nets"]}
        report["roughness"] = {n["name"]: n["roughness"]["mean_abs_second_difference"] for n in result["nets"]}
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
