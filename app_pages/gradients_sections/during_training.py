"""What the runs recorded while they trained: the first/last ratio over time, every layer's gradient
norm as a heatmap, and the paper's Fig. 7 layer responses. Reads only the RunStore."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.gradients_sections import csv_text, ratio_text
from app_pages.text import gradients as text
from resnet_edu import plots, words
from resnet_edu.app import run_picking
from resnet_edu.inside import gradients
from resnet_edu.runs import ACTIVE_STATUSES
from ui import PLOT_CONFIG, get_store, language, send_to_lab, t

MAX_COLUMNS = 200  # recorded iterations per heatmap sent to the browser
EARLY_SHARE = 0.05  # runs shorter than this share of the paper's training are told why Fig. 7 is still flat


@st.cache_data(ttl=2, show_spinner=False, max_entries=256)
def layer_stats(_store, run_id: str, kind: str, steps_done: int, root: str) -> pd.DataFrame:
    """The store's per-layer stats of a run; the key includes its progress, so a live run refreshes."""
    return _store.layer_stats(run_id, kind)


def empty_state_ui() -> None:
    send_to_lab(**text.NO_GRADIENTS_YET)


def run_picker_ui(table: pd.DataFrame) -> list[str]:
    """Runs to look at: a comparison group (newest first), then any runs added or removed."""
    groups = list(dict.fromkeys(table["group_id"]))

    def group_label(group_id: str) -> str:
        members = table[table["group_id"] == group_id]
        if members.empty:  # a comparison deleted since the browser drew the box
            return str(group_id)
        return f"{words.clock_label(members['created_at'].iloc[-1])} · {', '.join(members['name'])}"

    def pick_group() -> None:
        st.session_state["grad_runs"] = table.loc[table["group_id"] == st.session_state["grad_group"],
                                                  "run_id"].tolist()

    # First visit, or a comparison started since this tab last looked: show the newest one. Back from
    # another page (Streamlit forgot the widgets): the runs this tab chose, kept in a plain key.
    kept = st.session_state.get("_grad_kept") or {}
    if st.session_state.get("_grad_latest_group") != groups[0]:
        st.session_state["_grad_latest_group"] = groups[0]
        st.session_state["grad_group"] = groups[0]
        pick_group()
    elif "grad_group" not in st.session_state and kept.get("group") in groups:
        st.session_state["grad_group"] = kept["group"]
        st.session_state["grad_runs"] = kept.get("runs", [])
    elif st.session_state.get("grad_group") not in groups:
        st.session_state["grad_group"] = groups[0]
        pick_group()
    st.session_state["grad_runs"] = [r for r in st.session_state.get("grad_runs", []) if r in set(table["run_id"])]
    run_names = dict(zip(table["run_id"], table["name"]))  # names never carry a status: they hold while runs end
    left, right = st.columns([2, 3])
    with left:
        st.selectbox(t("Comparison", "비교 실험"), groups, format_func=group_label, key="grad_group",
                     on_change=pick_group, help=t("Runs started together in the Lab (newest first).",
                                                  "실험실에서 함께 시작한 실행들(최신순)."),
                     placeholder=t("Choose a comparison", "비교 실험을 고르세요"))
    with right:
        st.multiselect(t("Runs", "실행"), list(run_names), format_func=lambda r: run_names.get(r, str(r)),
                       key="grad_runs", placeholder=t("Choose runs", "실행을 고르세요"))
    chosen = [r for r in st.session_state["grad_runs"] if r in run_names]
    st.session_state["_grad_kept"] = {"group": st.session_state["grad_group"], "runs": chosen}
    return chosen


@st.cache_data(show_spinner=False, max_entries=64)
def checkpoint_weights(path: str, modified: float) -> tuple[int, dict[str, float]]:
    """Conv weight norms of a checkpoint (keyed by its modification time, so a newer save is read again)."""
    return gradients.checkpoint_weight_norms(path)


def relative_at_checkpoint(store, run_id: str, stats: pd.DataFrame) -> dict[str, float] | None:
    """first/last ‖∇W‖/‖W‖ at the run's latest checkpoint, or None when it has none (or it is unreadable)."""
    path = store.latest_checkpoint(run_id)
    if path is None:
        return None
    try:
        step, weights = checkpoint_weights(str(path), path.stat().st_mtime)
    except (OSError, ValueError):
        return None
    result = gradients.relative_ratio_at(stats, step, weights)
    return result if result["ratio"] == result["ratio"] else None  # nan: nothing recorded by then


def per_run(chosen: pd.DataFrame, stats: dict[str, pd.DataFrame], measure) -> list[tuple]:
    """(run row, ``measure`` of its layer statistics labelled with the run) for each run that has one."""
    measured = []
    for row in chosen.itertuples(index=False):
        frame = measure(stats[row.run_id])
        if not frame.empty:
            measured.append((row, frame.assign(run_id=row.run_id, name=row.name, depth=row.depth,
                                               shortcuts=row.shortcuts)))
    return measured


def ratio_section(chosen: pd.DataFrame, stats: dict[str, pd.DataFrame], revision: str) -> None:
    lang = language()
    st.subheader(t("At a glance: first conv vs last conv", "한눈에: 첫 합성곱 vs 마지막 합성곱"))
    measured = per_run(chosen, stats, gradients.ratio_over_time)
    frames = [frame for _, frame in measured]
    summaries = [(row, gradients.ratio_summary(frame)) for row, frame in measured]
    if not frames:
        st.info(t("No gradient norms recorded yet for these runs (they appear after the first few iterations).",
                  "이 실행들에는 아직 기울기 크기 기록이 없습니다(처음 몇 번의 반복 뒤에 나타납니다)."))
        return
    columns = st.columns(min(4, len(summaries)))
    for index, (row, summary) in enumerate(summaries):
        with columns[index % len(columns)]:
            st.metric(row.name, ratio_text(summary["last_ratio"]),
                      help=t(f"first conv / last conv at iteration {summary['last_step']}; at its first record "
                             f"(iteration {summary['first_step']}): {ratio_text(summary['first_ratio'])}",
                             f"{summary['last_step']}번째 반복의 첫 합성곱 / 마지막 합성곱; 첫 기록"
                             f"({summary['first_step']}번째 반복): {ratio_text(summary['first_ratio'])}"))
            st.caption(t(f"first record (it. {summary['first_step']}): {ratio_text(summary['first_ratio'])}",
                         f"첫 기록 ({summary['first_step']}회): {ratio_text(summary['first_ratio'])}"))
            relative = relative_at_checkpoint(get_store(), row.run_id, stats[row.run_id])
            if relative is not None:
                st.caption(t(f"‖∇W‖ / ‖W‖ (weights of the checkpoint, it. {relative['step']}): "
                             f"**{ratio_text(relative['ratio'])}**",
                             f"‖∇W‖ / ‖W‖ (체크포인트의 가중치, {relative['step']}회): "
                             f"**{ratio_text(relative['ratio'])}**"))
    table = pd.concat(frames, ignore_index=True)
    st.plotly_chart(plots.gradient_ratio_figure(table, lang=lang, uirevision=revision), key="grad_ratio",
                    config=PLOT_CONFIG)
    st.caption(t(**text.RATIO_CAPTION))
    st.download_button(t("Download the ratios (CSV)", "비율 데이터 내려받기 (CSV)"),
                       data=csv_text(table[["run_id", "name", "depth", "shortcuts", "step", "first_layer", "last_layer",
                                        "first", "last", "ratio"]]),
                       file_name="gradient_ratio.csv", mime="text/csv", key="grad_csv_ratio", on_click="ignore",
                       icon="⬇️")


def heatmap_section(chosen: pd.DataFrame, stats: dict[str, pd.DataFrame], revision: str) -> None:
    lang = language()
    st.subheader(t("Every layer, every recorded iteration", "모든 층, 기록된 모든 반복"))
    st.caption(t(**text.HEATMAP_CAPTION))
    downloads, panels, row = [], [], 0
    for (family, depth), runs_of_depth in chosen.groupby(["family", "depth"], sort=True):
        plain = runs_of_depth[~runs_of_depth["shortcuts"]]
        residual = runs_of_depth[runs_of_depth["shortcuts"]]
        for index in range(max(len(plain), len(residual))):  # twins of equal depth side by side
            row += 1
            for col, kind_rows in ((1, plain), (2, residual)):
                if index >= len(kind_rows):
                    continue
                run = kind_rows.iloc[index]
                matrix = gradients.thin_columns(gradients.layer_step_matrix(stats[run["run_id"]]), MAX_COLUMNS)
                if matrix.empty:
                    continue
                panels.append((run["name"], matrix, row, col))
                downloads.append(stats[run["run_id"]].assign(run_id=run["run_id"], name=run["name"]))
    if panels:
        fig = plots.gradient_heatmaps(panels, lang=lang, uirevision=revision)
        st.plotly_chart(fig, key="grad_heat", config=PLOT_CONFIG)
    if downloads:
        st.download_button(t("Download all gradient norms (CSV)", "모든 기울기 크기 내려받기 (CSV)"),
                           data=csv_text(pd.concat(downloads, ignore_index=True)[["run_id", "name", "step", "layer_index",
                                                                               "layer", "value"]]),
                           file_name="gradient_norms.csv", mime="text/csv", key="grad_csv_heat",
                           on_click="ignore", icon="⬇️")


def response_section(chosen: pd.DataFrame, responses: dict[str, pd.DataFrame], revision: str) -> None:
    lang = language()
    st.subheader(t("Layer responses (the paper's Fig. 7)", "층 응답 (논문 그림 7)"))
    st.markdown(t(**text.FIG7_INTRO))
    measured = per_run(chosen, responses, gradients.profile_at)
    frames = [frame for _, frame in measured]
    steps = [f"{row.name}: {int(frame['step'].iloc[0])}" for row, frame in measured]
    if not frames:
        st.info(t("No layer responses recorded yet.", "아직 기록된 층 응답이 없습니다."))
        return
    table = pd.concat(frames, ignore_index=True)
    longest = int(table["step"].max())
    if longest < EARLY_SHARE * text.PAPER_CIFAR_ITERATIONS:  # short runs: say why the picture is flat
        st.info(t(**text.fig7_early(longest, float(table["value"].min()), float(table["value"].max()))), icon="📏")
    log_scale = st.toggle(t("Log scale", "로그 척도"), value=False, key="grad_resp_log",
                          help=t("When one net's responses dwarf the others'.", "한 네트워크의 응답이 너무 커서 나머지가 안 보일 때."))
    st.plotly_chart(plots.response_figure(table, lang=lang, log=log_scale, uirevision=revision),
                    key="grad_responses", config=PLOT_CONFIG)
    st.caption(t(**text.fig7_caption("; ".join(steps))))
    st.download_button(t("Download the responses (CSV)", "층 응답 내려받기 (CSV)"),
                       data=csv_text(table[["run_id", "name", "depth", "shortcuts", "step", "layer_index", "layer",
                                        "value", "rank"]]),
                       file_name="layer_responses.csv", mime="text/csv", key="grad_csv_resp", on_click="ignore",
                       icon="⬇️")


def charts(run_ids: list[str]) -> bool:
    """Everything that changes while runs train; returns whether any chosen run still trains."""
    store = get_store()
    table = run_picking.run_table(store.list_runs())
    chosen = table.set_index("run_id").reindex([r for r in run_ids if r in set(table["run_id"])]).reset_index()
    if chosen.empty:
        st.info(t("Choose at least one run above.", "위에서 실행을 하나 이상 고르세요."))
        return False
    root = str(store.root)
    grads = {r.run_id: layer_stats(store, r.run_id, "grad_norm", int(r.steps_done), root)
             for r in chosen.itertuples(index=False)}
    responses = {r.run_id: layer_stats(store, r.run_id, "response_std", int(r.steps_done), root)
                 for r in chosen.itertuples(index=False)}
    revision = "|".join(chosen["run_id"])
    ratio_section(chosen, grads, revision)
    heatmap_section(chosen, grads, revision)
    response_section(chosen, responses, revision)
    return bool(chosen["status"].isin(ACTIVE_STATUSES).any())
