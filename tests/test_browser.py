"""End to end in a real browser: `streamlit run app.py`, start a run in the Lab, toggle its
shortcuts live, watch the Degradation chart fill up, and save screenshots.

Needs Debian's Chromium (`apt-get install chromium`) and the `playwright` package; skipped
otherwise. Screenshots go to test-output/browser/.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "test-output" / "browser"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = {**os.environ, "RESNET_EDU_RUNS_DIR": str(tmp_path / "runs"), "RESNET_EDU_DATA": str(tmp_path / "data")}
    log = open(tmp_path / "server.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("streamlit did not become healthy: " + (tmp_path / "server.log").read_text()[-2000:])
    yield url, tmp_path / "runs"
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    server_log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in server_log, server_log[-3000:]


def wait_for_app(page) -> None:
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=60_000)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000)


def wait_until(predicate, timeout=240.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    return None


def test_start_a_run_toggle_shortcuts_and_watch_the_curve(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    from resnet_edu.runs import RunStore

    url, runs_dir = server
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1500})
            page.goto(f"{url}/lab")
            wait_for_app(page)

            # A choice shown in words stays chosen when the words change language, and back.
            page.get_by_role("radiogroup", name="Recipe").get_by_text("paper (Sec. 4.2)").click()
            wait_for_app(page)
            page.get_by_text("한국어", exact=True).click()
            wait_for_app(page)
            assert page.get_by_role("radio", name="논문 (4.2절)").is_checked()
            assert page.get_by_role("radio", name="CIFAR (6n+2층)").is_checked()
            page.get_by_text("English", exact=True).click()
            wait_for_app(page)
            assert page.get_by_role("radio", name="paper (Sec. 4.2)").is_checked()
            page.get_by_role("radiogroup", name="Recipe").get_by_text("classroom (default)").click()
            wait_for_app(page)

            # A short comparison: ResNet-20 and ResNet-56, 60 iterations of 32 images.
            page.get_by_role("spinbutton", name="Max iterations").fill("60")
            page.get_by_role("spinbutton", name="Max iterations").press("Enter")
            wait_for_app(page)
            page.get_by_role("spinbutton", name="Batch size").fill("32")
            page.get_by_role("spinbutton", name="Batch size").press("Enter")
            wait_for_app(page)
            page.get_by_text("residual", exact=True).click()
            wait_for_app(page)
            page.get_by_role("button", name="Train 2 nets").click()

            # The live shortcut switch of the first running net.
            switch = page.get_by_text("Shortcuts (whole net)").first
            switch.wait_for(timeout=120_000)
            store = RunStore(runs_dir)
            assert wait_until(lambda: (store.list_runs()["status"] == "running").any()), "no run started"
            switch.click()
            toggled = wait_until(lambda: any(
                (store.events(run_id)["kind"] == "shortcuts_toggled").any() for run_id in store.list_runs()["run_id"]))
            assert toggled, "the shortcut switch never reached the running net"
            page.screenshot(path=str(OUTPUT / "lab.png"))

            # The Degradation page draws the curves from the store.
            assert wait_until(lambda: all(len(store.steps(r)) >= 10 for r in store.list_runs()["run_id"]))
            page.goto(f"{url}/degradation")
            wait_for_app(page)
            chart = page.locator("[data-testid='stPlotlyChart'] .main-svg").first
            chart.wait_for(timeout=60_000)
            page.wait_for_timeout(1500)
            assert page.locator("[data-testid='stPlotlyChart'] path.js-line").count() > 0
            page.screenshot(path=str(OUTPUT / "degradation.png"))
            store.close()
        finally:
            browser.close()
    assert (OUTPUT / "degradation.png").stat().st_size > 10_000

