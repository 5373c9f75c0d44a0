"""`python -m resnet_edu`: the JSON contract and exit status 2 with one line for bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from resnet_edu.cli import main

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, env_dir):
    env = {**os.environ, "RESNET_EDU_RUNS_DIR": str(env_dir / "runs"), "RESNET_EDU_DATA": str(env_dir / "data"),
           "OMP_NUM_THREADS": "2"}
    return subprocess.run([sys.executable, "-m", "resnet_edu", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.parametrize("args,message", [
    (["train", "--depth", "21"], "not 6n+2: try 20 or 26"),
    (["train", "--depth", "100002"], "too deep"),
    (["train", "--family", "imagenet", "--depth", "20"], "18, 34, 50, 101, 152"),
    (["train", "--lr", "0"], "greater than 0"),
    (["train", "--lr", "nan"], "finite"),
    (["train", "--batch-size", "0"], "batch size"),
    (["train", "--epochs", "0"], "epochs"),
    (["train", "--depth", "abc"], "invalid int"),
    (["train", "--dataset", "cifar10"], "cifar-10-python.tar.gz"),
    (["train", "--dataset", "imagefolder", "--family", "imagenet", "--depth", "18", "--data-root", "/nonexistent"],
     "nonexistent"),
    (["train", "--dataset", "imagenette", "--family", "imagenet", "--depth", "18", "--data-root", "/nonexistent"],
     "imagenette"),
    (["train", "--dataset", "mnist"], "invalid choice"),
    (["runs", "export", "nope", "--csv"], "no run with id 'nope'"),
    (["runs", "export", "../../etc/passwd", "--csv"], "no run"),
    (["runs", "resume", "nope"], "no run"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_exits_2_with_one_line(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert "Traceback" not in err


@pytest.mark.slow
def test_a_real_process_exits_2_without_a_traceback(tmp_path):
    result = cli("train", "--depth", "21", env_dir=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: depth 21 is not 6n+2: try 20 or 26"


@pytest.mark.slow
def test_train_json_contract_then_list_and_export(tmp_path):
    result = cli("train", "--depth", "8", "--epochs", "1", "--max-steps", "3", "--batch-size", "16",
                 "--max-train-images", "64", "--json", env_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("run_id", "final_train_error", "final_test_error", "steps", "epochs", "images_per_second",
                "wall_seconds", "device"):
        assert key in summary
    assert summary["steps"] == 3 and summary["device"] == "cpu"
    assert 0 <= summary["final_train_error"] <= 1 and 0 <= summary["final_test_error"] <= 1
    assert summary["images_per_second"] > 0 and summary["wall_seconds"] > 0
    assert summary["epochs"] == pytest.approx(3 / 4)

    listing = cli("runs", "list", "--json", env_dir=tmp_path)
    assert listing.returncode == 0
    (run,) = json.loads(listing.stdout)
    assert run["run_id"] == summary["run_id"] and run["status"] == "finished"

    export = cli("runs", "export", summary["run_id"], "--csv", env_dir=tmp_path)
    assert export.returncode == 0
    header, *rows = export.stdout.strip().splitlines()
    assert "train_error" in header and "test_error" in header and len(rows) == 3
