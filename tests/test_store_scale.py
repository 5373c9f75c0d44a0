"""A term of runs: archiving and pruning old runs, and a store of 100k step rows the pages still draw.

The full-size measurement (300 runs, ~2 M step rows) is ``benchmarks/store_scale.py``; here its
store builder makes a small version, and the tests check behaviour, never timings.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from resnet_edu.cli import main
from resnet_edu.runs import RunStore

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")


def _benchmark():
    spec = importlib.util.spec_from_file_location("store_scale", REPO / "benchmarks" / "store_scale.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _runs(store: RunStore, ages_days: list[float], status: str = "finished") -> list[str]:
    """Runs created ``ages_days`` ago, each with steps, an eval, an event and a checkpoint file."""
    ids = []
    for k, age in enumerate(ages_days):
        run_id = store.create_run(f"run {k}", {"depth": 20}, group_id=f"g{k}", status="running")
        for i in range(1, 51):
            store.log_step(run_id, i, epoch=i / 10, train_seconds=i, train_loss=1.0, train_error=0.5, lr=0.1,
                           images_per_second=100)
        store.log_eval(run_id, 50, epoch=5, train_seconds=50, test_loss=1.0, test_error=0.4)
        store.log_layer_stats(run_id, 50, "grad_norm", {"conv1": 0.1, "layer1.0.conv1": 0.2})
        path = store.checkpoint_dir(run_id) / "last.pt"
        path.write_bytes(b"checkpoint of " + run_id.encode())
        store.record_checkpoint(run_id, 50, path)
        store.set_status(run_id, status)
        ids.append(run_id)
    store.flush()
    conn = sqlite3.connect(store.db_path)
    for run_id, age in zip(ids, ages_days):
        conn.execute("UPDATE runs SET created_at = strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', ?) WHERE run_id = ?",
                     (f"-{age * 86400:.0f} seconds", run_id))
    conn.commit()
    conn.close()
    return ids


def test_prune_candidates_are_old_ended_runs_outside_the_newest(tmp_path):
    store = RunStore(tmp_path / "runs")
    old = _runs(store, [200, 150, 100])
    recent = _runs(store, [2, 1])
    running = _runs(store, [300], status="running")
    assert set(store.prune_candidates(older_than_days=90)) == set(old)  # never the running one
    assert set(store.prune_candidates(keep_last=3)) == set(old[:2])  # the newest 3 stay (one runs)
    assert set(store.prune_candidates(older_than_days=120, keep_last=2)) == set(old[:2])
    assert store.prune_candidates(older_than_days=0, keep_last=100) == []
    with pytest.raises(ValueError):
        store.prune_candidates()
    assert running[0] not in store.prune_candidates(older_than_days=0)
    assert recent
    store.close()


def test_archive_moves_runs_into_a_runs_folder_of_their_own(tmp_path):
    store = RunStore(tmp_path / "runs")
    old = _runs(store, [200, 150])
    kept = _runs(store, [1])
    before = {r: (store.steps(r), store.events(r)["kind"].tolist()) for r in old}
    folder = store.archive_runs(old)
    assert folder.parent == store.root / "archive"
    assert set(store.list_runs()["run_id"]) == set(kept)
    assert not any((store.root / "checkpoints" / r).exists() for r in old)
    archive = RunStore(folder)  # the archive opens like any runs folder
    assert set(archive.list_runs()["run_id"]) == set(old)
    for run_id in old:
        steps, kinds = before[run_id]
        assert archive.steps(run_id).equals(steps) and archive.events(run_id)["kind"].tolist() == kinds
        assert len(archive.evals(run_id)) == 1 and len(archive.layer_stats(run_id, "grad_norm")) == 2
        checkpoint = archive.latest_checkpoint(run_id)  # stored relative to the folder: still found
        assert checkpoint is not None and checkpoint.read_bytes() == b"checkpoint of " + run_id.encode()
    archive.close()
    with pytest.raises(ValueError, match="still training"):
        store.archive_runs(_runs(store, [400], status="running"))
    store.close()


def test_cli_runs_prune(tmp_path, monkeypatch, capsys):
    root = tmp_path / "runs"
    monkeypatch.setenv("RESNET_EDU_RUNS_DIR", str(root))
    store = RunStore(root)
    old = _runs(store, [200, 150, 100])
    _runs(store, [1])
    store.close()
    assert main(["runs", "prune"]) == 2
    assert "say which runs" in capsys.readouterr().err
    assert main(["runs", "prune", "--older-than", "-3"]) == 2
    capsys.readouterr()
    assert main(["runs", "prune", "--older-than", "90", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("would archive 3 runs") and all(r in out for r in old)
    assert main(["runs", "prune", "--older-than", "160"]) == 0
    assert capsys.readouterr().out.startswith("archived 1 runs to ")
    assert main(["runs", "prune", "--older-than", "90", "--delete", "--compact"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("deleted 2 runs") and "runs.sqlite: " in out
    assert main(["runs", "list", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


def _lab(monkeypatch) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("app_pages/lab.py").run()
    assert not at.exception, at.exception
    return at


def test_lab_archives_old_runs_for_the_teacher_only(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    monkeypatch.setenv("RESNET_EDU_RUNS_DIR", str(root))
    store = RunStore(root)
    old = _runs(store, [200, 150])
    _runs(store, [1])
    store.close()
    monkeypatch.setenv("RESNET_EDU_TEACHER_PASSCODE", "a phrase no student can guess")
    at = _lab(monkeypatch)
    assert at.button(key="lab_archive").disabled and at.checkbox(key="lab_archive_sure").disabled
    monkeypatch.delenv("RESNET_EDU_TEACHER_PASSCODE")  # no passcode: every tab is the teacher
    at = _lab(monkeypatch)
    at.number_input(key="lab_archive_days").set_value(90)
    at.number_input(key="lab_archive_keep").set_value(0).run()
    assert any("2 ended run(s) would move" in c.value for c in at.caption)
    assert at.button(key="lab_archive").disabled  # not before the tick
    at.checkbox(key="lab_archive_sure").check().run()
    at.button(key="lab_archive").click().run()
    assert not at.exception
    assert any("Moved 2 run(s)" in s.value for s in at.success)
    check = RunStore(root)
    assert not set(old) & set(check.list_runs()["run_id"])
    check.close()


def _points(values) -> int:
    """How many values a plotly trace array holds (a list, or plotly's base64 typed array)."""
    if isinstance(values, dict) and "bdata" in values:
        import base64

        import numpy as np

        return len(base64.b64decode(values["bdata"])) // np.dtype(values["dtype"]).itemsize
    return len(values or [])


@pytest.mark.slow
def test_a_store_of_100k_step_rows_draws_and_its_reads_are_downsampled(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    built = _benchmark().build_store(root, runs=12, long_runs=3, long_steps=20_000, short_steps=4_000,
                                     probe_every=100)
    assert built["step_rows"] >= 90_000
    monkeypatch.setenv("RESNET_EDU_RUNS_DIR", str(root))
    store = RunStore(root)
    fig1 = [r[0] for r in store.run_menu() if r[2] == "gfig1"]
    assert len(fig1) == 3
    for run_id in fig1:  # a long curve is read summed per block of iterations, in SQL
        blocks = store.step_blocks(run_id, stride=40)
        assert len(blocks) == 501 and blocks["step"].iloc[0] == 39 and blocks["step"].iloc[-1] == 20_000
    store.close()
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page("app_pages/degradation.py").run()
    assert not at.exception, at.exception
    curves = at.get("plotly_chart")[0].proto.spec
    traces = json.loads(curves)["data"]
    lengths = [_points(trace.get("x")) for trace in traces]
    assert 0 < max(lengths) <= 600  # a chart gets at most 600 points a run, however long the run
    at.switch_page("app_pages/lab.py").run()
    assert not at.exception, at.exception


def test_a_long_curve_summed_in_sql_equals_the_curve_summed_in_python(tmp_path):
    """CurveBuffer.update_from_store (blocks from RunStore.step_blocks) == update(store.steps(...))."""
    import math

    from resnet_edu.inside.degradation import CurveBuffer

    store = RunStore(tmp_path / "runs")
    run_id = store.create_run("long", {"depth": 20}, status="running")

    def log(first: int, last: int) -> None:
        for i in range(first, last + 1):
            loss = math.inf if i % 997 == 0 else (math.nan if i % 991 == 0 else 2.0 / (1 + i % 13))
            error = math.nan if i % 883 == 0 else (i % 7) / 7
            store.log_step(run_id, i, epoch=i / 390, train_seconds=i * 0.3, train_loss=loss, train_error=error,
                           lr=0.1 if i < 3000 else 0.01, images_per_second=None if i % 500 == 0 else 400.0 + i % 5)
        store.flush()

    from_sql, from_rows = CurveBuffer(600), CurveBuffer(600)
    for first, last in ((1, 5000), (5001, 5040), (5041, 9000), (9001, 9001)):  # a long start, then live growth
        log(first, last)
        from_sql.update_from_store(store, run_id)
        from_rows.update(store.steps(run_id, since_step=from_rows.last_step))
        assert from_sql.stride == from_rows.stride and from_sql.last_step == from_rows.last_step == last
        a, b = from_sql.frame(), from_rows.frame()
        assert len(a) <= 600
        assert a["step"].tolist() == b["step"].tolist() and a["n"].tolist() == b["n"].tolist()
        for column in ("train_error", "train_loss", "images_per_second", "epoch", "train_seconds", "lr"):
            assert a[column].to_numpy() == pytest.approx(b[column].to_numpy(), rel=1e-12, nan_ok=True), column
    store.close()
