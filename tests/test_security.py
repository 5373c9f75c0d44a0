"""Security: data roots, the teacher passcode and lock, markdown-safe names, localhost binding.

Upload limits are proven where they are enforced: test_data.py (bytes and pixels checked before
decoding, decompression bomb, truncated and non-image files); the server-side cap is
``maxUploadSize`` in .streamlit/config.toml, checked here.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from resnet_edu.app import security
from resnet_edu.app.security import check_data_path, data_roots, passcode_matches

REPO = Path(__file__).resolve().parents[1]

APP = str(REPO / "app.py")
PASSCODE = "correct horse 🐴 battery"


@pytest.fixture
def root(tmp_path, monkeypatch):
    allowed = tmp_path / "allowed"
    (allowed / "photos").mkdir(parents=True)
    monkeypatch.setenv(security.DATA_ROOTS_ENV, str(allowed))
    return allowed


# ------------------------------------------------------------------ data paths


def test_a_folder_inside_a_root_is_allowed_and_resolved(root, monkeypatch):
    assert check_data_path(str(root / "photos")) == (root / "photos").resolve()
    assert check_data_path(root) == root.resolve()
    unicode = root / "사진 🍎 ünï"
    unicode.mkdir()
    assert check_data_path(f"  {unicode}  ") == unicode.resolve()
    # relative to the app's folder, and "~"
    monkeypatch.chdir(root)
    assert check_data_path("photos") == (root / "photos").resolve()
    monkeypatch.setenv("HOME", str(root))
    assert check_data_path("~/photos") == (root / "photos").resolve()
    # a folder that does not exist yet (where CIFAR-10 will go) only with must_exist=False
    assert check_data_path(root / "cifar", must_exist=False) == (root / "cifar").resolve()
    with pytest.raises(ValueError, match="does not exist"):
        check_data_path(root / "cifar")


@pytest.mark.parametrize("path,message", [
    ("", "enter a data folder"),
    ("   ", "enter a data folder"),
    ("photos\x00/x", "control characters"),
    ("a" * 1001, "at most 1000"),
], ids=["empty", "blank", "nul", "long"])
def test_malformed_paths_are_refused(root, path, message):
    with pytest.raises(ValueError, match=message):
        check_data_path(path)


def test_traversal_outside_and_files_are_refused(root, tmp_path):
    (tmp_path / "secret").mkdir()
    with pytest.raises(ValueError, match="'\\.\\.'"):
        check_data_path(f"{root}/photos/../../secret")
    with pytest.raises(ValueError, match="'\\.\\.'"):
        check_data_path(f"{root}/photos/..")  # even when it would stay inside
    with pytest.raises(ValueError, match="'\\.\\.'"):
        check_data_path("..\\..\\windows")
    for outside in ("/", "/etc", str(tmp_path / "secret"), "/proc/self"):
        with pytest.raises(ValueError, match="outside the allowed data folders"):
            check_data_path(outside)
    a_file = root / "photos" / "cat.jpg"
    a_file.write_bytes(b"\xff\xd8")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        check_data_path(a_file)
    with pytest.raises(ValueError, match="is a file"):
        check_data_path(a_file, must_exist=False)


def test_a_symlink_out_of_a_root_is_outside(root, tmp_path):
    (tmp_path / "secret").mkdir()
    (root / "shortcut").symlink_to(tmp_path / "secret", target_is_directory=True)
    with pytest.raises(ValueError, match="outside"):
        check_data_path(root / "shortcut")
    # and a root that is itself reached through a link is fine
    (tmp_path / "link-to-allowed").symlink_to(root, target_is_directory=True)
    assert check_data_path(tmp_path / "link-to-allowed" / "photos") == (root / "photos").resolve()


def test_outside_paths_get_the_same_words_whether_or_not_they_exist(root, tmp_path):
    (tmp_path / "exists").mkdir()
    words = []
    for name in ("exists", "missing"):
        with pytest.raises(ValueError) as info:
            check_data_path(tmp_path / name)
        words.append(str(info.value).replace(name, "X"))
    assert words[0] == words[1]


def test_roots_from_the_environment_and_the_defaults(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    monkeypatch.setenv(security.DATA_ROOTS_ENV, os.pathsep.join([str(a), "", str(b), str(a)]))
    assert data_roots() == [a.resolve(), b.resolve()]
    assert check_data_path(b) == b.resolve()
    monkeypatch.delenv(security.DATA_ROOTS_ENV)
    monkeypatch.setenv("RESNET_EDU_DATA", str(a))
    monkeypatch.setenv("HOME", str(b))
    assert data_roots() == [a.resolve(), b.resolve()]
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(ValueError, match="outside"):
        check_data_path(b)


# ------------------------------------------------------------------ the passcode


def test_passcode_is_compared_in_constant_time(monkeypatch):
    calls = []
    real = security.hmac.compare_digest

    def spy(x, y):
        calls.append((x, y))
        return real(x, y)

    monkeypatch.setattr(security.hmac, "compare_digest", spy)
    monkeypatch.setenv(security.PASSCODE_ENV, PASSCODE)
    assert security.teacher_lock_enabled()
    assert passcode_matches(PASSCODE)
    assert not passcode_matches(PASSCODE + " ")
    assert not passcode_matches("")
    assert not passcode_matches(None) and not passcode_matches(123)
    assert len(calls) == 3 and all(isinstance(x, bytes) for pair in calls for x in pair)
    monkeypatch.delenv(security.PASSCODE_ENV)
    assert not security.teacher_lock_enabled()
    assert not passcode_matches("")  # nothing configured: there is nothing to unlock


def _sidebar_app():
    import streamlit as st

    from ui import teacher_sidebar, teacher_unlocked

    with st.sidebar:
        teacher_sidebar()
    st.markdown("UNLOCKED" if teacher_unlocked() else "LOCKED")


def _state(at: AppTest) -> str:
    return [m.value for m in at.markdown if m.value in ("LOCKED", "UNLOCKED")][0]


def test_sidebar_passcode_box(monkeypatch):
    monkeypatch.delenv(security.PASSCODE_ENV, raising=False)
    at = AppTest.from_function(_sidebar_app, default_timeout=30).run()
    assert not at.exception, at.exception
    assert _state(at) == "UNLOCKED" and not at.sidebar.text_input  # no passcode: no box, everything open

    monkeypatch.setenv(security.PASSCODE_ENV, PASSCODE)
    at = AppTest.from_function(_sidebar_app, default_timeout=30).run()
    assert _state(at) == "LOCKED"
    box = at.sidebar.text_input(key="teacher_passcode_entry")
    box.input("guess").run()
    assert _state(at) == "LOCKED" and any("Wrong passcode" in e.value for e in at.sidebar.error)
    assert at.sidebar.text_input(key="teacher_passcode_entry").value == ""  # the typed text is not kept
    at.sidebar.text_input(key="teacher_passcode_entry").input(PASSCODE).run()
    assert not at.exception, at.exception
    assert _state(at) == "UNLOCKED" and not at.sidebar.text_input
    at.sidebar.button(key="teacher_lock").click().run()
    assert _state(at) == "LOCKED"

    # Five wrong tries lock this tab out for a while, even for the right passcode.
    for i in range(security.MAX_FAILED_ATTEMPTS):
        at.sidebar.text_input(key="teacher_passcode_entry").input(f"guess {i}").run()
    assert any("Too many wrong" in e.value for e in at.sidebar.error)
    at.sidebar.text_input(key="teacher_passcode_entry").input(PASSCODE).run()
    assert _state(at) == "LOCKED"
    at.session_state["_teacher_wait_until"] = 0.0  # the wait is over
    at.sidebar.text_input(key="teacher_passcode_entry").input(PASSCODE).run()
    assert _state(at) == "UNLOCKED"


def test_md_escape_keeps_names_as_text():
    from ui import md_escape

    escaped = md_escape("![x](http://example.invalid/x.png) <b>hi</b> **bold** :red[x] $x$ `code`\nnext")
    for raw in ("![", "](", "<b>", "**", ":red[", "$x$", "`code`", "\n"):
        assert raw not in escaped
    assert md_escape("plain-56 · ResNet-110") == "plain-56 · ResNet-110"


# ------------------------------------------------------------------ the Lab's teacher-only controls


@pytest.fixture
def held_data(monkeypatch):
    """Submitted runs stay 'queued' (their data set is still 'loading') until the test lets go: no CPU spent."""
    from resnet_edu import data as data_module
    from resnet_edu.data import loaded
    gate = threading.Event()
    tiny = data_module.ImageDataset(
        name="tiny", train_images=torch.zeros(200, 3, 32, 32, dtype=torch.uint8),
        train_labels=torch.arange(200) % 10, test_images=torch.zeros(10, 3, 32, 32, dtype=torch.uint8),
        test_labels=torch.arange(10), classes=tuple("abcdefghij"), mean=(0.5,) * 3, std=(0.25,) * 3)

    def loading(name, **kwargs):
        gate.wait(120)
        return tiny

    monkeypatch.setattr(data_module, "load_dataset", loading)
    monkeypatch.setattr(loaded, "_datasets", {})
    yield gate
    gate.set()


def _lab() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = "en"
    at.run()
    at.switch_page("app_pages/lab.py").run()
    assert not at.exception, at.exception
    return at


def test_teacher_only_controls_are_locked_by_the_passcode(held_data, monkeypatch, tmp_path):
    from ui import get_manager

    monkeypatch.setenv(security.PASSCODE_ENV, PASSCODE)
    monkeypatch.setenv(security.DATA_ROOTS_ENV, str(tmp_path))
    student = _lab()
    student.button(key="lab_start").click().run()  # plain and residual 20 and 56: four queued runs
    assert not student.exception, student.exception
    manager = get_manager()
    ids = list(manager.store.list_runs()["run_id"])
    assert len(ids) == 4 and all(manager.is_active(r) for r in ids)

    # A student may stop the runs this tab started, nothing else; data folders are the teacher's.
    assert not any(student.button(key=f"lab_stop_{r}").disabled for r in ids)
    assert student.button(key="lab_stop_all").disabled
    student.selectbox(key="lab_dataset").set_value("imagefolder").run()
    assert student.text_input(key="lab_data_root_folder").disabled
    assert any("Only the teacher" in e.value for e in student.error)
    assert student.button(key="lab_start").disabled
    student.selectbox(key="lab_dataset").set_value("cifar10").run()
    assert student.text_input(key="lab_data_root_cifar").disabled
    student.selectbox(key="lab_dataset").set_value("synthetic").run()

    other = _lab()  # another student's tab
    assert all(other.button(key=f"lab_stop_{r}").disabled for r in ids)
    assert other.button(key="lab_stop_all").disabled

    student.button(key=f"lab_stop_{ids[0]}").click().run()  # their own run
    assert not student.exception, student.exception

    teacher = _lab()
    teacher.session_state["teacher_passcode"] = PASSCODE  # what the sidebar box stores once the passcode is right
    teacher.run()
    assert not any(teacher.button(key=f"lab_stop_{r}").disabled for r in ids)
    assert not teacher.button(key="lab_stop_all").disabled
    teacher.selectbox(key="lab_dataset").set_value("imagefolder").run()
    assert not teacher.text_input(key="lab_data_root_folder").disabled
    teacher.selectbox(key="lab_dataset").set_value("synthetic").run()
    teacher.button(key="lab_stop_all").click().run()
    held_data.set()
    assert manager.wait(ids, timeout=60)
    assert {manager.store.get_run(r)["status"] for r in ids} == {"stopped"}

    # Deleting runs: the teacher only, after ticking the confirmation.
    teacher.run()
    assert not teacher.exception, teacher.exception
    teacher.multiselect(key="lab_delete_pick").set_value([ids[0]]).run()
    assert teacher.button(key="lab_delete").disabled  # not confirmed yet
    teacher.checkbox(key="lab_delete_sure").check().run()
    teacher.button(key="lab_delete").click().run()
    assert not teacher.exception, teacher.exception
    assert not manager.store.has_run(ids[0]) and all(manager.store.has_run(r) for r in ids[1:])
    other.run()
    assert not other.exception, other.exception
    assert other.button(key="lab_delete").disabled and other.multiselect(key="lab_delete_pick").disabled


@pytest.mark.slow
def test_without_a_passcode_everything_is_open(held_data, monkeypatch):
    from ui import get_manager

    monkeypatch.delenv(security.PASSCODE_ENV, raising=False)
    first, second = _lab(), _lab()
    first.button(key="lab_start").click().run()
    ids = list(get_manager().store.list_runs()["run_id"])
    second.run()
    assert not any(second.button(key=f"lab_stop_{r}").disabled for r in ids)
    assert not second.button(key="lab_stop_all").disabled
    second.button(key="lab_stop_all").click().run()
    held_data.set()
    assert get_manager().wait(ids, timeout=60)


# ------------------------------------------------------------------ the server


def test_config_binds_to_localhost_and_caps_uploads():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "localhost"
    assert config["server"]["maxUploadSize"] <= 10
    assert config["browser"]["gatherUsageStats"] is False
    assert "--server.address 0.0.0.0" in (REPO / "docs" / "RELIABILITY.md").read_text()


def _listening(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net shows them) listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.add(address)
    return found


LOOPBACK = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc/net/tcp")
@pytest.mark.parametrize("extra,loopback_only", [([], True), (["--server.address", "0.0.0.0"], False)])
def test_the_server_listens_on_localhost_unless_the_teacher_opts_in(tmp_path, extra, loopback_only):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "RESNET_EDU_RUNS_DIR": str(tmp_path / "runs")}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", *extra],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, "the server exited"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as reply:
                    if reply.read() == b"ok":
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.2)
        addresses = _listening(port)
        assert addresses, "found no listening socket"
        if loopback_only:
            assert addresses <= LOOPBACK, addresses
        else:
            assert addresses - LOOPBACK, addresses
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # our own process group (start_new_session)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
