"""A field of a frozen dataclass whose value may be given as a zero-argument callable, computed on first read.

The advisor computes what a plan's reasons need and the cost model may not (the order of a string column, the
text of a reason) only when someone reads it: a rewrite reads none. Equality, hashing, ``repr``, pickling and
``dataclasses.replace`` all read the field, so they see the value, never the callable.
"""

from __future__ import annotations

from typing import Any


class LazyField:
    """Descriptor for a dataclass field (``x: float | None = LazyField(None)``) that accepts a callable."""

    def __init__(self, default: Any = None, kind: type | None = None):
        self.default = default
        self.kind = kind  # the type the computed value is converted to (``str``), if any

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}_value"

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self.default  # the dataclass reads the field's default here
        value = obj.__dict__[self.slot]
        if callable(value):
            value = value()
            if self.kind is not None:
                value = self.kind(value)
            obj.__dict__[self.slot] = value
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.slot] = value


def resolved_state(obj: Any, *names: str) -> dict[str, Any]:
    """``obj.__dict__`` with the lazy fields ``names`` computed (for ``__getstate__``: callables do not pickle)."""
    state = dict(obj.__dict__)
    for name in names:
        state[f"_{name}_value"] = getattr(obj, name)
    return state
