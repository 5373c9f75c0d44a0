"""Time to degradation: the Fig. 1 preset (plain-20, plain-56, ResNet-56) in lockstep via the JobManager.

    python benchmarks/degradation.py [--quick] [--data FOLDER] [--recipe classroom|paper] [--precision auto|fp32|bf16]

Reports the seconds (from submit, data preparation included) and the iteration at which
plain-56's training error is >= 5 points above plain-20's while ResNet-56 is >= 5 points
below plain-56 and <= 2 points above plain-20. Runs on the synthetic set and on
../shared/data/cifar10-subset when present. Prints JSON; asserts nothing.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resnet_edu.bench import degradation  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="seconds until plain-56 is visibly worse than plain-20")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data", default=None, help="'synthetic' or an ImageFolder root")
    parser.add_argument("--recipe", default="classroom", choices=["classroom", "paper"])
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the criterion per data set")
    args = parser.parse_args()
    print(json.dumps(degradation(quick=args.quick, data=args.data, recipe=args.recipe, precision=args.precision,
                                 max_steps=args.max_steps, timeout=args.timeout), indent=2))
