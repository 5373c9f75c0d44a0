"""The Degradation page's verdict: a comparison's runs read in words, as the paper reads Fig. 1 and Fig. 6.

Provides:

* ``degradation_sentence(summary, lang, curves)``: the runs in one or two sentences, English or Korean;
* ``degradation_verdict(summary, curves)``: the same reading as data (``Verdict``: which sentence,
  whether the degradation problem is claimed, the numbers it shows);
* ``evidence(summary, curves)`` and ``claim_state(readings)``: the two gaps the claim rests on at
  every iteration read so far, and the rule that turns them into a claim (thresholds, a minimum
  length, hysteresis);
* the rule's constants, each measured or justified in docs/RECIPE.md.

The paper's degradation problem (Fig. 1, Sec. 4.1) is a deeper *plain* net with higher
*training* error than a shallower one "throughout the whole training procedure", while the
residual net of the same depth does not suffer it (Fig. 6). A short run can show a first sign
of it, not its whole course: early speed is a different thing (Sec. 4.1: ResNet-18 "converges
faster" than plain-18, yet the two end comparably accurate, Table 2). So the verdict names the
degradation problem only when both gaps — deep plain above shallow plain, and deep plain above
its residual twin — have stayed beyond the run-to-run noise for ``HOLD_STEPS`` iterations, not
before iteration ``MIN_STEPS_TO_CLAIM``; once named, it is withdrawn only when a gap falls inside
the noise (below ``WITHDRAW_POINTS``), so the page never takes its conclusion back and forth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from resnet_edu.train import TRAIN_ERROR_WINDOW
from resnet_edu.words import markdown_safe

MIN_STEPS_TO_READ = 20  # fewer iterations than this: too early to say anything
# Differences of training error (percentage points) within NOISE_POINTS read as "no clear gap":
# what two runs that differ only by their seed can differ by. Measured with
# benchmarks/seed_noise.py (the Fig. 1 + fix preset, synthetic data, classroom recipe, seeds 0-2,
# 100 iterations): the seed-to-seed std of one net's training error (TRAIN_ERROR_WINDOW mean) over
# iterations 40-100 was 0.8-5.1 points (RMS 2.6). Two independent runs then differ with a std
# of about sqrt(2) * 2.6 = 3.7 points; two of those is 7.4, rounded to 7.5 (docs/RECIPE.md).
NOISE_POINTS = 7.5
# A claim is withdrawn only when a gap falls inside the noise: below one standard deviation of the
# difference of two runs (sqrt(2) * 2.6 = 3.7 points, the same measurement), half the claim's threshold.
WITHDRAW_POINTS = NOISE_POINTS / 2
# The recorded classroom runs (docs/RECIPE.md) cover their first 150 iterations, and within them the
# order of the nets was set by how fast each left chance, not by depth: the same preset had ResNet-56
# 40 points behind plain-20 at iteration 150 on one thread and 2-10 points ahead of it on two, and
# with today's defaults the plain gap reached NOISE_POINTS on all three seeds only at iteration 150
# (7.7-10.9 points). Early speed is not the degradation problem (Sec. 4.1, Table 2): nothing is
# claimed within that stretch.
MEASURED_STEPS = 150
MIN_STEPS_TO_CLAIM = MEASURED_STEPS
# "Throughout training" (Sec. 4.1) as far as a class can watch it: both gaps beyond the noise for five
# consecutive TRAIN_ERROR_WINDOWs (readings from five disjoint sets of batches). In the recorded seed
# runs a gap moved by up to 10 points within one window (plain-56 - plain-20, seed 0: 4.5 at iteration
# 60, 14.8 at 80), more than NOISE_POINTS: one window beyond the noise is not yet a lasting gap.
HOLD_STEPS = 5 * TRAIN_ERROR_WINDOW

_WORDS = {
    "en": {
        "none": "Nothing to read yet: start a comparison in the Lab (e.g. the Fig. 1 preset).",
        "early": "Too early to read: {steps} iterations so far. The curves need a few dozen iterations to separate.",
        "one_plain": "Add a second plain net of another depth (the Fig. 1 preset: plain-20 vs plain-56) "
                     "to see whether deeper is worse.",
        "claimed": "Since iteration {since:,}, {deep}'s training error has stayed above {shallow}'s, and {twin}'s, "
                   "just as deep, below {deep}'s, both by more than runs differ by chance ({noise:g} points); now "
                   "by {gap:.1f} and {twin_gap:.1f} points (iteration {step:,}). The same depth with shortcuts "
                   "trains clearly better, so the plain net is harder to optimise — the degradation problem "
                   "(Fig. 1, Sec. 4.1). It is *training* error, so it is not overfitting.",
        "first_sign": "So far {deep}'s training error is {gap:.1f} points above {shallow}'s, and {twin}, just as "
                      "deep, is {twin_gap:.1f} points below {deep} (iteration {step:,}): a first sign consistent "
                      "with Fig. 1 and its fix, not yet shown. Early speed is a different thing: in the paper "
                      "ResNet-18 converges faster than plain-18, yet the two end about equally accurate "
                      "(Sec. 4.1, Table 2). This page draws its conclusion once both gaps have stayed above "
                      "{noise:g} points for {hold:,} iterations, and not before iteration {min_steps:,}.",
        "twin_not_ahead": "So far {deep}'s training error is {gap:.1f} points above {shallow}'s, but {twin}, just "
                          "as deep, is not clearly below {deep} ({twin_err:.1f}% vs {deep_err:.1f}% at iteration "
                          "{step:,}; runs differ by up to {noise:g} points by chance). Without that difference "
                          "the gap may only mean that the deeper nets start more slowly, not that the plain net "
                          "is harder to optimise.",
        "no_twin": "So far {deep}'s training error is {gap:.1f} points above {shallow}'s (iteration {step:,}): a "
                   "first sign consistent with the paper's Fig. 1. Whether the extra layers or the plain net's "
                   "optimisation is to blame shows only beside a ResNet of the same depth: the Fig. 1 + the fix "
                   "preset trains one.",
        "plain_better": "At iteration {step:,}, {deep}'s training error is {gap:.1f} points *below* {shallow}'s: "
                        "no degradation (yet). In the paper the gap holds over the whole run (Fig. 1); "
                        "let it train longer.",
        "plain_same": "{deep} and {shallow} are within {noise:g} points of each other at iteration {step:,} "
                      "(about what two seeds of one net differ by): no clear gap yet.",
        "res_better": "With shortcuts it flips: {deep}'s training error is {gap:.1f} points below {shallow}'s — "
                      "deeper is better (Fig. 6, middle).",
        "res_same": "With shortcuts, {deep} trains about as well as {shallow} (within {noise:g} points) at "
                    "iteration {step:,}.",
        "res_worse": "{deep} is still {gap:.1f} points above {shallow} at iteration {step:,}. The paper shows "
                     "whole runs: at the end of Fig. 6 (middle) the deeper ResNets have the lower error. In the "
                     "classroom runs measured for this app, a 56-layer ResNet trailed the 20-layer nets over its "
                     "first {measured:,} iterations in some settings and led them in others. Switch on *Paper "
                     "values (Table 6)* to see where a full 164-epoch run ends.",
        "twins": "At {depth} layers the shortcuts make the difference: {res} {res_err:.1f}% vs "
                 "{plain} {plain_err:.1f}% training error.",
        "twins_not_yet": "At {depth} layers, {res} ({res_err:.1f}%) is not yet clearly below {plain} "
                         "({plain_err:.1f}%) in training error: not by more than runs differ by chance "
                         "({noise:g} points).",
    },
    "ko": {
        "none": "아직 읽을 결과가 없습니다. 실험실에서 비교 실험을 시작하세요(예: 그림 1 프리셋).",
        "early": "아직 이릅니다: 지금까지 {steps}번 반복했습니다. 곡선이 갈라지려면 수십 번의 반복이 필요합니다.",
        "one_plain": "깊이가 다른 plain 네트워크를 하나 더 추가하세요(그림 1 프리셋: plain-20 대 plain-56). "
                     "그래야 깊을수록 나빠지는지 볼 수 있습니다.",
        "claimed": "{since:,}번째 반복부터 {deep}의 훈련 오류는 {shallow}보다 높고, 깊이가 같은 {twin}의 훈련 오류는 "
                   "{deep}보다 낮은 상태가 이어졌습니다. 두 차이 모두 실행마다 우연히 생기는 차이({noise:g}%p)보다 "
                   "컸고, 지금은 각각 {gap:.1f}%p, {twin_gap:.1f}%p입니다({step:,}번째 반복). 같은 깊이에서 숏컷이 "
                   "있으면 분명히 더 잘 학습되므로, plain 네트워크가 최적화하기 어려운 것입니다 — 이것이 성능 "
                   "저하(degradation) 문제입니다(그림 1, 4.1절). *훈련* 오류이므로 과적합이 아닙니다.",
        "first_sign": "지금까지는 {deep}의 훈련 오류가 {shallow}보다 {gap:.1f}%p 높고, 깊이가 같은 {twin}의 훈련 "
                      "오류는 {deep}보다 {twin_gap:.1f}%p 낮습니다({step:,}번째 반복). 그림 1과 그 해법에 들어맞는 "
                      "첫 신호이지만, 아직 보여 준 것은 아닙니다. 초반의 학습 속도는 다른 문제입니다: 논문에서 "
                      "ResNet-18은 plain-18보다 빨리 수렴하지만 최종 정확도는 비슷합니다(4.1절, 표 2). 두 차이가 "
                      "모두 {hold:,}번의 반복 동안 {noise:g}%p보다 크게 유지되어야, 그리고 {min_steps:,}번째 반복 "
                      "이후에야 이 페이지가 결론을 내립니다.",
        "twin_not_ahead": "지금까지는 {deep}의 훈련 오류가 {shallow}보다 {gap:.1f}%p 높지만, 깊이가 같은 {twin}의 "
                          "훈련 오류({twin_err:.1f}%)가 {deep}의 훈련 오류({deep_err:.1f}%)보다 뚜렷하게 낮지 "
                          "않습니다({step:,}번째 반복. 실행마다 우연히 {noise:g}%p까지 차이 날 수 있습니다). 그 "
                          "차이가 없으면, 이 격차는 plain 네트워크가 최적화하기 어렵다는 뜻이 아니라 깊은 "
                          "네트워크가 처음에 느리게 출발한다는 뜻일 수도 있습니다.",
        "no_twin": "지금까지는 {deep}의 훈련 오류가 {shallow}보다 {gap:.1f}%p 높습니다({step:,}번째 반복). 논문 "
                   "그림 1과 들어맞는 첫 신호입니다. 늘어난 층 때문인지, plain 네트워크의 최적화가 어려워서인지는 "
                   "깊이가 같은 ResNet과 나란히 학습해야 드러납니다. 그림 1 + 해법 프리셋이 그런 ResNet을 함께 "
                   "학습합니다.",
        "plain_better": "{step:,}번째 반복에서 {deep}의 훈련 오류가 {shallow}보다 {gap:.1f}%p *낮습니다*: "
                        "아직 성능 저하가 보이지 않습니다. 논문에서는 학습 내내 차이가 유지됩니다(그림 1). "
                        "더 오래 학습시켜 보세요.",
        "plain_same": "{step:,}번째 반복에서 두 네트워크({deep}, {shallow})의 훈련 오류 차이는 {noise:g}%p "
                      "이내입니다. 같은 네트워크도 시드만 바꾸면 이 정도는 달라지므로, 아직 뚜렷한 차이가 없습니다.",
        "res_better": "숏컷이 있으면 뒤집힙니다: {deep}의 훈련 오류가 {shallow}보다 {gap:.1f}%p "
                      "낮습니다 — 깊을수록 좋습니다(그림 6 가운데).",
        "res_same": "숏컷이 있으면 {step:,}번째 반복에서 {deep}도 {shallow}만큼 잘 학습합니다({noise:g}%p 이내).",
        "res_worse": "{step:,}번째 반복에서 {deep}의 훈련 오류가 아직 {shallow}보다 {gap:.1f}%p 높습니다. 논문은 "
                     "끝까지 학습한 곡선을 보여 줍니다: 그림 6(가운데)의 끝에서는 더 깊은 ResNet의 오류가 더 "
                     "낮습니다. 이 앱에서 잰 수업용 실행에서는 처음 {measured:,}번의 반복 동안 56층 ResNet이 "
                     "20층 네트워크들보다 뒤진 설정도 있었고 앞선 설정도 있었습니다. *논문 값 (표 6)* 스위치를 "
                     "켜면 164 에폭을 다 학습했을 때의 도착점이 보입니다.",
        "twins": "{depth}층에서는 숏컷이 차이를 만듭니다: 훈련 오류 {res} {res_err:.1f}% 대 "
                 "{plain} {plain_err:.1f}%.",
        "twins_not_yet": "{depth}층에서 {res}의 훈련 오류({res_err:.1f}%)가 아직 {plain}의 훈련 오류"
                         "({plain_err:.1f}%)보다 뚜렷하게 낮지는 않습니다. 실행마다 우연히 생기는 차이"
                         "({noise:g}%p)보다 크게 낮아야 뚜렷한 차이입니다.",
    },
}
# The sentence keys that name the degradation problem; every other one stops short of it.
CLAIM_KEYS = frozenset({"claimed"})


# ---------------------------------------------------------------- the rule

@dataclass(frozen=True)
class ClaimState:
    """What the rule concludes after the readings so far."""

    claimed: bool  # is the degradation problem named now?
    since: int | None  # first iteration of the current run of readings beyond the noise (None: none)
    claimed_at: int | None  # iteration at which the current claim was made (None: not claimed)


def claim_state(readings: pd.DataFrame) -> ClaimState:
    """Apply the claim rule to ``readings`` (columns ``step``, ``plain_gap``, ``twin_gap``; points, in order).

    Claimed at a reading when both gaps have been at least ``NOISE_POINTS`` at every reading of
    the last ``HOLD_STEPS`` iterations, and the reading is at or after ``MIN_STEPS_TO_CLAIM``.
    Once claimed, withdrawn only at a reading where a gap is below ``WITHDRAW_POINTS`` (a NaN
    gap — no twin — never supports a claim).
    """
    since = claimed_at = None
    for step, plain_gap, twin_gap in zip(readings["step"].to_numpy(), readings["plain_gap"].to_numpy(),
                                         readings["twin_gap"].to_numpy()):
        step = int(step)
        if claimed_at is not None:
            if not (plain_gap >= WITHDRAW_POINTS and twin_gap >= WITHDRAW_POINTS):  # NaN: withdrawn too
                since = claimed_at = None
            continue
        if plain_gap >= NOISE_POINTS and twin_gap >= NOISE_POINTS:
            since = step if since is None else since
            if step >= MIN_STEPS_TO_CLAIM and step - since >= HOLD_STEPS:
                claimed_at = step
        else:
            since = None
    return ClaimState(claimed=claimed_at is not None, since=since, claimed_at=claimed_at)


def _windowed(curve: pd.DataFrame) -> pd.Series:
    """A curve's training error as the page reads it (mean of the last ``TRAIN_ERROR_WINDOW`` iterations), by step.

    ``curve`` holds ``step``, ``train_error`` and optionally ``n`` (iterations per point, as a
    ``CurveBuffer`` frame has): points that stand for blocks are weighted by their size.
    """
    curve = curve.dropna(subset=["train_error"]).sort_values("step")
    n = curve["n"].clip(lower=1) if "n" in curve else pd.Series(1, index=curve.index)
    points = max(1, round(TRAIN_ERROR_WINDOW / float(n.median()))) if len(curve) else 1
    sums = (curve["train_error"] * n).rolling(points, min_periods=1).sum()
    counts = n.rolling(points, min_periods=1).sum()
    return pd.Series((100 * sums / counts).to_numpy(), index=curve["step"].to_numpy(), dtype="float64")


def evidence(shallow: str, deep: str, twin: str | None, curves: pd.DataFrame, until: int) -> pd.DataFrame:
    """The two gaps (points) at every point of the deep plain run's curve from ``MIN_STEPS_TO_READ`` to ``until``.

    Args:
        shallow, deep, twin: run ids of the shallow plain net, the deep plain net and its residual
            twin (None: no twin; ``twin_gap`` is then NaN).
        curves: run_id, step, train_error (a fraction), optionally n: the runs' curves so far.
        until: the last iteration to read (the iteration every run has reached).

    Returns step, plain_gap (deep − shallow) and twin_gap (deep − twin).
    """
    def series(run_id: str) -> pd.Series:
        return _windowed(curves[curves["run_id"] == run_id])

    base = series(deep)
    base = base[(base.index >= MIN_STEPS_TO_READ) & (base.index <= until)]
    frame = pd.DataFrame({"step": base.index.astype("int64"), "deep": base.to_numpy()})

    def at_steps(run_id: str) -> np.ndarray:  # the other run's reading at (or just before) each step
        other = series(run_id)
        other = pd.DataFrame({"step": other.index.astype("int64"), "value": other.to_numpy()})
        return pd.merge_asof(frame[["step"]], other, on="step", direction="backward")["value"].to_numpy()

    plain_gap = frame["deep"].to_numpy() - at_steps(shallow) if len(frame) else np.array([])
    twin_gap = (frame["deep"].to_numpy() - at_steps(twin)) if twin is not None and len(frame) \
        else np.full(len(frame), np.nan)
    return pd.DataFrame({"step": frame["step"], "plain_gap": plain_gap, "twin_gap": twin_gap})


# ---------------------------------------------------------------- reading the runs

@dataclass(frozen=True)
class Verdict:
    """The runs read the paper's way: the sentence keys in order, their values, and the claim."""

    keys: tuple[str, ...]
    values: tuple[dict[str, Any], ...] = field(default=())
    claim: ClaimState | None = None  # the rule's state for the plain pair (None: no plain pair)

    @property
    def claimed(self) -> bool:
        """Does the verdict name the degradation problem?"""
        return bool(CLAIM_KEYS.intersection(self.keys))

    def text(self, lang: str = "en") -> str:
        words = _WORDS["ko" if lang == "ko" else "en"]
        return " ".join(words[key].format(**values) for key, values in zip(self.keys, self.values))


def _pair(rows: pd.DataFrame) -> tuple[pd.Series, pd.Series] | None:
    """The shallowest and the deepest run of these rows (None with fewer than two depths)."""
    rows = rows.dropna(subset=["final_train_error"]).sort_values(["depth", "steps"])
    if rows["depth"].nunique() < 2:
        return None
    shallow = rows[rows["depth"] == rows["depth"].min()].iloc[-1]
    deep = rows[rows["depth"] == rows["depth"].max()].iloc[-1]
    return shallow, deep


def _plain(rows: pd.DataFrame, shallow: pd.Series, deep: pd.Series,
           curves: pd.DataFrame | None) -> tuple[str, dict[str, Any], ClaimState, bool]:
    """(key, values, claim state, whether the twin was read) for the deep and shallow plain nets."""
    gap = 100 * (deep["final_train_error"] - shallow["final_train_error"])
    step = int(min(shallow["steps"], deep["steps"]))
    values = {"deep": markdown_safe(deep["name"]), "shallow": markdown_safe(shallow["name"]), "step": step,
              "gap": gap, "noise": NOISE_POINTS, "hold": HOLD_STEPS, "min_steps": MIN_STEPS_TO_CLAIM}
    twins = rows[(rows["kind"] == "residual") & (rows["depth"] == deep["depth"])].dropna(subset=["final_train_error"])
    twin = twins.iloc[-1] if len(twins) else None
    if twin is not None:
        values.update(twin=markdown_safe(twin["name"]), twin_err=100 * twin["final_train_error"],
                      deep_err=100 * deep["final_train_error"],
                      twin_gap=100 * (deep["final_train_error"] - twin["final_train_error"]))
    # The rule reads the whole course of the gaps so far; without curves only this one reading is known,
    # which cannot show a lasting gap, so nothing is claimed.
    if curves is not None and len(curves):
        readings = evidence(shallow["run_id"], deep["run_id"], None if twin is None else twin["run_id"],
                            curves, until=step)
    else:
        readings = pd.DataFrame({"step": [step], "plain_gap": [gap],
                                 "twin_gap": [values.get("twin_gap", math.nan)]})
    state = claim_state(readings)
    if state.claimed:
        return "claimed", {**values, "since": state.since or step}, state, True
    if gap < -NOISE_POINTS:
        return "plain_better", {**values, "gap": -gap}, state, False
    if gap <= NOISE_POINTS:
        return "plain_same", values, state, False
    if twin is None:
        return "no_twin", values, state, False
    if values["twin_gap"] >= NOISE_POINTS:
        return "first_sign", values, state, True
    return "twin_not_ahead", values, state, True


def degradation_verdict(summary: pd.DataFrame, curves: pd.DataFrame | None = None) -> Verdict:
    """The runs of ``summary`` read the paper's way, as data; see ``degradation_sentence``."""
    rows = summary[summary["steps"] > 0]
    if rows.empty:
        return Verdict(("none",), ({},))
    if int(rows["steps"].max()) < MIN_STEPS_TO_READ:
        return Verdict(("early",), ({"steps": int(rows["steps"].max())},))
    rows = rows[rows["steps"] >= MIN_STEPS_TO_READ]
    family = rows["family"].value_counts().idxmax()
    rows = rows[rows["family"] == family]
    keys: list[str] = []
    values: list[dict[str, Any]] = []
    claim = None
    twin_read = False

    plain = _pair(rows[rows["kind"] == "plain"])
    if plain is not None:
        key, value, claim, twin_read = _plain(rows, *plain, curves)
        keys.append(key)
        values.append(value)

    residual = _pair(rows[rows["kind"] == "residual"])
    if residual is not None:
        shallow, deep = residual
        gap = 100 * (deep["final_train_error"] - shallow["final_train_error"])
        value = {"deep": markdown_safe(deep["name"]), "shallow": markdown_safe(shallow["name"]),
                 "step": int(min(shallow["steps"], deep["steps"])), "gap": abs(gap), "noise": NOISE_POINTS,
                 "measured": MEASURED_STEPS}
        keys.append("res_better" if gap < -NOISE_POINTS else "res_same" if gap <= NOISE_POINTS else "res_worse")
        values.append(value)

    both = rows.dropna(subset=["final_train_error"]).groupby("depth")["kind"].nunique()
    twin_depths = sorted(both[both == 2].index)
    if twin_depths and not (twin_read and twin_depths[-1] == plain[1]["depth"]):
        depth = twin_depths[-1]
        at = rows[(rows["depth"] == depth)].dropna(subset=["final_train_error"])
        p = at[at["kind"] == "plain"].iloc[-1]
        r = at[at["kind"] == "residual"].iloc[-1]
        keys.append("twins" if 100 * (p["final_train_error"] - r["final_train_error"]) > NOISE_POINTS
                    else "twins_not_yet")
        values.append({"depth": int(depth), "res": markdown_safe(r["name"]), "plain": markdown_safe(p["name"]),
                       "res_err": 100 * r["final_train_error"], "plain_err": 100 * p["final_train_error"],
                       "noise": NOISE_POINTS})

    if not keys:
        return Verdict(("one_plain",), ({},))
    return Verdict(tuple(keys), tuple(values), claim)


def degradation_sentence(summary: pd.DataFrame, lang: str = "en", curves: pd.DataFrame | None = None) -> str:
    """The runs of ``summary`` read in words, the paper's way (English "en" or Korean "ko").

    Args:
        summary: ``analysis.summarize_runs`` output, best made ``at_step`` a common iteration
            (``analysis.common_step``) so that runs of unequal length are compared fairly.
        lang: "en" or "ko".
        curves: the runs' training curves so far (run_id, step, train_error, optionally n, as
            ``CurveBuffer`` frames): the claim rule reads the course of the gaps from them.
            Without them only the summary's one reading is known, and the degradation problem
            is never named.

    Compares the shallowest and the deepest plain net (is deeper worse?), the deep plain net and
    its residual twin, the shallowest and the deepest residual net (does depth still hurt with
    shortcuts?). Differences are percentage points of training error; within ``NOISE_POINTS``
    they count as no clear gap. The degradation problem is named only under ``claim_state``'s
    rule; before that the sentence says what is seen "so far".
    """
    return degradation_verdict(summary, curves).text(lang)
