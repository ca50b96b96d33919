"""Delta tables: the live rows of a pinned version, read file by file with deletion vectors applied, column
mapping resolved to logical names, v2 checkpoints through ``deltalake``; and the log's per-file statistics.

``deltalake`` (delta-rs) replays the log (JSON commits, classic and v2 checkpoints) and materialises deletion
vectors (``DeltaTable.deletion_vectors``); lakeshrink reads each live data file with pyarrow and drops the rows
its deletion vector deletes. Reading file by file (in log path order, rows in file order) keeps the row order
fixed for a given version, which recipes rely on to number parent rows, and lets readers stream batches.
``DeltaTable.scan`` (DataFusion) reads the same rows but promises no order.

Statistics (``get_add_actions``) are used as the protocol permits (see :mod:`.stats`): in a table with
deletion vectors every file's bounds are treated as ``tightBounds: false``; Delta truncates string statistics
and stores timestamps at millisecond precision, so only ints, floats, bools and dates are taken.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from lakeshrink.errors import TableError
from lakeshrink.tables.refs import DELTA_HINT, DataFile, TableRef
from lakeshrink.tables.stats import ColumnBounds, FileStats

PHYSICAL_NAME = "delta.columnMapping.physicalName"
_STATS_TYPES = ("int", "float", "bool", "date")


def _deltalake() -> Any:
    try:
        import deltalake
    except ImportError as exc:
        raise TableError(f"Delta table found but the deltalake package is not installed ({DELTA_HINT})") from exc
    return deltalake


def load(path: str, version: int | None = None, *, table_id: str | None = None) -> Any:
    """The ``deltalake.DeltaTable`` at ``path`` (at ``version``, else the latest).

    Raises:
        TableError: not readable, or that version is gone (its log expired).
    """
    dl = _deltalake()
    try:
        return dl.DeltaTable(path, version=version)
    except Exception as exc:  # noqa: BLE001 - deltalake raises its own hierarchy and OSError
        what = f"version {version} of the Delta table" if version is not None else "the Delta table"
        raise TableError(f"cannot load {what}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                         table=table_id, path=path) from exc


def _actions(dt: Any) -> pa.Table:
    return pa.table(dt.get_add_actions(flatten=True))


def _relative(dt: Any, uri: str) -> str:
    """A file URI from deltalake as a path relative to the table (deltalake may report the table's real path)."""
    table = urlparse(dt.table_uri).path.rstrip("/") if "://" in dt.table_uri else dt.table_uri.rstrip("/")
    path = unquote(urlparse(uri).path) if "://" in uri else uri
    return posixpath.relpath(path, table)


def selection_vectors(dt: Any) -> dict[str, np.ndarray]:
    """Keep-masks of the files that have deletion vectors, by path relative to the table."""
    out: dict[str, np.ndarray] = {}
    for batch in pa.RecordBatchReader.from_stream(dt.deletion_vectors()):
        paths = batch.column("filepath").to_pylist()
        vectors = batch.column("selection_vector")
        for i, uri in enumerate(paths):
            out[_relative(dt, uri)] = np.asarray(vectors[i].values, dtype=bool)
    return out


def _has_deletion_vectors(dt: Any) -> bool:
    return "deletionVectors" in (dt.protocol().reader_features or [])


def open_delta(fs: pafs.FileSystem, path: str, table_id: str, version: int | None = None) -> TableRef:
    """The Delta table at ``path`` as a :class:`TableRef` pinned to ``version`` (default: the latest)."""
    if not isinstance(fs, pafs.LocalFileSystem):
        raise TableError("Delta tables are read on local paths only by the local engine; use --engine spark",
                         table=table_id, path=path)
    dt = load(path, version, table_id=table_id)
    actions = _actions(dt)
    vectors = selection_vectors(dt) if _has_deletion_vectors(dt) else {}
    files = []
    for rel, size in sorted(zip(actions["path"].to_pylist(), actions["size_bytes"].to_pylist())):
        local = unquote(rel)
        mask = vectors.get(local)
        deleted = int((~mask).sum()) if mask is not None else 0
        files.append(DataFile(local if local.startswith("/") else posixpath.join(path, local), int(size), deleted_rows=deleted))
    return TableRef(table_id, path, "delta", tuple(files), tuple(dt.metadata().partition_columns), dt.version())


def arrow_schema(dt: Any) -> pa.Schema:
    """The table's logical Arrow schema (without deltalake's field metadata)."""
    schema = pa.schema(dt.schema().to_arrow())
    return pa.schema([pa.field(f.name, f.type, f.nullable) for f in schema])


def physical_names(dt: Any) -> dict[str, str]:
    """Logical top-level column name -> the name in the Parquet files (differs under column mapping)."""
    out = {}
    for f in dt.schema().fields:
        out[f.name] = str((f.metadata or {}).get(PHYSICAL_NAME, f.name))
    return out


class _Reader:
    """Reads the live rows of one pinned version, file by file."""

    def __init__(self, fs: pafs.FileSystem, ref: TableRef):
        self.fs = fs
        self.ref = ref
        self.dt = load(ref.path, ref.delta_version, table_id=ref.id)
        self.schema = arrow_schema(self.dt)
        self.physical = physical_names(self.dt)
        self.partitions = set(self.dt.metadata().partition_columns)
        actions = _actions(self.dt)
        self.rel = {}
        for k, rel in enumerate(actions["path"].to_pylist()):
            local = unquote(rel)
            self.rel[local if local.startswith("/") else posixpath.join(ref.path, local)] = (k, local)
        self.values = {c: actions[f"partition.{c}"].to_pylist() for c in self.partitions if f"partition.{c}" in actions.column_names}
        self.vectors = selection_vectors(self.dt) if _has_deletion_vectors(self.dt) else {}

    def file_table(self, data_file: DataFile, columns: list[str]) -> pa.Table:
        k, rel = self.rel[data_file.path]
        with self.fs.open_input_file(data_file.path) as fh:
            pf = pq.ParquetFile(fh)
            present = set(pf.schema_arrow.names)
            wanted = [self.physical[c] for c in columns if c not in self.partitions and self.physical[c] in present]
            table = pf.read(columns=wanted)
        mask = self.vectors.get(rel)
        if mask is not None:
            keep = np.ones(table.num_rows, dtype=bool)
            keep[: min(len(mask), table.num_rows)] = mask[: table.num_rows]
            table = table.filter(pa.array(keep))
        n = table.num_rows
        arrays = []
        for c in columns:
            ftype = self.schema.field(c).type
            if c in self.partitions:
                arrays.append(pa.array([self.values[c][k]] * n).cast(ftype) if c in self.values else pa.nulls(n, ftype))
            elif self.physical[c] in table.column_names:
                arrays.append(table.column(self.physical[c]).cast(ftype))
            else:  # a column added after this file was written
                arrays.append(pa.nulls(n, ftype))
        return pa.Table.from_arrays(arrays, schema=pa.schema([self.schema.field(c) for c in columns]))


def _columns(schema: pa.Schema, columns: list[str] | None, ref: TableRef) -> list[str]:
    if columns is None:
        return schema.names
    missing = [c for c in columns if c not in schema.names]
    if missing:
        raise TableError(f"no column(s) {', '.join(missing)} in the Delta table", table=ref.id, path=ref.path)
    return list(columns)


def delta_schema(ref: TableRef) -> pa.Schema:
    return arrow_schema(load(ref.path, ref.delta_version, table_id=ref.id))


def delta_tables(fs: pafs.FileSystem, ref: TableRef, columns: list[str] | None = None) -> Iterator[pa.Table]:
    """The live rows of ``ref``'s pinned version, one Arrow table per data file, in ``ref.files`` order."""
    reader = _Reader(fs, ref)
    names = _columns(reader.schema, columns, ref)
    for data_file in ref.files:
        if data_file.path not in reader.rel:
            raise TableError(f"{data_file.path} is not in version {ref.delta_version} of the Delta table",
                             table=ref.id, path=ref.path)
        yield reader.file_table(data_file, names)


def read_delta(fs: pafs.FileSystem, ref: TableRef, columns: list[str] | None = None) -> pa.Table:
    """The live rows of ``ref``'s pinned version as one table (files in ``ref.files`` order)."""
    schema = delta_schema(ref)
    names = _columns(schema, columns, ref)
    parts = list(delta_tables(fs, ref, names))
    if not parts:
        return pa.schema([schema.field(c) for c in names]).empty_table()
    return pa.concat_tables(parts)


def _family(t: pa.DataType) -> str | None:
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_date32(t):
        return "date"
    return None


def delta_file_stats(ref: TableRef) -> tuple[pa.Schema, list[FileStats], int]:
    """The table's schema, its live files' log statistics (logical names), and the log's size in bytes."""
    dt = load(ref.path, ref.delta_version, table_id=ref.id)
    schema = arrow_schema(dt)
    physical = physical_names(dt)
    actions = _actions(dt)
    names = set(actions.column_names)
    counts = actions["num_records"].to_pylist() if "num_records" in names else [None] * actions.num_rows
    if any(n is None for n in counts):
        raise TableError("Delta log lacks row counts for some files", table=ref.id, path=ref.path)
    loose = _has_deletion_vectors(dt)
    vectors = selection_vectors(dt) if loose else {}
    partitions = set(dt.metadata().partition_columns)

    def column(prefix: str, name: str) -> list[Any] | None:
        key = f"{prefix}.{name}"
        return actions[key].to_pylist() if key in names else None

    per_column = {f.name: (column("min", physical[f.name]), column("max", physical[f.name]),
                           column("null_count", physical[f.name])) for f in schema if f.name not in partitions}
    part_values = {c: column("partition", c) for c in partitions}
    out = []
    for k, rel in enumerate(actions["path"].to_pylist()):
        rows = int(counts[k])
        mask = vectors.get(unquote(rel))
        live = rows - int((~mask[:rows]).sum()) if mask is not None else rows
        cols = {}
        for f in schema:
            if f.name in partitions:
                continue
            mins, maxs, nulls = per_column[f.name]
            nc = None if nulls is None or nulls[k] is None else int(nulls[k])
            usable = _family(f.type) in _STATS_TYPES
            lo = mins[k] if usable and mins is not None else None
            hi = maxs[k] if usable and maxs is not None else None
            cols[f.name] = ColumnBounds(lo, hi, nc, tight=not loose)
        parts = {c: v[k] for c, v in part_values.items() if v is not None}
        out.append(FileStats(rows, live, loose and mask is not None, cols, parts))
    return schema, out, _log_bytes(ref.path)


def _log_bytes(path: str) -> int:
    fs = pafs.LocalFileSystem()
    infos = fs.get_file_info(pafs.FileSelector(posixpath.join(path, "_delta_log"), recursive=True))
    return sum(i.size or 0 for i in infos if i.type == pafs.FileType.File)
