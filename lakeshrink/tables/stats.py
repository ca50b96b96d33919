"""Per-file statistics a table format records in its log or manifests, with how far they may be trusted.

Readers of :mod:`.delta` and :mod:`.iceberg` return one :class:`FileStats` per live data file; the containment
footer stage (:mod:`lakeshrink.containment.scan.footers`) folds them into per-table statistics. What a format's
statistics mean, and so how they may be used, is recorded here rather than guessed later:

* ``tight`` bounds are the exact extremes of the file's values; otherwise ``lo``/``hi`` are only outer bounds
  (Delta ``tightBounds: false`` with a deletion vector, Iceberg truncated string bounds, any file whose rows are
  partly deleted): values that may not exist in the data, usable only on the side of a parent.
* ``nulls`` counts physical rows; with deletions (``deleted``) it is exact only at 0 or at ``rows``.
* ``rows`` counts physical rows; ``live_rows`` is the count after deletions (None when unknown).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ColumnBounds:
    """One column's statistics in one file. ``lo``/``hi`` None means unknown (unless every value is null)."""

    lo: Any = None
    hi: Any = None
    nulls: int | None = None
    tight: bool = True


@dataclass(frozen=True)
class FileStats:
    """Statistics of one live data file of a table-format table."""

    rows: int
    live_rows: int | None
    deleted: bool
    columns: dict[str, ColumnBounds] = field(default_factory=dict)
    partition: dict[str, Any] = field(default_factory=dict)
