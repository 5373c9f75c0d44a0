"""Small helpers every part of the store shares: checking what callers pass, and turning values
into what SQLite stores (and back).

The rules are the same for every table: a run id is short safe text,
numbers may come as numpy or torch scalars, JSON must take dataclasses and enums, and a
read becomes a DataFrame with fixed column types even when it has no rows.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib.metadata
import json
import os
import platform
import re
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import pandas as pd

MAX_NAME_CHARS = 200
MAX_MESSAGE_CHARS = 4000

_RUN_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class RunNotFound(KeyError):
    """No run with this id (or the id is not a valid run id at all)."""

    def __init__(self, run_id: object) -> None:
        shown = str(run_id)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        self.run_id = run_id
        super().__init__(f"no run with id '{shown}'")

    def __str__(self) -> str:  # KeyError would add quotes around the message
        return str(self.args[0])


def check_run_id(run_id: Any) -> str:
    """``run_id`` itself if it is a well-formed run id; ``RunNotFound`` otherwise (never an SQL error)."""
    if not isinstance(run_id, str) or not _RUN_ID_RE.fullmatch(run_id):
        raise RunNotFound(run_id)
    return run_id


def utc_now() -> str:
    """Now, as ISO 8601 text in UTC with milliseconds (sorts as text in time order)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def to_float(x: Any) -> float | None:
    """A number as a float SQLite can bind, or None."""
    # float() also accepts numpy scalars and 0-d tensors, which sqlite3 cannot bind.
    # SQLite turns NaN into NULL by itself; inf is stored as inf.
    return None if x is None else float(x)


def to_int(x: Any, what: str) -> int:
    """An integer (a numpy integer or a whole float too); TypeError naming ``what`` otherwise."""
    if isinstance(x, bool) or not hasattr(x, "__index__"):
        if isinstance(x, float) and x.is_integer():
            return int(x)
        raise TypeError(f"{what} must be an integer, got {x!r}")
    return int(x.__index__())


def check_text(value: Any, what: str, max_chars: int = MAX_NAME_CHARS) -> str:
    """``value`` if it is unicode text of at most ``max_chars`` characters; a clear error naming ``what`` otherwise."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, got {type(value).__name__}")
    if len(value) > max_chars:
        raise ValueError(f"{what} is {len(value)} characters long; at most {max_chars} are allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} is not valid unicode text: {exc}") from None
    return value


def _json_default(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if hasattr(obj, "item"):  # numpy / torch scalars
        try:
            return obj.item()
        except (TypeError, ValueError):
            pass
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


def dumps(obj: Any) -> str:
    """JSON text of settings and details: dataclasses, enums, paths and numpy/torch scalars included."""
    return json.dumps(obj, default=_json_default, ensure_ascii=False)


def loads(text: str | None, empty: Any) -> Any:
    """Parsed JSON, or ``empty`` for NULL or unreadable text (a read never fails on one bad cell)."""
    if text is None:
        return empty
    try:
        return json.loads(text)
    except ValueError:
        return empty


def to_frame(rows: list, columns: list[str], dtypes: Mapping[str, str]) -> pd.DataFrame:
    """Rows (tuples, or dicts keyed by column) as a DataFrame, each column made with its dtype at once.

    (Building with ``from_records`` and then ``astype`` took twice as long: pages read the store
    on every refresh.)
    """
    if rows and isinstance(rows[0], Mapping):
        values = [[row[name] for row in rows] for name in columns]
    else:
        values = list(zip(*rows)) if rows else [()] * len(columns)
    return pd.DataFrame({name: pd.Series(column, dtype=dtypes.get(name)) for name, column in zip(columns, values)},
                        columns=columns)


_VERSIONS: dict[str, str] | None = None


def run_versions() -> dict[str, str]:
    """Provenance stored with every run. Reads package metadata: never imports torch."""
    global _VERSIONS
    if _VERSIONS is None:
        from resnet_edu import __version__  # the package's own version: no heavy import

        v = {"python": platform.python_version(), "platform": platform.platform(), "resnet_lab": __version__}
        for pkg in ("torch", "torchvision"):
            try:
                v[pkg] = importlib.metadata.version(pkg)
            except importlib.metadata.PackageNotFoundError:
                pass
        _VERSIONS = v
    out = dict(_VERSIONS)
    torch = sys.modules.get("torch")  # only if the app already imported it
    cuda = getattr(getattr(torch, "version", None), "cuda", None)
    if cuda:
        out["cuda"] = str(cuda)
    return out
