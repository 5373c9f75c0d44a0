"""Which net to draw: the page's own controls, or a run that is training now, followed live."""

from __future__ import annotations

import streamlit as st

import ui
from app_pages.text import architecture as text
from resnet_edu.models import IMAGENET_DEPTHS
from ui import t

CIFAR_DEPTHS = (20, 32, 44, 56, 110)
NETS = [f"cifar-{depth}" for depth in CIFAR_DEPTHS] + [f"imagenet-{depth}" for depth in IMAGENET_DEPTHS]
DEFAULT_TYPE = {"cifar": "A", "imagenet": "B"}  # the paper's CIFAR nets use A; torchvision's ImageNet nets B
NO_RUN = "—"


def _split(net: str) -> tuple[str, int]:
    family, depth = net.split("-")
    return family, int(depth)


def _net_label(net: str) -> str:
    family, depth = _split(net)
    return f"CIFAR-10 · ResNet-{depth}" if family == "cifar" else f"ImageNet · ResNet-{depth}"


def live_runs() -> dict[str, str]:
    """{run_id: label} of runs training now; empty when the engine is missing or idle."""
    try:
        manager = ui.get_manager()  # looked up at each call: tests stand in a manager
        active = manager.active_runs()
        return {run_id: manager.progress(run_id).get("name", run_id) for run_id in active}
    except Exception:  # the engine is optional for this page: draw the diagrams regardless
        return {}


def live_state(run_id: str) -> tuple[str, int, str, dict[int, bool]] | None:
    """(family, depth, shortcut type, {stage: on}) of a live run, or None once it has ended."""
    try:
        state = ui.get_manager().shortcut_state(run_id)
        config = ui.get_store().get_run(run_id)["config"]
    except Exception:
        return None
    if not state or not config:
        return None
    family = config.get("family", "cifar")
    return family, int(config.get("depth", 20)), config.get("shortcut_type") or DEFAULT_TYPE[family], dict(state)


def controls_ui() -> tuple[str, int, str, bool, str | None]:
    """The net to draw: (family, depth, shortcut type, shortcuts on, followed run id or None)."""

    def family_changed() -> None:
        family, _ = _split(st.session_state["arch_net"])
        st.session_state["arch_type"] = DEFAULT_TYPE[family]

    st.session_state.setdefault("arch_net", "cifar-20")
    st.session_state.setdefault("arch_type", "A")
    st.session_state.setdefault("arch_shortcuts", True)
    runs = live_runs()
    following = st.session_state.get("arch_follow") in runs  # the run's own net replaces the controls
    columns = st.columns([3, 3, 2, 3] if runs else [3, 3, 2])
    with columns[0]:
        st.selectbox(t("Network", "네트워크"), NETS, format_func=_net_label, key="arch_net", on_change=family_changed,
                     disabled=following,
                     help=t("CIFAR-10 nets have depth 6n+2 (Sec. 4.2); ImageNet nets are Table 1's.",
                            "CIFAR-10 네트워크의 깊이는 6n+2(4.2절), ImageNet 네트워크는 표 1의 구성입니다."))
    with columns[1]:
        st.radio(t("Shortcut option (A, B: Sec. 3.3; C: Sec. 4.1)", "숏컷 옵션 (A, B: 3.3절; C: 4.1절)"), ["A", "B", "C"],
                 key="arch_type", horizontal=True,
                 disabled=following,
                 help=t(**text.SHORTCUT_TYPE_HELP))
    with columns[2]:
        st.toggle(t("Shortcuts", "숏컷 연결"), key="arch_shortcuts", disabled=following,
                  help=t("Off: the plain twin — same layers, no additions.", "끄면 plain 쌍둥이 네트워크: 같은 층, 덧셈 없음."))
    follow = None
    if runs:
        with columns[3]:
            options = [NO_RUN] + list(runs)
            if st.session_state.get("arch_follow") not in options:
                st.session_state["arch_follow"] = NO_RUN
            chosen = st.selectbox(t("Follow a running run", "학습 중인 실행 따라가기"), options, key="arch_follow",
                                  format_func=lambda r: t("— (use the controls)", "— (직접 선택)") if r == NO_RUN else runs[r],
                                  help=t(**text.FOLLOW_HELP))
            follow = None if chosen == NO_RUN else chosen
    family, depth = _split(st.session_state["arch_net"])
    return family, depth, st.session_state["arch_type"], bool(st.session_state["arch_shortcuts"]), follow
