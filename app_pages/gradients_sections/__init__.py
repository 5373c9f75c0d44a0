"""The Gradients page's sections; app_pages/gradients.py draws them in order. Here: how both
sections write a ratio and a CSV download."""

from __future__ import annotations

import pandas as pd

from resnet_edu.runs import export


def ratio_text(value: float) -> str:
    if value != value:  # nan
        return "–"
    return f"{value:,.0f}×" if value >= 100 else f"{value:.3g}×"


def csv_text(frame: pd.DataFrame) -> str:
    return export.csv_text(frame)  # run names cannot start a spreadsheet formula
