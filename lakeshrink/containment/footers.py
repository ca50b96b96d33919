"""Reading a table's footers (Parquet) or log statistics (Delta): schema, row count and per-column statistics.

This is the only input of stages 1 and 2 of the containment pipeline (R2D2, Shah et al., SIGMOD'24, section
on schema- and statistics-level pruning): no data page is read. One table is one task
(:func:`read_footer`), so the Spark engine reads the footers of many tables in parallel.

Statistics are kept only when they are *exact*:

* Parquet min/max of a row group are exact for numbers, bools, dates and timestamps. For strings and binaries a
  writer may truncate them, so they are trusted only from writers known to write exact values (Arrow's
  ``parquet-cpp-arrow`` and Spark's ``parquet-mr``); otherwise the column's min/max are unknown.
* A float min or max that is NaN is unknown (old writers).
* A row group without min/max whose null count equals its row count is all null (exact); without statistics
  at all, the column's min/max and null count are unknown for the whole table.
* Hive partition values give exact min = max per file (``__HIVE_DEFAULT_PARTITION__`` is null).
* Delta add-action statistics (``get_add_actions(flatten=True)``) are used for ints, floats and bools only:
  Delta truncates string statistics and stores timestamps at millisecond precision.
"""

from __future__ import annotations

import math
import posixpath
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from lakeshrink.containment.compare import stats_comparable, type_family
from lakeshrink.containment.lake import TableRef, read_schema, resolve_root
from lakeshrink.errors import TableError

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
EXACT_STRING_WRITERS = ("parquet-cpp-arrow", "parquet-cpp", "parquet-mr")
_FOOTER_TAIL = 8  # 4-byte footer length + "PAR1"


@dataclass(frozen=True)
class ColumnStats:
    """Exact statistics of one column over a whole table.

    ``minmax_known`` means ``min``/``max`` are the exact extremes of the non-null values (both None when every
    value is null). ``null_count`` is exact, or None when unknown.
    """

    min: Any = None
    max: Any = None
    minmax_known: bool = False
    null_count: int | None = None

    @property
    def all_null_known(self) -> bool:
        return self.minmax_known and self.min is None


UNKNOWN = ColumnStats()


@dataclass(frozen=True)
class TableFooter:
    """What stages 1 and 2 know about a table. ``error`` is set (and the rest empty) when it could not be read."""

    table: str
    schema: pa.Schema | None = None
    rows: int = 0
    stats: dict[str, ColumnStats] = field(default_factory=dict)
    footer_bytes: int = 0
    error: str | None = None


@dataclass(frozen=True)
class FooterTask:
    """One table to read footers of; a picklable Spark task item."""

    root: str
    ref: TableRef


class _Acc:
    """Accumulates exact statistics of one column over row groups and files."""

    def __init__(self) -> None:
        self.min: Any = None
        self.max: Any = None
        self.minmax_ok = True
        self.nulls: int | None = 0

    def add(self, lo: Any, hi: Any, nulls: int | None, rows: int, known: bool) -> None:
        if nulls is None:
            self.nulls = None
        elif self.nulls is not None:
            self.nulls += nulls
        if nulls is not None and nulls == rows:
            return  # all null here: no values to bound
        if not known or lo is None or hi is None or _is_nan(lo) or _is_nan(hi):
            self.minmax_ok = False
            return
        try:
            self.min = lo if self.min is None or lo < self.min else self.min
            self.max = hi if self.max is None or hi > self.max else self.max
        except TypeError:
            self.minmax_ok = False

    def result(self) -> ColumnStats:
        if not self.minmax_ok:
            return ColumnStats(null_count=self.nulls)
        return ColumnStats(self.min, self.max, True, self.nulls)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _string_like(t: pa.DataType) -> bool:
    return type_family(t) in ("string", "binary")


def _partition_value(raw: str, t: pa.DataType) -> tuple[bool, Any]:
    """(known, value) of a hive partition value for a column of type ``t``; None is null."""
    if raw == HIVE_NULL:
        return True, None
    text = unquote(raw)
    fam = type_family(t)
    try:
        if fam == "int":
            return True, int(text)
        if fam == "string":
            return True, text
    except ValueError:
        return False, None
    return False, None


def _add_parquet_file(
    accs: dict[str, _Acc], schema: pa.Schema, md: pq.FileMetaData, partition: dict[str, str]
) -> None:
    trusted_strings = md.created_by is not None and md.created_by.startswith(EXACT_STRING_WRITERS)
    file_schema = md.schema.to_arrow_schema()
    index = {md.schema.column(j).path: j for j in range(md.num_columns)}
    rows = md.num_rows
    for f in schema:
        acc = accs[f.name]
        if f.name in partition:
            known, value = _partition_value(partition[f.name], f.type)
            acc.add(value, value, (rows if value is None else 0) if known else None, rows, known)
            continue
        if f.name not in file_schema.names:
            acc.add(None, None, rows, rows, True)  # the dataset fills a missing column with nulls
            continue
        j = index.get(f.name)
        usable = j is not None and stats_comparable(f.type) and file_schema.field(f.name).type == f.type
        usable = usable and (trusted_strings or not _string_like(f.type))
        for i in range(md.num_row_groups):
            rg = md.row_group(i)
            if j is None:
                acc.add(None, None, None, rg.num_rows, False)
                continue
            st = rg.column(j).statistics
            if st is None:
                acc.add(None, None, None, rg.num_rows, False)
                continue
            nulls = st.null_count if st.has_null_count else None
            if usable and st.has_min_max:
                acc.add(st.min, st.max, nulls, rg.num_rows, True)
            else:
                acc.add(None, None, nulls, rg.num_rows, False)


def _parquet_footer(fs: pafs.FileSystem, ref: TableRef) -> TableFooter:
    metas = []
    for data_file in ref.files:
        try:
            with fs.open_input_file(data_file.path) as fh:
                metas.append(pq.ParquetFile(fh).metadata)
        except (OSError, pa.ArrowException) as exc:
            raise TableError(f"cannot read the Parquet footer of {data_file.path}: {exc}", table=ref.id, path=ref.path) from exc
    # a single file's schema is its footer's; a directory's is the dataset's (partition keys added)
    schema = metas[0].schema.to_arrow_schema() if ref.format == "parquet" else read_schema(fs, ref)
    accs = {f.name: _Acc() for f in schema}
    rows = 0
    footer_bytes = 0
    for data_file, md in zip(ref.files, metas):
        rows += md.num_rows
        footer_bytes += md.serialized_size + _FOOTER_TAIL
        _add_parquet_file(accs, schema, md, dict(data_file.partition))
    return TableFooter(ref.id, schema, rows, {k: a.result() for k, a in accs.items()}, footer_bytes)


def _delta_log_bytes(fs: pafs.FileSystem, path: str) -> int:
    infos = fs.get_file_info(pafs.FileSelector(posixpath.join(path, "_delta_log"), recursive=True))
    return sum(i.size or 0 for i in infos if i.type == pafs.FileType.File)


def _delta_footer(fs: pafs.FileSystem, ref: TableRef) -> TableFooter:
    from deltalake import DeltaTable

    dt = DeltaTable(ref.path, version=ref.delta_version)
    schema = read_schema(fs, ref)  # the schema the table is read with in stages 3 and 4
    actions = pa.table(dt.get_add_actions(flatten=True))
    names = set(actions.column_names)
    record_counts = actions["num_records"].to_pylist() if "num_records" in names else [None] * actions.num_rows
    if any(n is None for n in record_counts):
        raise TableError("Delta log lacks row counts for some files", table=ref.id, path=ref.path)
    rows = int(sum(record_counts))
    stats = {}
    for f in schema:
        acc = _Acc()
        usable = type_family(f.type) in ("int", "float", "bool")
        part = f"partition.{f.name}"
        mins = actions[f"min.{f.name}"].to_pylist() if f"min.{f.name}" in names else None
        maxs = actions[f"max.{f.name}"].to_pylist() if f"max.{f.name}" in names else None
        nulls = actions[f"null_count.{f.name}"].to_pylist() if f"null_count.{f.name}" in names else None
        parts = actions[part].to_pylist() if part in names else None
        for k, n in enumerate(record_counts):
            if parts is not None:
                value = parts[k]
                known = value is None or type_family(f.type) in ("int", "string")
                acc.add(value, value, n if value is None else 0, n, known)
                continue
            nc = None if nulls is None or nulls[k] is None else int(nulls[k])
            lo = mins[k] if mins is not None else None
            hi = maxs[k] if maxs is not None else None
            acc.add(lo, hi, nc, n, usable and lo is not None and hi is not None)
        stats[f.name] = acc.result()
    return TableFooter(ref.id, schema, rows, stats, _delta_log_bytes(fs, ref.path))


def read_footer(task: FooterTask) -> TableFooter:
    """Schema, rows and exact column statistics of one table, from footers or the Delta log only.

    Never raises for a bad table: the problem is returned in ``TableFooter.error`` so the scan goes on.
    """
    ref = task.ref
    try:
        fs, _ = resolve_root(task.root)
        footer = _delta_footer(fs, ref) if ref.format == "delta" else _parquet_footer(fs, ref)
    except Exception as exc:  # noqa: BLE001 - any failure of one table is reported for that table
        return TableFooter(ref.id, error=failure_reason(exc))
    if footer.schema is None or len(footer.schema) == 0:
        return TableFooter(ref.id, error="table has no columns")
    names = footer.schema.names
    if len(set(names)) != len(names):
        return TableFooter(ref.id, error="table has duplicate column names")
    return footer


def failure_reason(exc: BaseException) -> str:
    """The first line of an exception's message (at most 500 characters), for ``skipped`` entries."""
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:500]
