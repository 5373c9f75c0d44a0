"""The images the Features page looks at and the weights files it checks, loaded once per server and
shared by every tab. The nets' views are computed in the training process
(resnet_edu.engine.feature_views); the server knows only the nets' class names."""

from __future__ import annotations

import json
import os

import streamlit as st

from resnet_edu import weights

NO_DATA = {"name": None, "root": None, "image_size": weights.PRETRAINED_IMAGE_SIZE}
PHOTOS = "imagenette photos"  # ImageNet nets on real photos: Imagenette's validation images, when they are here
PHOTOS_SHOWN = 200  # decoded once at the net's size (and cached on disk): enough to pick from, cheap to hold
GALLERY_TEST = 500  # test images of a run's data set to pick from: 50 of each of 10 classes
GALLERY_TRAIN = 1000  # training images sampled for a fresh net's normalisation (mean and std)


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


def net_classes(source: tuple) -> list[str]:
    """The class names of a net (for the "explain the score of" menu), without building it in the server
    when they are known otherwise: a fresh net's are in its source, a pretrained net's are ImageNet's."""
    if source[0] == "fresh":
        return list(source[8])
    if source[0] == "pretrained":
        return weights.imagenet_categories()
    if source[0] in ("path", "file"):
        return list(load_weights_net(source[:-1]).classes)  # loaded (and checked) when the file was chosen
    return checkpoint_classes(source[1], source[2])


@st.cache_data(max_entries=8, show_spinner=False)
def checkpoint_classes(path: str, mtime: float) -> list[str]:
    """A run's classes from its checkpoint (``mtime`` keys the cache): needed only when its data set cannot be
    loaded here."""
    from resnet_edu.train import model_from_checkpoint

    return list(model_from_checkpoint(path)[2]["classes"])


@st.cache_resource(max_entries=4, show_spinner=False)
def load_images(name: str, root: str | None, image_size: int):
    """A gallery of the data set a run was trained on, once per server: a class-balanced sample of its
    test images to pick from (and of its training images, whose mean and std a fresh net is given).
    Only a sample: the server decodes a few hundred images, not the whole set, while runs train."""
    from resnet_edu.data import load_dataset

    return load_dataset(name, root=root, image_size=image_size, max_train=GALLERY_TRAIN, max_test=GALLERY_TEST)


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
