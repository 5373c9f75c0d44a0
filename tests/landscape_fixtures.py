"""Tiny trained twins (plain-8 and ResNet-8) with init.pt and last.pt, made once per test session.

Trained for real (a few SGD steps on the synthetic data set) without the JobManager, so the
landscape tests take seconds. Each run gets ``init.pt`` (its weights before the first step,
the checkpoint format of ``last.pt``) as the training lane saves it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

STEPS = 6


def make_tiny_twins(base: Path, with_init: bool = True) -> tuple[Path, list[str]]:
    """A run store under ``base`` with plain-8 and ResNet-8 (same seed, same group); returns (folder, run ids)."""
    import torch

    from resnet_edu.data import normalize
    from resnet_edu.jobs import cached_dataset
    from resnet_edu.runs import RunStore
    from resnet_edu.train import TrainConfig, Trainer

    folder = base / ("tiny_twins" if with_init else "tiny_twins_no_init")
    marker = folder.with_suffix(".done")
    if marker.exists():
        store = RunStore(folder)
        try:
            return folder, _plain_then_residual(store)
        finally:
            store.close()
    shutil.rmtree(folder, ignore_errors=True)
    dataset = cached_dataset("synthetic")
    info = {"classes": list(dataset.classes), "mean": list(dataset.mean), "std": list(dataset.std),
            "dataset_name": dataset.name}
    store = RunStore(folder)
    try:
        for shortcuts in (False, True):
            config = TrainConfig(depth=8, shortcuts=shortcuts, epochs=1, max_steps=STEPS, batch_size=32,
                                 probe_every=0, max_train_images=256, precision="fp32")
            run_id = store.create_run(config.run_name, config, group_id="twins", status="finished")
            trainer = Trainer(config, num_classes=10, steps_per_epoch=8)
            checkpoints = store.checkpoint_dir(run_id)
            if with_init:
                trainer.checkpoint(checkpoints / "init.pt", info)
            generator = torch.Generator().manual_seed(0)
            for _ in range(STEPS):
                pick = torch.randint(0, 256, (32,), generator=generator)
                x = normalize(dataset.train_images[pick], dataset.mean, dataset.std)
                trainer.train_step(x.contiguous(memory_format=torch.channels_last), dataset.train_labels[pick])
            path = trainer.checkpoint(checkpoints / "last.pt", info)
            store.record_checkpoint(run_id, trainer.step, path)
        ids = _plain_then_residual(store)
    finally:
        store.close()
    marker.touch()
    return folder, ids


def _plain_then_residual(store) -> list[str]:
    by_name = dict(zip(store.list_runs()["name"], store.list_runs()["run_id"]))
    return [by_name["plain-8"], by_name["ResNet-8"]]
