"""Server CPU per page run: how much of the class's CPU the Streamlit server itself spends on each page.

The rule it checks: heavy work runs in the training process, the server only reads the store and
draws, so no page run should cost more than 0.5 s of the server's CPU. Each page of the app is run
in-process with Streamlit's ``AppTest`` (the same script runner a browser session drives), with
trained runs in a temporary store, and ``time.process_time()`` is read around each ``at.run()``:
CPU seconds of every thread of the server process (the script thread, the store's writer, the
job manager's threads), not of the training process, which is another process. Measured per page:

* ``open``: the first run of the page with Streamlit's caches cleared (a fresh server's caches; the
  modules are imported already, by the app's first page);
* ``action``: the run in which a student asks for the page's heavy thing (Gradients: measure fresh
  nets of 20, 56 and 110 layers at initialisation; Features: integrated gradients with a noise
  tunnel), where there is one;
* ``rerun_median`` / ``rerun_max``: later runs of the page (what every click and refresh costs),
  after the training process has finished what the page asked for.

``--before COMMIT`` measures that commit too, in a temporary ``git worktree`` (removed afterwards),
with its own code on ``PYTHONPATH`` and its own freshly trained runs, and prints both.

    python benchmarks/server_cpu.py --before e441c11          # JSON on the last line

Take the numbers on an idle machine: other processes on the same cores lengthen the runs, and the
training process (which trains the runs and computes the tasks) must not compete with the server.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGES = {"Lab": "lab", "Degradation": "degradation", "Gradients": "gradients", "Features": "features",
         "Lesion": "lesion", "Landscape": "landscape", "Architecture": "architecture", "Paper": "paper"}
GOAL_SECONDS = 0.5


def train_runs(depth: int, steps: int) -> None:
    """A plain/residual pair trained for real in $RESNET_EDU_RUNS_DIR (synthetic data, checkpoints kept)."""
    import dataclasses

    from resnet_edu.engine import JobManager
    from resnet_edu.runs import RunStore
    from resnet_edu.train import TrainConfig

    store = RunStore()
    manager = JobManager(store=store, device="cpu")
    try:
        base = TrainConfig(depth=depth, epochs=1, max_steps=steps, batch_size=32, probe_every=5,
                           max_train_images=32 * steps)
        ids = manager.submit([dataclasses.replace(base, shortcuts=s) for s in (False, True)])
        if not manager.wait(ids, timeout=1800):
            raise SystemExit("the runs did not finish in 30 minutes")
    finally:
        manager.shutdown()
        store.close()


def tasks_settled(timeout: float = 900.0) -> None:
    """Wait until the training process has no analysis task queued or running."""
    from resnet_edu.runs import RunStore

    store = RunStore()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            jobs = store.list_analyses()
            if not len(jobs) or not jobs["status"].isin(["queued", "running"]).any():
                return
            time.sleep(0.2)
    finally:
        store.close()


def timed(run) -> float:
    start = time.process_time()
    run()
    return time.process_time() - start


def action(name: str, at) -> bool:
    """Ask for the page's heavy thing, as a student would; False if the page has none."""
    if name == "Gradients":
        at.multiselect(key="grad_init_depths").set_value([20, 56, 110])
        at.button(key="grad_init_go").click()
        return True
    if name == "Features":
        at.radio(key="feat_view").set_value("ig").run()
        at.toggle(key="feat_ig_noise").set_value(True)
        return True
    return False


def measure(app: Path, reruns: int) -> dict:
    """Each page's server CPU seconds (see the module docstring); the app is ``app`` (its folder's code)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    pages = {}
    for name, stem in PAGES.items():
        st.cache_resource.clear()  # a fresh server for each page: its first run is a cold one
        st.cache_data.clear()
        at = AppTest.from_file(str(app), default_timeout=900)
        at.session_state["lang"] = "en"
        at.run()
        at.switch_page(f"app_pages/{stem}.py")
        row = {"open": timed(at.run)}
        tasks_settled()
        if action(name, at):
            row["action"] = timed(at.run)
            tasks_settled()
        times = [timed(at.run) for _ in range(reruns)]
        row.update(rerun_median=statistics.median(times), rerun_max=max(times),
                   errors=[str(e.value)[:200] for e in at.exception])
        row["over_goal"] = max(row["open"], row.get("action", 0.0), row["rerun_max"]) > GOAL_SECONDS
        pages[name] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}
        st.cache_resource.clear()  # stops this server's job manager and its training process
    return pages


def measure_in(root: Path, depth: int, steps: int, reruns: int) -> dict:
    """Train runs and measure the app in ``root`` (a checkout), in a child process with its code first on the path."""
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, PYTHONPATH=str(root), RESNET_EDU_RUNS_DIR=str(Path(folder) / "runs"),
                   RESNET_EDU_PREPARE="0")
        command = [sys.executable, str(Path(__file__).resolve()), "--measure", "--app", str(root / "app.py"),
                   "--depth", str(depth), "--steps", str(steps), "--reruns", str(reruns)]
        done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"measuring {root} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", help="also measure this commit (e.g. e441c11), in a temporary worktree")
    parser.add_argument("--depth", type=int, default=20, help="depth of the trained plain/residual pair")
    parser.add_argument("--steps", type=int, default=30, help="iterations each run trains")
    parser.add_argument("--reruns", type=int, default=5, help="later runs measured per page")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the child's part
    parser.add_argument("--app", default=str(REPO / "app.py"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        import torch

        torch.set_num_threads(min(2, os.cpu_count() or 1))
        train_runs(args.depth, args.steps)
        print(json.dumps(measure(Path(args.app), args.reruns)))
        return

    from resnet_edu.cli.machine import cpu_name

    result = {"what": "Streamlit server CPU seconds per page run (AppTest in-process, time.process_time)",
              "goal_seconds": GOAL_SECONDS, "cpu": cpu_name(),
              "cpu_count": os.cpu_count(), "depth": args.depth, "steps": args.steps, "reruns": args.reruns,
              "after": {"commit": _commit(REPO), "pages": measure_in(REPO, args.depth, args.steps, args.reruns)}}
    if args.before:
        worktree = Path(tempfile.mkdtemp(prefix="server_cpu_before_"))
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(worktree), args.before],
                       check=True, capture_output=True)
        try:
            result["before"] = {"commit": _commit(worktree),
                                "pages": measure_in(worktree, args.depth, args.steps, args.reruns)}
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(worktree)], check=False)
    result["pages_over_goal"] = sorted(name for name, row in result["after"]["pages"].items() if row["over_goal"])
    print(json.dumps(result))


def _commit(root: Path) -> str:
    return subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=False).stdout.strip()


if __name__ == "__main__":
    main()
