"""Benchmarks: training throughput against a conventional loop, and time to degradation.

Both return plain dicts (printed as JSON by ``python -m resnet_edu bench`` and by the
scripts in benchmarks/); nothing here asserts a timing.

* :func:`throughput` trains the same model on the same images two ways in one process:
  the engine (decoded uint8 tensors, batched on-tensor crop/flip, channels_last, bf16 where
  the hardware has it) and the loop most tutorials write (torchvision ``ImageFolder`` + PIL
  transforms + ``DataLoader(num_workers=2)`` + eager fp32). It reports images/s and the ratio.
* :func:`degradation` runs the Fig. 1 comparison (plain-20, plain-56, and with "the fix"
  ResNet-56) in lockstep through the JobManager, for one or several seeds, and reports the
  seconds and iterations until the degradation is visible: plain-56's training error (mean of
  the last ``TRAIN_ERROR_WINDOW`` steps) at least 5 points above plain-20's, and with the fix
  ResNet-56 at least 5 points below plain-56 and at most 2 above plain-20
  (:func:`degradation_iteration` reads it off the runs' steps).
* The facts of the machine (:mod:`resnet_edu.cli.machine`: CPU, matmul peak, CPU time of a
  process tree) are importable from here too, as the benchmarks in benchmarks/ do.

Photos: ``data`` (the CLI's ``--data``), else the CIFAR-10 subset ``$RESNET_EDU_CIFAR_SUBSET`` names
(:func:`resnet_edu.data.root.cifar_subset`), else the built-in synthetic set.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from resnet_edu import data as data_module
from resnet_edu.cli.machine import (
    cpu_facts,
    cpu_name,
    cpu_seconds_between,
    cpu_threads_usable,
    environment,
    matmul_peak_gflops,
    proc_stat,
    process_tree,
)
from resnet_edu.data.root import cifar_subset
from resnet_edu.devices import resolve_precision
from resnet_edu.models import build_model
from resnet_edu.train import TRAIN_ERROR_WINDOW, TrainConfig, preset_configs, resolve



def _sgd(model):
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)


def _time_steps(step, batches, warmup: int, steps: int, batch_size: int, sync) -> float:
    for _ in range(warmup):
        step(*next(batches))
    sync()
    started = time.perf_counter()
    for _ in range(steps):
        step(*next(batches))
    sync()
    return steps * batch_size / (time.perf_counter() - started)


def _write_image_folder(dataset: data_module.ImageDataset, folder: Path, limit: int) -> Path:
    """The synthetic images as PNG files, so the conventional loop has something to decode."""
    from PIL import Image

    train = folder / "train"
    for index in range(min(limit, dataset.num_train)):
        label = int(dataset.train_labels[index])
        target = train / dataset.classes[label]
        target.mkdir(parents=True, exist_ok=True)
        Image.fromarray(dataset.train_images[index].permute(1, 2, 0).numpy()).save(target / f"{index:05d}.png")
    return train


def _conventional_batches(train_folder: Path, mean, std, batch_size: int, device):
    import torchvision
    from torchvision import transforms

    transform = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(),
                                    transforms.ToTensor(), transforms.Normalize(mean, std)])
    dataset = torchvision.datasets.ImageFolder(str(train_folder), transform=transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=2,
                                         drop_last=True, persistent_workers=True)
    while True:
        for images, labels in loader:
            yield images.to(device), labels.to(device)


def training_gflop_per_image(depth: int, device: torch.device, only_convolutions: bool = False) -> float:
    """Floating-point operations of one training step (forward + backward) per image, counted by torch.

    only_convolutions: count the convolutions alone (forward and backward), which are all but
    a few thousandths of the total.
    """
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model("cifar", depth).to(device)
    images = torch.randn(8, 3, 32, 32, device=device)
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(images), torch.zeros(8, dtype=torch.long, device=device)).backward()
    if not only_convolutions:
        return counter.get_total_flops() / 8 / 1e9
    per_op = counter.get_flop_counts()["Global"]
    return sum(flops for op, flops in per_op.items() if "convolution" in str(op)) / 8 / 1e9


# Which kind of work each CPU operator of a training step does (matched against its name, in order).
OPERATOR_KINDS = (("convolution", ("convolution",)), ("batch_norm", ("batch_norm",)),
                  ("relu", ("relu", "threshold_backward", "clamp_min")))


def cpu_time_by_kind(step, batches, steps: int = 3) -> dict[str, float]:
    """Where a CPU training step spends its time: the share of convolutions, batch norm, ReLU, and
    everything else (the residual additions, the optimizer, the loss, copies), from torch.profiler.

    Self time of each operator, so nothing is counted twice. The convolutions are the step's
    arithmetic; the rest moves memory: the part a fused kernel (torch.compile) could save.
    """
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(steps):
            step(*next(batches))
    seconds = dict.fromkeys([kind for kind, _ in OPERATOR_KINDS] + ["other"], 0.0)
    for event in profiler.key_averages():
        if not event.key.startswith("aten::"):
            continue  # autograd and optimizer wrappers: their aten operators are counted themselves
        kind = next((kind for kind, names in OPERATOR_KINDS if any(name in event.key for name in names)), "other")
        seconds[kind] += event.self_cpu_time_total / 1e6
    total = sum(seconds.values()) or 1.0
    return {kind: round(value / total, 3) for kind, value in seconds.items()}


def throughput(quick: bool = False, depths=(20, 56, 110), data: str | None = None, device: str | None = None) -> dict:
    """Images per second: the engine (the Trainer of every lane) vs a conventional loop, same model and data.

    Also the fraction of this device's measured matmul peak that each engine row reaches and, on a
    CPU, where its time goes (``cpu_time_by_kind``) and the fraction of the peak its convolutions
    alone reach: the ceiling for the whole step, were batch norm, ReLU and the rest free.
    """
    from resnet_edu.devices import resolve_device
    from resnet_edu.train import Trainer

    device = resolve_device(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    batch_size, warmup, steps = 128, (2 if quick else 3), (10 if quick else 20)
    source = data or str(cifar_subset() or "synthetic")
    if source == "synthetic":
        dataset = data_module.make_synthetic(num_train=2560 if quick else 5120, num_test=256)
        scratch = tempfile.TemporaryDirectory()
        train_folder = _write_image_folder(dataset, Path(scratch.name), dataset.num_train)
    else:
        dataset = data_module.load_dataset("imagefolder", root=source)
        train_folder = Path(source) / "train"
    precisions = ["fp32"] + (["bf16"] if resolve_precision("auto", device) == "bf16" else [])
    peaks = {p: round(matmul_peak_gflops(device, torch.float32 if p == "fp32" else torch.bfloat16), 1)
             for p in precisions}
    results = {"environment": environment(device), "data": "synthetic" if source == "synthetic" else source,
               "batch_size": batch_size, "timed_steps": steps, "matmul_peak_gflops": peaks, "nets": []}
    for depth in depths:
        gflop = training_gflop_per_image(depth, device)
        conv_gflop = training_gflop_per_image(depth, device, only_convolutions=True)
        row = {"net": f"ResNet-{depth}", "training_gflop_per_image": round(gflop, 3)}
        for precision in precisions:
            stream = data_module.BatchStream(dataset, batch_size, seed=0, device=device, channels_last=True)
            config = TrainConfig(depth=depth, batch_size=batch_size, epochs=1000, probe_every=0, precision=precision)
            trainer = Trainer(config, num_classes=dataset.num_classes, steps_per_epoch=stream.steps_per_epoch,
                              device=device)

            def engine_sync(trainer=trainer):
                trainer.read_metrics()
                sync()

            batches = iter(stream)
            ips = _time_steps(trainer.train_step, batches, warmup, steps, batch_size, engine_sync)
            row[f"engine_{precision}"] = round(ips, 1)
            row[f"engine_{precision}_gflops"] = round(ips * gflop, 1)
            row[f"engine_{precision}_fraction_of_{precision}_peak"] = round(ips * gflop / peaks[precision], 3)
            if device.type == "cpu":  # the ceiling: how fast the convolutions alone run, in the same steps
                shares = cpu_time_by_kind(trainer.train_step, batches, steps=2 if quick else 3)
                row[f"engine_{precision}_time_shares"] = shares
                conv_gflops = ips * conv_gflop / (shares["convolution"] or 1.0)
                row[f"engine_{precision}_convolutions_fraction_of_{precision}_peak"] = round(
                    conv_gflops / peaks[precision], 3)

        torch.manual_seed(0)
        model = build_model("cifar", depth).to(device)
        optimizer = _sgd(model)

        def conventional_step(images, labels, model=model, optimizer=optimizer):
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return loss.item()

        batches = _conventional_batches(train_folder, dataset.mean, dataset.std, batch_size, device)
        row["conventional_fp32"] = round(_time_steps(conventional_step, batches, warmup, steps, batch_size, sync), 1)
        del batches
        best = max(row[f"engine_{precision}"] for precision in precisions)
        row["engine_best"] = best
        row["ratio_engine_vs_conventional"] = round(best / row["conventional_fp32"], 2)
        row["ratio_engine_fp32_vs_conventional"] = round(row["engine_fp32"] / row["conventional_fp32"], 2)
        results["nets"].append(row)
    return results


def _running_error(frame, window: int = TRAIN_ERROR_WINDOW):
    return frame.set_index("step")["train_error"].rolling(window, min_periods=1).mean()


STUCK_ERROR = 0.85  # a 10-class net still above this training error at the end learned (almost) nothing


def _criterion_holds(errors: dict, preset: str, gap: float):
    """Per iteration: does the comparison show the degradation (and, with the fix, its cure)?"""
    holds = errors["plain-56"] - errors["plain-20"] >= gap
    if preset == "fig1_fix":
        holds &= (errors["plain-56"] - errors["ResNet-56"] >= gap) & (errors["ResNet-56"] - errors["plain-20"] <= 0.02)
    return holds


def degradation_iteration(frames: dict, preset: str = "fig1_fix", gap: float = 0.05) -> tuple[int | None, dict]:
    """The first iteration at which the criterion of :func:`degradation` holds, and the errors there.

    ``frames``: run name ("plain-20", "plain-56", "ResNet-56") -> its steps (``RunStore.steps``:
    ``step``, ``train_error``), read up to the last iteration all of them reached. (None, {}) while
    it does not hold yet, or before every run has ``TRAIN_ERROR_WINDOW`` iterations.
    """
    common = min((len(frame) for frame in frames.values()), default=0)
    if common < TRAIN_ERROR_WINDOW:
        return None, {}
    errors = {name: _running_error(frame.iloc[:common]) for name, frame in frames.items()}
    holds = _criterion_holds(errors, preset, gap)
    holds = holds[holds.index >= TRAIN_ERROR_WINDOW]
    if not holds.any():
        return None, {}
    step = int(holds.idxmax())
    return step, {name: round(float(error.loc[step]), 4) for name, error in errors.items()}


def _one_comparison(source: str, seed: int, preset: str, gap: float, timeout: float, base_settings: dict) -> dict:
    from resnet_edu.engine import JobManager
    from resnet_edu.runs import RunStore

    kind = "synthetic" if source == "synthetic" else "imagefolder"
    base = TrainConfig(dataset=kind, data_root=None if kind == "synthetic" else source, seed=seed, **base_settings)
    configs = [resolve(config, None) for config in preset_configs(preset, base)]  # as the job manager will
    names = [config.run_name for config in configs]
    with tempfile.TemporaryDirectory() as folder:
        manager = JobManager(RunStore(folder))
        submitted = time.monotonic()
        run_ids = dict(zip(names, manager.submit(configs)))
        met_at, met_step, first_step_at, snapshot = None, None, None, {}
        try:
            while time.monotonic() - submitted < timeout:
                frames = {name: manager.store.steps(run) for name, run in run_ids.items()}
                if first_step_at is None and all(len(f) for f in frames.values()):
                    first_step_at = time.monotonic() - submitted
                common = min(len(f) for f in frames.values())
                if met_at is None:
                    step, errors = degradation_iteration(frames, preset, gap)
                    if step is not None:
                        met_at, met_step, snapshot = time.monotonic() - submitted, step, errors
                if not manager.active_runs() or met_at is not None and common >= (met_step or 0) + 40:
                    break
                time.sleep(0.25)
            final = {}
            for name, run in run_ids.items():
                steps = manager.store.steps(run)
                final[name] = {"steps": int(len(steps)),
                               "train_error_last20": round(float(steps["train_error"].tail(TRAIN_ERROR_WINDOW).mean()), 4)
                               if len(steps) else None,
                               "images_per_second": round(float(steps["images_per_second"].median()), 1)
                               if len(steps) else None}
        finally:
            manager.shutdown(timeout=120)  # let the lanes finish their iteration: no thread outlives the run
    stuck = [name for name, row in final.items() if name.startswith("ResNet")
             and row["train_error_last20"] is not None and row["train_error_last20"] > STUCK_ERROR]
    return {"data": kind if kind == "synthetic" else Path(source).name, "seed": seed,
            "batch_size": configs[0].batch_size, "lr": configs[0].lr, "visible": met_at is not None,
            "seconds_to_visible": round(met_at, 1) if met_at else None, "iteration_visible": met_step,
            "errors_when_visible": snapshot, "seconds_to_first_step": round(first_step_at or 0, 1),
            "resnet_stuck_near_chance": stuck, "final": final}


def degradation(quick: bool = False, data: str | None = None, timeout: float = 600.0, gap: float = 0.05,
                precision: str = "auto", recipe: str = "classroom", max_steps: int | None = None,
                preset: str = "fig1_fix", seeds=(0,), batch_size: int | None = None, lr: float | None = None,
                probe_every: int | None = None) -> dict:
    """Seconds and iterations from submit until the Fig. 1 degradation is visible (see module doc).

    One comparison per data set and seed; ``summary`` gives, per data set, the median seconds
    over the seeds (a seed whose criterion never held counts as the timeout) and the seeds on
    which a ResNet stayed near chance.
    """
    if preset not in ("fig1", "fig1_fix"):
        raise ValueError(f"preset must be 'fig1' or 'fig1_fix', not {preset!r}")
    sources = [data] if data else ["synthetic"] + ([str(cifar_subset())] if cifar_subset() else [])
    criterion = {"plain56_minus_plain20": f">= {gap:.2f}", "window": f"mean of the last {TRAIN_ERROR_WINDOW} iterations"}
    if preset == "fig1_fix":
        criterion.update({"plain56_minus_resnet56": f">= {gap:.2f}", "resnet56_minus_plain20": "<= 0.02"})
    settings = {"epochs": 3, "max_steps": max_steps or (120 if quick else 300), "precision": precision,
                "recipe": recipe,
                "batch_size": batch_size,  # None: what the Lab chooses on this device for the data set
                "lr": lr,  # None: what the Lab chooses for the recipe and batch size
                "probe_every": TrainConfig.probe_every if probe_every is None else probe_every}
    results = {"environment": environment(), "preset": preset, "settings": settings, "criterion": criterion,
               "runs": [], "summary": []}
    for source in sources:
        rows = [_one_comparison(source, int(seed), preset, gap, timeout, settings) for seed in seeds]
        results["runs"].extend(rows)
        seconds = sorted(row["seconds_to_visible"] if row["visible"] else timeout for row in rows)
        results["summary"].append({
            "data": rows[0]["data"], "seeds": [row["seed"] for row in rows],
            "median_seconds_to_visible": seconds[len(seconds) // 2] if len(seconds) % 2 else
            (seconds[len(seconds) // 2 - 1] + seconds[len(seconds) // 2]) / 2,
            "visible_on_every_seed": all(row["visible"] for row in rows),
            "seeds_with_a_resnet_near_chance": [row["seed"] for row in rows if row["resnet_stuck_near_chance"]]})
    return results


def first_step(data: str | None = None, preset: str = "fig1_fix", think_seconds: float = 20.0,
               timeout: float = 120.0) -> dict:
    """Seconds from the click until every net of a preset has its first iteration on the curve.

    Measured the way the app trains: through the training process
    (``JobManager(isolation="process")``), with the Lab's default settings. Twice: *cold* (the
    click starts the training process, which imports torch and loads the data), and *prepared*
    (the app asked the process to load the data when it started, as it does, and the teacher
    clicks ``think_seconds`` later).
    """
    from resnet_edu.engine import JobManager
    from resnet_edu.runs import RunStore

    source = data or "synthetic"
    kind = "synthetic" if source == "synthetic" else "imagefolder"
    root = None if kind == "synthetic" else source
    configs = [resolve(config, None) for config in preset_configs(preset, TrainConfig(dataset=kind, data_root=root,
                                                                                       max_steps=30))]
    results = {"environment": environment(), "data": kind if root is None else Path(root).name, "preset": preset,
               "batch_size": configs[0].batch_size, "think_seconds": think_seconds, "runs": {}}
    for mode in ("cold", "prepared"):
        with tempfile.TemporaryDirectory() as folder:
            manager = JobManager(RunStore(folder), isolation="process")
            try:
                if mode == "prepared":
                    manager.prepare(kind, root)
                    time.sleep(think_seconds)
                clicked = time.monotonic()
                run_ids = manager.submit(configs)
                seconds = None
                while time.monotonic() - clicked < timeout:
                    if all(len(manager.store.steps(run_id)) for run_id in run_ids):
                        seconds = round(time.monotonic() - clicked, 2)
                        break
                    time.sleep(0.05)
                results["runs"][mode] = {"seconds_to_first_iteration": seconds}
            finally:
                manager.shutdown(timeout=60)
    return results


__all__ = ["OPERATOR_KINDS", "STUCK_ERROR", "cpu_facts", "cpu_name", "cpu_seconds_between", "cpu_threads_usable",
           "cpu_time_by_kind", "degradation", "degradation_iteration", "environment", "first_step",
           "matmul_peak_gflops", "proc_stat", "process_tree", "throughput", "training_gflop_per_image"]
