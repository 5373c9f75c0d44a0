"""``landscape`` and ``bench``: the loss landscape of a stored run, and the benchmarks, as JSON."""

from __future__ import annotations

import argparse
import json
import sys

from resnet_edu.cli.parser import UserError
from resnet_edu.cli.train_command import status_line


def landscape_main(args: argparse.Namespace) -> int:
    """The loss grid of one run; JSON: run_id, grid, span, alphas, betas, loss (row i = alphas[i]), center_loss, seconds."""
    import os

    # As in the training process: OpenMP threads sleep while they wait instead of spinning, which on a
    # CPU shared with other work made a grid 8 times faster. Read when torch loads, so set it first.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from resnet_edu.inside import landscape
    from resnet_edu.runs import RunStore

    settings = landscape.LandscapeSettings(grid=args.grid, images=args.images, span=args.span, seed=args.seed,
                                           slice_points=0, interpolation_points=0)
    try:
        settings.validate()
    except ValueError as error:
        raise UserError(str(error)) from None
    store = RunStore()
    try:
        from resnet_edu.devices import resolve_device

        net = landscape.load_net(store, args.run_id, settings.images, resolve_device("auto"))
        result = landscape.landscape(net, settings, progress=lambda fraction, message: status_line(
            f"{message} {fraction:.0%}"))
    except ValueError as error:
        raise UserError(" ".join(str(error).split())) from None
    finally:
        store.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)  # end the status line
    summary = {"run_id": args.run_id, "name": result["name"], "grid": settings.grid, "span": settings.span,
               "seed": settings.seed, "images": result["images"], "alphas": result["alphas"],
               "betas": result["betas"], "loss": result["loss"], "error": result["error"],
               "center_loss": result["center_loss"], "center_error": result["center_error"],
               "roughness": result["roughness"], "precision": result["precision"], "seconds": result["seconds"]}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['name']}: loss at the trained weights {summary['center_loss']:.4f}, "
              f"{settings.grid}x{settings.grid} grid over [-{settings.span:g}, {settings.span:g}]^2 "
              f"in {summary['seconds']:.1f} s ({summary['precision']})")
        for alpha, row in zip(summary["alphas"], summary["loss"]):
            print(f"{alpha:+.3f} " + " ".join("   nan" if v is None else f"{v:6.3f}" for v in row))
    return 0


def bench_main(args: argparse.Namespace) -> int:
    from resnet_edu.cli import bench
    results = {}
    if args.which in ("all", "throughput"):
        results["throughput"] = bench.throughput(quick=args.quick, data=args.data)
    if args.which in ("all", "degradation"):
        results["degradation"] = bench.degradation(quick=args.quick, data=args.data)
    print(json.dumps(results))
    return 0
