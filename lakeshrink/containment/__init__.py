"""Redundant-table containment (R2D2, Shah et al., SIGMOD'24) and the deletion planner, in two packages.

* :mod:`lakeshrink.containment.scan` finds the tables contained in other tables (``lakeshrink containment scan``):
  :func:`~lakeshrink.containment.scan.scan_lake` returns a :class:`~lakeshrink.containment.scan.ScanResult`,
  saved as ``containment.json`` + ``edges.parquet`` and read back with :func:`~lakeshrink.containment.scan.load_scan`.
* :mod:`lakeshrink.containment.planner` decides which contained tables to mark, writes recipes that rebuild them,
  audits them, marks and verifies (``containment plan|mark|verify|rebuild``). It reads the scan only through
  the result type above (the names :mod:`lakeshrink.containment.scan` exports), never the scan's stages.

Three small modules here serve both: :mod:`.rowhash` (per-value and per-row hashes, row checksums),
:mod:`.graph` (equal-table groups, transitive reduction, components of the containment graph) and
:mod:`.identity` (tables that are the same storage through links). The lake itself (discovery, reading) is
:mod:`lakeshrink.tables`; :mod:`.lake` re-exports its names. ``tests/test_import_rules.py`` checks the layering:
the shared modules import neither package, the scan never imports the planner.
"""
