"""Security: data roots, the teacher passcode and lock, markdown-safe names, localhost binding.

Upload limits are proven where they are enforced: test_data.py (bytes and pixels checked before
decoding, decompression bomb, truncated and non-image files); the server-side cap is
``maxUploadSize`` in .streamlit/config.toml, checked here.
"""

from __future__ import annotations

import io
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


def test_roots_are_the_data_root_and_the_folders_the_teacher_names(tmp_path, monkeypatch):
    a, b, data = tmp_path / "a", tmp_path / "b", tmp_path / "data"
    for folder in (a, b, data):
        folder.mkdir()
    monkeypatch.setenv("RESNET_EDU_DATA", str(data))
    monkeypatch.setenv(security.DATA_ROOTS_ENV, os.pathsep.join([str(a), "", str(b), str(a)]))
    assert data_roots() == [data.resolve(), a.resolve(), b.resolve()]
    assert check_data_path(b) == b.resolve()
    monkeypatch.delenv(security.DATA_ROOTS_ENV)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_roots() == [data.resolve()]  # never the whole home folder
    with pytest.raises(ValueError, match="outside"):
        check_data_path(b)
    with pytest.raises(ValueError, match="outside"):
        check_data_path("~")


def test_a_data_folder_recorded_by_the_command_line_obeys_the_same_roots(root, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    assert security.check_recorded_root(None) is None and security.check_recorded_root(float("nan")) is None
    assert security.check_recorded_root(str(root / "photos")) == (root / "photos").resolve()
    for outside in (str(tmp_path / "elsewhere"), "/etc", f"{root}/../elsewhere"):
        with pytest.raises(ValueError, match="not one the app may read") as info:
            security.check_recorded_root(outside)
        assert "/" not in str(info.value)  # a student's message names no folder of the server


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


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _box(at: AppTest):
    return at.sidebar.text_input(key="teacher_passcode_entry")


def test_sidebar_passcode_box(monkeypatch):
    import ui

    clock = FakeClock()
    monkeypatch.setattr(ui, "_clock", clock)
    monkeypatch.delenv(security.PASSCODE_ENV, raising=False)
    at = AppTest.from_function(_sidebar_app, default_timeout=30).run()
    assert not at.exception, at.exception
    assert _state(at) == "UNLOCKED" and not at.sidebar.text_input  # no passcode: no box, everything open

    monkeypatch.setenv(security.PASSCODE_ENV, PASSCODE)
    at = AppTest.from_function(_sidebar_app, default_timeout=30).run()
    assert _state(at) == "LOCKED"
    _box(at).input("guess").run()
    assert _state(at) == "LOCKED" and any("Wrong passcode" in e.value for e in at.sidebar.error)
    assert _box(at).value == ""  # the typed text is not kept
    _box(at).input(PASSCODE).run()
    assert not at.exception, at.exception
    assert _state(at) == "UNLOCKED" and not at.sidebar.text_input
    at.sidebar.button(key="teacher_lock").click().run()
    assert _state(at) == "LOCKED"

    # Wrong passcodes count per address, whatever the tab: a script that opens a new session for
    # every few guesses gains nothing. After the free tries, even the right passcode must wait.
    for i in range(security.MAX_FAILED_ATTEMPTS + 1):
        tab = AppTest.from_function(_sidebar_app, default_timeout=30).run()
        _box(tab).input(f"guess {i}").run()
    fresh = AppTest.from_function(_sidebar_app, default_timeout=30).run()
    assert any("Too many wrong" in e.value for e in fresh.sidebar.error)
    _box(fresh).input(PASSCODE).run()
    assert _state(fresh) == "LOCKED"
    clock.now += security.LOCKOUT_SECONDS  # the wait is over
    _box(fresh).input(PASSCODE).run()
    assert _state(fresh) == "UNLOCKED"

    # An unlocked tab locks again after the time the teacher set.
    monkeypatch.setenv(security.UNLOCK_MINUTES_ENV, "30")
    clock.now += 29 * 60
    fresh.run()
    assert _state(fresh) == "UNLOCKED"
    clock.now += 60
    fresh.run()
    assert _state(fresh) == "LOCKED" and any("Locked again after 30 min" in i.value for i in fresh.sidebar.info)


def test_wrong_passcodes_from_one_address_wait_longer_and_longer():
    clock = FakeClock()
    guard = security.PasscodeGuard(clock=clock)
    student, teacher = "10.0.0.5", "10.0.0.9"
    outcomes = [guard.attempt(student, f"{i:04d}", PASSCODE) for i in range(security.MAX_FAILED_ATTEMPTS)]
    assert [a.outcome for a in outcomes] == ["wrong"] * security.MAX_FAILED_ATTEMPTS
    assert all(a.retry_in == 0 for a in outcomes)  # the free tries
    waits = []
    for _ in range(5):
        attempt = guard.attempt(student, "0000", PASSCODE)
        assert attempt.outcome == "wrong" and attempt.retry_in > 0
        waits.append(attempt.retry_in)
        assert guard.attempt(student, PASSCODE, PASSCODE).outcome == "refused"  # not even compared while waiting
        clock.now += attempt.retry_in
    assert waits == sorted(waits) and waits[-1] > waits[0]  # the wait grows
    assert guard.attempt(teacher, PASSCODE, PASSCODE).outcome == "unlocked"  # another address is not held up
    for _ in range(40):  # a script that keeps trying whenever it may
        clock.now += guard.retry_in(student)
        guard.attempt(student, "1234", PASSCODE)
    assert 0 < guard.retry_in(student) <= security.MAX_LOCKOUT_SECONDS
    clock.now += security.FORGET_FAILURES_SECONDS + 1  # an hour of quiet: the address starts afresh
    assert guard.attempt(student, PASSCODE, PASSCODE).outcome == "unlocked"


def test_the_scripted_attack_of_82_guesses_in_12_seconds_no_longer_finds_the_passcode():
    clock = FakeClock()
    guard = security.PasscodeGuard(clock=clock)
    guesses = [f"{i:04d}" for i in range(81)] + ["4321"]
    results = []
    for guess in guesses:  # 82 guesses, 0.14 s apart, as the students' script sent them
        results.append(guard.attempt("10.0.0.7", guess, "4321").outcome)
        clock.now += 0.144
    assert "unlocked" not in results
    assert results.count("wrong") <= security.MAX_FAILED_ATTEMPTS + 3  # the rest were refused unread


def test_many_addresses_together_make_the_class_wait_but_not_this_computer():
    clock = FakeClock()
    guard = security.PasscodeGuard(clock=clock)
    for i in range(security.CLASS_FREE_FAILURES + 1):  # one wrong try from each of many addresses
        assert guard.attempt(f"10.0.1.{i}", "guess", PASSCODE).outcome == "wrong"
    assert guard.attempt("10.0.2.1", PASSCODE, PASSCODE).outcome == "refused"  # a new address waits too
    assert guard.attempt(None, PASSCODE, PASSCODE).outcome == "unlocked"  # the teacher at the server's keyboard
    clock.now += security.MAX_CLASS_LOCKOUT_SECONDS
    assert guard.attempt("10.0.2.1", PASSCODE, PASSCODE).outcome == "unlocked"


def test_every_try_is_logged_with_time_address_and_outcome_never_the_guess(caplog):
    guard = security.PasscodeGuard(clock=FakeClock())
    with caplog.at_level("INFO", logger=security.__name__):
        for guess in ("first-guess", "second-guess", "third-guess", "fourth-guess", "fifth-guess"):
            guard.attempt("10.0.0.8", guess, PASSCODE)
        guard.attempt("10.0.0.9", PASSCODE, PASSCODE)
    lines = [r.getMessage() for r in caplog.records if r.name == security.__name__]
    assert len(lines) == 6 and all(r.created for r in caplog.records)
    assert sum("wrong from 10.0.0.8" in line for line in lines) == 4 and "refused from 10.0.0.8" in lines[4]
    assert "unlocked from 10.0.0.9" in lines[5]
    assert not any("guess" in line or PASSCODE in line for line in lines)


@pytest.mark.parametrize("text,minutes", [("", 120), ("45", 45), ("0", 120), ("soon", 120), ("nan", 120)])
def test_the_unlock_time_comes_from_the_environment(monkeypatch, text, minutes):
    monkeypatch.setenv(security.UNLOCK_MINUTES_ENV, text)
    assert security.unlock_seconds() == 60 * minutes


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


# ------------------------------------------------------------------ safe defaults


@pytest.fixture
def served_on_the_network():
    """The server as `streamlit run app.py --server.address 0.0.0.0` starts it (config.toml's hosts)."""
    from streamlit import config

    before = {name: config.get_option(name) for name in ("server.address", "server.allowedHosts")}
    config.set_option("server.address", "0.0.0.0")
    config.set_option("server.allowedHosts", ["localhost", "127.0.0.1", "::1"])
    yield config
    for name, value in before.items():
        config.set_option(name, value)


def _paper() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception, at.exception
    return at


def _open_server_errors(at: AppTest) -> list[str]:
    return [e.value for e in at.main.error if "open to the network" in e.value]


def test_a_server_open_to_the_network_without_a_passcode_warns_until_the_teacher_dismisses_it(
        served_on_the_network, monkeypatch):
    monkeypatch.delenv(security.PASSCODE_ENV, raising=False)
    teacher = _paper()
    assert _open_server_errors(teacher) and security.PASSCODE_ENV in _open_server_errors(teacher)[0]
    # Students' laptops cannot connect while only loopback names are allowed: the teacher is told how.
    assert any("--server.allowedHosts" in w.value for w in teacher.main.warning)
    teacher.button(key="open_server_dismiss").click().run()
    assert not teacher.exception, teacher.exception
    assert not _open_server_errors(teacher)
    assert _open_server_errors(_paper())  # dismissed in that tab only

    served_on_the_network.set_option("server.allowedHosts", ["localhost", "192.168.1.20"])
    monkeypatch.setenv(security.PASSCODE_ENV, PASSCODE)
    with_passcode = _paper()
    assert not _open_server_errors(with_passcode)
    assert not any("--server.allowedHosts" in w.value for w in with_passcode.main.warning)


def test_on_this_computer_only_nothing_warns(monkeypatch):
    monkeypatch.delenv(security.PASSCODE_ENV, raising=False)
    at = _paper()
    assert not _open_server_errors(at) and not [b for b in at.button if b.key == "open_server_dismiss"]


@pytest.mark.parametrize("address,loopback", [(None, True), ("localhost", True), ("127.0.0.1", True),
                                              ("127.8.9.1", True), ("::1", True), ("[::1]", True),
                                              ("0.0.0.0", False), ("192.168.1.20", False), ("::", False),
                                              ("teacher.local", False)])
def test_loopback_addresses(address, loopback):
    assert security.is_loopback(address) is loopback


def test_a_page_error_shows_students_an_id_and_logs_the_traceback(monkeypatch, caplog):
    from resnet_edu.app import run_picking

    def broken(store):
        raise OSError("/srv/teacher/secret/runs.sqlite is gone")

    monkeypatch.setattr(run_picking, "trained_runs", broken)
    monkeypatch.setenv(security.PASSCODE_ENV, PASSCODE)
    at = _paper()
    with caplog.at_level("ERROR", logger="resnet_lab.errors"):
        at.switch_page("app_pages/lesion.py").run()
    (shown,) = at.exception  # the student's: one sentence and an id
    assert "/srv/teacher" not in shown.value and "OSError" not in shown.value
    incident = shown.value.split("(error ")[1].split(")")[0]
    assert len(incident) == 8 and not shown.stack_trace
    logged = [r for r in caplog.records if r.name == "resnet_lab.errors"]
    assert logged and incident in logged[-1].getMessage() and "/srv/teacher" in str(logged[-1].exc_info[1])

    at.session_state["teacher_passcode"] = PASSCODE  # the teacher, unlocked, sees the details too
    at.run()
    assert any("/srv/teacher" in e.value for e in at.exception)
    assert any("Lesion" in title.value for title in at.title)  # the page drew up to the error; the app still runs


def test_csv_cells_cannot_start_a_spreadsheet_formula(store):
    import pandas as pd

    from resnet_edu.runs.export import csv_text

    frame = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2", "@SUM(A1)", "\tx", "\rx",
                                   "plain-56", "ResNet-20"],
                          "error": [-0.5, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]})
    text = csv_text(frame)
    rows = text.splitlines()
    names = pd.read_csv(io.StringIO(text))["name"].tolist()
    assert all(not str(n).startswith(("=", "+", "-", "@", "\t", "\r")) for n in names)
    assert names[-2:] == ["plain-56", "ResNet-20"]
    assert rows[1].endswith(",-0.5")  # numbers stay numbers
    assert frame["name"][0].startswith("=")  # the frame itself is left as it was


def test_features_reads_no_images_from_a_folder_the_command_line_recorded_outside_the_roots(tiny_runs, tiny_run_ids,
                                                                                         tmp_path, monkeypatch):
    from app_pages.features_sections import loading
    from resnet_edu.runs import RunStore

    outside = tmp_path / "teachers_photos"
    (outside / "train" / "cat").mkdir(parents=True)
    store = RunStore(tiny_runs)
    source = store.get_run(tiny_run_ids[0])
    config = {**source["config"], "dataset": "imagefolder", "data_root": str(outside)}  # train --data-root
    run_id = store.create_run("from-the-cli", config, status="finished")
    store.record_checkpoint(run_id, 1, store.latest_checkpoint(tiny_run_ids[0]))
    store.close()
    reads = []
    monkeypatch.setattr(loading, "load_images", lambda *args, **kwargs: reads.append(args))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = "en"
    at.session_state["feat_run"] = run_id
    at.run()
    at.switch_page("app_pages/features.py").run()
    assert not at.exception, at.exception
    assert reads == []
    (warning,) = [w.value for w in at.warning if "not one the app may read" in w.value]
    assert str(outside) not in warning


def test_messages_hide_server_paths_from_students_not_urls():
    text = ("No such file or directory: '/home/teacher/data/cifar-10-batches-py/data_batch_1'; get "
            "https://download.pytorch.org/models/resnet18-f37072fd.pth; C:\\Users\\t\\data\\x.png")
    hidden = security.hide_paths(text)
    assert "/home/teacher" not in hidden and "Users" not in hidden
    assert "…/data_batch_1" in hidden and "…/x.png" in hidden
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in hidden
    assert security.hide_paths("depth 56 is not 6n+2") == "depth 56 is not 6n+2"


def test_a_failed_runs_message_shows_students_no_server_path(monkeypatch):
    from ui import get_store

    monkeypatch.setenv(security.PASSCODE_ENV, PASSCODE)
    student = _lab()
    store = get_store()
    run_id = store.create_run("plain-56", {"depth": 56}, status="queued")
    store.set_status(run_id, "failed", "could not read /srv/teacher/secret/data_batch_1 (PermissionError)")
    student.run()
    assert not student.exception, student.exception
    shown = " ".join(e.value for e in student.error) + student.dataframe[0].value.to_csv()  # past runs
    assert "data_batch_1" in shown and "/srv/teacher" not in shown
    student.session_state["teacher_passcode"] = PASSCODE
    student.run()
    assert "/srv/teacher/secret/data_batch_1" in student.dataframe[0].value.to_csv()
