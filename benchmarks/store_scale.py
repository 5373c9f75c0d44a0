"""A term of runs: how the run store and its pages hold up at classroom-year scale.

    python benchmarks/store_scale.py                   # 300 runs, 10 of them 64,000 iterations (~2 M step rows)
    python benchmarks/store_scale.py --small           # ~100k step rows: a minute
    python benchmarks/store_scale.py --keep /tmp/big   # keep (or reuse) the built store

A full paper-recipe CIFAR run is 64,000 iterations (Sec. 4.2: 64k iterations at batch 128);
a school year of classes is hundreds of shorter runs. This builds such a store with made-up
numbers (the benchmark's only job: the numbers are never shown as results) in the exact
schema the app writes, with per-layer statistics every ``--probe-every`` iterations as a
real run records them, then measures on this machine:

- the file's size, and its bytes per step row (the whole file, and the steps table alone);
- opening the store (``RunStore(...)``: the ``quick_check`` included) in a fresh process;
- ``python -m resnet_edu runs list`` (a fresh process, wall time) and ``list_runs()``;
- the Lab and the Degradation pages in ``AppTest``: CPU seconds of the first run (which
  builds the shared view of three 64k-iteration runs) and of later re-runs, and memory;
- a downsampled read of three 64k runs (what the Degradation chart loads) vs the full read;
- CSV export of a 64k-iteration run.

Prints JSON; asserts nothing. The machine may be shared: the load average is in the output.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from resnet_edu.runs import RunStore  # noqa: E402

LONG_DEPTHS = [20, 56, 56, 20, 32, 44, 56, 110, 20, 56]  # the 10 paper-length runs
SHORT_DEPTHS = [20, 20, 56, 56, 32, 44, 110]


def _layer_names(depth: int) -> tuple[list[str], list[str]]:
    """Conv layers (gradient norms) and blocks (response std) of a CIFAR ResNet, in depth order."""
    n = (depth - 2) // 6
    convs, blocks = ["conv1"], []
    for stage in (1, 2, 3):
        for b in range(n):
            convs += [f"layer{stage}.{b}.conv1", f"layer{stage}.{b}.conv2"]
            blocks.append(f"layer{stage}.{b}")
    return convs, blocks


def _write_run(conn, run_id: str, steps: int, depth: int, probe_every: int, steps_per_epoch: int,
               rng: random.Random) -> tuple[int, int]:
    """One run's step, eval and layer rows (a plausible curve); returns (step rows, layer rows)."""
    base = 0.9 - 0.3 * rng.random()
    step_rows = []
    for i in range(1, steps + 1):
        error = max(0.0, base * (1 - i / (steps * 1.3)) + 0.05 * rng.random())
        step_rows.append((run_id, i, i / steps_per_epoch, i * 0.3, error * 2.3, error, 0.1, 400 + 20 * rng.random()))
    conn.executemany("INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?)", step_rows)
    evals = [(run_id, i, i / steps_per_epoch, i * 0.3, 1.0, step_rows[i - 1][5] + 0.05)
             for i in range(steps_per_epoch, steps + 1, steps_per_epoch)]
    conn.executemany("INSERT INTO evals VALUES (?, ?, ?, ?, ?, ?)", evals)
    layers = 0
    if probe_every:
        convs, blocks = _layer_names(depth)
        rows = []
        for i in range(probe_every, steps + 1, probe_every):
            rows += [(run_id, "grad_norm", i, k, name, rng.random()) for k, name in enumerate(convs)]
            rows += [(run_id, "response_std", i, k, name, rng.random()) for k, name in enumerate(blocks)]
            if len(rows) > 200_000:
                conn.executemany("INSERT INTO layer_stats VALUES (?, ?, ?, ?, ?, ?)", rows)
                layers += len(rows)
                rows = []
        conn.executemany("INSERT INTO layer_stats VALUES (?, ?, ?, ?, ?, ?)", rows)
        layers += len(rows)
    return len(step_rows), layers


def build_store(root: Path, runs: int = 300, long_runs: int = 10, long_steps: int = 64_000,
                short_steps: int = 4_700, probe_every: int = 10, seed: int = 0) -> dict:
    """A store of ``runs`` finished runs: ``long_runs`` of ``long_steps`` iterations, the rest shorter.

    The newest group is three long runs (plain-20, plain-56, ResNet-56: the paper's Fig. 1),
    which the Degradation page opens on. Returns the row counts.
    """
    rng = random.Random(seed)
    store = RunStore(root)
    store.close()
    import sqlite3

    conn = sqlite3.connect(root / "runs.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # building only; the app writes with synchronous=NORMAL
    totals = {"runs": 0, "step_rows": 0, "layer_rows": 0}
    plan = []
    for k in range(runs - long_runs):
        depth = SHORT_DEPTHS[k % len(SHORT_DEPTHS)]
        plan.append((f"class {k // 6} · {'plain' if k % 2 else 'ResNet'}-{depth}", depth, k % 2 == 0,
                     max(50, int(short_steps * (0.5 + rng.random()))), f"g{k // 3:04d}"))
    for k, depth in enumerate(LONG_DEPTHS[:long_runs]):
        group = "gfig1" if k >= long_runs - 3 else f"glong{k // 3}"
        shortcuts = k != long_runs - 3 and k != long_runs - 2 if group == "gfig1" else k % 2 == 0
        if group == "gfig1":
            depth = (20, 56, 56)[k - (long_runs - 3)]
        plan.append((f"paper recipe · {'ResNet' if shortcuts else 'plain'}-{depth}", depth, shortcuts, long_steps,
                     group))
    start = time.time() - 120 * 86400
    for index, (name, depth, shortcuts, steps, group) in enumerate(plan):
        run_id = f"r{index:08x}"
        created = time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime(start + index * 3600))
        config = {"family": "cifar", "depth": depth, "shortcuts": shortcuts, "dataset": "synthetic",
                  "batch_size": 128, "epochs": max(1, steps // 390), "recipe": "paper", "probe_every": probe_every}
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO runs (run_id, name, group_id, status, config, device, versions, created_at, started_at,"
            " finished_at, message, steps_done, total_steps) VALUES (?, ?, ?, 'finished', ?, 'cpu', '{}', ?, ?, ?,"
            " '', ?, ?)", (run_id, name, group, json.dumps(config), created, created, created, steps, steps))
        conn.execute("INSERT INTO events (run_id, step, kind, detail, created_at) VALUES (?, 0, 'started', '{}', ?)",
                     (run_id, created))
        conn.execute("INSERT INTO events (run_id, step, kind, detail, created_at) VALUES (?, ?, 'finished', '{}', ?)",
                     (run_id, steps, created))
        s, layer = _write_run(conn, run_id, steps, depth, probe_every, 390, rng)
        conn.execute("COMMIT")
        totals["runs"] += 1
        totals["step_rows"] += s
        totals["layer_rows"] += layer
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return totals


def _cpu() -> float:
    return time.process_time()


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fresh_process(code: str, env: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(root: Path) -> dict:
    """Everything the module docstring lists, on an existing store folder."""
    import sqlite3

    env = {**os.environ, "RESNET_EDU_RUNS_DIR": str(root)}
    out: dict = {}
    db = root / "runs.sqlite"
    out["file_bytes"] = db.stat().st_size
    conn = sqlite3.connect(db)
    steps = conn.execute("SELECT COUNT(*) FROM steps").fetchone()[0]
    layers = conn.execute("SELECT COUNT(*) FROM layer_stats").fetchone()[0]
    by_table = dict(conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall())
    conn.close()
    out["step_rows"], out["layer_rows"] = steps, layers
    out["bytes_per_step_row_whole_file"] = round(out["file_bytes"] / max(1, steps), 1)
    out["bytes_per_step_row_steps_table"] = round(by_table.get("steps", 0) / max(1, steps), 1)
    out["bytes_per_layer_row"] = round(by_table.get("layer_stats", 0) / max(1, layers), 1)
    out["bytes_by_table_mb"] = {k: round(v / 1e6, 1) for k, v in sorted(by_table.items(), key=lambda kv: -kv[1])[:6]}

    os.utime(db)  # as a crash or another program leaves it: the first open below reads the file in full
    out["open"] = _fresh_process(
        "import json, time\n"
        "from resnet_edu.runs import repair\n"
        "import sqlite3, os\n"
        "t = time.perf_counter(); c = sqlite3.connect(os.environ['RESNET_EDU_RUNS_DIR'] + '/runs.sqlite')\n"
        "repair.quick_check(c); qc = time.perf_counter() - t; c.close()\n"
        "from resnet_edu.runs import RunStore\n"
        "times = []\n"
        "for _ in range(2):  # 1: the file changed since the last clean close (full check); 2: it did not\n"
        "    t = time.perf_counter(); c0 = time.process_time(); s = RunStore()\n"
        "    times.append((round(time.perf_counter() - t, 3), round(time.process_time() - c0, 3)))\n"
        "    t = time.perf_counter(); s.list_runs(); listing = time.perf_counter() - t\n"
        "    s.close()\n"
        "print(json.dumps({'store_open_after_a_change_s_wall_cpu': times[0],"
        " 'store_open_after_a_clean_close_s_wall_cpu': times[1],"
        " 'quick_check_full_s': round(qc, 3), 'list_runs_s': round(listing, 3)}))", env)
    started = time.perf_counter()  # the store was closed cleanly just before: the usual case
    listed = subprocess.run([sys.executable, "-m", "resnet_edu", "runs", "list"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=600)
    out["cli_runs_list_wall_s"] = round(time.perf_counter() - started, 3)
    out["cli_runs_list_lines"] = len(listed.stdout.splitlines())

    store = RunStore(root)
    menu = store.run_menu()
    fig1 = [r[0] for r in menu if r[2] == "gfig1"]
    t0 = time.perf_counter()
    full = sum(len(store.steps(r)) for r in fig1)
    out["read_3_long_runs_full_s"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    summed = sum(len(store.step_blocks(r, stride=128)) for r in fig1)  # as CurveBuffer reads a long run
    out["read_3_long_runs_in_blocks_of_128_s"] = round(time.perf_counter() - t0, 3)
    out["rows_full_vs_blocks"] = [full, summed]
    t0 = time.perf_counter()
    text = store.export_csv(fig1[0])
    out["csv_export_64k_s"] = round(time.perf_counter() - t0, 3)
    out["csv_export_64k_mb"] = round(len(text.encode()) / 1e6, 2)
    store.close()
    out["pages"] = _fresh_process(PAGES_CODE, env)
    return out


PAGES_CODE = r"""
import json, time, tracemalloc
from pathlib import Path
from streamlit.testing.v1 import AppTest

def rss():
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024

result = {}
at = AppTest.from_file('app.py', default_timeout=600)
c = time.process_time()
at.run()  # imports torch, plotly, pandas once, as a server does at its first page
result['app_first_run_cpu_s'] = round(time.process_time() - c, 3)
for page in ('app_pages/lab.py', 'app_pages/degradation.py'):
    at.switch_page(page)
    before = rss()
    tracemalloc.start()
    c = time.process_time(); w = time.perf_counter()
    at.run()
    first_cpu, first_wall = time.process_time() - c, time.perf_counter() - w
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    reruns = []
    for _ in range(5):
        c = time.process_time()
        at.run()
        reruns.append(time.process_time() - c)
    reruns.sort()
    result[page] = {'exception': [str(e.message)[:200] for e in at.exception], 'first_run_cpu_s': round(first_cpu, 3),
                    'first_run_wall_s': round(first_wall, 3), 'first_run_python_peak_mb': round(peak, 1),
                    'rerun_cpu_s_median': round(reruns[len(reruns) // 2], 4), 'rerun_cpu_s_max': round(reruns[-1], 4),
                    'rss_growth_mb': round(rss() - before, 1)}
result['rss_mb'] = round(rss(), 1)
print(json.dumps(result))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="30 runs, ~100k step rows")
    parser.add_argument("--keep", default=None, help="build into (or reuse) this folder and keep it")
    args = parser.parse_args()
    load_before = os.getloadavg()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="store-scale-"))
    sizes = dict(runs=30, long_runs=3, long_steps=20_000, short_steps=1_400) if args.small else {}
    built = None
    try:
        if not (folder / "runs.sqlite").exists():
            t0 = time.perf_counter()
            built = build_store(folder, **sizes)
            built["build_s"] = round(time.perf_counter() - t0, 1)
        result = {"store": str(folder), "built": built, **measure(folder)}
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    result["load_average_before_after"] = [round(x, 2) for x in (*load_before, *os.getloadavg())]
    result["cpus"] = os.cpu_count()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
