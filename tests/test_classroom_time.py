"""The class's-path benchmark's own logic (benchmarks/classroom_time.py) and the settings it varies:
the degradation criterion over steps, CPU time of process trees from /proc, the training
process's OpenMP wait policy and thread count. No timing is asserted."""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from resnet_edu import devices
from resnet_edu.cli import bench
from resnet_edu.engine import process
from resnet_edu.train import TRAIN_ERROR_WINDOW

REPO = Path(__file__).resolve().parents[1]


def _benchmark():
    spec = importlib.util.spec_from_file_location("classroom_time", REPO / "benchmarks" / "classroom_time.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _steps(errors: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"step": range(1, len(errors) + 1), "train_error": errors})


def test_the_criterion_holds_from_the_first_iteration_where_the_means_of_the_last_20_part():
    n = 60
    plain20 = _steps([0.5] * n)
    plain56 = _steps([0.5] * 30 + [0.9] * 30)  # falls behind from iteration 31
    resnet56 = _steps([0.5] * n)
    step, errors = bench.degradation_iteration({"plain-20": plain20, "plain-56": plain56, "ResNet-56": resnet56})
    # The mean of the last 20 passes 0.55 once 3 of the 20 are 0.9: iteration 33.
    assert step == 33
    assert errors["plain-56"] == pytest.approx(0.5 + 3 * 0.4 / 20) and errors["plain-20"] == 0.5

    # ResNet-56 as bad as plain-56: no cure, no criterion (with the fix); fig1 alone still holds.
    frames = {"plain-20": plain20, "plain-56": plain56, "ResNet-56": plain56}
    assert bench.degradation_iteration(frames) == (None, {})
    assert bench.degradation_iteration({"plain-20": plain20, "plain-56": plain56}, preset="fig1")[0] == 33


def test_the_criterion_waits_for_a_full_window_of_every_run():
    short = _steps([0.1] * (TRAIN_ERROR_WINDOW - 1))
    frames = {"plain-20": short, "plain-56": _steps([0.9] * 50), "ResNet-56": _steps([0.1] * 50)}
    assert bench.degradation_iteration(frames) == (None, {})
    # Only iterations every run has reached count: the long runs' later steps are not read.
    frames["plain-20"] = _steps([0.1] * 25)
    assert bench.degradation_iteration(frames)[0] == TRAIN_ERROR_WINDOW


def test_cpu_time_of_a_process_tree_counts_new_processes_whole_and_ignores_other_trees():
    # pid: (parent, start, cpu seconds)
    before = {1: (0, 10, 5.0), 100: (1, 20, 1.0), 101: (100, 30, 2.0), 200: (1, 40, 9.0)}
    after = {1: (0, 10, 6.0), 100: (1, 20, 1.5), 101: (100, 30, 2.25), 102: (101, 50, 0.5), 200: (1, 40, 10.0)}
    tree_before, tree_after = bench.process_tree(100, before), bench.process_tree(100, after)
    assert set(tree_after) == {100, 101, 102} and set(tree_before) == {100, 101}
    assert bench.cpu_seconds_between(tree_before, tree_after) == pytest.approx(0.5 + 0.25 + 0.5)
    # A recycled pid (another start time) is a new process: all of its time counts.
    recycled = {**after, 101: (100, 99, 0.75)}
    assert bench.cpu_seconds_between(tree_before, bench.process_tree(100, recycled)) == pytest.approx(0.5 + 0.75 + 0.5)
    assert bench.process_tree(12345, before) == {}


def test_the_live_process_tree_holds_this_process_and_its_child():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        tree = bench.process_tree(os.getpid())
        assert os.getpid() in tree and child.pid in tree
        assert bench.cpu_seconds_between({}, {os.getpid(): tree[os.getpid()]}) > 0
    finally:
        child.kill()
        child.wait()


def test_cpu_facts_name_the_cpu_and_its_bf16_features():
    facts = bench.cpu_facts()
    assert facts["model_name"] and facts["cores"] >= 1
    assert isinstance(facts["amx"], bool) and isinstance(facts["avx512_bf16"], bool)


def test_the_benchmarks_arithmetic():
    module = _benchmark()
    samples = [(0.0, 0), (1.0, 2), (2.0, 5), (4.0, 9), (6.0, 13)]
    assert module.iterations_per_second(samples) == pytest.approx(2.0)  # from iteration 5 at 2 s to 13 at 6 s
    assert module.iterations_per_second(samples[:3]) is None
    shown = [(1.0, {"a": -1, "b": -1}), (2.0, {"a": 1, "b": -1}), (3.5, {"a": 3, "b": 2}), (5.0, {"a": 40, "b": 33})]
    assert module.first_time(shown, ["a", "b"], every=False) == 2.0
    assert module.first_time(shown, ["a", "b"]) == 3.5
    assert module.first_time(shown, ["a", "b"], at_least=33) == 5.0
    assert module.first_time(shown, ["a", "b"], at_least=50) is None
    assert module.normalised(30.0, 75.0) == 15.0 and module.normalised(None, 75.0) is None
    assert module.median([3.0, None, 1.0, 2.0]) == 2.0 and module.median([None]) is None
    assert module.parse_env(["GOMP_SPINCOUNT=1000", "A=b=c"]) == {"GOMP_SPINCOUNT": "1000", "A": "b=c"}
    with pytest.raises(SystemExit):
        module.parse_env(["nothing"])


def test_the_cpu_groups_of_the_benchmark_split_trees_without_counting_twice():
    module = _benchmark()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.2)
        groups = module.cpu_groups(module.all_stats(), server_pid=child.pid, training_pid=None, viewers_pid=None,
                                   hog_pid=None)
        assert child.pid in groups["server"] and os.getpid() in groups["harness"]
        assert child.pid not in groups["harness"]
        seen = [pid for tree in groups.values() for pid in tree]
        assert len(seen) == len(set(seen))
    finally:
        child.kill()
        child.wait()


# ---------------------------------------------------------------- the settings the benchmark varies
@pytest.mark.parametrize(("environ", "policy", "omp"), [
    ({}, "default", None),  # libgomp's own: a short spin, then sleep (measured best on the class's path)
    ({"RESNET_EDU_OMP_WAIT_POLICY": "active"}, "ACTIVE", "ACTIVE"),
    ({"RESNET_EDU_OMP_WAIT_POLICY": "PASSIVE"}, "PASSIVE", "PASSIVE"),
    ({"RESNET_EDU_OMP_WAIT_POLICY": "default"}, "default", None),
    ({"RESNET_EDU_OMP_WAIT_POLICY": "default", "OMP_WAIT_POLICY": "active"}, "ACTIVE", "ACTIVE"),  # the user's wins
])
def test_the_training_process_gets_the_chosen_openmp_wait_policy(environ, policy, omp):
    assert process.wait_policy(environ) == policy
    env = process.training_environment({"PATH": "/bin", **environ})
    assert env.get("OMP_WAIT_POLICY") == omp
    assert env["PATH"] == "/bin"


def test_an_unknown_wait_policy_is_logged_and_the_default_used(caplog):
    with caplog.at_level(logging.WARNING):
        assert process.wait_policy({"RESNET_EDU_OMP_WAIT_POLICY": "sometimes"}) == process.WAIT_POLICY
    assert "sometimes" in caplog.text


def test_the_training_threads_can_be_fewer_than_the_cores(monkeypatch):
    monkeypatch.delenv(devices.CPU_THREADS_ENV, raising=False)
    cores = devices.cpu_threads()
    monkeypatch.setenv(devices.CPU_THREADS_ENV, "1")
    assert devices.cpu_threads() == 1
    monkeypatch.setenv(devices.CPU_THREADS_ENV, str(cores + 8))
    assert devices.cpu_threads() == cores  # never more than the process may use
    for bad in ("0", "-1", "two", ""):
        monkeypatch.setenv(devices.CPU_THREADS_ENV, bad)
        assert devices.cpu_threads() == cores


def test_the_training_process_leaves_a_core_to_the_app_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv(devices.CPU_THREADS_ENV, raising=False)
    cores = devices.cpu_threads()
    assert process.training_threads({}) == max(1, cores - process.CORES_FOR_THE_APP)
    assert process.training_threads({devices.CPU_THREADS_ENV: "1"}) == 1
    assert process.training_threads({devices.CPU_THREADS_ENV: str(cores + 8)}) == cores
    assert process.training_threads({devices.CPU_THREADS_ENV: "many"}) == max(1, cores - 1)
    env = process.training_environment({"PATH": "/bin"})
    assert env[devices.CPU_THREADS_ENV] == str(process.training_threads({}))


def test_the_group_s_rounds_are_those_every_run_has_done(runs_dir):
    from resnet_edu.runs import RunStore

    module = _benchmark()
    store = RunStore(runs_dir)
    try:
        runs = [store.create_run(name, {"depth": 20}, status="running") for name in ("plain-20", "plain-56")]
        assert module.rounds_done(store, runs) == 0
        store.set_progress(runs[0], 7, 100)
        store.set_progress(runs[1], 6, 100)
        store.flush()
        assert module.rounds_done(store, runs) == 6 and module.rounds_done(store, []) == 0
    finally:
        store.close()
