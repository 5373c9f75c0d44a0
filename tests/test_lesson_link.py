"""Lesson links on their own: a URL's query -> the Lab's choices and back, bad values as sentences."""

from __future__ import annotations

import dataclasses

import pytest

from resnet_edu.app.lesson_link import LabChoices, LessonLink, app_address, is_local, lesson_url, link_query, read_link

CHOICES = [
    LabChoices(),
    LabChoices(preset="fig6", dataset="cifar10", depths=(20, 26, 110), kind="residual", recipe="paper", epochs=164,
               iterations=64_000, seed=7),
    LabChoices(preset="imagenet", dataset="imagenette", family="imagenet", depths=(18, 50), kind="plain", seed=2**31 - 1),
    LabChoices(depths=(1202,), epochs=1, iterations=1),
]


@pytest.mark.parametrize("choices", CHOICES, ids=range(len(CHOICES)))
@pytest.mark.parametrize("view", ["full", "simple"])
def test_choices_go_through_a_link_and_come_back(choices, view):
    query = link_query(choices, view, lang="ko")
    assert all(isinstance(value, str) for value in query.values())
    link = read_link(query)
    assert link == LessonLink(choices=choices, view=view, given=link.given)
    assert link.simple == (view == "simple") and not link.problems


def test_no_query_is_the_labs_defaults():
    assert read_link({}) == LessonLink()
    assert read_link({}).choices.depths == (20, 56) and not read_link({}).simple


@pytest.mark.parametrize("name,value,words", [
    ("preset", "fig99", "preset='fig99' is not one of fig1, fig1_fix, fig6, imagenet"),
    ("dataset", "mnist", "dataset='mnist' is not one of synthetic, cifar10"),
    ("depths", "21", "depth 21 is not 6n+2 (try 20 or 26)"),
    ("depths", "2", "depth 2 is outside 8 to 1202"),
    ("depths", "20,abc", "not a list of whole numbers"),
    ("depths", "", "names no depth"),
    ("depths", "26,38", "26, 38: the Lab lists 20, 32, 44, 56, 110 and has one box for one more depth"),
    ("seed", "abc", "seed='abc' is not a whole number"),
    ("seed", "-1", "seed=-1 is outside 0 to 2,147,483,647"),
    ("epochs", "0", "epochs=0 is outside 1 to 1,000"),
    ("epochs", "2.5", "epochs='2.5' is not a whole number"),
    ("iterations", "many", "iterations='many' is not a whole number"),
    ("kind", "both,plain", "kind='both,plain' is not one of both, plain, residual"),
    ("recipe", "fast", "recipe='fast' is not one of classroom, paper"),
    ("view", "teacher", "view='teacher' is not one of full, simple"),
    ("sead", "3", "'sead' is not a Lab setting"),
])
def test_a_bad_value_is_one_sentence_and_its_default_the_others_apply(name, value, words):
    link = read_link({name: value, "epochs": "7"} if name != "epochs" else {name: value, "seed": "7"})
    assert len(link.problems) == 1 and words in link.problems[0]["en"], link.problems
    assert link.problems[0]["ko"] and link.problems[0]["ko"] != link.problems[0]["en"]
    defaults = LabChoices()
    if name in {f.name for f in dataclasses.fields(LabChoices)}:
        assert getattr(link.choices, name) == getattr(defaults, name)
    assert (link.choices.epochs, link.choices.seed) == ((3, 7) if name == "epochs" else (7, 0))
    assert link.view == "full"


def test_depths_of_imagenet_nets_need_their_family():
    assert read_link({"family": "imagenet"}).choices.depths == (18, 34)
    assert read_link({"family": "imagenet", "depths": "50,18"}).choices.depths == (18, 50)
    bad = read_link({"family": "imagenet", "depths": "20"})
    assert bad.choices.depths == (18, 34) and "(18, 34, 50)" in bad.problems[0]["en"]
    assert "depth 18 is not 6n+2" in read_link({"depths": "18"}).problems[0]["en"]


def test_what_the_app_and_browsers_add_is_not_a_problem():
    link = read_link({"lang": "ko", "embed": "true", "seed": ["1", "5"], "iterations": ""})
    assert not link.problems and link.choices.seed == 5 and link.choices.iterations is None


def test_the_labs_depth_boxes_from_a_link():
    choices = read_link({"depths": "110,20,26"}).choices
    assert choices.listed_depths("cifar") == [20, 110] and choices.custom_depth == 26
    assert choices.listed_depths("imagenet") == [18, 34]  # the other family keeps its defaults
    assert LabChoices().custom_depth is None


def test_the_link_itself():
    query = link_query(LabChoices(depths=(20, 56), seed=3), "simple")
    url = lesson_url(app_address("http://10.1.2.3:8501/lab", "lab"), "degradation", query)
    assert url == ("http://10.1.2.3:8501/degradation?dataset=synthetic&family=cifar&depths=20,56&kind=both"
                   "&recipe=classroom&epochs=3&seed=3&view=simple")
    assert lesson_url("http://host:8501/", "", {}) == "http://host:8501/"
    assert app_address("https://school.example/resnet/lab", "lab") == "https://school.example/resnet"
    assert app_address(None, "lab") == "http://localhost:8501"
    assert is_local("http://localhost:8501") and is_local("http://127.0.0.1:8501") and is_local("http://[::1]:8501")
    assert not is_local("http://10.1.2.3:8501") and not is_local("https://school.example/resnet")


def test_a_links_defaults_are_a_runs_defaults():
    from resnet_edu.train import TrainConfig

    run, lab = TrainConfig(), LabChoices()
    assert (lab.dataset, lab.family, lab.recipe, lab.epochs, lab.seed) == (
        run.dataset, run.family, run.recipe, run.epochs, run.seed)


def test_every_data_set_has_a_name_in_both_languages():
    from resnet_edu.data.catalog import DATASETS
    from resnet_edu.words import dataset_word

    for key in DATASETS:
        assert dataset_word(key, "en") != key or key == "imagenette", key
        assert dataset_word(key, "ko")
    assert dataset_word("synthetic", "ko") == "내장 도형" and dataset_word("synthetic", capital=True) == "Built-in shapes"
    assert dataset_word("mnist") == "mnist"  # an unknown key (an old run's) is shown as it is
