"""Trained weights in and out: a run's weights as a plain file, torchvision's pretrained ResNets,
and weights files a teacher brings, all loaded into this project's own nets.

A weights file here is a plain ``state_dict`` (``torch.save(model.state_dict(), path)``) with a
JSON file of the same name beside it (how to rebuild the net, the classes, the normalisation).
The module names follow torchvision's ResNet, so:

* ``build_model(...)`` + ``load_state_dict`` loads any exported run;
* an ImageNet-style net with projection shortcuts (option B, as in torchvision) and the 224-px
  stem loads into ``torchvision.models.resnet18()`` etc. with ``strict=True`` and gives the same
  outputs; the JSON says whether this is so, and why not when it is not;
* torchvision's pretrained weights (``IMAGENET1K_V1``: the original recipe of the paper's
  authors) load into ``build_model("imagenet", depth, 1000, shortcut_type="B")``, so every
  page's Captum code (feature maps, Grad-CAM, integrated gradients, lesions) works on them.

Every file is read with ``torch.load(..., weights_only=True)`` (no code runs), size-capped,
and its tensors are checked against the net they claim to be (``strict=True``); anything else
gets a ValueError with a sentence that says what is wrong.
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

WEIGHTS_FORMAT = "resnet-edu-weights/1"
MAX_WEIGHTS_BYTES = 260_000_000  # ResNet-152 in fp32 is 241 MB; nothing in this family is larger
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # the normalisation torchvision's pretrained nets expect
IMAGENET_STD = (0.229, 0.224, 0.225)
PRETRAINED_IMAGE_SIZE = 224  # torchvision's evaluation crop
_IMAGENET_LAYOUTS = {  # (block, blocks per stage) -> depth, as in models.build_model
    ("basic", (2, 2, 2, 2)): 18, ("basic", (3, 4, 6, 3)): 34, ("bottleneck", (3, 4, 6, 3)): 50,
    ("bottleneck", (3, 4, 23, 3)): 101, ("bottleneck", (3, 8, 36, 3)): 152,
}


class WeightsUnavailable(RuntimeError):
    """Pretrained weights that are not on this machine and cannot be downloaded now."""


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


# --------------------------------------------------------------------------- reading a state_dict

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


def infer_config(state: dict) -> dict:
    """The ResNet a state_dict describes (family, depth, num_classes, shortcut_type, small_input).

    Raises:
        ValueError: not a ResNet of this family (missing layers, an unknown layout).
    """
    for key in ("conv1.weight", "fc.weight", "layer1.0.conv1.weight"):
        if key not in state:
            raise ValueError(f"this is not a ResNet's state_dict: it has no {key!r} "
                             f"(its first keys: {', '.join(list(state)[:4])})")
    stem = tuple(state["conv1.weight"].shape)
    bottleneck = "layer1.0.conv3.weight" in state
    blocks = []
    for stage in range(1, 5):
        indices = {int(k.split(".")[1]) for k in state if k.startswith(f"layer{stage}.") and k.split(".")[1].isdigit()}
        if indices:
            blocks.append(max(indices) + 1)
    with_projection = sum(1 for k in state if k.endswith("downsample.0.weight"))
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


MAX_JSON_BYTES = 1_000_000  # the JSON beside a weights file is a few kB


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


# --------------------------------------------------------------------------- torchvision's pretrained nets

def pretrained_weights(depth: int):
    """torchvision's ``IMAGENET1K_V1`` weights enum for ResNet-``depth`` (the original training recipe)."""
    if depth not in models.IMAGENET_DEPTHS:
        raise ValueError(f"no pretrained ResNet-{depth!r}: choose one of {', '.join(map(str, models.IMAGENET_DEPTHS))}")
    import torchvision.models as tv

    return getattr(tv, f"ResNet{depth}_Weights").IMAGENET1K_V1


def pretrained_file(depth: int) -> Path:
    """Where torchvision keeps (and looks for) the downloaded weights of ResNet-``depth``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(pretrained_weights(depth).url)


def pretrained_unavailable_message(depth: int, reason: str) -> str:
    weights = pretrained_weights(depth)
    size = weights.meta.get("_file_size")
    size_text = f"{size:,.0f} MB, " if size else ""
    return (f"The pretrained ResNet-{depth} is not available: {reason} To use it offline, download "
            f"{os.path.basename(weights.url)} ({size_text}from {weights.url}) on a machine with internet access "
            f"and put it in {pretrained_file(depth).parent} (torchvision's cache; TORCH_HOME moves it), or "
            f"upload a weights file.")


def load_pretrained(depth: int, download: bool = False) -> LoadedNet:
    """torchvision's pretrained ResNet-``depth`` (ImageNet, 1000 classes) in this project's ResNet.

    Args:
        depth: 18, 34, 50, 101 or 152.
        download: fetch the weights with torchvision's weights API when they are not in its cache
            (a download of 45-230 MB: do it in the training process, never in a page).

    Raises:
        WeightsUnavailable: not in torchvision's cache and ``download`` is off or fails (offline).
    """
    weights = pretrained_weights(depth)
    path = pretrained_file(depth)
    if path.is_file():
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # noqa: BLE001 - a damaged cache file
            raise WeightsUnavailable(pretrained_unavailable_message(
                depth, f"{path} could not be read ({str(error)[:120]}); delete it.")) from None
    elif download:
        try:
            state = weights.get_state_dict(progress=False, check_hash=True)
        except Exception as error:  # noqa: BLE001 - offline (URLError), a bad hash, a full disk
            raise WeightsUnavailable(pretrained_unavailable_message(
                depth, f"the download failed ({' '.join(str(error).split())[:160]}).")) from None
    else:
        raise WeightsUnavailable(pretrained_unavailable_message(depth, f"{path} does not exist."))
    config = {"family": "imagenet", "depth": depth, "num_classes": 1000, "shortcut_type": "B",
              "small_input": False}
    model = build_loaded(state, config)
    return LoadedNet(model, {**config, "shortcuts": True, "image_size": PRETRAINED_IMAGE_SIZE},
                     list(weights.meta["categories"]), IMAGENET_MEAN, IMAGENET_STD, PRETRAINED_IMAGE_SIZE,
                     "torchvision", [f"torchvision {weights} (ImageNet top-1 "
                                     f"{weights.meta['_metrics']['ImageNet-1K']['acc@1']:.1f}%)"])


def download_pretrained_job(context) -> dict:
    """Fetch torchvision's pretrained ResNet-``depth`` in the training process (analysis job
    ``"download"`` with ``{"weights": depth}``), through torchvision's weights API into its cache.

    Returns:
        ``{"weights": depth, "file": path, "state": "ready"}``.

    Raises:
        ValueError: a depth with no pretrained net, an offline machine or a failed download (the message
            says what to do).
    """
    depth = (context.params or {}).get("weights")
    file = pretrained_file(depth)  # ValueError for a depth torchvision has no weights for
    context.report(0.0, f"Downloading torchvision's ResNet-{depth} weights to {file.parent}")
    try:
        load_pretrained(depth, download=True)  # torchvision's weights API: download, hash check, cache
    except WeightsUnavailable as error:
        raise ValueError(str(error)) from None
    context.report(1.0, f"ResNet-{depth} weights are ready")
    return {"weights": depth, "file": str(file), "state": "ready"}


# --------------------------------------------------------------------------- exporting a run

def torchvision_compatibility(config: dict) -> tuple[str | None, str]:
    """(torchvision constructor or None, why) for a net described by an exported config."""
    if config.get("family") != "imagenet":
        return None, "CIFAR nets (6n+2 layers, 16-64 filters) have no torchvision counterpart"
    if config.get("small_input"):
        return None, "its stem is a 3x3 conv for 32-64 px images; torchvision's is a 7x7 conv + max-pool"
    if config.get("shortcut_type") != "B":
        return None, (f"its shortcuts are option {config.get('shortcut_type')}; torchvision's ResNets use "
                      f"option B (projections only where the shape changes)")
    constructor = f"resnet{config.get('depth')}"
    if not config.get("shortcuts", True):
        return constructor, ("loads with strict=True, but torchvision's net always adds the shortcuts this plain "
                             "net was trained without, so its outputs differ")
    return constructor, "loads with strict=True and gives the same outputs"


def export_config(model_config: dict, info: dict, run: dict | None = None) -> dict:
    """The JSON written beside an exported state_dict."""
    from resnet_edu.train import TrainConfig

    config = TrainConfig.from_dict(model_config)
    small_input = config.family == "imagenet" and config.image_size <= 64  # as train.make_model decides
    build = {"family": config.family, "depth": config.depth, "num_classes": int(info["num_classes"]),
             "shortcuts": config.shortcuts, "shortcut_type": config.shortcut_type, "small_input": small_input,
             "image_size": config.image_size}
    constructor, why = torchvision_compatibility(build)
    return {
        "format": WEIGHTS_FORMAT,
        "run_id": (run or {}).get("run_id"), "name": (run or {}).get("name") or config.run_name,
        "step": info.get("step"), "dataset": info.get("dataset_name") or config.dataset,
        "config": build, "train_config": config.to_dict(),
        "classes": list(info.get("classes") or []), "mean": list(info.get("mean") or []),
        "std": list(info.get("std") or []),
        "shortcut_state": {str(k): bool(v) for k, v in (info.get("shortcut_state") or {}).items()},
        "load_with": (f"models.build_model({config.family!r}, {config.depth}, {int(info['num_classes'])}, "
                      f"shortcuts={config.shortcuts}, shortcut_type={config.shortcut_type!r}"
                      + (", small_input=True" if small_input else "") + ").load_state_dict(torch.load(path))"),
        "torchvision": {"constructor": constructor, "note": why},
    }


def export_checkpoint(checkpoint: str | os.PathLike, run: dict | None = None) -> tuple[bytes, dict]:
    """(state_dict file bytes, its JSON) for the checkpoint of a run."""
    from resnet_edu.train import model_from_checkpoint

    model, config, info = model_from_checkpoint(checkpoint)
    info = {**info, "shortcut_state": models.shortcut_state(model)}
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue(), export_config(config.to_dict(), info, run)


def export_run(store, run_id: str, path: str | os.PathLike) -> tuple[Path, Path]:
    """Write a run's latest weights to ``path`` (a plain state_dict) and ``path`` + ``.json``.

    Raises:
        ValueError: the run has no checkpoint yet, or it cannot be read.
        RunNotFound: no such run.
    """
    run = store.get_run(run_id)
    checkpoint = store.latest_checkpoint(run_id)
    if checkpoint is None:
        raise ValueError(f"run {run_id} has no checkpoint yet (one is saved at the end of every epoch)")
    payload, config = export_checkpoint(checkpoint, run)
    path = Path(path)
    sidecar = path.with_name(path.name + ".json") if path.suffix == "" else path.with_suffix(".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    for target, content in ((path, payload), (sidecar, (json.dumps(config, indent=2) + "\n").encode())):
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_bytes(content)
        os.replace(temporary, target)  # never half a file under the final name
    return path, sidecar
