"""Lesson links: the Lab's choices in a page's URL, so one link on a slide opens every student's tab ready.

    http://teacher-laptop:8501/lab?preset=fig1_fix&dataset=synthetic&family=cifar&depths=20,56
        &kind=both&recipe=classroom&epochs=3&seed=0&view=simple

* :class:`LabChoices` holds what a link can set, with the Lab's defaults and limits (the Lab's
  widgets take their defaults and ranges from here).
* :func:`read_link` turns a URL's query (a dict of strings, as ``st.query_params`` gives it) into a
  :class:`LessonLink`: the choices, the view ("full", or "simple": the advanced controls hidden
  for a class) and one sentence for each value it could not use. A bad value falls back to its
  default and the others still apply; nothing raises.
* :func:`link_query` and :func:`lesson_url` are the way back: choices -> query -> the link to share.

The query names: ``preset`` (a key of ``resnet_edu.train.PRESETS``: the comparison the lesson
starts with one click), ``dataset``, ``family`` (cifar / imagenet), ``depths`` (comma-separated),
``kind`` (both / plain / residual), ``recipe`` (classroom / paper), ``epochs``, ``iterations``
(the iteration limit; empty for none), ``seed`` and ``view``. ``lang`` belongs to the app (the
tab's language) and is kept as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from urllib.parse import urlencode

from resnet_edu.data.catalog import DATASETS
from resnet_edu.models import FAMILIES, MAX_CIFAR_DEPTH
from resnet_edu.train.config import MAX_EPOCHS, RECIPES, TrainConfig
from resnet_edu.train.recipes import PRESETS

CIFAR_DEPTHS = (20, 32, 44, 56, 110)  # the depths the Lab lists (the paper's Table 6); one more goes in a box
IMAGENET_DEPTHS = (18, 34, 50)
DEFAULT_DEPTHS = {"cifar": (20, 56), "imagenet": (18, 34)}
MIN_CIFAR_DEPTH = 8  # 6n+2 with n = 1 (MAX_CIFAR_DEPTH: the paper's deepest net, from models)
KINDS = ("both", "plain", "residual")
VIEWS = ("full", "simple")
EPOCHS_RANGE = (1, MAX_EPOCHS)
ITERATIONS_RANGE = (1, 10_000_000)
SEED_RANGE = (0, 2**31 - 1)
APP_PARAMS = ("lang", "embed", "embed_options")  # query names the app or Streamlit reads: not the Lab's
_RUN = TrainConfig()  # a run's defaults: a lesson link's are the same


@dataclasses.dataclass(frozen=True)
class LabChoices:
    """The Lab's settings that a lesson link carries, with the Lab's defaults (a run's, where a run has one)."""

    preset: str | None = None  # the comparison the lesson starts with one click (None: none proposed)
    dataset: str = _RUN.dataset  # one of resnet_edu.data.catalog.DATASETS
    family: str = _RUN.family  # "cifar" (depth 6n+2) or "imagenet" (18/34/50)
    depths: tuple[int, ...] = DEFAULT_DEPTHS["cifar"]  # of the family; at most one CIFAR depth outside CIFAR_DEPTHS
    kind: str = "both"  # plain and residual twins, or one kind
    recipe: str = _RUN.recipe  # "classroom" or "paper" (Sec. 4.2)
    epochs: int = _RUN.epochs  # epochs of the lr schedule
    iterations: int | None = None  # stop after this many iterations (None: at the end of the epochs)
    seed: int = _RUN.seed  # weights, batches and augmentation

    def listed_depths(self, family: str) -> list[int]:
        """The depths of ``family`` for the Lab's depth list (another family's: its defaults)."""
        if family != self.family:
            return list(DEFAULT_DEPTHS[family])
        listed = CIFAR_DEPTHS if family == "cifar" else IMAGENET_DEPTHS
        return [d for d in self.depths if d in listed]

    @property
    def custom_depth(self) -> int | None:
        """The CIFAR depth outside the list (the Lab's "custom depth" box), or None."""
        other = [d for d in self.depths if d not in CIFAR_DEPTHS] if self.family == "cifar" else []
        return other[0] if other else None


@dataclasses.dataclass(frozen=True)
class LessonLink:
    """What a link asked for: the choices, the view, and a sentence (``dict(en=..., ko=...)``) per unusable value."""

    choices: LabChoices = LabChoices()
    view: str = "full"
    problems: tuple[dict, ...] = ()
    given: frozenset = frozenset()  # the query names the link set (the others are defaults)

    @property
    def simple(self) -> bool:
        return self.view == "simple"


def _problem(en: str, ko: str) -> dict:
    return {"en": en, "ko": ko}


def _whole(text: str, name: str, bounds: tuple[int, int]) -> tuple[int | None, dict | None]:
    low, high = bounds
    try:
        value = int(text.strip())
    except ValueError:
        return None, _problem(f"{name}={text!r} is not a whole number",
                              f"{name}={text!r}: 정수가 아닙니다")
    if not low <= value <= high:
        return None, _problem(f"{name}={value} is outside {low:,} to {high:,}",
                              f"{name}={value}: {low:,}에서 {high:,} 사이가 아닙니다")
    return value, None


def _depths(text: str, family: str) -> tuple[tuple[int, ...] | None, dict | None]:
    parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
    try:
        depths = sorted({int(p) for p in parts})
    except ValueError:
        return None, _problem(f"depths={text!r} is not a list of whole numbers (e.g. depths=20,56)",
                              f"depths={text!r}: 정수 목록이 아닙니다 (예: depths=20,56)")
    if not depths:
        return None, _problem("depths= names no depth (e.g. depths=20,56)", "depths=: 깊이가 없습니다 (예: depths=20,56)")
    if family == "imagenet":
        bad = [d for d in depths if d not in IMAGENET_DEPTHS]
        if bad:
            allowed = ", ".join(map(str, IMAGENET_DEPTHS))
            return None, _problem(f"depth {bad[0]} is not one of the Lab's ImageNet-style depths ({allowed})",
                                  f"깊이 {bad[0]}: 실험실의 ImageNet식 깊이({allowed}) 중 하나가 아닙니다")
        return tuple(depths), None
    for d in depths:
        if not MIN_CIFAR_DEPTH <= d <= MAX_CIFAR_DEPTH:
            return None, _problem(f"depth {d} is outside {MIN_CIFAR_DEPTH} to {MAX_CIFAR_DEPTH} (6n+2 layers)",
                                  f"깊이 {d}: {MIN_CIFAR_DEPTH}에서 {MAX_CIFAR_DEPTH} 사이(6n+2층)가 아닙니다")
        if (d - 2) % 6:
            near = " or ".join(str(n) for n in (d - (d - 2) % 6, d - (d - 2) % 6 + 6) if n >= MIN_CIFAR_DEPTH)
            return None, _problem(f"depth {d} is not 6n+2 (try {near})",
                                  f"깊이 {d}: 6n+2가 아닙니다 ({near.replace(' or ', ' 또는 ')}을(를) 써 보세요)")
    others = [d for d in depths if d not in CIFAR_DEPTHS]
    if len(others) > 1:
        listed = ", ".join(map(str, CIFAR_DEPTHS))
        return None, _problem(f"depths {', '.join(map(str, others))}: the Lab lists {listed} and has one box for "
                              "one more depth",
                              f"깊이 {', '.join(map(str, others))}: 실험실에는 {listed}의 목록과 깊이 하나를 더 넣는 "
                              "칸이 있을 뿐입니다")
    return tuple(depths), None


def _choice(text: str, name: str, allowed) -> tuple[str | None, dict | None]:
    value = text.strip()
    if value in allowed:
        return value, None
    words = ", ".join(allowed)
    return None, _problem(f"{name}={text!r} is not one of {words}", f"{name}={text!r}: {words} 중 하나가 아닙니다")


def read_link(query: Mapping[str, object]) -> LessonLink:
    """The lesson a URL's query asks for; a value that cannot be used is a sentence, and its default stays.

    Args:
        query: name -> text (a list of texts counts by its last one, as ``st.query_params.get`` reads it).
    """
    def text(name: str) -> str | None:
        value = query.get(name)
        if isinstance(value, (list, tuple)):
            value = value[-1] if value else ""
        return None if value is None else str(value)

    values: dict = {}
    problems: list[dict] = []
    given = set()

    def take(name: str, result: tuple) -> None:
        value, problem = result
        if problem is not None:
            problems.append(problem)
        else:
            values[name] = value
            given.add(name)

    for name, allowed in (("preset", tuple(PRESETS)), ("dataset", DATASETS), ("family", FAMILIES),
                          ("kind", KINDS), ("recipe", RECIPES), ("view", VIEWS)):
        if text(name) is not None:
            take(name, _choice(text(name), name, allowed))
    family = values.get("family", "cifar")
    if text("depths") is not None:
        take("depths", _depths(text("depths"), family))
    if "depths" not in values:
        values["depths"] = DEFAULT_DEPTHS[family]
    for name, bounds in (("epochs", EPOCHS_RANGE), ("seed", SEED_RANGE)):
        if text(name) is not None:
            take(name, _whole(text(name), name, bounds))
    if text("iterations") is not None:
        raw = text("iterations").strip()
        if raw.lower() in ("", "none"):
            values["iterations"] = None
            given.add("iterations")
        else:
            take("iterations", _whole(raw, "iterations", ITERATIONS_RANGE))

    known = {field.name for field in dataclasses.fields(LabChoices)} | {"view", *APP_PARAMS}
    for name in query:
        if name not in known:
            names = ", ".join(sorted(known - set(APP_PARAMS)))
            problems.append(_problem(f"{name!r} is not a Lab setting (a link can set {names})",
                                     f"{name!r}: 실험실 설정이 아닙니다 (링크로 정할 수 있는 것: {names})"))
    view = values.pop("view", "full")
    return LessonLink(choices=LabChoices(**values), view=view, problems=tuple(problems), given=frozenset(given))


def link_query(choices: LabChoices, view: str = "full", lang: str | None = None) -> dict[str, str]:
    """The query of a link to ``choices`` (every setting, so the link means the same if defaults change)."""
    query = {}
    if choices.preset:
        query["preset"] = choices.preset
    query.update(dataset=choices.dataset, family=choices.family, depths=",".join(map(str, sorted(choices.depths))),
                 kind=choices.kind, recipe=choices.recipe, epochs=str(choices.epochs), seed=str(choices.seed))
    if choices.iterations is not None:
        query["iterations"] = str(choices.iterations)
    if view != "full":
        query["view"] = view
    if lang:
        query["lang"] = lang
    return query


def lesson_url(app_url: str, page: str, query: Mapping[str, str]) -> str:
    """The link: the app's address, the page's URL path ("" for the home page) and the query."""
    return f"{app_url.rstrip('/')}/{page.strip('/')}" + (f"?{urlencode(query, safe=',')}" if query else "")


def app_address(page_url: str | None, page: str, fallback: str = "http://localhost:8501") -> str:
    """The app's address from a page's URL in the browser (``st.context.url``: .../lab), without the page."""
    if not page_url:
        return fallback
    address = page_url.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if page and address.endswith("/" + page):
        address = address[: -len(page) - 1]
    return address


def is_local(address: str) -> bool:
    """Whether students on other computers cannot open this address (localhost, 127.x, ::1)."""
    host = address.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]").lower()
    return host in ("localhost", "::1", "0.0.0.0") or host.startswith("127.")
