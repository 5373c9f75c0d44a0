"""Training curves: the paper's Fig. 1 / Fig. 6 live, and final error against depth.

The Degradation page's two charts. They
read the run store's frames (steps, evaluations, events) and share the paper's line styles:
Fig. 6's caption, "dashed lines denote training error, and bold lines denote testing error"
(Fig. 4 on ImageNet: thin = training, bold = validation). Fig. 1 draws training and test
error in two separate panels instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from resnet_edu.plots.style import KIND_COLOURS, depth_colour, kind_word, style
from resnet_edu.words import pick

CURVE_X = {  # x-axis choice -> (column, English title, Korean title)
    "step": ("step", "iterations", "반복 횟수(iteration)"),
    "epoch": ("epoch", "epochs", "에폭"),
    "seconds": ("train_seconds", "training time (s)", "학습 시간(초)"),
}
TRAIN_WIDTH, TEST_WIDTH = 1.6, 3.0  # thin dashed training error, bold test error (Fig. 6, Fig. 4)
TRAIN_DASH, TEST_DASH = "dash", "solid"
REFERENCE_DASH = "dashdot"
TOGGLE_EVENT = "shortcuts_toggled"


def smoothed_error(frame: pd.DataFrame, smooth_steps: int = 0) -> pd.Series:
    """Training error averaged over about ``smooth_steps`` iterations (0/1: as logged).

    Rows may already be means of ``n`` iterations (``CurveBuffer``): the window counts
    iterations, not rows, and the mean is weighted by ``n``, so it stays exact.
    """
    error = frame["train_error"].astype("float64")
    if smooth_steps <= 1 or frame.empty:
        return error
    n = frame["n"].astype("float64") if "n" in frame else pd.Series(1.0, index=frame.index)
    window = max(1, int(round(smooth_steps / max(1.0, float(n.median())))))
    if window == 1:
        return error
    weighted = (error * n).rolling(window, min_periods=1).sum()
    weights = n.where(error.notna(), 0.0).rolling(window, min_periods=1).sum()
    return weighted / weights.where(weights > 0)


def _percent(values: pd.Series) -> np.ndarray:
    out = 100.0 * values.to_numpy(dtype="float64")
    out[~np.isfinite(out)] = np.nan  # a diverged step (inf) leaves a gap, not a broken axis
    return out


def _event_x(event_steps: np.ndarray, run_steps: pd.DataFrame, column: str) -> np.ndarray:
    """Map iterations to the chosen x-axis (epochs or seconds) through the run's own steps."""
    if column == "step" or run_steps.empty:
        return event_steps.astype("float64")
    return np.interp(event_steps, run_steps["step"].to_numpy(dtype="float64"),
                     run_steps[column].to_numpy(dtype="float64"))


def _ordered_runs(runs_df: pd.DataFrame) -> pd.DataFrame:
    order = runs_df.assign(_k=runs_df["kind"].map({"plain": 0, "residual": 1}).fillna(2))
    return order.sort_values(["_k", "depth"], kind="stable").drop(columns="_k")


def training_curves(steps_df: pd.DataFrame, evals_df: pd.DataFrame, events_df: pd.DataFrame | None,
                    runs_df: pd.DataFrame, x: str = "step", reference: pd.DataFrame | None = None, *,
                    smooth_steps: int = 0, lang: str = "en", uirevision: str | None = None,
                    height: int = 480) -> go.Figure:
    """Training and test error curves of several runs, plain nets left, residual nets right.

    Args:
        steps_df: run_id, step, epoch, train_seconds, train_error (fraction) and optionally
            n (iterations each row averages, from ``CurveBuffer``).
        evals_df: run_id, step, epoch, train_seconds, test_error.
        events_df: run_id, step, kind, detail; ``shortcuts_toggled`` events become vertical
            dotted lines (in the run's colour) at the step where the switch was applied.
        runs_df: run_id, name, depth, kind ("plain" / "residual"): which panel and colour.
        x: "step" (iterations, as the paper), "epoch" or "seconds" (training time).
        reference: paper Table 6 (depth, test_error_paper_pct): horizontal reference lines
            in the residual panel — *final* test errors after a full 164-epoch run.
        smooth_steps: average the training error over this many iterations (0: none).
        lang: "en" or "ko".
        uirevision: keeps zoom and legend choices across live refreshes.
    """
    from resnet_edu.words import toggle_label

    if x not in CURVE_X:
        raise ValueError(f"x must be one of {', '.join(CURVE_X)}, not {x!r}")
    column, x_en, x_ko = CURVE_X[x]
    titles = (pick(lang, "plain nets (no shortcuts)", "plain 네트워크 (숏컷 없음)"),
              pick(lang, "ResNets (identity shortcuts)", "ResNet (항등 숏컷)"))
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04, subplot_titles=titles)
    runs = _ordered_runs(runs_df)
    events = events_df if events_df is not None else pd.DataFrame(columns=["run_id", "step", "kind", "detail"])
    toggles = events[events["kind"] == TOGGLE_EVENT]
    shown_toggle_legend = False
    panels_used = set()
    for run in runs.itertuples(index=False):
        col = 2 if run.kind == "residual" else 1
        panels_used.add(col)
        colour = depth_colour(int(run.depth))
        s = steps_df[steps_df["run_id"] == run.run_id].sort_values("step")
        e = evals_df[evals_df["run_id"] == run.run_id].sort_values("step")
        train_y = _percent(smoothed_error(s, smooth_steps)) if len(s) else np.array([])
        fig.add_trace(go.Scatter(
            x=s[column], y=train_y, mode="lines" if len(s) > 1 else "markers", name=run.name,
            legendgroup=run.run_id,
            line=dict(color=colour, width=TRAIN_WIDTH, dash=TRAIN_DASH), meta={"run_id": run.run_id, "series": "train"},
            customdata=s["step"],
            hovertemplate=f"<b>{run.name}</b> · {pick(lang, 'train', '훈련')} %{{y:.1f}}%"
                          f"<br>{pick(lang, 'iteration', '반복')} %{{customdata}}<extra></extra>"),
            row=1, col=col)
        fig.add_trace(go.Scatter(
            x=e[column], y=_percent(e["test_error"]), mode="lines+markers", name=f"{run.name} (test)",
            legendgroup=run.run_id, showlegend=False, marker=dict(size=6, color=colour),
            line=dict(color=colour, width=TEST_WIDTH, dash=TEST_DASH), meta={"run_id": run.run_id, "series": "test"},
            customdata=e["step"],
            hovertemplate=f"<b>{run.name}</b> · {pick(lang, 'test', '테스트')} %{{y:.1f}}%"
                          f"<br>{pick(lang, 'iteration', '반복')} %{{customdata}}<extra></extra>"),
            row=1, col=col)
        mine = toggles[toggles["run_id"] == run.run_id]
        if mine.empty:
            continue
        xs = _event_x(mine["step"].to_numpy(), s, column)
        labels = [toggle_label(d if isinstance(d, dict) else {}, lang=lang) for d in mine["detail"]]
        for x_value, label in zip(xs, labels):
            fig.add_vline(x=float(x_value), line=dict(color=colour, dash="dot", width=1.5), row=1, col=col,
                          annotation=dict(text=f"{run.name}: {label}", font=dict(size=11, color=colour),
                                          textangle=-90, xanchor="right", yanchor="top"),
                          annotation_position="top left")
        marker_y = np.interp(mine["step"].to_numpy(dtype="float64"), s["step"].to_numpy(dtype="float64"),
                             np.nan_to_num(train_y, nan=0.0)) if len(s) else np.zeros(len(mine))
        fig.add_trace(go.Scatter(
            x=xs, y=marker_y, mode="markers", name=pick(lang, "shortcuts toggled", "숏컷 전환"),
            legendgroup="toggles", showlegend=not shown_toggle_legend,
            marker=dict(symbol="diamond", size=11, color=colour, line=dict(color="white", width=1)),
            text=[f"{run.name}: {label} ({pick(lang, 'iteration', '반복')} {int(step)})"
                  for label, step in zip(labels, mine["step"])],
            hovertemplate="%{text}<extra></extra>", meta={"run_id": run.run_id, "series": "toggle"}),
            row=1, col=col)
        shown_toggle_legend = True

    if reference is not None and not reference.empty:
        cifar = runs[runs["family"] == "cifar"] if "family" in runs else runs
        depths = set(cifar["depth"].astype(int))
        ref = reference[reference["depth"].isin(depths)]
        if ref.empty and depths:
            ref = reference[reference["depth"] <= 110]
        for row in ref.itertuples(index=False):
            fig.add_hline(y=float(row.test_error_paper_pct), row=1, col=2, opacity=0.8,
                          line=dict(color=depth_colour(int(row.depth)), dash=REFERENCE_DASH, width=1.2))
        if not ref.empty:  # one label for all lines: they sit a point or two apart, separate labels collide
            values = ", ".join(f"ResNet-{r.depth} {r.test_error_paper_pct:.2f}%" for r in ref.itertuples(index=False))
            domain = fig.layout.xaxis2.domain
            fig.add_annotation(text=pick(lang, f"paper (Table 6, 164 epochs): {values}",
                                         f"논문 (표 6, 164 에폭): {values}"),
                               xref="paper", x=domain[1], xanchor="right", yref="y2",
                               y=float(ref["test_error_paper_pct"].max()), yanchor="bottom", showarrow=False,
                               font=dict(size=11, color="#636363"), bgcolor="rgba(255,255,255,0.8)")
        if not ref.empty:  # one legend entry that says what the lines are
            fig.add_trace(go.Scatter(
                x=[None], y=[None], mode="lines", line=dict(color="#7f7f7f", dash=REFERENCE_DASH, width=1.2),
                name=pick(lang, "paper, 164 epochs on CIFAR-10 (Table 6, final test error)",
                          "논문, CIFAR-10 164 에폭 (표 6, 최종 테스트 오류)"),
                legendgroup="reference", meta={"series": "reference"}), row=1, col=2)

    # Two legend entries that explain the line styles once, instead of per run.
    for label, dash, width in ((pick(lang, "training error (dashed)", "훈련 오류 (파선)"), TRAIN_DASH, TRAIN_WIDTH),
                               (pick(lang, "test error (bold)", "테스트 오류 (굵은 선)"), TEST_DASH, TEST_WIDTH)):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=label, legendgroup="style",
                                 line=dict(color="#7f7f7f", dash=dash, width=width), meta={"series": "style"}),
                      row=1, col=1)
    for col in (1, 2):
        if col not in panels_used:
            # An invisible trace keeps the empty panel's axes drawn; the note sits in its middle.
            fig.add_trace(go.Scatter(x=[None], y=[None], showlegend=False, hoverinfo="skip"), row=1, col=col)
            domain = (fig.layout.xaxis if col == 1 else fig.layout.xaxis2).domain
            fig.add_annotation(
                text=pick(lang, "no plain net in this selection" if col == 1 else "no residual net in this selection",
                          "선택한 실행에 plain 네트워크가 없습니다" if col == 1 else "선택한 실행에 잔차 네트워크가 없습니다"),
                xref="paper", yref="paper", x=(domain[0] + domain[1]) / 2, y=0.5, xanchor="center",
                showarrow=False, font=dict(color="#969696", size=13))
    fig.update_xaxes(title_text=pick(lang, x_en, x_ko), showgrid=True, rangemode="tozero")
    fig.update_xaxes(matches="x", row=1, col=2)
    fig.update_yaxes(title_text=pick(lang, "error (%)", "오류 (%)"), rangemode="tozero", row=1, col=1)
    if steps_df.empty and evals_df.empty:  # nothing logged yet: show the whole 0-100% scale, not 0-0.5
        fig.update_yaxes(range=[0, 100], row=1, col=1)
    style(fig, height=height, uirevision=uirevision)
    # Legend under the panels: above them it collides with the two panel titles.
    fig.update_layout(hovermode="closest", margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0))
    return fig


def error_vs_depth(summary_df: pd.DataFrame, reference: pd.DataFrame | None = None, *, lang: str = "en",
                   uirevision: str | None = None, height: int = 400) -> go.Figure:
    """Final error against depth, one line for plain nets and one for residual nets.

    The paper's claim in one picture: the plain line rises with depth, the residual line
    falls. Training error (dashed, as in the paper's Fig. 6) is the mean of the last TRAIN_ERROR_WINDOW (20)
    iterations; test error (bold) the last evaluation. Several runs of one kind and depth are
    averaged.

    Args:
        summary_df: ``resnet_edu.inside.degradation.summarize_runs`` output (depth, kind, family,
            final_train_error, final_test_error, ...).
        reference: paper Table 6 (depth, test_error_paper_pct): shown as stars.
    """
    fig = go.Figure()
    data = summary_df.dropna(subset=["final_train_error"]) if len(summary_df) else summary_df
    families = list(dict.fromkeys(data["family"])) if len(data) else []
    for family in families:
        suffix = "" if len(families) == 1 else (" · CIFAR" if family == "cifar" else " · ImageNet")
        for kind in ("plain", "residual"):
            rows = data[(data["family"] == family) & (data["kind"] == kind)]
            if rows.empty:
                continue
            agg = (rows.groupby("depth", as_index=False)
                   .agg(train=("final_train_error", "mean"), test=("final_test_error", "mean"),
                        runs=("run_id", "count"), steps=("steps", "max")))
            kind_label = kind_word(kind, lang)
            colour = KIND_COLOURS[kind]
            fig.add_trace(go.Scatter(
                x=agg["depth"], y=100 * agg["train"], mode="lines+markers",
                name=f"{kind_label} · {pick(lang, 'training', '훈련')}{suffix}",
                line=dict(color=colour, width=TRAIN_WIDTH, dash=TRAIN_DASH),
                marker=dict(size=8, color="white", line=dict(color=colour, width=2)),
                customdata=np.stack([agg["runs"], agg["steps"]], axis=1), meta={"kind": kind, "series": "train"},
                hovertemplate=f"{kind_label}-%{{x}}: {pick(lang, 'training', '훈련')} %{{y:.1f}}%"
                              f"<br>{pick(lang, 'runs', '실행')} %{{customdata[0]}}, "
                              f"{pick(lang, 'iteration', '반복')} %{{customdata[1]}}<extra></extra>"))
            test = agg.dropna(subset=["test"])
            if not test.empty:
                fig.add_trace(go.Scatter(
                    x=test["depth"], y=100 * test["test"], mode="lines+markers",
                    name=f"{kind_label} · {pick(lang, 'test', '테스트')}{suffix}",
                    line=dict(color=colour, width=TEST_WIDTH, dash=TEST_DASH), marker=dict(size=10, color=colour),
                    meta={"kind": kind, "series": "test"},
                    hovertemplate=f"{kind_label}-%{{x}}: {pick(lang, 'test', '테스트')} %{{y:.1f}}%<extra></extra>"))
    depths = sorted(set(int(d) for d in data["depth"])) if len(data) else []
    if reference is not None and len(reference) and "cifar" in families:
        cifar_depths = set(int(d) for d in data.loc[data["family"] == "cifar", "depth"])
        ref = reference[reference["depth"].isin(cifar_depths)]
        if not ref.empty:
            fig.add_trace(go.Scatter(
                x=ref["depth"], y=ref["test_error_paper_pct"], mode="markers",
                name=pick(lang, "paper ResNets, test (Table 6, 164 epochs)", "논문 ResNet 테스트 (표 6, 164 에폭)"),
                marker=dict(symbol="star", size=13, color="#969696"), meta={"series": "reference"},
                hovertemplate=pick(lang, "paper ResNet-%{x}: %{y:.2f}% after 164 epochs<extra></extra>",
                                   "논문 ResNet-%{x}: 164 에폭 후 %{y:.2f}%<extra></extra>")))
    if not depths:
        fig.add_annotation(text=pick(lang, "no finished iterations yet", "아직 완료된 반복이 없습니다"),
                           xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                           font=dict(color="#969696", size=13))
        fig.update_yaxes(range=[0, 100])
    fig.update_xaxes(title_text=pick(lang, "depth (layers)", "깊이 (층 수)"), tickvals=depths or None)
    fig.update_yaxes(title_text=pick(lang, "final error (%)", "최종 오류 (%)"), rangemode="tozero")
    style(fig, height=height, uirevision=uirevision)
    return fig
