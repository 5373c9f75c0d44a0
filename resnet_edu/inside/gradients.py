"""Reading the gradient norms and layer responses of nets: at initialisation, and as a run recorded them.

The trainer records two measurements every few steps (:mod:`resnet_edu.train.probes`): the L2
norm of every convolution's weight gradient, and the std of each 3x3 layer's response (Fig. 7).
Here they are read as the paper reads them: the first-to-last layer ratio (is the gradient
vanishing?), the same at initialisation for fresh nets (:func:`measure_at_init`), a layer ×
iteration matrix for the heat map, a net's response profile at one iteration.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from resnet_edu.models import net_name, on_main_path
from resnet_edu.train.probes import (
    ResponseRecorder,
    conv_gradient_norms,
    conv_weight_norms,
    relative_norms,
)

# --------------------------------------------------------------------------- one-off measurements

def _first_last_convs(names: list[str]) -> tuple[str, str] | None:
    """The first and the last conv on the main path (projection shortcuts excluded)."""
    main = [n for n in names if on_main_path(n)]
    return (main[0], main[-1]) if len(main) >= 2 else None


def first_last_ratio(norms: dict[str, float]) -> float:
    """Gradient norm of the first conv divided by that of the last conv (nan if undefined).

    Raw norms of the first conv and the last compare tensors of very different size
    (:func:`first_last_weight_counts`: 432 and 36,864 weights in a CIFAR net), so a ratio below 1
    is not by itself a sign of vanishing gradients (:func:`equal_gradient_ratio`: about 0.11 when
    every weight gets the same gradient); pass :func:`relative_norms` to compare the steps SGD
    takes, relative to each layer's weights.
    """
    pair = _first_last_convs(list(norms))
    if pair is None:
        return float("nan")
    first, last = norms[pair[0]], norms[pair[1]]
    return float(first / last) if last > 0 else float("inf")


def first_last_weight_counts(family: str = "cifar", depth: int = 20) -> tuple[int, int]:
    """(weights of the first conv, weights of the last conv) on the main path, counted on the real net.

    Built on the meta device (nothing is allocated). The same for every depth of a family: the
    first conv sees the image, the last belongs to the widest stage.
    """
    from resnet_edu.models import build_model

    with torch.device("meta"):
        model = build_model(family, depth)
    counts = {name: module.weight.numel() for name, module in model.named_modules() if isinstance(module, nn.Conv2d)}
    first, last = _first_last_convs(list(counts))
    return counts[first], counts[last]


def equal_gradient_ratio(first_weights: int, last_weights: int) -> float:
    """The first/last ratio of raw gradient norms if every weight got the same gradient: sqrt(first / last)."""
    return float(np.sqrt(first_weights / last_weights))


# A reference measurement the Gradients page quotes: first/last conv ‖∇W‖ of fresh nets (He
# initialisation, seed 0) on one batch of 128 real CIFAR-10 training images, as the page's
# "Measure at initialisation" does it (measure_at_init) with CIFAR-10 and a batch of 128.
REFERENCE_RATIOS_AT_INIT = {"plain-56": 1558.0, "ResNet-56": 5.8, "plain-20": 8.8}
REFERENCE_PLAIN56_NORMS = (435.0, 0.28)  # plain-56's first and last conv ‖∇W‖ in that measurement


def measure(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict:
    """One training-mode forward/backward on a batch: what the trainer would record at that step.

    The model's weights are not changed (no optimizer step), but BN running statistics are
    updated as in a real step, and parameter gradients are left behind; pass a copy when
    that matters.

    Returns:
        {"grad_norm": {conv: ‖∇W‖}, "weight_norm": {conv: ‖W‖}, "relative": {conv: ‖∇W‖/‖W‖},
        "response_std": {bn: std}, "ratio": first/last conv ‖∇W‖, "relative_ratio": first/last
        conv ‖∇W‖/‖W‖, "first": name, "last": name, "loss": cross-entropy of the batch}.
    """
    was_training = model.training
    model.train()
    recorder = ResponseRecorder(model)
    try:
        model.zero_grad(set_to_none=True)
        recorder.armed = True
        logits = model(x)
        responses = recorder.collect()
        loss = nn.functional.cross_entropy(logits.float(), y)
        loss.backward()
        norms = conv_gradient_norms(model)
    finally:
        recorder.remove()
        model.train(was_training)
    pair = _first_last_convs(list(norms)) or ("", "")
    weights = conv_weight_norms(model)
    relative = relative_norms(norms, weights)
    return {"grad_norm": norms, "weight_norm": weights, "relative": relative, "response_std": responses,
            "ratio": first_last_ratio(norms), "relative_ratio": first_last_ratio(relative),
            "first": pair[0], "last": pair[1], "loss": float(loss.detach())}


def measure_at_init(family: str, depth: int, shortcuts: bool, batch: tuple[torch.Tensor, torch.Tensor], *,
                    seed: int = 0, num_classes: int | None = None, **opts) -> dict:
    """Gradient norms and layer responses of a freshly initialised net on one batch.

    The test of the "vanishing gradients" story that needs no training: build the net with
    He initialisation (Sec. 3.4), run one training-mode forward/backward on ``batch`` and
    measure. The global random state is left untouched.

    Args:
        family, depth, shortcuts, **opts: as for :func:`resnet_edu.models.build_model`.
        batch: ``(x, y)``, normalised images (B, 3, H, W) and int64 labels (B,).
        seed: initialisation seed.
        num_classes: size of the output layer (default: ``max(y) + 1``, at least 10).

    Returns:
        :func:`measure`'s dict plus ``name`` (e.g. "plain-56"), ``depth``, ``shortcuts``.
    """
    from resnet_edu.models import build_model

    x, y = batch
    if num_classes is None:
        num_classes = max(10, int(y.max()) + 1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(family, depth, num_classes=num_classes, shortcuts=shortcuts, **opts)
    result = measure(model, x, y)
    result.update(name=net_name(family, depth, shortcuts, opts.get("shortcut_type")), depth=depth, shortcuts=shortcuts)
    return result


INIT_DATASETS = ("synthetic", "cifar10")


def init_batch(dataset: str, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch of ``dataset`` ("synthetic" or "cifar10"), normalised with its own statistics (the same every time)."""
    from resnet_edu import data

    if dataset not in INIT_DATASETS:
        raise ValueError(f"unknown data set {dataset!r}: use one of {', '.join(INIT_DATASETS)}")
    if dataset == "cifar10":
        from resnet_edu.data.loaded import cached_dataset

        full = cached_dataset("cifar10")
        images, labels, mean, std = full.train_images[:batch_size], full.train_labels[:batch_size], full.mean, full.std
    else:
        small = data.make_synthetic(num_train=batch_size, num_test=1, seed=0)
        images, labels, mean, std = small.train_images, small.train_labels, small.mean, small.std
    return data.normalize(images, mean, std), labels


def init_gradients_job(context) -> dict:
    """Analysis kind "gradients_at_init": :func:`measure_at_init` for every (depth, shortcuts) asked for.

    ``context.params``: ``dataset``, ``depths`` (list), ``shortcuts`` (list of bools), ``batch``. Each net's
    measurement is published as soon as it is ready, plain nets first; a net of 110 layers takes seconds.

    Returns:
        ``{"nets": [measure_at_init's dict, ...], "dataset", "batch"}``.
    """
    params = context.params
    nets = [(int(depth), bool(shortcuts)) for shortcuts in sorted(set(params.get("shortcuts") or []))
            for depth in sorted(set(params.get("depths") or []))]
    if not nets:
        raise ValueError("choose at least one depth and one kind")
    batch_size = int(params.get("batch", 128))
    dataset = str(params.get("dataset", "synthetic"))
    context.report(0.0, "loading the data")
    try:
        batch = init_batch(dataset, batch_size)
    except Exception as error:  # CIFAR-10 not downloaded and offline: the reason, for the page to show
        raise ValueError(f"could not load the data: {error}") from error
    result: dict = {"nets": [], "dataset": dataset, "batch": batch_size}
    for index, (depth, shortcuts) in enumerate(nets):
        if context.stopped():
            break
        context.report(index / len(nets), f"measuring {net_name('cifar', depth, shortcuts)}")
        result["nets"].append(measure_at_init("cifar", depth, shortcuts, batch, seed=0))
        context.publish(result)
    return result


# --------------------------------------------------------------------------- reading recorded stats
# The trainer stores layer stats as long frames (step, layer, layer_index, value); these
# helpers reshape them for the Gradients page, with no Streamlit and no plotting.

def stage_of_layer(name: str) -> int:
    """0 for the stem ("conv1", "bn1"), else the stage number of "layerK.…"."""
    head = name.split(".")[0]
    return int(head.removeprefix("layer")) if head.startswith("layer") else 0


def layer_order(stats: pd.DataFrame) -> list[str]:
    """Layer names in depth order (by the recorded layer_index)."""
    if stats.empty:
        return []
    first = stats.sort_values("layer_index").drop_duplicates("layer")
    return first["layer"].tolist()


def layer_step_matrix(stats: pd.DataFrame, main_path_only: bool = True) -> pd.DataFrame:
    """Wide table: one row per layer (depth order), one column per recorded step."""
    if stats.empty:
        return pd.DataFrame()
    if main_path_only:
        stats = stats[stats["layer"].map(on_main_path)]
    table = stats.pivot_table(index="layer", columns="step", values="value", aggfunc="last")
    return table.reindex([n for n in layer_order(stats) if n in table.index])


def ratio_over_time(stats: pd.DataFrame) -> pd.DataFrame:
    """First-conv / last-conv gradient norm at each recorded step.

    Columns: step, first_layer, last_layer, first, last, ratio.
    """
    columns = ["step", "first_layer", "last_layer", "first", "last", "ratio"]
    matrix = layer_step_matrix(stats)
    if matrix.shape[0] < 2:
        return pd.DataFrame(columns=columns)
    first_name, last_name = matrix.index[0], matrix.index[-1]
    first, last = matrix.loc[first_name], matrix.loc[last_name]
    frame = pd.DataFrame({"step": matrix.columns.astype(int), "first_layer": first_name, "last_layer": last_name,
                          "first": first.to_numpy(), "last": last.to_numpy()})
    frame["ratio"] = frame["first"] / frame["last"].where(frame["last"] > 0)
    return frame.dropna(subset=["first", "last"]).reset_index(drop=True)[columns]


def profile_at(stats: pd.DataFrame, step: int | None = None) -> pd.DataFrame:
    """Per-layer values at one recorded step (default: the latest), for Fig. 7.

    Columns: step, layer, layer_index (0, 1, … in depth order), stage, value, rank
    (1 = largest value, the paper's "sorted by magnitude").
    """
    columns = ["step", "layer", "layer_index", "stage", "value", "rank"]
    if stats.empty:
        return pd.DataFrame(columns=columns)
    step = int(stats["step"].max()) if step is None else int(step)
    frame = stats[stats["step"] == step].sort_values("layer_index").reset_index(drop=True)
    frame = frame.assign(layer_index=range(len(frame)), stage=frame["layer"].map(stage_of_layer))
    frame["rank"] = frame["value"].rank(ascending=False, method="first").astype(int)
    return frame[columns]


def init_norms_frame(results: list[dict]) -> pd.DataFrame:
    """Long frame of :func:`measure_at_init` results: name, depth, shortcuts, layer, layer_index,
    grad_norm (‖∇W‖), weight_norm (‖W‖) and relative (‖∇W‖ / ‖W‖)."""
    columns = ["name", "depth", "shortcuts", "layer", "layer_index", "grad_norm", "weight_norm", "relative"]
    rows = []
    for result in results:
        names = [n for n in result["grad_norm"] if on_main_path(n)]
        weights = result.get("weight_norm", {})
        relative = result.get("relative", {})
        for index, name in enumerate(names):
            rows.append({"name": result["name"], "depth": result["depth"], "shortcuts": result["shortcuts"],
                         "layer": name, "layer_index": index, "grad_norm": result["grad_norm"][name],
                         "weight_norm": weights.get(name, float("nan")), "relative": relative.get(name, float("nan"))})
    return pd.DataFrame(rows, columns=columns)


def checkpoint_weight_norms(path) -> tuple[int, dict[str, float]]:
    """(iteration, {conv name: ‖W‖}) of a run's checkpoint: the weights the recorded gradients belong to.

    The trainer records ‖∇W‖ only; a checkpoint holds the weights, so ‖∇W‖ / ‖W‖ can be read
    at the iterations where one was saved. Conv weights are the 4-D ``*.weight`` tensors.
    ValueError for a file that is not a ResNet Lab checkpoint.
    """
    from resnet_edu.train.checkpoint import load_checkpoint

    payload = load_checkpoint(path)
    weights = {key.removesuffix(".weight"): tensor for key, tensor in payload["model"].items()
               if key.endswith(".weight") and tensor.dim() == 4}
    if not weights:
        return int(payload.get("step", 0)), {}
    norms = torch.stack([torch.linalg.vector_norm(w.float()) for w in weights.values()]).tolist()
    return int(payload.get("step", 0)), dict(zip(weights, norms))


def relative_ratio_at(stats: pd.DataFrame, step: int, weight_norms: dict[str, float]) -> dict[str, float]:
    """First/last conv ‖∇W‖ / ‖W‖ from the gradient norms recorded last at or before ``step``.

    Returns {"step": the recorded iteration used, "ratio": first/last of ‖∇W‖/‖W‖} (nan when
    nothing was recorded by then).
    """
    recorded = stats[stats["step"] <= step] if len(stats) else stats
    if recorded.empty or not weight_norms:
        return {"step": float("nan"), "ratio": float("nan")}
    at = int(recorded["step"].max())
    rows = recorded[recorded["step"] == at].sort_values("layer_index")
    grads = dict(zip(rows["layer"], rows["value"].astype(float)))
    return {"step": at, "ratio": first_last_ratio(relative_norms(grads, weight_norms))}


def ratio_summary(ratios: pd.DataFrame) -> dict[str, float]:
    """The first and the latest recorded ratio of :func:`ratio_over_time` (nan when missing).

    Keys: first_step, first_ratio, last_step, last_ratio, min_ratio, max_ratio.
    """
    finite = ratios[np.isfinite(ratios["ratio"].astype("float64"))] if len(ratios) else ratios
    if finite.empty:
        nan = float("nan")
        return {"first_step": nan, "first_ratio": nan, "last_step": nan, "last_ratio": nan,
                "min_ratio": nan, "max_ratio": nan}
    return {"first_step": int(finite["step"].iloc[0]), "first_ratio": float(finite["ratio"].iloc[0]),
            "last_step": int(finite["step"].iloc[-1]), "last_ratio": float(finite["ratio"].iloc[-1]),
            "min_ratio": float(finite["ratio"].min()), "max_ratio": float(finite["ratio"].max())}


def thin_columns(matrix: pd.DataFrame, max_columns: int = 200) -> pd.DataFrame:
    """At most ``max_columns`` evenly spaced columns (the first and the last always kept)."""
    if matrix.shape[1] <= max_columns:
        return matrix
    keep = np.unique(np.linspace(0, matrix.shape[1] - 1, max_columns).round().astype(int))
    return matrix.iloc[:, keep]
