"""Time to the first point on the curves: from the click to every net's first recorded iteration.

    python benchmarks/first_step.py [--data FOLDER] [--preset fig1|fig1_fix] [--think 20]

Trains the way the app does (the training process, the Lab's default settings), once cold
(the click starts everything) and once prepared (the app loaded the data set when it started,
and the teacher clicks --think seconds later). Prints JSON; asserts nothing.
"""

import argparse
import json

from resnet_edu.cli.bench import first_step  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="seconds from the click to the first iteration of every net")
    parser.add_argument("--data", default=None, help="'synthetic' (default) or an ImageFolder root")
    parser.add_argument("--preset", default="fig1_fix", choices=["fig1", "fig1_fix"])
    parser.add_argument("--think", type=float, default=20.0, help="seconds between the app's start and the click")
    args = parser.parse_args()
    print(json.dumps(first_step(data=args.data, preset=args.preset, think_seconds=args.think), indent=2))
