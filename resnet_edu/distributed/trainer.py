"""The Trainer of one torchrun process: its net wrapped in DistributedDataParallel.

Gradients are averaged over the processes in the backward pass (DDP), so every process applies
the same SGD step of the global batch. Metric sums and the test set's sums are reduced over the
processes when the Trainer reads them anyway (every 10 iterations); batch norm's running
statistics are rank 0's, copied to every rank before an evaluation or a checkpoint.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
from torch import distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from resnet_edu import models
from resnet_edu.distributed.processes import Launch
from resnet_edu.train import TrainConfig, Trainer

SYNC_BN_ON_CPU = ("--sync-bn needs CUDA GPUs: PyTorch's SyncBatchNorm has no CPU version. On CPUs every "
                  "process normalises its own shard of the batch, as each GPU did in plain multi-GPU training.")


class DistributedTrainer(Trainer):
    """A :class:`Trainer` whose net is wrapped in DistributedDataParallel; one per process.

    Args:
        config: the run's settings (``batch_size`` is the global batch).
        launch: this process's place in the job.
        group: the gloo group for metric sums and broadcasts (CPU tensors).
        everything else: as :class:`Trainer` (``store`` only on rank 0).
    """

    def __init__(self, config: TrainConfig, *, launch: Launch, group, num_classes: int, steps_per_epoch: int,
                 device: torch.device, store=None, run_id: str | None = None) -> None:
        super().__init__(config, num_classes=num_classes, steps_per_epoch=steps_per_epoch, device=device,
                         store=store if launch.is_main else None, run_id=run_id)
        self.launch = launch
        self.group = group
        self.world_size = launch.world_size
        self.switches_applied: list[tuple[int, bool, list[int] | None]] = []  # (after iteration, enabled, stages)
        if config.sync_bn and self.device.type != "cuda":
            raise ValueError(SYNC_BN_ON_CPU)
        if config.sync_bn:
            # convert_sync_batchnorm keeps the parameter objects: the optimizer still holds them.
            self.model = nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
            self.responses = type(self.responses)(self.model)
        # DDP copies rank 0's weights to every rank here; gradients are averaged in backward. A
        # switched-off projection shortcut (option B/C) leaves parameters without a gradient: DDP must
        # then look for them each step; option-A nets have none and skip that search.
        projections = not all(models.on_main_path(name) for name, _ in self.model.named_parameters())
        self.net = DistributedDataParallel(self.model, device_ids=[self.device.index] if self.device.type == "cuda"
                                           else None, find_unused_parameters=projections)
        self.compiled = torch.compile(self.net) if config.compile else None

    def _sum_over_processes(self, values: torch.Tensor) -> list:
        values = values.detach().to("cpu", torch.float64)  # waits for this device only
        dist.all_reduce(values, op=dist.ReduceOp.SUM, group=self.group)
        return values.tolist()

    def _apply_pending_toggles(self) -> None:
        with self._toggle_lock:
            pending = list(self._pending_toggles)
        for enabled, stages in pending:
            self.switches_applied.append((self.step, enabled, list(stages) if stages else None))
        super()._apply_pending_toggles()

    def sync_buffers(self) -> None:
        """Every rank takes rank 0's batch-norm running statistics (each rank updated its own in training)."""
        for buffer in self.model.buffers():
            on_cpu = buffer.detach().to("cpu")
            dist.broadcast(on_cpu, src=0, group=self.group)
            buffer.copy_(on_cpu)

    @torch.no_grad()
    def evaluate(self, batches) -> tuple[float, float]:
        """Each rank evaluates its share of the test set with the same net; the sums are reduced."""
        self.read_metrics()
        self.sync_buffers()
        return super().evaluate(batches)

    def checkpoint(self, path: str | os.PathLike, dataset_info: dict | None = None) -> Path:
        """Called on every rank (it reads the metrics: a collective); rank 0 writes the file."""
        self.read_metrics()
        self.sync_buffers()
        if self.launch.is_main:
            return super().checkpoint(path, dataset_info)
        return Path(path)

    def weights_digest(self) -> str:
        """SHA-256 of every parameter and buffer: equal on every rank when the replicas agree."""
        digest = hashlib.sha256()
        for name, tensor in sorted(self.model.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().to("cpu").contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
        return digest.hexdigest()
