"""A full classroom: N students re-running the Degradation page while 3 small runs train on the CPU.

    python benchmarks/classroom_load.py                          # quick check: 4 sessions, 10 s phases
    python benchmarks/classroom_load.py --sessions 30 --seconds 60   # the issue's classroom

Set up as the real server is: this process plays the Streamlit server, its process-wide
JobManager (``ui.get_manager()``) hands one lockstep group of 3 nets to its training process
(``resnet_edu/worker.py``), and every "student" is a Streamlit ``AppTest`` session in its own
thread of this process that re-runs the Degradation page about every ``--interval`` seconds
(the whole page: heavier than the browser, which only re-runs the page's chart fragment
every 2 s). ``--isolation thread`` trains in a thread of this process instead (how the app
trained before: the pages then compete with training for one GIL).

Phases, each ``--seconds`` long: ``alone`` (no viewers), ``viewers`` (all sessions open and
re-running), ``alone_again``; the sessions open between the first two (``arrival``, timed
but not part of any throughput figure). Throughput is training images per second of wall
time (all 3 nets), from the iterations each run advanced in the phase; the ratio compares
``viewers`` with the mean of the two ``alone`` phases, which cancels slow drift in the load
from other programs.

Prints one JSON object: exceptions in the sessions (want 0), 'database is locked' anywhere
(want 0), throughput alone / with viewers and their ratio, page re-run latency, peak and
per-phase memory (RSS of this process and of the training process). Asserts nothing: timings depend on the machine and what else runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import statistics
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LOCKED = "database is locked"


class _LockCounter(logging.Handler):
    """Counts log records that mention a locked database (the RunStore logs a failed commit)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.count = 0
        self.samples: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001
            return
        if LOCKED in text:
            self.count += 1
            if len(self.samples) < 5:
                self.samples.append(text[:300])


class _ThreadErrors:
    """Uncaught exceptions in any thread (script threads, training workers), by kind."""

    HARNESS = "Runtime hasn't been created"

    def __init__(self) -> None:
        self.app: list[str] = []
        self.harness = 0
        self._previous = threading.excepthook
        threading.excepthook = self

    def __call__(self, hook_args) -> None:
        text = f"{hook_args.exc_type.__name__}: {hook_args.exc_value}"
        if self.HARNESS in text:
            self.harness += 1
        else:
            self.app.append(f"{hook_args.thread.name if hook_args.thread else '?'}: {text[:300]}")
            self._previous(hook_args)


def _share_the_test_runtime() -> None:
    """AppTest is made for one session at a time: each run installs a mock Runtime and sets
    ``Runtime._instance = None`` when it ends, which breaks the end of any other session's script
    still running ("Runtime hasn't been created!"). A real server has one Runtime for all
    sessions: keep the last mock reachable so concurrent sessions behave like that."""
    from streamlit.runtime.runtime import Runtime

    last: dict = {}
    original = Runtime.instance.__func__

    def instance(cls):
        current = cls._instance
        if current is not None:
            last["runtime"] = current
            return current
        if "runtime" in last:
            return last["runtime"]
        return original(cls)

    Runtime.instance = classmethod(instance)


def _share_the_script_cache() -> None:
    """A real server compiles app.py and each page once (one ScriptCache in its Runtime);
    AppTest makes a new cache, so compiles the scripts again, on every run. Share one, as the
    server does, so the benchmark does not count CPU time a classroom would not spend."""
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    shared = ScriptCache()
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: shared


def _rss_mb(pid: int | str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform.startswith("linux") else peak / 2**20


class _Memory(threading.Thread):
    """Samples the RSS of this process (the "server") and of the training process, twice a second."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.samples: list[tuple[float, float, float]] = []
        self.training_pid: int | None = None
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            training = _rss_mb(self.training_pid) if self.training_pid else 0.0
            self.samples.append((time.monotonic(), _rss_mb(), training))
            self.halt.wait(0.5)

    def between(self, start: float, end: float) -> dict:
        rows = [(app, training) for t, app, training in self.samples if start <= t <= end]
        if not rows:
            return {}
        apps = [app for app, _ in rows]
        summary = {"rss_start_mb": round(apps[0], 1), "rss_end_mb": round(apps[-1], 1),
                   "rss_max_mb": round(max(apps), 1)}
        if self.training_pid:
            summary["training_process_rss_max_mb"] = round(max(training for _, training in rows), 1)
        return summary


class Student(threading.Thread):
    """One browser tab: opens the app, goes to the page, re-runs it every `interval` seconds."""

    def __init__(self, index: int, page: str, interval: float, stop: threading.Event, timeout: float) -> None:
        super().__init__(daemon=True, name=f"student-{index}")
        self.page, self.interval, self.stop, self.timeout = page, interval, stop, timeout
        self.ready = threading.Event()
        self.open_seconds: float | None = None
        self.reruns = 0
        self.latencies: list[float] = []
        self.exceptions: list[str] = []
        self.measuring = False

    def _check(self, at) -> None:
        for element in at.exception:
            self.exceptions.append(str(getattr(element, "message", element))[:300])

    def run(self) -> None:
        from streamlit.testing.v1 import AppTest

        started = time.monotonic()
        try:
            at = AppTest.from_file(str(REPO / "app.py"), default_timeout=self.timeout)
            at.session_state["lang"] = "en"
            at.run()
            at.switch_page(self.page).run()
            self._check(at)
        except Exception as error:  # noqa: BLE001 - counted, reported
            self.exceptions.append(f"opening: {type(error).__name__}: {str(error)[:250]}")
            self.ready.set()
            return
        self.open_seconds = time.monotonic() - started
        self.ready.set()
        while not self.stop.is_set():
            tick = time.monotonic()
            try:
                at.run()
                self._check(at)
            except Exception as error:  # noqa: BLE001
                self.exceptions.append(f"{type(error).__name__}: {str(error)[:250]}")
            elapsed = time.monotonic() - tick
            if self.measuring:
                self.reruns += 1
                self.latencies.append(elapsed)
            self.stop.wait(max(0.0, self.interval - elapsed))


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=4, help="students (AppTest sessions), the issue: 30")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured phase, the issue: 60")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between a student's re-runs")
    parser.add_argument("--page", default="app_pages/degradation.py")
    parser.add_argument("--depths", default="8,14,20", help="the 3 nets (residual), trained in lockstep")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds one page run may take")
    parser.add_argument("--runs-dir", default=None, help="default: a new temporary folder")
    parser.add_argument("--isolation", choices=("process", "thread"), default="process",
                        help="where training runs: its own process (the app) or a thread of this one")
    parser.add_argument("--switch-interval", type=float, default=None,
                        help="sys.setswitchinterval for this process (default: leave the app's setting)")
    args = parser.parse_args()

    runs_dir = args.runs_dir or tempfile.mkdtemp(prefix="resnet-lab-load-")
    os.environ["RESNET_EDU_RUNS_DIR"] = runs_dir
    logging.getLogger("streamlit").setLevel(logging.ERROR)  # "missing ScriptRunContext" in bare mode
    counter = _LockCounter()
    logging.getLogger().addHandler(counter)
    logging.getLogger("resnet_edu").addHandler(counter)
    memory = _Memory()
    memory.start()
    thread_errors = _ThreadErrors()
    _share_the_test_runtime()
    _share_the_script_cache()
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None

    import pandas  # noqa: F401  (app.py imports these first, see STREAMLIT.md)
    import plotly.graph_objects  # noqa: F401
    import torch  # noqa: F401

    import ui
    from resnet_edu.jobs import JobManager
    from resnet_edu.train import TrainConfig

    if args.isolation == "thread":  # the cached manager the pages use, built the old way
        ui.get_manager.clear()
        original = JobManager.__init__
        JobManager.__init__ = lambda self, *a, **k: original(self, *a, **{**k, "isolation": "thread"})
    manager = ui.get_manager()
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    depths = [int(d) for d in args.depths.split(",") if d.strip()]
    configs = [TrainConfig(depth=d, batch_size=args.batch_size, epochs=1000, name=f"load-ResNet-{d}") for d in depths]
    t0 = time.monotonic()
    run_ids = manager.submit(configs, group_name="classroom load")
    memory.training_pid = manager.training_process_pid
    deadline = time.monotonic() + 600
    while min(manager.progress(r)["step"] for r in run_ids) < 3:
        if time.monotonic() > deadline or not all(manager.is_active(r) for r in run_ids):
            raise SystemExit(f"the runs did not start: {[manager.progress(r) for r in run_ids]}")
        time.sleep(0.1)
    start_seconds = time.monotonic() - t0

    stop = threading.Event()
    students: list[Student] = []
    phases: dict[str, dict] = {}

    def measure(name: str) -> None:
        training_pid = manager.training_process_pid
        first = {r: manager.progress(r)["step"] for r in run_ids}
        cpu_first = (_cpu_seconds(), _cpu_seconds(training_pid) if training_pid else float("nan"))
        start = time.monotonic()
        time.sleep(args.seconds)
        last = {r: manager.progress(r)["step"] for r in run_ids}
        end = time.monotonic()
        cpu_last = (_cpu_seconds(), _cpu_seconds(training_pid) if training_pid else float("nan"))
        iterations = sum(last[r] - first[r] for r in run_ids)
        # CPU cores busy on average: this process (pages, and training too with --isolation thread)
        # and the training process.
        cores = [round((b - a) / (end - start), 2) for a, b in zip(cpu_first, cpu_last)]
        phases[name] = {"seconds": round(end - start, 2), "iterations": iterations,
                        "images_per_second": round(iterations * args.batch_size / (end - start), 1),
                        "cpu_cores_this_process": cores[0],
                        "cpu_cores_training_process": None if cores[1] != cores[1] else cores[1],
                        **memory.between(start, end)}

    errors: list[str] = []
    try:
        measure("alone")
        arrival = time.monotonic()
        students = [Student(i, args.page, args.interval, stop, args.timeout) for i in range(args.sessions)]
        for student in students:
            student.start()
        for student in students:
            student.ready.wait(args.timeout * 3)
        arrival_seconds = time.monotonic() - arrival
        for student in students:
            student.measuring = True
        measure("viewers")
        for student in students:
            student.measuring = False
        stop.set()
        for student in students:
            student.join(args.timeout)
        measure("alone_again")
    except Exception:  # noqa: BLE001
        errors.append(traceback.format_exc()[-1500:])
        arrival_seconds = None
    finally:
        stop.set()
        manager.stop_all()
        manager.wait(run_ids, 120)
        statuses = {r: manager.store.get_run(r)["status"] for r in run_ids}
        stored = {r: len(manager.store.steps(r)) for r in run_ids}
        done = {r: manager.progress(r)["step"] for r in run_ids}
        manager.shutdown()
        memory.halt.set()

    exceptions = [e for s in students for e in s.exceptions]
    latencies = [x for s in students for x in s.latencies]
    alone = [phases[p]["images_per_second"] for p in ("alone", "alone_again") if p in phases]
    viewers = phases.get("viewers", {}).get("images_per_second")
    baseline = statistics.mean(alone) if alone else None
    locked_in_exceptions = sum(LOCKED in e for e in exceptions)
    return {
        "settings": {"sessions": args.sessions, "seconds_per_phase": args.seconds, "interval": args.interval,
                     "gil_switch_interval_s": sys.getswitchinterval(),
                     "page": args.page, "nets": [c.run_name for c in configs], "batch_size": args.batch_size,
                     "device": manager.device_label, "isolation": manager.isolation},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_before": load_before,
                    "load_average_after": os.getloadavg() if hasattr(os, "getloadavg") else None},
        "seconds_to_third_iteration": round(start_seconds, 1),
        "arrival_seconds": None if arrival_seconds is None else round(arrival_seconds, 1),
        "session_open_seconds_max": max((s.open_seconds or 0.0 for s in students), default=None),
        "phases": phases,
        "images_per_second_alone": baseline,
        "images_per_second_with_viewers": viewers,
        "throughput_ratio_with_viewers": round(viewers / baseline, 3) if viewers and baseline else None,
        "page_reruns": len(latencies),
        "page_reruns_per_second": round(len(latencies) / args.seconds, 2),
        "page_rerun_seconds": {"p50": _percentile(latencies, 0.5), "p95": _percentile(latencies, 0.95),
                               "max": _percentile(latencies, 1.0)},
        "exceptions": len(exceptions) + len(thread_errors.app),
        "exception_samples": (exceptions + thread_errors.app)[:5],
        "test_harness_errors": thread_errors.harness,
        "database_is_locked": counter.count + locked_in_exceptions,
        "database_is_locked_samples": counter.samples,
        "runs": {r: {"status": statuses[r], "iterations": done[r], "stored_iterations": stored[r]} for r in run_ids},
        "iterations_lost": sum(done[r] - stored[r] for r in run_ids),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "errors": errors,
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
    made = Path(os.environ["RESNET_EDU_RUNS_DIR"])
    if made.parent == Path(tempfile.gettempdir()) and made.name.startswith("resnet-lab-load-"):  # ours: remove it
        import shutil

        shutil.rmtree(made, ignore_errors=True)
