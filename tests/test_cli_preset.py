"""`train --preset`: the Lab's preset comparisons from the command line, trained in lockstep by the Lab's engine.

Presets choose their own depths, so the runs here are kept small by their length and data:
two iterations on a 64-image subset of the built-in synthetic set.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from polling import wait_until

from resnet_edu.cli import build_parser, main
from resnet_edu.cli.parser import UserError
from resnet_edu.runs import RunStore

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--epochs", "1", "--max-steps", "2", "--max-train-images", "64", "--batch-size", "16", "--probe-every", "1",
        "--device", "cpu", "--precision", "fp32"]


@pytest.mark.parametrize("flag,allowed,refused", [
    ("--preset", "PRESETS", "fig99"), ("--family", "FAMILIES", "vgg"), ("--shortcut-type", "SHORTCUT_TYPES", "D"),
    ("--dataset", "DATASETS", "mnist"), ("--recipe", "RECIPES", "fast"), ("--precision", "PRECISIONS", "fp16"),
    ("--device", "DEVICE_CHOICES", "tpu"),
])
def test_the_cli_offers_exactly_what_the_library_knows(flag, allowed, refused):
    from resnet_edu import devices, models, train
    from resnet_edu.data import catalog

    values = next(getattr(module, allowed) for module in (train, models, devices, catalog) if hasattr(module, allowed))
    for value in values:
        assert getattr(build_parser().parse_args(["train", flag, value]), flag[2:].replace("-", "_")) == value
    with pytest.raises(UserError, match="invalid choice"):
        build_parser().parse_args(["train", flag, refused])


def test_the_cli_defaults_are_the_configs():
    from resnet_edu.train import TrainConfig

    args = build_parser().parse_args(["train"])
    default = TrainConfig()
    assert (args.epochs, args.dataset, args.recipe, args.seed, args.probe_every, args.image_size) == (
        default.epochs, default.dataset, default.recipe, default.seed, default.probe_every, default.image_size)


def test_fig1_trains_both_nets_in_lockstep_and_prints_one_json_line_per_run(runs_dir, capsys):
    assert main(["train", "--preset", "fig1", *TINY, "--seed", "3", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    summaries = [json.loads(line) for line in lines]
    assert [s["name"] for s in summaries] == ["plain-20", "plain-56"]
    for summary in summaries:
        assert {"run_id", "final_train_error", "final_test_error", "steps", "epochs", "images_per_second",
                "wall_seconds", "device", "name", "group_id", "status"} <= set(summary)
        assert summary["status"] == "finished" and summary["device"] == "cpu" and summary["preset"] == "fig1"
        assert 0 <= summary["final_train_error"] <= 1
    assert {s["steps"] for s in summaries} == {2}  # lockstep: every net the same iterations
    assert len({s["group_id"] for s in summaries}) == 1  # one comparison, as the Lab starts it
    assert len({s["wall_seconds"] for s in summaries}) == 1
    with RunStore(runs_dir) as store:
        configs = [store.get_run(s["run_id"])["config"] for s in summaries]
        assert [(c["depth"], c["shortcuts"], c["shortcut_type"]) for c in configs] == [(20, False, "A"),
                                                                                       (56, False, "A")]
        assert all(c["seed"] == 3 and c["max_train_images"] == 64 and c["batch_size"] == 16 for c in configs)
        steps = [store.steps(s["run_id"])["step"].tolist() for s in summaries]
        assert steps[0] == steps[1] == [1, 2]
        for s in summaries:  # the Lab's probes, and the starting point the landscape page needs
            assert len(store.layer_stats(s["run_id"], "response_std")) > 0
            assert (store.checkpoint_dir(s["run_id"]) / "init.pt").is_file()


@pytest.mark.parametrize("args,message", [
    (["--preset", "fig1", "--depth", "56"], "trains its own nets (Fig. 1: plain-20 vs plain-56): drop --depth"),
    (["--preset", "fig6", "--plain"], "drop --plain"),
    (["--preset", "fig1_fix", "--name", "x"], "drop --name"),
    (["--preset", "fig6", "--image-size", "64"], "CIFAR-style nets expect 32x32 images"),
    (["--preset", "fig1", "--epochs", "0"], "epochs"),
    (["--preset", "fig9"], "invalid choice"),
])
def test_a_preset_with_flags_it_cannot_take_exits_2_with_one_line(args, message, capsys):
    assert main(["train", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_epochs_164_with_the_paper_recipe_is_the_papers_schedule():
    """Sec. 4.2: 64k iterations at batch 128 (164 epochs of CIFAR-10's 50,000 images), lr 0.1 ÷10 at 32k and 48k."""
    from resnet_edu.cli.preset_command import preset_from_args
    from resnet_edu.train import learning_rate

    args = build_parser().parse_args(["train", "--preset", "fig6", "--dataset", "cifar10", "--recipe", "paper",
                                      "--epochs", "164"])
    configs = preset_from_args(args)
    assert [c.run_name for c in configs] == ["plain-20", "plain-56", "plain-110", "ResNet-20", "ResNet-56",
                                             "ResNet-110"]
    assert {(c.epochs, c.batch_size, c.lr, c.recipe) for c in configs} == {(164, 128, 0.1, "paper")}
    total = 164 * (50_000 // 128)
    assert total == 63_960
    rates = {step: learning_rate(step, total, 0.1) for step in (0, 31_979, 31_980, 47_969, 47_970, 63_959)}
    assert rates == {0: 0.1, 31_979: 0.1, 31_980: pytest.approx(0.01), 47_969: pytest.approx(0.01),
                     47_970: pytest.approx(0.001), 63_959: pytest.approx(0.001)}


@pytest.mark.slow
def test_ctrl_c_stops_every_net_of_the_preset_with_a_checkpoint(tmp_path):
    env = {**os.environ, "RESNET_EDU_RUNS_DIR": str(tmp_path / "runs"), "RESNET_EDU_DATA": str(tmp_path / "data"),
           "OMP_NUM_THREADS": "2"}
    process = subprocess.Popen([sys.executable, "-m", "resnet_edu", "train", "--preset", "fig1", "--epochs", "50",
                                "--max-train-images", "64", "--batch-size", "16", "--device", "cpu", "--json"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def both_training() -> bool:
            if not (tmp_path / "runs" / "runs.sqlite").exists():
                return False
            with RunStore(tmp_path / "runs") as store:
                runs = store.list_runs()
                return len(runs) == 2 and (runs["steps_done"] >= 2).all()

        assert wait_until(both_training, timeout=300, interval=0.5), process.stderr
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, err  # stopped, not finished
    summaries = [json.loads(line) for line in out.strip().splitlines()]
    assert [s["status"] for s in summaries] == ["stopped", "stopped"]
    assert all("Ctrl-C" in s["message"] for s in summaries)
    steps = [s["steps"] for s in summaries]
    assert max(steps) - min(steps) <= 1  # the round the signal came in: a net that had already stepped keeps it
    with RunStore(tmp_path / "runs") as store:
        for s in summaries:
            assert store.latest_checkpoint(s["run_id"]) is not None  # resumable with runs resume
