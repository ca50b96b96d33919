"""The containment scan: which tables of a lake are contained in other tables (R2D2, Shah et al., SIGMOD'24).

* :mod:`.compare` says when columns match and how rows are normalised (nulls, NaN, -0.0, widening types);
* :mod:`.footers` reads footers and table-format log statistics (:mod:`.footer_guard` isolates crashing
  readers); :mod:`.schema_graph` is stage 1 (inverted column index); :mod:`.minmax` stage 2; :mod:`.sketches`
  stage 3 (bottom-k sketches); :mod:`.verify` stage 4 (exact verification of 128-bit row fingerprints,
  :mod:`.fingerprints`), read in one pass per table (:mod:`.fused`) and cached across scans (:mod:`.fpcache`);
* :mod:`.ports` declares the per-runtime operations (verification, catalog reading);
* :mod:`.run` runs the stages and reads/writes ``containment.json`` and ``edges.parquet``.

This package's names below are the scan's result as other packages (the planner, the CLI, jobs) use it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lakeshrink.containment.scan.run import (
        EDGES_FILE,
        SCAN_FILE,
        ScanResult,
        load_scan,
        scan_catalog,
        scan_lake,
        scan_tables,
    )

__all__ = ["EDGES_FILE", "SCAN_FILE", "ScanResult", "load_scan", "scan_catalog", "scan_lake", "scan_tables"]


def __getattr__(name: str) -> Any:
    """The names above, imported from :mod:`.run` on first use (PEP 562): a process that needs one stage's module
    (the footer reader's child, a Spark worker) does not import the whole scan, polars and pandas with it."""
    if name in __all__:
        value = getattr(importlib.import_module("lakeshrink.containment.scan.run"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
