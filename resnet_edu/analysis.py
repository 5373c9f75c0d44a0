"""Reading training runs the way the paper reads them (Fig. 1, Fig. 6, Table 6).

Pure functions of the run store's data: no Streamlit, no plotting. The Degradation page and
the CLI use them to turn curves into the paper's claim:

* ``summarize_runs``: one row per run — depth, plain or residual, final training error
  (mean of the last ``TRAIN_ERROR_WINDOW`` iterations, as the CLI's ``final_train_error``), last test error.
* ``degradation_sentence``: the current runs in one or two sentences, in English or Korean
  ("plain-56's training error is 7.3 points above plain-20's at iteration 120: ...").
* ``CurveBuffer``: a run's training curve read incrementally (``since_step``) and kept at
  most ``max_points`` points long, each point the exact mean of the iterations it covers.
* ``load_table6``: the paper's Table 6 (CIFAR-10 test error of ResNets) from ``assets/``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from resnet_edu.labels import markdown_safe
from resnet_edu.runs import RunNotFound
from resnet_edu.runs.schema import BLOCK_COLUMNS
from resnet_edu.train import TRAIN_ERROR_WINDOW

TABLE6_PATH = Path(__file__).resolve().parents[1] / "assets" / "table6.csv"
MIN_STEPS_TO_READ = 20  # fewer iterations than this: too early to say anything
# Differences of training error (percentage points) within NOISE_POINTS read as "no clear gap":
# what two runs that differ only by their seed can differ by. Measured with
# benchmarks/seed_noise.py (the Fig. 1 + fix preset, synthetic data, classroom recipe, seeds 0-2,
# 100 iterations): the seed-to-seed std of one net's training error (TRAIN_ERROR_WINDOW mean) over
# iterations 40-100 was 0.8-5.1 points (RMS 2.6). Two independent runs then differ with a std
# of about sqrt(2) * 2.6 = 3.7 points; two of those is 7.4, rounded to 7.5 (docs/RECIPE.md).
NOISE_POINTS = 7.5
# Early in training every deeper net learns more slowly, residual or not (in the one-thread runs
# of docs/RECIPE.md ResNet-56 trailed plain-20 by 40 points at iteration 150; in the seed runs it
# led by 2-10 points at iteration 100). Without a residual twin that shows how fast a net of that
# depth can learn, a plain gap is called the degradation problem only once it has lasted well past
# those first few hundred iterations.
MIN_STEPS_FOR_VERDICT = 1000

SUMMARY_COLUMNS = ["run_id", "name", "group_id", "status", "family", "depth", "kind", "steps", "epoch",
                   "final_train_error", "final_test_error", "test_step"]


def run_kind(config: dict[str, Any]) -> str:
    """"residual" or "plain", from a run's stored config (its shortcuts when it started)."""
    return "residual" if config.get("shortcuts", True) else "plain"


def load_table6(path: str | Path | None = None) -> pd.DataFrame:
    """Paper Table 6: depth, params_millions, test_error_paper_pct, test_error_akamaster_pct, note, source."""
    return pd.read_csv(path or TABLE6_PATH)


# ---------------------------------------------------------------- one row per run

def _final_values(store, run_id: str, steps_done: int, at_step: int | None) -> tuple[float, int, float, float, int]:
    """(mean training error of the last TRAIN_ERROR_WINDOW iterations, last step, epoch, last test error, its step)."""
    end = steps_done if at_step is None else min(steps_done, at_step)
    since = max(-1, end - 3 * TRAIN_ERROR_WINDOW)
    steps = store.steps(run_id, since_step=since)
    if at_step is not None:
        steps = steps[steps["step"] <= at_step]
    if len(steps) < TRAIN_ERROR_WINDOW and since > -1:  # progress lagged, or steps were logged sparsely
        steps = store.steps(run_id)
        if at_step is not None:
            steps = steps[steps["step"] <= at_step]
    tail = steps.tail(TRAIN_ERROR_WINDOW)
    train_error = float(tail["train_error"].mean()) if len(tail) else math.nan
    last_step = int(tail["step"].iloc[-1]) if len(tail) else 0
    epoch = float(tail["epoch"].iloc[-1]) if len(tail) else 0.0
    evals = store.evals(run_id)
    if at_step is not None:
        evals = evals[evals["step"] <= at_step]
    evals = evals.dropna(subset=["test_error"])
    test_error = float(evals["test_error"].iloc[-1]) if len(evals) else math.nan
    test_step = int(evals["step"].iloc[-1]) if len(evals) else 0
    return train_error, last_step, epoch, test_error, test_step


def summarize_runs(store, run_ids: Iterable[str], at_step: int | None = None) -> pd.DataFrame:
    """One row per run (``SUMMARY_COLUMNS``), in the order given; missing runs are skipped.

    Args:
        store: a ``RunStore``.
        run_ids: the runs to read.
        at_step: read every run as it was at this iteration (to compare runs of unequal
            length at the same point); None: at its last logged iteration.

    Errors are fractions in [0, 1]; ``final_train_error`` is the mean over the last
    ``TRAIN_ERROR_WINDOW`` iterations (NaN before the first), ``final_test_error`` the last test-set evaluation
    (NaN before the first).
    """
    rows = []
    for run_id in dict.fromkeys(run_ids):
        try:
            run = store.get_run(run_id)
        except RunNotFound:
            continue
        config = run.get("config") or {}
        train_error, step, epoch, test_error, test_step = _final_values(
            store, run_id, int(run.get("steps_done") or 0), at_step)
        rows.append({
            "run_id": run_id, "name": run["name"], "group_id": run.get("group_id"), "status": run["status"],
            "family": config.get("family", "cifar"), "depth": int(config.get("depth", 0)),
            "kind": run_kind(config), "steps": step, "epoch": epoch,
            "final_train_error": train_error, "final_test_error": test_error, "test_step": test_step,
        })
    frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    return frame.astype({"depth": "int64", "steps": "int64", "test_step": "int64", "epoch": "float64",
                         "final_train_error": "float64", "final_test_error": "float64"})


def common_step(summary: pd.DataFrame) -> int | None:
    """The last iteration every run of the summary has reached (runs with no step yet ignored)."""
    started = summary.loc[summary["steps"] > 0, "steps"]
    return int(started.min()) if len(started) else None


# ---------------------------------------------------------------- reading the runs in words

_WORDS = {
    "en": {
        "none": "Nothing to read yet: start a comparison in the Lab (e.g. the Fig. 1 preset).",
        "early": "Too early to read: {steps} iterations so far. The curves need a few dozen iterations to separate.",
        "one_plain": "Add a second plain net of another depth (the Fig. 1 preset: plain-20 vs plain-56) "
                     "to see whether deeper is worse.",
        "plain_worse_twin": "{deep}'s training error is {gap:.1f} points above {shallow}'s at iteration {step}, "
                            "while {twin}, just as deep, keeps up with {shallow} ({twin_err:.1f}% vs "
                            "{shallow_err:.1f}%). So depth alone does not slow a net down this much: the plain "
                            "net is harder to optimise — the degradation problem. It is *training* error, so it "
                            "is not overfitting.",
        "plain_worse_long": "After {step} iterations {deep}'s training error is still {gap:.1f} points above "
                            "{shallow}'s, more than runs differ by chance: deeper is worse — the degradation "
                            "problem. It is *training* error, so it is not overfitting.",
        "plain_worse_so_far": "So far {deep}'s training error is {gap:.1f} points above {shallow}'s (iteration "
                              "{step}). Not yet proof of the degradation problem: early in training every deeper "
                              "net learns more slowly, with or without shortcuts. It becomes the degradation "
                              "problem when a ResNet of the same depth keeps up with {shallow} while {deep} does "
                              "not (the Fig. 1 + the fix preset trains one), or when the gap lasts for "
                              "{min_steps:,} iterations or more.",
        "plain_better": "At iteration {step}, {deep}'s training error is {gap:.1f} points *below* {shallow}'s: "
                        "no degradation (yet). In the paper the gap holds over the whole run (Fig. 1); "
                        "let it train longer.",
        "plain_same": "{deep} and {shallow} are within {gap:.1f} points of each other at iteration {step} "
                      "(about what two seeds of one net differ by): no clear gap yet.",
        "res_better": "With shortcuts it flips: {deep}'s training error is {gap:.1f} points below {shallow}'s — "
                      "deeper is better (Fig. 6, middle).",
        "res_same": "With shortcuts, {deep} trains about as well as {shallow} (within {gap:.1f} points) at "
                    "iteration {step}.",
        "res_worse": "{deep} is still {gap:.1f} points above {shallow} at iteration {step}. Expected in a short "
                     "run: in the paper deeper ResNets pull ahead only over tens of thousands of iterations "
                     "(Fig. 6, middle). Switch on *Paper values (Table 6)* to see where a full 164-epoch run ends.",
        "twins": "At {depth} layers the shortcuts make the difference: {res} {res_err:.1f}% vs "
                 "{plain} {plain_err:.1f}% training error.",
        "twins_not_yet": "At {depth} layers, {res} ({res_err:.1f}%) is not yet below {plain} "
                         "({plain_err:.1f}%) in training error.",
    },
    "ko": {
        "none": "아직 읽을 결과가 없습니다. 실험실에서 비교 실험을 시작하세요(예: 그림 1 프리셋).",
        "early": "아직 이릅니다: 지금까지 {steps}번 반복했습니다. 곡선이 갈라지려면 수십 번의 반복이 필요합니다.",
        "one_plain": "깊이가 다른 plain 네트워크를 하나 더 추가하세요(그림 1 프리셋: plain-20 대 plain-56). "
                     "그래야 깊을수록 나빠지는지 볼 수 있습니다.",
        "plain_worse_twin": "{step}번째 반복에서 {deep}의 훈련 오류가 {shallow}보다 {gap:.1f}%p 높습니다. 그런데 "
                            "깊이가 같은 {twin}의 훈련 오류는 {shallow}에 뒤지지 않습니다({twin_err:.1f}% 대 "
                            "{shallow_err:.1f}%). 깊이 자체가 학습을 이만큼 늦추는 것이 아니라 plain 네트워크가 "
                            "최적화하기 어려운 것입니다 — 이것이 성능 저하(degradation) 문제입니다. *훈련* 오류이므로 "
                            "과적합이 아닙니다.",
        "plain_worse_long": "{step}번 반복한 뒤에도 {deep}의 훈련 오류가 {shallow}보다 {gap:.1f}%p 높습니다. 실행마다 "
                            "우연히 생기는 차이보다 큽니다. 더 깊은데 더 나쁩니다 — 이것이 성능 저하(degradation) "
                            "문제입니다. *훈련* 오류이므로 과적합이 아닙니다.",
        "plain_worse_so_far": "지금까지는 {deep}의 훈련 오류가 {shallow}보다 {gap:.1f}%p 높습니다({step}번째 반복). "
                              "아직 성능 저하 문제의 증거는 아닙니다. 학습 초기에는 숏컷이 있든 없든 깊은 네트워크일수록 "
                              "느리게 배우기 때문입니다. 깊이가 같은 ResNet은 {shallow}만큼 빨리 배우는데 {deep}만 "
                              "뒤처질 때(그림 1 + 해법 프리셋이 그 ResNet을 함께 학습합니다), 또는 차이가 {min_steps:,}번 "
                              "반복 넘게 이어질 때 성능 저하 문제라고 말할 수 있습니다.",
        "plain_better": "{step}번째 반복에서 {deep}의 훈련 오류가 {shallow}보다 {gap:.1f}%p *낮습니다*: "
                        "아직 성능 저하가 보이지 않습니다. 논문에서는 학습 내내 차이가 유지됩니다(그림 1). "
                        "더 오래 학습시켜 보세요.",
        "plain_same": "{step}번째 반복에서 두 네트워크({deep}, {shallow})의 훈련 오류 차이는 {gap:.1f}%p "
                      "이내입니다. 같은 네트워크도 시드만 바꾸면 이 정도는 달라지므로, 아직 뚜렷한 차이가 없습니다.",
        "res_better": "숏컷이 있으면 뒤집힙니다: {deep}의 훈련 오류가 {shallow}보다 {gap:.1f}%p "
                      "낮습니다 — 깊을수록 좋습니다(그림 6 가운데).",
        "res_same": "숏컷이 있으면 {step}번째 반복에서 {deep}도 {shallow}만큼 잘 학습합니다({gap:.1f}%p 이내).",
        "res_worse": "{step}번째 반복에서 {deep}의 훈련 오류가 아직 {shallow}보다 {gap:.1f}%p 높습니다. 짧은 "
                     "실행에서는 당연한 일입니다. 논문에서도 깊은 ResNet은 수만 번의 반복에 걸쳐서야 앞서 "
                     "나갑니다(그림 6 가운데). *논문 값 (표 6)* 스위치를 켜면 164 에폭을 다 학습했을 때의 도착점이 보입니다.",
        "twins": "{depth}층에서는 숏컷이 차이를 만듭니다: 훈련 오류 {res} {res_err:.1f}% 대 "
                 "{plain} {plain_err:.1f}%.",
        "twins_not_yet": "{depth}층에서 {res}의 훈련 오류({res_err:.1f}%)가 아직 {plain}의 훈련 오류"
                         "({plain_err:.1f}%)보다 낮지 않습니다.",
    },
}


def _pair(rows: pd.DataFrame) -> tuple[pd.Series, pd.Series] | None:
    """The shallowest and the deepest run of these rows (None with fewer than two depths)."""
    rows = rows.dropna(subset=["final_train_error"]).sort_values(["depth", "steps"])
    if rows["depth"].nunique() < 2:
        return None
    shallow = rows[rows["depth"] == rows["depth"].min()].iloc[-1]
    deep = rows[rows["depth"] == rows["depth"].max()].iloc[-1]
    return shallow, deep


def _plain_verdict(words: dict[str, str], rows: pd.DataFrame, shallow: pd.Series, deep: pd.Series) -> str:
    """Is the deeper plain net worse, and can this comparison already call it the degradation problem?"""
    gap = 100 * (deep["final_train_error"] - shallow["final_train_error"])
    step = int(min(shallow["steps"], deep["steps"]))
    names = {"deep": markdown_safe(deep["name"]), "shallow": markdown_safe(shallow["name"]), "step": step}
    if gap < -NOISE_POINTS:
        return words["plain_better"].format(gap=-gap, **names)
    if gap <= NOISE_POINTS:
        return words["plain_same"].format(gap=NOISE_POINTS, **names)
    # A residual twin of the deep net that keeps up with the shallow plain net shows that depth alone
    # does not explain the gap (Fig. 1 vs Fig. 6): only then, or after a long run, is it degradation.
    twins = rows[(rows["kind"] == "residual") & (rows["depth"] == deep["depth"])].dropna(subset=["final_train_error"])
    if len(twins):
        twin = twins.iloc[-1]
        if 100 * (twin["final_train_error"] - shallow["final_train_error"]) <= NOISE_POINTS:
            return words["plain_worse_twin"].format(
                gap=gap, twin=markdown_safe(twin["name"]), twin_err=100 * twin["final_train_error"],
                shallow_err=100 * shallow["final_train_error"], **names)
    if step >= MIN_STEPS_FOR_VERDICT:
        return words["plain_worse_long"].format(gap=gap, **names)
    return words["plain_worse_so_far"].format(gap=gap, min_steps=MIN_STEPS_FOR_VERDICT, **names)


def degradation_sentence(summary: pd.DataFrame, lang: str = "en") -> str:
    """The runs of ``summary`` read in words, the paper's way (English "en" or Korean "ko").

    Compares the shallowest and the deepest plain net (is deeper worse?), the shallowest and
    the deepest residual net (does depth still hurt with shortcuts?), and the plain and
    residual twins of the greatest depth both have. Differences are percentage points of
    training error; within ``NOISE_POINTS`` (what two seeds of one net differ by) they count
    as no clear gap. A deeper plain net that is worse is called *the degradation problem*
    only when the comparison can show it: a residual twin of the same depth keeps up with
    the shallow plain net, or the gap lasts ``MIN_STEPS_FOR_VERDICT`` iterations; before that
    the sentence says what is seen "so far". Pass a summary made ``at_step`` a common
    iteration (``common_step``) so runs of unequal length are compared fairly.
    """
    words = _WORDS["ko" if lang == "ko" else "en"]
    rows = summary[summary["steps"] > 0]
    if rows.empty:
        return words["none"]
    if int(rows["steps"].max()) < MIN_STEPS_TO_READ:
        return words["early"].format(steps=int(rows["steps"].max()))
    rows = rows[rows["steps"] >= MIN_STEPS_TO_READ]
    family = rows["family"].value_counts().idxmax()
    rows = rows[rows["family"] == family]
    parts: list[str] = []

    plain = _pair(rows[rows["kind"] == "plain"])
    if plain is not None:
        parts.append(_plain_verdict(words, rows, *plain))

    residual = _pair(rows[rows["kind"] == "residual"])
    if residual is not None:
        shallow, deep = residual
        gap = 100 * (deep["final_train_error"] - shallow["final_train_error"])
        step = int(min(shallow["steps"], deep["steps"]))
        names = {"deep": markdown_safe(deep["name"]), "shallow": markdown_safe(shallow["name"]), "step": step}
        if gap < -NOISE_POINTS:
            parts.append(words["res_better"].format(gap=-gap, **names))
        elif gap <= NOISE_POINTS:
            parts.append(words["res_same"].format(gap=NOISE_POINTS, **names))
        else:
            parts.append(words["res_worse"].format(gap=gap, **names))

    both = rows.dropna(subset=["final_train_error"]).groupby("depth")["kind"].nunique()
    twin_depths = sorted(both[both == 2].index)
    if twin_depths:
        depth = twin_depths[-1]
        at = rows[(rows["depth"] == depth)].dropna(subset=["final_train_error"])
        p = at[at["kind"] == "plain"].iloc[-1]
        r = at[at["kind"] == "residual"].iloc[-1]
        values = {"depth": int(depth), "res": markdown_safe(r["name"]), "plain": markdown_safe(p["name"]),
                  "res_err": 100 * r["final_train_error"], "plain_err": 100 * p["final_train_error"]}
        key = "twins" if 100 * (p["final_train_error"] - r["final_train_error"]) > NOISE_POINTS else "twins_not_yet"
        parts.append(words[key].format(**values))

    if not parts and not rows[rows["kind"] == "plain"].empty:
        parts.append(words["one_plain"])
    return " ".join(parts) if parts else words["one_plain"]


# ---------------------------------------------------------------- incremental, bounded curves

def _bucketize(steps: pd.DataFrame, stride: int) -> pd.DataFrame:
    """Rows of iterations → one row per block of ``stride`` iterations, with exact sums and counts."""
    finite_loss = steps["train_loss"].where(np.isfinite(steps["train_loss"]))
    frame = pd.DataFrame({
        "bucket": steps["step"].to_numpy() // stride,
        "step": steps["step"], "epoch": steps["epoch"], "train_seconds": steps["train_seconds"], "lr": steps["lr"],
        "error_sum": steps["train_error"].fillna(0.0), "error_n": steps["train_error"].notna().astype("int64"),
        "loss_sum": finite_loss.fillna(0.0), "loss_n": finite_loss.notna().astype("int64"),
        "ips_sum": steps["images_per_second"].fillna(0.0),
        "ips_n": steps["images_per_second"].notna().astype("int64"),
    })
    return _merge(frame)


def _merge(frame: pd.DataFrame) -> pd.DataFrame:
    return (frame.groupby("bucket", sort=True, as_index=False)
            .agg(step=("step", "last"), epoch=("epoch", "last"), train_seconds=("train_seconds", "last"),
                 lr=("lr", "last"), error_sum=("error_sum", "sum"), error_n=("error_n", "sum"),
                 loss_sum=("loss_sum", "sum"), loss_n=("loss_n", "sum"),
                 ips_sum=("ips_sum", "sum"), ips_n=("ips_n", "sum")))


class CurveBuffer:
    """One run's training curve, read incrementally and kept at most ``max_points`` points.

    Each point stands for a block of ``stride`` consecutive iterations (1, 2, 4, ...) and
    holds the exact mean training error and loss over them, at the block's last iteration.
    When the curve grows past ``max_points`` blocks, neighbours are merged and the stride
    doubles, so memory stays bounded however long the run is and no iteration is dropped
    from the averages.

    Usage: ``buffer.update(store.steps(run_id, since_step=buffer.last_step))``; then
    ``buffer.frame()``.
    """

    def __init__(self, max_points: int = 2000) -> None:
        if max_points < 2:
            raise ValueError(f"max_points must be at least 2, got {max_points}")
        self.max_points = max_points
        self.stride = 1
        self.last_step = -1  # pass as since_step to read only what is new
        self._buckets = pd.DataFrame(columns=BLOCK_COLUMNS)

    def update(self, new_steps: pd.DataFrame) -> int:
        """Add iterations after ``last_step`` (older ones are ignored); returns how many were added."""
        new_steps = new_steps[new_steps["step"] > self.last_step]
        if new_steps.empty:
            return 0
        self._add_blocks(_bucketize(new_steps, self.stride))
        self.last_step = int(new_steps["step"].max())
        return len(new_steps)

    def _add_blocks(self, added: pd.DataFrame) -> None:
        """Merge new blocks in, then halve the resolution until at most ``max_points`` remain."""
        self._buckets = added if self._buckets.empty else _merge(pd.concat([self._buckets, added]))
        while len(self._buckets) > self.max_points:
            self.stride *= 2
            merged = self._buckets.copy()
            merged["bucket"] = merged["bucket"] // 2
            self._buckets = _merge(merged)

    def update_from_store(self, store, run_id: str) -> int:
        """Read what is new of a run; a long stretch arrives already summed per block (``RunStore.step_blocks``).

        Same result as ``update(store.steps(run_id, since_step=self.last_step))``, but the first
        read of a 64,000-iteration run moves ~500 rows out of SQLite, not 64,000. Returns the
        number of blocks or rows added.
        """
        first, last = store.step_range(run_id, since_step=self.last_step)
        if first is None:
            return 0
        stride = self.stride
        while last // stride - first // stride + 1 > self.max_points:
            stride *= 2
        if last - first < self.max_points:  # a short stretch (a live run's new rows): read them as they are
            return self.update(store.steps(run_id, since_step=self.last_step))
        if stride != self.stride and not self._buckets.empty:  # coarsen what is here to the new blocks
            merged = self._buckets.copy()
            merged["bucket"] = merged["bucket"] // (stride // self.stride)
            self._buckets = _merge(merged)
        self.stride = stride
        added = store.step_blocks(run_id, stride, since_step=self.last_step)[BLOCK_COLUMNS]
        self._add_blocks(added)
        self.last_step = int(last)
        return len(added)

    def frame(self) -> pd.DataFrame:
        """step, epoch, train_seconds, lr, train_error, train_loss, images_per_second, n (iterations per point)."""
        b = self._buckets
        with np.errstate(invalid="ignore", divide="ignore"):
            out = pd.DataFrame({
                "step": b["step"].astype("int64"), "epoch": b["epoch"].astype("float64"),
                "train_seconds": b["train_seconds"].astype("float64"), "lr": b["lr"].astype("float64"),
                "train_error": (b["error_sum"] / b["error_n"].where(b["error_n"] > 0)).astype("float64"),
                "train_loss": (b["loss_sum"] / b["loss_n"].where(b["loss_n"] > 0)).astype("float64"),
                "images_per_second": (b["ips_sum"] / b["ips_n"].where(b["ips_n"] > 0)).astype("float64"),
                "n": b["error_n"].astype("int64"),
            })
        return out.reset_index(drop=True)

    def __len__(self) -> int:
        return len(self._buckets)
