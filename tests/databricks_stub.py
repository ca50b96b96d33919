"""A stand-in for what a Databricks notebook finds in its globals: ``dbutils.widgets`` and ``display``.

Only what lakeshrink's notebooks use: text and dropdown widgets (``get`` returns the value set by the test, else
the default), and ``display`` that records what it is given (a Spark DataFrame is collected, so a bad one fails).
"""

from __future__ import annotations

from typing import Any


class Widgets:
    def __init__(self, values: dict[str, str] | None = None):
        self._values = dict(values or {})
        self._defaults: dict[str, str] = {}

    def text(self, name: str, default: str, label: str | None = None) -> None:
        self._defaults[name] = default

    def dropdown(self, name: str, default: str, choices: list[str], label: str | None = None) -> None:
        if default not in choices:
            raise ValueError(f"widget {name}: default {default!r} is not one of {choices}")
        self._defaults[name] = default

    def get(self, name: str) -> str:
        if name not in self._defaults:
            raise KeyError(f"no widget named {name!r} was defined")
        return self._values.get(name, self._defaults[name])

    def removeAll(self) -> None:  # noqa: N802 - Databricks' name
        self._defaults.clear()


class DBUtils:
    def __init__(self, values: dict[str, str] | None = None):
        self.widgets = Widgets(values)


class Display:
    """``display(x)``: keeps each shown object; Spark DataFrames are collected to rows."""

    def __init__(self) -> None:
        self.shown: list[Any] = []

    def __call__(self, obj: Any) -> None:
        if hasattr(obj, "collect") and hasattr(obj, "schema"):
            obj = [row.asDict() for row in obj.collect()]
        self.shown.append(obj)
