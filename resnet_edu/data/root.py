"""Where data sets live (:func:`default_data_root`), where a CIFAR-10 photo subset for benchmarks
and tests is (:func:`cifar_subset`), and the error for a data set that is not there
(:class:`DataUnavailable`). The loaders, the downloads, the weights files and classroom access
read these facts here.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ROOT_ENV = "RESNET_EDU_DATA"  # the data root; unset: ./data
CIFAR_SUBSET_ENV = "RESNET_EDU_CIFAR_SUBSET"  # an ImageFolder tree of CIFAR-10 photos (train/, test/), if any


class DataUnavailable(RuntimeError):
    """A data set that is not on this machine and cannot be downloaded now."""


def default_data_root() -> Path:
    """Where data sets live: ``$RESNET_EDU_DATA``, else ``./data``."""
    return Path(os.environ.get(DATA_ROOT_ENV) or "./data")


def cifar_subset() -> Path | None:
    """The CIFAR-10 photo subset the benchmarks and a few tests use: ``$RESNET_EDU_CIFAR_SUBSET``
    when it names a folder, else None (they then fall back to the built-in set, or skip)."""
    named = os.environ.get(CIFAR_SUBSET_ENV, "").strip()
    return Path(named) if named and Path(named).is_dir() else None
