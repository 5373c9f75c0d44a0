"""torchrun: one run trained by two CPU processes (gloo), its store, its replicas, stop, failure, resume.

The torchrun tests start real jobs (``python -m torch.distributed.run --standalone
--nproc_per_node 2``) on the built-in synthetic data with an 8-layer net and a few iterations.
The jobs run ``tests/torchrun_faults.py``: the CLI's ``train`` / ``runs resume`` with the engine's
``on_iteration`` callback, which injects the faults a test asks for (kill or fail a rank, switch
shortcuts after an iteration) and keeps the trainer, so each rank reports what it ended with (a
digest of its weights, the switches it applied) and the tests can compare the replicas.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchrun_faults
from polling import wait_until

from resnet_edu import distributed
from resnet_edu.cli import main
from resnet_edu.data import BatchStream, make_synthetic
from resnet_edu.distributed.control import decode_switch, encode_switch
from resnet_edu.runs import RunStore
from resnet_edu.train import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
JOB_TIMEOUT = 300  # seconds: a two-process job here takes 20-60 s on the shared 2-core machine
# 512 images at a global batch of 64: 8 iterations an epoch, so a checkpoint at iteration 8.
SMALL = ["--depth", "8", "--dataset", "synthetic", "--max-train-images", "512", "--batch-size", "64"]


def torchrun(*args, tmp_path, extra_env=None, popen=False, faults=True):
    """A two-process job; ``faults``: through tests/torchrun_faults.py (reports, faults), else the plain CLI."""
    env = {**os.environ, "RESNET_EDU_RUNS_DIR": str(tmp_path / "runs"), "RESNET_EDU_DATA": str(tmp_path / "data"),
           "OMP_NUM_THREADS": "1", torchrun_faults.REPORT_ENV: str(tmp_path / "ranks"), **(extra_env or {})}
    entry = [str(Path(torchrun_faults.__file__))] if faults else ["-m", "resnet_edu"]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               *entry, *args]
    if popen:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=JOB_TIMEOUT)


def rank_reports(tmp_path) -> list[dict]:
    return [json.loads((tmp_path / "ranks" / f"rank{rank}.json").read_text()) for rank in (0, 1)]


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- real torchrun jobs


@pytest.mark.slow
def test_two_processes_train_one_run_with_identical_replicas_and_one_switch(tmp_path):
    result = torchrun("train", *SMALL, "--max-steps", "10", "--json", tmp_path=tmp_path,
                      extra_env={torchrun_faults.TOGGLE_ENV: "4"})
    assert result.returncode == 0, result.stderr[-3000:]
    summary = last_json(result.stdout)
    assert summary["status"] == "finished" and summary["world_size"] == 2 and summary["steps"] == 10
    assert len(result.stdout.strip().splitlines()) == 1  # rank 1 prints nothing

    with RunStore(tmp_path / "runs") as store:
        runs = store.list_runs()
        assert len(runs) == 1
        run_id = runs["run_id"][0]
        assert store.get_run(run_id)["config"]["world_size"] == 2
        steps = store.steps(run_id)
        assert steps["step"].tolist() == list(range(1, 11))
        assert steps["train_error"].between(0, 1).all() and steps["train_loss"].notna().all()
        events = store.events(run_id)
        switches = events[events["kind"] == "shortcuts_toggled"]
        assert switches["step"].tolist() == [4]  # recorded once, by rank 0
        assert switches["detail"].iloc[0] == {"enabled": False, "stages": None}
        assert store.latest_checkpoint(run_id) is not None

    first, second = rank_reports(tmp_path)
    assert first["step"] == second["step"] == 10
    assert first["digest"] == second["digest"]  # the replicas never drifted apart
    assert first["switches"] == second["switches"] == [[4, False, None]]  # same iteration on both ranks
    assert first["threads"] == second["threads"] == max(1, len(os.sched_getaffinity(0)) // 2)


@pytest.mark.slow
def test_a_killed_rank_fails_the_run_and_resume_finishes_it(tmp_path):
    failed = torchrun("train", *SMALL, "--max-steps", "10", "--json", tmp_path=tmp_path,
                      extra_env={torchrun_faults.KILL_ENV: "1:9"})  # after the checkpoint at iteration 8
    assert failed.returncode != 0
    with RunStore(tmp_path / "runs") as store:
        (run_id,) = store.list_runs()["run_id"]
        info = store.get_run(run_id)
        assert info["status"] == "failed", info
        assert "ended without a word" in info["message"]
        assert store.latest_checkpoint(run_id) is not None

    resumed = torchrun("runs", "resume", run_id, "--json", tmp_path=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = last_json(resumed.stdout)
    assert summary["run_id"] == run_id and summary["status"] == "finished" and summary["steps"] == 10
    with RunStore(tmp_path / "runs") as store:
        assert store.steps(run_id)["step"].tolist() == list(range(1, 11))
        assert "resumed" in store.events(run_id)["kind"].tolist()
    first, second = rank_reports(tmp_path)
    assert first["digest"] == second["digest"] and first["step"] == 10


@pytest.mark.slow
def test_a_rank_that_raises_fails_the_run_with_its_message(tmp_path):
    result = torchrun("train", *SMALL, "--max-steps", "10", tmp_path=tmp_path,
                      extra_env={torchrun_faults.KILL_ENV: "1:3:raise"})
    assert result.returncode != 0
    with RunStore(tmp_path / "runs") as store:
        (run_id,) = store.list_runs()["run_id"]
        info = store.get_run(run_id)
    assert info["status"] == "failed"
    assert info["message"] == "rank 1: RuntimeError: rank 1 failed on purpose after iteration 3"


@pytest.mark.slow
def test_sigterm_to_torchrun_stops_every_rank_with_a_checkpoint(tmp_path):
    job = torchrun("train", *SMALL, "--epochs", "30", tmp_path=tmp_path, popen=True)
    try:
        def reached_iteration_2() -> bool:
            if job.poll() is not None:
                raise AssertionError(f"the job ended early: {job.communicate()[1][-3000:]}")
            if not (tmp_path / "runs" / "runs.sqlite").exists():
                return False
            with RunStore(tmp_path / "runs") as store:
                runs = store.list_runs()
                return len(runs) == 1 and runs["steps_done"][0] >= 2

        assert wait_until(reached_iteration_2, timeout=JOB_TIMEOUT, interval=0.5), "the job did not reach iteration 2"
        job.send_signal(signal.SIGTERM)
        job.communicate(timeout=120)
    finally:
        if job.poll() is None:
            job.kill()
            job.communicate()
    with RunStore(tmp_path / "runs") as store:
        (run_id,) = store.list_runs()["run_id"]
        info = store.get_run(run_id)
        assert info["status"] == "stopped", info
        assert store.latest_checkpoint(run_id) is not None
    first, second = rank_reports(tmp_path)
    assert first["step"] == second["step"] == info["steps_done"]  # both stopped after the same iteration
    assert first["digest"] == second["digest"]


@pytest.mark.slow
def test_a_batch_that_does_not_split_is_refused_once_and_creates_nothing(tmp_path):
    result = torchrun("train", *SMALL[:-2], "--batch-size", "63", tmp_path=tmp_path, faults=False)  # the real CLI
    assert result.returncode != 0  # torchrun reports a worker's exit status 2 as its own failure
    said = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert said == ["error: batch size 63 does not split evenly over 2 processes: use a multiple of 2"]
    assert "Traceback" not in "".join(line for line in result.stderr.splitlines() if line.startswith("[rank"))
    with RunStore(tmp_path / "runs") as store:
        assert store.list_runs().empty


@pytest.mark.cuda
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 CUDA GPUs")
def test_two_gpus_with_nccl_and_sync_bn(tmp_path):
    result = torchrun("train", *SMALL, "--max-steps", "10", "--device", "cuda", "--sync-bn", "--json",
                      tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = last_json(result.stdout)
    assert summary["status"] == "finished" and summary["world_size"] == 2 and summary["device"] == "cuda"
    first, second = rank_reports(tmp_path)
    assert first["digest"] == second["digest"]


# ---------------------------------------------------------------------------- pieces, in this process


def test_shards_of_a_batch_are_disjoint_and_make_the_one_process_batch():
    dataset = make_synthetic(96, 8, seed=3)
    whole = BatchStream(dataset, 32, seed=5)
    shards = [BatchStream(dataset, 32, seed=5, rank=rank, world_size=4) for rank in range(4)]
    for step in (0, 1, 4):  # 4 is in the second epoch (3 batches an epoch)
        images, labels = whole.batch(step)
        parts = [shard.batch(step) for shard in shards]
        assert torch.equal(torch.cat([p[0] for p in parts]), images)
        assert torch.equal(torch.cat([p[1] for p in parts]), labels)
        rows = [set(shard.batch_indices(step).tolist()) for shard in shards]
        assert all(len(row) == 32 for row in rows)  # batch_indices stays the global batch's
    with pytest.raises(ValueError, match="does not split"):
        BatchStream(dataset, 30, world_size=4)


def test_world_size_must_divide_the_global_batch():
    TrainConfig(batch_size=128, world_size=2).validate()
    with pytest.raises(ValueError, match="does not split evenly over 3 processes"):
        TrainConfig(batch_size=128, world_size=3).validate()


def test_launch_is_read_from_torchrun_variables():
    assert distributed.launch_from_env({}) is None
    assert distributed.launch_from_env({"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0"}) is None
    launch = distributed.launch_from_env({"RANK": "3", "WORLD_SIZE": "8", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "4"})
    assert (launch.rank, launch.world_size, launch.local_rank, launch.local_world_size, launch.is_main) == (3, 8, 1, 4,
                                                                                                           False)


def test_inbox_gives_requests_oldest_first_and_skips_unreadable_ones(tmp_path, capsys):
    inbox = distributed.ShortcutInbox(tmp_path, "r1")
    assert inbox.take() is None
    inbox.put(False)
    (inbox.folder / "00000000000000000001-bad.json").write_text("{not json")
    inbox.put(True, [3, 2, 3])
    assert inbox.take() == (False, None)  # the bad file sorts first: skipped, removed, said
    assert inbox.take() == (True, (2, 3))
    assert inbox.take() is None
    assert "unreadable" in capsys.readouterr().err


@pytest.mark.parametrize("switch", [None, (False, None), (True, None), (False, (1,)), (True, (2, 4))])
def test_a_switch_survives_its_encoding(switch):
    assert decode_switch(*encode_switch(switch)) == switch


@pytest.mark.parametrize("args,message", [
    (["train", "--sync-bn"], "one process has nothing to synchronise"),
    (["runs", "shortcuts", "nope", "--off"], "no run with id 'nope'"),
])
def test_bad_distributed_input_exits_2_with_one_line(args, message, capsys):
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_sync_bn_on_cpu_is_refused_with_the_reason(monkeypatch, capsys):
    for key, value in {"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0"}.items():
        monkeypatch.setenv(key, value)
    assert main(["train", "--sync-bn", "--device", "cpu"]) == 2
    assert "SyncBatchNorm has no CPU version" in capsys.readouterr().err


def test_shortcuts_command_reaches_only_torchrun_runs(tmp_path, capsys):
    with RunStore() as store:
        single = store.create_run("ResNet-20", TrainConfig().to_dict(), status="running")
        multi = store.create_run("ResNet-20", TrainConfig(world_size=2).to_dict(), status="running")
    assert main(["runs", "shortcuts", single, "--off"]) == 2
    assert "switch its shortcuts in the Lab" in capsys.readouterr().err
    assert main(["runs", "shortcuts", multi, "--off", "--stages", "4"]) == 2
    assert main(["runs", "shortcuts", multi, "--on", "--stages", "2"]) == 0
    assert distributed.ShortcutInbox(RunStore().root, multi).take() == (True, (2,))
