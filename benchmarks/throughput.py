"""Training throughput: ResNet Lab's engine vs a conventional loop (same model, data, process).

    python benchmarks/throughput.py [--quick] [--data FOLDER] [--depths 20,56,110] [--device auto|cpu|cuda|mps]

Prints one JSON object (images/s per net and the ratio); asserts nothing.
Photos: --data FOLDER, else the CIFAR-10 subset $RESNET_EDU_CIFAR_SUBSET names, else the synthetic
set written as PNGs.
"""

import argparse
import json

from resnet_edu.cli.bench import throughput  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="engine vs conventional training loop, images/s")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data", default=None, help="an ImageFolder root with train/ (default: the CIFAR subset)")
    parser.add_argument("--depths", default="20,56,110")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    depths = tuple(int(d) for d in args.depths.split(","))
    print(json.dumps(throughput(quick=args.quick, depths=depths, data=args.data, device=args.device), indent=2))
