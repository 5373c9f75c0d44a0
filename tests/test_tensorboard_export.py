"""TensorBoard event files of runs, read back with TensorBoard's own reader: the same numbers as the store.

The run is real: a ResNet-8 trained for a few iterations on the built-in data set, with two live
shortcut switches (stage 2 off, then every stage on) and two evaluations.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import torch

pytest.importorskip("tensorboard", reason="the reader of the read-back test (requirements-dev.txt)")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from resnet_edu.cli import main  # noqa: E402
from resnet_edu.sharing import tensorboard  # noqa: E402

STEPS = 12
OFF_AFTER, ON_AFTER = 4, 8  # iterations done when stage 2 is switched off, then every stage on


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(store folder, run id): ResNet-8, 12 iterations, switched live twice, evaluated at 6 and 12."""
    from resnet_edu.data import make_synthetic, normalize
    from resnet_edu.runs import RunStore
    from resnet_edu.train import TrainConfig, Trainer

    folder = tmp_path_factory.mktemp("tb_run") / "runs"
    dataset = make_synthetic(num_train=256, num_test=64, seed=0)
    config = TrainConfig(depth=8, epochs=1, max_steps=STEPS, batch_size=16, probe_every=0, max_train_images=256,
                         precision="fp32", name="ResNet-8 / switched")
    with RunStore(folder) as store:
        run_id = store.create_run(config.run_name, config, status="running")
        trainer = Trainer(config, num_classes=10, steps_per_epoch=STEPS, store=store, run_id=run_id, read_every=1)
        generator = torch.Generator().manual_seed(0)
        test = [(normalize(dataset.test_images[:64], dataset.mean, dataset.std), dataset.test_labels[:64])]
        for _ in range(STEPS):
            if trainer.step == OFF_AFTER:
                trainer.request_shortcuts(False, [2])
            if trainer.step == ON_AFTER:
                trainer.request_shortcuts(True)
            pick = torch.randint(0, 256, (16,), generator=generator)
            trainer.train_step(normalize(dataset.train_images[pick], dataset.mean, dataset.std),
                               dataset.train_labels[pick])
            if trainer.step % 6 == 0:
                trainer.evaluate(test)
        trainer.read_metrics()
        store.set_status(run_id, "finished")
    return folder, run_id


def _read(folder):
    reader = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    reader.Reload()
    return reader


def _scalars(reader, tag) -> dict[int, float]:
    return {event.step: event.value for event in reader.Scalars(tag)}


def test_tensorboard_reads_the_numbers_of_the_store(trained, tmp_path):
    from resnet_edu.runs import RunStore

    folder, run_id = trained
    with RunStore(folder) as store:
        written = tensorboard.write_runs(store, [run_id], tmp_path / "tb")
        steps, evals, info = store.steps(run_id), store.evals(run_id), store.get_run(run_id)
    sub = written[run_id]
    assert sub.parent == tmp_path / "tb" and sub.name.startswith("ResNet-8-switched_20"), sub.name
    reader = _read(sub)

    assert len(steps) == STEPS and len(evals) == 2
    for column, tag in tensorboard.TRAIN_TAGS.items():
        got = _scalars(reader, tag)
        assert list(got) == steps["step"].tolist()
        np.testing.assert_array_equal(np.float32(list(got.values())), steps[column].to_numpy(np.float32))
    for column, tag in tensorboard.TEST_TAGS.items():
        got = _scalars(reader, tag)
        assert list(got) == [6, 12]
        np.testing.assert_array_equal(np.float32(list(got.values())), evals[column].to_numpy(np.float32))
    # Wall time: the run's start plus its training seconds, so TensorBoard's "relative" axis is training time.
    walls = {event.step: event.wall_time for event in reader.Scalars("error/train")}
    started = tensorboard._wall_clock_start(info)
    assert walls[STEPS] == pytest.approx(started + steps["train_seconds"].iloc[-1], abs=1e-3)

    # Shortcuts: stage 2 off from iteration 5 to 8, on again from 9; stages 1 and 3 on throughout.
    stage2 = _scalars(reader, "shortcuts_on/stage 2")
    assert stage2 == {1: 1.0, OFF_AFTER: 1.0, OFF_AFTER + 1: 0.0, ON_AFTER: 0.0, ON_AFTER + 1: 1.0, STEPS: 1.0}
    assert set(_scalars(reader, "shortcuts_on/stage 1").values()) == {1.0}
    assert set(_scalars(reader, "shortcuts_on/stage 3").values()) == {1.0}
    switches = {event.step: event.tensor_proto.string_val[0].decode() for event in reader.Tensors("shortcuts")}
    assert switches == {OFF_AFTER: f"iteration {OFF_AFTER}: stage 2 off", ON_AFTER: f"iteration {ON_AFTER}: shortcuts on"}
    settings = reader.Tensors("run")[0].tensor_proto.string_val[0].decode()
    assert "| depth | 8 |" in settings and f"| run id | {run_id} |" in settings

    # Exported again: the event file is replaced, not added to (TensorBoard would draw every point twice).
    with RunStore(folder) as store:
        tensorboard.write_runs(store, [run_id], tmp_path / "tb")
    assert len(list(sub.glob(tensorboard.EVENT_FILE_GLOB))) == 1
    assert len(_read(sub).Scalars("lr")) == STEPS


def test_a_zip_of_event_folders_for_the_app(trained, tmp_path):
    from resnet_edu.runs import RunStore

    folder, run_id = trained
    with RunStore(folder) as store:
        data = tensorboard.tensorboard_zip(store, [run_id, run_id + "-deleted-since"])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert len(names) == 1 and names[0].startswith("tensorboard/ResNet-8-switched_"), names
        archive.extractall(tmp_path)
    reader = _read((tmp_path / names[0]).parent)
    assert len(reader.Scalars("error/train")) == STEPS


def test_the_cli_writes_one_folder_per_run_of_a_group(trained, tmp_path, monkeypatch, capsys):
    import shutil

    from resnet_edu.runs import RunStore

    source, run_id = trained
    runs = tmp_path / "runs"
    shutil.copytree(source, runs)
    monkeypatch.setenv("RESNET_EDU_RUNS_DIR", str(runs))
    with RunStore(runs) as store:  # a second run of the same name and start, in one group with the first
        info = store.get_run(run_id)
        twin = store.create_run(info["name"], info["config"], group_id="lesson", status="finished")
    out = tmp_path / "tb"
    assert main(["runs", "export", run_id, twin, "--tensorboard", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    folders = {run["run_id"]: run["folder"] for run in summary["runs"]}
    assert set(folders) == {run_id, twin} and len(set(folders.values())) == 2
    assert summary["open_with"] == f"tensorboard --logdir {out}"
    assert len(_read(folders[run_id]).Scalars("error/train")) == STEPS
    assert main(["runs", "export", "--group", "lesson", "--tensorboard", str(tmp_path / "group")]) == 0
    grouped = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert twin in {run["run_id"] for run in grouped["runs"]}


@pytest.mark.parametrize("args,message", [
    (["runs", "export", "--tensorboard", "DIR"], "say which runs"),
    (["runs", "export", "nope", "--tensorboard", "DIR"], "no run with id 'nope'"),
    (["runs", "export", "--group", "nope", "--tensorboard", "DIR"], "no runs in group 'nope'"),
    (["runs", "export", "a", "b", "--csv"], "one RUN_ID"),
    (["runs", "export", "--group", "g", "--csv"], "one RUN_ID"),
])
def test_bad_tensorboard_exports_exit_2_with_one_line(args, message, tmp_path, capsys):
    args = [str(tmp_path / "tb") if a == "DIR" else a for a in args]
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert not (tmp_path / "tb").exists(), "nothing written"


def test_a_file_in_place_of_the_folder_is_one_line(trained, tmp_path, monkeypatch, capsys):
    source, run_id = trained
    monkeypatch.setenv("RESNET_EDU_RUNS_DIR", str(source))
    blocker = tmp_path / "tb"
    blocker.write_text("a teacher's notes")
    assert main(["runs", "export", run_id, "--tensorboard", str(blocker)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"{blocker} is a file, not a folder" in lines[0], lines
    assert blocker.read_text() == "a teacher's notes"
