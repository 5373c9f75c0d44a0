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

The learning rate follows the batch. The paper's lr of 0.1 is for batches of 128; a batch of
32 averages its gradient over a quarter of the images, so the classroom recipe takes a quarter
of the step: lr = 0.1 x batch / 128, the *linear scaling rule* (Goyal et al. 2017, "Accurate,
Large Minibatch SGD"). With lr 0.1 at every batch, small batches made ResNet-56 fall behind
plain-20 on the synthetic set (too large a step for a 56-layer net in its first iterations; on
CIFAR-10 photos at batch 32 and lr 0.1 it kept up on every seed: :data:`UNSCALED_LR_SEEDS_MET`);
with the scaled lr it keeps up on both data sets, and the gap shows sooner.

Everything that builds a run — the Lab, the CLI, the benchmarks, ``preset_configs`` — gets its
batch size from :func:`default_batch_size` and its lr from :func:`default_learning_rate`,
through ``TrainConfig(batch_size=None, lr=None)``.
"""

from __future__ import annotations

from resnet_edu import devices

PAPER_BATCH_SIZE = 128  # Sec. 4.2: "a mini-batch size of 128" on two GPUs
PAPER_LR = 0.1  # Sec. 4.2: "We start with a learning rate of 0.1" (for those batches of 128)
CPU_BATCH_SIZE = {"real": 32, "synthetic": 32}  # the classroom's batch on a CPU, by kind of data (measured)

# Seconds from the click until the degradation was clear (benchmarks/degradation.py's criterion),
# and on how many of seeds 0, 1, 2 it was met, per batch size: Fig. 1 + the fix (plain-20,
# plain-56, ResNet-56 in lockstep), classroom recipe with the lr scaled to the batch, the Lab's
# probes, the median over the seeds. Real photos: 12,000 CIFAR-10 images; the built-in synthetic
# set. In bf16 (this CPU's native format) and in fp32 (what a CPU without native bf16 trains in).
# Smaller batches need more iterations (bf16, photos: 60-101 at 32, 44-71 at 64) but far fewer
# images, and on a CPU images are what cost time. Batch 128 was measured in bf16 only (and for
# photos without probes, which cost little): slower than 32 and 64 on both data sets.
# The default of a kind is the batch that met the criterion on every seed in both precisions
# with the shortest median in the slower one (fp32: the laptop without native bf16).
CPU_MEASURED_ON = "2-core Intel Xeon with AMX"  # the machine that measured CPU_MEDIAN_SECONDS
CPU_MEASURED_ON_KO = "AMX가 있는 2코어 Intel Xeon"  # the same, in Korean
CPU_MEDIAN_SECONDS = {  # data kind -> precision -> batch -> (median seconds, seeds that met it)
    "real": {"bf16": {32: (15.1, 3), 64: (22.6, 3), 128: (36.3, 3)}, "fp32": {32: (37.9, 3), 64: (51.3, 3)}},
    "synthetic": {"bf16": {32: (28.7, 3), 64: (28.4, 3), 128: (56.7, 3)}, "fp32": {32: (42.3, 3), 64: (60.7, 2)}},
}

SEEDS_MEASURED = 3  # seeds 0, 1, 2: every measurement in this file
# Lr 0.1 at batch 32 (before the lr followed the batch): on how many of the SEEDS_MEASURED seeds the
# criterion above still held, per data kind (docs/RECIPE.md, "Before the lr was scaled"). Only the
# synthetic set showed ResNet-56 falling behind plain-20; on CIFAR-10 photos it kept up on every seed.
UNSCALED_LR_BATCH = 32
UNSCALED_LR_SEEDS_MET = {"synthetic": 1, "real": 3}

# torch.compile, measured with benchmarks/compile.py on a 2-core CPU (bf16), ResNet-20/56/110 in
# batches of COMPILE_BATCH: about COMPILE_SECONDS to compile, RECOMPILE_SECONDS again after each
# shortcut switch, then iterations COMPILE_SPEEDUP times faster, so it paid for itself only after
# COMPILE_BREAK_EVEN iterations (of COMPILE_BATCH images). Off by default (docs/RECIPE.md).
COMPILE_BATCH = 128
COMPILE_SECONDS = 50
RECOMPILE_SECONDS = (20, 50)
COMPILE_SPEEDUP = (1.1, 1.3)
COMPILE_BREAK_EVEN = (1_200, 1_600)


def data_kind(dataset: str) -> str:
    """"synthetic" for the built-in set, "real" for photographs (CIFAR-10, Imagenette, image folders)."""
    return "synthetic" if dataset == "synthetic" else "real"


def default_batch_size(recipe: str = "classroom", device: str | None = None, dataset: str = "synthetic") -> int:
    """The batch size a run gets when none is chosen.

    Args:
        recipe: "paper" always trains in batches of 128 (Sec. 4.2); "classroom" depends on the device.
        device: "cpu", "cuda", "mps", "cuda:1" or "auto"/None (the device "auto" trains on).
        dataset: the run's data set: on a CPU the built-in synthetic set and real photos were
            measured apart (both chose 32 once the lr was scaled to the batch).
    """
    if recipe != "classroom":
        return PAPER_BATCH_SIZE
    kind = devices.resolve_device(device).type if device in (None, "auto") else str(device).split(":")[0]
    if kind != "cpu":  # a GPU step of 128 images costs little more than one of 32: keep the paper's batch
        return PAPER_BATCH_SIZE
    return CPU_BATCH_SIZE[data_kind(dataset)]


def cpu_batch_text() -> str:
    """The classroom's CPU batch for prose: "32", or "32–64" if the kinds of data ever differ."""
    low, high = min(CPU_BATCH_SIZE.values()), max(CPU_BATCH_SIZE.values())
    return f"{low}" if low == high else f"{low}–{high}"


def cpu_lr_text() -> str:
    """The classroom's default lr on a CPU for prose: "0.025", or a range if the CPU batches ever differ."""
    low, high = (default_learning_rate("classroom", size) for size in (min(CPU_BATCH_SIZE.values()),
                                                                        max(CPU_BATCH_SIZE.values())))
    return f"{low:g}" if low == high else f"{low:g}–{high:g}"


def default_learning_rate(recipe: str = "classroom", batch_size: int = PAPER_BATCH_SIZE) -> float:
    """The learning rate a run gets when none is chosen.

    Args:
        recipe: "paper" always starts at 0.1 (Sec. 4.2); "classroom" scales the paper's 0.1 by
            ``batch_size / 128`` (the linear scaling rule), so a batch of 32 starts at 0.025.
        batch_size: the run's (global) batch size.
    """
    if recipe != "classroom":
        return PAPER_LR
    return PAPER_LR * batch_size / PAPER_BATCH_SIZE
