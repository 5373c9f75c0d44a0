"""A weights file read safely and loaded into the net it describes, and the folder such files are offered from.

Every file is read with ``torch.load(..., weights_only=True)`` (no code runs), size-capped, and
its tensors are checked against the net they claim to be (``strict=True``): a file that is not
the weights of a ResNet this project builds gets a ValueError with a sentence that says why.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from resnet_edu import models
from resnet_edu.data.root import default_data_root

MAX_WEIGHTS_BYTES = 260_000_000  # ResNet-152 in fp32 is 241 MB; nothing in this family is larger
MAX_JSON_BYTES = 1_000_000  # the JSON beside a weights file is a few kB
# The most classes a file may declare: ImageNet-21k's 21,841 words, rounded up. A file's last layer
# is built before its tensors are loaded, so a tiny file declaring 2e9 classes would ask for a
# 520 GB layer: the shapes are checked first (:func:`check_declared_shapes`).
MAX_CLASSES = 25_000
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # the normalisation torchvision's pretrained nets expect
IMAGENET_STD = (0.229, 0.224, 0.225)
PRETRAINED_IMAGE_SIZE = 224  # torchvision's evaluation crop
_IMAGENET_LAYOUTS = {  # (block, blocks per stage) -> depth, as in models.build_model
    ("basic", (2, 2, 2, 2)): 18, ("basic", (3, 4, 6, 3)): 34, ("bottleneck", (3, 4, 6, 3)): 50,
    ("bottleneck", (3, 4, 23, 3)): 101, ("bottleneck", (3, 8, 36, 3)): 152,
}



@dataclass
class LoadedNet:
    """A net ready for the analysis pages, and what is known about it."""

    model: nn.Module  # eval mode, on the CPU
    config: dict  # how to rebuild it: family, depth, num_classes, shortcuts, shortcut_type, small_input
    classes: list[str]  # index -> name (indices as text when unknown)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    image_size: int  # the size of image the net expects
    source: str  # "run", "torchvision", "file"
    notes: list[str] = field(default_factory=list)  # what was assumed (shown to the user)



def read_state_dict(source: bytes | str | os.PathLike, max_bytes: int = MAX_WEIGHTS_BYTES) -> tuple[dict, dict]:
    """(state_dict, metadata) from a weights file: a plain state_dict, a ResNet Lab checkpoint, or a
    dict holding ``state_dict``/``model``. Metadata is the checkpoint's config and classes, if any.

    Raises:
        ValueError: too large, not a PyTorch file, a file that would run code, no tensors.
    """
    if isinstance(source, (bytes, bytearray)):
        size, opened = len(source), io.BytesIO(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"{path.name!r} does not exist")
        size, opened = path.stat().st_size, path
    if size > max_bytes:
        raise ValueError(f"the file is {size / 1e6:,.0f} MB; the limit is {max_bytes / 1e6:,.0f} MB "
                         f"(a ResNet-152 is 241 MB)")
    try:
        payload = torch.load(opened, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - corrupt, truncated, pickled code, not a torch file at all
        text = " ".join(str(error).split())
        detail = text[text.find("WeightsUnpickler error:"):] if "WeightsUnpickler error:" in text else text
        if "Unsupported global" in text:
            reason = "it contains Python objects that would run code when loaded, so it was refused"
        else:
            reason = f"it is not a readable PyTorch weights file ({detail[:120] or type(error).__name__})"
        raise ValueError(f"cannot use this file: {reason}. Expected a state_dict saved with "
                         f"torch.save(model.state_dict(), path).") from None
    meta: dict = {}
    if isinstance(payload, dict) and isinstance(payload.get("model"), dict) and "config" in payload:
        meta = {"config": payload.get("config"), "num_classes": payload.get("num_classes"),
                **{k: payload.get(k) for k in ("classes", "mean", "std") if payload.get(k) is not None}}
        if payload.get("shortcut_state"):
            meta["shortcut_state"] = payload["shortcut_state"]
        payload = payload["model"]
    elif isinstance(payload, dict) and isinstance(payload.get("state_dict"), dict):
        payload = payload["state_dict"]
    if not isinstance(payload, dict) or not payload or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in payload.items()):
        raise ValueError("cannot use this file: it holds no state_dict (a mapping of layer names to tensors)")
    if all(k.startswith("module.") for k in payload):  # saved from DistributedDataParallel
        payload = {k[len("module."):]: v for k, v in payload.items()}
    return payload, meta


def check_declared_shapes(state: dict, max_bytes: int = MAX_WEIGHTS_BYTES) -> None:
    """ValueError unless every tensor is as large as the file really holds and the whole is a size this
    family can have: a tensor may *declare* far more elements than it stores (a stride of 0), and the
    net built for it would allocate them all."""
    declared = 0
    for name, tensor in state.items():
        size = tensor.numel() * tensor.element_size()
        declared += size
        if tensor.numel() and tensor.untyped_storage().nbytes() < size:
            raise ValueError(f"cannot use this file: {name!r} declares {tuple(tensor.shape)} "
                             f"({size / 1e6:,.0f} MB) but stores only {tensor.untyped_storage().nbytes():,} bytes")
    if declared > max_bytes:
        raise ValueError(f"cannot use this file: its tensors declare {declared / 1e6:,.0f} MB; the limit is "
                         f"{max_bytes / 1e6:,.0f} MB (a ResNet-152 is 241 MB)")
    fc = state.get("fc.weight")
    if fc is not None and fc.dim() >= 1 and fc.shape[0] > MAX_CLASSES:
        raise ValueError(f"cannot use this file: it declares {fc.shape[0]:,} classes; the most a net here may have "
                         f"is {MAX_CLASSES:,} (ImageNet has 1,000, ImageNet-21k 21,841)")


def infer_config(state: dict) -> dict:
    """The ResNet a state_dict describes (family, depth, num_classes, shortcut_type, small_input).

    Raises:
        ValueError: not a ResNet of this family (missing layers, an unknown layout).
    """
    for key in ("conv1.weight", "fc.weight", "layer1.0.conv1.weight"):
        if key not in state:
            raise ValueError(f"this is not a ResNet's state_dict: it has no {key!r} "
                             f"(its first keys: {', '.join(list(state)[:4])})")
    check_declared_shapes(state)  # before any layer is built for it
    stem = tuple(state["conv1.weight"].shape)
    bottleneck = "layer1.0.conv3.weight" in state
    blocks = []
    for stage in range(1, 5):
        indices = {int(k.split(".")[1]) for k in state if k.startswith(f"layer{stage}.") and k.split(".")[1].isdigit()}
        if indices:
            blocks.append(max(indices) + 1)
    with_projection = sum(1 for k in state if not models.on_main_path(k) and k.endswith(".0.weight"))
    total_blocks = sum(blocks)
    shortcut_type = "A" if with_projection == 0 else ("C" if with_projection == total_blocks else "B")
    num_classes = int(state["fc.weight"].shape[0])
    if stem == (16, 3, 3, 3) and len(blocks) == 3 and not bottleneck and len(set(blocks)) == 1:
        return {"family": "cifar", "depth": 6 * blocks[0] + 2, "num_classes": num_classes,
                "shortcut_type": shortcut_type, "small_input": False}
    if stem in ((64, 3, 7, 7), (64, 3, 3, 3)) and len(blocks) == 4:
        depth = _IMAGENET_LAYOUTS.get(("bottleneck" if bottleneck else "basic", tuple(blocks)))
        if depth is not None:
            return {"family": "imagenet", "depth": depth, "num_classes": num_classes,
                    "shortcut_type": shortcut_type, "small_input": stem == (64, 3, 3, 3)}
    raise ValueError(f"this ResNet's layout is not one the app builds (stem {list(stem)}, blocks per stage "
                     f"{blocks}, {'bottleneck' if bottleneck else 'basic'} blocks): expected a CIFAR ResNet "
                     f"(6n+2 layers) or an ImageNet ResNet-18/34/50/101/152")


def build_loaded(state: dict, config: dict, shortcuts: bool = True) -> nn.Module:
    """``build_model`` from ``config`` with ``state`` loaded strictly (every tensor's name and shape checked)."""
    opts = {"shortcut_type": config.get("shortcut_type", "B")}
    if config["family"] == "imagenet":
        opts["small_input"] = bool(config.get("small_input", False))
    try:
        model = models.build_model(config["family"], int(config["depth"]), int(config["num_classes"]),
                                   shortcuts=shortcuts, **opts)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"cannot build the net this file describes ({error})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        detail = lines[1] if len(lines) > 1 else (lines[0] if lines else "")
        raise ValueError(f"the tensors do not fit a {describe_config(config)}: {detail[:300]}") from None
    return model.eval()


def describe_config(config: dict) -> str:
    if config.get("family") == "cifar":
        return f"CIFAR ResNet-{config.get('depth')} (option {config.get('shortcut_type')}, " \
               f"{config.get('num_classes')} classes)"
    stem = ", 32-64 px stem" if config.get("small_input") else ""
    return f"ImageNet ResNet-{config.get('depth')} (option {config.get('shortcut_type')}{stem}, " \
           f"{config.get('num_classes')} classes)"


def imagenet_categories() -> list[str]:
    """The 1000 ImageNet class names, as torchvision ships them (no download needed)."""
    from torchvision.models import ResNet18_Weights

    return list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def load_weights(source: bytes | str | os.PathLike, meta: dict | None = None,
                 max_bytes: int = MAX_WEIGHTS_BYTES) -> LoadedNet:
    """A weights file (and, optionally, the JSON written beside it by :func:`export_run`) as a net.

    Args:
        source: the file's bytes or path.
        meta: the JSON beside it, parsed (``config``, ``classes``, ``mean``, ``std``, ``shortcuts``);
            it is checked against the tensors, never trusted blindly.
        max_bytes: refuse larger files before reading them.

    Raises:
        ValueError: anything that is not the weights of a ResNet this app builds, with the reason.
    """
    state, embedded = read_state_dict(source, max_bytes)
    meta = {**embedded, **(meta or {})}
    inferred = infer_config(state)
    declared = meta.get("config") or {}
    notes: list[str] = []
    for key in ("family", "depth"):
        if key in declared and declared[key] != inferred[key]:
            raise ValueError(f"the JSON says {key} {declared[key]!r} but the tensors are a "
                             f"{describe_config(inferred)}")
    shortcuts = bool(meta.get("shortcuts", declared.get("shortcuts", True)))
    model = build_loaded(state, inferred, shortcuts=shortcuts)
    for stage, enabled in (meta.get("shortcut_state") or {}).items():
        models.set_shortcuts(model, bool(enabled), [int(stage)])
    classes = meta.get("classes")
    if not (isinstance(classes, list) and len(classes) == inferred["num_classes"]):
        if inferred["num_classes"] == 1000:
            classes = imagenet_categories()
            notes.append("1000 outputs: labelled with ImageNet's class names (the file does not name its classes)")
        else:
            classes = [f"class {i}" for i in range(inferred["num_classes"])]
            notes.append("the file does not name its classes: they are shown by number")
    mean, std = meta.get("mean"), meta.get("std")
    if not (_is_triple(mean) and _is_triple(std)):
        mean, std = IMAGENET_MEAN, IMAGENET_STD
        notes.append("no normalisation in the file: ImageNet's mean and std are assumed")
    if inferred["family"] == "cifar" or inferred["small_input"]:
        image_size = int(declared.get("image_size") or 32)
    else:
        image_size = int(declared.get("image_size") or PRETRAINED_IMAGE_SIZE)
        image_size = max(image_size, 64)
    config = {**inferred, "shortcuts": shortcuts, "image_size": image_size}
    return LoadedNet(model, config, [str(c) for c in classes], tuple(float(v) for v in mean),
                     tuple(float(v) for v in std), image_size, "file", notes)


def _is_triple(value) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 3 and all(isinstance(v, (int, float)) for v in value)



def parse_sidecar(content: bytes) -> dict:
    """The JSON written beside a weights file, parsed; ValueError if it is not a small JSON object."""
    if len(content) > MAX_JSON_BYTES:
        raise ValueError(f"it is larger than {MAX_JSON_BYTES // 1_000_000} MB")
    try:
        meta = json.loads(content)
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"it is not JSON ({error})") from None
    if not isinstance(meta, dict):
        raise ValueError("it is not a JSON object")
    return meta


def weights_folder() -> Path:
    """``<data root>/weights``: weights files put here (and their JSON) are offered on the analysis pages."""
    return default_data_root() / "weights"


def weights_files(folder: str | os.PathLike | None = None) -> list[Path]:
    """The ``.pt`` / ``.pth`` files of the weights folder, by name."""
    folder = Path(folder) if folder is not None else weights_folder()
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.suffix.lower() in (".pt", ".pth") and p.is_file()),
                  key=lambda p: p.name.lower())


def sidecar_of(path: str | os.PathLike) -> dict | None:
    """The JSON beside a weights file (``name.json`` for ``name.pt``), or None; ValueError if it is unusable."""
    sidecar = Path(path).with_suffix(".json")
    if not sidecar.is_file():
        return None
    return parse_sidecar(sidecar.read_bytes()[: MAX_JSON_BYTES + 1])

