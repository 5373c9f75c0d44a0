"""End to end in a real browser, as a class uses the app: `streamlit run app.py`, start a short
comparison in the Lab, toggle its shortcuts live, watch the Degradation page until the runs end,
switch the x-axis and the language there, then run a lesion study on the ended runs, visit another
page and come back to find its result. No exception on the page, no traceback in the server log.

Needs Debian's Chromium (`apt-get install chromium`) and the `playwright` package; skipped
otherwise. Screenshots go to test-output/browser/.
"""

import os
import re
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
ITERATIONS = 60  # each net of the comparison: short, and long enough for the live switch to land

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
    """(url, runs folder, server log) of a real `streamlit run app.py`; its log must hold no traceback."""
    port = free_port()
    env = {**os.environ, "RESNET_EDU_RUNS_DIR": str(tmp_path / "runs"), "RESNET_EDU_DATA": str(tmp_path / "data")}
    log_path = tmp_path / "server.log"
    log = open(log_path, "w")
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
        pytest.fail("streamlit did not become healthy: " + log_path.read_text()[-2000:])
    yield url, tmp_path / "runs", log_path
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    server_log = log_path.read_text()
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


def no_exception(page, log_path: Path, doing: str) -> None:
    """Nothing broke: no exception drawn on the page, no traceback in the server log so far."""
    shown = page.locator("[data-testid='stException']")
    assert shown.count() == 0, f"{doing}: {shown.first.inner_text()}"
    server_log = log_path.read_text()
    assert "Traceback" not in server_log, f"{doing}: {server_log[-3000:]}"


def go_to(page, title: str) -> None:
    """Open a page from the sidebar, as a student does (the same session: its choices are kept)."""
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    wait_for_app(page)


def choose(page, group: str, option: str) -> None:
    page.get_by_role("radiogroup", name=group).get_by_text(option, exact=True).click()
    wait_for_app(page)


def checked(radio) -> None:
    """The radio is (or within a few seconds becomes) checked: after a language switch the page draws
    the new words first and the choice in them a moment later."""
    from playwright.sync_api import expect

    expect(radio).to_be_checked(timeout=30_000)


def status_of(name: str, word: str) -> re.Pattern:
    """A run's status beside the Degradation page's picker: "✅ plain-20 · 12-06 13:34: finished"."""
    return re.compile(rf"{name}( · [\d-]+ [\d:]+)?: {word}")


def test_a_class_period_in_a_real_browser(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    from resnet_edu.runs import ACTIVE_STATUSES, ENDED_STATUSES, RunStore

    url, runs_dir, log_path = server
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-dev-shm-usage"])
        store = None
        page = browser.new_page(viewport={"width": 1400, "height": 1500})
        try:
            page.goto(f"{url}/lab")
            wait_for_app(page)

            # A choice shown in words stays chosen when the words change language, and back.
            choose(page, "Recipe", "paper (Sec. 4.2)")
            page.get_by_text("한국어", exact=True).click()
            wait_for_app(page)
            checked(page.get_by_role("radio", name="논문 (4.2절)"))
            checked(page.get_by_role("radio", name="CIFAR (6n+2층)"))
            page.get_by_text("English", exact=True).click()
            wait_for_app(page)
            checked(page.get_by_role("radio", name="paper (Sec. 4.2)"))
            choose(page, "Recipe", "classroom (default)")

            # A short comparison: plain-20 and ResNet-20, a few dozen iterations of 32 images.
            page.get_by_role("spinbutton", name="Max iterations").fill(str(ITERATIONS))
            page.get_by_role("spinbutton", name="Max iterations").press("Enter")
            wait_for_app(page)
            page.get_by_role("spinbutton", name="Batch size").fill("32")
            page.get_by_role("spinbutton", name="Batch size").press("Enter")
            wait_for_app(page)
            depths = page.get_by_test_id("stMultiSelect").filter(has_text="Depths").locator("input")
            depths.click()
            depths.press("Backspace")  # the default depths are 20 and 56: keep 20
            depths.press("Escape")
            wait_for_app(page)
            page.get_by_role("button", name="Train 2 nets").click()

            # A live shortcut switch of the first net (one stage: the twins start from the same weights, so
            # the whole net switched at its first iteration would draw the other twin's curve), clicked as
            # soon as it shows (queued or running).
            switch = page.get_by_text("stage 2", exact=True).first
            switch.wait_for(timeout=120_000)
            store = RunStore(runs_dir)
            runs = store.list_runs()
            assert sorted(runs["name"]) == ["ResNet-20", "plain-20"], runs
            switch.click()
            toggled = wait_until(lambda: any(
                (store.events(run_id)["kind"] == "shortcuts_toggled").any() for run_id in runs["run_id"]))
            assert toggled, "the shortcut switch never reached the net"
            page.screenshot(path=str(OUTPUT / "lab.png"))

            # The Degradation page draws the curves from the store while the nets train ...
            assert wait_until(lambda: all(len(store.steps(r)) >= 10 for r in runs["run_id"]))
            page.goto(f"{url}/degradation")
            wait_for_app(page)
            page.locator("[data-testid='stPlotlyChart'] .main-svg").first.wait_for(timeout=60_000)
            assert page.locator("[data-testid='stPlotlyChart'] path.js-line").count() > 0
            page.screenshot(path=str(OUTPUT / "degradation.png"))

            # ... and notices on its own when they end: each run's status beside the picker says so.
            assert wait_until(lambda: store.list_runs()["status"].isin(ENDED_STATUSES).all()), "the runs never ended"
            status = page.get_by_text(status_of("plain-20", "finished")).filter(
                has_text=status_of("ResNet-20", "finished")).first
            status.wait_for(timeout=60_000)
            wait_for_app(page)
            assert "training" not in status.inner_text()
            assert page.locator("[data-testid='stPlotlyChart'] path.js-line").count() > 0
            no_exception(page, log_path, "the runs ended on the Degradation page")
            page.screenshot(path=str(OUTPUT / "degradation-ended.png"))

            # After the end: another x-axis, another language, and back; nothing breaks.
            for axis in ("epochs", "seconds", "iterations"):
                choose(page, "x-axis", axis)
                no_exception(page, log_path, f"x-axis '{axis}' after the runs ended")
            page.get_by_text("한국어", exact=True).click()
            wait_for_app(page)
            no_exception(page, log_path, "Korean after the runs ended")
            page.get_by_text(status_of("plain-20", "완료")).first.wait_for()
            choose(page, "가로축", "에폭")
            no_exception(page, log_path, "x-axis 'epochs' in Korean after the runs ended")
            checked(page.get_by_role("radio", name="에폭"))
            page.screenshot(path=str(OUTPUT / "degradation-ko.png"))
            page.get_by_text("English", exact=True).click()
            wait_for_app(page)
            checked(page.get_by_role("radio", name="epochs"))
            no_exception(page, log_path, "English again")

            # A lesion study on the ended runs: ResNet-20 beside its plain twin, to its end.
            go_to(page, "Lesion study")
            assert page.get_by_role("combobox", name="Residual net").input_value() == "ResNet-20"
            assert page.get_by_role("combobox", name="Compare with").input_value() == "plain-20"
            page.get_by_role("button", name="Run the lesion study").click()
            job = wait_until(lambda: store.latest_analysis("lesion", runs["run_id"]), timeout=60)
            assert job, "no lesion job was submitted"
            assert wait_until(lambda: store.get_analysis(job)["status"] not in ACTIVE_STATUSES, timeout=300)
            assert store.get_analysis(job)["status"] == "finished", store.get_analysis(job)
            both_nets = page.get_by_text(re.compile(r"ResNet-20: .*test error with every block.*plain-20: ", re.S))
            both_nets.wait_for(timeout=60_000)
            wait_for_app(page)
            assert page.get_by_role("heading", name="One block deleted at a time").is_visible()
            assert page.get_by_role("heading", name="k random blocks deleted").is_visible()
            no_exception(page, log_path, "the lesion study")
            page.screenshot(path=str(OUTPUT / "lesion.png"))

            # Another page, then back: the same nets and the finished result are shown again.
            go_to(page, "Degradation")
            assert page.get_by_role("heading", name="One block deleted at a time").count() == 0
            go_to(page, "Lesion study")
            both_nets.wait_for(timeout=60_000)
            assert page.get_by_role("heading", name="k random blocks deleted").is_visible()
            assert page.locator("[data-testid='stPlotlyChart'] .main-svg").count() >= 2
            assert page.get_by_role("combobox", name="Residual net").input_value() == "ResNet-20"
            assert page.get_by_role("combobox", name="Compare with").input_value() == "plain-20"
            no_exception(page, log_path, "back on the Lesion page")
            page.screenshot(path=str(OUTPUT / "lesion-again.png"))
        except Exception:
            page.screenshot(path=str(OUTPUT / "failed.png"))  # what the page showed when the test gave up
            raise
        finally:
            if store is not None:
                store.close()
            browser.close()
    assert (OUTPUT / "degradation-ended.png").stat().st_size > 10_000
