"""Many GPUs and nodes: the same Trainer under ``torchrun``, with PyTorch's DistributedDataParallel.

    torchrun --standalone --nproc_per_node 2 -m resnet_edu train --depth 56 --epochs 164 --json

The paper trained its CIFAR nets on 2 GPUs (a mini-batch of 128: 64 on each) and its ImageNet
nets on 8 (256: 32 on each), with batch normalisation computed on each GPU's own images. Here
each process torchrun starts is one such GPU (or a share of the CPU cores):

* ``--batch-size`` is the global batch. Every process builds only its own rows of global batch
  k (:class:`~resnet_edu.data.BatchStream` with ``rank``/``world_size``): batch k is a function
  of (seed, k), so the shards are disjoint and together are the very batch a one-process run
  trains on — nothing is sent between processes to hand out data.
* The net is wrapped in ``DistributedDataParallel``: gradients are averaged over the processes
  in the backward pass, so every process applies the same SGD step of the global batch (same lr
  as one process). Batch norm stays per process, as in the paper (``--sync-bn`` on CUDA
  normalises over the global batch instead); its running statistics are rank 0's (DDP's rule),
  copied to every process before an evaluation or a checkpoint.
* The global batch's loss and error are summed over the processes where the Trainer reads its
  metrics anyway (every 10 iterations: one small all-reduce then, never one per step); the test
  set is split over the processes and its sums reduced the same way.
* Rank 0 alone writes the RunStore (one run, one row per iteration) and the checkpoints; a
  resume reads the checkpoint on rank 0 and sends it to every process.

**Control: one tiny all-reduce per iteration.** Before each iteration the processes agree, in
one all-reduce of three integers on a CPU (gloo) group, on (a) stop — any process that got
SIGINT/SIGTERM (torchrun forwards them) asks, and all stop after the same iteration; (b) a
shortcut switch — only rank 0 reads requests (from the run's inbox, below) and the all-reduce
carries it to every rank, which applies it before the same iteration; the store records it
once. The message is 24 bytes on the CPU: it never waits for a GPU, and it costs microseconds
next to the gradients DDP already exchanges every step. It also notices a process that died: a
killed peer breaks the all-reduce at once, and rank 0 ends the run ``failed``.

**The inbox.** A switch for a run trained under torchrun is a small JSON file in
``RUNS_DIR/requests/RUN_ID/`` (:class:`ShortcutInbox`), written by ``python -m resnet_edu runs
shortcuts RUN_ID --off`` or by the app's training process; rank 0 looks into it each iteration
(a directory listing, microseconds). It lives beside the store, on rank 0's node.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from resnet_edu import data as data_module
from resnet_edu import devices, models
from resnet_edu.lanes import augmentation_for, cached_dataset
from resnet_edu.runs import RunStore
from resnet_edu.train import Diverged, TrainConfig, Trainer, load_checkpoint

TORCHRUN_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
SYNC_BN_ON_CPU = ("--sync-bn needs CUDA GPUs: PyTorch's SyncBatchNorm has no CPU version. On CPUs every "
                  "process normalises its own shard of the batch, as the paper's GPUs did.")
# Test-only: a folder where every rank writes what it ended with (weights digest, switches applied).
TEST_REPORT_ENV = "RESNET_EDU_TEST_RANK_REPORT"
TEST_KILL_ENV = "RESNET_EDU_TEST_KILL"  # "RANK:ITERATION[:raise]": that rank is killed (SIGKILL) or raises after it
TEST_TOGGLE_ENV = "RESNET_EDU_TEST_TOGGLE_AT"  # ITERATION: rank 0 puts "shortcuts off" into the inbox after it


@dataclass(frozen=True)
class Launch:
    """Where this process stands in a torchrun job (from the variables torchrun sets)."""

    rank: int  # 0 .. world_size - 1, over all nodes
    world_size: int  # processes in the job
    local_rank: int  # on this node: which GPU this process uses
    local_world_size: int  # processes on this node: they share its CPU cores

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launch_from_env(env: dict | None = None) -> Launch | None:
    """The torchrun job this process belongs to, or None for a plain one-process run (also a 1-process job)."""
    env = os.environ if env is None else env
    if not all(key in env for key in TORCHRUN_KEYS):
        return None
    world_size = int(env["WORLD_SIZE"])
    if world_size <= 1:
        return None
    return Launch(rank=int(env["RANK"]), world_size=world_size, local_rank=int(env["LOCAL_RANK"]),
                  local_world_size=int(env.get("LOCAL_WORLD_SIZE", world_size)))


class StartRefused(ValueError):
    """A reason the job cannot start that every rank knows (bad device, bad data, unknown run)."""


# ---------------------------------------------------------------------------- the inbox


class ShortcutInbox:
    """Shortcut switches asked for a run that trains under torchrun: one JSON file each, oldest first.

    Args:
        store_root: the RunStore folder (the inbox is ``store_root/requests/run_id``).
        run_id: the run.
    """

    def __init__(self, store_root: str | os.PathLike, run_id: str) -> None:
        self.folder = Path(store_root) / "requests" / run_id

    def put(self, enabled: bool, stages: Sequence[int] | None = None) -> Path:
        """Ask for a switch (any process on rank 0's node may call this)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.json"
        temporary = self.folder / f".{name}"
        temporary.write_text(json.dumps({"enabled": bool(enabled),
                                         "stages": None if stages is None else sorted({int(s) for s in stages})}))
        os.replace(temporary, self.folder / name)  # a reader never sees half a request
        return self.folder / name

    def take(self) -> tuple[bool, tuple[int, ...] | None] | None:
        """The oldest request, removed from the inbox; None when it is empty."""
        try:
            names = sorted(entry.name for entry in os.scandir(self.folder) if not entry.name.startswith("."))
        except FileNotFoundError:
            return None
        for name in names:
            path = self.folder / name
            try:
                request = json.loads(path.read_text())
                enabled, stages = bool(request["enabled"]), request.get("stages")
                stages = None if stages is None else tuple(sorted({int(s) for s in stages}))
            except (OSError, ValueError, KeyError, TypeError) as error:
                print(f"resnet_edu: ignored an unreadable shortcut request {name}: {error}", file=sys.stderr)
                stages = enabled = None
            with contextlib.suppress(OSError):
                path.unlink()
            if enabled is not None:
                return enabled, stages
        return None


# ---------------------------------------------------------------------------- control


def _encode_switch(switch: tuple[bool, tuple[int, ...] | None] | None) -> tuple[int, int]:
    if switch is None:
        return 0, 0
    enabled, stages = switch
    return (2 if enabled else 1), sum(1 << stage for stage in stages) if stages else 0


def _decode_switch(code: int, mask: int) -> tuple[bool, tuple[int, ...] | None] | None:
    if code == 0:
        return None
    stages = tuple(stage for stage in range(1, 8) if mask >> stage & 1) or None
    return code == 2, stages


class Control:
    """The per-iteration agreement of every rank on stop and shortcut switches (one CPU all-reduce).

    Args:
        group: a gloo process group (CPU tensors, also when training uses NCCL).
        inbox: rank 0's inbox of switch requests; None on the other ranks.
        valid_stages: the net's stages (a request naming others is dropped with a message).
        stop_requested: set when this process got SIGINT or SIGTERM.
    """

    def __init__(self, group, inbox: ShortcutInbox | None, valid_stages: Sequence[int],
                 stop_requested: threading.Event) -> None:
        self.group = group
        self.inbox = inbox
        self.valid_stages = set(valid_stages)
        self.stop_requested = stop_requested  # set by this process's SIGINT/SIGTERM handler

    def _next_request(self) -> tuple[bool, tuple[int, ...] | None] | None:
        while self.inbox is not None:
            request = self.inbox.take()
            if request is None or request[1] is None or set(request[1]) <= self.valid_stages:
                return request
            print(f"resnet_edu: ignored a switch of stage(s) {list(request[1])}: this net has stages "
                  f"{sorted(self.valid_stages)}", file=sys.stderr)
        return None

    def exchange(self) -> tuple[bool, tuple[bool, tuple[int, ...] | None] | None]:
        """(stop, switch) agreed by every rank for the coming iteration. Raises if a peer is gone."""
        code, mask = _encode_switch(self._next_request())
        message = torch.tensor([int(self.stop_requested.is_set()), code, mask], dtype=torch.int64)
        dist.all_reduce(message, op=dist.ReduceOp.MAX, group=self.group)  # only rank 0 sends a switch
        stop, code, mask = message.tolist()
        return bool(stop), _decode_switch(code, mask)


# ---------------------------------------------------------------------------- the trainer


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
        projections = any(".downsample." in name for name, _ in self.model.named_parameters())
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


# ---------------------------------------------------------------------------- the job


def _device_for(launch: Launch, choice: str) -> torch.device:
    kind = devices.resolve_device(choice).type  # ValueError naming what this machine has
    if kind == "mps":
        raise StartRefused("torchrun needs CUDA GPUs or CPUs: an Apple GPU (MPS) trains one process only")
    if kind == "cuda":
        if launch.local_rank >= torch.cuda.device_count():
            raise StartRefused(f"{launch.local_world_size} processes on this node but only "
                               f"{torch.cuda.device_count()} CUDA card(s): use --nproc_per_node "
                               f"{torch.cuda.device_count()}")
        return torch.device("cuda", launch.local_rank)
    return torch.device("cpu")


def start_processes(launch: Launch, device_choice: str):
    """Join the job: (device, gloo group). NCCL for CUDA training, gloo for CPUs and for control."""
    device = _device_for(launch, device_choice)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
        dist.init_process_group("nccl", device_id=device)
        control_group = dist.new_group(backend="gloo")
    else:
        # torchrun sets OMP_NUM_THREADS=1 when it starts several processes: give each its share instead.
        torch.set_num_threads(max(1, devices.cpu_threads() // launch.local_world_size))
        dist.init_process_group("gloo")
        control_group = dist.new_group(backend="gloo")  # control apart from DDP's own traffic
    return device, control_group


def _broadcast(value, group):
    """Rank 0's ``value`` on every rank (pickled; tensors travel on the CPU)."""
    box = [value]
    dist.broadcast_object_list(box, src=0, group=group)
    return box[0]


def _test_shard(dataset: data_module.ImageDataset, launch: Launch) -> data_module.ImageDataset:
    index = torch.tensor_split(torch.arange(dataset.num_test), launch.world_size)[launch.rank]
    return dataclasses.replace(dataset, test_images=dataset.test_images[index], test_labels=dataset.test_labels[index])


def _failure_key(run_id: str, rank: int) -> str:
    return f"resnet_lab/{run_id}/failure/{rank}"


def _c10d_store():
    """The key-value store torchrun's rendezvous runs (lives in the launcher: survives a dead rank)."""
    with contextlib.suppress(Exception):
        return dist.distributed_c10d._get_default_store()
    return None


def _first_line(error: BaseException) -> str:
    """One short line: gloo's messages start with a source path and end with advice and an emoji."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    text = re.sub(r"^\[[^\]]*\]\s*", "", text).split(". ")[0]
    return f"{type(error).__name__}: {text}"[:400]


PEER_LOST = ("Connection closed by peer", "Connection reset by peer", "Broken pipe", "Socket Timeout")


def _peer_lost(error: BaseException) -> bool:
    """Whether a collective failed because another process went away (not this process's own error)."""
    return isinstance(error, dist.DistBackendError) or any(sign in str(error) for sign in PEER_LOST)


def _failure_message(launch: Launch, run_id: str, error: BaseException) -> str:
    """Rank 0's account of a failure: its own error, or the message the rank that failed left behind."""
    if not _peer_lost(error):
        return f"rank {launch.rank}: {_first_line(error)}"
    store = _c10d_store()
    said = []
    deadline = time.monotonic() + 2.0  # a failing rank writes its message before its connections close
    for rank in range(1, launch.world_size):
        key = _failure_key(run_id, rank)
        with contextlib.suppress(Exception):
            while time.monotonic() < deadline and not store.check([key]):
                time.sleep(0.05)
            if store.check([key]):
                said.append(store.get(key).decode("utf-8", "replace"))
    if said:
        return "; ".join(said)[:1000]
    return ("another process of this run ended without a word (killed, or out of memory?); "
            f"rank 0 saw {_first_line(error)}")


@dataclass
class JobResult:
    """How the job ended, for the CLI (rank 0 has the run id and prints the summary)."""

    run_id: str | None
    status: str
    message: str = ""


def train_job(launch: Launch, *, config: TrainConfig | None = None, resume_run_id: str | None = None,
              queued_run_id: str | None = None, device_choice: str = "auto",
              store_root: str | os.PathLike | None = None, status_line=None) -> JobResult:
    """Train one run on this process's shard: a new one from ``config``, the app's ``queued_run_id``
    with its stored settings, or ``resume_run_id`` from its last checkpoint.

    Every rank calls this. Raises StartRefused (same reason on every rank) when the job cannot start.
    """
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # torchrun forwards a stop to every rank
        signal.signal(signum, lambda *_: stop_requested.set())
    try:
        device, group = start_processes(launch, device_choice)
    except ValueError as error:  # the same machine answers the same on every rank of a node
        raise StartRefused(str(error)) from None

    # Rank 0 decides which run it is; every rank hears the decision (or the reason to refuse).
    store = RunStore(store_root) if launch.is_main else None
    decision: dict = {"error": None}
    if launch.is_main:
        try:
            decision.update(_decide_run(store, config, resume_run_id, queued_run_id, launch, device))
        except (ValueError, KeyError) as error:
            decision["error"] = str(error.args[0]) if type(error) is KeyError else str(error)
    decision = _broadcast(decision, group)
    if decision["error"]:
        _close(store)
        raise StartRefused(decision["error"])
    config = TrainConfig.from_dict(decision["config"])
    if launch.is_main:  # on several nodes, say which one holds the store (torchrun numbers nodes by host name)
        print(f"resnet_edu: {launch.world_size} processes; rank 0 writes run {decision['run_id']} into the run "
              f"store on {socket.gethostname()}: {store.root.resolve()}", file=sys.stderr, flush=True)

    # The data: the first process on each node decodes (and caches) a folder; the others read the cache.
    errors: list = [None] * launch.world_size
    error = None
    cached = config.dataset != "synthetic"
    if cached and launch.local_rank != 0:
        dist.barrier(group=group)
    try:
        dataset = cached_dataset(config.dataset, config.data_root, config.image_size,
                                 progress=(lambda f, m: status_line(f"{m} {f:.0%}")) if status_line and launch.is_main
                                 else None, max_train=config.max_train_images)
        if config.batch_size > dataset.num_train:
            raise ValueError(f"batch size {config.batch_size} is larger than the {dataset.num_train} training images")
    except (data_module.DataUnavailable, data_module.BadDataFolder, ValueError, OSError) as failure:
        said = " ".join(str(failure).split())
        error = f"rank {launch.rank}: {said}" if launch.rank else said
    if cached and launch.local_rank == 0:
        dist.barrier(group=group)
    dist.all_gather_object(errors, error, group=group)
    refused = next((e for e in errors if e), None)
    run_id = decision["run_id"]
    if refused:
        if launch.is_main and decision.get("created"):
            store.delete_run(run_id)  # nothing was trained: leave no empty run behind
        elif launch.is_main and decision.get("adopted"):  # the app's run: it shows why it never started
            store.set_status(run_id, "failed", refused)
        _close(store)
        raise StartRefused(refused)

    return _train(launch, config, run_id, decision, dataset, device, group, store, stop_requested, status_line)


def end_refused_job() -> None:
    """After a refusal: every rank waits here until rank 0 has said why, then leaves the job.

    torchrun ends the whole job as soon as one process exits; without this wait rank 0 could be
    stopped before its one-line reason reached the terminal.
    """
    if dist.is_initialized():
        with contextlib.suppress(Exception):
            dist.barrier()
            dist.destroy_process_group()


def _decide_run(store: RunStore, config: TrainConfig | None, resume_run_id: str | None, queued_run_id: str | None,
                launch: Launch, device: torch.device) -> dict:
    if queued_run_id is not None:  # created by the app, with the world size it asked for
        info = store.get_run(queued_run_id)
        config = TrainConfig.from_dict(info["config"])
        if info["status"] != "queued" or info.get("steps_done"):
            raise ValueError(f"run {queued_run_id} is {info['status']}: only a queued run that has not started "
                             "can be trained with --run-id (continue others with runs resume)")
        if config.world_size != launch.world_size:
            raise ValueError(f"run {queued_run_id} was set up for {config.world_size} processes; this job has "
                             f"{launch.world_size}")
        return {"run_id": queued_run_id, "config": config.to_dict(), "payload": None, "created": False,
                "adopted": True}
    if resume_run_id is None:
        config = dataclasses.replace(config, world_size=launch.world_size)
        config.validate()
        run_id = store.create_run(config.run_name, config.to_dict(), device=device.type, status="queued")
        return {"run_id": run_id, "config": config.to_dict(), "payload": None, "created": True}
    info = store.get_run(resume_run_id)
    if info["status"] == "finished":
        raise ValueError(f"run {resume_run_id} has finished: there is nothing to resume")
    if info["status"] in ("running", "queued"):
        RunStore(store.root).close()  # a fresh look marks it interrupted if its process is gone
        info = store.get_run(resume_run_id)
        if info["status"] in ("running", "queued"):
            raise ValueError(f"run {resume_run_id} is {info['status']} in another process: stop it there first")
    checkpoint = store.latest_checkpoint(resume_run_id)
    if checkpoint is None:
        raise ValueError(f"run {resume_run_id} has no checkpoint yet (one is saved at the end of every epoch)")
    config = TrainConfig.from_dict(info["config"])
    if config.batch_size % launch.world_size:
        raise ValueError(f"batch size {config.batch_size} does not split evenly over {launch.world_size} processes")
    payload = load_checkpoint(checkpoint, map_location="cpu")
    return {"run_id": resume_run_id, "config": config.to_dict(), "payload": payload, "checkpoint": str(checkpoint),
            "created": False}


def _close(store: RunStore | None) -> None:
    if store is not None:
        with contextlib.suppress(Exception):
            store.close()


def _train(launch: Launch, config: TrainConfig, run_id: str, decision: dict, dataset, device: torch.device, group,
           store: RunStore | None, stop_requested: threading.Event, status_line) -> JobResult:
    channels_last = devices.channels_last_ok(device)
    augment = augmentation_for(config)
    stream = data_module.BatchStream(dataset, config.batch_size, seed=config.seed, device=device, augment=augment,
                                     channels_last=channels_last, rank=launch.rank, world_size=launch.world_size)
    test_set = _test_shard(dataset, launch)
    dataset_info = {"classes": list(dataset.classes), "mean": list(dataset.mean), "std": list(dataset.std),
                    "dataset_name": dataset.name}
    trainer = DistributedTrainer(config, launch=launch, group=group, num_classes=dataset.num_classes,
                                 steps_per_epoch=stream.steps_per_epoch, device=device, store=store, run_id=run_id)
    inbox = ShortcutInbox(store.root, run_id) if launch.is_main else None
    control = Control(group, inbox, models.shortcut_state(trainer.model), stop_requested)
    kill_rank, kill_at, *how = os.environ.get(TEST_KILL_ENV, "-1:-1").split(":")
    kill_rank, kill_at = int(kill_rank), int(kill_at)
    toggle_at = int(os.environ.get(TEST_TOGGLE_ENV, "-1"))

    status, message = "finished", ""
    try:
        if decision["payload"] is not None:
            trainer.restore(decision["payload"])
            if store is not None:
                store.discard_after(run_id, trainer.step)
                store.log_event(run_id, trainer.step, "resumed", {"checkpoint": decision.get("checkpoint"),
                                                                  "world_size": launch.world_size})
        else:  # the starting point, for analyses that compare a net with its initial self
            trainer.checkpoint(store.checkpoint_dir(run_id) / "init.pt" if store is not None else Path("init.pt"),
                               dataset_info)
        if store is not None:
            store.set_status(run_id, "running", "")
            store.set_progress(run_id, trainer.step, trainer.last_step)
            if decision["payload"] is None:
                store.log_event(run_id, 0, "started", {
                    "device": _device_label(device, trainer.precision, launch), "precision": trainer.precision,
                    "compiled": config.compile, "world_size": launch.world_size, "sync_bn": config.sync_bn,
                    "host": socket.gethostname(),
                    "parameters": models.count_parameters(trainer.model)})
        stream.seek(trainer.step)
        seconds_per_iteration, clock = None, time.perf_counter()
        while not trainer.done:
            stop, switch = control.exchange()
            if stop:
                status = "stopped"
                message = (f"stopped by SIGINT/SIGTERM to torchrun after iteration {trainer.step}; continue with "
                           f"torchrun ... -m resnet_edu runs resume {run_id}")
                break
            if switch is not None:
                trainer.request_shortcuts(*switch)
            if launch.rank == kill_rank and trainer.step == kill_at:
                if how == ["raise"]:
                    raise RuntimeError(f"rank {launch.rank} failed on purpose after iteration {kill_at}")
                os.kill(os.getpid(), signal.SIGKILL)
            images, labels = stream.next()
            trainer.train_step(images, labels)
            if launch.is_main and trainer.step == toggle_at:
                inbox.put(False)
            if trainer.at_epoch_end():
                trainer.evaluate(data_module.test_batches(test_set, 500, device=device, channels_last=channels_last))
                _checkpoint(trainer, store, run_id, dataset_info)
            now = time.perf_counter()
            elapsed, clock = now - clock, now  # one iteration with its evaluation: what the ETA must count
            seconds_per_iteration = elapsed if seconds_per_iteration is None else \
                0.8 * seconds_per_iteration + 0.2 * elapsed
            if store is not None:
                store.set_progress(run_id, trainer.steps_recorded, trainer.last_step,
                                   images_per_second=trainer.images_per_second,
                                   eta_seconds=(trainer.last_step - trainer.step) * seconds_per_iteration)
                if status_line:
                    status_line(f"{config.run_name} on {launch.world_size} processes: step {trainer.step}/"
                                f"{trainer.last_step}")
        trainer.read_metrics()
        if status == "stopped" and trainer.step > 0:
            _checkpoint(trainer, store, run_id, dataset_info)  # resumable
    except Diverged as error:  # every rank sees the same summed loss, so every rank ends here
        status, message = "diverged", str(error)
    except Exception as error:  # noqa: BLE001 - a rank failed or a peer vanished
        status = "failed"
        if launch.is_main:
            message = _failure_message(launch, run_id, error)
        else:  # leave word for rank 0 (in torchrun's store, which outlives this process) unless a peer went first
            message = f"rank {launch.rank}: {_first_line(error)}"
            if not _peer_lost(error):
                with contextlib.suppress(Exception):
                    _c10d_store().set(_failure_key(run_id, launch.rank), message)
    _write_rank_report(trainer, launch)
    if store is not None:
        with contextlib.suppress(Exception):
            store.log_event(run_id, trainer.step, status, {"message": message} if message else None)
            store.set_status(run_id, status, message)
        _close(store)
    if status != "failed":
        with contextlib.suppress(Exception):
            dist.destroy_process_group()
    return JobResult(run_id, status, message)


def _device_label(device: torch.device, precision: str, launch: Launch) -> str:
    if device.type == "cpu":  # this process's share of the cores, not the machine's
        threads = torch.get_num_threads()
        return f"{launch.world_size} processes × CPU · {threads} thread{'s' if threads != 1 else ''} · {precision}"
    return f"{launch.world_size} processes × {devices.device_label(device, precision)}"


def _checkpoint(trainer: DistributedTrainer, store: RunStore | None, run_id: str, dataset_info: dict) -> None:
    trainer.read_metrics()
    path = store.checkpoint_dir(run_id) / "last.pt" if store is not None else Path("last.pt")  # rank 0 writes
    if store is not None:
        store.flush()  # every iteration up to the checkpoint is committed before it exists
    trainer.checkpoint(path, dataset_info)
    if store is not None:
        store.record_checkpoint(run_id, trainer.step, path)


def _write_rank_report(trainer: DistributedTrainer, launch: Launch) -> None:
    """Test-only (TEST_REPORT_ENV): each rank's weights digest and the switches it applied."""
    folder = os.environ.get(TEST_REPORT_ENV)
    if not folder:
        return
    report = {"rank": launch.rank, "step": trainer.step, "digest": trainer.weights_digest(),
              "switches": trainer.switches_applied, "threads": torch.get_num_threads()}
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / f"rank{launch.rank}.json").write_text(json.dumps(report))
