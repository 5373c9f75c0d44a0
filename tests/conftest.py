"""Shared fixtures: every test gets its own run store folder; Streamlit caches are cleared."""

import os

import pytest
import torch

# Two cores: keep torch from oversubscribing them when several things run at once.
torch.set_num_threads(min(2, os.cpu_count() or 1))
# The app asks its training process to load the default data set when it starts; in tests
# every AppTest run would start a training process for it (tests of that feature set it back).
os.environ["RESNET_EDU_PREPARE"] = "0"


@pytest.fixture(autouse=True)
def isolated_runs_dir(tmp_path, monkeypatch):
    """RESNET_EDU_RUNS_DIR points into this test's temp folder (never ./runs)."""
    runs_dir = tmp_path / "runs"
    monkeypatch.setenv("RESNET_EDU_RUNS_DIR", str(runs_dir))
    monkeypatch.setenv("RESNET_EDU_DATA", str(tmp_path / "data"))
    yield runs_dir
    try:
        import streamlit as st
    except ImportError:
        return
    st.cache_resource.clear()  # runs JobManager.shutdown: no thread outlives its test
    st.cache_data.clear()
