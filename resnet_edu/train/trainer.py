"""The :class:`Trainer`: one network advanced one SGD step at a time, and what each step records.

A caller (a lane of :mod:`resnet_edu.engine.lanes`, or a process under torchrun) calls
:meth:`Trainer.train_step` for each batch, so a comparison group can train in *lockstep*:
plain-20, plain-56 and ResNet-56 each take step k on the same batch k before any takes step
k+1, and their curves always compare equal iterations.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from resnet_edu import models
from resnet_edu.devices import channels_last_ok, resolve_precision
from resnet_edu.train.build import make_model, make_optimizer
from resnet_edu.train.checkpoint import CHECKPOINT_FORMAT, write_checkpoint
from resnet_edu.train.config import TrainConfig, resolve
from resnet_edu.train.probes import ResponseRecorder, conv_gradient_norms
from resnet_edu.train.recipes import (
    WARMUP_ERROR,
    WARMUP_MAX_STEPS,
    learning_rate,
    linear_warmup_steps,
    needs_warmup,
)


class Diverged(RuntimeError):
    """The loss became NaN or infinite: the run stops; its curve up to here stays."""


READ_EVERY = 10  # iterations between reads of loss and error from the device (one transfer each time)
# "The training error" of a run at an iteration: the mean over this many iterations up to it.
# One iteration's error on a batch of 128 jumps by several points; the mean shows the trend. The
# paper recipe's warm-up, the CLI's final_train_error, the Degradation page and the benchmarks
# all read it over the same window.
TRAIN_ERROR_WINDOW = 20


class StepClock:
    """Seconds spent inside one net's training steps, without waiting for the device at each step.

    On a GPU the host only queues work: a host clock around a step measures the queueing, not
    the step. So on CUDA and MPS the clock records device events before and after each step and
    reads their distance later, when the trainer reads its metrics anyway. On the CPU work is
    done when the call returns, and the host clock is exact.
    """

    def __init__(self, device: torch.device) -> None:
        self._event_type = {"cuda": getattr(torch.cuda, "Event", None),
                            "mps": getattr(getattr(torch, "mps", None), "event", None) and torch.mps.event.Event,
                            }.get(device.type)
        self._spans: list[tuple[Any, Any]] = []
        self._host_seconds = 0.0
        self._started: Any = None

    def start(self) -> None:
        if self._event_type is None:
            self._started = time.perf_counter()
        else:
            self._started = self._event_type(enable_timing=True)
            self._started.record()

    def stop(self) -> None:
        if self._event_type is None:
            self._host_seconds += time.perf_counter() - self._started
            return
        end = self._event_type(enable_timing=True)
        end.record()
        self._spans.append((self._started, end))

    def read(self) -> float:
        """Seconds of the steps timed since the last read (call after the device caught up)."""
        if self._event_type is None:
            seconds, self._host_seconds = self._host_seconds, 0.0
            return seconds
        if self._spans:
            self._spans[-1][1].synchronize()
        seconds = sum(start.elapsed_time(end) for start, end in self._spans) / 1000.0
        self._spans = []
        return seconds


@dataclass
class _StepOnDevice:
    """A step whose loss and error are still on the device (read with the next few steps')."""

    step: int  # 1-based iteration number
    lr: float
    loss: torch.Tensor  # 0-d, on the device
    wrong: torch.Tensor  # 0-d, on the device: misclassified images of the batch
    batch: int


class Trainer:
    """One network, one optimizer, advanced one step at a time by the caller.

    A step never waits for the device: its loss and error stay there, and every ``read_every``
    steps (and at every probe, evaluation, checkpoint and the end: :meth:`read_metrics`) one
    transfer brings the whole window back, records one row per iteration and checks the loss
    is finite. On a GPU the host can so queue the next steps while the device computes.

    Args:
        config: the run's settings (a batch size or lr left ``None`` is resolved for ``device``).
        num_classes, steps_per_epoch: from the data set the run trains on.
        device: where the model lives.
        store, run_id: where metrics go (optional: a Trainer also runs without a store).
        read_every: steps between two reads of the metrics (1: read every step).
    """

    def __init__(self, config: TrainConfig, *, num_classes: int, steps_per_epoch: int,
                 device: torch.device | str = "cpu", store=None, run_id: str | None = None,
                 read_every: int = READ_EVERY) -> None:
        config = resolve(config, device)  # already done at submit for a run of the store
        config.validate()
        self.config = config
        self.device = torch.device(device)
        self.precision = resolve_precision(config.precision, self.device)
        self.channels_last = channels_last_ok(self.device)
        self.num_classes = num_classes
        self.steps_per_epoch = steps_per_epoch
        self.total_steps = config.epochs * steps_per_epoch
        self.last_step = min(self.total_steps, config.max_steps or self.total_steps)
        self.store, self.run_id = store, run_id
        self.read_every = max(1, int(read_every))

        self.model = make_model(config, num_classes).to(self.device)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        # What a step calls: the bare net here; its DistributedDataParallel wrapper under torchrun.
        self.net: nn.Module = self.model
        self.world_size = 1  # processes that share each batch (resnet_edu.distributed sets it)
        # The compiled net shares the eager net's weights; probe steps run eagerly (hooks record there).
        self.compiled = torch.compile(self.model) if config.compile else None
        self.optimizer = make_optimizer(self.model, config, self.device)
        self.responses = ResponseRecorder(self.model)
        self.step = 0  # iterations done (taken on the device, perhaps not yet read back)
        self.steps_recorded = 0  # iterations read back and recorded in the store
        self.warming_up = needs_warmup(config)
        self.linear_warmup = linear_warmup_steps(config, self.total_steps)
        self.recent_errors: deque[float] = deque(maxlen=TRAIN_ERROR_WINDOW)
        self.train_seconds = 0.0  # time spent in training steps only (no data preparation, no evaluation)
        self.images_per_second: float | None = None  # over the last window of steps read back
        self.last_loss: float | None = None  # training loss of the last iteration read back
        self._on_device: list[_StepOnDevice] = []
        self._clock = StepClock(self.device)
        self._pending_toggles: deque[tuple[bool, tuple[int, ...] | None]] = deque()
        self._toggle_lock = threading.Lock()

    # -- live shortcut switch -------------------------------------------------
    def request_shortcuts(self, enabled: bool, stages=None) -> None:
        """Queue a shortcut switch; it is applied before the next step (thread-safe)."""
        stages = None if stages is None else tuple(sorted({int(s) for s in stages}))
        valid = set(models.shortcut_state(self.model))
        if stages is not None and not set(stages) <= valid:
            raise ValueError(f"stage(s) {sorted(set(stages) - valid)} do not exist; this net has stages {sorted(valid)}")
        with self._toggle_lock:
            self._pending_toggles.append((bool(enabled), stages))

    def shortcut_state(self) -> dict[int, bool]:
        """The state after the queued switches are applied."""
        state = models.shortcut_state(self.model)
        with self._toggle_lock:
            for enabled, stages in self._pending_toggles:
                for stage in stages or state:
                    state[stage] = enabled
        return state

    def _apply_pending_toggles(self) -> None:
        with self._toggle_lock:
            pending, self._pending_toggles = list(self._pending_toggles), deque()
        for enabled, stages in pending:
            models.set_shortcuts(self.model, enabled, stages)
            if self.store is not None:
                self.store.log_event(self.run_id, self.step, "shortcuts_toggled",
                                     {"enabled": enabled, "stages": list(stages) if stages else None})

    # -- one iteration --------------------------------------------------------
    def autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16")

    def current_lr(self) -> float:
        return learning_rate(self.step, self.total_steps, self.config.lr, self.warming_up, self.linear_warmup)

    def train_step(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        """One SGD step on a batch, queued on the device without waiting for it.

        Raises Diverged when a read of the metrics (every ``read_every`` steps) finds a NaN or
        infinite loss: the run's curve then ends at the iteration where it happened.
        """
        self._apply_pending_toggles()
        lr = self.current_lr()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        probe = self.config.probe_every > 0 and self.step % self.config.probe_every == 0
        self.responses.armed = probe
        net = self.net if probe or self.compiled is None else self.compiled
        self._clock.start()
        self.model.train()
        with self.autocast():
            logits = net(images)  # (B, num_classes)
        loss = F.cross_entropy(logits.float(), labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norms = conv_gradient_norms(self.model) if probe else None  # reads from the device
        self.optimizer.step()
        wrong = (logits.argmax(dim=1) != labels).sum()
        self._clock.stop()
        self.step += 1
        self._on_device.append(_StepOnDevice(self.step, lr, loss.detach(), wrong, labels.shape[0]))
        if probe:
            responses = self.responses.collect()
            self.read_metrics()  # a probe reads from the device anyway: record the window with it
            if self.store is not None:
                self.store.log_layer_stats(self.run_id, self.step, "grad_norm", grad_norms)
                self.store.log_layer_stats(self.run_id, self.step, "response_std", responses)
        elif len(self._on_device) >= self.read_every:
            self.read_metrics()

    def read_metrics(self) -> None:
        """Bring the steps still on the device back in one transfer and record them, one row each.

        Raises Diverged at the first NaN/inf loss; that iteration is recorded (error 1.0) and
        the later ones of the window are dropped, so the curve ends where the loss broke.
        """
        if not self._on_device:
            return
        window, self._on_device = self._on_device, []
        losses = torch.stack([pending.loss.float() for pending in window])
        wrongs = torch.stack([pending.wrong.float() for pending in window])
        values = self._sum_over_processes(torch.stack([losses, wrongs]))  # the one host synchronisation
        seconds = self._clock.read()
        self.train_seconds += seconds
        # Under torchrun each process's loss is the mean over its shard (equal shards): the global
        # batch's loss is the mean of the shards' means, its error the sum of their mistakes.
        images = sum(pending.batch for pending in window) * self.world_size
        self.images_per_second = images / seconds if seconds > 0 else None
        for pending, loss_sum, wrong in zip(window, *values):
            loss = loss_sum / self.world_size
            if not math.isfinite(loss):
                self.step = pending.step
                self.responses.armed = False
                self._record_step(pending, loss, 1.0, None)  # the curve shows where it happened
                raise Diverged(f"loss became {loss} at iteration {pending.step} (lr {pending.lr:g})")
            self._record_step(pending, loss, wrong / (pending.batch * self.world_size), self.images_per_second)

    def _sum_over_processes(self, values: torch.Tensor) -> list:
        """``values`` on the host, summed over the processes that share each batch (one here)."""
        return values.tolist()

    def _record_step(self, pending: _StepOnDevice, loss: float, error: float, images_per_second: float | None) -> None:
        self.steps_recorded = pending.step
        self.last_loss = loss
        self.recent_errors.append(error)
        # Sec. 4.2, ResNet-110: back to lr 0.1 once the training error is below 80%. Read here, so
        # the switch comes at most read_every iterations after the error crossed 80%.
        if self.warming_up and (pending.step >= WARMUP_MAX_STEPS or
                                (len(self.recent_errors) >= 10 and self.running_error < WARMUP_ERROR)):
            self.warming_up = False
        if self.store is not None:
            self.store.log_step(self.run_id, pending.step, epoch=pending.step / self.steps_per_epoch,
                                train_seconds=self.train_seconds, train_loss=loss, train_error=error,
                                lr=pending.lr, images_per_second=images_per_second)
            self.store.set_progress(self.run_id, pending.step, self.last_step)

    @property
    def epoch(self) -> float:
        return self.step / self.steps_per_epoch

    @property
    def running_error(self) -> float:
        """Training error over the last TRAIN_ERROR_WINDOW iterations read back (the CLI's final_train_error)."""
        return sum(self.recent_errors) / max(1, len(self.recent_errors))

    @property
    def done(self) -> bool:
        return self.step >= self.last_step

    def at_epoch_end(self) -> bool:
        return self.step % self.steps_per_epoch == 0 or self.done

    # -- evaluation -----------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, batches) -> tuple[float, float]:
        """(test loss, test error) over (images, labels) batches, in eval mode; back to train mode after."""
        self.read_metrics()
        self.model.eval()
        total_loss = torch.zeros((), device=self.device)
        wrong = torch.zeros((), device=self.device)
        count = 0
        try:
            for images, labels in batches:
                with self.autocast():
                    logits = self.model(images)
                total_loss += F.cross_entropy(logits.float(), labels, reduction="sum")
                wrong += (logits.argmax(dim=1) != labels).sum()
                count += labels.shape[0]
        finally:
            self.model.train()
        counted = torch.tensor(float(count), device=self.device)
        total_loss, wrong, count = self._sum_over_processes(torch.stack([total_loss, wrong.float(), counted]))
        loss, error = total_loss / max(1, count), wrong / max(1, count)
        if self.store is not None:
            self.store.log_eval(self.run_id, self.step, epoch=self.epoch, train_seconds=self.train_seconds,
                                test_loss=loss, test_error=error)
        return loss, error

    # -- checkpoints ----------------------------------------------------------
    def checkpoint(self, path: str | os.PathLike, dataset_info: dict | None = None) -> Path:
        """Save model + optimizer + config + step; loadable with torch.load(weights_only=True).

        Args:
            path: the file; the previous one there stays until this one is whole.
            dataset_info: what the data set looked like (classes, mean, std, ...), stored alongside.
        """
        self.read_metrics()
        payload = {
            "format": CHECKPOINT_FORMAT,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "config": self.config.to_dict(),
            "step": self.step,
            "train_seconds": self.train_seconds,
            "warming_up": self.warming_up,
            "recent_errors": list(self.recent_errors),
            "shortcut_state": {int(k): bool(v) for k, v in models.shortcut_state(self.model).items()},
            "num_classes": self.num_classes,
            **(dataset_info or {}),
        }
        return write_checkpoint(payload, path)

    def restore(self, payload: dict) -> None:
        """Continue from a checkpoint loaded with :func:`~resnet_edu.runs.checkpoints.load_checkpoint`."""
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.step = self.steps_recorded = int(payload["step"])
        self.train_seconds = float(payload.get("train_seconds", 0.0))
        self.warming_up = bool(payload.get("warming_up", False))
        self.recent_errors.extend(payload.get("recent_errors", []))
        for stage, enabled in payload.get("shortcut_state", {}).items():
            models.set_shortcuts(self.model, bool(enabled), [int(stage)])
