"""The class's path, timed: a real browser clicks the Lab's "Fig. 1 + the fix" and watches the Degradation page.

    python benchmarks/classroom_time.py                          # seeds 0,1,2, synthetic data, the app's settings
    python benchmarks/classroom_time.py --quick                  # one seed: does it work end to end?
    python benchmarks/classroom_time.py --wait-policy ACTIVE --tabs 30 --hog --seeds 0,1,2
    python benchmarks/classroom_time.py --data FOLDER            # an ImageFolder root (or RESNET_EDU_BENCH_DATA)

For each seed, two measurements in a row, under the same scenario (the same hog, if any):

* **app**: ``streamlit run app.py`` (headless, a free port, a temporary RESNET_EDU_RUNS_DIR,
  ``--server.fileWatcherType none``) with its training process, and one headless Chromium tab
  (Playwright, /usr/bin/chromium) that opens the Lab, waits until the training process has
  loaded the data set (the teacher reading the page), clicks the preset with every default
  (the seed typed in when it is not 0), waits for the Lab to redraw, then clicks "Degradation"
  in the sidebar, as a teacher would. Timed from the click: the runs in the store, the Lab
  redrawn, the Degradation page drawn, every net's first iteration in the store, the first
  point on the page's chart and every net on it (read from the chart's plotly data in the
  DOM), and the degradation criterion of ``resnet_edu.cli.bench.degradation`` (plain-56 >= 5
  points above plain-20, ResNet-56 >= 5 below plain-56 and <= 2 above plain-20, means of the
  last 20 iterations), found in the store the page reads and timestamped when the page's chart
  reaches that iteration (when the class could see it). Also the group's iterations/s (lockstep
  rounds, from its 5th to the criterion) and the CPU cores used, over the same time, by the
  training process, the server (without its training process), the browser, the extra
  viewers, the hog and this harness, from /proc.
* **headless**: the same configs (read back from the app's store) in a fresh process with
  ``JobManager(RunStore(folder))``, as ``bench.degradation`` trains, the data set loaded
  before the submit: its iterations/s and criterion seconds, and the app/headless ratios.

Scenario options: ``--wait-policy`` PASSIVE | ACTIVE | default (libgomp's own: unset) | app
(whatever the app chooses) for the training process; ``--threads N`` (RESNET_EDU_CPU_THREADS);
``--env K=V`` (more of the server's environment, e.g. GOMP_SPINCOUNT=10000); ``--tabs N``
extra viewers of the Degradation page: WebSocket clients speaking Streamlit's protocol, in a
child process under ``--viewer-nice``, each doing what a student's browser tab does on the
wire (the page once, then every fragment timer the server sets, ``auto_rerun``, fires a
fragment re-run; they report how many they achieved). ``--hog``: a foreign busy loop
(``python -c "while True: pass"``) for the whole measurement.

Seconds are also given normalised to a CPU whose fp32 matmul peak is 150 GFLOP/s (seconds x
measured peak / 150, the peak measured here before anything else starts), the scale of the
project's 2-core laptops. Prints one JSON object; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from resnet_edu.cli import bench

CHROMIUM = "/usr/bin/chromium"
DATA_ENV = "RESNET_EDU_BENCH_DATA"
REFERENCE_PEAK_GFLOPS = 150.0
NETS = ("plain-20", "plain-56", "ResNet-56")
SPEED_FROM_ITERATION = 5  # the first iterations build oneDNN kernels: speed is counted after them

# Per run id, the last iteration the Degradation page's training-error curves show (plotly's data in the DOM).
SHOWN_JS = """() => {
  if (!location.pathname.endsWith('/degradation')) return null;
  const shown = {};
  for (const gd of document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')) {
    for (const trace of (gd._fullData || gd.data || [])) {
      const meta = trace.meta || (trace._input && trace._input.meta);
      if (!meta || meta.series !== 'train' || !trace.x || !trace.y) continue;
      const xs = Array.from(trace.x), ys = Array.from(trace.y);
      for (let i = 0; i < xs.length; i++) {
        const x = Number(xs[i]), y = ys[i];
        if (y === null || y === undefined || Number.isNaN(Number(y)) || Number.isNaN(x)) continue;
        shown[meta.run_id] = Math.max(shown[meta.run_id] ?? -Infinity, x);
      }
    }
  }
  return shown;
}"""


# ---------------------------------------------------------------- pure helpers (tested)
def median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 2) if values else None


def normalised(seconds: float | None, peak_gflops: float) -> float | None:
    """Seconds on this CPU as on one whose fp32 matmul peak is REFERENCE_PEAK_GFLOPS."""
    return None if seconds is None else round(seconds * peak_gflops / REFERENCE_PEAK_GFLOPS, 1)


def iterations_per_second(samples: list[tuple[float, int]], start_at: int = SPEED_FROM_ITERATION) -> float | None:
    """The group's speed from (time, iterations every net has done) samples, from ``start_at`` on."""
    counted = [(t, n) for t, n in samples if n >= start_at]
    if len(counted) < 2 or counted[-1][0] <= counted[0][0] or counted[-1][1] == counted[0][1]:
        return None
    (t0, n0), (t1, n1) = counted[0], counted[-1]
    return round((n1 - n0) / (t1 - t0), 3)


def first_time(samples: list[tuple[float, dict]], runs: list[str], at_least: int = 1, every: bool = True):
    """The first time at which every (or any) of ``runs`` shows an iteration >= ``at_least``."""
    for t, shown in samples:
        reached = [shown.get(run, -1) >= at_least for run in runs]
        if reached and (all(reached) if every else any(reached)):
            return t
    return None


def rounds_done(store, run_ids: list[str]) -> int:
    """Lockstep rounds every run has done (``steps_done``, set each round; the steps rows come in
    blocks of up to 10, as the trainer reads its metrics)."""
    return min((int(store.get_run(run_id).get("steps_done") or 0) for run_id in run_ids), default=0)


def parse_env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--env wants KEY=VALUE, not {pair!r}")
        env[key] = value
    return env


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def all_stats() -> dict[int, tuple[int, int, float]]:
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = bench.proc_stat(int(entry.name))
            if stat is not None:
                stats[int(entry.name)] = stat
    return stats


def cpu_groups(stats, server_pid, training_pid, viewers_pid, hog_pid) -> dict[str, dict]:
    """{who: process_tree} for one /proc reading: training process, server (without it), browser,
    viewers, hog, and this harness (its Playwright driver included, the browser excluded)."""
    training = bench.process_tree(training_pid, stats) if training_pid else {}
    server = {p: v for p, v in bench.process_tree(server_pid, stats).items() if p not in training}
    mine = bench.process_tree(os.getpid(), stats)
    browser_roots = [p for p in mine if "chrom" in command_of(p).split(" ")[0].lower()
                     and "chrom" not in command_of(stats[p][0]).split(" ")[0].lower()]
    browser = {p: v for root in browser_roots for p, v in bench.process_tree(root, stats).items()}
    viewers = bench.process_tree(viewers_pid, stats) if viewers_pid else {}
    hog = bench.process_tree(hog_pid, stats) if hog_pid else {}
    harness = {p: v for p, v in mine.items() if p not in browser and p not in viewers and p not in hog
               and p not in server and p not in training}
    return {"training_process": training, "server": server, "browser": browser, "viewers": viewers,
            "hog": hog, "harness": harness}


def cpu_cores(before: dict[str, dict], after: dict[str, dict], seconds: float) -> dict[str, float]:
    return {who: round(bench.cpu_seconds_between(before.get(who, {}), tree) / seconds, 3)
            for who, tree in after.items() if seconds > 0}


# ---------------------------------------------------------------- the server
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """``streamlit run app.py`` on a free port, as a classroom starts it."""

    def __init__(self, runs_dir: str, env: dict, timeout: float = 120) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(runs_dir) / "server.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as answer:
                    if answer.read() == b"ok":
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the app did not start:\n{self.log_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)

    def training_pid(self) -> int | None:
        for pid in bench.process_tree(self.process.pid):
            if "resnet_edu.engine.worker" in command_of(pid):
                return pid
        return None

    def stop(self) -> str:
        """Ends the server (it stops its runs and its training process), then anything left of its group."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: the training process included
        except OSError:
            pass
        self.process.wait()
        self._log.close()
        return self.log_path.read_text(errors="replace")


# ---------------------------------------------------------------- students' tabs (a child process)
async def _viewer(url: str, page: str, stop: asyncio.Event, record: dict, timeout: float) -> None:
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    timers: dict[str, float] = {}  # fragment id -> seconds, as the server set them (auto_rerun)
    due: dict[str, float] = {}

    async def run(ws, page_hash: str, fragment_id: str = "") -> str:
        request = BackMsg()
        request.rerun_script.query_string = "lang=en"
        if page_hash:
            request.rerun_script.page_script_hash = page_hash
        else:
            request.rerun_script.page_name = page
        if fragment_id:
            request.rerun_script.fragment_id = fragment_id
            request.rerun_script.is_auto_rerun = True
        await ws.send(request.SerializeToString())
        while True:
            message = ForwardMsg.FromString(await ws.recv())
            kind = message.WhichOneof("type")
            if kind == "new_session" and not fragment_id:  # a full run: the browser forgets its timers
                timers.clear()
                due.clear()
            elif kind == "navigation":
                page_hash = message.navigation.page_script_hash
            elif kind == "auto_rerun":
                fid = message.auto_rerun.fragment_id
                if timers.get(fid) != message.auto_rerun.interval:
                    timers[fid] = message.auto_rerun.interval
                    due[fid] = time.monotonic() + timers[fid]
            elif kind == "stop_auto_rerun":
                for fid in message.stop_auto_rerun.fragment_ids:
                    timers.pop(fid, None)
                    due.pop(fid, None)
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element" \
                    and message.delta.new_element.WhichOneof("type") == "exception":
                record["exceptions"].append(message.delta.new_element.exception.message[:200])
            elif kind == "script_finished" and message.script_finished != message.FINISHED_EARLY_FOR_RERUN:
                return page_hash

    try:
        async with websockets.connect(url, subprotocols=["streamlit"], max_size=None, open_timeout=timeout,
                                      ping_interval=None) as ws:
            page_hash = await asyncio.wait_for(run(ws, ""), timeout)
            record["opened"] += 1
            while not stop.is_set():
                if not due:
                    await asyncio.sleep(0.25)
                    continue
                fid = min(due, key=due.get)
                wait = due[fid] - time.monotonic()
                if wait > 0:
                    try:
                        await asyncio.wait_for(stop.wait(), wait)
                        break
                    except asyncio.TimeoutError:
                        pass
                if fid in timers:
                    due[fid] = time.monotonic() + timers[fid]
                started = time.monotonic()
                page_hash = await asyncio.wait_for(run(ws, page_hash, fid), timeout)
                record["fragment_runs"] += 1
                record["seconds"].append(time.monotonic() - started)
    except Exception as error:  # noqa: BLE001 - counted, reported
        record["exceptions"].append(f"{type(error).__name__}: {str(error)[:200]}")


def viewers_main(url: str, count: int, page: str, nice: int) -> None:
    """The child process of --tabs: ``count`` viewers until stdin closes, then one JSON line."""
    if nice:
        os.nice(nice)
    record = {"opened": 0, "fragment_runs": 0, "seconds": [], "exceptions": []}
    started = time.monotonic()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        threading.Thread(target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(stop.set)), daemon=True).start()
        ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
        await asyncio.gather(*(_viewer(ws_url, page, stop, record, 120.0) for _ in range(count)))

    asyncio.run(main())
    seconds = sorted(record.pop("seconds"))
    elapsed = time.monotonic() - started
    print(json.dumps({**record, "exceptions": record["exceptions"][:5], "exception_count": len(record["exceptions"]),
                      "fragment_runs_per_second": round(record["fragment_runs"] / elapsed, 2),
                      "fragment_run_seconds_p50": seconds[len(seconds) // 2] if seconds else None,
                      "fragment_run_seconds_p95": seconds[int(0.95 * (len(seconds) - 1))] if seconds else None}))


class Viewers:
    def __init__(self, url: str, count: int, nice: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--_viewers", str(count), "--_url", url, "--viewer-nice", str(nice)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.pid = self.process.pid

    def stop(self) -> dict:
        try:
            out, _ = self.process.communicate(input="", timeout=120)
            return json.loads(out.strip().splitlines()[-1])
        except (subprocess.TimeoutExpired, ValueError, IndexError) as error:
            self.process.kill()
            return {"error": f"{type(error).__name__}: {error}"}


# ---------------------------------------------------------------- the headless reference (a child process)
def headless_main(spec_path: str) -> None:
    """Train the configs of the spec with JobManager(RunStore(folder)), as bench.degradation does; one JSON line."""
    from resnet_edu.data.loaded import cached_dataset
    from resnet_edu.engine import JobManager
    from resnet_edu.runs import RunStore
    from resnet_edu.train import TrainConfig

    spec = json.loads(Path(spec_path).read_text())
    configs = [TrainConfig.from_dict(config) for config in spec["configs"]]
    first = configs[0]
    cached_dataset(first.dataset, first.data_root, first.image_size)  # as the app's prepared training process
    result = {"omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset")}
    with tempfile.TemporaryDirectory() as folder:
        manager = JobManager(RunStore(folder))
        cpu_before = bench.process_tree(os.getpid())
        submitted = time.monotonic()
        run_ids = dict(zip([config.run_name for config in configs], manager.submit(configs)))
        frames = {name: None for name in run_ids}
        samples, first_step_at, met_at, met_step, errors = [], None, None, None, {}
        try:
            while time.monotonic() - submitted < spec["timeout"]:
                import pandas as pd

                for name, run_id in run_ids.items():
                    since = -1 if frames[name] is None or not len(frames[name]) else int(frames[name]["step"].iloc[-1])
                    new = manager.store.steps(run_id, since_step=since)
                    frames[name] = new if frames[name] is None else pd.concat([frames[name], new], ignore_index=True)
                now = time.monotonic() - submitted
                common = min(len(frame) for frame in frames.values())
                samples.append((now, rounds_done(manager.store, list(run_ids.values()))))
                if first_step_at is None and common:
                    first_step_at = now
                step, errors_now = bench.degradation_iteration(frames, spec["preset"])
                if step is not None:
                    met_at, met_step, errors = now, step, errors_now
                    break
                if not manager.active_runs():
                    break
                time.sleep(0.25)
            seconds = time.monotonic() - submitted
            cpu = bench.cpu_seconds_between(cpu_before, bench.process_tree(os.getpid())) / seconds
        finally:
            manager.stop_all()
            manager.shutdown(timeout=120)
    result.update({"seconds_to_first_step": None if first_step_at is None else round(first_step_at, 2),
                   "seconds_to_criterion": None if met_at is None else round(met_at, 1),
                   "iteration_criterion": met_step, "errors_at_criterion": errors,
                   "iterations_per_second": iterations_per_second(samples), "cpu_cores": round(cpu, 3)})
    print(json.dumps(result))


def headless(configs: list[dict], preset: str, timeout: float) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec:
        json.dump({"configs": configs, "preset": preset, "timeout": timeout}, spec)
    try:
        answer = subprocess.run([sys.executable, __file__, "--_headless", spec.name], capture_output=True,
                                text=True, timeout=timeout + 300)
        return json.loads(answer.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, ValueError, IndexError) as error:
        return {"error": f"{type(error).__name__}: {error}"}
    finally:
        os.unlink(spec.name)


# ---------------------------------------------------------------- the app, in a browser
def wait_for_app(page, timeout_ms: int = 120_000) -> None:
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout_ms)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms)


def wait_until_idle(pid_of, minimum: float, timeout: float, cores: float = 0.15) -> tuple[int | None, float]:
    """Wait for the training process to appear and go quiet (its data set loaded): (pid, seconds waited)."""
    started = time.monotonic()
    time.sleep(minimum)
    pid, last = None, None
    while time.monotonic() - started < timeout:
        pid = pid or pid_of()
        if pid is not None:
            reading = (time.monotonic(), bench.cpu_seconds_between({}, bench.process_tree(pid)))
            if last is not None and (reading[1] - last[1]) / (reading[0] - last[0]) < cores:
                break
            last = reading
        time.sleep(1.0)
    return pid, round(time.monotonic() - started, 1)


def choose_data(page, data: str) -> None:
    """Point the Lab at an ImageFolder root (the server allows its parent folder)."""
    page.get_by_label("Data set").click()
    page.get_by_role("option", name="Image folder (ImageNet-style)").click()
    wait_for_app(page)
    box = page.get_by_label("Folder with train/ and val/ (one sub-folder per class)")
    box.fill(data)
    box.press("Enter")
    wait_for_app(page)


def app_path(args, seed: int, env: dict, hog_pid: int | None) -> dict:
    from playwright.sync_api import sync_playwright

    from resnet_edu.runs import ACTIVE_STATUSES, RunStore
    from resnet_edu.train import PRESETS

    runs_dir = tempfile.mkdtemp(prefix="resnet-lab-time-")
    env = {**env, "RESNET_EDU_RUNS_DIR": runs_dir, "PYTHONUNBUFFERED": "1"}
    if args.data != "synthetic":
        env["RESNET_EDU_DATA_ROOTS"] = str(Path(args.data).resolve().parent)
    result: dict = {"seed": seed}
    server = Server(runs_dir, env)
    viewers = None
    store = None
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{server.url}/lab")
            wait_for_app(page)
            if args.data != "synthetic":
                choose_data(page, args.data)
            if seed:
                box = page.get_by_role("spinbutton", name="Seed")
                box.fill(str(seed))
                box.press("Enter")
                wait_for_app(page)
            training_pid, result["seconds_preparing"] = wait_until_idle(server.training_pid, args.think, 180)
            if args.tabs:
                viewers = Viewers(server.url, args.tabs, args.viewer_nice)
                time.sleep(args.think)  # let them open the page
            store = RunStore(runs_dir)
            before = cpu_groups(all_stats(), server.process.pid, training_pid, viewers and viewers.pid, hog_pid)
            button = page.get_by_role("button", name=PRESETS["fig1_fix"][0])
            clicked = time.monotonic()
            button.click()
            marks: dict[str, float] = {}
            run_ids: dict[str, str] = {}
            while len(run_ids) < len(NETS) and time.monotonic() - clicked < 60:
                runs = store.list_runs()
                run_ids = {name: run_id for name, run_id in zip(runs["name"], runs["run_id"]) if name in NETS}
                time.sleep(0.05)
            marks["runs_in_store"] = time.monotonic() - clicked
            wait_for_app(page)
            marks["lab_redrawn"] = time.monotonic() - clicked
            page.locator("[data-testid='stSidebarNav'] a", has_text="Degradation").first.click()
            page.wait_for_url("**/degradation")
            wait_for_app(page)
            marks["degradation_page_drawn"] = time.monotonic() - clicked

            import pandas as pd

            frames = {name: None for name in run_ids}
            shown_samples: list[tuple[float, dict]] = []
            store_samples: list[tuple[float, int]] = []
            met_step, errors, met_in_store_at = None, {}, None
            last_store_read = 0.0
            while time.monotonic() - clicked < args.timeout:
                now = time.monotonic() - clicked
                shown = page.evaluate(SHOWN_JS) or {}
                shown_samples.append((now, {r: shown.get(r, -1) for r in run_ids.values()}))
                if now - last_store_read >= 0.5:
                    last_store_read = now
                    for name, run_id in run_ids.items():
                        frame = frames[name]
                        since = -1 if frame is None or not len(frame) else int(frame["step"].iloc[-1])
                        new = store.steps(run_id, since_step=since)
                        frames[name] = new if frame is None else pd.concat([frame, new], ignore_index=True)
                    common = min(len(frame) for frame in frames.values())
                    store_samples.append((now, rounds_done(store, list(run_ids.values()))))
                    if common and "first_step_in_store" not in marks:
                        marks["first_step_in_store"] = now
                    if met_step is None:
                        met_step, errors = bench.degradation_iteration(frames, "fig1_fix")
                        met_in_store_at = now if met_step is not None else None
                    if not any(status in ACTIVE_STATUSES for status in store.statuses(list(run_ids.values()))
                               .values()):
                        break
                if met_step is not None and min(shown_samples[-1][1].values()) >= met_step:
                    break
                time.sleep(0.25)
            ended = time.monotonic() - clicked
            after = cpu_groups(all_stats(), server.process.pid, training_pid, viewers and viewers.pid, hog_pid)
            runs = list(run_ids.values())
            marks["first_point_on_page"] = first_time(shown_samples, runs, every=False)
            marks["every_net_on_page"] = first_time(shown_samples, runs)
            marks["criterion_in_store"] = met_in_store_at
            marks["criterion_on_page"] = first_time(shown_samples, runs, at_least=met_step) if met_step else None
            started = store.events(runs[0])
            started = started[started["kind"] == "started"]["detail"]
            result.update({
                "seconds": {k: None if v is None else round(v, 2) for k, v in marks.items()},
                "iteration_criterion": met_step, "errors_at_criterion": errors,
                "iterations_per_second": iterations_per_second(store_samples),
                "iterations_done": store_samples[-1][1] if store_samples else 0,
                "seconds_measured": round(ended, 1),
                "cpu_cores": cpu_cores(before, after, ended),
                "precision": started.iloc[0].get("precision") if len(started) else None,
                "configs": [store.get_run(run_ids[name])["config"] for name in NETS if name in run_ids]})
            browser.close()
    finally:
        if viewers is not None:
            result["viewers"] = viewers.stop()
        if store is not None:
            store.close()
        log = server.stop()
        result["server_tracebacks"] = log.count("Traceback (most recent call last)")
        if result["server_tracebacks"]:
            result["server_log_tail"] = log[-3000:]
        shutil.rmtree(runs_dir, ignore_errors=True)
    return result


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated; the summary gives medians")
    parser.add_argument("--quick", action="store_true", help="one seed (the first of --seeds), a shorter timeout")
    parser.add_argument("--data", default=os.environ.get(DATA_ENV, "synthetic"),
                        help=f"'synthetic' (default) or an ImageFolder root (default from {DATA_ENV})")
    parser.add_argument("--wait-policy", default="app", choices=["PASSIVE", "ACTIVE", "default", "app"],
                        help="OpenMP wait policy of the training process (app: what the app chooses)")
    parser.add_argument("--threads", type=int, default=None, help="training threads (RESNET_EDU_CPU_THREADS)")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server (repeatable)")
    parser.add_argument("--tabs", type=int, default=0, help="extra viewers of the Degradation page")
    parser.add_argument("--viewer-nice", type=int, default=10, help="niceness of the viewers' process")
    parser.add_argument("--hog", action="store_true", help="a foreign busy loop during the measurements")
    parser.add_argument("--think", type=float, default=3.0, help="seconds at least before the click")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per measurement (default 400; quick 240)")
    parser.add_argument("--no-headless", action="store_true", help="skip the headless reference")
    parser.add_argument("--_viewers", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--_url", help=argparse.SUPPRESS)
    parser.add_argument("--_headless", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._viewers:
        viewers_main(args._url, args._viewers, "degradation", args.viewer_nice)
        sys.exit(0)
    if args._headless:
        headless_main(args._headless)
        sys.exit(0)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium) and pip playwright")
    if args.data != "synthetic" and not (Path(args.data) / "train").is_dir():
        raise SystemExit(f"--data {args.data}: no train/ folder there")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()][: 1 if args.quick else None]
    timeout = args.timeout or (240.0 if args.quick else 400.0)
    args.timeout = timeout

    import torch

    from resnet_edu.engine.process import WAIT_POLICY_ENV, wait_policy

    peak = round(bench.matmul_peak_gflops(torch.device("cpu"), torch.float32), 1)
    env = dict(os.environ)
    if args.wait_policy != "app":
        env.pop("OMP_WAIT_POLICY", None)
        env[WAIT_POLICY_ENV] = args.wait_policy
    if args.threads:
        env["RESNET_EDU_CPU_THREADS"] = str(args.threads)
    env.update(parse_env(args.env))
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.hog else None
    rows = []
    try:
        for seed in seeds:
            row = {"app": app_path(args, seed, env, hog and hog.pid)}
            if not args.no_headless and row["app"].get("configs"):
                row["headless"] = headless(row["app"]["configs"], "fig1_fix", timeout)
            app, ref = row["app"], row.get("headless", {})
            if app.get("iterations_per_second") and ref.get("iterations_per_second"):
                row["speed_ratio_app_vs_headless"] = round(app["iterations_per_second"] / ref["iterations_per_second"], 3)
            app.pop("configs", None)
            rows.append(row)
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()

    def pick(path):
        values = []
        for row in rows:
            value = row
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            values.append(value)
        return median(values)

    criterion_app = pick(["app", "seconds", "criterion_on_page"])
    criterion_headless = pick(["headless", "seconds_to_criterion"])
    summary = {
        "seconds_to_first_point_on_page": pick(["app", "seconds", "first_point_on_page"]),
        "seconds_to_every_net_on_page": pick(["app", "seconds", "every_net_on_page"]),
        "seconds_to_criterion_on_page": criterion_app,
        "seconds_to_criterion_on_page_at_150_gflops": normalised(criterion_app, peak),
        "headless_seconds_to_criterion": criterion_headless,
        "headless_seconds_to_criterion_at_150_gflops": normalised(criterion_headless, peak),
        "iterations_per_second_app": pick(["app", "iterations_per_second"]),
        "iterations_per_second_headless": pick(["headless", "iterations_per_second"]),
        "speed_ratio_app_vs_headless": pick(["speed_ratio_app_vs_headless"]),
        **{f"cpu_cores_{who}": pick(["app", "cpu_cores", who])
           for who in ("training_process", "server", "browser", "viewers", "hog", "harness")},
    }
    return {
        "scenario": {"wait_policy": args.wait_policy, "training_process_wait_policy": wait_policy(env),
                     "threads": args.threads, "env": parse_env(args.env), "tabs": args.tabs,
                     "viewer_nice": args.viewer_nice, "hog": args.hog, "data": args.data, "seeds": seeds,
                     "timeout": timeout, "preset": "fig1_fix", "criterion": "bench.degradation's (gap 0.05)"},
        "machine": {"cpu": bench.cpu_facts(), "fp32_matmul_peak_gflops": peak,
                    "precision": next((row["app"].get("precision") for row in rows if row["app"].get("precision")),
                                      None),
                    "load_average": os.getloadavg(), "torch": torch.__version__},
        "summary": summary,
        "runs": rows,
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
