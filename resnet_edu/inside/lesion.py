"""The lesion study of Veit, Wilber & Belongie (2016), "Residual Networks Behave Like
Ensembles of Relatively Shallow Networks" — a later paper's experiment, not He et al.'s, but
the clearest picture of why shortcuts help. (That a deeper ResNet's single layer matters less
is He et al.'s own remark on Fig. 7: "an individual layer of ResNets tends to modify the
signal less"; Veit et al. measured what deleting blocks does.)

Delete residual blocks from a *trained* net at test time: a block keeps only its shortcut
path (``branch_enabled = False``: identity, or option A's subsample-and-zero-pad where the
shape changes). In a ResNet the information still flows around the deleted block through
the other paths, so the test error rises only a little (Veit et al., Fig. 3 and 5: removing
single blocks from a 110-layer ResNet on CIFAR-10 barely matters, removing more degrades
smoothly). A plain net has only one path: remove any block and it collapses.

Nothing is retrained and the model's weights are never touched; every function restores
the blocks it switched off, even when interrupted.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager

import pandas as pd
import torch
from torch import nn

from resnet_edu.models import ZeroPadShortcut, residual_blocks

Progress = Callable[[float, str], None]


def _parameter_free_shortcut(block: nn.Module) -> bool:
    return isinstance(block.downsample, (nn.Identity, ZeroPadShortcut))


def removable_blocks(model: nn.Module) -> list[str]:
    """Blocks that can be deleted, in forward order, e.g. ["layer1.0", …, "layer3.8"].

    A block can go when what is left of it (its shortcut) was part of the trained net:
    always for a residual block, and for a plain block when the shortcut is parameter-free
    (identity or option A) — a projection shortcut of a plain net was never trained.
    """
    names = []
    for name, block in residual_blocks(model):
        if block.shortcut_enabled or _parameter_free_shortcut(block):
            names.append(name)
    return names


def is_downsampling(block: nn.Module) -> bool:
    """True for the first block of a stage, where the map shrinks and the channels double."""
    return not isinstance(block.downsample, nn.Identity)


@contextmanager
def removed(model: nn.Module, names: Iterable[str]):
    """Within the block, the named residual blocks keep only their shortcut path."""
    blocks = dict(residual_blocks(model))
    chosen = list(names)
    unknown = [n for n in chosen if n not in blocks]
    if unknown:
        raise ValueError(f"no residual block named {', '.join(unknown)}")
    before = {n: blocks[n].branch_enabled for n in chosen}
    try:
        for n in chosen:
            blocks[n].branch_enabled = False
        yield model
    finally:
        for n, state in before.items():
            blocks[n].branch_enabled = state


@torch.inference_mode()
def test_error(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500) -> float:
    """Top-1 error (a fraction) of ``model`` on normalised images, in eval mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    wrong = 0
    try:
        for start in range(0, images.shape[0], batch_size):
            x = images[start:start + batch_size].to(device, dtype=torch.float32)
            y = labels[start:start + batch_size].to(device)
            wrong += int((model(x).argmax(dim=1) != y).sum())
    finally:
        model.train(was_training)
    return wrong / max(1, images.shape[0])


test_error.__test__ = False  # not a pytest test, despite its name


def _report(progress: Progress | None, done: int, total: int, message: str) -> None:
    if progress is not None:
        progress(min(1.0, done / max(1, total)), message)


@torch.inference_mode()
def _wrong_answers(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                   deletions: Sequence[Sequence[str]], batch_size: int,
                   progress: Progress | None) -> tuple[int, list[int]]:
    """Wrong answers of the intact net and of the net without each set of blocks, sharing the work.

    Deleting blocks changes nothing before the first deleted one, so every batch runs the stem
    and the blocks once, keeping each block's input, and each lesioned net starts from the
    input of its first deleted block: for one block at a time, about half the work of running
    every lesioned net from the image.
    """
    blocks = residual_blocks(model)
    position = {name: i for i, (name, _) in enumerate(blocks)}
    device = next(model.parameters()).device
    wrong_full, wrong = 0, [0] * len(deletions)
    batches = max(1, -(-images.shape[0] // batch_size))
    for b, start in enumerate(range(0, images.shape[0], batch_size)):
        x = images[start:start + batch_size].to(device, dtype=torch.float32)
        y = labels[start:start + batch_size].to(device)
        h = model.forward_stem(x)  # ResNet.forward's own stem and head, around this walk through the blocks
        inputs = []
        for _, block in blocks:
            inputs.append(h)
            h = block(h)
        features = h
        wrong_full += int((model.forward_head(features).argmax(dim=1) != y).sum())
        for n, names in enumerate(deletions):
            _report(progress, b * len(deletions) + n, batches * len(deletions), ", ".join(names) or "none")
            first = min((position[name] for name in names), default=len(blocks))
            h = inputs[first] if first < len(blocks) else features
            with removed(model, names):
                for _, block in blocks[first:]:
                    h = block(h)
            wrong[n] += int((model.forward_head(h).argmax(dim=1) != y).sum())
    return wrong_full, wrong


def _evaluate(model: nn.Module, images, labels, deletions, batch_size, progress) -> tuple[float, list[float]]:
    unknown = {n for names in deletions for n in names} - {n for n, _ in residual_blocks(model)}
    if unknown:
        raise ValueError(f"no residual block named {', '.join(sorted(unknown))}")
    was_training = model.training
    model.eval()
    try:
        wrong_full, wrong = _wrong_answers(model, images, labels, deletions, batch_size, progress)
    finally:
        model.train(was_training)
    _report(progress, 1, 1, "done")
    total = max(1, images.shape[0])
    return wrong_full / total, [w / total for w in wrong]


def lesion_single(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, batch_size: int = 100,
                  progress: Progress | None = None) -> pd.DataFrame:
    """Test error with each block deleted in turn (Veit et al., Fig. 3).

    Args:
        model: a trained ResNet (or plain net) of :mod:`resnet_edu.models`.
        images, labels: normalised test images (N, 3, H, W) and their labels.
        batch_size: images per forward pass (memory: every block's input is kept for a batch).
        progress: ``progress(fraction, message)``.

    Returns:
        one row per block plus a first row ``block="none"`` (the full net): block, position
        (0 = none, 1 = first block …), stage, downsampling, error, delta (error − full net's).
    """
    blocks = dict(residual_blocks(model))
    order = list(blocks)
    names = removable_blocks(model)
    full, errors = _evaluate(model, images, labels, [[n] for n in names], batch_size, progress)
    rows = [{"block": "none", "position": 0, "stage": 0, "downsampling": False, "error": full}]
    for name, error in zip(names, errors):
        rows.append({"block": name, "position": order.index(name) + 1,
                     "stage": blocks[name].stage,
                     "downsampling": is_downsampling(blocks[name]), "error": error})
    frame = pd.DataFrame(rows)
    frame["delta"] = frame["error"] - full
    return frame


def lesion_random(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, ks: Sequence[int], *,
                  draws: int = 3, seed: int = 0, batch_size: int = 100, exclude_downsampling: bool = True,
                  progress: Progress | None = None) -> pd.DataFrame:
    """Test error after deleting ``k`` randomly chosen blocks, ``draws`` times per k (Veit et al., Fig. 5).

    The same seed draws the same blocks for two nets of the same architecture, so a ResNet
    and its plain twin are lesioned identically. Downsampling blocks are left alone by
    default (Veit et al. found them the most important, and they would dominate the mean).

    Returns:
        one row per (k, draw): k, draw, blocks (comma-separated), error. k = 0 is the full net.
    """
    blocks = dict(residual_blocks(model))
    pool = [n for n in removable_blocks(model) if not (exclude_downsampling and is_downsampling(blocks[n]))]
    ks = sorted({int(k) for k in ks if 0 <= int(k) <= len(pool)})
    jobs = [(k, d) for k in ks for d in range(1 if k == 0 else draws)]
    chosen = [sorted(random.Random(f"{seed}:{k}:{d}").sample(pool, k), key=pool.index) for k, d in jobs]
    full, errors = _evaluate(model, images, labels, chosen, batch_size, progress)
    rows = [{"k": k, "draw": d, "blocks": ",".join(names), "error": error}
            for (k, d), names, error in zip(jobs, chosen, errors)]
    return pd.DataFrame(rows, columns=["k", "draw", "blocks", "error"])


def summarise_random(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean, std, min and max error per k of :func:`lesion_random`'s frame."""
    if frame.empty:
        return pd.DataFrame(columns=["k", "mean", "std", "min", "max", "draws"])
    grouped = frame.groupby("k")["error"]
    out = pd.DataFrame({"mean": grouped.mean(), "std": grouped.std(ddof=0), "min": grouped.min(),
                        "max": grouped.max(), "draws": grouped.size()}).reset_index()
    return out


# ---------------------------------------------------------------- as an analysis job

TEST_IMAGES = (200, 300, 500, 1000, 2000)  # choices the Lesion page offers
MAX_K = 8
MAX_DRAWS = 5


class _Stopped(Exception):
    """Raised from a progress callback when the job's Stop was pressed (``removed`` restores the blocks)."""


def lesion_settings(params: dict) -> dict:
    """Validated settings of a lesion job: run_ids (1–2), count (test images), ks, draws, seed."""
    run_ids = params.get("run_ids")
    if isinstance(run_ids, str):
        run_ids = [run_ids]
    if (not isinstance(run_ids, (list, tuple)) or not 1 <= len(run_ids) <= 2
            or not all(isinstance(r, str) and r for r in run_ids)):
        raise ValueError(f"choose one or two trained runs (got {run_ids!r})")
    count = params.get("count", 500)
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"the study needs at least 1 test image (got {count!r})")
    ks = params.get("ks", [1, 2, 3])
    if not isinstance(ks, (list, tuple)) or not all(isinstance(k, int) and 1 <= k <= MAX_K for k in ks):
        raise ValueError(f"k must be whole numbers from 1 to {MAX_K} (got {ks!r})")
    draws = params.get("draws", 2)
    if not isinstance(draws, int) or not 1 <= draws <= MAX_DRAWS:
        raise ValueError(f"draws per k must be 1 to {MAX_DRAWS} (got {draws!r})")
    seed = params.get("seed", 0)
    if not isinstance(seed, int):
        raise ValueError(f"the seed must be a whole number (got {seed!r})")
    return {"run_ids": list(dict.fromkeys(run_ids)), "count": count, "ks": sorted(set(ks)), "draws": draws,
            "seed": seed}


def _test_set(config, info: dict, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    from resnet_edu import data
    from resnet_edu.data.loaded import dataset_of_run

    dataset = dataset_of_run(config)
    count = min(count, dataset.num_test)
    mean, std = info.get("mean") or dataset.mean, info.get("std") or dataset.std
    return data.normalize(dataset.test_images[:count], mean, std), dataset.test_labels[:count]


def lesion_job(context) -> dict:
    """The lesion study of one run (or a run and its twin), computed in the training process.

    ``context.params``: see :func:`lesion_settings`. Publishes after each net; returns soon
    after ``context.stopped()`` with the nets finished so far.

    Returns:
        {"settings", "nets": [{run_id, name, depth, shortcuts, num_classes, step, images,
        "single": rows of :func:`lesion_single`, "random": rows of :func:`lesion_random`}], "done"}.

    Raises:
        ValueError: a sentence for the user (bad settings, unknown run, no checkpoint).
    """
    from resnet_edu.runs import RunNotFound
    from resnet_edu.train import model_from_checkpoint

    settings = lesion_settings(context.params)
    run_ids = settings["run_ids"]
    result: dict = {"settings": settings, "nets": [], "done": False}
    for n, run_id in enumerate(run_ids):
        try:
            run = context.store.get_run(run_id)
            path = context.store.latest_checkpoint(run_id)
        except RunNotFound as error:
            raise ValueError(str(error)) from None
        if path is None:
            raise ValueError(f"run {run_id} has no checkpoint yet (one is saved at the end of every epoch)")
        model, config, info = model_from_checkpoint(path, device=context.device)
        x, y = _test_set(config, info, settings["count"])
        name = str(run.get("name") or run_id)

        def part(offset: float, share: float, name: str = name):
            def progress(fraction: float, _message: str) -> None:
                context.report((n + offset + share * fraction) / len(run_ids), f"{name}: deleting blocks")
                if context.stopped():
                    raise _Stopped

            return progress

        try:
            single = lesion_single(model, x, y, progress=part(0.0, 0.7))
            random_k = lesion_random(model, x, y, ks=(0, *settings["ks"]), draws=settings["draws"],
                                     seed=settings["seed"], progress=part(0.7, 0.3))
        except _Stopped:
            return result
        result["nets"].append({
            "run_id": run_id, "name": name, "depth": int(config.depth), "shortcuts": bool(config.shortcuts),
            "num_classes": int(info.get("num_classes") or 10), "step": int(info.get("step") or 0),
            "images": int(x.shape[0]),
            "single": single.to_dict(orient="records"), "random": random_k.to_dict(orient="records")})
        result["done"] = n == len(run_ids) - 1
        context.publish(result)
    return result


__all__ = ["is_downsampling", "lesion_job", "lesion_random", "lesion_settings", "lesion_single",
           "removable_blocks", "removed", "summarise_random", "test_error"]
