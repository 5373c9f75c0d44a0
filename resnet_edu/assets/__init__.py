"""The paper's tables as CSV files, shipped inside the package: :func:`paper_table` reads one.

    table6.csv       Table 6: CIFAR-10 test error of plain nets and ResNets of every depth
    ilsvrc.csv       Tables 3-5: ImageNet top-1/top-5 errors of the nets the paper compares
    paper_costs.csv  the nets' sizes and multiply-adds as the paper gives them
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ASSETS = Path(__file__).resolve().parent


def paper_table(name: str) -> pd.DataFrame:
    """One of the paper's tables as a frame, by file name: ``paper_table("table6.csv")``."""
    return pd.read_csv(ASSETS / name)


__all__ = ["ASSETS", "paper_table"]
