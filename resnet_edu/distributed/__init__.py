"""Many GPUs and nodes: the same Trainer under ``torchrun``, with PyTorch's DistributedDataParallel.

    torchrun --standalone --nproc_per_node 2 -m resnet_edu train --depth 56 --epochs 164 --json

The paper trained its CIFAR nets with a mini-batch of 128 on 2 GPUs (Sec. 4.2: 64 on each) and its
ImageNet nets with a mini-batch of 256 (Sec. 3.4); the 8 GPUs, 32 images on each, come from the
authors' model-release notes (github.com/KaimingHe/deep-residual-networks), and batch normalisation
on each GPU's own images is an inference from those, not something the paper states. Here each
process torchrun starts is one such GPU (or a share of the CPU cores):

* ``--batch-size`` is the global batch. Every process builds only its own rows of global batch
  k (:class:`~resnet_edu.data.BatchStream` with ``rank``/``world_size``): batch k is a function
  of (seed, k), so the shards are disjoint and together are the very batch a one-process run
  trains on — nothing is sent between processes to hand out data.
* The net is wrapped in ``DistributedDataParallel``: gradients are averaged over the processes
  in the backward pass, so every process applies the same SGD step of the global batch (same lr
  as one process). Batch norm stays per process, as per-GPU training would have it (``--sync-bn`` on CUDA
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

    processes   where this process stands (Launch), its device, the process groups
    job         train_job: rank 0 decides the run, every rank loads the data
    ddp_lane    the engine's one lockstep loop in this process: DDP trainer, stop/switch exchange, rank 0 writes
    trainer     DistributedTrainer: the Trainer with its net in DistributedDataParallel
    control     the shortcut inbox and the per-iteration agreement on stop and switches
    failures    which rank failed, and why, in rank 0's message
    queue       the app's side: torchrun commands and the training process's queue of jobs
"""

from resnet_edu.distributed.control import Control
from resnet_edu.distributed.ddp_lane import DistributedLockstep, JobResult
from resnet_edu.distributed.job import train_job
from resnet_edu.distributed.processes import Launch, StartRefused, end_refused_job, launch_from_env
from resnet_edu.distributed.trainer import SYNC_BN_ON_CPU, DistributedTrainer
from resnet_edu.runs.requests import ShortcutInbox

__all__ = [
    "Control", "ShortcutInbox", "train_job", "DistributedLockstep", "JobResult",
    "Launch", "StartRefused", "end_refused_job", "launch_from_env", "SYNC_BN_ON_CPU", "DistributedTrainer",
]
