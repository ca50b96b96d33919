"""Reading a table's live rows as Arrow, whatever it is stored as: one Parquet file, a directory of data files
(hive partition keys become columns), a Delta version (:mod:`.delta`) or an Iceberg snapshot (:mod:`.iceberg`).

Row order is fixed for a given table state: files in ``TableRef.files`` order, rows in file order. The state read
is the one ``TableRef`` pins (``delta_version``, ``snapshot_id``); :func:`at_state` gives a ref at another state.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from lakeshrink.errors import TableError
from lakeshrink.tables.refs import TableRef

if TYPE_CHECKING:
    import pyarrow.dataset as ds


def _dataset(fs: pafs.FileSystem, ref: TableRef) -> ds.Dataset:
    """A directory table as a pyarrow dataset. ``pyarrow.dataset`` is imported here, only for directory tables:
    importing it imports pandas too (0.6 s), which single files and table formats never need."""
    import pyarrow.dataset as ds

    if ref.format == "parquet":
        return ds.dataset(ref.path, filesystem=fs, format="parquet")
    partitioning = ds.HivePartitioning.discover(infer_dictionary=False) if ref.partition_keys else None
    return ds.dataset(
        [f.path for f in ref.files], filesystem=fs, format="parquet", partitioning=partitioning, partition_base_dir=ref.path
    )


def read_schema(fs: pafs.FileSystem, ref: TableRef) -> pa.Schema:
    """The table's Arrow schema, from footers, partition paths or the format's metadata only."""
    try:
        if ref.format == "parquet":
            with fs.open_input_file(ref.path) as f:
                return pq.read_schema(f)
        if ref.format == "delta":
            from lakeshrink.tables.delta import delta_schema

            return delta_schema(ref)
        if ref.format == "iceberg":
            from lakeshrink.tables.iceberg import iceberg_schema

            return iceberg_schema(fs, ref)
        return _dataset(fs, ref).schema
    except (OSError, pa.ArrowException) as exc:
        raise TableError(f"cannot read the schema: {exc}", table=ref.id, path=ref.path) from exc


def read_table(fs: pafs.FileSystem, ref: TableRef, columns: list[str] | None = None) -> pa.Table:
    """The table's live rows as Arrow (optionally only ``columns``), at the state ``ref`` pins."""
    try:
        if ref.format == "parquet":
            with fs.open_input_file(ref.path) as f:
                return pq.read_table(f, columns=columns)
        if ref.format == "delta":
            from lakeshrink.tables.delta import read_delta

            return read_delta(fs, ref, columns)
        if ref.format == "iceberg":
            from lakeshrink.tables.iceberg import read_iceberg

            return read_iceberg(fs, ref, columns)
        return _dataset(fs, ref).to_table(columns=columns)
    except (OSError, pa.ArrowException) as exc:
        raise TableError(f"cannot read the table: {exc}", table=ref.id, path=ref.path) from exc


def table_parts(fs: pafs.FileSystem, ref: TableRef, columns: list[str] | None = None) -> Iterator[pa.Table]:
    """The table's live rows one data file at a time (same rows and order as :func:`read_table`), so a reader
    holds one file's rows at once."""
    try:
        if ref.format == "delta":
            from lakeshrink.tables.delta import delta_tables

            yield from delta_tables(fs, ref, columns)
        elif ref.format == "iceberg":
            from lakeshrink.tables.iceberg import iceberg_tables

            yield from iceberg_tables(fs, ref, columns)
        elif ref.format == "parquet":
            yield read_table(fs, ref, columns)
        else:
            dataset = _dataset(fs, ref)
            for fragment in dataset.get_fragments():
                yield fragment.to_table(columns=columns, schema=dataset.schema)
    except (OSError, pa.ArrowException) as exc:
        raise TableError(f"cannot read the table: {exc}", table=ref.id, path=ref.path) from exc


def table_batches(fs: pafs.FileSystem, ref: TableRef, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
    """The table's live rows as record batches (same rows and order as :func:`read_table`)."""
    for part in table_parts(fs, ref, columns):
        yield from part.to_batches()


def at_state(fs: pafs.FileSystem, ref: TableRef, *, delta_version: int | None = None, snapshot_id: int | None = None) -> TableRef:
    """``ref`` at another pinned state (a Delta version, an Iceberg snapshot): time travel.

    Raises:
        TableError: that state can no longer be read (Delta log expired, Iceberg snapshot expired).
    """
    if ref.format == "delta" and delta_version is not None and delta_version != ref.delta_version:
        from lakeshrink.tables.delta import open_delta

        return open_delta(fs, ref.path, ref.id, version=delta_version)
    if ref.format == "iceberg" and snapshot_id is not None and snapshot_id != ref.snapshot_id:
        from lakeshrink.tables.iceberg import open_iceberg

        return open_iceberg(fs, ref.path, ref.id, metadata=ref.metadata, snapshot_id=snapshot_id)
    return ref


def projection_bytes(fs: pafs.FileSystem, ref: TableRef, columns: list[str] | tuple[str, ...]) -> int:
    """Bytes a read of ``columns`` of ``ref`` takes from storage: their column chunks plus each file's footer.

    Used to report the data bytes each stage reads. Partition keys cost nothing (they are in the paths). Under
    Delta column mapping the files' column names differ, so whole files are counted.
    """
    wanted = set(columns)
    total = 0
    for data_file in ref.files:
        try:
            with fs.open_input_file(data_file.path) as fh:
                md = pq.ParquetFile(fh).metadata
        except (OSError, pa.ArrowException):
            total += data_file.size
            continue
        names = {md.schema.column(j).path.split(".")[0] for j in range(md.num_columns)}
        if ref.is_format_table and not wanted & names:
            total += data_file.size
            continue
        total += md.serialized_size + 8
        for j in range(md.num_columns):
            if md.schema.column(j).path.split(".")[0] in wanted:
                total += sum(md.row_group(i).column(j).total_compressed_size for i in range(md.num_row_groups))
    return total
