"""The planner's per-runtime operation (a port, see :mod:`lakeshrink.engine`).

* :data:`REBUILDER`: rebuilding a marked table from its recipe, checked against its row checksum (in process on
  the local engine; one Spark job per table on Spark).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol

from lakeshrink.engine import Port

if TYPE_CHECKING:
    from lakeshrink.containment.planner.recipes import Recipe


class Rebuilder(Protocol):
    def write_rebuild(self, recipe: Recipe, root: str, output: str | os.PathLike[str]) -> str:
        """Rebuild the recipe's table as one Parquet file at ``output``, verified; returns its row checksum."""
        ...


REBUILDER: Port[Rebuilder] = Port("containment.rebuild", Rebuilder, "rebuild a marked table")
