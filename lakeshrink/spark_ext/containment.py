"""The containment scan on Spark: stage 4 as one shuffle for all pairs, and catalog tables.

Stages 1-3 run on Spark through the engine's ``map`` (one footer task, then one read task per table: the same
functions as the local engine; stage 3's read stores each table's row fingerprints in the scan cache). Stage 4
(:func:`verify_spark`) runs the plan of :mod:`lakeshrink.containment.scan.verify` with SINDY's single shuffle
(Kruse et al., BTW'15):

1. ``mapInArrow(read)`` over the tables' own plans (:func:`table_plans`, shipped as the engine's ``map`` ships its
   items: :func:`~lakeshrink.spark_ext.engine.over_payloads`): one task per slice of tables reads their fingerprint rows
   ``(colset, hi, lo, table, count)`` (:func:`lakeshrink.containment.scan.verify.table_rows`) and cuts them into
   ``2**bits`` buckets by the top bits of the fingerprint (:func:`~lakeshrink.containment.scan.fingerprints.bucket_of`,
   as the local engine's spill), each (table, bucket) packed as one Arrow IPC value;
2. ``repartition(2**bits, bucket)``: the one shuffle; every fingerprint group lands whole in one partition,
   the number of buckets sized to the plan's rows (:data:`ROWS_PER_PARTITION`) and at least the shuffle
   partitions setting. Packing makes the shuffle move a few large rows, not one per fingerprint (Spark's
   per-row costs were most of stage 4's time);
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

import os
import pickle
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import polars as pl
import pyarrow as pa

from lakeshrink.containment.scan.compare import TypesMode
from lakeshrink.containment.scan.fingerprints import PAIRS_SCHEMA, ROWS_SCHEMA, TOTALS_SCHEMA, bucket_of, grouped, sum_totals, totals_rows
from lakeshrink.containment.scan.footers import failure_reason
from lakeshrink.containment.lake import Lake, Skipped, TableRef, resolve_root, table_at
from lakeshrink.containment.scan.verify import (
    BUCKET_ROWS, VerifyOutcome, VerifyPlan, colset_groups, decided, table_rows, verdicts_from, verify_local,
)
from lakeshrink.containment.scan.fused import without_sketches
from lakeshrink.containment.scan.sketches import TableNeeds
from lakeshrink.errors import TableError
from lakeshrink.memory import release_memory
from lakeshrink.spark_ext.engine import over_payloads, released
from lakeshrink.spark_ext.session import parallelism

# Sizes of what one Python worker holds at once. PACK_ROWS, READ_ROWS and DECIDE_ROWS were halved in round 9 (with
# ROWS_PER_PARTITION, since restored): on a 322-table lake of 154 MB, stage 4's Python workers peaked at 1,389-1,500
# MiB together, 1,292 MiB after; the JVM at 767 MiB, 697 MiB after. Halving ROWS_PER_PARTITION too made 2,048 decide
# tasks on the 10,000-table lake, each unpickling the 2 million pairs: slower, and it was not what held the memory.
ROWS_PER_PARTITION = 4_000_000  # fingerprint rows plus joined child rows one decide task holds
PACK_ROWS = 1 << 18  # fingerprint rows per packed Spark row at most
HOLD_ROWS = 1 << 18  # fingerprint rows a reader task gathers from its tables before it packs them (see _reader)
READ_ROWS = 1 << 19  # about the most fingerprint rows of one table a reader task holds at once
DECIDE_ROWS = 1 << 18  # fingerprint rows a decide task joins at once (the local engine's too)
READER_TABLES = 256  # tables per reader task at most (else the shuffle partitions setting: 4 readers of 2,600 tables
# each on the 10,000-table lake, each worker creeping to 0.6 GiB; a worker that ends with its task, see
# lakeshrink.spark_ext.daemon, gives that back only if its task ends)
_PACKED = "bucket int, table int, ok boolean, blob binary"
_PACKED_SCHEMA = pa.schema([("bucket", pa.int32()), ("table", pa.int32()), ("ok", pa.bool_()), ("blob", pa.binary())])
_TOTALS = "pair int, distinct long, rows long, missing long, over long"
_OUTCOME_SCHEMA = pa.schema([("outcome", pa.binary())])


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
    return replace(plan, reads={table: (task, without_sketches(result)) for table, (task, result) in plan.reads.items()})


def table_plans(plan: VerifyPlan) -> list[bytes]:
    """For each table of the plan (in order), what its reader needs, pickled: a plan of that one table (its
    number, column sets and fingerprint file, without sketches or pairs). A reader task gets only its own
    tables' (see :func:`~lakeshrink.spark_ext.engine.over_payloads`). The whole plan in the tasks' function
    was unpickled by every task: on the 10,000-table lake its pairs were 2 million :class:`Pair` objects,
    held twice over, and the JVM kept it as the tasks' broadcast function."""
    empty = PAIRS_SCHEMA.empty_table()
    out = []
    for table in plan.tables:
        task, result = plan.reads[table]
        # a damaged fingerprint file is rebuilt from the task (fused.read_fingerprint_rows): its column sets only,
        # not the columns and row sets stage 3 sketched
        task = replace(task, needs=TableNeeds(task.needs.table, (), (), task.needs.colsets))
        one = VerifyPlan((), (table,), (), empty, {table: (task, without_sketches(result))}, 0, 0, {table: plan.numbers[table]},
                         {table: plan.colsets_of[table]})
        out.append(pickle.dumps(one, protocol=pickle.HIGHEST_PROTOCOL))
    return out


def _unpack(blob: pa.Buffer) -> pa.Table:
    """The rows of one IPC stream a reader packed (:func:`_reader`), read in place from an Arrow buffer (a binary
    value's)."""
    return pa.ipc.open_stream(blob).read_all()


def _reader(bits: int) -> Callable[[Iterator[tuple[int, bytes]]], Iterator[pa.RecordBatch]]:
    """What a reader task yields for its tables (numbered :func:`table_plans`): their fingerprint rows, cut into
    the ``2**bits`` buckets of :func:`bucket_of` (whole fingerprint groups), packed as one Spark row per (bucket,
    slice of at most :data:`PACK_ROWS` rows) of about :data:`HOLD_ROWS` rows gathered from the task's tables:
    the shuffle moves a few large rows instead of one row per fingerprint, so Spark's per-row costs (row
    conversion, Arrow transfer between the JVM and Python) do not grow with the fingerprints. A table is read a
    group of column sets at a time (about :data:`READ_ROWS` rows;
    :func:`~lakeshrink.containment.scan.verify.colset_groups`). Packing each table's rows on their own made a
    row per (table, bucket): 7.9 million rows of 175 fingerprints on average on the 10,000-table lake, each
    packed, shuffled and unpacked alone. One reader task of that lake (256 tables, 1,024 buckets), measured alone
    by ``benchmarks/containment_reader.py`` (packed rows; peak memory above the worker's start): per table
    (round 12) 357,289 rows and 508 MB; gathering 2**20 rows, 55,296 and 528 MB; 2**18 (:data:`HOLD_ROWS`),
    167,936 and 420 MB."""
    labels = np.array(partition_labels(1 << bits), np.int32)  # bucket b goes to partition b

    def packed(held: list[pa.Table]) -> pa.RecordBatch:
        """The held rows in bucket order, each (bucket, slice) one IPC stream, all written into one buffer that
        is the binary column's data (no copy per stream, nor of the whole as Python bytes)."""
        rows = pa.concat_tables(held)  # chunks, not copied
        held.clear()
        order, bounds = grouped(bucket_of(rows.column("hi").to_numpy(), bits), bits)
        rows = rows.take(pa.array(order))  # the one copy of the rows
        del order
        sink = pa.BufferOutputStream()
        streams, offsets = [], [0]  # each stream's bucket, and where it ends in the sink
        for bucket in np.flatnonzero(bounds[1:] > bounds[:-1]).tolist():
            start, stop = int(bounds[bucket]), int(bounds[bucket + 1])
            for at in range(start, stop, PACK_ROWS):
                writer = pa.ipc.new_stream(sink, ROWS_SCHEMA)
                writer.write_table(rows.slice(at, min(PACK_ROWS, stop - at)))
                writer.close()  # ends the stream, not the sink
                streams.append(bucket)
                offsets.append(sink.tell())
        del rows
        data = sink.getvalue()
        n = len(streams)
        blobs = pa.Array.from_buffers(pa.binary(), n, [None, pa.array(offsets, pa.int32()).buffers()[1], data])
        return pa.RecordBatch.from_arrays(
            [pa.array(labels[streams]), pa.array(np.full(n, -1, np.int32)), pa.array(np.ones(n, bool)), blobs],
            schema=_PACKED_SCHEMA,
        )

    def read(tables: Iterator[tuple[int, bytes]]) -> Iterator[pa.RecordBatch]:
        held: list[pa.Table] = []
        count = 0
        for i, payload in tables:
            plan = pickle.loads(payload)
            table = plan.tables[0]
            for group in colset_groups(plan, table, READ_ROWS):
                try:
                    rows = table_rows(plan, table, group)[0]
                except Exception:  # noqa: BLE001 - the driver finds out why (see verify_spark) and drops the table's pairs
                    yield pa.RecordBatch.from_pydict({"bucket": [0], "table": [i], "ok": [False], "blob": [b""]}, schema=_PACKED_SCHEMA)
                    break
                if rows.num_rows:
                    held.append(rows)
                    count += rows.num_rows
                del rows
                if count >= HOLD_ROWS:
                    yield packed(held)
                    count = 0
                    release_memory()  # what the packing freed, before the next tables are read
        if held:
            yield packed(held)

    return read


def _decider(pair_rows: pa.Table) -> Any:
    def run(batches: Any) -> Any:
        parts, failed = [], []
        for b in batches:  # the blobs are read in place (zero-copy), not copied out as Python bytes
            ok, table, blob = b.column("ok"), b.column("table"), b.column("blob")
            for k in range(b.num_rows):
                if ok[k].as_py():
                    parts.append(_unpack(blob[k].as_buffer()))
                else:
                    failed.append(table[k].as_py())
        for table in failed:  # reported as a pseudo-pair -1 - table
            yield pa.RecordBatch.from_pydict({"pair": [-1 - table], "distinct": [0], "rows": [0], "missing": [0], "over": [0]}, schema=TOTALS_SCHEMA)
        if parts:
            rows = pa.concat_tables(parts)
            del parts
            # the pieces' counts added up here: one row per pair out of the task, not one per pair and piece
            # (on the 10,000-table lake, 1 million rows per task into the JVM's aggregation for 120,000 pairs)
            sums = sum_totals(decided(rows, pl.from_arrow(pair_rows), DECIDE_ROWS), pair_rows.num_rows)
            del rows
            yield from totals_rows(sums).to_batches()

    return lambda batches: released(run(batches))


def _whole(plan: VerifyPlan, workers: int) -> Any:
    """The task of a plan small enough for one partition: the local engine's stage 4 (:func:`verify_local`,
    no shuffle, reading fingerprints on ``workers`` threads, at most the executor's cores: it is the job's only
    task), its outcome returned pickled."""

    def run(batches: Any) -> Any:
        here = min(workers, os.cpu_count() or 1)  # the executor's own cores, not the cluster's
        for _ in batches:
            outcome = verify_local(plan, workers=here)
            yield pa.RecordBatch.from_pydict({"outcome": [pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)]}, schema=_OUTCOME_SCHEMA)

    return run


def _murmur3_int(value: int, seed: int = 42) -> int:
    """Spark's ``hash()`` of an int column (Murmur3 x86_32 of the 4-byte value, seed 42) as a signed int: what
    ``repartition(n, column)`` takes modulo ``n``."""
    def rotl(x: int, r: int) -> int:
        return ((x << r) | (x >> (32 - r))) & 0xFFFFFFFF

    k = (value & 0xFFFFFFFF) * 0xCC9E2D51 & 0xFFFFFFFF
    k = rotl(k, 15) * 0x1B873593 & 0xFFFFFFFF
    h = rotl(seed ^ k, 13)
    h = (h * 5 + 0xE6546B64) & 0xFFFFFFFF
    h ^= 4
    h ^= h >> 16
    h = h * 0x85EBCA6B & 0xFFFFFFFF
    h ^= h >> 13
    h = h * 0xC2B2AE35 & 0xFFFFFFFF
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


def partition_labels(n: int) -> list[int]:
    """For each of ``n`` buckets, an int whose Spark hash lands it in the partition of the same number under
    ``repartition(n, column)``: one bucket per partition. Buckets numbered 0..n-1 as they are would collide
    (4 buckets over 4 partitions: all distinct only 9% of the time), leaving one task several buckets and
    another none. If an engine hashed otherwise, only the balance would suffer, never the result."""
    labels: list[int | None] = [None] * n
    missing, value = n, 0
    while missing:
        slot = _murmur3_int(value) % n
        if labels[slot] is None:
            labels[slot] = value
            missing -= 1
        value += 1
    return [int(v) for v in labels if v is not None]


def verify_spark(spark: Any, plan: VerifyPlan) -> VerifyOutcome:
    """Stage 4 on Spark with one shuffle for all pairs (see the module docstring); the number of Spark jobs
    does not depend on the number of pairs. A plan the local engine would decide in one in-memory partition
    (:data:`~lakeshrink.containment.scan.verify.BUCKET_ROWS`) runs as one task without a shuffle: there a
    shuffle only adds its costs (packing, the JVM's row conversions, shuffle files, JIT compilation: about 3x the
    CPU of the local engine's stage 4 on a 321-table lake). Uses only DataFrame APIs (works on
    Spark Connect)."""
    from pyspark.sql import functions as F

    if not plan.pairs:
        return VerifyOutcome(())
    work = plan.fingerprint_rows + plan.joined_rows
    if work <= BUCKET_ROWS:  # the local engine's one in-memory partition: one task, as there, no shuffle
        out = spark.range(0, 1, 1, 1).mapInArrow(_whole(_slim(plan), parallelism(spark)), "outcome binary").toArrow()
        return pickle.loads(out.column("outcome")[0].as_py())
    n_tables = len(plan.tables)
    width = max(1, int(spark.conf.get("spark.sql.shuffle.partitions") or 1))
    needed = -(-work // ROWS_PER_PARTITION)
    bits = max(0, (max(needed, parallelism(spark)) - 1).bit_length())
    readers = min(n_tables, max(width, -(-n_tables // READER_TABLES)))
    packed = over_payloads(spark, table_plans(plan), _reader(bits), _PACKED, readers)
    # the tables' plans, pickled and as an Arrow column, are the JVM's now: their freed memory back before the
    # shuffle, which is most of the scan's time (the 10,000-table lake's driver grew by about 250 MiB in stage 4)
    release_memory()
    totals = (
        packed.repartition(1 << bits, "bucket")
        .mapInArrow(_decider(plan.pair_rows), _TOTALS)
        .groupBy("pair")
        .agg(*[F.sum(c).alias(c) for c in ("distinct", "rows", "missing", "over")])
        .toArrow()
    )
    # into arrays by pair: a dict of tuples (or a dict per row, to_pylist) was 2 million of them on the
    # 10,000-table lake
    pair = totals.column("pair").to_numpy()
    sums = np.zeros((4, len(plan.pairs)), np.int64)
    good = pair >= 0
    for k, c in enumerate(("distinct", "rows", "missing", "over")):
        sums[k, pair[good]] = totals.column(c).to_numpy()[good]
    failed: dict[str, str] = {}
    for bad in (-1 - pair[~good]).tolist():
        table = plan.tables[bad]
        try:  # find out why on the driver
            table_rows(plan, table)
            failed[table] = "its fingerprints could not be read on a Spark executor"
        except Exception as exc:  # noqa: BLE001
            failed[table] = failure_reason(exc)
    del totals
    read = sum(r.fingerprints.file_bytes for _, r in plan.reads.values() if r.fingerprints is not None)
    return verdicts_from(plan, sums, failed, read)


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
