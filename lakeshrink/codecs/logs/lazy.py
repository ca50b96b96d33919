"""Heavy libraries imported on first use, so that a command that never needs them never pays for them.

``polars`` costs about 0.4 s of CPU and 50 MiB to import. Reading an archive back (``logs decompress``) and the
parent process of a parallel ``logs compress`` (it only reads input and writes chunks) need none of it; the
modules of this package therefore hold ``pl = lazy.polars`` instead of ``import polars as pl``, and polars is
imported the first time an attribute of ``pl`` is read. tests/test_logs_lazy.py checks which paths import it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for a module until an attribute is read; then imports it and caches each attribute read."""

    def __init__(self, name: str):
        self.__dict__["_name"] = name

    def _load(self) -> ModuleType:
        return importlib.import_module(self.__dict__["_name"])

    def __getattr__(self, attr: str) -> Any:  # called only for attributes not cached yet
        value = getattr(self._load(), attr)
        self.__dict__[attr] = value
        return value

    def __repr__(self) -> str:
        return f"<lazy module {self.__dict__['_name']!r}>"


polars: Any = LazyModule("polars")
