"""The prose says what the code does and what the paper says: numbers come from their constants.

Each fact lives in one place (a constant the app measured or chose, or the model itself); these
tests change nothing in the app, they check that the sentences a class reads quote those places
and do not repeat what the recipe change made stale.
"""

from __future__ import annotations

from pathlib import Path

from app_pages.text import architecture, degradation, gradients, lab, landscape, paper
from app_pages.text.recipe_notes import RECIPE_NOTES
from resnet_edu.data.synthetic import SYNTHETIC_TRAIN_IMAGES
from resnet_edu.inside import gradients as gradient_readings
from resnet_edu.train import LINEAR_WARMUP_STEPS, TrainConfig, classroom
from resnet_edu.train.recipes import COLLAPSE_BATCH, COLLAPSE_ITERATIONS

ROOT = Path(__file__).resolve().parents[1]


def test_the_classroom_recipe_is_said_to_change_three_things():
    assert "changes three things" in paper.LAB_RECIPE["en"] and "세 가지" in paper.LAB_RECIPE["ko"]
    assert f"batches of {classroom.cpu_batch_text()}" in paper.LAB_RECIPE["en"]
    notes = " ".join(note["en"] for note in RECIPE_NOTES["classroom"])
    assert "three things" in notes and f"first {LINEAR_WARMUP_STEPS} iterations" in notes
    caption = gradients.fig7_caption("plain-20: 40")["en"]
    assert "changes three things" in caption and "only ramps" not in caption
    for path in ("README.md", "resnet_edu/train/__init__.py", "resnet_edu/train/recipes.py"):
        text = " ".join((ROOT / path).read_text(encoding="utf-8").split())
        assert "three things" in text and "adds one thing" not in text and "changes one thing" not in text, path


def test_measured_numbers_come_from_their_constants():
    run_cpu = TrainConfig().epochs * (SYNTHETIC_TRAIN_IMAGES // min(classroom.CPU_BATCH_SIZE.values()))
    run_128 = TrainConfig().epochs * (SYNTHETIC_TRAIN_IMAGES // classroom.COMPILE_BATCH)
    help_text = lab.COMPILE_HELP["en"]
    assert f"{run_cpu:,} iterations of" in help_text and f"{run_128:,}" in help_text
    assert f"batches of {classroom.COMPILE_BATCH}" in help_text  # the break-even was measured at that batch
    assert f"{min(classroom.CPU_BATCH_SIZE.values())} images on a CPU" in degradation.SMOOTH_HELP["en"]
    collapse = f"{COLLAPSE_ITERATIONS[0]}–{COLLAPSE_ITERATIONS[1]} iterations"
    notes = " ".join(note["en"] for notes in RECIPE_NOTES.values() for note in notes)
    assert collapse in notes and f"batch {COLLAPSE_BATCH}" in notes and "hundreds of iterations" not in notes
    assert "synthetic set" in notes and "CIFAR-10 photos" in notes  # where lr 0.1 at small batches was measured


def test_gradient_captions_do_not_read_the_raw_ratio_as_vanishing():
    first, last = gradient_readings.first_last_weight_counts("cifar")
    assert (first, last) == (3 * 16 * 9, 64 * 64 * 9)  # counted on the real net, not typed
    ratio = gradient_readings.equal_gradient_ratio(first, last)
    for entry in (gradients.HOW_TO_READ, gradients.RATIO_CAPTION, gradients.HEATMAP_CAPTION):
        assert f"{first:,}" in entry["en"] and f"{last:,}" in entry["en"] and f"{last:,}" in entry["ko"]
    assert f"{ratio:.2f}" in gradients.HOW_TO_READ["en"] and f"{ratio:.2f}" in gradients.RATIO_CAPTION["en"]
    assert "that would be vanishing" not in gradients.HOW_TO_READ["en"]
    assert "이것이 기울기 소실입니다" not in gradients.HOW_TO_READ["ko"]
    assert "(nearly) vanished" not in gradients.RATIO_CAPTION["en"]


def test_sources_and_reasons():
    weights_text = (ROOT / "app_pages/text/features.py").read_text(encoding="utf-8")
    assert "the paper authors' recipe" not in weights_text and "논문 저자들의 학습법)" not in weights_text
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "model-release notes" in readme and "as in the paper;" not in readme
    cheaper = architecture.deeper_yet_cheaper(
        dict(total=19.6e9, to_56=4.7e9, params=143.7e6, filters={224: 64, 112: 128, 56: 256, 28: 512, 14: 512},
             fc=0.12e9, fc_params=123.6e6),
        dict(total=3.6e9, to_56=0.12e9, filters={56: 64, 28: 128, 14: 256, 7: 512}))
    assert "7×7 conv" in cheaper["en"] and "256 vs 64 at 56×56" in cheaper["en"] and "0.6%" in cheaper["en"]
    assert "no 4096-wide" not in cheaper["en"]
    assert "Sec. 4.1" in architecture.SHORTCUT_TYPE_HELP["en"] and "4.1절" in architecture.SHORTCUT_TYPE_HELP["ko"]


def test_the_landscape_page_reports_a_correlation_and_names_whose_paper():
    page = (ROOT / "app_pages/landscape.py").read_text(encoding="utf-8")
    assert "make deep nets trainable" not in page and "The paper uses" not in page
    assert "correlation" in landscape.INTRO["en"] and "상관관계" in landscape.INTRO["ko"]
    assert "Li et al. (2018)" in landscape.WHAT_THE_PAPER_SHOWS["en"]
    assert "너머" not in landscape.INTRO["ko"] and "Goldstein(2018)은" in landscape.INTRO["ko"]


def test_the_paper_page_defines_its_terms_before_use():
    assert "**Top-5 error**" in paper.TOP5_DEFINED["en"] and "**10-crop testing**" in paper.TEN_CROP_DEFINED["en"]
    assert "**option B**" in paper.SHORTCUT_OPTIONS["en"] and "Sec. 4.1" in paper.SHORTCUT_OPTIONS["en"]
    idea = (ROOT / "app_pages/paper_sections/the_idea.py").read_text(encoding="utf-8")
    results = (ROOT / "app_pages/paper_sections/the_results.py").read_text(encoding="utf-8")
    assert idea.index("TOP5_DEFINED") < idea.index("revolution_of_depth_ui() -> None")  # under the headline
    assert "SHORTCUT_OPTIONS" in idea  # section 3, before the tables of sections 4 and 6
    assert results.index("TEN_CROP_DEFINED") < results.index("def results_ui")


def test_english_and_korean_say_the_same_thing():
    assert "*no higher*" in paper.SHOULD_NOT_HAPPEN["en"] and "더 높지 않아야" in paper.SHOULD_NOT_HAPPEN["ko"]
    assert "훨씬" not in paper.WHY_EASIER["ko"]
    assert "in lockstep" in lab.INTRO["en"] and "같은 속도로" not in lab.INTRO["ko"]
