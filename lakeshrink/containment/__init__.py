"""Redundant-table containment (R2D2, Shah et al., SIGMOD'24) and the deletion planner.

The scan (:func:`lakeshrink.containment.scan.scan_lake`, ``lakeshrink containment scan``):

* :mod:`.lake` discovers the tables of a lake and reads them as Arrow;
* :mod:`.compare` says when columns match and how rows are normalised (nulls, NaN, -0.0, widening types);
* :mod:`.footers` reads footers and Delta log statistics; :mod:`.schema_graph` is stage 1 (inverted column
  index); :mod:`.minmax` stage 2; :mod:`.sketches` stage 3 (bottom-k sketches); :mod:`.verify` stage 4 (exact
  anti-joins with inference by transitivity);
* :mod:`.graph` computes equal-table groups and the transitive reduction; :mod:`.scan` runs the stages and
  reads/writes ``containment.json`` and ``edges.parquet``.

The planner's modules (plan, recipes, audit, marks, ...) read the scan through :func:`.scan.load_scan`.
"""
