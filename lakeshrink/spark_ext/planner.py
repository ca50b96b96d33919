"""Rebuilding a marked table on Spark, for parents too big for one machine, and checking it there.

:func:`rebuild_dataframe` turns a recipe (:mod:`lakeshrink.containment.planner.recipes`) into a Spark DataFrame read from
the parent's pinned files: a predicate becomes a ``where``; a bitmap becomes a broadcast join on each row's
position in the parent (the file's offset in the pinned file order plus Spark's ``_metadata.row_index``), which is
the numbering the local engine uses; multiplicities repeat rows. :func:`dataframe_checksum` computes the same
order-independent row checksum as :func:`lakeshrink.containment.rowhash.table_checksum` with the same Arrow core,
one partial sum per Spark partition (``mapInArrow``), added up on the driver. :func:`write_rebuild_spark` writes the
rebuild as one Parquet file, atomically, after both checks.

Delta parents are rebuilt by the local engine (``lakeshrink containment rebuild`` without ``--engine spark``).
pyspark is imported only by this module.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lakeshrink.containment.planner import recipes
from lakeshrink.containment.rowhash import checksum_from_sums, partial_sums, row_hashes, table_checksum
from lakeshrink.errors import TableError, VerificationFailed
from lakeshrink.fileio import atomic_file

_POS = "__lakeshrink_pos__"
_MULT = "__lakeshrink_mult__"


def _file_uri(root: str, rel: str) -> str:
    return posixpath.join(root.rstrip("/"), rel)


def _num_rows(fs: Any, path: str) -> int:
    with fs.open_input_file(path) as f:
        return pq.ParquetFile(f).metadata.num_rows


def _positions_and_multiplicities(recipe: recipes.Recipe, lake: Any, ref: Any) -> tuple[np.ndarray, np.ndarray]:
    """Selected parent positions and how often each appears in the child (driver side, small)."""
    sel = recipe.selector
    if sel.kind == "bitmap":
        positions = recipes.decode_bitmap(sel.encoding or "", sel.data or "", recipe.parent_rows)
    else:  # a predicate with multiplicities: evaluate it on its one column only
        column = recipes.read_parent(lake, ref, recipe.parent_state, [sel.column])
        positions = np.flatnonzero(recipes.selector_mask(sel, column))
    mult = recipes.decode_multiplicities(recipe)
    return positions, (np.ones(len(positions), dtype=np.int64) if mult is None else mult)


def rebuild_dataframe(spark: Any, recipe: recipes.Recipe, root: str) -> Any:
    """The child's rows as a Spark DataFrame with the child's column names and types (row order unspecified).

    Raises:
        ParentChanged: the parent is gone or no longer has its pinned state.
        TableError: the parent is a Delta or Iceberg table (rebuild it with the local engine).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    lake, ref = recipes.open_table(root, recipe.parent)
    change = recipes.state_change(lake, ref, recipe.parent_state)
    if change is not None:
        raise recipes.ParentChanged(f"the parent changed since the recipe was made: {change}", table=recipe.parent, path=ref.path)
    if ref.is_format_table:
        raise TableError(f"{ref.format.capitalize()} parents are rebuilt by the local engine; drop --engine spark",
                         table=recipe.parent, path=ref.path)
    uris = [_file_uri(root, f.path) for f in recipe.parent_state.files]
    reader = spark.read
    if ref.format == "directory" and ref.partition_keys:
        reader = reader.option("basePath", _file_uri(root, recipe.parent))
    df = reader.parquet(*uris)
    sel = recipe.selector
    if sel.kind in ("range", "in") and recipe.multiplicities is None:
        col = F.col(f"`{sel.column}`")
        df = df.where(col.between(sel.low, sel.high) if sel.kind == "range" else col.isin(list(sel.values)))
    elif sel.kind == "bitmap" or recipe.multiplicities is not None:
        positions, mult = _positions_and_multiplicities(recipe, lake, ref)
        offsets = np.cumsum([0] + [_num_rows(lake.filesystem, f.path) for f in ref.files])
        by_rel = {f.path: int(offsets[i]) for i, f in enumerate(recipe.parent_state.files)}
        with_meta = df.select("*", F.col("_metadata.file_path").alias("__file"), F.col("_metadata.row_index").alias("__row"))
        seen = [r["__file"] for r in with_meta.select("__file").distinct().collect()]
        mapping = []
        for spark_path in seen:
            local = urllib.parse.unquote(urllib.parse.urlparse(spark_path).path)
            match = [rel for rel in by_rel if local.endswith("/" + rel)]
            if len(match) != 1:
                raise TableError(f"cannot match Spark's file {spark_path} to the pinned files", table=recipe.parent)
            mapping.append((spark_path, by_rel[match[0]]))
        files = spark.createDataFrame(mapping, "__file string, __offset long")
        wanted = spark.createDataFrame(pa.table({_POS: positions, _MULT: mult}).to_pandas())
        df = (with_meta.join(F.broadcast(files), "__file")
              .withColumn(_POS, F.col("__offset") + F.col("__row"))
              .join(F.broadcast(wanted), _POS)
              .withColumn("__rep", F.explode(F.sequence(F.lit(1), F.col(_MULT)))))
    schema = from_arrow_schema(recipe.schema())
    return df.select([F.col(f"`{f.name}`").cast(f.dataType).alias(f.name) for f in schema.fields])


def _sums_task(schema_bytes: bytes):
    """A ``mapInArrow`` function: cast each batch to the child's schema and yield its partial sums."""

    def run(batches):
        schema = pa.ipc.read_schema(pa.py_buffer(schema_bytes))
        for batch in batches:
            table = pa.Table.from_batches([batch])
            table = pa.Table.from_arrays([table.column(f.name).cast(f.type) for f in schema], schema=schema)
            n, a, b = partial_sums(row_hashes(table))
            as_signed = np.array([a, b], dtype=np.uint64).view(np.int64)
            yield pa.record_batch({"n": [n], "a": [int(as_signed[0])], "b": [int(as_signed[1])]})

    return run


def dataframe_checksum(df: Any, schema: pa.Schema) -> str:
    """The order-independent row checksum of a DataFrame, computed per partition on the executors."""
    parts = df.mapInArrow(_sums_task(schema.serialize().to_pybytes()), "n long, a long, b long").collect()
    return checksum_from_sums([(r["n"], r["a"] % (1 << 64), r["b"] % (1 << 64)) for r in parts])


def write_rebuild_spark(spark: Any, recipe: recipes.Recipe, root: str, output: str | os.PathLike[str]) -> str:
    """Rebuild on Spark, check the checksum there, write one Parquet file at ``output`` and check it again.

    ``output`` is a path on the driver; the rows pass through it once (Spark writes one part, the driver casts it
    to the child's exact schema and writes the file). Nothing is left there if a check fails. Returns the row
    checksum.
    """
    df = rebuild_dataframe(spark, recipe, root)
    got = dataframe_checksum(df, recipe.schema())
    if got != recipe.row_checksum:
        raise VerificationFailed(f"rebuilt {recipe.child!r} on Spark has row checksum {got}, the recipe says {recipe.row_checksum}")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{output.name}.lakeshrink-spark-", dir=output.parent) as scratch, \
            atomic_file(output) as single:
        df.coalesce(1).write.mode("overwrite").parquet(str(Path(scratch) / "out"))
        parts = sorted((Path(scratch) / "out").glob("part-*.parquet"))
        table = pa.concat_tables([pq.read_table(p) for p in parts]) if parts else recipe.schema().empty_table()
        # Spark's own types (no unsigned, no large_string...) go back to the child's exact schema
        table = pa.Table.from_arrays([table.column(f.name).cast(f.type) for f in recipe.schema()], schema=recipe.schema())
        pq.write_table(table, single)
        back = table_checksum(pq.read_table(single))
        if back != recipe.row_checksum:
            raise VerificationFailed(f"{output}: the written file has row checksum {back}, the recipe says {recipe.row_checksum}")
    return got


class SparkRebuilder:
    """The Spark engine's :class:`~lakeshrink.containment.planner.ports.Rebuilder`: :func:`write_rebuild_spark`."""

    def __init__(self, engine: Any):
        self.spark = engine.spark

    def write_rebuild(self, recipe: recipes.Recipe, root: str, output: str | os.PathLike[str]) -> str:
        return write_rebuild_spark(self.spark, recipe, root, output)
