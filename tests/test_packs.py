"""Class packs: runs packed on one machine open on another with every number equal, and bad packs change nothing.

The runs are ``tiny_runs`` (tests/conftest.py): plain-8 and ResNet-8 trained for real by the
JobManager (20 iterations, probes every 5th, ``init.pt`` and ``last.pt``), plus a real lesion
study of them run as the training process runs it. Bad packs are made from a good one, one
defect each, as a damaged download or a hostile file would have it.
"""

from __future__ import annotations

import io
import json
import pathlib
import threading
import zipfile

import pytest
import torch

from resnet_edu.cli import main
from resnet_edu.runs import RunStore
from resnet_edu.sharing import packs
from resnet_edu.sharing.packs import BadPack

TABLE_KINDS = ("grad_norm", "response_std")


@pytest.fixture(scope="module")
def packed(tiny_runs_source, tmp_path_factory) -> tuple[bytes, list[str], pathlib.Path]:
    """(the pack's bytes, [plain-8 id, ResNet-8 id], the store it was packed from, with a finished lesion job)."""
    import shutil

    from resnet_edu.engine.tasks import run_job

    source, ids = tiny_runs_source
    folder = tmp_path_factory.mktemp("packed") / "store"
    shutil.copytree(source, folder)
    store = RunStore(folder)
    try:
        job = store.create_analysis("lesion", {"run_ids": ids, "count": 64, "ks": [1], "draws": 1}, ids)
        assert run_job(job, store, torch.device("cpu"), threading.Event()) == "finished"
        data = packs.pack_bytes(store, ids)
    finally:
        store.close()
    return data, list(ids), folder


def _store_state(root: pathlib.Path) -> tuple:
    """What a bad pack must not change: the runs, their rows' count, and every file under the store."""
    with RunStore(root) as store:
        runs = tuple(sorted(store.list_runs()["run_id"]))
        rows = store._read("SELECT (SELECT COUNT(*) FROM steps), (SELECT COUNT(*) FROM events),"
                           " (SELECT COUNT(*) FROM analysis_jobs)", ())[0]
    files = tuple(sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
                         and not p.name.startswith("runs.sqlite")))
    return runs, rows, files


def _rewrite(data: bytes, *, replace: dict | None = None, add: dict | None = None, manifest=None) -> bytes:
    """The pack with members replaced or added, and the manifest edited by ``manifest(dict)``; sizes kept listed."""
    replace, add = dict(replace or {}), dict(add or {})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w") as new:
        listing = json.loads(old.read(packs.MANIFEST))
        for name, content in {**replace, **add}.items():
            listing["files"][name] = len(content)
        if manifest is not None:
            manifest(listing)
        for info in old.infolist():
            if info.filename == packs.MANIFEST:
                continue
            new.writestr(info.filename, replace.get(info.filename, old.read(info.filename)))
        for name, content in add.items():
            new.writestr(name, content)
        new.writestr(packs.MANIFEST, json.dumps(listing))
    return out.getvalue()


def _checkpoint(data: bytes, run_id: str, name: str = "last.pt") -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return torch.load(io.BytesIO(zf.read(f"checkpoints/{run_id}/{name}")), weights_only=True)


def _saved(payload) -> bytes:
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


# ------------------------------------------------------------------ the round trip


def test_a_pack_opens_in_a_fresh_store_with_every_number_equal(packed, tmp_path):
    data, ids, source_root = packed
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read(packs.MANIFEST))
    assert {f"checkpoints/{r}/{f}" for r in ids for f in ("init.pt", "last.pt")} <= names
    assert manifest["format"] == packs.PACK_FORMAT and manifest["format_version"] == packs.PACK_VERSION
    assert [r["name"] for r in manifest["runs"]] == ["plain-8", "ResNet-8"]
    assert {"user", "host", "device", "date", "app_version"} <= set(manifest["runs"][0]["trained_by"])
    assert manifest["runs"][0]["config"]["depth"] == 8

    with RunStore(source_root) as before, RunStore(tmp_path / "class") as after:
        result = packs.unpack(after, data, pack_name="fig.zip")
        assert result.imported == ids and not result.skipped and result.analyses == 1 and result.checkpoints == 4
        assert "Opened 2 run(s): plain-8, ResNet-8" in result.sentence()
        assert "실행 2개를 열었습니다" in result.sentence("ko")
        for run_id in ids:
            old, new = before.get_run(run_id), after.get_run(run_id)
            for key in ("name", "group_id", "status", "config", "device", "versions", "created_at", "steps_done",
                        "total_steps", "last_checkpoint_step"):
                assert new[key] == old[key], key
            assert old["imported"] is None
            assert new["imported"]["pack"] == "fig.zip"
            assert new["imported"]["trained_by"]["device"] == "cpu"
            assert before.steps(run_id).equals(after.steps(run_id))
            assert before.evals(run_id).equals(after.evals(run_id))
            for kind in TABLE_KINDS:
                assert len(before.layer_stats(run_id, kind)) > 0
                assert before.layer_stats(run_id, kind).equals(after.layer_stats(run_id, kind))
            old_events, new_events = before.events(run_id), after.events(run_id)
            assert new_events["kind"].tolist() == old_events["kind"].tolist() + ["imported"]
            assert new_events.iloc[:-1][["step", "kind", "created_at"]].equals(old_events[["step", "kind", "created_at"]])
            for name in ("init.pt", "last.pt"):
                assert (after.checkpoint_dir(run_id) / name).read_bytes() == \
                       (before.checkpoint_dir(run_id) / name).read_bytes()
            assert after.latest_checkpoint(run_id) == after.root / "checkpoints" / run_id / "last.pt"
        job = after.get_analysis(after.latest_analysis("lesion", ids))
        assert job["result"] == before.get_analysis(before.latest_analysis("lesion", ids))["result"]
        assert not list(after.root.glob(".unpacking-*"))  # nothing left beside the store

        again = packs.unpack(after, data)  # the same pack twice: skipped with a sentence, nothing doubled
        assert again.imported == [] and [r for r, _ in again.skipped] == ids
        assert "Nothing new" in again.sentence() and "already in this store" in again.sentence()
        assert len(after.steps(ids[0])) == len(before.steps(ids[0]))


def test_an_imported_run_loads_as_a_model_and_is_never_resumed(packed, tmp_path):
    from resnet_edu.engine import JobManager
    from resnet_edu.train import model_from_checkpoint

    data, ids, _ = packed
    store = RunStore(tmp_path / "class")
    packs.unpack(store, data)
    model, config, info = model_from_checkpoint(store.latest_checkpoint(ids[1]))
    assert config.depth == 8 and config.shortcuts and info["num_classes"] == 10
    store.set_status(ids[1], "stopped")  # as if it had been stopped: still not resumed into
    manager = JobManager(store, device="cpu")
    try:
        with pytest.raises(ValueError, match="opened from a class pack .*not resumed here"):
            manager.resume(ids[1])
        assert store.get_run(ids[1])["status"] == "stopped"
    finally:
        manager.shutdown()


def test_the_command_line_packs_a_group_and_opens_it_elsewhere(packed, tiny_runs, tmp_path, monkeypatch, capsys):
    _, ids, _ = packed
    with RunStore(tiny_runs) as store:
        group = store.get_run(ids[0])["group_id"]
    pack = tmp_path / "fig.zip"
    assert main(["runs", "pack", "--group", group, "-o", str(pack)]) == 0
    written = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert written["runs"] == ids and written["checkpoints"] == 4 and written["bytes"] == pack.stat().st_size
    monkeypatch.setenv("RESNET_EDU_RUNS_DIR", str(tmp_path / "class"))
    assert main(["runs", "unpack", str(pack), "--json"]) == 0
    opened = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert opened["imported"] == ids and opened["skipped"] == []
    assert main(["runs", "list"]) == 0
    listing = capsys.readouterr().out
    assert "trained by" in listing and "plain-8" in listing
    assert main(["runs", "unpack", str(pack)]) == 0
    assert "already in this store" in capsys.readouterr().out
    assert main(["runs", "resume", ids[0]]) == 2
    assert "class pack" in capsys.readouterr().err


@pytest.mark.parametrize("args,message", [
    (["runs", "pack", "-o", "x.zip"], "say which runs"),
    (["runs", "pack", "rnope0000", "-o", "x.zip"], "no run with id"),
    (["runs", "pack", "--group", "gnone", "-o", "x.zip"], "no runs in group"),
    (["runs", "pack", "rnope0000", "-o", "/nonexistent/x.zip"], "does not exist"),
    (["runs", "unpack", "/nonexistent/pack.zip"], "does not exist"),
])
def test_bad_pack_commands_exit_2_with_one_line(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_a_run_still_training_is_not_packed(store):
    run_id = store.create_run("plain-8", {"depth": 8}, status="running")
    with pytest.raises(ValueError, match="still running: stop it"):
        packs.pack_bytes(store, [run_id])


# ------------------------------------------------------------------ bad packs


class NotATensor:  # a pickled object where a tensor should be
    pass


def _bad_packs(data: bytes, ids: list[str]) -> dict[str, tuple[bytes, str]]:
    plain = ids[0]
    last = f"checkpoints/{plain}/last.pt"
    payload = _checkpoint(data, plain)
    pickled = _saved({**payload, "model": {**payload["model"], "fc.weight": NotATensor()}})
    missing = _saved({**payload, "model": {k: v for k, v in payload["model"].items() if k != "fc.weight"}})
    resized = _saved({**payload, "model": {**payload["model"], "fc.weight": torch.zeros(10, 32)}})

    def twice(manifest):
        manifest["runs"].append(dict(manifest["runs"][0]))

    def newer(manifest):
        manifest["format_version"] = packs.PACK_VERSION + 1

    return {
        "not a zip": (b"these are not the runs you are looking for" * 100, "not a zip file"),
        "truncated": (data[: len(data) // 2], "incomplete zip file"),
        "newer format": (_rewrite(data, manifest=newer), "newer ResNet Lab"),
        "zip slip": (_rewrite(data, add={"../../outside.pt": b"x"}), "leads outside its folder"),
        "zip slip inside a run": (_rewrite(data, add={f"checkpoints/{plain}/../../../evil.pt": b"x"}),
                                  "leads outside its folder"),
        "absolute path": (_rewrite(data, add={"/tmp/evil.pt": b"x"}), "leads outside its folder"),
        "a stray file": (_rewrite(data, add={"run.sh": b"rm -rf /"}), "never has"),
        "pickled object": (_rewrite(data, replace={last: pickled}), "would run code"),
        "a missing tensor": (_rewrite(data, replace={last: missing}), "does not match its run's net"),
        "a tensor of the wrong shape": (_rewrite(data, replace={last: resized}), "does not match its run's net"),
        "not a checkpoint": (_rewrite(data, replace={last: b"\x00" * 100}), "not a readable checkpoint"),
        "duplicate run ids": (_rewrite(data, manifest=twice), "lists run"),
        "damaged metrics": (_rewrite(data, replace={f"runs/{plain}/run.json": b"{\"run\": 3"}), "not readable JSON"),
    }


@pytest.mark.parametrize("defect", ["not a zip", "truncated", "newer format", "zip slip", "zip slip inside a run",
                                    "absolute path", "a stray file", "pickled object", "a missing tensor",
                                    "a tensor of the wrong shape", "not a checkpoint", "duplicate run ids",
                                    "damaged metrics"])
def test_a_bad_pack_is_refused_and_the_store_is_unchanged(packed, tiny_twins_dir, defect, capsys):
    data, ids, _ = packed
    bad, message = _bad_packs(data, ids)[defect]
    root, _ = tiny_twins_dir  # a store with runs of its own (the twins)
    before = _store_state(root)
    with RunStore(root) as store, pytest.raises(BadPack, match=message):
        packs.unpack(store, bad)
    assert _store_state(root) == before
    file = root.parent / "bad.zip"
    file.write_bytes(bad)
    assert main(["runs", "unpack", str(file)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message.split()[0] in err[0] and "Traceback" not in err[0], err
    assert _store_state(root) == before


def test_a_pack_bigger_than_the_free_disk_is_refused(packed, tmp_path):
    data, _, _ = packed
    with RunStore(tmp_path / "class") as store:
        with pytest.raises(BadPack, match="free some space"):
            packs.unpack(store, data, free_space=lambda folder: 1_000_000)
        assert store.list_runs().empty
    assert not (tmp_path / "class" / "checkpoints").exists() or not any((tmp_path / "class" / "checkpoints").iterdir())


def test_a_store_that_fails_mid_commit_takes_back_the_checkpoints(packed, tmp_path, monkeypatch):
    """The rows go in one transaction after the files are moved: a failing commit leaves neither."""
    data, ids, _ = packed
    store = RunStore(tmp_path / "class")
    real = store._transaction

    def failing(work):
        def fail(conn):
            work(conn)
            raise OSError(28, "No space left on device")
        return real(fail)

    monkeypatch.setattr(store, "_transaction", failing)
    with pytest.raises(OSError):
        packs.unpack(store, data)
    monkeypatch.setattr(store, "_transaction", real)
    assert store.list_runs().empty
    assert not any((store.root / "checkpoints" / r).exists() for r in ids)
    assert not list(store.root.glob(".unpacking-*"))
    store.close()


# ------------------------------------------------------------------ the app on an imported pack


@pytest.fixture
def imported_store(packed, tmp_path, monkeypatch):
    """RESNET_EDU_RUNS_DIR = a fresh store holding only the pack's runs (as a class machine has them)."""
    import streamlit as st

    data, ids, _ = packed
    root = tmp_path / "class"
    with RunStore(root) as store:
        packs.unpack(store, data, pack_name="fig.zip")
    monkeypatch.setenv("RESNET_EDU_RUNS_DIR", str(root))
    st.cache_resource.clear()
    yield root, ids
    st.cache_resource.clear()


@pytest.mark.slow
def test_every_page_draws_the_imported_runs(imported_store):
    from page_helpers import charts, open_page
    from page_tasks import wait_for_task

    _, ids = imported_store
    at = open_page("app_pages/degradation.py", "en")
    assert {t["name"] for t in charts(at)[0]["data"] if t.get("name")} >= {"plain-8", "ResNet-8"}
    assert not at.get("download_button")[-1].proto.disabled  # and it can be packed again
    at = open_page("app_pages/gradients.py", "en")
    assert len(charts(at)) == 3  # ratio over time, the heatmaps, Fig. 7's layer responses
    at = open_page("app_pages/features.py", "en")
    assert wait_for_task("features")["status"] == "finished"  # the views are computed in the training process
    at.run()
    assert sorted(m.label for m in at.metric) == ["ResNet-8", "plain-8"] and len(charts(at)) == 3
    at = open_page("app_pages/lesion.py", "ko")
    assert len(charts(at)) == 2  # the lesion study that came with the pack: single blocks, k random blocks
    at = open_page("app_pages/landscape.py", "en")
    assert at.selectbox(key="landscape_run").value == ids[1]
    assert at.selectbox(key="landscape_other").value == ids[0]
    at = open_page("app_pages/lab.py", "en")
    (table,) = [d.value for d in at.dataframe if "from a class pack" in d.value.columns]
    assert "trained by" in " ".join(table["from a class pack"]) and set(table["run id"]) == set(ids)
    assert not [b for b in at.button if b.key and b.key.startswith("lab_resume_")]  # never resumed


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_lab_opens_an_uploaded_pack_and_says_so(packed, runs_dir, lang):
    from page_helpers import open_page

    data, ids, _ = packed
    at = open_page("app_pages/lab.py", lang)
    at.file_uploader(key="lab_pack_upload").set_value(("not-a-pack.zip", b"hello", "application/zip")).run()
    at.button(key="lab_pack_open").click().run()
    assert not at.exception, at.exception
    assert "not a zip file" in at.error[0].value
    with RunStore(runs_dir) as store:
        assert store.list_runs().empty
    at.file_uploader(key="lab_pack_upload").set_value(("fig.zip", data, "application/zip")).run()
    at.button(key="lab_pack_open").click().run()
    assert not at.exception, at.exception
    words = at.success[0].value
    assert ("Opened 2 run(s): plain-8, ResNet-8" if lang == "en" else "실행 2개를 열었습니다") in words
    with RunStore(runs_dir) as store:
        assert sorted(store.list_runs()["run_id"]) == sorted(ids)
        assert store.get_run(ids[0])["imported"]["pack"] == "fig.zip"


def test_with_a_passcode_only_the_teacher_opens_a_pack(runs_dir, monkeypatch):
    from page_helpers import open_page

    monkeypatch.setenv("RESNET_EDU_TEACHER_PASSCODE", "sesame")
    at = open_page("app_pages/lab.py", "en")
    assert at.file_uploader(key="lab_pack_upload").disabled
    assert at.button(key="lab_pack_open").disabled
