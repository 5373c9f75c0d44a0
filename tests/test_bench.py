"""The benchmarks' own logic on tiny runs (their timings are never asserted)."""

from __future__ import annotations

import dataclasses

import pytest

from resnet_edu.cli import bench
from resnet_edu.train import TrainConfig
from resnet_edu.train.classroom import default_batch_size


def _tiny_presets(monkeypatch):
    """The presets' nets as 8- and 14-layer stand-ins under the presets' names, on 256 images."""
    real_presets = bench.preset_configs

    def tiny(preset, base):
        return [dataclasses.replace(config, depth=8 if config.depth == 20 else 14, name=config.run_name,
                                    max_train_images=256) for config in real_presets(preset, base)]

    monkeypatch.setattr(bench, "preset_configs", tiny)


@pytest.mark.slow
def test_degradation_runs_each_seed_and_summarises_the_median(monkeypatch):
    _tiny_presets(monkeypatch)
    result = bench.degradation(data="synthetic", preset="fig1", seeds=(0, 1), max_steps=4, batch_size=32,
                               timeout=120)
    assert result["preset"] == "fig1" and "plain56_minus_resnet56" not in result["criterion"]
    assert [row["seed"] for row in result["runs"]] == [0, 1]
    for row in result["runs"]:
        assert set(row["final"]) == {"plain-20", "plain-56"} and all(r["steps"] == 4 for r in row["final"].values())
        assert row["resnet_stuck_near_chance"] == []
    (summary,) = result["summary"]
    assert summary["seeds"] == [0, 1] and summary["data"] == "synthetic"
    assert summary["median_seconds_to_visible"] > 0 and result["settings"]["batch_size"] == 32


@pytest.mark.slow
def test_degradation_defaults_to_the_labs_settings_for_this_device(monkeypatch):
    _tiny_presets(monkeypatch)
    result = bench.degradation(data="synthetic", preset="fig1", max_steps=2, timeout=120)
    assert result["settings"]["probe_every"] == TrainConfig.probe_every
    assert result["runs"][0]["batch_size"] == default_batch_size("classroom", "auto", "synthetic")


@pytest.mark.slow
def test_first_step_times_a_cold_and_a_prepared_click(monkeypatch):
    _tiny_presets(monkeypatch)
    result = bench.first_step(preset="fig1", think_seconds=0.0, timeout=120)
    assert set(result["runs"]) == {"cold", "prepared"}
    assert all(run["seconds_to_first_iteration"] > 0 for run in result["runs"].values())
    assert result["batch_size"] == default_batch_size("classroom", "auto", "synthetic")


def test_the_criterion_follows_the_preset():
    import pandas as pd

    errors = {"plain-20": pd.Series([0.50]), "plain-56": pd.Series([0.60]), "ResNet-56": pd.Series([0.58])}
    assert bool(bench._criterion_holds(errors, "fig1", 0.05).iloc[0])
    assert not bool(bench._criterion_holds(errors, "fig1_fix", 0.05).iloc[0])  # ResNet-56 is not yet the cure
    errors["ResNet-56"] = pd.Series([0.51])
    assert bool(bench._criterion_holds(errors, "fig1_fix", 0.05).iloc[0])


def test_the_step_time_is_split_by_kind_of_operator_and_the_convolutions_hold_the_arithmetic():
    import torch
    from torch.nn import functional as F

    from resnet_edu.models import build_model

    assert bench.training_gflop_per_image(8, torch.device("cpu"), only_convolutions=True) > \
        0.99 * bench.training_gflop_per_image(8, torch.device("cpu")) > 0

    model = build_model("cifar", 8)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    def step(images, labels):
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    batch = (torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3]))
    shares = bench.cpu_time_by_kind(step, iter([batch] * 2), steps=2)
    assert list(shares) == ["convolution", "batch_norm", "relu", "other"]
    assert all(share > 0 for share in shares.values()) and sum(shares.values()) == pytest.approx(1, abs=0.01)


def test_the_photo_subset_is_the_one_named_never_a_folder_outside_the_project(monkeypatch, tmp_path):
    from resnet_edu.data.root import CIFAR_SUBSET_ENV, cifar_subset

    monkeypatch.delenv(CIFAR_SUBSET_ENV, raising=False)
    assert cifar_subset() is None  # no default path: the benchmarks then use the built-in set
    monkeypatch.setenv(CIFAR_SUBSET_ENV, str(tmp_path / "missing"))
    assert cifar_subset() is None
    monkeypatch.setenv(CIFAR_SUBSET_ENV, str(tmp_path))
    assert cifar_subset() == tmp_path


def test_bench_takes_its_photos_from_the_command_line():
    from resnet_edu.cli import build_parser

    assert build_parser().parse_args(["bench", "--which", "throughput", "--data", "/photos"]).data == "/photos"
    assert build_parser().parse_args(["bench"]).data is None
