"""The Degradation page's verdict (resnet_edu.inside.verdict): each sentence, the claim rule, and a real run replayed.

The unit cases use made-up error levels to reach each branch of the rule; they are inputs, never
shown as results. The replay uses a recorded real run (tests/fixtures/fig1_fix_seed0.csv, its
provenance in the file's header).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from resnet_edu.inside import degradation, verdict
from resnet_edu.inside.verdict import (
    HOLD_STEPS,
    MIN_STEPS_TO_CLAIM,
    MIN_STEPS_TO_READ,
    NOISE_POINTS,
    WITHDRAW_POINTS,
    claim_state,
    degradation_sentence,
    degradation_verdict,
)
from resnet_edu.runs import RunStore

REPLAY = Path(__file__).resolve().parent / "fixtures" / "fig1_fix_seed0.csv"
CLAIM = {"en": "the degradation problem", "ko": "성능 저하(degradation) 문제"}
NETS = {"plain-20": (20, "plain"), "plain-56": (56, "plain"), "ResNet-56": (56, "residual")}


def _summary(errors: dict[str, float], steps: int) -> pd.DataFrame:
    """A summary as ``degradation.summarize_runs`` makes it, for the nets named in ``errors`` (fractions)."""
    return pd.DataFrame([{"run_id": name, "name": name, "group_id": "g", "status": "running", "family": "cifar",
                          "depth": NETS[name][0], "kind": NETS[name][1], "steps": steps, "epoch": 1.0,
                          "final_train_error": err, "final_test_error": err, "test_step": 0}
                         for name, err in errors.items()], columns=degradation.SUMMARY_COLUMNS)


def _curves(levels: dict[str, list[float]]) -> pd.DataFrame:
    """Per-iteration curves (iteration 1, 2, ...) at the given levels."""
    return pd.concat([pd.DataFrame({"run_id": name, "step": range(1, len(values) + 1), "train_error": values})
                      for name, values in levels.items()], ignore_index=True)


def _flat(errors: dict[str, float], steps: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A summary at ``steps`` and curves that have sat at these errors the whole time."""
    return _summary(errors, steps), _curves({name: [err] * steps for name, err in errors.items()})


def _readings(plain: list[float], twin: list[float], start: int = MIN_STEPS_TO_READ) -> pd.DataFrame:
    return pd.DataFrame({"step": range(start, start + len(plain)), "plain_gap": plain, "twin_gap": twin})


def _says(text: str, lang: str) -> bool:
    return CLAIM[lang] in text


# ---------------------------------------------------------------- the rule

def test_claim_needs_both_gaps_beyond_the_noise_for_the_hold_and_not_before_the_minimum():
    n = MIN_STEPS_TO_CLAIM + 50
    beyond = [NOISE_POINTS + 1] * n
    assert claim_state(_readings(beyond, beyond)).claimed
    assert claim_state(_readings(beyond, beyond)).claimed_at == MIN_STEPS_TO_CLAIM
    # either gap at the noise but not beyond it, however long: no claim
    assert not claim_state(_readings(beyond, [NOISE_POINTS - 0.1] * n)).claimed
    assert not claim_state(_readings([NOISE_POINTS - 0.1] * n, beyond)).claimed
    assert not claim_state(_readings(beyond, [float("nan")] * n)).claimed  # no twin
    # beyond the noise from the first reading, but the run is not yet MIN_STEPS_TO_CLAIM long
    short = MIN_STEPS_TO_CLAIM - MIN_STEPS_TO_READ
    assert not claim_state(_readings(beyond[:short], beyond[:short])).claimed


def test_the_gap_must_hold_for_hold_steps():
    start = MIN_STEPS_TO_CLAIM + 100  # past the minimum: only the hold decides
    inside = [0.0] * (start - MIN_STEPS_TO_READ)
    just_short = claim_state(_readings(inside + [20.0] * HOLD_STEPS, inside + [20.0] * HOLD_STEPS))
    assert not just_short.claimed and just_short.since == start
    held = claim_state(_readings(inside + [20.0] * (HOLD_STEPS + 1), inside + [20.0] * (HOLD_STEPS + 1)))
    assert held.claimed and held.claimed_at == start + HOLD_STEPS
    # one reading inside the noise restarts the hold
    broken = inside + [20.0] * 60 + [NOISE_POINTS - 1] + [20.0] * (HOLD_STEPS - 10)
    assert not claim_state(_readings(broken, [20.0] * len(broken))).claimed


def test_hysteresis_keeps_a_claim_in_the_grey_zone_and_withdraws_it_inside_the_noise():
    n = MIN_STEPS_TO_CLAIM + 20
    grey = (WITHDRAW_POINTS + NOISE_POINTS) / 2
    plain = [20.0] * n + [grey] * 300
    state = claim_state(_readings(plain, [20.0] * len(plain)))
    assert state.claimed  # narrowed, but not inside the noise: the conclusion stays
    withdrawn = claim_state(_readings(plain + [WITHDRAW_POINTS - 0.5], [20.0] * (len(plain) + 1)))
    assert not withdrawn.claimed
    # back beyond the noise: it must hold again before it is said again
    again = plain + [WITHDRAW_POINTS - 0.5] + [20.0] * HOLD_STEPS
    assert not claim_state(_readings(again, [20.0] * len(again))).claimed
    again += [20.0]
    assert claim_state(_readings(again, [20.0] * len(again))).claimed


# ---------------------------------------------------------------- the sentences

@pytest.mark.parametrize("lang", ["en", "ko"])
def test_deep_nets_one_point_apart_are_never_the_degradation_problem(lang):
    """plain-20 20%, plain-56 28%, ResNet-56 27%: the 56-layer nets are within the noise of each other."""
    errors = {"plain-20": 0.20, "plain-56": 0.28, "ResNet-56": 0.27}
    for steps in (MIN_STEPS_TO_CLAIM, 5 * MIN_STEPS_TO_CLAIM + HOLD_STEPS):  # however long it has lasted
        summary, curves = _flat(errors, steps)
        result = degradation_verdict(summary, curves)
        assert result.keys == ("twin_not_ahead",) and not result.claimed
        text = degradation_sentence(summary, lang, curves)
        assert not _says(text, lang) and "27.0%" in text and "28.0%" in text


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_claimed_once_both_gaps_have_lasted(lang):
    errors = {"plain-20": 0.30, "plain-56": 0.45, "ResNet-56": 0.25}
    summary, curves = _flat(errors, MIN_STEPS_TO_CLAIM + HOLD_STEPS)
    result = degradation_verdict(summary, curves)
    assert result.claimed and result.keys == ("claimed",)
    text = degradation_sentence(summary, lang, curves)
    assert _says(text, lang) and "15.0" in text and "20.0" in text
    assert ("not overfitting" if lang == "en" else "과적합이 아닙니다") in text
    # the gaps have held since the first reading
    assert (f"Since iteration {MIN_STEPS_TO_READ}," if lang == "en" else f"{MIN_STEPS_TO_READ}번째 반복부터") in text


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_first_sign_before_the_minimum_length(lang):
    errors = {"plain-20": 0.30, "plain-56": 0.45, "ResNet-56": 0.25}
    summary, curves = _flat(errors, MIN_STEPS_TO_CLAIM - 1)
    result = degradation_verdict(summary, curves)
    assert result.keys == ("first_sign",) and not result.claimed
    text = degradation_sentence(summary, lang, curves)
    assert not _says(text, lang)
    assert ("Table 2" if lang == "en" else "표 2") in text  # early speed is not degradation (Sec. 4.1)
    assert f"{MIN_STEPS_TO_CLAIM:,}" in text and f"{HOLD_STEPS:,}" in text and f"{NOISE_POINTS:g}" in text


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_without_a_twin_the_gap_is_only_a_first_sign(lang):
    summary, curves = _flat({"plain-20": 0.30, "plain-56": 0.60}, 10 * MIN_STEPS_TO_CLAIM)
    result = degradation_verdict(summary, curves)
    assert result.keys == ("no_twin",) and not result.claimed
    text = degradation_sentence(summary, lang, curves)
    assert not _says(text, lang) and ("Fig. 1 + the fix" if lang == "en" else "그림 1 + 해법") in text


def test_without_curves_nothing_is_claimed():
    summary = _summary({"plain-20": 0.30, "plain-56": 0.45, "ResNet-56": 0.25}, 10 * MIN_STEPS_TO_CLAIM)
    assert degradation_verdict(summary).keys == ("first_sign",)


def test_the_other_sentences():
    noise = NOISE_POINTS / 100
    steps = MIN_STEPS_TO_CLAIM
    same = degradation_verdict(*_flat({"plain-20": 0.30, "plain-56": 0.30 + noise * 0.9, "ResNet-56": 0.2}, steps))
    assert same.keys == ("plain_same", "twins")  # the twin sentence when the plain one does not read the twin
    better = degradation_verdict(*_flat({"plain-20": 0.30, "plain-56": 0.30 - noise - 0.01}, steps))
    assert better.keys == ("plain_better",) and better.values[0]["gap"] > NOISE_POINTS
    assert degradation_verdict(_summary({"plain-20": 0.9, "plain-56": 0.9}, MIN_STEPS_TO_READ - 1)).keys == ("early",)
    assert degradation_verdict(_summary({"plain-20": 0.3}, steps)).keys == ("one_plain",)
    assert degradation_verdict(_summary({}, 0)).keys == ("none",)
    assert "start a comparison" in degradation_sentence(_summary({}, 0))


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_twin_a_little_below_inside_the_noise_is_not_yet_clearly_below(lang):
    """ResNet-56 5 points below plain-56 is below, but not beyond the noise: the sentence says both."""
    errors = {"plain-20": 0.90, "plain-56": 0.916, "ResNet-56": 0.866}
    reading = degradation_verdict(*_flat(errors, MIN_STEPS_TO_READ + 40))
    assert reading.keys[-1] == "twins_not_yet"
    summary, curves = _flat(errors, MIN_STEPS_TO_READ + 40)
    text = degradation_sentence(summary, lang, curves)
    assert ("not yet clearly below" in text if lang == "en" else "뚜렷하게 낮지는 않습니다" in text)
    assert f"{NOISE_POINTS:g}" in text


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_deeper_resnets_behind_are_read_as_measured_not_as_the_papers_words(lang):
    summary = pd.DataFrame([
        {"run_id": "a", "name": "ResNet-20", "family": "cifar", "depth": 20, "kind": "residual", "steps": 200,
         "final_train_error": 0.20, "final_test_error": 0.2},
        {"run_id": "b", "name": "ResNet-56", "family": "cifar", "depth": 56, "kind": "residual", "steps": 200,
         "final_train_error": 0.40, "final_test_error": 0.4}])
    result = degradation_verdict(summary)
    assert result.keys == ("res_worse",)
    text = degradation_sentence(summary, lang)
    assert f"{verdict.MEASURED_STEPS:,}" in text and ("Table 6" if lang == "en" else "표 6") in text
    ahead = summary.assign(final_train_error=[0.40, 0.20])
    assert degradation_verdict(ahead).keys == ("res_better",)


def test_the_analysis_module_still_offers_the_verdict():
    assert degradation.degradation_sentence is degradation_sentence and degradation.NOISE_POINTS == NOISE_POINTS


# ---------------------------------------------------------------- a real run, replayed

def _replay_store(folder: Path) -> list[str]:
    """Write the recorded run's per-iteration training errors into a RunStore, as its trainer did."""
    curves = pd.read_csv(REPLAY, comment="#")
    store = RunStore(folder)
    ids = []
    try:
        for name, (depth, kind) in NETS.items():
            config = {"family": "cifar", "depth": depth, "shortcuts": kind == "residual", "dataset": "synthetic"}
            run_id = store.create_run(name, config, group_id="replay", status="running", total_steps=len(curves))
            for step, error in zip(curves["step"], curves[name]):
                store.log_step(run_id, int(step), epoch=0.0, train_seconds=float(step), train_loss=1.0,
                               train_error=float(error), lr=0.025, images_per_second=1.0)
            store.set_progress(run_id, int(curves["step"].max()), len(curves))
            ids.append(run_id)
    finally:
        store.close()
    return ids


@pytest.mark.slow
def test_a_real_run_replayed_iteration_by_iteration_never_takes_its_claim_back(tmp_path):
    ids = _replay_store(tmp_path / "replay")
    store = RunStore(tmp_path / "replay")
    try:
        every = pd.concat([store.steps(run_id).assign(run_id=run_id) for run_id in ids], ignore_index=True)
        last = int(every["step"].max())
        claims = []
        for step in range(1, last + 1):
            summary = degradation.summarize_runs(store, ids, at_step=step)
            result = degradation_verdict(summary, every[every["step"] <= step])
            claims.append(result.claimed)
            assert result.claimed == _says(result.text("en"), "en") == _says(result.text("ko"), "ko")
        # The page as the app builds it (curves read through CurveBuffer frames) reads the end the same way.
        buffers = []
        for run_id in ids:
            buffer = degradation.CurveBuffer()
            buffer.update_from_store(store, run_id)
            buffers.append(buffer.frame().assign(run_id=run_id))
        at_end = degradation_verdict(degradation.summarize_runs(store, ids), pd.concat(buffers, ignore_index=True))
    finally:
        store.close()
    changes = [i + 1 for i in range(1, len(claims)) if claims[i] != claims[i - 1]]  # iterations
    said, withdrawn = changes[0::2], changes[1::2]
    assert not (withdrawn and said[1:]), f"claimed at {said}, withdrawn at {withdrawn}"
    assert said and said[0] >= MIN_STEPS_TO_CLAIM  # this run does show it, and not before the minimum
    assert at_end.claimed == claims[-1]
