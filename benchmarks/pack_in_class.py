"""A class pack opened in class: the time from "Open the pack" to its runs in the app, and what the
pages show on its trained nets, in a real browser.

    python -m resnet_edu train --preset fig1_fix --dataset imagefolder --data-root DIR --epochs 8 --json
    python -m resnet_edu runs pack --group GROUP -o fig1_fix.zip
    python benchmarks/pack_in_class.py fig1_fix.zip --data DIR --shots docs/screenshots

A fresh ``streamlit run app.py`` (its own empty runs folder; ``--data`` is added to the folders the
app may read, so the pages find the test images the runs were trained on; ``--server.maxUploadSize``
raised to the pack's size, as the Lab's note tells a teacher) is opened in headless
Chromium as the teacher on this computer. The Lab's "Open a class pack" takes the file; then the
Degradation page, the Gradients page (Fig. 7) and a lesion study of the pack's residual net beside
its plain twin are drawn, each screenshot saved in ``--shots``. Prints one JSON object: the pack's
size, seconds from the click to the app's "Opened" sentence, seconds for the lesion study, the
runs opened, exceptions seen (want 0). Asserts nothing. Needs Debian's Chromium and playwright.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_app(runs_dir: Path, data: Path | None, log_path: Path, upload_mb: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "RESNET_EDU_RUNS_DIR": str(runs_dir)}
    if data is not None:
        env["RESNET_EDU_DATA_ROOTS"] = os.pathsep.join(filter(None, [str(data), os.environ.get("RESNET_EDU_DATA_ROOTS")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.maxUploadSize", str(upload_mb)], cwd=REPO, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return process, url
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("streamlit did not start: " + log_path.read_text()[-2000:])


def _settled(page) -> None:
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=60_000)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=300_000)


def _exceptions(page) -> list[str]:
    shown = page.locator("[data-testid='stException']")
    return [shown.nth(i).inner_text()[:300] for i in range(shown.count())]


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pack", type=Path, help="a class pack (.zip) made by `runs pack`")
    parser.add_argument("--data", type=Path, default=None, help="the folder of the runs' images, if not the data root")
    parser.add_argument("--shots", type=Path, default=REPO / "test-output" / "pack-in-class", help="screenshots here")
    parser.add_argument("--lang", choices=("en", "ko"), default="en")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    args.shots.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="resnet-lab-pack-"))
    log_path = work / "server.log"
    # A pack is larger than the images students upload: the teacher starts the server with a larger
    # --server.maxUploadSize for it (what the Lab's pack note says), as here.
    upload_mb = max(10, args.pack.stat().st_size // 2**20 + 2)
    process, url = _start_app(work / "runs", args.data, log_path, upload_mb)
    result: dict = {"pack": str(args.pack), "pack_bytes": args.pack.stat().st_size,
                    "cpu": platform.processor() or platform.machine(), "errors": []}
    seen: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-dev-shm-usage"])
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(f"{url}/lab?lang={args.lang}")
            _settled(page)
            page.get_by_text("Open a class pack (teacher)").click()
            _settled(page)
            page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(args.pack))
            _settled(page)
            started = time.monotonic()
            page.get_by_role("button", name="Open the pack").click()
            opened = page.get_by_text(re.compile(r"^Opened \d+ run"))
            opened.wait_for(timeout=600_000)
            result["seconds_to_open"] = round(time.monotonic() - started, 2)
            result["opened"] = opened.first.inner_text()[:300]
            _settled(page)
            seen += _exceptions(page)
            page.screenshot(path=str(args.shots / "lab-pack-opened.png"))

            page.goto(f"{url}/degradation?lang={args.lang}")
            _settled(page)
            page.locator("[data-testid='stPlotlyChart'] .main-svg").first.wait_for(timeout=120_000)
            seen += _exceptions(page)
            page.screenshot(path=str(args.shots / "degradation.png"))

            page.goto(f"{url}/gradients?lang={args.lang}")
            _settled(page)
            page.locator("[data-testid='stPlotlyChart'] .main-svg").first.wait_for(timeout=120_000)
            seen += _exceptions(page)
            page.screenshot(path=str(args.shots / "gradients.png"))
            fig7 = page.get_by_role("heading", name="Layer responses (the paper's Fig. 7)")
            fig7.scroll_into_view_if_needed()
            page.wait_for_timeout(1500)  # the charts below it draw when scrolled into view
            page.screenshot(path=str(args.shots / "gradients-fig7.png"))

            page.goto(f"{url}/lesion?lang={args.lang}")
            _settled(page)
            result["lesion_nets"] = [page.get_by_role("combobox", name="Residual net").input_value(),
                                     page.get_by_role("combobox", name="Compare with").input_value()]
            started = time.monotonic()
            page.get_by_role("button", name="Run the lesion study").click()
            residual, twin = (re.escape(name) for name in result["lesion_nets"])
            both = re.compile(rf"{residual}: [\d.]+% test error with every block.*{twin}: [\d.]+% test error", re.S)
            page.get_by_text(both).first.wait_for(timeout=900_000)
            result["lesion_seconds"] = round(time.monotonic() - started, 1)
            _settled(page)
            seen += _exceptions(page)
            page.screenshot(path=str(args.shots / "lesion.png"))
            browser.close()
    except Exception as error:  # noqa: BLE001 - reported in the JSON
        result["errors"].append(f"{type(error).__name__}: {str(error)[:500]}")
    finally:
        process.terminate()
        process.wait(timeout=30)
    server_log = log_path.read_text()
    result["exceptions"] = seen
    result["server_tracebacks"] = server_log.count("Traceback (most recent call last)")
    result["shots"] = sorted(str(p) for p in args.shots.glob("*.png"))
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
