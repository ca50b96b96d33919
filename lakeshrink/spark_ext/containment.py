"""The containment scan on Spark: stage 4 as one shuffle for all pairs, and catalog tables.

Stages 1-3 run on Spark through the engine's ``map`` (one footer task, then one read task per table: the same
functions as the local engine; stage 3's read stores each table's row fingerprints in the scan cache). Stage 4
(:func:`verify_spark`) runs the plan of :mod:`lakeshrink.containment.scan.verify` with SINDY's single shuffle
(Kruse et al., BTW'15):

1. ``spark.range(tables).mapInArrow(read)``: one task per slice of tables reads their fingerprint rows
   ``(colset, hi, lo, table, count)`` (:func:`lakeshrink.containment.scan.verify.table_rows`);
2. ``repartition(n, colset, hi, lo)``: the one shuffle; every fingerprint group lands whole in one partition,
   ``n`` sized to the plan's rows (:data:`ROWS_PER_PARTITION`);
3. ``mapInArrow(decide)``: :func:`lakeshrink.containment.scan.fingerprints.decide` on each partition, the same Arrow
   core as the local engine;
4. ``groupBy(pair).sum()``: the small aggregation giving every pair's counts, collected with ``toArrow``.

That is one Spark job, whatever the number of pairs, and only DataFrame APIs (``mapInArrow``, ``repartition``,
``groupBy``, ``spark.conf``), so it runs the same on Spark Connect. The fingerprint files must be readable by the
executors: on a cluster, give the scan a cache directory every executor sees.

Example:
    >>> from lakeshrink.containment.scan import scan_lake     # doctest: +SKIP
    >>> scan_lake("/lake", engine="spark")                    # doctest: +SKIP
"""

from __future__ import annotations

import posixpath
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc

from lakeshrink.containment.scan.compare import TypesMode
from lakeshrink.containment.scan.fingerprints import ROWS_SCHEMA, TOTALS_SCHEMA, decide
from lakeshrink.containment.scan.footers import failure_reason
from lakeshrink.containment.lake import Lake, Skipped, TableRef, resolve_root, table_at
from lakeshrink.containment.scan.sketches import TableSketch
from lakeshrink.containment.scan.verify import VerifyOutcome, VerifyPlan, table_rows, verdicts_from
from lakeshrink.errors import TableError

ROWS_PER_PARTITION = 4_000_000  # fingerprint rows plus joined child rows one decide task holds
_ROWS = "colset int, hi long, lo long, table int, count long"
_TOTALS = "pair int, distinct long, rows long, missing long, over long"
_FAILED = -1  # colset of the marker row a read task emits for a table whose fingerprints it cannot read


def spark_path(root: str, path: str) -> str:
    """A table path of the lake's pyarrow filesystem as Spark (Hadoop) names it: local paths as they are;
    object stores (pyarrow paths start with the bucket) as ``s3a://bucket/key`` or ``gs://bucket/key``; other
    schemes (``hdfs://host:port``, ``file://``) with the root's authority."""
    if "://" not in root:
        return path
    parsed = urlsplit(root)
    if parsed.scheme in ("s3", "s3a", "gs", "gcs"):
        return f"{'gs' if parsed.scheme in ('gs', 'gcs') else 's3a'}://{path.lstrip('/')}"
    return f"{parsed.scheme}://{parsed.netloc}/{path.lstrip('/')}"


def _slim(plan: VerifyPlan) -> VerifyPlan:
    """The plan without stage 3's sketches (they are not needed to read fingerprints, and would be shipped to
    every task)."""
    reads = {}
    for table, (task, result) in plan.reads.items():
        fp = result.fingerprints
        slim_fp = replace(fp, column_sketches={}, row_sketches={}) if fp is not None else None
        reads[table] = (task, replace(result, sketch=TableSketch(table), fingerprints=slim_fp))
    return replace(plan, reads=reads)


def _as_signed(rows: pa.Table) -> pa.RecordBatch:
    """Fingerprint rows with ``hi``/``lo`` as int64 (Spark has no unsigned types; only equality matters)."""
    columns = [c.combine_chunks() for c in rows.columns]
    for i in (1, 2):
        columns[i] = columns[i].view(pa.int64())
    return pa.RecordBatch.from_arrays(columns, names=rows.column_names)


def _reader(plan: VerifyPlan) -> Any:
    tables = plan.tables

    def read(batches: Any) -> Any:
        for batch in batches:
            for i in batch.column(0).to_pylist():
                try:
                    rows, _ = table_rows(plan, tables[i])
                except Exception:  # noqa: BLE001 - the driver finds out why (see verify_spark)
                    marker = pa.table({"colset": [_FAILED], "hi": [0], "lo": [0], "table": [i], "count": [0]})
                    yield _as_signed(marker.cast(ROWS_SCHEMA))
                    continue
                if rows.num_rows:
                    yield _as_signed(rows)

    return read


def _decider(pair_rows: pa.Table) -> Any:
    def run(batches: Any) -> Any:
        parts = [pa.Table.from_batches([b]) for b in batches if b.num_rows]
        if not parts:
            return
        rows = pa.concat_tables(parts)
        failed = rows.filter(pc.equal(rows.column("colset"), _FAILED))
        for table in failed.column("table").to_pylist():  # reported as a pseudo-pair -1 - table
            yield pa.RecordBatch.from_pydict({"pair": [-1 - table], "distinct": [0], "rows": [0], "missing": [0], "over": [0]}, schema=TOTALS_SCHEMA)
        yield from decide(rows, pair_rows).to_batches()

    return run


def verify_spark(spark: Any, plan: VerifyPlan) -> VerifyOutcome:
    """Stage 4 on Spark with one shuffle for all pairs (see the module docstring); the number of Spark jobs
    does not depend on the number of pairs. Uses only DataFrame APIs (works on Spark Connect)."""
    from pyspark.sql import functions as F

    if not plan.pairs:
        return VerifyOutcome(())
    width = max(1, int(spark.conf.get("spark.sql.shuffle.partitions") or 1))
    n_tables = len(plan.tables)
    decide_parts = max(1, -(-(plan.fingerprint_rows + plan.joined_rows) // ROWS_PER_PARTITION))
    slim = _slim(plan)
    rows = spark.range(0, n_tables, 1, min(n_tables, width)).mapInArrow(_reader(slim), _ROWS)
    totals = (
        rows.repartition(decide_parts, "colset", "hi", "lo")
        .mapInArrow(_decider(plan.pair_rows), _TOTALS)
        .groupBy("pair")
        .agg(*[F.sum(c).alias(c) for c in ("distinct", "rows", "missing", "over")])
        .toArrow()
    )
    found = {r["pair"]: (r["distinct"], r["rows"], r["missing"], r["over"]) for r in totals.to_pylist()}
    failed: dict[str, str] = {}
    for pair in [p for p in found if p < 0]:
        table = plan.tables[-1 - pair]
        try:  # find out why on the driver
            table_rows(plan, table)
            failed[table] = "its fingerprints could not be read on a Spark executor"
        except Exception as exc:  # noqa: BLE001
            failed[table] = failure_reason(exc)
    read = sum(r.fingerprints.file_bytes for _, r in plan.reads.values() if r.fingerprints is not None)
    return VerifyOutcome(verdicts_from(plan, {p: v for p, v in found.items() if p >= 0}, failed), read, 0)


def _local_path(location: str) -> str:
    if location.startswith("file:"):
        return "/" + location[len("file:"):].lstrip("/")
    return location


def catalog_lake(spark: Any, database: str) -> tuple[Lake, str]:
    """The Parquet and Delta tables of a Spark catalog database as a :class:`Lake` (ids ``db.table``), and the
    root the tasks resolve their filesystem from. Views and other providers are reported as skipped."""
    found: list[TableRef] = []
    skipped: list[Skipped] = []
    roots: set[str] = set()
    for table in spark.catalog.listTables(database):
        table_id = f"{database}.{table.name}"
        if table.tableType == "VIEW" or table.isTemporary:
            skipped.append(Skipped(table_id, "a view, not a stored table"))
            continue
        info = {r[0]: r[1] for r in spark.sql(f"DESCRIBE TABLE EXTENDED `{database}`.`{table.name}`").collect()}
        provider = (info.get("Provider") or "").lower()
        location = info.get("Location")
        if provider not in ("parquet", "delta", "iceberg") or not location:
            skipped.append(Skipped(table_id, f"provider {provider or 'unknown'!r} is not supported (Parquet, Delta and Iceberg only)"))
            continue
        path = _local_path(location)
        root = "/" if "://" not in path else path.split("://", 1)[0] + "://" + path.split("://", 1)[1].split("/", 1)[0]
        roots.add(root)
        try:
            fs, base = resolve_root(root)
            inner = path if "://" not in path else path.split("://", 1)[1]
            ref = table_at(fs, base, inner)
            found.append(replace(ref, id=table_id))
        except (TableError, OSError, pa.ArrowException) as exc:
            skipped.append(Skipped(table_id, str(exc)))
    if len(roots) > 1:
        raise TableError(f"catalog {database!r} spans several filesystems ({', '.join(sorted(roots))}); scan them one by one")
    root = roots.pop() if roots else "/"
    fs, base = resolve_root(root)
    found.sort(key=lambda t: t.id)
    return Lake(posixpath.normpath(base), fs, tuple(found), tuple(skipped)), root


class SparkVerifier:
    """The Spark engine's :class:`~lakeshrink.containment.scan.ports.ContainmentVerifier`: :func:`verify_spark`."""

    def __init__(self, engine: Any):
        self.spark = engine.spark

    def verify(self, plan: VerifyPlan, *, spill_dir: str | None = None) -> VerifyOutcome:
        return verify_spark(self.spark, plan)  # the shuffle spills where Spark's settings say


class SparkCatalogReader:
    """The Spark engine's :class:`~lakeshrink.containment.scan.ports.CatalogReader`: :func:`catalog_lake`."""

    def __init__(self, engine: Any):
        self.spark = engine.spark

    def catalog_lake(self, database: str) -> tuple[Lake, str]:
        return catalog_lake(self.spark, database)
