"""Where data sets live, and the error for one that is not there.

Its own small module because the loaders, the downloads and the weights files all need these
two facts, and none of them should import another just for them.
"""

from __future__ import annotations

import os
from pathlib import Path


class DataUnavailable(RuntimeError):
    """A data set that is not on this machine and cannot be downloaded now."""


def default_data_root() -> Path:
    """Where data sets live: ``$RESNET_EDU_DATA``, else ``./data``."""
    return Path(os.environ.get("RESNET_EDU_DATA") or "./data")
