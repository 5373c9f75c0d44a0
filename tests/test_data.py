"""Data sets, batch streams, tensor augmentation and safe image uploads (resnet_edu.data).

Fast (well under 30 s on 2 CPU cores) and offline: nothing here touches the network.
"""

from __future__ import annotations

import io
import struct
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import pytest
import torch
from PIL import Image

from resnet_edu import data
from resnet_edu.data import (
    DATASETS,
    SYNTHETIC_CLASSES,
    BadDataFolder,
    BadImage,
    BatchStream,
    DataUnavailable,
    ImageDataset,
    crop_flip,
    load_dataset,
    load_image_file,
    make_synthetic,
    normalize,
    scale_crop_light,
)
from resnet_edu.data.root import cifar_subset

CIFAR_SUBSET = cifar_subset()  # $RESNET_EDU_CIFAR_SUBSET: a folder of CIFAR-10 photos, when this machine has one


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# --------------------------------------------------------------------------- synthetic

@pytest.fixture(scope="module")
def full_synthetic():
    """The default synthetic set (10k + 2k); how long it takes is measured by
    benchmarks/synthetic_speed.py, not asserted here."""
    return make_synthetic(seed=0)


@pytest.fixture(scope="module")
def small_synthetic():
    return make_synthetic(num_train=300, num_test=100, seed=3)


def test_synthetic_shapes_and_dtypes(full_synthetic):
    ds = full_synthetic
    assert ds.name == "synthetic"
    assert ds.train_images.shape == (10000, 3, 32, 32) and ds.train_images.dtype == torch.uint8
    assert ds.test_images.shape == (2000, 3, 32, 32) and ds.test_images.dtype == torch.uint8
    assert ds.train_labels.dtype == torch.int64 and ds.test_labels.dtype == torch.int64
    assert ds.classes == SYNTHETIC_CLASSES and ds.num_classes == 10 and ds.image_size == 32
    assert all(0.1 < m < 0.9 for m in ds.mean) and all(0.1 < s < 0.5 for s in ds.std)
    # Images use the whole range and are not blank.
    assert ds.train_images.float().std(dim=(1, 2, 3)).min() > 5


def test_synthetic_classes_balanced(full_synthetic):
    ds = full_synthetic
    assert torch.bincount(ds.train_labels, minlength=10).tolist() == [1000] * 10
    assert torch.bincount(ds.test_labels, minlength=10).tolist() == [200] * 10


def test_synthetic_not_separable_by_mean_colour(full_synthetic):
    """Nearest class mean on the per-image mean RGB: colour alone must not solve the task."""
    ds = full_synthetic
    train = ds.train_images.float().mean(dim=(2, 3))                                  # (N, 3)
    test = ds.test_images.float().mean(dim=(2, 3))
    centroids = torch.stack([train[ds.train_labels == c].mean(0) for c in range(10)])
    predicted = torch.cdist(test, centroids).argmin(1)
    accuracy = (predicted == ds.test_labels).float().mean().item()
    assert accuracy < 0.40, f"mean colour alone reaches {accuracy:.0%}"


def test_synthetic_deterministic_and_seeded():
    a = make_synthetic(num_train=200, num_test=50, seed=7)
    b = make_synthetic(num_train=200, num_test=50, seed=7)
    c = make_synthetic(num_train=200, num_test=50, seed=8)
    assert torch.equal(a.train_images, b.train_images) and torch.equal(a.test_images, b.test_images)
    assert torch.equal(a.train_labels, b.train_labels) and a.mean == b.mean
    assert not torch.equal(a.train_images, c.train_images)
    # Train and test images are different draws.
    assert not torch.equal(a.train_images[:50], a.test_images)


def test_synthetic_other_image_size_and_progress():
    calls = []
    ds = make_synthetic(num_train=40, num_test=20, image_size=48, progress=lambda f, m: calls.append((f, m)))
    assert ds.train_images.shape == (40, 3, 48, 48) and ds.image_size == 48
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and all(0 <= f <= 1 for f in fractions)
    assert all(isinstance(m, str) and m for _, m in calls)


def test_load_dataset_synthetic_and_unknown_name():
    ds = load_dataset("synthetic", max_train=30, max_test=10, seed=1)
    assert (ds.num_train, ds.num_test) == (30, 10)
    with pytest.raises(ValueError) as info:
        load_dataset("mnist")
    assert all(name in str(info.value) for name in DATASETS)


# --------------------------------------------------------------------------- batch stream

def _index_dataset(n: int = 60, size: int = 8) -> ImageDataset:
    """Image i is filled with the value i, and mean 0 / std 1/255 make normalize() the identity."""
    images = torch.arange(n, dtype=torch.uint8)[:, None, None, None].expand(n, 3, size, size).clone()
    labels = torch.arange(n) % 3
    return ImageDataset("index", images, labels, images[:10].clone(), labels[:10].clone(), ("a", "b", "c"),
                        (0.0, 0.0, 0.0), (1 / 255, 1 / 255, 1 / 255))


def test_batch_stream_shapes_and_normalisation(small_synthetic):
    stream = BatchStream(small_synthetic, 64, seed=0)
    assert stream.steps_per_epoch == 300 // 64 and stream.step == 0
    x, y = stream.next()
    assert x.shape == (64, 3, 32, 32) and x.dtype == torch.float32 and y.shape == (64,) and y.dtype == torch.int64
    assert stream.step == 1
    # Without augmentation a batch is exactly the normalised images, and the whole set has mean 0, std 1.
    plain = BatchStream(small_synthetic, 300, augment="none")
    x, y = plain.next()
    idx = plain.batch_indices(0)
    assert torch.allclose(x, normalize(small_synthetic.train_images[idx], small_synthetic.mean, small_synthetic.std))
    assert torch.equal(y, small_synthetic.train_labels[idx])
    assert torch.allclose(x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(x.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-2)


def test_batch_stream_channels_last_and_dtype(small_synthetic):
    x, _ = BatchStream(small_synthetic, 16, channels_last=True, dtype=torch.bfloat16).next()
    assert x.is_contiguous(memory_format=torch.channels_last) and x.dtype == torch.bfloat16


def test_batch_stream_seek_reproduces_uninterrupted_stream(small_synthetic):
    for augment in ("cifar", "imagenet"):
        whole = BatchStream(small_synthetic, 64, seed=5, augment=augment)
        batches = [whole.next() for _ in range(whole.steps_per_epoch + 3)]       # crosses an epoch boundary
        for k in (0, 2, whole.steps_per_epoch + 1):
            resumed = BatchStream(small_synthetic, 64, seed=5, augment=augment)
            resumed.seek(k)
            x, y = resumed.next()
            assert torch.equal(x, batches[k][0]) and torch.equal(y, batches[k][1])
            assert resumed.step == k + 1


def test_batch_streams_same_seed_identical_other_seed_differs(small_synthetic):
    a, b, c = (BatchStream(small_synthetic, 32, seed=s) for s in (1, 1, 2))
    for _ in range(3):
        xa, ya = a.next()
        xb, yb = b.next()
        xc, _ = c.next()
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert not torch.equal(xa, xc)


def test_batch_stream_epoch_covers_each_image_once():
    ds = _index_dataset(60)
    stream = BatchStream(ds, 20, augment="none", seed=9)
    assert stream.steps_per_epoch == 3
    for epoch in range(2):
        seen = torch.cat([stream.next()[0][:, 0, 0, 0] for _ in range(3)]).round().long()
        assert sorted(seen.tolist()) == list(range(60))
    assert stream.epoch == 2
    # A partial last batch is dropped: 60 images, batch 25 -> 2 steps of 25 distinct images.
    stream = BatchStream(ds, 25, augment="none")
    seen = torch.cat([stream.next()[0][:, 0, 0, 0] for _ in range(2)]).round().long()
    assert stream.steps_per_epoch == 2 and len(set(seen.tolist())) == 50
    # Fewer images than a batch: one step per epoch with all of them.
    assert BatchStream(ds, 500).steps_per_epoch == 1


def test_batch_stream_rejects_bad_arguments(small_synthetic):
    with pytest.raises(ValueError, match="augment"):
        BatchStream(small_synthetic, 8, augment="mixup")
    with pytest.raises(ValueError):
        BatchStream(small_synthetic, 0)


def test_test_batches_in_order_without_augmentation(small_synthetic):
    batches = list(data.test_batches(small_synthetic, batch_size=40))
    assert [len(y) for _, y in batches] == [40, 40, 20]
    x = torch.cat([b[0] for b in batches])
    assert torch.allclose(x, normalize(small_synthetic.test_images, small_synthetic.mean, small_synthetic.std))
    assert torch.equal(torch.cat([b[1] for b in batches]), small_synthetic.test_labels)


# --------------------------------------------------------------------------- augmentation on tensors

def _find_window(out: torch.Tensor, padded: torch.Tensor, size: int) -> set[tuple[int, int, bool]]:
    matches = set()
    for oy in range(padded.shape[-2] - size + 1):
        for ox in range(padded.shape[-1] - size + 1):
            window = padded[:, oy:oy + size, ox:ox + size]
            if torch.equal(out, window):
                matches.add((oy, ox, False))
            if torch.equal(out, window.flip(-1)):
                matches.add((oy, ox, True))
    return matches


def _crop_flip(images: torch.Tensor, seed: int, pad: int) -> torch.Tensor:
    """crop_flip with its three numbers per image drawn from ``seed``, as BatchStream draws them."""
    return crop_flip(images, torch.rand(len(images), 3, generator=torch.Generator().manual_seed(seed)), pad)


def _scale_crop_light(images: torch.Tensor, seed: int, out_size: int) -> torch.Tensor:
    """scale_crop_light with its numbers (4 uniform, 3 normal per image) drawn from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    uniform = torch.rand(len(images), 4, generator=generator)
    return scale_crop_light(images, uniform, torch.randn(len(images), 3, generator=generator), out_size)


def test_crop_flip_is_a_shifted_window_and_flips():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(1, 256, (48, 3, 12, 12), dtype=torch.uint8, generator=g)
    out = _crop_flip(images, 1, pad=4)
    assert out.shape == images.shape and out.dtype == torch.uint8
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    found = []
    for i in range(len(images)):
        matches = _find_window(out[i], padded[i], 12)
        assert len(matches) == 1, f"image {i} is not exactly one (possibly mirrored) window of the padded image"
        found.append(matches.pop())
    flips = [f for _, _, f in found]
    assert any(flips) and not all(flips)
    assert len({(oy, ox) for oy, ox, _ in found}) > 10
    # A flipped output really is the mirror image: same window, columns reversed.
    i = flips.index(True)
    oy, ox, _ = found[i]
    assert torch.equal(out[i].flip(-1), padded[i, :, oy:oy + 12, ox:ox + 12])
    # Same generator seed, same crops.
    assert torch.equal(out, _crop_flip(images, 1, pad=4))


def test_crop_flip_without_padding_only_flips():
    images = torch.randint(0, 256, (32, 3, 8, 8), dtype=torch.uint8)
    out = _crop_flip(images, 2, pad=0)
    same = (out == images).flatten(1).all(1)
    mirrored = (out == images.flip(-1)).flatten(1).all(1)
    assert bool((same | mirrored).all()) and bool(mirrored.any()) and bool(same.any())


def test_scale_crop_light_shapes_and_determinism():
    images = torch.randint(0, 256, (6, 3, 40, 40), dtype=torch.uint8)
    out = _scale_crop_light(images, 0, 32)
    assert out.shape == (6, 3, 32, 32) and out.dtype == torch.uint8
    assert torch.equal(out, _scale_crop_light(images, 0, 32))
    assert not torch.equal(out, _scale_crop_light(images, 1, 32))
    assert _scale_crop_light(images, 5, 24).shape == (6, 3, 24, 24)
    # Lighting noise only shifts colours a little: a uniform grey image stays near grey.
    grey = torch.full((4, 3, 16, 16), 128, dtype=torch.uint8)
    shifted = _scale_crop_light(grey, 3, 16).float()
    assert (shifted - 128).abs().max() < 40


# --------------------------------------------------------------------------- image folders

def _write_png(path: Path, colour, size=(20, 14)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


def _make_tree(root: Path, classes=("apple", "banana", "cherry"), per_class=4, val="val") -> Path:
    colours = [(200, 30, 30), (230, 220, 40), (120, 0, 60)]
    for i, name in enumerate(classes):
        for j in range(per_class):
            _write_png(root / "train" / name / f"{j}.png", colours[i], size=(20 + j, 14 + j))
        _write_png(root / val / name / "0.png", colours[i])
    return root


def test_imagefolder_loads_and_caches(tmp_path, monkeypatch):
    monkeypatch.delenv("RESNET_EDU_CACHE_DIR", raising=False)
    root = _make_tree(tmp_path / "fruit")
    calls = []
    ds = load_dataset("imagefolder", root=root, image_size=16, progress=lambda f, m: calls.append(f))
    assert ds.name == "imagefolder:fruit"
    assert ds.classes == ("apple", "banana", "cherry")
    assert ds.train_images.shape == (12, 3, 16, 16) and ds.test_images.shape == (3, 3, 16, 16)
    assert ds.train_labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4 and ds.test_labels.tolist() == [0, 1, 2]
    assert ds.train_images[0, :, 8, 8].tolist() == [200, 30, 30]
    assert calls and calls[-1] == 1.0
    cached = list((root / ".cache").glob("*.pt"))
    assert len(cached) == 1
    again = load_dataset("imagefolder", root=root, image_size=16)
    assert torch.equal(again.train_images, ds.train_images) and again.classes == ds.classes
    # A changed file invalidates the cache.
    _write_png(root / "train" / "apple" / "0.png", (0, 0, 255), size=(20, 14))
    changed = load_dataset("imagefolder", root=root, image_size=16)
    assert changed.train_images[0, :, 8, 8].tolist() == [0, 0, 255]


def test_imagefolder_read_only_root_caches_in_home(tmp_path, monkeypatch):
    monkeypatch.delenv("RESNET_EDU_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = _make_tree(tmp_path / "shared")
    root.chmod(0o555)
    try:
        load_dataset("imagefolder", root=root, image_size=8)
    finally:
        root.chmod(0o755)
    assert not (root / ".cache").exists()
    assert len(list((tmp_path / "home" / ".cache" / "resnet_edu").glob("*.pt"))) == 1


def test_imagefolder_test_split_and_subset(tmp_path, monkeypatch):
    monkeypatch.setenv("RESNET_EDU_CACHE_DIR", str(tmp_path / "cache"))
    root = _make_tree(tmp_path / "tree", val="test")
    ds = load_dataset("imagefolder", root=root, image_size=8, max_train=5, max_test=2)
    assert (ds.num_train, ds.num_test) == (5, 2)


def test_imagefolder_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("RESNET_EDU_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(BadDataFolder, match="does not exist"):
        load_dataset("imagefolder", root=tmp_path / "nowhere")
    a_file = tmp_path / "file.txt"
    a_file.write_text("hello")
    with pytest.raises(BadDataFolder, match="is a file"):
        load_dataset("imagefolder", root=a_file)
    with pytest.raises(BadDataFolder, match="no images"):
        (tmp_path / "empty" / "train" / "cls").mkdir(parents=True)
        load_dataset("imagefolder", root=tmp_path / "empty")
    one = _make_tree(tmp_path / "one", classes=("apple",))
    with pytest.raises(BadDataFolder, match="only one class"):
        load_dataset("imagefolder", root=one)
    broken = _make_tree(tmp_path / "broken")
    (broken / "train" / "banana" / "bad.png").write_bytes(b"this is not a png")
    with pytest.raises(BadDataFolder, match="bad.png"):
        load_dataset("imagefolder", root=broken)
    with pytest.raises(BadDataFolder):
        load_dataset("imagefolder", root=None)


# --------------------------------------------------------------------------- CIFAR-10

def test_cifar10_absent_is_a_clear_error(tmp_path):
    with pytest.raises(DataUnavailable) as info:
        load_dataset("cifar10", root=tmp_path, download=False)
    message = str(info.value)
    assert "cifar-10-python.tar.gz" in message and "synthetic" in message and str(tmp_path) in message


def test_cifar10_download_offline_is_a_clear_error(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataUnavailable, match="synthetic"):
        load_dataset("cifar10", root=tmp_path, download=True)
    assert not list(tmp_path.glob("*.part"))


def test_cifar10_corrupt_archive_is_a_clear_error(tmp_path):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"not really an archive")
    with pytest.raises(DataUnavailable, match="corrupted"):
        load_dataset("cifar10", root=tmp_path)


@pytest.mark.skipif(CIFAR_SUBSET is None, reason="no CIFAR-10 subset here: set RESNET_EDU_CIFAR_SUBSET to one")
def test_cifar10_subset_imagefolder(tmp_path, monkeypatch):
    monkeypatch.setenv("RESNET_EDU_CACHE_DIR", str(tmp_path / "cache"))
    ds = load_dataset("imagefolder", root=CIFAR_SUBSET, max_train=300, max_test=100)
    assert ds.classes == data.CIFAR10_CLASSES
    assert ds.train_images.shape == (300, 3, 32, 32) and ds.test_images.shape == (100, 3, 32, 32)
    assert all(0.35 < m < 0.6 for m in ds.mean)


# --------------------------------------------------------------------------- uploads

def _png_bytes(size=(40, 30), mode="RGB", colour=(10, 200, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg_bytes(size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_load_image_file_valid_inputs(tmp_path):
    out = load_image_file(_png_bytes())
    assert out.shape == (3, 32, 32) and out.dtype == torch.uint8 and out[:, 16, 16].tolist() == [10, 200, 30]
    path = tmp_path / "photo.jpg"
    path.write_bytes(_jpeg_bytes())
    assert load_image_file(path, image_size=24).shape == (3, 24, 24)
    assert load_image_file(io.BytesIO(_png_bytes(mode="RGBA", colour=(0, 0, 0, 0)))).shape == (3, 32, 32)
    grey = load_image_file(_png_bytes(mode="L", colour=90))
    assert grey[:, 0, 0].tolist() == [90, 90, 90]


def test_load_image_file_not_an_image():
    with pytest.raises(BadImage, match="not an image"):
        load_image_file(b"%PDF-1.4 definitely not a picture" * 10)
    with pytest.raises(BadImage, match="empty"):
        load_image_file(b"")


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_load_image_file_truncated(kind):
    whole = _png_from_noise() if kind == "png" else _jpeg_bytes()
    with pytest.raises(BadImage, match="truncated or corrupt"):
        load_image_file(whole[: len(whole) // 2])


def _png_from_noise() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((64, 64), 60).convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def test_load_image_file_decompression_bomb_refused_before_decoding():
    png = bytearray(_png_bytes((10, 10)))
    assert png[12:16] == b"IHDR"
    png[16:24] = struct.pack(">II", 20000, 20000)                     # the header now claims 400 Mpx
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])) & 0xFFFFFFFF)
    with pytest.raises(BadImage) as info:
        load_image_file(bytes(png))
    assert "20,000 x 20,000" in str(info.value) or "bomb" in str(info.value)
    # A smaller claim still over our own pixel limit.
    png[16:24] = struct.pack(">II", 8000, 6000)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])) & 0xFFFFFFFF)
    with pytest.raises(BadImage, match="bomb"):
        load_image_file(bytes(png))


def test_load_image_file_too_many_bytes(tmp_path):
    with pytest.raises(BadImage, match="larger than"):
        load_image_file(_png_bytes() + b"\0" * 2000, max_bytes=1000)
    path = tmp_path / "big.png"
    path.write_bytes(_png_bytes() + b"\0" * 2000)
    with pytest.raises(BadImage, match="limit"):
        load_image_file(path, max_bytes=1000)


def test_a_quick_subset_of_an_image_folder_keeps_every_class():
    """Images sorted class by class (as an image folder lists them): the first N would be the first classes."""
    from resnet_edu.data import balanced_subset

    labels = torch.arange(10).repeat_interleave(100)  # 0 × 100, 1 × 100, … 9 × 100
    keep = balanced_subset(labels, 250)
    counts = torch.bincount(labels[keep], minlength=10)
    assert len(keep) == 250 and len(set(keep.tolist())) == 250 and torch.equal(keep, keep.sort().values)
    assert counts.min() == 25 and counts.max() == 25
    assert torch.equal(keep, balanced_subset(labels, 250))  # the same subset every time
    uneven = torch.tensor([0] * 5 + [1] * 95)
    assert torch.bincount(uneven[balanced_subset(uneven, 20)]).tolist() == [5, 15]  # all of the small class


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("family, depth", [("cifar", 20), ("imagenet", 18)])
def test_every_data_set_gets_the_papers_augmentation_for_its_net(dataset, family, depth):
    """Sec. 3.4 (scale + colour) for ImageNet-style nets on folders of photos, Imagenette included;
    Sec. 4.2 (pad, crop, flip) for everything else."""
    from resnet_edu.data.loaded import augmentation_for
    from resnet_edu.train import TrainConfig

    size = 64 if family == "imagenet" else 32
    config = TrainConfig(family=family, depth=depth, dataset=dataset, image_size=size)
    config.validate()
    photos = dataset in ("imagenette", "imagefolder")
    assert augmentation_for(config) == ("imagenet" if family == "imagenet" and photos else "cifar")
    assert augmentation_for(config) in data.AUGMENTATIONS


def test_an_unknown_data_set_is_refused_with_the_list():
    from resnet_edu.train import TrainConfig

    with pytest.raises(ValueError, match="synthetic, cifar10, imagenette, imagefolder"):
        TrainConfig(dataset="mnist").validate()


# ---------------------------------------------------------------- decoded sets kept in memory and on disk

def _tiny_set(name: str = "tiny") -> ImageDataset:
    return ImageDataset(name=name, train_images=torch.zeros(20, 3, 8, 8, dtype=torch.uint8),
                        train_labels=torch.arange(20) % 2, test_images=torch.zeros(4, 3, 8, 8, dtype=torch.uint8),
                        test_labels=torch.arange(4) % 2, classes=("a", "b"), mean=(0.5,) * 3, std=(0.25,) * 3)


@pytest.fixture
def fake_loads(monkeypatch):
    """load_dataset replaced by a recorder that returns a tiny set; the process's decoded sets emptied."""
    from resnet_edu.data import loaded

    calls = []

    def loading(name, *, root=None, image_size=32, progress=None, **_):
        calls.append((name, root, image_size))
        return _tiny_set(name)

    monkeypatch.setattr(data, "load_dataset", loading)
    monkeypatch.setattr(loaded, "_datasets", {})
    return calls


def test_decoded_sets_in_memory_are_bounded_and_the_oldest_used_goes(fake_loads, monkeypatch):
    from resnet_edu.data import loaded

    monkeypatch.setenv("RESNET_EDU_DATASETS_KEPT", "2")
    for size in (32, 64):
        loaded.cached_dataset("imagenette", None, size)
    loaded.cached_dataset("imagenette", None, 32)  # used again: now the newest
    loaded.cached_dataset("imagenette", None, 96)
    assert list(loaded._datasets) == [("imagenette", None, 32), ("imagenette", None, 96)]
    loaded.cached_dataset("imagenette", None, 32)
    assert fake_loads.count(("imagenette", None, 32)) == 1  # kept, never decoded twice


def test_a_byte_budget_lets_go_of_large_sets(fake_loads, monkeypatch):
    from resnet_edu.data import loaded

    monkeypatch.setenv("RESNET_EDU_DATASETS_KEPT_GB", str(1.5 * loaded.dataset_nbytes(_tiny_set()) / 2**30))
    loaded.cached_dataset("a")
    loaded.cached_dataset("b")
    assert list(loaded._datasets) == [("b", None, 32)]


def test_a_set_already_here_is_served_while_another_decodes(monkeypatch):
    import threading

    from resnet_edu.data import loaded

    started, release = threading.Event(), threading.Event()

    def loading(name, *, root=None, image_size=32, progress=None, **_):
        if name == "slow":
            started.set()
            release.wait(60)
        return _tiny_set(name)

    monkeypatch.setattr(data, "load_dataset", loading)
    monkeypatch.setattr(loaded, "_datasets", {("ready", None, 32): _tiny_set("ready")})
    slow = threading.Thread(target=loaded.cached_dataset, args=("slow",), daemon=True)
    slow.start()
    assert started.wait(60)
    served = []
    reader = threading.Thread(target=lambda: served.append(loaded.cached_dataset("ready")), daemon=True)
    reader.start()
    reader.join(30)
    still_decoding = slow.is_alive()
    release.set()
    slow.join(60)
    assert served and served[0].name == "ready"
    assert still_decoding  # it was served during the other decode, not after it
    assert ("slow", None, 32) in loaded._datasets


def test_getting_ready_never_decodes_photos(fake_loads):
    from resnet_edu.data import loaded
    from resnet_edu.engine import prepare

    prepare.prepare("imagenette", None, 128).join(120)
    prepare.prepare("imagefolder", "/some/photos", 32).join(120)
    assert loaded.preload_dataset("synthetic", None, 64) is False
    assert fake_loads == []
    assert loaded.preload_dataset("synthetic", None, 32) is True
    assert fake_loads == [("synthetic", None, 32)]


def test_the_disk_cache_is_capped_and_the_entry_used_longest_ago_goes(tmp_path, monkeypatch):
    import os

    from resnet_edu.data import cache

    folder = tmp_path / "cache"
    monkeypatch.setenv("RESNET_EDU_CACHE_DIR", str(folder))
    payload = {"images": torch.zeros(50_000, dtype=torch.uint8)}
    paths = [cache.cache_save(f"set{i}", "k", tmp_path, payload) for i in range(3)]
    for age, path in enumerate(paths):  # set0 written first, set2 last
        os.utime(path, (1_000_000 + age, 1_000_000 + age))
    assert cache.cache_load("set0", "k", tmp_path) is not None  # a read is a use: set0 is now the newest
    monkeypatch.setenv("RESNET_EDU_CACHE_MAX_GB", str(2.5 * paths[0].stat().st_size / 2**30))
    newest = cache.cache_save("set3", "k", tmp_path, payload)
    left = sorted(p.name for p in folder.glob("*.pt"))
    assert left == sorted([paths[0].name, newest.name])


def test_an_upload_is_decoded_once_and_the_decoded_ones_are_bounded(monkeypatch):
    from resnet_edu.data import uploads

    decodes = []
    real = uploads._decode
    monkeypatch.setattr(uploads, "_decode", lambda *args: decodes.append(args[1]) or real(*args))
    monkeypatch.setattr(uploads, "_decoded", __import__("collections").OrderedDict())
    photo = _png_bytes(colour=(200, 10, 10))
    first = load_image_file(photo, image_size=16)
    first[:] = 0  # a caller changing its copy changes nothing kept
    again = load_image_file(photo, image_size=16)
    assert len(decodes) == 1 and again[0].float().mean() > 100
    load_image_file(photo, image_size=32)  # another size is another decode
    assert len(decodes) == 2
    for shade in range(uploads.DECODED_KEPT + 5):
        load_image_file(_png_bytes(size=(8, 8), colour=(shade, 0, 0)), image_size=8)
    assert len(uploads._decoded) == uploads.DECODED_KEPT


def test_a_tab_has_an_upload_budget_and_the_same_file_again_is_free(monkeypatch):
    from resnet_edu.data import uploads

    monkeypatch.setenv("RESNET_EDU_UPLOAD_MB_PER_TAB", "1")
    monkeypatch.setattr(uploads, "_charged", {})
    big, other = b"a" * 600_000, b"b" * 600_000
    uploads.charge_upload("tab-a", big)
    uploads.charge_upload("tab-a", big)  # the same file: counted once
    with pytest.raises(BadImage, match="upload budget"):
        uploads.charge_upload("tab-a", other, "photo.jpg")
    uploads.charge_upload("tab-b", other)  # another tab's own budget
    uploads.forget_session("tab-a")
    uploads.charge_upload("tab-a", other)
