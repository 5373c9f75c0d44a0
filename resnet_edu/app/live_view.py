"""The Degradation page served to a whole classroom: its content computed once per change, and shared.

A classroom has 30 browsers on the same runs. Building the two figures, the summary table
and the sentence costs far more CPU than sending them (about 0.4 s of one core here), and
that CPU is taken from training on a 2-core laptop. So :class:`SharedViews` builds a
:class:`DegradationView` once per *version* of the chosen runs (their status and iteration
count, from one cheap query, ``RunStore.versions``) and every session reuses it; while runs
only advance, it is rebuilt at most every ``REBUILD_SECONDS`` however many tabs ask, so
watching costs the same for 1 tab or 30. A run that starts, ends or is renamed shows at
once. What the views are made of, each shared the same way:

* :class:`SharedCurves`: the training curves, read incrementally into one ``CurveBuffer``
  per run for all sessions;
* :class:`PreparedFigure`: a figure whose dict form (what the browser receives) is made once;
* :class:`RunMenu`: the run picker's menu (labels that never carry a status), rebuilt only when
  a run starts, ends or changes;
* :class:`CpuBudget`: paces the drawing itself, so that tabs never take the CPU training needs.

No Streamlit here: the app keeps one SharedViews and one CpuBudget per server.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa

from resnet_edu import plots, words
from resnet_edu.app.run_picking import distinct_names
from resnet_edu.inside import degradation
from resnet_edu.runs import ACTIVE_STATUSES
from resnet_edu.runs.export import csv_text
from resnet_edu.train import TRAIN_ERROR_WINDOW
from resnet_edu.words import pick

MAX_POINTS = 600  # points per training curve sent to browsers: more than a chart's width in pixels
SMOOTH_STEPS = TRAIN_ERROR_WINDOW  # the smoothed curve is the training error the analysis reads
REBUILD_SECONDS = 3.0  # while runs only advance, a view is at most this old (pages refresh every 2 s)


class CpuBudget:
    """Paces work so that this process uses at most ``cores`` CPU cores, on average over ``window`` s.

    On a 2-core laptop the training process needs both cores, and every page a tab re-runs
    takes CPU from it: 30 tabs re-running the Degradation page each second kept one core of
    the server busy and halved training. The pages call :meth:`wait` before drawing while
    runs train: it returns at once while the server is under budget (one tab, a few tabs:
    never slowed), otherwise it sleeps in short steps until the server is back under it, or
    ``max_wait`` has passed (a page may be late, it is never lost). What the class sees gets
    a little older; training keeps its speed.
    """

    def __init__(self, cores: float, window: float = 1.0, max_wait: float = 10.0, step: float = 0.05,
                 clock=time.monotonic, cpu_seconds=time.process_time, sleep=time.sleep) -> None:
        self.cores, self.window, self.max_wait, self.step = cores, window, max_wait, step
        self._clock, self._cpu_seconds, self._sleep = clock, cpu_seconds, sleep
        self._samples: deque[tuple[float, float]] = deque()  # (time, CPU seconds of this process)
        self._lock = threading.Lock()
        self.waited_seconds = 0.0  # in all waits so far (for benchmarks)

    def usage(self) -> float:
        """CPU cores this process used over about the last ``window`` seconds (0 until it can tell)."""
        now, cpu = self._clock(), self._cpu_seconds()
        with self._lock:
            self._samples.append((now, cpu))
            while len(self._samples) > 2 and self._samples[1][0] <= now - self.window:
                self._samples.popleft()  # keep one sample at least `window` old, if there is one
            then, cpu_then = self._samples[0]
        return (cpu - cpu_then) / (now - then) if now - then >= self.window / 4 else 0.0

    def wait(self) -> float:
        """Sleep while this process is over budget (at most ``max_wait``); returns the seconds waited."""
        start = self._clock()
        while self.usage() > self.cores and self._clock() - start < self.max_wait:
            self._sleep(self.step)
        waited = self._clock() - start
        self.waited_seconds += waited
        return waited


class SharedCurves:
    """One ``CurveBuffer`` per run for the whole process, updated incrementally under a lock.

    A resumed run rewrites the iterations after its checkpoint, so its buffer starts afresh
    when the number of "resumed" events changes.
    """

    def __init__(self, max_points: int = MAX_POINTS) -> None:
        self.max_points = max_points
        self._buffers: dict[str, tuple[int, degradation.CurveBuffer]] = {}
        self._lock = threading.Lock()

    def read(self, store, run_ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(steps, evals, events) of the runs, each with a run_id column."""
        steps, evals, events = [], [], []
        with self._lock:
            for run_id in run_ids:
                run_events = store.events(run_id)
                resumes = int((run_events["kind"] == "resumed").sum())
                marker, buffer = self._buffers.get(run_id, (None, None))
                if buffer is None or marker != resumes:
                    buffer = degradation.CurveBuffer(self.max_points)
                    self._buffers[run_id] = (resumes, buffer)
                buffer.update_from_store(store, run_id)  # long runs come summed per block, from SQL
                steps.append(buffer.frame().assign(run_id=run_id))
                evals.append(store.evals(run_id).assign(run_id=run_id))
                events.append(run_events.assign(run_id=run_id))

        def stack(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
            frames = [f for f in frames if len(f)]
            return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)

        return (stack(steps, ["run_id", "step", "epoch", "train_seconds", "train_error", "n"]),
                stack(evals, ["run_id", "step", "epoch", "train_seconds", "test_error"]),
                stack(events, ["run_id", "step", "kind", "detail"]))


def runs_info(selected: pd.DataFrame) -> pd.DataFrame:
    """run_id, name (unique within the selection), depth, kind, family: what the charts need."""
    config = selected["config"]
    info = pd.DataFrame({
        "run_id": selected["run_id"].to_numpy(),
        "name": selected["name"].to_numpy(),
        "depth": [int(c.get("depth", 0)) for c in config],
        "kind": [degradation.run_kind(c) for c in config],
        "family": [c.get("family", "cifar") for c in config],
    })
    info["name"] = distinct_names(info["name"], selected["created_at"])
    return info


class PreparedFigure(go.Figure):
    """A finished figure whose dict form is computed once, for figures many viewers draw.

    ``st.plotly_chart`` turns a figure into a dict (``to_dict``: a deep copy plus a walk
    over every array) on every draw. For a figure shared by a classroom that is the same
    work 30 times per refresh, so it is done here once. Treat the figure as read-only:
    a change made after preparing it would not reach the dict.
    """

    def __init__(self, figure: go.Figure) -> None:
        super().__init__(figure)
        self._prepared = super().to_dict()

    def to_dict(self) -> dict:
        prepared = getattr(self, "_prepared", None)  # None while go.Figure.__init__ runs
        return prepared if prepared is not None else super().to_dict()


@dataclass(frozen=True)
class RunMenu:
    """The runs a picker offers, grouped the way they were started.

    Built from ``RunStore.run_menu()`` rows; a new menu is needed only when those rows change
    (a run starts, ends, is renamed or deleted), not when iterations come in. The labels are
    made of names and start times only: they stay the same while a run trains, ends or fails,
    and in both languages, so a browser showing an older menu still names the same runs. A
    run's status is told apart from its label (:meth:`status_line`).
    """

    rows: tuple  # RunStore.run_menu() as it was when the menu was built
    groups: tuple[str, ...]  # comparison groups, newest first; a run started alone is its own group
    members: dict[str, list[str]]  # group -> its run ids, newest first
    run_labels: dict[str, str]  # run id -> "plain-20 · 11-28 09:15" (never its status)
    group_labels: dict[str, str]  # group -> "11-28 09:15 · plain-20, plain-56"
    statuses: dict[str, str]  # run id -> its status in the store
    active: frozenset[str]  # runs queued or training

    @classmethod
    def build(cls, rows: list[tuple]) -> RunMenu:
        members: dict[str, list[str]] = {}
        names: dict[str, list[str]] = {}
        first_created: dict[str, str] = {}
        statuses = {}
        for run_id, name, group_id, status, created_at in rows:
            group = group_id or run_id
            members.setdefault(group, []).append(run_id)
            names.setdefault(group, []).append(name)
            first_created[group] = created_at  # rows are newest first: the last one seen is the first started
            statuses[run_id] = status
        run_labels = dict(zip([row[0] for row in rows],
                              distinct_names([row[1] for row in rows], [row[4] for row in rows], always_time=True)))
        group_labels = {group: f"{words.clock_label(first_created[group])} · {', '.join(dict.fromkeys(names[group]))}"
                        for group in members}
        active = frozenset(run_id for run_id, status in statuses.items() if status in ACTIVE_STATUSES)
        return cls(rows=tuple(rows), groups=tuple(members), members=members, run_labels=run_labels,
                   group_labels=group_labels, statuses=statuses, active=active)

    def run_label(self, run_id: object) -> str:
        """The run's label; a run no longer in the menu (deleted since) is named by what was sent."""
        return self.run_labels.get(run_id, str(run_id))

    def group_label(self, group: object) -> str:
        """The group's label; a group no longer in the menu is named by what was sent."""
        return self.group_labels.get(group, str(group))

    def status_line(self, run_ids: list[str], lang: str = "en") -> str:
        """Where the chosen runs are: "🟢 plain-20: training · ⚪ ResNet-20: finished"."""
        marks = {"running": "🟢", "queued": "⏳", "finished": "✅", "stopped": "⏹️", "diverged": "⚠️",
                 "failed": "❌", "interrupted": "⏸️"}
        return " · ".join(f"{marks.get(self.statuses[r], '•')} {self.run_labels[r]}: "
                          f"{words.status_word(self.statuses[r], lang)}" for r in run_ids if r in self.statuses)

    def group_with(self, run_ids: list[str]) -> str | None:
        """The group whose runs are exactly these (in any order), if there is one."""
        wanted = set(run_ids)
        return next((group for group in self.groups if set(self.members[group]) == wanted), None)


def summary_table(summary: pd.DataFrame, lang: str = "en") -> pa.Table:
    """``degradation.summarize_runs`` as the page shows it: percentages, words, headers in ``lang``.

    The training error is read at the run's last iteration, the test error at its last evaluation (the
    end of an epoch, often earlier): the table says at which iteration each was measured.

    An Arrow table, what ``st.dataframe`` sends to the browser: from a pandas frame it would
    convert again on every draw, the largest single cost of re-running the page (measured).
    """
    window = TRAIN_ERROR_WINDOW  # iterations the final training error averages
    train_error = pick(lang, f"training error % (last {window})", f"훈련 오류 % (최근 {window}회)")
    return pa.Table.from_pandas(pd.DataFrame({
        pick(lang, "run", "실행"): summary["name"],
        pick(lang, "depth", "깊이"): summary["depth"],
        pick(lang, "kind", "종류"): summary["kind"].map(lambda kind: plots.kind_word(kind, lang)),
        pick(lang, "iterations", "반복"): summary["steps"],
        train_error: (100 * summary["final_train_error"]).round(2),
        pick(lang, "test error %", "테스트 오류 %"): (100 * summary["final_test_error"]).round(2),
        pick(lang, "test measured at iteration", "테스트를 잰 반복"):  # blank before the first evaluation
            summary["test_step"].astype("Int64").where(summary["final_test_error"].notna()),
        pick(lang, "status", "상태"): summary["status"].map(lambda status: words.status_word(status, lang)),
    }), preserve_index=False)


@dataclass(frozen=True)
class DegradationView:
    """Everything the Degradation page draws for one selection, at one version of the store."""

    info: pd.DataFrame  # runs_info of the chosen runs, in the chosen order
    active: bool  # does any of them still train?
    sentence: str  # the runs read in words, compared at the last iteration all of them reached
    curves: PreparedFigure  # Fig. 1 / Fig. 6: training and test error against x
    error_vs_depth: PreparedFigure  # final error against depth, plain and residual
    summary: pd.DataFrame  # degradation.summarize_runs, with names from info
    table: pa.Table  # summary_table(summary, lang): what the page's table shows
    summary_csv: str  # summary as CSV, for the download button


def build_degradation_view(store, run_ids: list[str], *, x: str = "step", reference_on: bool = False,
                           smooth: bool = True, lang: str = "en",
                           curves: SharedCurves | None = None) -> DegradationView | None:
    """The page's content for the chosen runs (in that order); None when none of them exists."""
    runs = store.list_runs()
    selected = runs[runs["run_id"].isin(run_ids)]
    present = set(selected["run_id"])
    selected = selected.set_index("run_id").loc[[r for r in run_ids if r in present]].reset_index()
    if selected.empty:
        return None
    info = runs_info(selected)
    steps, evals, events = (curves or SharedCurves()).read(store, info["run_id"].tolist())
    table6 = degradation.load_table6() if reference_on else None
    revision = "|".join(info["run_id"]) + f"|{x}"

    summary = degradation.summarize_runs(store, info["run_id"])
    summary["name"] = summary["run_id"].map(dict(zip(info["run_id"], info["name"])))
    at = degradation.common_step(summary)
    aligned = summary
    if at is not None and (summary.loc[summary["steps"] > 0, "steps"] != at).any():
        aligned = degradation.summarize_runs(store, info["run_id"], at_step=at)
        aligned["name"] = summary["name"].to_numpy()

    return DegradationView(
        info=info,
        active=bool(selected["status"].isin(ACTIVE_STATUSES).any()),
        sentence=degradation.degradation_sentence(aligned, lang, curves=steps),
        curves=PreparedFigure(plots.training_curves(
            steps, evals, events, info, x=x, reference=table6, smooth_steps=SMOOTH_STEPS if smooth else 0,
            lang=lang, uirevision=revision)),
        error_vs_depth=PreparedFigure(plots.error_vs_depth(summary, reference=table6, lang=lang,
                                                           uirevision=revision)),
        summary=summary,
        table=summary_table(summary, lang),
        summary_csv=csv_text(summary),
    )


class SharedViews:
    """The views every session draws, built at most once per change and per ``min_seconds``.

    A view is rebuilt when the chosen runs change in a way a student must see at once (a run
    starts, gets its first iteration, ends, is renamed, or is deleted) and otherwise, while iterations come in, when it
    is ``min_seconds`` old. One build at a time per selection (the others wait, then share
    it); at most ``max_entries`` selections are kept, the least recently drawn dropped first.
    """

    def __init__(self, min_seconds: float | None = None, max_entries: int = 64) -> None:
        self.min_seconds = REBUILD_SECONDS if min_seconds is None else min_seconds
        self.max_entries = max_entries
        self.curves = SharedCurves()
        self.builds = 0  # how many views were built (for tests and benchmarks)
        self._entries: OrderedDict[tuple, dict] = OrderedDict()
        self._menu: RunMenu | None = None  # the newest menu
        self._lock = threading.Lock()

    def menu(self, store) -> RunMenu:
        """The run picker's menu (the same in every language): rebuilt only when a run starts, ends, is
        renamed or deleted."""
        rows = tuple(store.run_menu())
        menu = self._menu
        if menu is None or menu.rows != rows:
            menu = self._menu = RunMenu.build(list(rows))
        return menu

    def get(self, store, run_ids: list[str], **options) -> DegradationView | None:
        """The view of these runs (see :func:`build_degradation_view` for the options)."""
        versions = store.versions(run_ids)
        current = tuple((run_id, *versions.get(run_id, ())) for run_id in run_ids)
        # status, name, and whether it has an iteration yet: the first point shows at once
        lifecycle = tuple((run_id, *versions.get(run_id, ())[:2], bool(versions.get(run_id, (0, 0, 0))[2]))
                          for run_id in run_ids)
        key = (tuple(run_ids), tuple(sorted(options.items())))
        with self._lock:
            entry = self._entries.setdefault(key, {"lock": threading.Lock(), "view": None, "version": None,
                                                   "lifecycle": None, "built_at": 0.0})
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        with entry["lock"]:
            fresh = entry["version"] == current or (
                entry["lifecycle"] == lifecycle and time.monotonic() - entry["built_at"] < self.min_seconds)
            if entry["version"] is None or not fresh:
                entry["view"] = build_degradation_view(store, list(run_ids), curves=self.curves, **options)
                entry["version"], entry["lifecycle"], entry["built_at"] = current, lifecycle, time.monotonic()
                self.builds += 1
            return entry["view"]
