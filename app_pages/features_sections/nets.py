"""Which nets to compare: the class's trained runs (each with its twin), fresh untrained nets,
pretrained ResNets or a weights file; and the chosen run's weights to download."""

from __future__ import annotations

import functools
import json

import pandas as pd
import streamlit as st

from app_pages.features_sections.loading import modified_time
from app_pages.features_sections.sources import pretrained_ui, weights_file_ui
from app_pages.text import features as text
from resnet_edu import models, weights
from ui import run_and_twin_ui, send_to_lab, t

FRESH_DEPTHS = [20, 56, 110]


def empty_state_ui() -> None:
    send_to_lab(**text.NO_CHECKPOINT)


def nets_ui(table: pd.DataFrame, checkpoints: dict[str, str]) -> tuple[list[tuple[str, tuple]], dict]:
    """The nets to compare as [(name, source)] and the data set to draw images from."""
    choices = {"trained": t("trained runs", "학습된 실행"), "fresh": t("fresh, untrained nets", "학습 전 새 네트워크"),
               "pretrained": t("pretrained ResNet (ImageNet)", "사전 학습된 ResNet (ImageNet)"),
               "file": t("a weights file", "가중치 파일")}
    if not checkpoints:
        choices.pop("trained")
    if st.session_state.get("feat_kind", "trained") not in choices:  # no trained run (any more)
        st.session_state.pop("feat_kind", None)
    kind = st.radio(t("Nets", "네트워크"), list(choices), format_func=choices.get, horizontal=True,
                    key="feat_kind", persist_state="session")
    if kind == "pretrained":
        return pretrained_ui()
    if kind == "file":
        return weights_file_ui()
    if kind == "trained":
        with_ckpt = table[table["run_id"].isin(checkpoints)]
        labels = dict(zip(with_ckpt["run_id"], with_ckpt["name"]))
        run_id, other = run_and_twin_ui(
            table, with_ckpt, list(labels), "feat", t("Run", "실행"), t("Side by side with", "나란히 볼 실행"),
            other_help=t("Its twin of the other kind (same depth) is chosen by default.",
                         "기본으로 같은 깊이의 다른 종류(plain 네트워크 ↔ 잔차 네트워크)를 골라 둡니다."))
        nets = []
        for rid in [run_id, other]:
            if rid is None:
                continue
            path = checkpoints[rid]
            nets.append((labels[rid], ("checkpoint", path, modified_time(path))))
        row = with_ckpt[with_ckpt["run_id"] == run_id].iloc[0]
        export_ui(labels[run_id], checkpoints[run_id])
        return nets, {"name": row["dataset"], "root": row["data_root"], "image_size": int(row["image_size"])}
    depth = st.select_slider(t("Depth (fresh CIFAR nets, He initialisation)", "깊이 (학습 전 CIFAR 네트워크, He 초기화)"),
                             FRESH_DEPTHS, value=56, key="feat_fresh_depth")
    nets = [(models.net_name("cifar", depth, False), ("fresh", "cifar", depth, False)),
            (models.net_name("cifar", depth, True), ("fresh", "cifar", depth, True))]
    return nets, {"name": "synthetic", "root": None, "image_size": 32}


@functools.lru_cache(maxsize=2)
def _exported(path: str, mtime: float) -> tuple[bytes, str]:
    """(state_dict bytes, its JSON) of a checkpoint; made when a download button is clicked (in its thread)."""
    payload, config = weights.export_checkpoint(path)
    return payload, json.dumps(config, indent=2) + "\n"


def export_ui(name: str, path: str) -> None:
    """Download the chosen run's weights: a plain state_dict and the JSON that says how to rebuild the net."""
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:60] or "weights"
    mtime = modified_time(path)
    left, right = st.columns(2)
    left.download_button(t("Download its weights (.pt)", "가중치 내려받기 (.pt)"),
                         data=lambda: _exported(path, mtime)[0], file_name=f"{stem}.pt",
                         mime="application/octet-stream", key="feat_export_pt", on_click="ignore", icon="⬇️",
                         help=t(**text.EXPORT_HELP))
    right.download_button(t("… and its settings (.json)", "… 설정 (.json)"),
                          data=lambda: _exported(path, mtime)[1], file_name=f"{stem}.json", mime="application/json",
                          key="feat_export_json", on_click="ignore", icon="⬇️")
