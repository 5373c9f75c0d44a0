"""The training batches: ``BatchStream`` (deterministic, resumable, on the device) and the test batches.

Every run of a comparison draws from one stream, so the nets of a comparison see the same
batches in the same order: what makes plain-20 against plain-56 a fair race. The training
images are copied to the device once and augmented there, batch by batch
(:mod:`resnet_edu.data.augment`).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from resnet_edu.data.augment import AUGMENTATIONS, crop_flip, normalize, scale_crop_light
from resnet_edu.data.dataset import ImageDataset, seeded_generator


def _to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A host tensor onto ``device``; to a GPU through pinned memory, without making the host wait."""
    if device.type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


def _prepare(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()


class BatchStream:
    """Deterministic, resumable stream of augmented training batches, on a device.

    Every run of a comparison group draws from ONE stream, so all runs see the same batches in
    the same order. Batch ``k`` depends only on (dataset, batch size, seed, augment, k): each
    epoch's order and its augmentation numbers (crop offsets, flips, scales, colour noise) come
    from generators seeded by (seed, epoch), so ``seek(k)`` resumes exactly and a CPU and a GPU
    stream draw the same crops. Those numbers are drawn once per epoch and copied to the device
    in one go: making a batch is then a few gathers on the device, with no wait for the host.

    Args:
        dataset: the images; the training images are copied to ``device`` once.
        batch_size: images per batch; the last partial batch of an epoch is dropped.
        seed: data-order and augmentation seed.
        device: where batches are made and returned.
        augment: ``"cifar"`` (pad 4, random crop, flip: Sec. 4.2), ``"imagenet"`` (scale
            augmentation, PCA lighting, flip: Sec. 3.4, scaled to the image size) or ``"none"``.
        channels_last: return batches in channels-last memory format.
        dtype: floating dtype of the returned images.
        rank, world_size: under torchrun, ``batch_size`` is the global batch and this stream
            returns only process ``rank``'s ``batch_size / world_size`` rows of each global batch:
            the processes' shards are disjoint and together are exactly the batch one process
            would train on (same order, same crops), so a run on N processes sees the same data
            as a run on one.
    """

    def __init__(self, dataset: ImageDataset, batch_size: int, *, seed: int = 0, device="cpu",
                 augment: str = "cifar", channels_last: bool = False, dtype=torch.float32,
                 rank: int = 0, world_size: int = 1) -> None:
        if augment not in AUGMENTATIONS:
            raise ValueError(f"unknown augment {augment!r}: choose one of {', '.join(AUGMENTATIONS)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if world_size < 1 or batch_size % world_size or not 0 <= rank < world_size:
            raise ValueError(f"batch size {batch_size} does not split into {world_size} equal shards "
                             f"(or rank {rank} is not below {world_size})")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.device = torch.device(device)
        self.augment = augment
        self.channels_last = channels_last
        self.dtype = dtype
        self.num_images = dataset.num_train
        self.steps_per_epoch = max(1, self.num_images // self.batch_size)
        self.shard_size = self.batch_size // world_size  # rows of each batch this stream returns
        self._shard_start = rank * self.shard_size
        self.step = 0
        self._images = dataset.train_images.to(self.device)
        self._labels = dataset.train_labels.to(self.device)
        self._mean = torch.tensor(dataset.mean, dtype=torch.float32, device=self.device)
        self._std = torch.tensor(dataset.std, dtype=torch.float32, device=self.device)
        self._epoch = -1
        self._order: torch.Tensor | None = None  # (N,) image indices of the current epoch
        self._uniform: torch.Tensor | None = None  # (steps * batch, 4) numbers in [0, 1)
        self._normal: torch.Tensor | None = None  # (steps * batch, 3) standard normal numbers

    @property
    def epoch(self) -> float:
        """Epochs completed so far, fractional."""
        return self.step / self.steps_per_epoch

    def _draw_epoch(self, epoch: int) -> None:
        if epoch == self._epoch:
            return
        order = torch.randperm(self.num_images, generator=seeded_generator(self.seed, "epoch", epoch))
        augmentation = seeded_generator(self.seed, "augment", epoch)
        drawn = self.steps_per_epoch * self.batch_size
        uniform = torch.rand(drawn, 4, generator=augmentation)
        normal = torch.randn(drawn, 3, generator=augmentation)
        self._order = _to_device(order, self.device)
        self._uniform = _to_device(uniform, self.device)
        self._normal = _to_device(normal, self.device)
        self._epoch = epoch

    def permutation(self, epoch: int) -> torch.Tensor:
        """The order of the training images in ``epoch`` (on the stream's device)."""
        self._draw_epoch(epoch)
        return self._order

    def batch_indices(self, step: int) -> torch.Tensor:
        epoch, index = divmod(step, self.steps_per_epoch)
        return self.permutation(epoch)[index * self.batch_size:(index + 1) * self.batch_size]

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch number ``step`` (does not move the stream)."""
        epoch, index = divmod(step, self.steps_per_epoch)
        self._draw_epoch(epoch)
        start = index * self.batch_size + self._shard_start
        rows = slice(start, start + self.shard_size)
        idx = self._order[rows]
        images = self._images[idx]
        if self.augment == "cifar":
            images = crop_flip(images, self._uniform[rows], pad=4)
        elif self.augment == "imagenet":
            images = scale_crop_light(images, self._uniform[rows], self._normal[rows], self.dataset.image_size)
        x = normalize(images, self._mean, self._std, dtype=self.dtype)
        return _prepare(x, self.channels_last), self._labels[idx]

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next batch: (x float normalised (B, 3, H, W), y int64 (B,)), both on the device."""
        out = self.batch(self.step)
        self.step += 1
        return out

    def seek(self, step: int) -> None:
        """Resume: the next ``next()`` returns batch number ``step``, as an uninterrupted stream would."""
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        self.step = int(step)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        while True:
            yield self.next()


def test_batches(dataset: ImageDataset, batch_size: int = 500, *, device="cpu", channels_last: bool = False,
                 dtype=torch.float32) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The test set in order, normalised with the training statistics, no augmentation."""
    device = torch.device(device)
    for start in range(0, dataset.num_test, batch_size):
        images = dataset.test_images[start:start + batch_size].to(device, non_blocking=True)
        labels = dataset.test_labels[start:start + batch_size].to(device, non_blocking=True)
        yield _prepare(normalize(images, dataset.mean, dataset.std, dtype=dtype), channels_last), labels


test_batches.__test__ = False   # not a pytest test, despite its name
