"""The classroom's defaults per device: how big a batch, so a class sees the degradation soonest.

The paper trains CIFAR nets in batches of 128 (Sec. 4.2), and the "paper" recipe always does.
A class, though, watches the first minute of a run, and there the batch size decides how
soon plain-56 visibly falls behind plain-20 (and ResNet-56 does not). On a GPU a batch of
128 costs little more than a smaller one, so the classroom keeps the paper's 128 there. On a
2-core CPU an iteration costs time in proportion to the images in it, while the gap appears
after a number of *iterations* that grows only slowly as the batch shrinks: smaller batches
show it sooner, down to the point where one iteration's gradient is too noisy for the curves
to separate.
``benchmarks/degradation.py`` measured that point (seconds from the click until the gap is
clear, median of three seeds); :data:`CPU_MEDIAN_SECONDS` keeps those numbers, so the Lab can
say why it chose what it chose, and docs/RECIPE.md has the full table.

Everything that builds a run — the Lab, the CLI, the benchmarks, ``preset_configs`` — gets its
batch size from :func:`default_batch_size`, through ``TrainConfig(batch_size=None)``.
"""

from __future__ import annotations

from resnet_edu import devices

PAPER_BATCH_SIZE = 128  # Sec. 4.2: "a mini-batch size of 128" on two GPUs
CPU_BATCH_SIZE = {"real": 32, "synthetic": 128}  # the classroom's batch on a CPU, by kind of data (measured)

# Seconds from the click until the degradation was clear (benchmarks/degradation.py's criterion),
# and on how many of seeds 0, 1, 2 it was met, per batch size: Fig. 1 + the fix (plain-20,
# plain-56, ResNet-56 in lockstep), classroom recipe, the median over the seeds. Real photos:
# 12,000 CIFAR-10 images, probes off, in bf16 (this CPU's native format) and in fp32 (what a CPU
# without native bf16 trains in); smaller batches needed somewhat more iterations (bf16: 63-79 at
# 32, 36-41 at 128) but far fewer images, and on a CPU images are what cost time. The built-in
# synthetic set, with the Lab's settings (probes on): plain-20 soon learns it so fast that
# ResNet-56 falls behind it with small batches; only 128 met the criterion on every seed.
CPU_MEASURED_ON = "2-core Intel Xeon with AMX"
CPU_MEDIAN_SECONDS = {  # data kind -> precision -> batch -> (median seconds, seeds that met it)
    "real": {"bf16": {32: (24.5, 3), 64: (33.5, 3), 128: (36.3, 3)}, "fp32": {32: (34.9, 3), 64: (57.2, 3)}},
    "synthetic": {"bf16": {32: (None, 1), 64: (37.5, 2), 128: (56.7, 3)}},
}


def data_kind(dataset: str) -> str:
    """"synthetic" for the built-in set, "real" for photographs (CIFAR-10, Imagenette, image folders)."""
    return "synthetic" if dataset == "synthetic" else "real"


def default_batch_size(recipe: str = "classroom", device: str | None = None, dataset: str = "synthetic") -> int:
    """The batch size a run gets when none is chosen.

    Args:
        recipe: "paper" always trains in batches of 128 (Sec. 4.2); "classroom" depends on the device.
        device: "cpu", "cuda", "mps", "cuda:1" or "auto"/None (the device "auto" trains on).
        dataset: the run's data set: on a CPU the built-in synthetic set and real photos differ.
    """
    if recipe != "classroom":
        return PAPER_BATCH_SIZE
    kind = devices.resolve_device(device).type if device in (None, "auto") else str(device).split(":")[0]
    if kind != "cpu":  # a GPU step of 128 images costs little more than one of 32: keep the paper's batch
        return PAPER_BATCH_SIZE
    return CPU_BATCH_SIZE[data_kind(dataset)]
