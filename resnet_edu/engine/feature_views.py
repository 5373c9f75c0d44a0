"""The Features page's views (feature maps, Grad-CAM, integrated gradients) as an analysis job.

Captum needs a forward and a backward pass per view (integrated gradients with a noise tunnel:
hundreds), so the views are computed where training runs, never in the Streamlit server. A page
names the nets and the image; the job (kind ``"features"``) loads each net, computes the view with
:mod:`resnet_edu.inside.features` and stores plain numbers: every tab that asks for the same view
of the same image reads the same result.

A net is named by a *source*, a JSON list:

    ["checkpoint", path, mtime]                              a run's checkpoint
    ["fresh", family, depth, shortcuts, num_classes, image_size, mean, std, classes]
                                                             an untrained net (He initialisation)
    ["pretrained", depth, shortcuts]                         torchvision's ImageNet weights
    ["path", path, mtime, sidecar JSON text, shortcuts]      a file in the weights folder
    ["file", sha256, sidecar JSON text, shortcuts]           an uploaded file (see :func:`keep_input`)

The image and uploaded weights travel as files in the store's ``inputs/`` folder (a ``.npy`` of
uint8 (3, H, W) read with ``allow_pickle=False``, a state_dict read with ``weights_only=True``),
named by their SHA-256, so a job's parameters stay small.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import torch

from resnet_edu import models, weights
from resnet_edu.inside import features
from resnet_edu.runs.housekeeping import INPUTS_FOLDER

VIEWS = ("maps", "gradcam", "ig")
TOP_K = 6  # channels per stage in the feature-map grids
INPUTS = INPUTS_FOLDER  # the store's folder for the job's image and uploaded weights (pruned: RunStore.prune_inputs)
DECIMALS = 4  # maps are in [0, 1] (or activations): 4 decimals are far below what a colour scale shows


def view_key(sources: list, image_name: str, view: str, target: int | None, options: list) -> str:
    """One text for one request: the same nets, image, view and options give the same key (in every tab)."""
    text = json.dumps([sources, image_name, view, target, options], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def keep_input(store_root: str | os.PathLike, data: np.ndarray | bytes) -> str:
    """Write an image (uint8 (3, H, W) array) or uploaded weights (bytes) to the store's inputs folder, once.

    Returns:
        The file's name: its SHA-256 and ``.npy`` or ``.pt``.
    """
    if isinstance(data, np.ndarray):
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(data, dtype=np.uint8), allow_pickle=False)
        payload, suffix = buffer.getvalue(), ".npy"
    else:
        payload, suffix = bytes(data), ".pt"
    name = hashlib.sha256(payload).hexdigest() + suffix
    folder = Path(store_root) / INPUTS
    path = folder / name
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(path.suffix + ".partial")
        partial.write_bytes(payload)
        os.replace(partial, path)  # a reader never sees half a file
    else:
        with contextlib.suppress(OSError):
            os.utime(path)  # used again: the store's pruning counts a file's age from its last use
    return name


def _input_path(store_root: str | os.PathLike, name: str) -> Path:
    if Path(name).name != name or not name.endswith((".npy", ".pt")):
        raise ValueError(f"not an input of this store: {name!r}")
    path = Path(store_root) / INPUTS / name
    if not path.is_file():
        raise ValueError(f"{name} is no longer in the store's inputs folder: choose the image or upload the file again")
    return path


def _as_tuple(value):
    return tuple(_as_tuple(v) for v in value) if isinstance(value, list | tuple) else value


@functools.lru_cache(maxsize=2)  # the two nets side by side; a new pair replaces them
def load_net(source: tuple, store_root: str) -> tuple[torch.nn.Module, tuple, tuple, list[str]]:
    """(eval-mode model on the CPU, mean, std, classes) of a source (see the module docstring)."""
    kind = source[0]
    if kind == "checkpoint":
        from resnet_edu.train import model_from_checkpoint

        model, _config, info = model_from_checkpoint(source[1])
        return model, tuple(info["mean"]), tuple(info["std"]), list(info["classes"])
    if kind == "fresh":
        from resnet_edu.train import TrainConfig, make_model

        _, family, depth, shortcuts, num_classes, image_size, mean, std, classes = source
        config = TrainConfig(family=family, depth=int(depth), shortcuts=bool(shortcuts), image_size=int(image_size),
                             recipe="paper")
        return make_model(config, int(num_classes)).eval(), tuple(mean), tuple(std), list(classes)
    if kind == "pretrained":
        net = weights.load_pretrained(int(source[1]))
    elif kind == "path":
        net = weights.load_weights(source[1], json.loads(source[3]) if source[3] else None)
    elif kind == "file":
        net = weights.load_weights(_input_path(store_root, f"{source[1]}.pt"), json.loads(source[2]) if source[2] else None)
    else:
        raise ValueError(f"unknown kind of net {kind!r}")
    model = net.model
    if not source[-1]:  # the same trained weights with every shortcut switched off: its own copy
        model = copy.deepcopy(net.model)
        models.set_shortcuts(model, False)
    return model, tuple(net.mean), tuple(net.std), list(net.classes)


def _numbers(array: np.ndarray) -> list:
    return np.asarray(array, dtype=np.float64).round(DECIMALS).tolist()


def view_of(model: torch.nn.Module, x: torch.Tensor, classes: list[str], view: str, target: int | None,
            options: list) -> dict:
    """Prediction and one view of one net on one normalised image (1, 3, H, W), as plain numbers.

    Returns:
        ``index``, ``confidence``, ``target`` (the class explained), ``predicted`` and ``target_name``
        (class names), ``maps``: for "maps" ``[{"stage", "channels", "values": (k, h, w)}]``, else
        ``[{"stage", "values": (H, W)}]`` (stage "IG" for integrated gradients).
    """
    prediction = features.predict(model, x)
    chosen = prediction.index if target is None else int(target)
    if not 0 <= chosen < len(classes):
        raise ValueError(f"class {chosen} does not exist: this net has {len(classes)} classes")
    if view == "maps":
        maps = [{"stage": m.stage, "channels": list(m.channels), "values": _numbers(m.maps)}
                for m in features.feature_maps(model, x, k=TOP_K)]
    elif view == "gradcam":
        maps = [{"stage": stage, "values": _numbers(cam)} for stage, cam in features.gradcam_maps(model, x, chosen).items()]
    else:
        noise_tunnel, n_steps = (list(options) + [False, 32])[:2]
        maps = [{"stage": "IG", "values": _numbers(features.integrated_gradients(
            model, x, chosen, noise_tunnel=bool(noise_tunnel), n_steps=int(n_steps)))}]
    name = classes[prediction.index] if prediction.index < len(classes) else str(prediction.index)
    return {"index": prediction.index, "confidence": prediction.confidence, "target": chosen, "predicted": name,
            "target_name": classes[chosen], "maps": maps}


def features_job(context) -> dict:
    """Analysis kind "features": one view of each net on one image.

    ``context.params``: ``nets`` ([{"name", "source"}]), ``image`` (a name from :func:`keep_input`),
    ``view`` (one of :data:`VIEWS`), ``target`` (a class index, or None for each net's prediction),
    ``options`` ([noise tunnel?, integration steps] for "ig"), ``key`` (:func:`view_key`, to find it).
    Each net's view is published when ready; a net that cannot be loaded gets an ``error`` instead.

    Returns:
        ``{"view", "nets": [{"name", ...view_of's keys} or {"name", "error"}]}``.
    """
    from resnet_edu.data import normalize

    params = context.params
    view = params.get("view")
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}: use one of {', '.join(VIEWS)}")
    nets = list(params.get("nets") or [])
    if not nets:
        raise ValueError("choose at least one net")
    store_root = str(context.store.root)
    image = np.load(_input_path(store_root, str(params.get("image"))), allow_pickle=False)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"the image must be uint8 (3, H, W), not {image.dtype} {image.shape}")
    result: dict = {"view": view, "nets": []}
    for index, net in enumerate(nets):
        if context.stopped():
            break
        context.report(index / len(nets), f"computing {net['name']}")
        try:
            model, mean, std, classes = load_net(_as_tuple(net["source"]), store_root)
        except (ValueError, OSError, RuntimeError, KeyError, weights.WeightsUnavailable) as error:
            result["nets"].append({"name": net["name"], "error": str(error)[:300]})  # the other net still shows
            context.publish(result)
            continue
        model.to(context.device)
        x = normalize(torch.from_numpy(image)[None], mean, std)
        result["nets"].append({"name": net["name"], **view_of(model, x, classes, view, params.get("target"),
                                                               list(params.get("options") or []))})
        context.publish(result)
    return result
