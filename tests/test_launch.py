"""The app's "train on N GPUs": the torchrun command, the training process's queue of jobs, the Lab's option.

There is no multi-GPU machine here: the queue is checked with the same job on two CPU processes
(``device="cpu"``), and the Lab's option with a pretended card count.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from resnet_edu.cli import build_parser
from resnet_edu.engine import torchrun_queue
from resnet_edu.engine.process import TrainingProcessManager
from resnet_edu.runs import RunStore
from resnet_edu.train import TrainConfig

REPO = Path(__file__).resolve().parents[1]


def test_the_command_is_torchrun_over_the_cli_and_the_cli_accepts_it():
    command = torchrun_queue.torchrun_command("r12345678", 4)
    assert command[:7] == [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "4",
                           "-m"]
    assert command[7:] == ["resnet_edu", "train", "--run-id", "r12345678", "--device", "cuda", "--json"]
    args = build_parser().parse_args(command[8:])
    assert (args.command, args.run_id, args.device) == ("train", "r12345678", "cuda")
    resume = torchrun_queue.torchrun_command("r12345678", 2, resume=True)
    assert build_parser().parse_args(resume[8:]).runs_command == "resume"
    with pytest.raises(ValueError, match="at least 2 GPUs"):
        torchrun_queue.torchrun_command("r12345678", 1)


def test_several_gpus_on_a_machine_without_them_is_refused_and_creates_nothing():
    manager = TrainingProcessManager(device="cpu")
    try:
        with pytest.raises(ValueError, match="needs 2 CUDA cards"):
            manager.submit([TrainConfig(depth=8)], gpus=2)
        assert manager.store.list_runs().empty
        assert manager.training_process_pid is None  # nothing was started either
    finally:
        manager.shutdown()


@pytest.mark.slow
def test_the_queue_trains_the_apps_queued_run_as_a_torchrun_job(tmp_path):
    store = RunStore(tmp_path / "runs")
    config = TrainConfig(depth=8, batch_size=64, max_train_images=512, max_steps=6, world_size=2)
    run_id = store.create_run(config.run_name, config.to_dict(), status="queued")
    queue = torchrun_queue.TorchrunQueue(store, device="cpu")  # the app's path, on two CPU processes
    queue.adopt([(run_id, False)], 2)
    thread = queue._groups[0].thread
    thread.join(300)
    assert not thread.is_alive()
    info = store.get_run(run_id)
    assert info["status"] == "finished", info
    assert store.steps(run_id)["step"].tolist() == list(range(1, 7))
    assert store.get_run(run_id)["config"]["world_size"] == 2
    store.close()


def _open_lab() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state["lang"] = "en"
    at.run()
    at.switch_page("app_pages/lab.py").run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def fresh_app():
    yield
    st.cache_resource.clear()  # the page's JobManager stops its training process


def test_the_lab_hides_the_gpu_choice_with_fewer_than_two_cards(monkeypatch, fresh_app):
    monkeypatch.setattr(torchrun_queue, "cuda_card_count", lambda: 1)
    at = _open_lab()
    assert not [box for box in at.selectbox if box.key == "lab_gpus"]


def test_the_lab_offers_n_gpus_and_says_why_it_cannot_start_without_them(monkeypatch, fresh_app):
    monkeypatch.setattr(torchrun_queue, "cuda_card_count", lambda: 4)
    at = _open_lab()
    (gpus,) = [box for box in at.selectbox if box.key == "lab_gpus"]
    assert gpus.options == ["1 GPU", "2 GPUs", "3 GPUs", "4 GPUs"]
    gpus.set_value(2).run()
    at.button(key="lab_start").click().run()
    assert not at.exception, at.exception
    assert any("needs 2 CUDA cards" in error.value for error in at.error)  # this machine trains on its CPU


# ---------------------------------------------------------------- every page's URL, on a real server

PAGE_URLS = {"/": "Deep Residual Learning", "/paper": "Deep Residual Learning", "/lab": "Lab",
             "/degradation": "Degradation", "/architecture": "Architecture", "/gradients": "Gradients",
             "/features": "Features", "/lesion": "Lesion study", "/landscape": "Loss landscape"}


@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is not installed")
def test_every_page_opens_at_its_own_url(tmp_path):
    """A shared link (/paper, /lab, …) opens that page: `streamlit run app.py` in headless Chromium.
    (AppTest cannot open URLs: Streamlit's browser side picks the page from the path.)"""
    import os
    import socket
    import subprocess
    import urllib.request

    from polling import wait_until

    sync_api = pytest.importorskip("playwright.sync_api")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "RESNET_EDU_RUNS_DIR": str(tmp_path / "runs"), "RESNET_EDU_DATA": str(tmp_path / "data"),
           "RESNET_EDU_PREPARE": "0"}
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                               "--server.port", str(port), "--server.address", "127.0.0.1",
                               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                              cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).read() == b"ok"
        except OSError:
            return False

    try:
        assert wait_until(healthy, 120), (tmp_path / "server.log").read_text()[-2000:]
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            page = browser.new_page()
            opened = {}
            for path in [*PAGE_URLS, "/no-such-page"]:
                page.goto(base + path)
                page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000)
                page.wait_for_selector("h1", timeout=60_000)
                opened[path] = (page.locator("h1").first.inner_text(), "Page not found" in page.inner_text("body"))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    for path, title in PAGE_URLS.items():
        heading, not_found = opened[path]
        assert title in heading and not not_found, (path, opened[path])
    assert opened["/no-such-page"][1], "an unknown path still says so"


# ---------------------------------------------------------------- who may open the app's websocket

def _websocket_status(port: int, host: str, origin: str | None) -> int:
    """The HTTP status a WebSocket upgrade to Streamlit's stream gets (101: accepted), sent by hand as a script would."""
    import socket

    lines = ["GET /_stcore/stream HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
             "Sec-WebSocket-Protocol: streamlit"]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        reply = sock.recv(4096).decode("latin-1")
    return int(reply.split(" ", 2)[1])


@pytest.mark.slow
def test_a_foreign_host_or_origin_cannot_open_the_websocket(tmp_path):
    """DNS rebinding: a web page on evil.example whose name resolves to this computer. With
    .streamlit/config.toml (allowedHosts, CORS) `streamlit run app.py` refuses it; the app's own
    names are still accepted."""
    import os
    import socket
    import subprocess
    import urllib.request

    from polling import wait_until

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "RESNET_EDU_RUNS_DIR": str(tmp_path / "runs"), "RESNET_EDU_PREPARE": "0"}
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
                              cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)

    def healthy() -> bool:
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok"
        except OSError:
            return False

    try:
        assert wait_until(healthy, 120), (tmp_path / "server.log").read_text()[-2000:]
        for name in ("localhost", "127.0.0.1"):
            assert _websocket_status(port, f"{name}:{port}", f"http://{name}:{port}") == 101, name
        assert _websocket_status(port, f"localhost:{port}", None) == 101  # a script without an Origin, locally
        assert _websocket_status(port, f"evil.example:{port}", f"http://evil.example:{port}") != 101
        assert _websocket_status(port, f"evil.example:{port}", None) != 101
        assert _websocket_status(port, f"localhost:{port}", "http://evil.example") != 101  # a foreign page
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
