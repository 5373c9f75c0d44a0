"""Downloads without internet: archives made here, served by a local HTTP server on 127.0.0.1.

Every test builds its own tiny archive with the real layout (``imagenette2-160/train/<wnid>/*.JPEG``,
``cifar-10-batches-py/...``) and points a copy of the real archive description at it (its URL
and MD5): the code under test is the same code that fetches the real files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import tarfile
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from fakes import RecordingContext
from polling import wait_until

from resnet_edu.data import DataUnavailable, downloads, load_dataset
from resnet_edu.data.downloads import DownloadStopped, archives, fetch
from resnet_edu.data.imagenette import IMAGENETTE_CLASSES
from resnet_edu.engine import tasks


def _jpeg(seed: int) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def make_tgz(path: Path, files: dict[str, bytes]) -> str:
    """A .tgz holding ``files`` (name -> bytes); returns its MD5."""
    with tarfile.open(path, "w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return hashlib.md5(path.read_bytes()).hexdigest()


def imagenette_files(padding: int = 0) -> dict[str, bytes]:
    """Two classes of Imagenette's layout, 4 train + 2 val images each; ``padding`` random bytes make it large."""
    files = {}
    for c, wnid in enumerate(["n01440764", "n03028079"]):
        for i in range(4):
            files[f"imagenette2-160/train/{wnid}/{wnid}_{i}.JPEG"] = _jpeg(10 * c + i)
        for i in range(2):
            files[f"imagenette2-160/val/{wnid}/ILSVRC_{wnid}_{i}.JPEG"] = _jpeg(100 + 10 * c + i)
    if padding:
        files["imagenette2-160/noisy_imagenette.csv"] = np.random.default_rng(0).bytes(padding)
    return files


def leftovers(root: Path) -> list[str]:
    """Anything in the data root apart from archives, .part files and lock files."""
    return sorted(p.name for p in root.iterdir() if not p.name.endswith((".tgz", ".gz", ".part", ".lock")))


# --------------------------------------------------------------------------- a local server

class _Server:
    """Serves one file; can cut the first ``cut_first`` responses short and can ignore Range."""

    def __init__(self, content: bytes):
        self.content = content
        self.cut_first = 0
        self.honour_range = True
        self.ranges: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10

            def log_message(self, *args):  # keep pytest's output clean
                pass

            def do_GET(self):
                header = self.headers.get("Range")
                server.ranges.append(header)
                start = 0
                if header and server.honour_range:
                    start = int(header.split("=")[1].split("-")[0])
                    if start >= len(server.content):
                        self.send_response(416)
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(server.content) - 1}/{len(server.content)}")
                else:
                    self.send_response(200)
                body = server.content[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_first > 0:
                    server.cut_first -= 1
                    self.wfile.write(body[: len(body) * 2 // 5])  # then the connection closes early
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/imagenette2-160.tgz"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def served(tmp_path):
    """(server, archive description pointing at it) for a ~2.5 MB Imagenette-like archive."""
    source = tmp_path / "source.tgz"
    md5 = make_tgz(source, imagenette_files(padding=2_500_000))
    server = _Server(source.read_bytes())
    archive = dataclasses.replace(downloads.IMAGENETTE_160, url=server.url, md5=md5)
    yield server, archive
    server.close()


# --------------------------------------------------------------------------- facts

def test_urls_and_checksums_are_torchvisions():
    from torchvision.datasets import CIFAR10, Imagenette

    assert (downloads.CIFAR10.url, downloads.CIFAR10.md5, downloads.CIFAR10.filename) == \
        (CIFAR10.url, CIFAR10.tgz_md5, CIFAR10.filename)
    archives = getattr(Imagenette, "_ARCHIVES", None)
    if archives is None:
        pytest.skip("this torchvision keeps Imagenette's URLs elsewhere")
    assert archives["160px"] == (downloads.IMAGENETTE_160.url, downloads.IMAGENETTE_160.md5)
    assert archives["320px"] == (downloads.IMAGENETTE_320.url, downloads.IMAGENETTE_320.md5)
    names = {wnid: words[0] for wnid, words in Imagenette._WNID_TO_CLASS.items()}
    assert names == IMAGENETTE_CLASSES


def test_progress_line_has_bytes_speed_and_time_left():
    step = downloads.Progress("download", 42_000_000, 163_000_000, 3_100_000, 95.0)
    assert step.describe() == "Downloading: 42 / 163 MB, 3.1 MB/s, 1 min 35 s left"
    assert step.fraction == pytest.approx(42 / 163)


# --------------------------------------------------------------------------- offline

@pytest.mark.parametrize("name, filename", [("cifar10", "cifar-10-python.tar.gz"), ("imagenette", "imagenette2-160.tgz")])
def test_offline_gives_the_clear_message(tmp_path, monkeypatch, name, filename):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataUnavailable) as absent:
        load_dataset(name, root=tmp_path, download=False)
    with pytest.raises(DataUnavailable) as failed:
        load_dataset(name, root=tmp_path, download=True)
    for message in (str(absent.value), str(failed.value)):
        assert filename in message and str(tmp_path.resolve()) in message and "synthetic" in message
        assert "RESNET_EDU_DATA" in message
    assert "no network" in str(failed.value)
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------- archives placed by hand

def test_hand_placed_imagenette_archive_is_found_unpacked_and_loaded(tmp_path, monkeypatch):
    md5 = make_tgz(tmp_path / "imagenette2-160.tgz", imagenette_files())
    monkeypatch.setattr(archives, "IMAGENETTE_160", dataclasses.replace(downloads.IMAGENETTE_160, md5=md5))
    assert downloads.state(downloads.IMAGENETTE_160, tmp_path) == "archive"
    dataset = load_dataset("imagenette", root=tmp_path, image_size=32)
    assert dataset.name == "imagenette" and dataset.classes == ("tench", "church")
    assert (dataset.num_train, dataset.num_test, dataset.image_size) == (8, 4, 32)
    assert downloads.state(downloads.IMAGENETTE_160, tmp_path) == "ready"
    assert leftovers(tmp_path) == ["imagenette2-160"]  # no temporary folder left behind


def test_hand_placed_cifar_archive_is_unpacked_atomically(tmp_path, monkeypatch):
    files = {f"cifar-10-batches-py/{name}": name.encode() for name in downloads.CIFAR10.required}
    md5 = make_tgz(tmp_path / "cifar-10-python.tar.gz", files)
    archive = dataclasses.replace(downloads.CIFAR10, md5=md5)
    (tmp_path / "cifar-10-batches-py").mkdir()  # an incomplete folder left by an older unpacker
    (tmp_path / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"half")
    folder = downloads.prepare(archive, tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == sorted(downloads.CIFAR10.required)
    assert (folder / "data_batch_1").read_bytes() == b"data_batch_1"
    assert leftovers(tmp_path) == ["cifar-10-batches-py"]


def test_truncated_archive_is_a_clear_error_and_nothing_is_unpacked(tmp_path, monkeypatch):
    source = tmp_path / "full.tgz"
    md5 = make_tgz(source, imagenette_files())
    (tmp_path / "imagenette2-160.tgz").write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    source.unlink()
    archive = dataclasses.replace(downloads.IMAGENETTE_160, md5=md5)
    with pytest.raises(DataUnavailable, match="incomplete or corrupted"):
        downloads.prepare(archive, tmp_path)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("damage", ["truncated", "garbage", "outside"])
def test_damaged_archive_with_matching_checksum_leaves_nothing_half_unpacked(tmp_path, damage):
    path = tmp_path / "imagenette2-160.tgz"
    if damage == "garbage":
        path.write_bytes(b"this is not a tar file at all" * 100)
    elif damage == "outside":  # an entry outside imagenette2-160/ (a hostile or foreign archive)
        make_tgz(path, {**imagenette_files(), "../evil.txt": b"x"})
    else:  # the archive stops in the middle of a file: the unpack fails after writing some files
        make_tgz(path, imagenette_files())
        path.write_bytes(path.read_bytes()[: path.stat().st_size * 3 // 4])
    archive = dataclasses.replace(downloads.IMAGENETTE_160, md5=hashlib.md5(path.read_bytes()).hexdigest())
    with pytest.raises(DataUnavailable, match="unpacking .* failed") as failed:
        downloads.prepare(archive, tmp_path)
    assert "synthetic" in str(failed.value)
    assert leftovers(tmp_path) == []
    assert not (tmp_path.parent / "evil.txt").exists()


# --------------------------------------------------------------------------- downloads from a local server

def test_download_reports_progress_and_unpacks(tmp_path, served):
    server, archive = served
    steps = []
    folder = downloads.prepare(archive, tmp_path / "data", download=True, progress=steps.append)
    assert (folder / "train" / "n01440764").is_dir()
    downloading = [s for s in steps if s.phase == "download"]
    assert downloading and downloading[-1].done_bytes == downloading[-1].total_bytes == len(server.content)
    assert {s.phase for s in steps} >= {"download", "unpack"}
    assert server.ranges == [None]
    assert leftovers(tmp_path / "data") == ["imagenette2-160"]
    assert not list((tmp_path / "data").glob("*.part"))


def test_interrupted_download_resumes_where_it_stopped(tmp_path, served):
    server, archive = served
    root = tmp_path / "data"
    server.cut_first = 1
    with pytest.raises(DataUnavailable, match="next try continues"):
        downloads.download_archive(archive, root)
    part = root / "imagenette2-160.tgz.part"
    kept = part.stat().st_size
    assert 0 < kept < len(server.content)
    assert downloads.state(archive, root) == "partial"
    downloads.prepare(archive, root, download=True)
    assert server.ranges == [None, f"bytes={kept}-"]
    assert downloads.state(archive, root) == "ready" and not part.exists()


def test_a_server_that_cannot_resume_starts_over_cleanly(tmp_path, served):
    server, archive = served
    root = tmp_path / "data"
    root.mkdir()
    (root / "imagenette2-160.tgz.part").write_bytes(b"stale bytes of some older attempt")
    server.honour_range = False
    path = downloads.download_archive(archive, root)
    assert path.read_bytes() == server.content


def test_stop_keeps_the_part_file_and_the_next_try_resumes(tmp_path, served):
    server, archive = served
    root = tmp_path / "data"
    calls = []

    def stopped():
        calls.append(1)
        return len(calls) > 1  # after the first chunk

    with pytest.raises(DownloadStopped):
        downloads.download_archive(archive, root, stopped=stopped)
    kept = (root / "imagenette2-160.tgz.part").stat().st_size
    assert kept == downloads.CHUNK_BYTES
    downloads.download_archive(archive, root)
    assert server.ranges[-1] == f"bytes={kept}-"


def test_a_corrupted_download_is_deleted_with_a_clear_message(tmp_path, served):
    server, archive = served
    bad = dataclasses.replace(archive, md5="0" * 32)
    with pytest.raises(DataUnavailable, match="MD5 mismatch"):
        downloads.download_archive(bad, tmp_path / "data")
    assert not any((tmp_path / "data").glob("imagenette2-160.tgz*"))


# --------------------------------------------------------------------------- the analysis job

def test_download_job_fetches_into_the_data_root(tmp_path, served, monkeypatch):
    server, archive = served
    monkeypatch.setitem(downloads.ARCHIVES, "imagenette-160", archive)
    result = downloads.download_dataset_job(RecordingContext({"dataset": "imagenette-160"}))
    root = Path(os.environ["RESNET_EDU_DATA"])
    assert result == {"dataset": "imagenette-160", "folder": str(root / "imagenette2-160"), "state": "ready"}
    assert downloads.state(archive, root) == "ready"


def test_download_job_progress_and_stop(tmp_path, served, monkeypatch):
    server, archive = served
    monkeypatch.setitem(downloads.ARCHIVES, "imagenette-160", archive)
    monkeypatch.setattr(fetch, "REPORT_SECONDS", 0.0)  # report every downloaded chunk
    context = RecordingContext({"dataset": "imagenette-160"}, stop_after_reports=1)
    result = downloads.download_dataset_job(context)
    assert result["state"] == "stopped"
    assert context.published[0]["phase"] == "download" and context.published[0]["total_bytes"] == len(server.content)
    assert "MB" in context.reports[0][1] and 0 < context.reports[0][0] < 0.8


def test_download_job_through_the_job_manager_leaves_progress_and_result_in_the_store(tmp_path, served,
                                                                                      monkeypatch):
    from resnet_edu.engine import JobManager
    from resnet_edu.runs import ACTIVE_STATUSES, RunStore

    server, archive = served
    monkeypatch.setitem(downloads.ARCHIVES, "imagenette-160", archive)
    manager = JobManager(RunStore(tmp_path / "store"), device="cpu")
    try:
        job_id = manager.submit_analysis("download", {"dataset": "imagenette-160"})
        assert wait_until(lambda: manager.store.get_analysis(job_id)["status"] not in ACTIVE_STATUSES, 120)
        job = manager.store.get_analysis(job_id)
    finally:
        manager.shutdown()
    assert job["status"] == "finished" and job["fraction"] == 1.0, job
    assert job["result"] == {"dataset": "imagenette-160", "state": "ready",
                             "folder": str(Path(os.environ["RESNET_EDU_DATA"]) / "imagenette2-160")}
    assert downloads.state(archive) == "ready"


def test_download_job_refuses_unknown_keys_and_explains_offline(monkeypatch):
    with pytest.raises(ValueError, match="unknown data set"):
        downloads.download_dataset_job(RecordingContext({"dataset": "../../etc"}))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(ValueError, match="cifar-10-python.tar.gz .* on a machine with internet access"):
        downloads.download_dataset_job(RecordingContext({"dataset": "cifar10"}))


def test_pretrained_weights_job_offline_gives_the_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    import torch.hub

    monkeypatch.setattr(torch.hub, "urlopen", offline)  # torchvision's weights API downloads through torch.hub
    with pytest.raises(ValueError, match="ResNet-18 is not available: the download failed .*resnet18-f37072fd.pth"):
        tasks.download_job(RecordingContext({"weights": 18}))
    with pytest.raises(ValueError, match="choose one of 18, 34, 50"):
        tasks.download_job(RecordingContext({"weights": 19}))
    assert not any((tmp_path / "torch").rglob("*.pth"))


def test_cifar_messages_keep_their_words(tmp_path):
    message = str(downloads.unavailable(downloads.CIFAR10, tmp_path, "because."))
    assert message.startswith("CIFAR-10 is not available: because.") and "synthetic" in message
