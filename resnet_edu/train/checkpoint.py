"""A training checkpoint on disk: its format and names, written whole or not at all, read safely,
and the trained net loaded back from it.

A checkpoint is a dict saved with ``torch.save``: the model's and the optimizer's state, the
run's config, its step and what the data set looked like; the Trainer decides what it holds
(:meth:`~resnet_edu.train.trainer.Trainer.checkpoint` and
:meth:`~resnet_edu.train.trainer.Trainer.restore`). Here:

* :data:`CHECKPOINT_FORMAT`, :data:`INIT_CHECKPOINT`, :data:`LAST_CHECKPOINT`,
  :data:`PREVIOUS_CHECKPOINT`: the format marker and the file names of a run folder;
* :func:`write_checkpoint`: atomic, so a crash or a full disk never leaves half a file; once a
  new ``last.pt`` is whole, the one it replaces becomes ``previous.pt`` (the last two are kept);
* :func:`load_checkpoint_or_previous`: resuming reads ``previous.pt`` when ``last.pt`` is
  damaged (cut short by a crash on a disk without write barriers), and says so;
* :func:`load_checkpoint`: read with ``torch.load(..., weights_only=True)``, which refuses
  pickled code, so a file someone hands you cannot run anything;
* :func:`model_from_checkpoint`: the trained net without a trainer, for the pages and the
  analysis jobs (lesion, landscape, features).
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import torch

from resnet_edu import models
from resnet_edu.data.saving import save_atomically
from resnet_edu.train.build import make_model
from resnet_edu.train.config import TrainConfig

CHECKPOINT_FORMAT = "resnet-lab-checkpoint-1"
INIT_CHECKPOINT = "init.pt"  # a run's weights before its first step: where the landscape's path starts
LAST_CHECKPOINT = "last.pt"  # the newest checkpoint (each epoch's end, a stop): what resume reads
PREVIOUS_CHECKPOINT = "previous.pt"  # the one before it: read when last.pt is damaged


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a ResNet Lab checkpoint safely (weights_only=True); ValueError for anything else.

    Args:
        path: the checkpoint file.
        map_location: where the tensors go, e.g. ``"cpu"`` or ``"cuda:0"``.
    """

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path.name!r} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # corrupt, truncated, pickled code, not a torch file at all
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{path.name!r} is not a readable ResNet Lab checkpoint ({first_line[:160]})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path.name!r} is not a ResNet Lab checkpoint (no '{CHECKPOINT_FORMAT}' marker)")
    return payload


def write_checkpoint(payload: dict, path: str | os.PathLike) -> Path:
    """Save ``payload`` with torch.save at ``path``, atomically: the previous file stays until this one is whole.

    Args:
        payload: tensors, numbers, strings, lists and dicts only (so it loads with weights_only=True).
        path: the file to write.

    Raises:
        OSError: the disk refused (a full disk: ``ENOSPC``); nothing half-written is left behind.
    """
    path = Path(path)
    if path.name != LAST_CHECKPOINT or not path.is_file():
        return save_atomically(payload, path)
    # The new last.pt is written whole first; only then does the old one become previous.pt.
    incoming = save_atomically(payload, path.with_name(f".{path.name}.{os.getpid()}.new"))
    try:
        _keep_as_previous(path)
        os.replace(incoming, path)
    except BaseException:
        incoming.unlink(missing_ok=True)
        raise
    return path


def _keep_as_previous(last: Path) -> None:
    """Give the current ``last.pt`` the name ``previous.pt`` too (a hard link: no copy), atomically.

    A ``last.pt`` that is not a whole zip archive (torch files are zip archives whose index is
    at the end: a file cut short has none) is not kept: the older ``previous.pt`` is worth more.
    """
    if not zipfile.is_zipfile(last):
        return
    previous = last.with_name(PREVIOUS_CHECKPOINT)
    staging = last.with_name(f".{PREVIOUS_CHECKPOINT}.{os.getpid()}.tmp")
    try:
        staging.unlink(missing_ok=True)
        try:
            os.link(last, staging)
        except OSError:  # a file system without hard links (FAT on a USB stick)
            shutil.copyfile(last, staging)
        os.replace(staging, previous)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


def load_checkpoint_or_previous(path: str | os.PathLike,
                                map_location: str | torch.device = "cpu") -> tuple[dict, Path, str | None]:
    """(payload, the file read, None); for a damaged ``last.pt``, the ``previous.pt`` beside it and the
    sentence that says so (for the run's events) instead of None.

    Args:
        path: the checkpoint to read (a run's ``last.pt``).
        map_location: where the tensors go.

    Raises:
        ValueError: ``path`` cannot be read and there is no readable checkpoint before it.
    """
    path = Path(path)
    try:
        return load_checkpoint(path, map_location), path, None
    except ValueError as error:
        previous = path.with_name(PREVIOUS_CHECKPOINT)
        if path.name != LAST_CHECKPOINT or not previous.is_file():
            raise
        try:
            payload = load_checkpoint(previous, map_location)
        except ValueError:
            raise error from None
        note = (f"{error}: the checkpoint before it ({PREVIOUS_CHECKPOINT}, iteration {payload.get('step')}) "
                f"was read instead")
        return payload, previous, note


def model_from_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu"):
    """(eval-mode model, its TrainConfig, info) from a checkpoint; info has step, num_classes, classes, mean, std,
    and ``note``: None, or the sentence saying a damaged ``last.pt`` was replaced by ``previous.pt``.

    Args:
        path: a checkpoint written by ``Trainer.checkpoint``.
        device: where the model is put.

    Raises:
        ValueError: the file is not a ResNet Lab checkpoint, or its weights do not fit its config.
    """
    payload, _read, note = load_checkpoint_or_previous(path, map_location=device)
    try:
        config = TrainConfig.from_dict(payload["config"])
        model = make_model(config, int(payload["num_classes"]))
        model.load_state_dict(payload["model"])
    except Exception as error:
        raise ValueError(f"checkpoint does not match its own configuration: {str(error)[:200]}") from None
    for stage, enabled in payload.get("shortcut_state", {}).items():
        models.set_shortcuts(model, bool(enabled), [int(stage)])
    model.to(device).eval()
    info = {key: payload.get(key) for key in ("step", "num_classes", "classes", "mean", "std", "dataset_name")}
    info["note"] = note
    return model, config, info
