"""A full classroom: N students re-running the app's pages while 3 small runs train on the CPU.

    python benchmarks/classroom_load.py                          # quick check: 4 sessions, 10 s phases
    python benchmarks/classroom_load.py --sessions 30 --seconds 60   # 30 students on the Degradation page
    python benchmarks/classroom_load.py --sessions 60 --pages all --interval 2 --seconds 60
                                                                 # 60 students, every page in the mix

``--pages all`` (or a comma-separated list of page files) spreads the students over the pages
in turn (student i on page i mod the number of pages); the page re-run latencies are then also
reported per page.

Two ways to play the students (``--harness``):

* ``server`` (default): the real thing. ``streamlit run app.py`` in its own process, and every
  student is a WebSocket client speaking Streamlit's own protocol to it, as a browser tab does:
  it opens a session on the Degradation page, then asks for a full re-run of the page about
  every ``--interval`` seconds (the whole page: heavier than a browser, which only re-runs the
  page's chart fragment every 2 s) and waits for the run's ``script_finished`` message. The
  clients run in this process, so their CPU is reported apart from the server's. The 3 nets
  are one lockstep group that this process hands to a training process
  (``JobManager(isolation="process")``, ``python -m resnet_edu.engine.worker``: the same code the
  app's Lab starts) and it writes to the same run store the server reads.
* ``apptest``: every student is a Streamlit ``AppTest`` session in a thread of this process,
  which also plays the server (its ``ui.get_manager()`` trains). AppTest has costs a server
  does not: a mock runtime per run, and more (see ``_share_the_script_cache`` and
  ``_wait_without_polling``, which remove the two largest). ``--isolation thread`` trains in
  a thread of this process instead (how the app trained before: pages then compete with
  training for one GIL).

Phases, each ``--seconds`` long: ``alone`` (no viewers), ``viewers`` (all sessions open and
re-running), ``alone_again``; the sessions open between the first two (``arrival``, timed
but not part of any throughput figure). Throughput is training images per second of wall
time (all 3 nets), from the iterations each run advanced in the phase; the ratio compares
``viewers`` with the mean of the two ``alone`` phases, which cancels slow drift in the load
from other programs.

Prints one JSON object: exceptions in the sessions (want 0), 'database is locked' anywhere
(want 0), throughput alone / with viewers and their ratio, page re-run latency, CPU cores
used by the server, the training process and (server harness) the students, peak and
per-phase memory. Asserts nothing: timings depend on the machine and what else runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import resource
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

LOCKED = "database is locked"
ALL_PAGES = ("lab", "degradation", "gradients", "features", "lesion", "landscape", "architecture", "paper")


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


def _wait_without_polling() -> None:
    """AppTest waits for a script run by waking up every millisecond to look at its events
    (``require_widgets_deltas``): 30 sessions waiting their turn that way are 30,000 wake-ups
    a second, CPU a real server (Tornado, woken by the script's messages) never spends.
    Wait on the script thread instead: same answer, same timeout, no polling."""
    from streamlit.testing.v1 import local_script_runner

    original = local_script_runner.require_widgets_deltas

    def require_widgets_deltas(runner, timeout: float = 3) -> None:
        thread = getattr(runner, "_script_thread", None)
        if thread is None:
            return original(runner, timeout)
        thread.join(timeout)  # the script thread ends right after its SHUTDOWN event
        if not runner.script_stopped():
            return original(runner, 0.0)  # raises AppTest's own "timed out" error, stopping the runner

    local_script_runner.require_widgets_deltas = require_widgets_deltas


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
    """Samples the RSS of the server and of the training process, twice a second."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.samples: list[tuple[float, float, float]] = []
        self.server_pid: int | str = "self"
        self.training_pid: int | None = None
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            training = _rss_mb(self.training_pid) if self.training_pid else 0.0
            self.samples.append((time.monotonic(), _rss_mb(self.server_pid), training))
            self.halt.wait(0.5)

    def between(self, start: float, end: float) -> dict:
        rows = [(app, training) for t, app, training in self.samples if start <= t <= end]
        if not rows:
            return {}
        apps = [app for app, _ in rows]
        summary = {"server_rss_start_mb": round(apps[0], 1), "server_rss_end_mb": round(apps[-1], 1),
                   "server_rss_max_mb": round(max(apps), 1)}
        if self.training_pid:
            summary["training_process_rss_max_mb"] = round(max(training for _, training in rows), 1)
        return summary


class _Students:
    """What both harnesses give: per-student counts, latencies and exceptions."""

    def __init__(self) -> None:
        self.open_seconds: list[float] = []
        self.latencies: list[float] = []
        self.latencies_by_page: dict[str, list[float]] = {}
        self.exceptions: list[str] = []
        self.measuring = False

    def ran(self, seconds: float, page: str = "") -> None:
        if self.measuring:
            self.latencies.append(seconds)
            self.latencies_by_page.setdefault(page, []).append(seconds)


class Student(threading.Thread):
    """AppTest harness: one tab that opens the app, goes to the page, re-runs it every `interval` s."""

    def __init__(self, index: int, page: str, interval: float, stop: threading.Event, timeout: float,
                 record: _Students) -> None:
        super().__init__(daemon=True, name=f"student-{index}")
        self.page, self.interval, self.stop, self.timeout, self.record = page, interval, stop, timeout, record
        self.ready = threading.Event()

    def _check(self, at) -> None:
        for element in at.exception:
            self.record.exceptions.append(str(getattr(element, "message", element))[:300])

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
            self.record.exceptions.append(f"opening: {type(error).__name__}: {str(error)[:250]}")
            self.ready.set()
            return
        self.record.open_seconds.append(time.monotonic() - started)
        self.ready.set()
        while not self.stop.is_set():
            tick = time.monotonic()
            try:
                at.run()
                self._check(at)
            except Exception as error:  # noqa: BLE001
                self.record.exceptions.append(f"{type(error).__name__}: {str(error)[:250]}")
            elapsed = time.monotonic() - tick
            self.record.ran(elapsed, Path(self.page).stem)
            self.stop.wait(max(0.0, self.interval - elapsed))


class AppTestClassroom:
    """The students as AppTest sessions in threads of this process (which is then the server)."""

    def __init__(self, args, record: _Students) -> None:
        self.args, self.record = args, record
        self.stop = threading.Event()
        self.students: list[Student] = []

    def open(self) -> None:
        self.students = [Student(i, self.args.pages[i % len(self.args.pages)], self.args.interval, self.stop, self.args.timeout, self.record)
                         for i in range(self.args.sessions)]
        for student in self.students:
            student.start()
        for student in self.students:
            student.ready.wait(self.args.timeout * 3)

    def close(self) -> None:
        self.stop.set()
        for student in self.students:
            student.join(self.args.timeout)


class ServerClassroom:
    """The students as WebSocket clients of a real ``streamlit run app.py``, in one event loop here.

    Each client does what a browser tab does on the wire: it sends a ``rerun_script`` BackMsg
    (the first one names the page, later ones give the page's hash from ``navigation``) and
    reads ForwardMsgs until ``script_finished``, counting exception elements on the way. It
    does not report cached messages, so the server sends every element in full each time
    (a browser would let it skip unchanged ones: this is the heavier case).
    """

    def __init__(self, args, record: _Students, port: int) -> None:
        self.args, self.record = args, record
        self.url = f"ws://127.0.0.1:{port}/_stcore/stream"
        self.page_names = [Path(page).stem for page in args.pages]
        self.loop = None
        self.thread: threading.Thread | None = None
        self.stopping = None
        self.opened = threading.Event()
        self.titles: Counter[str] = Counter()

    async def _run_once(self, ws, page_hash: str, page_name: str) -> str:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        request = BackMsg()
        request.rerun_script.query_string = "lang=en"
        if page_hash:
            request.rerun_script.page_script_hash = page_hash
        else:
            request.rerun_script.page_name = page_name
        await ws.send(request.SerializeToString())
        while True:
            message = ForwardMsg.FromString(await ws.recv())
            kind = message.WhichOneof("type")
            if kind == "navigation":  # the page this run drew: what a tab sends back to re-run it
                page_hash = message.navigation.page_script_hash
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element" \
                    and message.delta.new_element.WhichOneof("type") == "exception":
                error = message.delta.new_element.exception
                self.record.exceptions.append(f"{error.type}: {error.message}"[:300])
            elif kind == "page_not_found":
                raise RuntimeError(f"the server has no page {page_name!r}")
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element" \
                    and message.delta.new_element.WhichOneof("type") == "heading" \
                    and message.delta.new_element.heading.tag == "h1":
                self.titles[message.delta.new_element.heading.body] += 1  # which page was drawn
            # A run that ended early for a rerun (st.rerun, a newer request) is followed by that rerun.
            elif kind == "script_finished" and message.script_finished != message.FINISHED_EARLY_FOR_RERUN:
                return page_hash

    async def _student(self, index: int, ready) -> None:
        import asyncio

        import websockets

        page_name = self.page_names[index % len(self.page_names)]
        started = time.monotonic()
        try:
            async with websockets.connect(self.url, subprotocols=["streamlit"], max_size=None,
                                          open_timeout=self.args.timeout, ping_interval=None) as ws:
                page_hash = await asyncio.wait_for(self._run_once(ws, "", page_name), self.args.timeout)
                self.record.open_seconds.append(time.monotonic() - started)
                ready()
                while not self.stopping.is_set():
                    tick = time.monotonic()
                    page_hash = await asyncio.wait_for(self._run_once(ws, page_hash, page_name), self.args.timeout)
                    elapsed = time.monotonic() - tick
                    self.record.ran(elapsed, page_name)
                    try:
                        await asyncio.wait_for(self.stopping.wait(), max(0.0, self.args.interval - elapsed))
                    except asyncio.TimeoutError:
                        pass
        except Exception as error:  # noqa: BLE001 - counted, reported
            self.record.exceptions.append(f"student {index}: {type(error).__name__}: {str(error)[:250]}")
            ready()

    def _main(self) -> None:
        import asyncio

        async def classroom() -> None:
            self.stopping = asyncio.Event()
            waiting = [self.args.sessions]

            def ready() -> None:
                waiting[0] -= 1
                if waiting[0] == 0:
                    self.opened.set()

            await asyncio.gather(*(self._student(i, ready) for i in range(self.args.sessions)))

        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(classroom())
        self.loop.close()

    def open(self) -> None:
        self.thread = threading.Thread(target=self._main, daemon=True, name="students")
        self.thread.start()
        self.opened.wait(self.args.timeout * 3)

    def close(self) -> None:
        if self.loop is not None and self.stopping is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.stopping.set)
        if self.thread is not None:
            self.thread.join(self.args.timeout)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Server:
    """``streamlit run app.py`` on a free local port, its output kept in a file."""

    def __init__(self, runs_dir: str, timeout: float) -> None:
        import subprocess
        import urllib.request

        self.port = _free_port()
        self.log = Path(runs_dir) / "server.log"
        env = {**os.environ, "RESNET_EDU_RUNS_DIR": runs_dir, "PYTHONUNBUFFERED": "1"}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port),
                 "--server.address", "127.0.0.1", "--server.headless", "true"],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the app did not start: see {self.log}\n{self.log.read_text()[-2000:]}")
            time.sleep(0.2)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> str:
        """Stops the server; returns what it printed."""
        self.process.terminate()
        try:
            self.process.wait(30)
        except Exception:  # noqa: BLE001
            self.process.kill()
        return self.log.read_text(errors="replace")


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=4, help="students, the issue: 30")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured phase, the issue: 60")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between a student's re-runs")
    parser.add_argument("--page", default="app_pages/degradation.py", help="the page every student re-runs")
    parser.add_argument("--pages", default=None,
                        help="'all' or comma-separated page files: students spread over them (overrides --page)")
    parser.add_argument("--depths", default="8,14,20", help="the 3 nets (residual), trained in lockstep")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds one page run may take")
    parser.add_argument("--runs-dir", default=None, help="default: a new temporary folder")
    parser.add_argument("--harness", choices=("server", "apptest"), default="server",
                        help="students as WebSocket clients of a real server, or as AppTest sessions here")
    parser.add_argument("--isolation", choices=("process", "thread"), default="process",
                        help="where training runs: its own process (the app) or a thread of this one")
    parser.add_argument("--switch-interval", type=float, default=None,
                        help="sys.setswitchinterval for this process (default: leave the app's setting)")
    args = parser.parse_args()
    if args.pages == "all":
        args.pages = [f"app_pages/{name}.py" for name in ALL_PAGES]
    elif args.pages:
        args.pages = [page.strip() for page in args.pages.split(",") if page.strip()]
    else:
        args.pages = [args.page]
    if args.harness == "server" and args.isolation == "thread":
        parser.error("--isolation thread trains in the server's process: use it with --harness apptest")

    runs_dir = args.runs_dir or tempfile.mkdtemp(prefix="resnet-lab-load-")
    os.environ["RESNET_EDU_RUNS_DIR"] = runs_dir
    logging.getLogger("streamlit").setLevel(logging.ERROR)  # "missing ScriptRunContext" in bare mode
    counter = _LockCounter()
    logging.getLogger().addHandler(counter)
    logging.getLogger("resnet_edu").addHandler(counter)
    memory = _Memory()
    thread_errors = _ThreadErrors()
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None

    import pandas  # noqa: F401  (app.py imports these first: two sessions importing them at once race)
    import plotly.graph_objects  # noqa: F401
    import torch  # noqa: F401

    from resnet_edu.engine import JobManager
    from resnet_edu.train import TrainConfig

    server: _Server | None = None
    if args.harness == "server":
        server = _Server(runs_dir, args.timeout)
        memory.server_pid = server.pid
        manager = JobManager(isolation="process")  # what the app's Lab does, from this process
    else:
        _share_the_test_runtime()
        _share_the_script_cache()
        _wait_without_polling()
        import ui

        if args.isolation == "thread":  # the cached manager the pages use, built the old way
            import resnet_edu.engine as jobs_module

            ui.get_manager.clear()
            original = jobs_module.JobManager
            jobs_module.JobManager = lambda *a, **k: original(*a, **{**k, "isolation": "thread"})
        manager = ui.get_manager()
    memory.start()
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    depths = [int(d) for d in args.depths.split(",") if d.strip()]
    configs = [TrainConfig(depth=d, batch_size=args.batch_size, epochs=1000, name=f"load-ResNet-{d}") for d in depths]
    t0 = time.monotonic()
    run_ids = manager.submit(configs)
    memory.training_pid = manager.training_process_pid
    deadline = time.monotonic() + 600
    while min(manager.progress(r)["step"] for r in run_ids) < 3:
        if time.monotonic() > deadline or not all(manager.is_active(r) for r in run_ids):
            raise SystemExit(f"the runs did not start: {[manager.progress(r) for r in run_ids]}")
        time.sleep(0.1)
    start_seconds = time.monotonic() - t0

    record = _Students()
    classroom = ServerClassroom(args, record, server.port) if server else AppTestClassroom(args, record)
    phases: dict[str, dict] = {}
    server_pid = server.pid if server else "self"

    def measure(name: str) -> None:
        training_pid = manager.training_process_pid
        pids = {"server": server_pid, "training_process": training_pid}
        if server:
            pids["students"] = "self"  # the WebSocket clients: harness, not app
        first_step = {r: manager.progress(r)["step"] for r in run_ids}
        cpu_first = {who: _cpu_seconds(pid) if pid else float("nan") for who, pid in pids.items()}
        start = time.monotonic()
        time.sleep(args.seconds)
        last_step = {r: manager.progress(r)["step"] for r in run_ids}
        end = time.monotonic()
        cpu_last = {who: _cpu_seconds(pid) if pid else float("nan") for who, pid in pids.items()}
        iterations = sum(last_step[r] - first_step[r] for r in run_ids)
        # CPU cores busy on average (with --harness apptest the server is this process, students included;
        # with --isolation thread training is in it too).
        cores = {f"cpu_cores_{who}": round((cpu_last[who] - cpu_first[who]) / (end - start), 2) for who in pids}
        phases[name] = {"seconds": round(end - start, 2), "iterations": iterations,
                        "images_per_second": round(iterations * args.batch_size / (end - start), 1),
                        **{k: (None if math.isnan(v) else v) for k, v in cores.items()},
                        **memory.between(start, end)}

    errors: list[str] = []
    arrival_seconds = None
    server_log = ""
    try:
        measure("alone")
        arrival = time.monotonic()
        classroom.open()
        arrival_seconds = time.monotonic() - arrival
        record.measuring = True
        measure("viewers")
        record.measuring = False
        classroom.close()
        measure("alone_again")
    except Exception:  # noqa: BLE001
        errors.append(traceback.format_exc()[-1500:])
    finally:
        classroom.close()
        manager.stop_all()
        manager.wait(run_ids, 120)
        statuses = {r: manager.store.get_run(r)["status"] for r in run_ids}
        stored = {r: len(manager.store.steps(r)) for r in run_ids}
        done = {r: manager.progress(r)["step"] for r in run_ids}
        manager.shutdown()
        if server:
            server_log = server.stop()
        memory.halt.set()

    exceptions = record.exceptions + thread_errors.app
    server_tracebacks = server_log.count("Traceback (most recent call last)")
    alone = [phases[p]["images_per_second"] for p in ("alone", "alone_again") if p in phases]
    viewers = phases.get("viewers", {}).get("images_per_second")
    baseline = statistics.mean(alone) if alone else None
    locked = counter.count + sum(LOCKED in e for e in exceptions) + server_log.count(LOCKED)
    latencies = record.latencies
    return {
        "settings": {"harness": args.harness, "sessions": args.sessions, "seconds_per_phase": args.seconds,
                     "interval": args.interval, "gil_switch_interval_s": sys.getswitchinterval(),
                     "pages": args.pages, "nets": [c.run_name for c in configs], "batch_size": args.batch_size,
                     "device": manager.device_label, "isolation": manager.isolation},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_before": load_before,
                    "load_average_after": os.getloadavg() if hasattr(os, "getloadavg") else None},
        "seconds_to_third_iteration": round(start_seconds, 1),
        "arrival_seconds": None if arrival_seconds is None else round(arrival_seconds, 1),
        "sessions_opened": len(record.open_seconds),
        "session_open_seconds_max": round(max(record.open_seconds), 2) if record.open_seconds else None,
        "phases": phases,
        "images_per_second_alone": baseline,
        "images_per_second_with_viewers": viewers,
        "throughput_ratio_with_viewers": round(viewers / baseline, 3) if viewers and baseline else None,
        "page_reruns": len(latencies),
        "page_reruns_per_second": round(len(latencies) / args.seconds, 2),
        "page_rerun_seconds": {"p50": _percentile(latencies, 0.5), "p95": _percentile(latencies, 0.95),
                               "max": _percentile(latencies, 1.0)},
        "page_rerun_seconds_by_page": {
            page: {"reruns": len(values), "p50": _percentile(values, 0.5), "p95": _percentile(values, 0.95),
                   "max": _percentile(values, 1.0)} for page, values in sorted(record.latencies_by_page.items())},
        "page_titles_drawn": dict(getattr(classroom, "titles", {})),
        "exceptions": len(exceptions) + server_tracebacks,
        "exception_samples": exceptions[:5],
        "server_tracebacks": server_tracebacks,
        "test_harness_errors": thread_errors.harness,
        "database_is_locked": locked,
        "database_is_locked_samples": counter.samples,
        "runs": {r: {"status": statuses[r], "iterations": done[r], "stored_iterations": stored[r]} for r in run_ids},
        "iterations_lost": sum(done[r] - stored[r] for r in run_ids),
        "peak_rss_mb_this_process": round(_peak_rss_mb(), 1),
        "errors": errors,
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
    made = Path(os.environ["RESNET_EDU_RUNS_DIR"])
    if made.parent == Path(tempfile.gettempdir()) and made.name.startswith("resnet-lab-load-"):  # ours: remove it
        import shutil

        shutil.rmtree(made, ignore_errors=True)
