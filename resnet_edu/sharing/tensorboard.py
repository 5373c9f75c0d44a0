"""Runs as TensorBoard event files: ``tensorboard --logdir DIR`` (and W&B's or Aim's importers) show them.

One sub-folder per run, named so a class can read it: the run's name and its start time in this
machine's clock (``plain-56_2026-05-09_14-03-12``). Each holds one event file with, per logged
iteration (the ``step`` of every event; wall time = the run's start + its training seconds):

=======================  ==================================================================
``error/train``          training error of that iteration, a fraction in [0, 1] as in the store
``error/test``           test error, at each evaluation (the end of an epoch)
``loss/train``           training loss; ``loss/test`` the test loss at each evaluation
``lr``                   the learning rate of that iteration
``shortcuts_on/stage N`` 1 while stage N's shortcuts are on, 0 while off: written at the first and
                         last iteration and on both sides of each live switch, so the line is a step
``shortcuts``            (text) each live switch: "iteration 500: shortcuts off"
``run``                  (text, at iteration 0) the run's settings: net, data, recipe, seed, device
=======================  ==================================================================

Values are written as the store holds them: a NaN (a loss never measured) is left out, an
infinite loss (a run that diverged) is kept. Writing a run again replaces its event file.

The writer is ``tensorboardX`` (a pure-Python wheel of under 100 KB whose only dependencies,
numpy, packaging and protobuf, this project installs anyway): its protobuf classes are generated
from TensorBoard's own ``event.proto`` and ``summary.proto``, and its record writer does the
TFRecord framing with the masked CRC32C that readers check. Writing those bytes by hand would
mean keeping protobuf wire encoding and a CRC in this project for the sake of one small wheel;
``torch.utils.tensorboard`` would instead need the whole ``tensorboard`` package (its server,
grpcio, ...) on every classroom laptop. Readers (``tensorboard`` itself) are a test dependency.
"""

from __future__ import annotations

import io
import math
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd

TOGGLE_EVENT = "shortcuts_toggled"
TRAIN_TAGS = {"train_error": "error/train", "train_loss": "loss/train", "lr": "lr"}  # store column -> tag
TEST_TAGS = {"test_error": "error/test", "test_loss": "loss/test"}
SHORTCUT_TAG = "shortcuts_on/stage {stage}"
SWITCHES_TAG, SETTINGS_TAG = "shortcuts", "run"
EVENT_FILE_GLOB = "events.out.tfevents.*"
ZIP_FOLDER = "tensorboard"  # the folder a downloaded zip unpacks to: tensorboard --logdir tensorboard


def run_folder_name(name: str, started_at: str | None) -> str:
    """``plain-56_2026-05-09_14-03-12``: the run's name and start time (local clock), safe as a folder name."""
    safe = re.sub(r"[^\w.+-]+", "-", str(name), flags=re.UNICODE).strip("-.") or "run"
    try:
        when = datetime.fromisoformat(str(started_at)).astimezone().strftime("%Y-%m-%d_%H-%M-%S")
    except (TypeError, ValueError):
        return safe
    return f"{safe}_{when}"


def shortcut_states(stages: int, initially_on: bool, events: pd.DataFrame) -> list[tuple[int, dict[int, bool]]]:
    """[(event step, state of every stage after it)], starting with (0, the state the run was built with).

    A switch logged at step s (the iterations done when it was applied) holds from iteration s + 1.
    """
    state = {stage: bool(initially_on) for stage in range(1, stages + 1)}
    changes = [(0, dict(state))]
    toggles = events[events["kind"] == TOGGLE_EVENT] if len(events) else events
    for row in toggles.itertuples(index=False):
        detail = row.detail if isinstance(row.detail, dict) else {}
        for stage in detail.get("stages") or state:
            if int(stage) in state:
                state[int(stage)] = bool(detail.get("enabled"))
        changes.append((int(row.step), dict(state)))
    return changes


def _settings_text(info: dict) -> str:
    """The run's settings as a Markdown table (TensorBoard's text tab renders it)."""
    config = info.get("config") or {}
    rows = [("name", info.get("name")), ("run id", info.get("run_id")), ("status", info.get("status")),
            ("device", info.get("device")), ("started", info.get("started_at") or info.get("created_at"))]
    rows += [(key, config[key]) for key in ("family", "depth", "shortcuts", "shortcut_type", "dataset", "recipe",
                                            "epochs", "max_steps", "batch_size", "lr", "seed") if key in config]
    lines = ["| setting | value |", "| --- | --- |"]
    lines += [f"| {key} | {str(value).replace('|', '/')} |" for key, value in rows if value is not None]
    return "\n".join(lines)


def _wall_clock_start(info: dict) -> float:
    for key in ("started_at", "created_at"):
        try:
            return datetime.fromisoformat(str(info.get(key))).timestamp()
        except (TypeError, ValueError):
            continue
    return 0.0


def _scalars(values: dict[str, float]) -> list:
    from tensorboardX.proto.summary_pb2 import Summary

    return [Summary.Value(tag=tag, simple_value=float(value)) for tag, value in values.items()
            if value is not None and not (isinstance(value, float) and math.isnan(value))]


def _text(tag: str, text: str):
    """A text summary as TensorBoard 2 writes it: a string tensor with the text plugin's metadata."""
    from tensorboardX.proto.plugin_text_pb2 import TextPluginData
    from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboardX.proto.tensor_pb2 import TensorProto
    from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto

    plugin = SummaryMetadata.PluginData(plugin_name="text", content=TextPluginData(version=0).SerializeToString())
    tensor = TensorProto(dtype="DT_STRING", string_val=[text.encode("utf-8")],
                         tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
    return Summary.Value(tag=tag, metadata=SummaryMetadata(plugin_data=plugin), tensor=tensor)


def _points(store, run_id: str, info: dict) -> dict[int, tuple[float, list]]:
    """{step: (wall time, summary values)}: every value of the run, grouped by the iteration it belongs to."""
    from resnet_edu.models import stage_count
    from resnet_edu.train import TrainConfig
    from resnet_edu.words import toggle_label

    start = _wall_clock_start(info)
    points: dict[int, tuple[float, list]] = {}

    def add(step: int, seconds: float, values: list) -> None:
        if not values:
            return
        wall = start + (seconds if seconds is not None and math.isfinite(seconds) else 0.0)
        old_wall, old_values = points.get(step, (wall, []))
        points[step] = (max(old_wall, wall), old_values + values)

    steps = store.steps(run_id)
    evals = store.evals(run_id)
    for row in steps.itertuples(index=False):
        add(int(row.step), row.train_seconds, _scalars({tag: getattr(row, column) for column, tag in TRAIN_TAGS.items()}))
    for row in evals.itertuples(index=False):
        add(int(row.step), row.train_seconds, _scalars({tag: getattr(row, column) for column, tag in TEST_TAGS.items()}))

    config = TrainConfig.from_dict(info.get("config") or {})
    events = store.events(run_id)
    changes = shortcut_states(stage_count(config.family), config.shortcuts, events)
    logged = sorted(set(steps["step"].astype(int)) | set(evals["step"].astype(int)))
    seconds = dict(zip(steps["step"].astype(int), steps["train_seconds"]))
    seconds.update({s: t for s, t in zip(evals["step"].astype(int), evals["train_seconds"]) if s not in seconds})
    if logged:
        anchors = {logged[0], logged[-1]}
        for switch_step, _ in changes[1:]:
            before = [s for s in logged if s <= switch_step]
            after = [s for s in logged if s > switch_step]
            anchors.update(before[-1:] + after[:1])
        for step in sorted(anchors):
            state = [s for at, s in changes if at < step][-1] if step > 0 else changes[0][1]
            add(step, seconds.get(step), _scalars({SHORTCUT_TAG.format(stage=k): float(on) for k, on in state.items()}))
    for row in events[events["kind"] == TOGGLE_EVENT].itertuples(index=False) if len(events) else ():
        detail = row.detail if isinstance(row.detail, dict) else {}
        add(int(row.step), seconds.get(int(row.step), 0.0),
            [_text(SWITCHES_TAG, f"iteration {int(row.step)}: {toggle_label(detail)}")])
    add(0, 0.0, [_text(SETTINGS_TAG, _settings_text(info))])
    return points


def write_run(store, run_id: str, folder: str | Path, folder_name: str | None = None) -> Path:
    """Write one run's event file into ``folder``/<its name and start time>; returns that sub-folder.

    A sub-folder of that name is emptied of earlier event files first (exporting twice does not
    double the curves).
    """
    from tensorboardX import FileWriter
    from tensorboardX.proto.summary_pb2 import Summary

    info = store.get_run(run_id)
    points = _points(store, run_id, info)
    target = Path(folder) / (folder_name or run_folder_name(info["name"], info.get("started_at") or info.get("created_at")))
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob(EVENT_FILE_GLOB):
        old.unlink()
    writer = FileWriter(str(target), max_queue=1000, flush_secs=3600)
    try:
        for step in sorted(points):
            wall, values = points[step]
            writer.add_summary(Summary(value=values), global_step=step, walltime=wall)
    finally:
        writer.close()
    return target


def write_runs(store, run_ids: Sequence[str], folder: str | Path) -> dict[str, Path]:
    """Write every run into ``folder`` (one sub-folder each, names made unique); {run id: its sub-folder}."""
    names: dict[str, str] = {}
    for run_id in run_ids:
        info = store.get_run(run_id)  # RunNotFound before anything is written
        names[run_id] = run_folder_name(info["name"], info.get("started_at") or info.get("created_at"))
    taken: dict[str, int] = {}
    written = {}
    for run_id in run_ids:
        name = names[run_id]
        taken[name] = taken.get(name, 0) + 1
        unique = name if taken[name] == 1 else f"{name}_{run_id[:8]}"
        written[run_id] = write_run(store, run_id, folder, unique)
    return written


def tensorboard_zip(store, run_ids: Iterable[str]) -> bytes:
    """A zip of the runs' event folders (under ``tensorboard/``): unzip, then ``tensorboard --logdir tensorboard``."""
    run_ids = [r for r in run_ids if store.has_run(r)]
    with tempfile.TemporaryDirectory(prefix="resnet-lab-tb-") as scratch:
        root = Path(scratch) / ZIP_FOLDER
        write_runs(store, run_ids, root)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(scratch).as_posix())
        shutil.rmtree(root, ignore_errors=True)
    return buffer.getvalue()
