"""Architecture: block and network diagrams traced from the real model (resnet_edu.diagrams).

The depth picker, the shortcut option and the shortcut switch rebuild the net (on the meta
device: shapes and multiply-adds without memory); the diagrams, the paper's Table 1 for
that net, plain vs residual, and VGG-19's cost (Fig. 3) follow. While runs train, the page
can follow one of them and draw its live shortcut state, stage by stage. The sections are
in app_pages/architecture_sections/.
"""

from __future__ import annotations

import streamlit as st

from app_pages.architecture_sections.blocks import blocks_ui
from app_pages.architecture_sections.choosing import controls_ui, live_runs, live_state
from app_pages.architecture_sections.comparisons import plain_vs_residual_ui, vgg_ui
from app_pages.architecture_sections.network import network_ui
from app_pages.text import architecture as text
from resnet_edu import models
from ui import paced_redraw, t

st.title(t("🏗️ Architecture", "🏗️ 구조"))
st.markdown(t(**text.INTRO))

family, depth, shortcut_type, shortcuts, follow = controls_ui()


@st.fragment(run_every=2.0 if follow else None)
def diagrams_ui() -> None:
    """The diagrams of the chosen net, or of a training run's net as its shortcuts switch (every 2 s)."""
    with paced_redraw(runs_train=bool(follow)):
        _diagrams()


def _diagrams() -> None:
    net_family, net_depth, net_type = family, depth, shortcut_type
    num_stages = models.stage_count(family)
    stages_on = {stage: shortcuts for stage in range(1, num_stages + 1)}
    if follow:
        live = live_state(follow)
        if live is None:  # the run ended: redraw the whole page (back to the controls), which stops this polling
            st.rerun()
        else:
            net_family, net_depth, net_type, stages_on = live
            state = ", ".join(f"layer{s} {'✅' if on else '⛔'}" for s, on in stages_on.items())
            data = "CIFAR-10" if net_family == "cifar" else "ImageNet"
            st.info(t(**text.following_live(live_runs().get(follow, follow), data, net_depth, net_type, state)),
                    icon="📡")
    blocks_ui(net_family, net_depth, net_type, stages_on)
    st.divider()
    network_ui(net_family, net_depth, net_type, stages_on, all(stages_on.values()))


diagrams_ui()
st.divider()
plain_vs_residual_ui(family, depth, shortcut_type)
st.divider()
vgg_ui(family, depth, shortcut_type)
st.page_link("app_pages/lab.py", label=t("Train these nets in the Lab →", "실험실에서 이 네트워크들을 학습시키기 →"), icon="🧪")
