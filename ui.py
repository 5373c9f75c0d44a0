"""Streamlit helpers shared by app.py and every page (the library, resnet_edu/, has none).

* ``t(en, ko)`` picks the text of the language chosen in the sidebar: short labels are written
  in both languages side by side where they are used; a page's longer prose lives in
  app_pages/text/<page>.py as ``dict(en=..., ko=...)`` entries, drawn with ``t(**entry)``.
* ``get_manager()`` is the one process-wide JobManager (and through it the RunStore):
  every tab and every page sees the same runs.
* Classroom access: the teacher passcode box (``teacher_sidebar``), ``teacher_unlocked()``, one
  identity per tab (``tab_key``), ``may_act_on(run or job id)`` and ``claim(ids)`` (who started what),
  ``submit_job`` (an analysis job through the caps on waiting jobs, claimed by its tab), the warnings a teacher
  sees when the server is open to the network, and ``report_error`` (a short message and an id
  for students, the traceback in the server log).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import secrets
import sys
import threading
import time

import streamlit as st

from resnet_edu.app import security
from resnet_edu.words import markdown_safe, message_words, pick

LANGUAGES = {"en": "English", "ko": "한국어"}
PLOT_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}  # every page's charts
DEFAULT_LANGUAGE = os.environ.get("RESNET_EDU_LANG", "en") if os.environ.get("RESNET_EDU_LANG") in LANGUAGES else "en"


def language() -> str:
    """The language of this tab: the sidebar switch, else ?lang=ko in the URL, else the default."""
    chosen = st.session_state.get("lang")  # one look-up: t() asks this for every string of a page
    if chosen is None:
        from_url = st.query_params.get("lang")
        chosen = st.session_state["lang"] = from_url if from_url in LANGUAGES else DEFAULT_LANGUAGE
    return chosen


def resend_choices() -> None:
    """After a language switch: send every choice shown in words again, so it stays visibly chosen.

    A radio, select box or multiselect whose options are shown through ``t`` (``format_func``)
    tells the browser its choice as the words of the old language; once those words change, the
    browser finds no option with them and shows nothing chosen. Setting each value again (the
    same value) makes Streamlit send the choice in the new words. Only text values and lists of
    them are set again: the app's choices in words are keyed by text ("plain", "paper", a run
    id), while numbers and True/False are shown as themselves. Setting those too would give a
    number box with a default (``value=3``) a value through the Session State API, which
    Streamlit logs as a warning on every switch.
    """
    def text(value) -> bool:
        return isinstance(value, str)

    for key in list(st.session_state):
        value = st.session_state[key]
        if key != "lang" and (text(value) or isinstance(value, list) and value and all(map(text, value))):
            st.session_state[key] = value


def t(en: str, ko: str) -> str:
    """The English or Korean text, whichever this tab reads (the library's picker, for pages)."""
    return pick(language(), en, ko)


def md_escape(text: object) -> str:
    """Text (e.g. a run name) safe inside st.markdown: no links, images, HTML, :directives: or $math$."""
    return markdown_safe(text)


def send_to_lab(en: str, ko: str) -> None:
    """A page with nothing to show yet: say why (in the reader's language) and link to the Lab."""
    st.info(t(en, ko), icon="🧪")
    st.page_link("app_pages/lab.py", label=t("Open the Lab →", "실험실 열기 →"), icon="🧪")


def run_and_twin_ui(table, with_checkpoint, options: list[str], key: str, run_label: str, other_label: str,
                    run_help: str | None = None, other_help: str | None = None,
                    propose=None) -> tuple[str | None, str | None]:
    """Pick a trained run, and a second run beside it: its plain/residual twin is proposed.

    The select boxes show run names (a shared name gets its start time, never the run's id or
    status), so they keep their choice while runs end, fail or are deleted. The choice is kept
    for the tab in plain session-state keys (``_{key}_kept``): Streamlit forgets a widget's
    value when another page is shown, and a student coming back finds the nets as they left them.

    Args:
        table: every run (run_picking.run_table), where the twin is looked for.
        with_checkpoint: the rows of ``table`` that have a checkpoint: the runs that can be picked.
        options: the run ids offered first, in their order (e.g. residual runs with a twin first).
        key: the page's prefix of the widget keys (``{key}_run``, ``{key}_other``).
        run_label, other_label, run_help, other_help: the two select boxes' labels and help texts.
        propose: ``propose(run_id)`` -> the run to propose beside it (default: its plain/residual twin).

    Returns:
        (run id, the other run's id or None for "none").
    """
    from resnet_edu.app import run_picking
    labels = dict(zip(with_checkpoint["run_id"], with_checkpoint["name"]))
    run_key, other_key, kept_key, twin_key = f"{key}_run", f"{key}_other", f"_{key}_kept", f"{key}_twin_for"
    if not options:
        return None, None
    kept = st.session_state.get(kept_key) or {}
    if st.session_state.get(run_key) not in options:  # forgotten on a page change, or its run was deleted
        st.session_state[run_key] = kept.get("run") if kept.get("run") in options else options[0]
    left, right = st.columns(2)
    with left:
        run_id = st.selectbox(run_label, options, format_func=lambda r: labels.get(r, str(r)), key=run_key,
                              help=run_help, placeholder=t("Choose a run", "실행을 고르세요"))
    if run_id not in options:  # the browser named a run deleted since it drew the box
        run_id = options[0]
    twin = propose(run_id) if propose is not None else run_picking.twin_of(table, run_id, with_checkpoint)
    others = [None] + [r for r in with_checkpoint["run_id"] if r != run_id]
    other_labels = {None: t("— none —", "— 없음 —"), **labels}
    if other_key not in st.session_state and kept.get("run") == run_id and kept.get("other") in others:
        st.session_state[other_key] = kept["other"]  # back from another page: the net it had beside it
    elif st.session_state.get(twin_key) != run_id or st.session_state.get(other_key, "gone") not in others:
        st.session_state[other_key] = twin  # a new run (or a choice that is gone): propose its twin
    st.session_state[twin_key] = run_id
    with right:
        other = st.selectbox(other_label, others, format_func=lambda r: other_labels.get(r, str(r)), key=other_key,
                             help=other_help, placeholder=t("Choose a run to compare", "비교할 실행을 고르세요"))
    if other not in others:
        other = twin
    st.session_state[kept_key] = {"run": run_id, "other": other}
    return run_id, other


def live_analysis_job(job_id: str, draw, every: float = 1.5) -> None:
    """Draw a stored analysis job with ``draw(job)``, again every ``every`` s while it is queued or
    running, and once more when it ends (then polling stops)."""
    from resnet_edu.runs import ACTIVE_STATUSES

    store = get_store()
    first = store.get_analysis(job_id)
    running = first is not None and first["status"] in ACTIVE_STATUSES

    @st.fragment(run_every=every if running else None)
    def live() -> None:
        job = store.get_analysis(job_id)
        if job is None:
            return
        if running and job["status"] not in ACTIVE_STATUSES:
            st.rerun()  # it ended: draw the page once more, without polling
        draw(job)

    live()


def _shutdown(manager) -> None:
    manager.shutdown()


@st.cache_resource(show_spinner=False, on_release=_shutdown)
def get_manager():
    """The JobManager shared by every session of this server process (queue, store, training process)."""
    from resnet_edu.engine import JobManager

    manager = JobManager(isolation="process")  # training in its own process: tabs cannot slow it
    import atexit

    atexit.register(manager.shutdown)
    return manager


def prepare_data(dataset: str = "synthetic", data_root: str | None = None, image_size: int = 32) -> None:
    """Let the training process load a data set before the click that needs it (once per process).

    RESNET_EDU_PREPARE=0 turns it off (the tests do: each would otherwise start a training process).
    """
    if os.environ.get("RESNET_EDU_PREPARE", "1") != "0":
        get_manager().prepare(dataset, data_root, image_size)


def get_store():
    """The RunStore of the shared JobManager."""
    return get_manager().store


# Server-wide helpers of the Degradation page. Here, not in the page, because a page's module
# runs again on every re-run, and each @st.cache_resource there would be set up again each time.
def _page_cpu_cores() -> float:
    """RESNET_EDU_PAGE_CPU_CORES, else a tenth of the machine's cores (at least 0.2)."""
    default = max(0.2, 0.1 * (os.cpu_count() or 2))
    text = os.environ.get("RESNET_EDU_PAGE_CPU_CORES", "").strip()
    try:
        value = float(text) if text else default
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        logging.getLogger(__name__).warning(
            "RESNET_EDU_PAGE_CPU_CORES=%r is not a positive number of cores: using %.2f", text, default)
        return default
    return value


PAGE_CPU_CORES = _page_cpu_cores()


@st.cache_resource(show_spinner=False)
def _drawing_lock() -> threading.RLock:
    return threading.RLock()


@st.cache_resource(show_spinner=False)
def page_cpu_budget():
    """How much CPU page drawing may take from training (see resnet_edu/app/live_view.py, CpuBudget)."""
    from resnet_edu.app.live_view import CpuBudget

    return CpuBudget(cores=PAGE_CPU_CORES)


_turn = threading.local()


@contextlib.contextmanager
def drawing_turn(runs_train: bool, timed: bool = True):
    """One tab at a time draws a live panel; while runs train, a *timed* redraw (a
    fragment's ``run_every`` tick) also waits until the server is under its CPU budget
    (PAGE_CPU_CORES: 0.2 of a core on a 2-core laptop; set RESNET_EDU_PAGE_CPU_CORES to change it).
    On a laptop 30 tabs redrawing every 2 s would take the CPU (and Python's GIL) from training;
    paced, the class sees curves a little later. A redraw someone asked for (``timed=False``:
    a click, opening the page) never waits: the teacher who just pressed Start and opened the
    page sees it at once. Reentrant: a page run holds the turn while its fragment draws inside it.
    """
    with _drawing_lock():
        outermost = not getattr(_turn, "held", False)
        if outermost and timed and runs_train:
            page_cpu_budget().wait()
        _turn.held = True
        try:
            yield
        finally:
            if outermost:
                _turn.held = False


def fragment_rerun() -> bool:
    """True while only a fragment runs (its ``run_every`` timer or a widget inside it), not the whole page."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


def paced_redraw(runs_train: bool):
    """The turn a live panel's timed redraw takes while runs train (:func:`drawing_turn`): every page's
    polling panels (the sidebar's progress, the Lab's queue, the Gradients charts, downloads) wait for
    the server's CPU budget as the Degradation page does, so 30 open tabs do not slow the training the
    class is watching. The first draw of a page (a click, opening it) never waits."""
    return drawing_turn(runs_train=runs_train, timed=fragment_rerun())


@st.cache_resource(show_spinner=False)
def shared_views(store_root: str):
    """The Degradation page's content for every session of this server: built once per change,
    shared (see resnet_edu/app/live_view.py)."""
    from resnet_edu.app.live_view import SharedViews

    return SharedViews()


# ---------------------------------------------------------------- classroom access

def _log_to_the_server() -> None:
    """Passcode tries and page errors go to the server's log (stderr) with their time, at INFO and above."""
    for name in (security.__name__, "resnet_lab.errors"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)


_log_to_the_server()
_clock = time.monotonic  # the passcode's waits and the re-lock read this clock (tests pass a fake one)


@st.cache_resource(show_spinner=False)
def passcode_guard() -> security.PasscodeGuard:
    """Wrong passcodes of every tab of this server, per client address (resnet_edu/app/security.py)."""
    return security.PasscodeGuard(clock=lambda: _clock())


@st.cache_resource(show_spinner=False)
def owners() -> security.Owners:
    """Who started which run or analysis job, for every tab of this server."""
    return security.Owners()


def tab_key() -> str:
    """This browser tab's identity: a random key kept in its session (it survives reruns and page changes;
    a reload is a new tab). Who started which run or job (``owners()``) and the per-tab caps on queued
    runs, jobs and upload bytes (resnet_edu.engine.admission, resnet_edu.data.uploads) count against it."""
    key = st.session_state.get("_tab_key")
    if not key:
        key = st.session_state["_tab_key"] = secrets.token_urlsafe(16)
    return key


def submit_job(kind: str, params: dict, run_ids=()) -> str:
    """Queue an analysis job for this tab and return its id: it passes the server's and this tab's caps
    on waiting jobs first (``admission.NotAdmitted``, nothing queued), then counts against this tab
    and is claimed by it (its Stop is this tab's, or the teacher's)."""
    from resnet_edu.engine import admission

    with admission.in_session(tab_key()):
        job_id = get_manager().submit_analysis(kind, params, run_ids=list(run_ids))
        admission.remember(job_ids=[job_id])
    claim([job_id])
    return job_id


def refusal_words(error: BaseException) -> str:
    """Why something could not start, in this tab's language: an admission refusal's own sentence,
    else the library's message (in Korean where words.message_words knows it)."""
    from resnet_edu.engine import admission

    if isinstance(error, admission.NotAdmitted):
        return error.in_language(language())
    return message_words(str(error), language())


def client_address() -> str | None:
    """The address this tab connects from (None: this computer)."""
    try:
        address = st.context.ip_address
    except Exception:  # outside a session (a bare script run): treat as this computer
        return None
    return address if isinstance(address, str) else None  # Streamlit: None for localhost


def claim(ids) -> None:
    """Note runs or analysis jobs this tab started (or resumed): its student may stop or switch them."""
    owners().claim(tab_key(), [i for i in ids if i])


def may_act_on(item: str) -> bool:
    """The teacher (or anyone, with no passcode set) may act on any run or job; a student on their own."""
    return teacher_unlocked() or owners().owns(tab_key(), item)


def _stop_job(job_id: str) -> None:
    """on_click of an analysis job's Stop: checked again here, not only by the button's disabled state."""
    if may_act_on(job_id):
        get_manager().stop_analysis(job_id)


def stop_job_button(container, job_id: str, key: str) -> None:
    """Stop for a lesion, landscape or other analysis job: its tab's or the teacher's to press."""
    allowed = may_act_on(job_id)
    container.button(t("Stop", "중지"), key=key, icon="⏹️", on_click=_stop_job, args=(job_id,), disabled=not allowed,
                     help=None if allowed else t("Only the teacher, or the tab that started it, can stop this.",
                                                 "교사나 이것을 시작한 탭만 멈출 수 있습니다."))


def may_see_details() -> bool:
    """The unlocked teacher, or anyone on the server's own computer when no passcode is set."""
    return teacher_unlocked() and (security.teacher_lock_enabled() or security.is_loopback(client_address()))


def without_paths(message: object) -> str:
    """A stored message (a failed run's or job's) as this tab may read it: server paths cut to
    their last part for students; whole for the teacher (``may_see_details``)."""
    text = "" if message is None else str(message)
    return text if may_see_details() else security.hide_paths(text)


def teacher_unlocked() -> bool:
    """True when no passcode is configured, or this tab entered the right one less than
    $RESNET_EDU_TEACHER_UNLOCK_MINUTES ago (then it locks again by itself).

    Teacher-only controls (Stop all, stopping other people's runs, deleting runs, custom data
    folders) ask this; see resnet_edu/app/security.py and docs/RELIABILITY.md.
    """
    passcode = security.teacher_passcode()
    if not passcode:
        return True
    if not security.passcode_matches(st.session_state.get("teacher_passcode"), passcode):
        return False
    now = _clock()
    unlocked_at = st.session_state.setdefault("_teacher_unlocked_at", now)
    if now - unlocked_at < security.unlock_seconds():
        return True
    _lock_again()
    st.session_state["_teacher_note"] = "expired"
    return False


TEACHER_ENTRY_KEY = "teacher_passcode_entry"


def _try_passcode() -> None:
    """on_change of the passcode box: one try through the server's PasscodeGuard; the box is cleared."""
    entered = st.session_state.get(TEACHER_ENTRY_KEY) or ""
    st.session_state[TEACHER_ENTRY_KEY] = ""  # never keep the typed text in the widget
    if not entered:
        return
    attempt = passcode_guard().attempt(client_address(), entered)
    if attempt.outcome == "unlocked":
        st.session_state["teacher_passcode"] = entered
        st.session_state["_teacher_unlocked_at"] = _clock()
    st.session_state["_teacher_note"] = (attempt.outcome, attempt.retry_in)


def _lock_again() -> None:
    st.session_state.pop("teacher_passcode", None)
    st.session_state.pop("_teacher_unlocked_at", None)
    st.session_state["_teacher_note"] = None


def teacher_sidebar() -> None:
    """The teacher passcode box; draws nothing when RESNET_EDU_TEACHER_PASSCODE is not set.

    app.py calls it inside ``with st.sidebar:`` on every page.
    """
    if not security.teacher_lock_enabled():
        return
    if teacher_unlocked():
        left, right = st.columns([3, 2])
        left.caption(t("🔓 Teacher controls unlocked in this tab.", "🔓 이 탭에서 교사용 기능이 열렸습니다."))
        right.button(t("Lock", "잠그기"), key="teacher_lock", on_click=_lock_again, width="stretch")
        return
    st.text_input(t("Teacher passcode", "교사 암호"), type="password", key=TEACHER_ENTRY_KEY, on_change=_try_passcode,
                  help=t("Unlocks Stop all, stopping other people's runs, deleting runs and custom data folders "
                         "in this tab.", "이 탭에서 모두 중지, 다른 사람의 실행 중지, 실행 삭제, 데이터 폴더 지정을 "
                         "열어 줍니다."))
    note = st.session_state.get("_teacher_note")
    wait = passcode_guard().retry_in(client_address())
    if note == "expired":
        minutes = security.unlock_seconds() / 60
        st.info(t(f"Locked again after {minutes:.0f} min: enter the passcode to unlock.",
                  f"{minutes:.0f}분이 지나 다시 잠겼습니다. 암호를 넣으면 열립니다."), icon="🔒")
    elif wait > 0:
        st.error(t(f"Too many wrong passcodes from this computer: wait {math.ceil(wait)} s and try again.",
                   f"이 컴퓨터에서 암호를 너무 많이 틀렸습니다. {math.ceil(wait)}초 뒤에 다시 해 보세요."), icon="🔒")
    elif isinstance(note, tuple) and note[0] == "wrong":
        st.error(t("Wrong passcode.", "암호가 틀렸습니다."), icon="🔒")


def _dismiss_open_server_warning() -> None:
    st.session_state["_open_server_dismissed"] = True


def open_server_warning_ui() -> None:
    """A page-wide warning while the server listens beyond this computer with no passcode set.

    A warning, not a refusal: in a trusted room a teacher may want everyone at the controls; but
    they must say so by dismissing it (once per tab). And while Streamlit only accepts the
    loopback host names (server.allowedHosts in .streamlit/config.toml), say that students'
    laptops cannot connect until the address they type is added.
    """
    address = str(st.get_option("server.address") or "")
    if not address or security.is_loopback(address):
        return
    hosts = [h for h in (st.get_option("server.allowedHosts") or []) if h]
    if hosts and all(security.is_loopback(h) for h in hosts):
        st.warning(t(f"The server listens on {address}, but Streamlit accepts only the host names "
                     f"{', '.join(hosts)}: students' laptops cannot connect yet. Add the address they type "
                     "(the Network URL Streamlit printed), e.g. `--server.allowedHosts localhost "
                     "--server.allowedHosts 192.168.1.20`.",
                     f"서버가 {address}에서 기다리지만 Streamlit은 호스트 이름 {', '.join(hosts)}만 받습니다. 아직 "
                     "학생 노트북은 연결할 수 없습니다. 학생이 입력할 주소(Streamlit이 알려 준 Network URL)를 더하세요. "
                     "예: `--server.allowedHosts localhost --server.allowedHosts 192.168.1.20`."), icon="🌐")
    if security.teacher_lock_enabled() or st.session_state.get("_open_server_dismissed"):
        return
    with st.container(border=True):
        st.error(t(f"This server is open to the network ({address}) and no teacher passcode is set: anyone who "
                   "can reach it can stop, resume and delete every run. Stop the server and set "
                   f"{security.PASSCODE_ENV}, or dismiss this if everyone here may do that.",
                   f"이 서버는 네트워크에 열려 있고({address}) 교사 암호가 없습니다. 접속할 수 있는 누구나 모든 실행을 "
                   f"멈추고, 이어서 학습하고, 지울 수 있습니다. 서버를 멈추고 환경 변수 {security.PASSCODE_ENV} 값을 설정하거나, "
                   "모두에게 허용해도 된다면 이 경고를 닫으세요."), icon="🛑")
        st.button(t("I understand: everyone may use every control", "알겠습니다: 모두가 모든 기능을 써도 됩니다"),
                  key="open_server_dismiss", on_click=_dismiss_open_server_warning)


_error_log = logging.getLogger("resnet_lab.errors")


class PageError(Exception):
    """What a student sees of an error a page did not handle: one sentence and an id, no traceback."""


def report_error(error: BaseException) -> str:
    """An error a page did not handle: its traceback goes to the server log under a short id; a
    student reads one sentence and the id (no path, no traceback), the teacher (unlocked) the details too.

    Drawn with st.exception, so a test's ``at.exception`` still sees every page that failed.
    """
    incident = secrets.token_hex(4)
    _error_log.error("page error %s", incident, exc_info=error)
    st.exception(PageError(t(f"Something went wrong on this page (error {incident}). Tell the teacher this "
                             "number; the other pages still work.",
                             f"이 페이지에서 문제가 생겼습니다 (오류 {incident}). 이 번호를 선생님께 알려 주세요. 다른 "
                             "페이지는 그대로 쓸 수 있습니다.")))
    if may_see_details():
        st.exception(error)  # the unlocked teacher, or the one computer of a server with no passcode
    return incident
