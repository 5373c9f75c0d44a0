"""The training process: the app's runs train here, outside the app's own process.

    python -m resnet_edu.worker        # started by JobManager(isolation="process"), never by hand

Why a separate process: Python runs one thread's bytecode at a time (the GIL). In the app,
every open tab re-runs page scripts in the server process; a training *thread* there waits
for the GIL between its torch operations, so 30 students watching the curves slowed the
training they were watching to a fifth. In its own process the training loop has its own
interpreter and its own GIL, and the pages cannot stall it.

Inside, a thread-isolated ``JobManager`` trains exactly as it would in the app (groups queue,
a group trains in lockstep). It lives as long as the app, so torch is imported and a data set
decoded once, not once per group. The protocol is JSON lines, easy to read and to test:

* the app → stdin. First ``{"store": DIR, "device": "cpu"}``, then commands:
  ``{"op": "train", "group_id", "runs": [{"run_id", "config", "resume_from", "toggles"}]}``
  (the runs already exist in the store), ``{"op": "stop", "run_id", "reason"}``,
  ``{"op": "stop_all", "reason"}``, ``{"op": "shortcuts", "run_id", "enabled", "stages",
  "seq"}``. End of input (the app closed or died) stops every run, checkpointed, and then
  the process exits.
* stdout → the app, a few times a second while something trains:
  ``{"runs": {run_id: progress}}``, progress being what ``JobManager.progress`` returns plus
  ``shortcuts`` (stage → on) and ``toggle_seq`` (the last switch command carried out).

Every metric still goes straight to the RunStore (SQLite in WAL mode takes writers from
several processes): the reports only carry what the Lab shows between two store reads.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

REPORT_SECONDS = 0.25
WAIT_POLICY = "PASSIVE"  # for the training process's OpenMP threads (an OMP_WAIT_POLICY you set wins)
PARENT_GONE = "the app was closed: resume the run from the Lab"


class TrainingProcess:
    """The app's side: start the child, send it commands, hear its reports (on a reader thread).

    Args:
        store_root: the RunStore folder both processes use.
        device: "cpu" or "cuda[:N]".
        on_report: called with ``{run_id: progress}`` for every report.
        on_exit: called with (this object, exit code) once the child has ended.
    """

    def __init__(self, store_root: str | os.PathLike, device: str,
                 on_report: Callable[[dict], None], on_exit: Callable[[TrainingProcess, int | None], None]) -> None:
        package_parent = str(Path(__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
        # OpenMP threads that sleep while they wait, instead of spinning: when page scripts take
        # a core, a spinning thread burns the other one waiting for its preempted partner. On the
        # 2-core machine, 30 tabs watching: training 104 -> 160 img/s; alone: 347 -> 313 img/s.
        env.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
        self._send_lock = threading.Lock()
        self._child = subprocess.Popen([sys.executable, "-m", "resnet_edu.worker"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1, env=env)
        self.pid = self._child.pid
        self._on_report, self._on_exit = on_report, on_exit
        self.send({"store": str(store_root), "device": device})
        self._reader = threading.Thread(target=self._read, daemon=True, name="resnet-lab-reports")
        self._reader.start()

    @property
    def alive(self) -> bool:
        return self._child.poll() is None

    def send(self, message: dict) -> bool:
        """One JSON line to the child; False when it no longer listens."""
        with self._send_lock:
            try:
                self._child.stdin.write(json.dumps(message) + "\n")
                self._child.stdin.flush()
                return True
            except (OSError, ValueError):  # it has ended (its runs are then handled by on_exit)
                return False

    def _read(self) -> None:
        for line in self._child.stdout:
            try:
                report = json.loads(line)
            except ValueError:
                continue
            try:
                self._on_report(report.get("runs", {}))
            except Exception:  # noqa: BLE001 - a bad report must not stop the reports that follow
                traceback.print_exc()
        self._on_exit(self, self._child.wait())

    def close(self, timeout: float = 10) -> None:
        """End the child: close its input (it stops its runs and exits), kill it if it hangs."""
        with self._send_lock, contextlib.suppress(OSError, ValueError):
            self._child.stdin.close()
        try:
            self._child.wait(timeout)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()
        self._reader.join(5)


# ------------------------------------------------------------------ the child's side

def _carry_out(manager, line: str, applied: dict[str, int]) -> None:
    from resnet_edu.jobs import _Run
    from resnet_edu.train import TrainConfig

    command = json.loads(line)
    op, run_id = command.get("op"), command.get("run_id")
    if op == "train":
        runs = []
        for spec in command["runs"]:
            run = _Run(spec["run_id"], TrainConfig.from_dict(spec["config"]), resume_from=spec.get("resume_from"))
            run.pending_toggles = [(bool(enabled), stages) for enabled, stages in spec.get("toggles", [])]
            runs.append(run)
        manager.adopt(command["group_id"], runs)
    elif op == "stop":
        manager.stop(run_id, reason=command.get("reason"))
    elif op == "stop_all":
        manager.stop_all(reason=command.get("reason"))
    elif op == "shortcuts":
        with contextlib.suppress(KeyError, ValueError):  # the run ended meanwhile
            manager.set_shortcuts(run_id, bool(command["enabled"]), command.get("stages"))
        applied[run_id] = int(command.get("seq", 0))


def _listen(manager, lines, applied: dict[str, int], closed: threading.Event) -> None:
    """Carry out the app's commands until its end of the pipe closes, then stop everything."""
    for line in lines:
        try:
            _carry_out(manager, line, applied)
        except Exception as error:  # noqa: BLE001 - one bad command must not end the others' training
            print(f"resnet_edu.worker: command refused: {type(error).__name__}: {error}", file=sys.stderr)
    closed.set()
    manager.stop_all(reason=PARENT_GONE)


def _report(manager, run_ids: list[str], applied: dict[str, int], out) -> list[str]:
    """Write one report; returns the runs it reported as ended (they need no further report)."""
    from resnet_edu.jobs import ENDED

    runs = {}
    for run_id in run_ids:
        progress = manager.progress(run_id)
        progress["shortcuts"] = manager.shortcut_state(run_id)
        progress["toggle_seq"] = applied.get(run_id, 0)
        runs[run_id] = progress
    out.write(json.dumps({"runs": runs}) + "\n")
    out.flush()
    return [run_id for run_id, progress in runs.items() if progress["status"] in ENDED]


def main() -> int:
    # stdout is the report channel: keep it for that, and send anything else printed to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    from resnet_edu.jobs import JobManager
    from resnet_edu.runs import RunStore

    hello = json.loads(sys.stdin.readline() or "{}")
    if "store" not in hello:
        return 2
    manager = JobManager(store=RunStore(hello["store"]), device=hello.get("device"))
    applied: dict[str, int] = {}
    closed = threading.Event()
    threading.Thread(target=_listen, args=(manager, sys.stdin, applied, closed), daemon=True,
                     name="resnet-lab-commands").start()
    reported_ended: set[str] = set()
    try:
        while True:
            to_report = [run_id for run_id in manager.known_runs() if run_id not in reported_ended]
            if to_report:
                reported_ended.update(_report(manager, to_report, applied, out))
            if closed.is_set() and not manager.active_runs():
                break
            time.sleep(REPORT_SECONDS)
    except BrokenPipeError:  # the app is gone: nobody to report to, the store has everything
        manager.stop_all(reason=PARENT_GONE)
    finally:
        manager.shutdown()
        with contextlib.suppress(OSError, ValueError):  # a last word, if the app still listens
            _report(manager, manager.known_runs(), applied, out)
            out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
