"""Time to degradation: the Fig. 1 presets in lockstep via the JobManager, per seed and their median.

    python benchmarks/degradation.py [--quick] [--data FOLDER] [--preset fig1|fig1_fix] [--seeds 0,1,2]
        [--batch-size N] [--lr 0.1] [--probe-every N] [--recipe classroom|paper] [--precision auto|fp32|bf16] [--timeout S]

Reports the seconds (from submit, data preparation included) and the iteration at which
plain-56's training error is >= 5 points above plain-20's (with fig1_fix also: ResNet-56 >= 5
points below plain-56 and <= 2 points above plain-20), for each seed, the median over the
seeds, and the seeds on which a ResNet stayed near chance. Runs on the synthetic set and on
--data FOLDER, else on the CIFAR-10 subset $RESNET_EDU_CIFAR_SUBSET names, if any. Prints JSON;
asserts nothing.
"""

import argparse
import json

from resnet_edu.cli.bench import degradation  # noqa: E402

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="seconds until plain-56 is visibly worse than plain-20")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data", default=None, help="'synthetic' or an ImageFolder root")
    parser.add_argument("--recipe", default="classroom", choices=["classroom", "paper"])
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the criterion per run")
    parser.add_argument("--preset", default="fig1_fix", choices=["fig1", "fig1_fix"])
    parser.add_argument("--seeds", default="0", help="comma-separated, e.g. 0,1,2 (the summary gives the median)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="default: the Lab's default for this device (resnet_edu.train.classroom)")
    parser.add_argument("--lr", type=float, default=None,
                        help="default: the Lab's (the recipe's lr for the batch size, resnet_edu.train.classroom)")
    parser.add_argument("--probe-every", type=int, default=None,
                        help="gradient-norm probes every N iterations (default: the Lab's; 0: none)")
    args = parser.parse_args()
    print(json.dumps(degradation(quick=args.quick, data=args.data, recipe=args.recipe, precision=args.precision,
                                 max_steps=args.max_steps, timeout=args.timeout, preset=args.preset,
                                 seeds=[int(seed) for seed in args.seeds.split(",")], batch_size=args.batch_size,
                                 lr=args.lr, probe_every=args.probe_every), indent=2))
