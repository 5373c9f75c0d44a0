"""Plotly figure builders shared by the pages (one module, so every chart looks alike).

Sections: common style; training curves (Degradation, Lab); architecture (Architecture,
Paper); inside the network (Gradients, Features, Lesion). Every builder takes plain data
(pandas frames, numbers) and returns a ``plotly.graph_objects.Figure``; none reads the
store or imports Streamlit.
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

# ---------------------------------------------------------------- common style
# plotly_white's layout without its per-trace-type defaults (about 60% of its size): every
# figure carries its template to every browser on every refresh, so a lean one is cheaper
# to copy and send. Registered once; figures refer to it by name.
TEMPLATE = "resnet_lab"
if TEMPLATE not in pio.templates:
    pio.templates[TEMPLATE] = go.layout.Template(layout=pio.templates["plotly_white"].layout)
FONT_FAMILY = "Inter, 'Noto Sans KR', 'Malgun Gothic', sans-serif"
PLAIN_DASH = "dot"
# One colour per depth, the same on every page (20 / 32 / 44 / 56 / 110 and ImageNet 18 / 34 / 50).
DEPTH_COLOURS = {8: "#9ecae1", 14: "#6baed6", 20: "#2171b5", 26: "#41ab5d", 32: "#238b45", 44: "#807dba",
                 56: "#d94801", 110: "#a50f15", 1202: "#252525",
                 18: "#2171b5", 34: "#d94801", 50: "#6a51a3", 101: "#a50f15", 152: "#252525"}


def depth_colour(depth: int) -> str:
    return DEPTH_COLOURS.get(depth, "#636363")


def style(fig: go.Figure, *, height: int = 420, uirevision: str | None = None) -> go.Figure:
    """House style: white background, readable fonts, legend on top; uirevision keeps zoom across refreshes."""
    fig.update_layout(template=TEMPLATE, height=height, font=dict(family=FONT_FAMILY, size=13),
                      margin=dict(l=10, r=10, t=50, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0))
    if uirevision is not None:
        fig.update_layout(uirevision=uirevision)
    return fig


# ---------------------------------------------------------------- training curves
# Fig. 6 of the paper, live: training error and test error against iterations, plain nets left
# and residual nets right on shared axes, one colour per depth. Line styles as in the paper:
# Fig. 6's caption, "dashed lines denote training error, and bold lines denote testing error"
# (Fig. 4 on ImageNet: thin = training, bold = validation). Fig. 1 draws training and test
# error in two separate panels instead.
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from plotly.subplots import make_subplots  # noqa: E402

CURVE_X = {  # x-axis choice -> (column, English title, Korean title)
    "step": ("step", "iterations", "반복 횟수(iteration)"),
    "epoch": ("epoch", "epochs", "에폭"),
    "seconds": ("wall_seconds", "training time (s)", "학습 시간(초)"),
}
KIND_COLOURS = {"plain": "#525252", "residual": "#c0392b"}
TRAIN_WIDTH, TEST_WIDTH = 1.6, 3.0  # thin dashed training error, bold test error (Fig. 6, Fig. 4)
TRAIN_DASH, TEST_DASH = "dash", "solid"
REFERENCE_DASH = "dashdot"
TOGGLE_EVENT = "shortcuts_toggled"


def _tr(lang: str, en: str, ko: str) -> str:
    return ko if lang == "ko" else en


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
        steps_df: run_id, step, epoch, wall_seconds, train_error (fraction) and optionally
            n (iterations each row averages, from ``CurveBuffer``).
        evals_df: run_id, step, epoch, wall_seconds, test_error.
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
    from resnet_edu.analysis import toggle_label  # analysis imports no plotting: no cycle

    if x not in CURVE_X:
        raise ValueError(f"x must be one of {', '.join(CURVE_X)}, not {x!r}")
    column, x_en, x_ko = CURVE_X[x]
    titles = (_tr(lang, "plain nets (no shortcuts)", "plain 네트워크 (숏컷 없음)"),
              _tr(lang, "ResNets (identity shortcuts)", "ResNet (항등 숏컷)"))
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
            hovertemplate=f"<b>{run.name}</b> · {_tr(lang, 'train', '훈련')} %{{y:.1f}}%"
                          f"<br>{_tr(lang, 'iteration', '반복')} %{{customdata}}<extra></extra>"),
            row=1, col=col)
        fig.add_trace(go.Scatter(
            x=e[column], y=_percent(e["test_error"]), mode="lines+markers", name=f"{run.name} (test)",
            legendgroup=run.run_id, showlegend=False, marker=dict(size=6, color=colour),
            line=dict(color=colour, width=TEST_WIDTH, dash=TEST_DASH), meta={"run_id": run.run_id, "series": "test"},
            customdata=e["step"],
            hovertemplate=f"<b>{run.name}</b> · {_tr(lang, 'test', '테스트')} %{{y:.1f}}%"
                          f"<br>{_tr(lang, 'iteration', '반복')} %{{customdata}}<extra></extra>"),
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
            x=xs, y=marker_y, mode="markers", name=_tr(lang, "shortcuts toggled", "숏컷 전환"),
            legendgroup="toggles", showlegend=not shown_toggle_legend,
            marker=dict(symbol="diamond", size=11, color=colour, line=dict(color="white", width=1)),
            text=[f"{run.name}: {label} ({_tr(lang, 'iteration', '반복')} {int(step)})"
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
            fig.add_annotation(text=_tr(lang, f"paper (Table 6, 164 epochs): {values}",
                                        f"논문 (표 6, 164 에폭): {values}"),
                               xref="paper", x=domain[1], xanchor="right", yref="y2",
                               y=float(ref["test_error_paper_pct"].max()), yanchor="bottom", showarrow=False,
                               font=dict(size=11, color="#636363"), bgcolor="rgba(255,255,255,0.8)")
        if not ref.empty:  # one legend entry that says what the lines are
            fig.add_trace(go.Scatter(
                x=[None], y=[None], mode="lines", line=dict(color="#7f7f7f", dash=REFERENCE_DASH, width=1.2),
                name=_tr(lang, "paper, 164 epochs on CIFAR-10 (Table 6, final test error)",
                         "논문, CIFAR-10 164 에폭 (표 6, 최종 테스트 오류)"),
                legendgroup="reference", meta={"series": "reference"}), row=1, col=2)

    # Two legend entries that explain the line styles once, instead of per run.
    for label, dash, width in ((_tr(lang, "training error (dashed)", "훈련 오류 (점선)"), TRAIN_DASH, TRAIN_WIDTH),
                               (_tr(lang, "test error (bold)", "테스트 오류 (굵은 선)"), TEST_DASH, TEST_WIDTH)):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=label, legendgroup="style",
                                 line=dict(color="#7f7f7f", dash=dash, width=width), meta={"series": "style"}),
                      row=1, col=1)
    for col in (1, 2):
        if col not in panels_used:
            # An invisible trace keeps the empty panel's axes drawn; the note sits in its middle.
            fig.add_trace(go.Scatter(x=[None], y=[None], showlegend=False, hoverinfo="skip"), row=1, col=col)
            domain = (fig.layout.xaxis if col == 1 else fig.layout.xaxis2).domain
            fig.add_annotation(
                text=_tr(lang, "no plain net in this selection" if col == 1 else "no residual net in this selection",
                         "선택한 실행에 plain 네트워크가 없습니다" if col == 1 else "선택한 실행에 잔차 네트워크가 없습니다"),
                xref="paper", yref="paper", x=(domain[0] + domain[1]) / 2, y=0.5, xanchor="center",
                showarrow=False, font=dict(color="#969696", size=13))
    fig.update_xaxes(title_text=_tr(lang, x_en, x_ko), showgrid=True, rangemode="tozero")
    fig.update_xaxes(matches="x", row=1, col=2)
    fig.update_yaxes(title_text=_tr(lang, "error (%)", "오류 (%)"), rangemode="tozero", row=1, col=1)
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
    falls. Training error (dashed, as in the paper's Fig. 6) is the mean of the last 20
    iterations; test error (bold) the last evaluation. Several runs of one kind and depth are
    averaged.

    Args:
        summary_df: ``resnet_edu.analysis.summarize_runs`` output (depth, kind, family,
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
            kind_label = _tr(lang, "plain", "plain 네트워크") if kind == "plain" else _tr(lang, "residual", "잔차 네트워크")
            colour = KIND_COLOURS[kind]
            fig.add_trace(go.Scatter(
                x=agg["depth"], y=100 * agg["train"], mode="lines+markers",
                name=f"{kind_label} · {_tr(lang, 'training', '훈련')}{suffix}",
                line=dict(color=colour, width=TRAIN_WIDTH, dash=TRAIN_DASH),
                marker=dict(size=8, color="white", line=dict(color=colour, width=2)),
                customdata=np.stack([agg["runs"], agg["steps"]], axis=1), meta={"kind": kind, "series": "train"},
                hovertemplate=f"{kind_label}-%{{x}}: {_tr(lang, 'training', '훈련')} %{{y:.1f}}%"
                              f"<br>{_tr(lang, 'runs', '실행')} %{{customdata[0]}}, "
                              f"{_tr(lang, 'iteration', '반복')} %{{customdata[1]}}<extra></extra>"))
            test = agg.dropna(subset=["test"])
            if not test.empty:
                fig.add_trace(go.Scatter(
                    x=test["depth"], y=100 * test["test"], mode="lines+markers",
                    name=f"{kind_label} · {_tr(lang, 'test', '테스트')}{suffix}",
                    line=dict(color=colour, width=TEST_WIDTH, dash=TEST_DASH), marker=dict(size=10, color=colour),
                    meta={"kind": kind, "series": "test"},
                    hovertemplate=f"{kind_label}-%{{x}}: {_tr(lang, 'test', '테스트')} %{{y:.1f}}%<extra></extra>"))
    depths = sorted(set(int(d) for d in data["depth"])) if len(data) else []
    if reference is not None and len(reference) and "cifar" in families:
        cifar_depths = set(int(d) for d in data.loc[data["family"] == "cifar", "depth"])
        ref = reference[reference["depth"].isin(cifar_depths)]
        if not ref.empty:
            fig.add_trace(go.Scatter(
                x=ref["depth"], y=ref["test_error_paper_pct"], mode="markers",
                name=_tr(lang, "paper ResNets, test (Table 6, 164 epochs)", "논문 ResNet 테스트 (표 6, 164 에폭)"),
                marker=dict(symbol="star", size=13, color="#969696"), meta={"series": "reference"},
                hovertemplate=_tr(lang, "paper ResNet-%{x}: %{y:.2f}% after 164 epochs<extra></extra>",
                                  "논문 ResNet-%{x}: 164 에폭 후 %{y:.2f}%<extra></extra>")))
    if not depths:
        fig.add_annotation(text=_tr(lang, "no finished iterations yet", "아직 완료된 반복이 없습니다"),
                           xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                           font=dict(color="#969696", size=13))
        fig.update_yaxes(range=[0, 100])
    fig.update_xaxes(title_text=_tr(lang, "depth (layers)", "깊이 (층 수)"), tickvals=depths or None)
    fig.update_yaxes(title_text=_tr(lang, "final error (%)", "최종 오류 (%)"), rangemode="tozero")
    style(fig, height=height, uirevision=uirevision)
    return fig


# ---------------------------------------------------------------- architecture
# Builders for the Paper and Architecture pages. Text comes in both languages (lang="en"|"ko").
from plotly.subplots import make_subplots as _make_subplots  # noqa: E402

ILSVRC_BAR = "#74a9cf"
ILSVRC_HIGHLIGHT = "#d94801"
ERROR_LINE = "#252525"


def _arch_tr(lang: str, en: str, ko: str) -> str:
    return ko if lang == "ko" else en


def ilsvrc_figure(table, *, lang: str = "en", height: int = 430) -> go.Figure:
    """The "revolution of depth": ILSVRC classification winners, depth (bars) and top-5 error (line).

    ``table`` has columns year, entry, layers (empty for shallow, hand-engineered entries),
    top5_error (%), as in ``assets/ilsvrc.csv``.
    """
    labels = [f"{int(year)}<br>{entry}" for year, entry in zip(table["year"], table["entry"])]
    layers = [None if layers != layers or layers is None else int(layers) for layers in table["layers"]]
    shallow = _arch_tr(lang, "shallow", "얕은 모델")
    layer_word = _arch_tr(lang, "layers", "층")
    fig = _make_subplots(specs=[[{"secondary_y": True}]])
    deepest = max(value for value in layers if value is not None)
    fig.add_trace(go.Bar(
        x=labels, y=[value if value is not None else 0 for value in layers],
        name=_arch_tr(lang, "layers (depth)", "층 수 (깊이)"),
        marker_color=[ILSVRC_HIGHLIGHT if value == deepest else ILSVRC_BAR for value in layers],
        text=[(f"{value}{layer_word}" if lang == "ko" else f"{value} {layer_word}") if value is not None else shallow
              for value in layers],
        textposition="outside", cliponaxis=False, customdata=list(table["year"]),
        hovertemplate="%{x}<br>%{text}<extra></extra>"), secondary_y=False)
    fig.add_trace(go.Scatter(
        x=labels, y=list(table["top5_error"]), name=_arch_tr(lang, "top-5 error (%)", "top-5 오류 (%)"),
        mode="lines+markers", line=dict(color=ERROR_LINE, width=2.5), marker=dict(size=9),
        text=[f"{value:g}%" for value in table["top5_error"]],
        customdata=list(table["year"]), hovertemplate="%{x}<br>top-5 %{y:.2f}%<extra></extra>"), secondary_y=True)
    for label, value in zip(labels, table["top5_error"]):  # on a white chip, readable over the bars
        fig.add_annotation(x=label, y=value, yref="y2", text=f"<b>{value:g}%</b>", showarrow=False, yshift=16,
                           bgcolor="rgba(255,255,255,0.85)", font=dict(color=ERROR_LINE, size=12))
    fig.update_yaxes(title_text=_arch_tr(lang, "layers", "층 수"), range=[0, deepest * 1.18], dtick=50, secondary_y=False)
    fig.update_yaxes(title_text=_arch_tr(lang, "top-5 error (%)", "top-5 오류 (%)"),
                     range=[0, max(table["top5_error"]) * 1.25], dtick=10, ticksuffix="%", showgrid=False,
                     secondary_y=True)
    fig.update_xaxes(title_text=_arch_tr(lang, "ILSVRC classification, by year", "ILSVRC 분류 부문, 연도별"))
    return style(fig, height=height)


def stage_cost_figure(frame, *, lang: str = "en", height: int = 360) -> go.Figure:
    """Parameters and multiply-adds per stage (rows of ``models.describe`` without the total)."""
    rows = frame[frame["layer"] != "total"]
    names = [f"{paper} ({layer})" if paper != layer else layer
             for paper, layer in zip(rows.get("paper_name", rows["layer"]), rows["layer"])]
    fig = _make_subplots(rows=1, cols=2, subplot_titles=(_arch_tr(lang, "parameters", "파라미터 수"),
                                                         _arch_tr(lang, "multiply-adds (one image)", "곱셈-덧셈 (이미지 1장)")))
    fig.add_trace(go.Bar(x=names, y=rows["parameters"], marker_color="#4263eb", name=_arch_tr(lang, "parameters", "파라미터"),
                         hovertemplate="%{x}<br>%{y:,}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Bar(x=names, y=rows["mult_adds"], marker_color="#e8590c",
                         name=_arch_tr(lang, "multiply-adds", "곱셈-덧셈"),
                         hovertemplate="%{x}<br>%{y:,}<extra></extra>"), row=1, col=2)
    fig.update_layout(showlegend=False)
    return style(fig, height=height)


def cost_comparison_figure(table, *, lang: str = "en", height: int = 320) -> go.Figure:
    """Fig. 3's point as bars: multiply-adds (billions) of VGG-19 and the 34-layer nets (and more).

    ``table`` has columns model, mult_adds (count) and optionally paper_g (the paper's number, G).
    """
    values = [value / 1e9 for value in table["mult_adds"]]
    colours = ["#868e96" if "VGG" in str(model) else ("#adb5bd" if "plain" in str(model).lower() else "#1c7ed6")
               for model in table["model"]]
    fig = go.Figure(go.Bar(
        y=list(table["model"]), x=values, orientation="h", marker_color=colours,
        text=[f"{value:.2f}G" for value in values], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.2f}G<extra></extra>", name=_arch_tr(lang, "measured", "측정값")))
    if "paper_g" in table:
        fig.add_trace(go.Scatter(
            y=list(table["model"]), x=list(table["paper_g"]), mode="markers",
            marker=dict(symbol="line-ns", size=22, line=dict(width=3, color="#c92a2a")),
            name=_arch_tr(lang, "paper (Fig. 3 / Table 1)", "논문 값 (그림 3 / 표 1)"),
            hovertemplate="%{y}: %{x}G (paper)<extra></extra>"))
    fig.update_xaxes(title_text=_arch_tr(lang, "multiply-adds per 224×224 image (billions)",
                                         "224×224 이미지 1장당 곱셈-덧셈 (십억, G)"),
                     range=[0, max(values) * 1.2])
    fig.update_yaxes(autorange="reversed")
    return style(fig, height=height)


# ---------------------------------------------------------------- inside the network
# Builders for the Gradients, Features and Lesion pages. Text in both languages (lang="en"|"ko").
# Plain nets are dotted, residual nets solid, one colour per depth (as on every page).
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from plotly.subplots import make_subplots as _in_subplots  # noqa: E402

INSIDE_HEAT_SCALE = "Viridis"
INSIDE_CAM_SCALE = "Turbo"
INSIDE_IG_SCALE = "Inferno"


def _in_tr(lang: str, en: str, ko: str) -> str:
    return ko if lang == "ko" else en


def _kind_dash(shortcuts: bool) -> str:
    return "solid" if shortcuts else PLAIN_DASH


def _log10_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Colour-bar ticks for log10 values in [lo, hi]: decades, or 1-2-5 steps when the range is narrow."""
    first, last = int(np.floor(lo)), int(np.ceil(hi))
    if last - first <= 2:
        vals = [np.log10(m) + e for e in range(first, last + 1) for m in (1, 2, 5)]
        vals = [v for v in vals if lo - 1e-9 <= v <= hi + 1e-9] or [lo, hi]
        return [float(v) for v in vals], [f"{10.0 ** v:.3g}" for v in vals]
    step = max(1, (last - first) // 8)
    vals = list(range(first, last + 1, step))
    return [float(v) for v in vals], [f"1e{v}" if abs(v) > 2 else f"{10.0 ** v:g}" for v in vals]


def _stage_spans(layers: list[str]) -> list[tuple[str, int, int]]:
    """(stage, first row, last row) of each run of layers: "conv1" is the stem, "layer2.…" stage 2."""
    spans: list[tuple[str, int, int]] = []
    for index, name in enumerate(layers):
        stage = name.split(".")[0]
        if spans and spans[-1][0] == stage:
            spans[-1] = (stage, spans[-1][1], index)
        else:
            spans.append((stage, index, index))
    return spans


def gradient_heatmaps(panels: list[tuple[str, pd.DataFrame, int, int]], *, lang: str = "en",
                      row_height: int = 300, uirevision: str | None = None) -> go.Figure:
    """Per-layer gradient norms over training, layer × iteration, on one shared log colour scale.

    A grid with plain nets in the left column and residual nets in the right one, one row
    per depth, so twins of equal depth sit side by side.

    Args:
        panels: (title, matrix, row, col), row and col 1-based; a matrix has one row per layer
            in depth order (input first, drawn at the top) and one column per recorded iteration
            (``probes.layer_step_matrix``). Zeros (e.g. zero-initialised branches) are blank.
    """
    rows = max((r for _, _, r, _ in panels), default=1)
    used = sorted({c for _, _, _, c in panels}) or [1]
    column = {c: i for i, c in enumerate(used, start=1)}  # only the kinds present get a column
    panels = [(title, matrix, r, column[c]) for title, matrix, r, c in panels]
    cols = len(used)
    titles = [""] * (rows * cols)
    for title, _, r, c in panels:
        titles[(r - 1) * cols + (c - 1)] = title
    fig = _in_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.12,
                       vertical_spacing=min(0.12, 0.3 / rows))
    logs = []
    for _, matrix, _, _ in panels:
        values = matrix.to_numpy(dtype="float64") if not matrix.empty else np.zeros((0, 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            logs.append(np.where(values > 0, np.log10(np.where(values > 0, values, 1.0)), np.nan))
    finite = np.concatenate([v[np.isfinite(v)] for v in logs]) if logs else np.array([])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-3.0, 1.0)
    if hi - lo < 1e-6:
        lo, hi = lo - 0.5, hi + 0.5
    tickvals, ticktext = _log10_ticks(lo, hi)
    word_layer, word_step = _in_tr(lang, "layer", "층"), _in_tr(lang, "iteration", "반복")
    for (title, matrix, r, c), z in zip(panels, logs):
        if matrix.empty:
            continue
        layers = [str(n) for n in matrix.index]
        fig.add_trace(go.Heatmap(
            z=z, x=[int(s) for s in matrix.columns], y=list(range(len(layers))), coloraxis="coloraxis",
            customdata=matrix.to_numpy(dtype="float64"), text=[[name] * matrix.shape[1] for name in layers],
            hovertemplate=f"{word_layer} %{{text}}<br>{word_step} %{{x}}<br>‖∇W‖ = %{{customdata:.3g}}"
                          f"<extra>{title}</extra>"),
            row=r, col=c)
        spans = _stage_spans(layers)
        labels = [_in_tr(lang, "stem", "입력층") if stage == "conv1" else
                  _in_tr(lang, f"stage {stage.removeprefix('layer')}", f"{stage.removeprefix('layer')}단계")
                  for stage, _, _ in spans]
        fig.update_yaxes(autorange="reversed", tickmode="array", tickvals=[(a + b) / 2 for _, a, b in spans],
                         ticktext=labels, showgrid=False, zeroline=False, row=r, col=c)
        for _, first, _ in spans[1:]:  # a thin line where each stage starts
            fig.add_hline(y=first - 0.5, line=dict(color="white", width=1.5), row=r, col=c)
        fig.update_xaxes(showgrid=False, row=r, col=c)
    fig.update_xaxes(title_text=word_step, row=rows)
    fig.update_layout(coloraxis=dict(colorscale=INSIDE_HEAT_SCALE, cmin=lo, cmax=hi, colorbar=dict(
        title=_in_tr(lang, "‖∇W‖<br>(log)", "‖∇W‖<br>(로그)"), tickvals=tickvals, ticktext=ticktext, len=0.9)))
    style(fig, height=80 + row_height * rows, uirevision=uirevision)
    fig.update_layout(margin=dict(l=10, r=10, t=40, b=10))
    return fig


def gradient_ratio_figure(frame: pd.DataFrame, *, lang: str = "en", height: int = 380,
                          uirevision: str | None = None) -> go.Figure:
    """First-conv / last-conv gradient norm over iterations, log scale, one line per run.

    ``frame``: run_id, name, depth, shortcuts (bool), step, ratio.
    """
    fig = go.Figure()
    for run_id, rows in frame.groupby("run_id", sort=False):
        first = rows.iloc[0]
        fig.add_trace(go.Scatter(
            x=rows["step"], y=rows["ratio"], mode="lines+markers", name=str(first["name"]), showlegend=True,
            line=dict(color=depth_colour(int(first["depth"])), dash=_kind_dash(bool(first["shortcuts"])), width=2.5),
            marker=dict(size=5), meta={"run_id": run_id},
            hovertemplate=f"<b>{first['name']}</b><br>{_in_tr(lang, 'iteration', '반복')} %{{x}}"
                          f"<br>{_in_tr(lang, 'first/last', '처음/마지막')} = %{{y:.3g}}<extra></extra>"))
    fig.add_hline(y=1.0, line=dict(color="#969696", dash="dash", width=1),
                  annotation=dict(text=_in_tr(lang, "equal norms", "같은 크기"), font=dict(size=11, color="#737373")),
                  annotation_position="bottom right")
    fig.update_yaxes(type="log", dtick=1, exponentformat="power",
                     title_text=_in_tr(lang, "first / last conv gradient (log)", "첫 층 / 마지막 층 기울기 (로그)"))
    fig.update_xaxes(title_text=_in_tr(lang, "iteration", "반복"), rangemode="tozero")
    return style(fig, height=height, uirevision=uirevision)


def layer_norms_figure(frame: pd.DataFrame, *, value: str = "grad_norm", lang: str = "en", height: int = 380,
                       log: bool = True, y_title: tuple[str, str] | None = None) -> go.Figure:
    """One value per layer (x: depth order), one line per net: e.g. gradient norms at initialisation.

    ``frame``: name, depth, shortcuts, layer, layer_index and the ``value`` column.
    """
    fig = go.Figure()
    for name, rows in frame.groupby("name", sort=False):
        first = rows.iloc[0]
        fig.add_trace(go.Scatter(
            x=rows["layer_index"], y=rows[value], mode="lines+markers", name=str(name), text=rows["layer"],
            showlegend=True,
            line=dict(color=depth_colour(int(first["depth"])), dash=_kind_dash(bool(first["shortcuts"])), width=2.5),
            marker=dict(size=4),
            hovertemplate=f"<b>{name}</b> · %{{text}}<br>%{{y:.3g}}<extra></extra>"))
    en, ko = y_title or ("gradient norm ‖∇W‖ (log)", "기울기 크기 ‖∇W‖ (로그)")
    fig.update_yaxes(type="log" if log else "linear", title_text=_in_tr(lang, en, ko))
    if log:
        fig.update_yaxes(dtick=1, exponentformat="power")
    fig.update_xaxes(title_text=_in_tr(lang, "layer index (0 = first conv, near the input)",
                                       "층 번호 (0 = 입력 쪽 첫 합성곱)"))
    return style(fig, height=height)


def response_figure(frame: pd.DataFrame, *, lang: str = "en", height: int = 520, log: bool = False,
                    uirevision: str | None = None) -> go.Figure:
    """The paper's Fig. 7: std of each 3x3 layer's response, by layer index (top) and sorted (bottom).

    ``frame``: name, depth, shortcuts, layer, layer_index, value, rank (``probes.profile_at``).
    """
    fig = _in_subplots(rows=2, cols=1, vertical_spacing=0.2, subplot_titles=(
        _in_tr(lang, "by layer index (input → output)", "층 순서대로 (입력 → 출력)"),
        _in_tr(lang, "sorted by magnitude", "크기순 정렬")))
    for name, rows in frame.groupby("name", sort=False):
        first = rows.iloc[0]
        line = dict(color=depth_colour(int(first["depth"])), dash=_kind_dash(bool(first["shortcuts"])), width=2)
        hover = f"<b>{name}</b> · %{{text}}<br>std %{{y:.3f}}<extra></extra>"
        fig.add_trace(go.Scatter(x=rows["layer_index"], y=rows["value"], mode="lines", name=str(name), line=line,
                                 text=rows["layer"], legendgroup=str(name), showlegend=True, hovertemplate=hover),
                      row=1, col=1)
        ranked = rows.sort_values("rank")
        fig.add_trace(go.Scatter(x=ranked["rank"], y=ranked["value"], mode="lines", name=str(name), line=line,
                                 text=ranked["layer"], legendgroup=str(name), showlegend=False,
                                 hovertemplate=hover), row=2, col=1)
    fig.update_xaxes(title_text=_in_tr(lang, "layer index", "층 번호"), row=1, col=1)
    fig.update_xaxes(title_text=_in_tr(lang, "rank (largest first)", "순위 (큰 것부터)"), row=2, col=1)
    if log:
        fig.update_yaxes(title_text=_in_tr(lang, "std (log)", "표준편차 (로그)"), type="log", dtick=1,
                         exponentformat="power")
    else:
        fig.update_yaxes(title_text=_in_tr(lang, "std", "표준편차"), rangemode="tozero")
    style(fig, height=height, uirevision=uirevision)
    fig.update_layout(margin=dict(l=10, r=10, t=110, b=10), legend=dict(y=1.14))
    return fig


def image_figure(image: np.ndarray, *, title: str = "", height: int = 260) -> go.Figure:
    """One RGB image (H, W, 3) in [0, 1], pixels kept square."""
    fig = go.Figure(go.Image(z=np.clip(image * 255.0, 0, 255).astype(np.uint8), hoverinfo="skip"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    style(fig, height=height)
    fig.update_layout(title=dict(text=title, font=dict(size=14)), margin=dict(l=0, r=0, t=40 if title else 0, b=0))
    return fig


def feature_grid_figure(rows: list[tuple[str, list[int], np.ndarray]], *, lang: str = "en",
                        height_per_row: int = 120) -> go.Figure:
    """Feature maps as an image grid: one row per stage, its strongest channels left to right.

    Args:
        rows: (row title, channel indices, maps (k, h, w)); each map is scaled to its own maximum.
    """
    ncols = max((len(channels) for _, channels, _ in rows), default=1)
    titles = []
    for _, channels, _ in rows:
        titles += [f"#{c}" for c in channels] + [""] * (ncols - len(channels))
    fig = _in_subplots(rows=max(1, len(rows)), cols=ncols, subplot_titles=titles,
                         horizontal_spacing=0.008, vertical_spacing=0.09)
    for r, (title, channels, maps) in enumerate(rows, start=1):
        for c, (channel, fmap) in enumerate(zip(channels, maps), start=1):
            top = float(np.max(fmap)) if fmap.size else 0.0
            z = fmap / top if top > 0 else np.zeros_like(fmap)
            fig.add_trace(go.Heatmap(z=z, coloraxis="coloraxis", customdata=fmap,
                                     hovertemplate=f"{title} #{channel}<br>%{{customdata:.3f}}<extra></extra>"),
                          row=r, col=c)
        fig.update_yaxes(title_text=title, row=r, col=1)
    fig.update_xaxes(showticklabels=False, showgrid=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, autorange="reversed")
    for index in range(1, len(rows) * ncols + 1):  # keep pixels square in every cell
        suffix = "" if index == 1 else str(index)
        fig.layout[f"yaxis{suffix}"].update(scaleanchor=f"x{suffix}")
    fig.update_layout(coloraxis=dict(colorscale=INSIDE_HEAT_SCALE, cmin=0, cmax=1, showscale=False))
    style(fig, height=60 + height_per_row * max(1, len(rows)))
    fig.update_annotations(font_size=10)
    fig.update_layout(margin=dict(l=60, r=10, t=30, b=10))
    return fig


def overlay_figure(image: np.ndarray, maps: list[tuple[str, np.ndarray]], *, scale: str = INSIDE_CAM_SCALE,
                   opacity: float = 0.55, height: int = 250) -> go.Figure:
    """The image with a heat map (H, W) in [0, 1] laid over it, one panel per map."""
    fig = _in_subplots(rows=1, cols=max(1, len(maps)), subplot_titles=[t for t, _ in maps],
                         horizontal_spacing=0.02)
    pixels = np.clip(image * 255.0, 0, 255).astype(np.uint8)
    for col, (title, heat) in enumerate(maps, start=1):
        fig.add_trace(go.Image(z=pixels, hoverinfo="skip"), row=1, col=col)
        fig.add_trace(go.Heatmap(z=heat, coloraxis="coloraxis", opacity=opacity,
                                 hovertemplate=f"{title}<br>%{{z:.2f}}<extra></extra>"), row=1, col=col)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    for index in range(1, len(maps) + 1):
        suffix = "" if index == 1 else str(index)
        fig.layout[f"yaxis{suffix}"].update(scaleanchor=f"x{suffix}", autorange="reversed")
    fig.update_layout(coloraxis=dict(colorscale=scale, cmin=0, cmax=1, showscale=False))
    style(fig, height=height)
    fig.update_layout(margin=dict(l=0, r=0, t=30, b=0))
    return fig


def lesion_blocks_figure(frame: pd.DataFrame, *, lang: str = "en", height: int = 420) -> go.Figure:
    """Test error with one block deleted, per block, one line per net; the intact nets as flat lines.

    ``frame``: name, depth, shortcuts, block ("none" = the intact net), position (1 = first block),
    stage, downsampling, error. Stages are shaded; ◆ marks the blocks that shrink the map.
    """
    fig = go.Figure()
    for number, (name, rows) in enumerate(frame.groupby("name", sort=False)):
        first = rows.iloc[0]
        colour = depth_colour(int(first["depth"]))
        dash = _kind_dash(bool(first["shortcuts"]))
        full = rows[rows["block"] == "none"]
        lesioned = rows[rows["block"] != "none"]
        fig.add_trace(go.Scatter(
            x=lesioned["position"], y=100 * lesioned["error"], mode="lines+markers",
            name=_in_tr(lang, f"{name}: one block deleted", f"{name}: 블록 하나 제거"), showlegend=True,
            line=dict(color=colour, dash=dash, width=2.5), text=lesioned["block"],
            marker=dict(size=[11 if d else 6 for d in lesioned["downsampling"]],
                        symbol=["diamond" if d else "circle" for d in lesioned["downsampling"]]),
            hovertemplate=f"<b>{name}</b> − %{{text}}<br>{_in_tr(lang, 'test error', '테스트 오류')} %{{y:.1f}}%"
                          "<extra></extra>"))
        if len(full):
            fig.add_hline(y=100 * float(full["error"].iloc[0]), line=dict(color=colour, dash=dash, width=1),
                          opacity=0.7, annotation=dict(text=_in_tr(lang, f"{name}, intact", f"{name}, 제거 없음"),
                                                       font=dict(size=11, color=colour)),
                          annotation_position="bottom right" if number % 2 else "top left")
    blocks = frame[frame["block"] != "none"]
    for stage, rows in blocks.groupby("stage"):  # shade every other stage, label each
        lo, hi = float(rows["position"].min()) - 0.5, float(rows["position"].max()) + 0.5
        fig.add_vrect(x0=lo, x1=hi, fillcolor="#f0f0f0" if int(stage) % 2 else "#ffffff", opacity=0.6,
                      layer="below", line_width=0,
                      annotation=dict(text=_in_tr(lang, f"stage {int(stage)}", f"{int(stage)}단계"),
                                      font=dict(size=11, color="#737373")),
                      annotation_position="top")
    fig.update_xaxes(title_text=_in_tr(lang, "deleted block (1 = nearest the input; ◆ = the map shrinks)",
                                       "제거한 블록 (1 = 입력 쪽 첫 블록; ◆ = 맵이 줄어드는 블록)"),
                     showgrid=False, rangemode="tozero")
    fig.update_yaxes(title_text=_in_tr(lang, "test error (%)", "테스트 오류 (%)"), range=[0, 100])
    return style(fig, height=height)


def lesion_random_figure(summary: pd.DataFrame, *, lang: str = "en", height: int = 380) -> go.Figure:
    """Mean test error (± std over random draws) after deleting k random blocks, one line per net.

    ``summary``: name, depth, shortcuts, k, mean, std (``lesion.summarise_random`` + run columns).
    """
    fig = go.Figure()
    for name, rows in summary.groupby("name", sort=False):
        first = rows.iloc[0]
        fig.add_trace(go.Scatter(
            x=rows["k"], y=100 * rows["mean"], mode="lines+markers", name=str(name), showlegend=True,
            error_y=dict(type="data", array=100 * rows["std"].fillna(0), visible=True, thickness=1.2),
            line=dict(color=depth_colour(int(first["depth"])), dash=_kind_dash(bool(first["shortcuts"])), width=2.5),
            hovertemplate=f"<b>{name}</b><br>k = %{{x}}<br>{_in_tr(lang, 'mean test error', '평균 테스트 오류')} "
                          "%{y:.1f}%<extra></extra>"))
    fig.update_xaxes(title_text=_in_tr(lang, "number of blocks deleted at random (k)", "무작위로 제거한 블록 수 (k)"),
                     dtick=1)
    fig.update_yaxes(title_text=_in_tr(lang, "test error (%)", "테스트 오류 (%)"), range=[0, 100])
    return style(fig, height=height)
