"""Shared fixtures: an isolated run store per test, real tiny trained runs made once per session.

Every test gets its own ``RESNET_EDU_RUNS_DIR`` and data folder, and the Streamlit caches are
cleared after it (which stops the app's JobManager). The tiny trained runs are real: trained on
the built-in synthetic data set, a few iterations each, once per test session; a test that uses
them gets its own copy, so no test can change what another one reads.

* ``tiny_runs``: plain-8 and ResNet-8, one comparison group trained by the JobManager (20
  iterations, probes every 5th): what a teacher's store holds after a short Lab run.
* ``tiny_twins``: plain-8 and ResNet-8 trained by the Trainer directly (6 iterations), with
  ``init.pt`` (the weights before the first step): what the loss-landscape tests need, fast.
* ``manager``: a JobManager on a fresh temporary store, shut down after the test.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]

# Two cores: keep torch from oversubscribing them when several things run at once.
torch.set_num_threads(min(2, os.cpu_count() or 1))
# The app asks its training process to load the default data set when it starts; in tests
# every AppTest run would start a training process for it (tests of that feature set it back).
os.environ["RESNET_EDU_PREPARE"] = "0"

TWIN_STEPS = 6  # iterations of each tiny twin
TINY_RUN_STEPS = 20  # iterations of each tiny run (a probe every 5th)


def _clear_streamlit_caches() -> None:
    try:
        import streamlit as st
    except ImportError:
        return
    st.cache_resource.clear()  # runs JobManager.shutdown: no thread outlives its test
    st.cache_data.clear()


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch):
    """RESNET_EDU_RUNS_DIR points into this test's temp folder (never ./runs); so does RESNET_EDU_DATA."""
    root = tmp_path / "runs"
    monkeypatch.setenv("RESNET_EDU_RUNS_DIR", str(root))
    monkeypatch.setenv("RESNET_EDU_DATA", str(tmp_path / "data"))
    yield root
    _clear_streamlit_caches()


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny nets and small tensors: one thread is as fast, and far faster when other processes share the CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def lab_data_roots(tmp_path, monkeypatch):
    """The Lab may read folders under this test's temp folder and the repository (the teacher's data roots)."""
    monkeypatch.setenv("RESNET_EDU_DATA_ROOTS", os.pathsep.join([str(tmp_path), str(REPO)]))


@pytest.fixture
def store(runs_dir):
    """An empty RunStore in this test's runs folder (the one the app would open); closed afterwards."""
    from resnet_edu.runs import RunStore

    run_store = RunStore(runs_dir)
    yield run_store
    run_store.close()


@pytest.fixture
def manager(tmp_path):
    """A JobManager (training threads in this process, on the CPU) on a fresh store; shut down afterwards."""
    from resnet_edu.engine import JobManager
    from resnet_edu.runs import RunStore

    job_manager = JobManager(RunStore(tmp_path / "store"), device="cpu")
    yield job_manager
    job_manager.shutdown()


def _copy_as_the_apps_store(source: Path, copy: Path, monkeypatch) -> Path:
    """A fresh copy of ``source`` that the app opens as its store (RESNET_EDU_RUNS_DIR)."""
    shutil.copytree(source, copy)
    monkeypatch.setenv("RESNET_EDU_RUNS_DIR", str(copy))
    _clear_streamlit_caches()  # the next page run opens this store, not the previous one
    return copy


# ------------------------------------------------------------------ tiny runs (JobManager)


def _train_tiny_runs(folder: Path) -> list[str]:
    """A finished comparison group (plain-8, ResNet-8) trained for real by the JobManager; returns [plain, residual]."""
    import dataclasses

    from resnet_edu.engine import JobManager
    from resnet_edu.runs import RunStore
    from resnet_edu.train import TrainConfig

    store = RunStore(folder)
    job_manager = JobManager(store=store, device="cpu")
    try:
        base = TrainConfig(depth=8, epochs=1, max_steps=TINY_RUN_STEPS, batch_size=32, probe_every=5,
                           max_train_images=640)
        ids = job_manager.submit([dataclasses.replace(base, shortcuts=s) for s in (False, True)])
        assert job_manager.wait(ids, timeout=300), "the tiny runs did not finish"
        for run_id in ids:
            assert store.get_run(run_id)["status"] == "finished", store.get_run(run_id)
            assert store.latest_checkpoint(run_id) is not None
    finally:
        job_manager.shutdown()
        store.close()
    return ids


@pytest.fixture(scope="session")
def tiny_runs_source(tmp_path_factory) -> tuple[Path, list[str]]:
    """The tiny runs, trained once per session: (folder, [plain-8 id, ResNet-8 id]). Read-only: copy to change."""
    folder = tmp_path_factory.mktemp("tiny_runs") / "store"
    return folder, _train_tiny_runs(folder)


@pytest.fixture
def tiny_runs(tiny_runs_source, tmp_path, monkeypatch) -> Path:
    """RESNET_EDU_RUNS_DIR = a fresh copy of the tiny runs (a temporary store with real runs); yields its folder."""
    source, _ = tiny_runs_source
    yield _copy_as_the_apps_store(source, tmp_path / "tiny_runs", monkeypatch)
    _clear_streamlit_caches()


@pytest.fixture
def tiny_run_ids(tiny_runs_source) -> list[str]:
    """[plain-8 id, ResNet-8 id] of the tiny runs (the same ids in every copy)."""
    return list(tiny_runs_source[1])


# ------------------------------------------------------------------ tiny twins (Trainer, with init.pt)


def _make_tiny_twins(folder: Path, with_init: bool) -> list[str]:
    """plain-8 and ResNet-8 (same seed, same group) trained for real without the JobManager; [plain, residual].

    Each run gets ``last.pt``, and with ``with_init`` also ``init.pt`` (its weights before the first
    step, in the checkpoint format of ``last.pt``) as the training lane saves it.
    """
    from resnet_edu.data import normalize
    from resnet_edu.data.loaded import cached_dataset
    from resnet_edu.runs import RunStore
    from resnet_edu.train import TrainConfig, Trainer

    dataset = cached_dataset("synthetic")
    info = {"classes": list(dataset.classes), "mean": list(dataset.mean), "std": list(dataset.std),
            "dataset_name": dataset.name}
    store = RunStore(folder)
    ids = []
    try:
        for shortcuts in (False, True):
            config = TrainConfig(depth=8, shortcuts=shortcuts, epochs=1, max_steps=TWIN_STEPS, batch_size=32,
                                 probe_every=0, max_train_images=256, precision="fp32")
            run_id = store.create_run(config.run_name, config, group_id="twins", status="finished")
            trainer = Trainer(config, num_classes=10, steps_per_epoch=8)
            checkpoints = store.checkpoint_dir(run_id)
            if with_init:
                trainer.checkpoint(checkpoints / "init.pt", info)
            generator = torch.Generator().manual_seed(0)
            for _ in range(TWIN_STEPS):
                pick = torch.randint(0, 256, (32,), generator=generator)
                x = normalize(dataset.train_images[pick], dataset.mean, dataset.std)
                trainer.train_step(x.contiguous(memory_format=torch.channels_last), dataset.train_labels[pick])
            path = trainer.checkpoint(checkpoints / "last.pt", info)
            store.record_checkpoint(run_id, trainer.step, path)
            ids.append(run_id)
    finally:
        store.close()
    return ids


@pytest.fixture(scope="session")
def tiny_twins_source(tmp_path_factory) -> tuple[Path, list[str]]:
    """The tiny twins with init.pt, made once per session: (folder, [plain-8 id, ResNet-8 id]). Read-only."""
    folder = tmp_path_factory.mktemp("tiny_twins") / "store"
    return folder, _make_tiny_twins(folder, with_init=True)


@pytest.fixture(scope="session")
def tiny_twins_without_init_source(tmp_path_factory) -> tuple[Path, list[str]]:
    """The tiny twins as an older store holds them: last.pt only, no init.pt. Read-only."""
    folder = tmp_path_factory.mktemp("tiny_twins_no_init") / "store"
    return folder, _make_tiny_twins(folder, with_init=False)


@pytest.fixture
def tiny_twins(tiny_twins_source):
    """(an open RunStore on the tiny twins, [plain-8 id, ResNet-8 id]); the store is closed afterwards."""
    from resnet_edu.runs import RunStore

    folder, ids = tiny_twins_source
    store = RunStore(folder)
    yield store, list(ids)
    store.close()


@pytest.fixture
def tiny_twins_dir(tiny_twins_source, tmp_path, monkeypatch):
    """RESNET_EDU_RUNS_DIR = a fresh copy of the tiny twins; yields (folder, [plain-8 id, ResNet-8 id])."""
    source, ids = tiny_twins_source
    yield _copy_as_the_apps_store(source, tmp_path / "twins", monkeypatch), list(ids)
    _clear_streamlit_caches()  # stops the app's JobManager and its training process


# ------------------------------------------------------------------ data on disk


@pytest.fixture
def imagenette_tree():
    """A tiny tree in Imagenette's layout (2 classes, 8 train + 4 val images each) in RESNET_EDU_DATA; its root."""
    from PIL import Image

    root = Path(os.environ["RESNET_EDU_DATA"])
    rng = np.random.default_rng(0)
    for wnid in ("n01440764", "n03028079"):
        for split, count in (("train", 8), ("val", 4)):
            folder = root / "imagenette2-160" / split / wnid
            folder.mkdir(parents=True)
            for i in range(count):
                Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(folder / f"{i}.JPEG")
    return root
