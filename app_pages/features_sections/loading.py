"""The nets and images the Features page looks at, loaded once per server and shared by every tab,
and each view computed once per (net, image, view): explain.py does the computing."""

from __future__ import annotations

import copy
import json
import os
import threading

import numpy as np
import streamlit as st
import torch

from resnet_edu import models, weights
from resnet_edu.inside import features

TOP_K = 6  # channels per stage in the feature-map grids
NO_DATA = {"name": None, "root": None, "image_size": weights.PRETRAINED_IMAGE_SIZE}
PHOTOS = "imagenette photos"  # ImageNet nets on real photos: Imagenette's validation images, when they are here
PHOTOS_SHOWN = 200  # decoded once at the net's size (and cached on disk): enough to pick from, cheap to hold


@st.cache_resource(max_entries=4, show_spinner=False)
def load_weights_net(source: tuple, _payload: bytes | None = None) -> weights.LoadedNet:
    """A net from torchvision's cache ("pretrained", depth), the weights folder ("path", path, mtime, json text)
    or an upload ("file", sha256, json text), whose bytes come in ``_payload`` (not hashed: the digest in the
    key stands for them)."""
    if source[0] == "pretrained":
        return weights.load_pretrained(source[1])
    if source[0] == "path":
        return weights.load_weights(source[1], json.loads(source[3]) if source[3] else None)
    if _payload is None:
        raise ValueError("the uploaded weights are no longer in memory: upload the file again")
    return weights.load_weights(_payload, json.loads(source[2]) if source[2] else None)


@st.cache_resource(max_entries=8, show_spinner=False)
def load_net(source: tuple, _payload: bytes | None = None):
    """(model, mean, std, classes, lock) for ("checkpoint", path, mtime), ("fresh", family, depth, shortcuts,
    num_classes, image_size, mean, std, classes), ("pretrained", depth, shortcuts) or ("file", sha256, json
    text, shortcuts). The lock serialises Captum's hooks on a shared model."""
    if source[0] in ("pretrained", "path", "file"):
        net = load_weights_net(source[:-1], _payload)
        model = net.model
        if not source[-1]:  # the same trained weights with every shortcut switched off: its own copy
            model = copy.deepcopy(net.model)
            models.set_shortcuts(model, False)
        return model, net.mean, net.std, net.classes, threading.Lock()
    if source[0] == "checkpoint":
        from resnet_edu.train import model_from_checkpoint

        model, _config, info = model_from_checkpoint(source[1])
        mean, std, classes = info.get("mean"), info.get("std"), info.get("classes")
    else:
        from resnet_edu.train import TrainConfig, make_model

        _, family, depth, shortcuts, num_classes, image_size, mean, std, classes = source
        config = TrainConfig(family=family, depth=depth, shortcuts=shortcuts, image_size=image_size, recipe="paper")
        model = make_model(config, num_classes).eval()
    return model, tuple(mean), tuple(std), list(classes), threading.Lock()


@st.cache_resource(max_entries=4, show_spinner=False)
def load_images(name: str, root: str | None, image_size: int):
    """The data set a run was trained on (jobs.cached_dataset: one copy per server process, which the Lab's
    data check may have loaded already)."""
    from resnet_edu.data.loaded import cached_dataset

    return cached_dataset(name, root, image_size)


@st.cache_data(max_entries=256, show_spinner=False)
def compute_view(source: tuple, image: np.ndarray, view: str, target: int | None, options: tuple) -> dict:
    """Prediction plus one view of one net on one image (uint8 (3, H, W)); plain data, so cacheable."""
    from resnet_edu.data import normalize

    model, mean, std, _classes, lock = load_net(source)
    x = normalize(torch.from_numpy(image)[None], mean, std)
    with lock:
        prediction = features.predict(model, x)
        chosen = prediction.index if target is None else int(target)
        result = {"index": prediction.index, "confidence": prediction.confidence, "target": chosen}
        if view == "maps":
            result["maps"] = [(m.stage, m.channels, m.maps) for m in features.feature_maps(model, x, k=TOP_K)]
        elif view == "gradcam":
            result["maps"] = list(features.gradcam_maps(model, x, chosen).items())
        else:
            noise_tunnel, n_steps = options
            result["maps"] = [("IG", features.integrated_gradients(model, x, chosen, noise_tunnel=noise_tunnel,
                                                                  n_steps=n_steps))]
    return result


def imagenet_spec(image_size: int) -> dict:
    """Images for a net with ImageNet's 1000 classes: Imagenette's photos when unpacked in the data root."""
    from resnet_edu.data import downloads

    if downloads.state(downloads.imagenette_archive(image_size)) == "ready":
        return {"name": PHOTOS, "root": None, "image_size": image_size}
    return dict(NO_DATA, image_size=image_size)


@st.cache_resource(max_entries=1, show_spinner=False)
def load_photos(image_size: int):
    """A seeded sample of Imagenette's validation photos (its 10 classes are ImageNet classes)."""
    from resnet_edu.data import load_imagenette

    return load_imagenette(image_size=image_size, max_train=10, max_test=PHOTOS_SHOWN)


def imagenet_label(name: str) -> int | None:
    """The ImageNet index of an Imagenette class name ("tench" -> 0), for the ✓/✗ of a 1000-class net."""
    categories = weights.imagenet_categories()
    return categories.index(name) if name in categories else None


def modified_time(path: str) -> float:
    try:
        return os.path.getmtime(path)
    except OSError:
        return 0.0
