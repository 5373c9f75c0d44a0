"""Loss landscapes (Li et al. 2018): directions, the grid, coarse-to-fine, the path from init, jobs, CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from fakes import RecordingContext
from torch.nn import functional as F

from resnet_edu.inside import landscape
from resnet_edu.inside.landscape import LandscapeSettings
from resnet_edu.models import build_model
from resnet_edu.runs import RunStore

REPO = Path(__file__).resolve().parents[1]
FAST = dict(images=24, batch_size=24, precision="fp32")


def _net(store, run_id, images=FAST["images"]):
    return landscape.load_net(store, run_id, images)


# ---------------------------------------------------------------- directions


def test_filter_normalisation_gives_each_filter_its_weights_norm_and_leaves_bn_and_biases_alone():
    torch.manual_seed(3)
    model = build_model("cifar", 8)
    delta, eta = landscape.random_directions(model, seed=0)
    for name, p in model.named_parameters():
        for direction in (delta, eta):
            d = direction[name]
            assert d.shape == p.shape
            if p.dim() <= 1:  # biases, BN weight and bias: not perturbed
                assert torch.count_nonzero(d) == 0, name
            else:
                filters_d = d.reshape(d.shape[0], -1).norm(dim=1)
                filters_w = p.detach().reshape(p.shape[0], -1).norm(dim=1)
                torch.testing.assert_close(filters_d, filters_w, rtol=1e-5, atol=1e-7)
    assert not torch.equal(delta["conv1.weight"], eta["conv1.weight"])  # two different directions


def test_same_seed_same_directions_for_a_plain_net_and_its_residual_twin():
    torch.manual_seed(1)
    residual = build_model("cifar", 8, shortcuts=True)
    torch.manual_seed(1)
    plain = build_model("cifar", 8, shortcuts=False)  # same weights: option A adds no parameter
    for a, b in zip(landscape.random_directions(residual, 5), landscape.random_directions(plain, 5)):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    other = landscape.random_directions(residual, 6)[0]
    assert not torch.equal(other["fc.weight"], landscape.random_directions(residual, 5)[0]["fc.weight"])


def test_folding_bn_into_the_convs_keeps_the_function():
    torch.manual_seed(2)
    model = build_model("cifar", 14, shortcut_type="B").eval()  # projection shortcuts: Sequential(conv, BN) too
    for module in model.modules():  # trained-looking BN statistics, not the defaults
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
    folded, scales = landscape.fold_batchnorm(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert len(scales) == sum(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    x = torch.randn(4, 3, 32, 32)
    with torch.inference_mode():
        torch.testing.assert_close(folded(x), model(x), rtol=1e-4, atol=1e-4)


def test_refinement_levels_are_nested_and_end_with_the_full_axis():
    for points in (3, 5, 9, 15, 21, 51, 101):
        levels = landscape.refinement_levels(points)
        assert levels[-1] == list(range(points))
        assert len(levels[0]) == min(points, 5) and levels[0][0] == 0 and levels[0][-1] == points - 1
        assert all(set(a) <= set(b) for a, b in zip(levels, levels[1:]))
        if points % 2:
            assert points // 2 in levels[0]  # the trained net is in the first picture
    assert landscape.axis(15, 1.0)[7] == 0.0 and landscape.axis(15, 2.0)[0] == -2.0


# ---------------------------------------------------------------- the grid


@pytest.mark.slow
def test_grid_centre_is_the_loss_of_the_unperturbed_net_and_weights_come_back(tiny_twins):
    store, (plain_id, _) = tiny_twins
    net = _net(store, plain_id)
    before = {k: v.clone() for k, v in net.model.state_dict().items()}
    with torch.inference_mode():
        logits = net.model(net.images)
    direct_loss = float(F.cross_entropy(logits, net.labels))
    result = landscape.landscape(net, LandscapeSettings(grid=5, slice_points=5, interpolation_points=0, **FAST))
    assert result["loss"][2][2] == result["center_loss"]
    assert math.isclose(result["center_loss"], direct_loss, rel_tol=1e-5)
    assert result["center_error"] == float((logits.argmax(1) != net.labels).float().mean())
    assert result["slice"]["loss"][2] == result["center_loss"]  # the slice passes through θ* too
    after = net.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BN running stats untouched
    assert all(v is not None for row in result["loss"] for v in row)
    assert max(max(row) for row in result["loss"]) > result["center_loss"]  # a real surface, not a constant


@pytest.mark.slow
def test_the_same_seed_gives_the_same_grid_and_another_seed_another(tiny_twins):
    store, (_, residual_id) = tiny_twins
    settings = LandscapeSettings(grid=3, slice_points=0, interpolation_points=0, seed=7, **FAST)
    first = landscape.landscape(_net(store, residual_id), settings)
    again = landscape.landscape(_net(store, residual_id), settings)
    other = landscape.landscape(_net(store, residual_id), LandscapeSettings(**{**settings.to_dict(), "seed": 8}))
    assert first["loss"] == again["loss"] and first["error"] == again["error"]
    assert other["loss"] != first["loss"] and other["center_loss"] == first["center_loss"]


@pytest.mark.slow
def test_coarse_to_fine_ends_identical_to_a_direct_fine_grid(tiny_twins):
    store, (plain_id, _) = tiny_twins
    settings = LandscapeSettings(grid=9, slice_points=0, interpolation_points=0, **FAST)
    snapshots = []
    for step in landscape.compute([_net(store, plain_id)], settings):
        if step.publish:
            snapshots.append(json.loads(json.dumps(step.result["nets"][0])))
    assert [len(s["known"]) for s in snapshots[:2]] == [5, 9]
    coarse = snapshots[0]
    assert sum(v is not None for row in coarse["loss"] for v in row) == 25  # the first picture: 5×5 points

    net = _net(store, plain_id)  # direct: every point in row order, no levels
    meter = landscape.LossMeter(net.model, net.images, net.labels,
                                landscape.random_directions(net.model, settings.seed), precision="fp32",
                                batch_size=settings.batch_size)
    alphas = landscape.axis(9, 1.0)
    direct = [[meter.at(a, b)[0] for b in alphas] for a in alphas]
    assert snapshots[-1]["loss"] == direct
    for i in coarse["known"]:  # refining never changed a point already shown
        for j in coarse["known"]:
            assert coarse["loss"][i][j] == direct[i][j]


def test_roughness_tells_a_bowl_from_a_washboard():
    xs = landscape.axis(11, 1.0)
    bowl = [[a * a + b * b for b in xs] for a in xs]
    washboard = [[a * a + b * b + 0.3 * (math.sin(25 * a) + math.sin(25 * b)) for b in xs] for a in xs]
    smooth, rough = landscape.roughness(bowl), landscape.roughness(washboard)
    assert smooth["concave_fraction"] == 0.0
    assert rough["mean_abs_second_difference"] > 3 * smooth["mean_abs_second_difference"]
    assert rough["concave_fraction"] > 0.2
    assert landscape.roughness([[1.0, None], [None, 2.0]])["mean_abs_second_difference"] is None


# ---------------------------------------------------------------- initial → trained


@pytest.mark.slow
def test_interpolation_runs_from_the_initial_to_the_trained_net_with_bn_statistics(tiny_twins):
    store, (_, residual_id) = tiny_twins
    net = _net(store, residual_id)
    assert net.initial_state is not None
    settings = LandscapeSettings(grid=3, slice_points=0, interpolation_points=5, **FAST)  # t = -0.5, 0, .5, 1, 1.5
    result = landscape.landscape(net, settings)
    path = result["interpolation"]
    assert path["t"] == [-0.5, 0.0, 0.5, 1.0, 1.5]
    assert path["loss"][3] == pytest.approx(result["center_loss"], rel=1e-5)  # the grid runs BN folded in

    from resnet_edu.train import model_from_checkpoint

    initial, _, _ = model_from_checkpoint(landscape.init_checkpoint_path(store, residual_id))
    with torch.inference_mode():
        initial_loss = float(F.cross_entropy(initial(net.images), net.labels))
    assert path["loss"][1] == pytest.approx(initial_loss, rel=1e-5)

    trained = net.model.state_dict()
    half = landscape.interpolate_state(net.initial_state, trained, 0.5)
    key = "layer1.0.bn1.running_mean"
    torch.testing.assert_close(half[key], (net.initial_state[key] + trained[key]) / 2)
    assert torch.all(landscape.interpolate_state(net.initial_state, trained, 1.5)["bn1.running_var"] >= 0)


@pytest.mark.slow
def test_without_init_pt_the_path_is_explained_and_the_rest_still_works(tiny_twins_without_init_source):
    folder, (plain_id, _) = tiny_twins_without_init_source
    store = RunStore(folder)
    try:
        net = _net(store, plain_id)
        result = landscape.landscape(net, LandscapeSettings(grid=3, slice_points=3, interpolation_points=5, **FAST))
    finally:
        store.close()
    assert net.initial_state is None and result["interpolation"] is None
    assert "initial weights were not saved" in result["interpolation_message"]
    assert result["center_loss"] is not None and result["slice"] is not None


# ---------------------------------------------------------------- as analysis jobs


@pytest.mark.slow
def test_landscape_job_publishes_coarse_first_reports_progress_and_finishes(tiny_twins):
    store, ids = tiny_twins
    context = RecordingContext({"run_ids": ids, "grid": 7, "slice_points": 5, "interpolation_points": 3, **FAST}, store)
    result = landscape.landscape_job(context)
    assert result["done"] and [n["run_id"] for n in result["nets"]] == ids
    first = context.published[0]
    assert [len(n["known"]) for n in first["nets"]] == [5, 0]  # plain's 5×5 first, then the twin's
    assert [len(n["known"]) for n in context.published[1]["nets"]] == [5, 5]
    fractions = [f for f, _ in context.reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    json.dumps(result)  # JSON-able, for the store
    plain, residual = result["nets"]
    assert plain["shortcuts"] is False and residual["shortcuts"] is True
    assert plain["slice"]["alphas"] == residual["slice"]["alphas"]


@pytest.mark.slow
def test_landscape_job_stops_soon_with_what_it_has(tiny_twins):
    store, ids = tiny_twins
    context = RecordingContext({"run_ids": ids[:1], "grid": 9, "slice_points": 0, "interpolation_points": 0, **FAST},
                          store, stop_after_publishes=1)
    result = landscape.landscape_job(context)
    assert not result["done"] and len(result["nets"][0]["known"]) == 5
    assert len(context.published) == 1


@pytest.mark.slow
@pytest.mark.parametrize("params, message", [
    ({"run_ids": ["rnothere1"]}, "rnothere1"),
    ({"run_ids": []}, "one or two"),
    ({"run_ids": "X", "grid": 2}, "3 to 101"),
    ({"run_ids": "X", "images": 0}, "at least 1"),
])
def test_landscape_job_bad_params_raise_a_sentence(tiny_twins, params, message):
    store, ids = tiny_twins
    params = {**params, "run_ids": [ids[0]] if params["run_ids"] == "X" else params["run_ids"]}
    with pytest.raises(ValueError, match=message):
        landscape.landscape_job(RecordingContext(params, store))


@pytest.mark.slow
def test_lesion_job_gives_both_studies_and_stops(tiny_twins):
    from resnet_edu.inside import lesion
    store, ids = tiny_twins
    context = RecordingContext({"run_ids": ids, "count": 50, "ks": [1], "draws": 1}, store)
    result = lesion.lesion_job(context)
    assert result["done"] and [n["name"] for n in result["nets"]] == ["plain-8", "ResNet-8"]
    for net in result["nets"]:
        assert [row["block"] for row in net["single"]] == ["none", "layer1.0", "layer2.0", "layer3.0"]
        assert {row["k"] for row in net["random"]} == {0, 1}
    assert len(context.published) == 2 and json.dumps(result)
    stopping = RecordingContext({"run_ids": ids, "count": 50, "ks": [1], "draws": 1}, store, stop_after_publishes=1)
    partial = lesion.lesion_job(stopping)
    assert not partial["done"] and len(partial["nets"]) == 1
    with pytest.raises(ValueError, match="draws"):
        lesion.lesion_job(RecordingContext({"run_ids": ids, "draws": 9}, store))


# ---------------------------------------------------------------- CLI


def _cli(args, runs_dir):
    env = {"RESNET_EDU_RUNS_DIR": str(runs_dir), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "resnet_edu", "landscape", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=300)


@pytest.mark.slow
def test_cli_json_contract(tiny_twins):
    store, (plain_id, _) = tiny_twins
    done = _cli([plain_id, "--grid", "3", "--images", "16", "--span", "0.5", "--seed", "2", "--json"], store.root)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["run_id"] == plain_id and summary["grid"] == 3 and summary["span"] == 0.5
    assert summary["alphas"] == summary["betas"] == [-0.5, 0.0, 0.5]
    assert len(summary["loss"]) == 3 and all(len(row) == 3 for row in summary["loss"])
    assert summary["center_loss"] == summary["loss"][1][1] and summary["seconds"] > 0
    again = json.loads(_cli([plain_id, "--grid", "3", "--images", "16", "--span", "0.5", "--seed", "2", "--json"],
                            store.root).stdout.strip().splitlines()[-1])
    assert again["loss"] == summary["loss"]  # the same seed, the same grid


@pytest.mark.slow
@pytest.mark.parametrize("args, reason", [
    (["--grid", "2"], "3 to 101"),
    (["--grid", "102"], "3 to 101"),
    (["--images", "0"], "at least 1"),
])
def test_cli_bad_settings_exit_2_with_one_line(tiny_twins, args, reason):
    store, (plain_id, _) = tiny_twins
    done = _cli([plain_id, *args], store.root)
    assert done.returncode == 2 and reason in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


@pytest.mark.slow
def test_cli_unknown_run_and_run_without_checkpoint_exit_2(tmp_path):
    store = RunStore(tmp_path / "runs")
    try:
        bare = store.create_run("never trained", {"depth": 8}, status="queued")
    finally:
        store.close()
    for run_id, reason in (("rdeadbeef", "rdeadbeef"), (bare, "no checkpoint")):
        done = _cli([run_id], tmp_path / "runs")
        assert done.returncode == 2 and reason in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------- reading a result, drawing it


def _entry(name, shortcuts, bump):
    xs = landscape.axis(5, 1.0)
    loss = [[1 + a * a + b * b + bump * math.cos(9 * a) * math.cos(9 * b) for b in xs] for a in xs]
    return {"run_id": name, "name": name, "shortcuts": shortcuts, "alphas": xs, "betas": xs, "loss": loss,
            "error": [[0.5] * 5 for _ in xs], "known": list(range(5)), "center_loss": loss[2][2],
            "roughness": landscape.roughness(loss), "images": 8,
            "slice": {"alphas": xs, "loss": loss[2], "error": [0.5] * 5},
            "interpolation": {"t": [-0.5, 0.0, 0.5, 1.0, 1.5], "loss": [5.0, 2.3, 1.5, 1.0, 1.2], "error": [0.5] * 5}}


def test_comparison_reads_the_rougher_surface_and_the_csv_has_every_point():
    plain, residual = _entry("plain-56", False, 0.8), _entry("ResNet-56", True, 0.0)
    numbers = landscape.comparison(plain, residual)
    assert numbers["plain_rougher"] is True and numbers["roughness_ratio"] > 1
    assert numbers["residual_rise"] == pytest.approx(0.25)  # 1 + 0.5² at α = ±0.5, minus the centre
    table = landscape.grid_frame({"nets": [plain, residual]})
    assert len(table) == 50 and set(table.columns) >= {"run_id", "alpha", "beta", "loss", "error"}


def test_the_figures_draw_partial_and_full_grids():
    from resnet_edu.plots import landscape as landscape_plots

    plain, residual = _entry("plain-56", False, 0.8), _entry("ResNet-56", True, 0.0)
    residual_partial = {**residual, "known": [0, 2, 4]}
    contours = landscape_plots.contour_figure([plain, residual_partial])
    z = [trace.z for trace in contours.data if trace.type == "contour"]
    assert len(z) == 2 and len(z[1]) == 3  # the coarse points only, not None holes
    surfaces = landscape_plots.surface_figure([plain, residual])
    assert [trace.type for trace in surfaces.data] == ["surface", "surface"]
    assert len(landscape_plots.slices_figure([plain, residual]).data) == 2
    assert landscape_plots.interpolation_figure([plain, residual]).layout.yaxis.type == "log"
    assert landscape.basin_fraction(residual) == 9 / 25  # a² + b² < 1: the inner 3×3 points
