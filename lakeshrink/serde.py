"""Turning lakeshrink's result objects into JSON, and writing JSON files safely.

Results are frozen dataclasses; :func:`to_jsonable` turns them (and Paths, enums, tuples, numpy scalars) into
plain JSON values, recursively, keeping field order.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
from pathlib import PurePath
from typing import Any



def to_jsonable(obj: Any) -> Any:
    """Return ``obj`` as plain JSON values (dict, list, str, int, float, bool, None)."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        if hasattr(obj, "to_dict"):
            return to_jsonable(obj.to_dict())
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, bytes):
        return obj.hex()
    if hasattr(obj, "item"):  # numpy scalar
        return to_jsonable(obj.item())
    raise TypeError(f"cannot turn {type(obj).__name__} into JSON")


def dumps(obj: Any, *, indent: int | None = 2) -> str:
    return json.dumps(to_jsonable(obj), indent=indent, ensure_ascii=False)


def write_json(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (temp file, then rename)."""
    from lakeshrink.fileio import atomic_file  # not at import: the CLI's start-up imports this module

    with atomic_file(path) as tmp:
        tmp.write_text(dumps(obj) + "\n", encoding="utf-8")
