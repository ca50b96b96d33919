"""Reading a table's footers (Parquet), log statistics (Delta) or manifest statistics (Iceberg): schema, row
count and per-column statistics.

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
* Table-format statistics come from :mod:`lakeshrink.tables.delta` and :mod:`lakeshrink.tables.iceberg` with
  what they may be trusted for (:mod:`lakeshrink.tables.stats`). Bounds that are not tight (Delta
  ``tightBounds: false`` with deletion vectors, Iceberg truncated strings, files with deleted rows) make the
  column's min/max *outer bounds* (``ColumnStats.tight`` false): the min-max stage uses them only on a parent's
  side. Null counts of files with deleted rows are kept only when exact (0, or every row); the row count is
  always the live rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from lakeshrink.containment.scan.compare import stats_comparable, type_family
from lakeshrink.containment.lake import TableRef, read_schema, resolve_root
from lakeshrink.errors import TableError
from lakeshrink.tables.stats import FileStats

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
EXACT_STRING_WRITERS = ("parquet-cpp-arrow", "parquet-cpp", "parquet-mr")
_FOOTER_TAIL = 8  # 4-byte footer length + "PAR1"


@dataclass(frozen=True)
class ColumnStats:
    """Exact statistics of one column over a whole table.

    ``minmax_known`` means ``min``/``max`` are known (both None when every value is null). With ``tight`` they
    are the exact extremes of the non-null values; without, only outer bounds (``min`` <= every value <=
    ``max``; the extremes themselves may not occur). ``null_count`` is exact, or None when unknown.
    """

    min: Any = None
    max: Any = None
    minmax_known: bool = False
    null_count: int | None = None
    tight: bool = True

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
        self.tight = True

    def add(self, lo: Any, hi: Any, nulls: int | None, rows: int, known: bool, tight: bool = True) -> None:
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
        self.tight = self.tight and tight

    def result(self) -> ColumnStats:
        if not self.minmax_ok:
            return ColumnStats(null_count=self.nulls)
        return ColumnStats(self.min, self.max, True, self.nulls, self.tight)


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


def _add_format_file(acc: _Acc, f: pa.Field, stats: FileStats) -> None:
    """One table-format file's statistics of column ``f``; bounds and null counts only as far as they hold."""
    live = stats.live_rows if stats.live_rows is not None else stats.rows
    if f.name in stats.partition:
        value = stats.partition[f.name]
        known = value is None or type_family(f.type) in ("int", "string")
        acc.add(value, value, live if value is None else 0, live, known)
        return
    col = stats.columns.get(f.name)
    if col is None:
        acc.add(None, None, None, live, False)
        return
    nulls = col.nulls
    if stats.deleted and nulls is not None:
        # counts of physical rows: exact for the live rows only when none or every row is null
        nulls = 0 if nulls == 0 else (live if nulls == stats.rows else None)
    usable = col.lo is not None and col.hi is not None and stats_comparable(f.type)
    acc.add(col.lo, col.hi, nulls, live, usable, tight=col.tight and not stats.deleted)


def _format_footer(fs: pafs.FileSystem, ref: TableRef) -> TableFooter:
    if ref.format == "delta":
        from lakeshrink.tables.delta import delta_file_stats

        schema, files, meta_bytes = delta_file_stats(ref)
    else:
        from lakeshrink.tables.iceberg import iceberg_file_stats

        schema, files, meta_bytes = iceberg_file_stats(fs, ref)
    stats = {}
    for f in schema:
        acc = _Acc()
        for file_stats in files:
            _add_format_file(acc, f, file_stats)
        stats[f.name] = acc.result()
    rows = sum(s.live_rows if s.live_rows is not None else s.rows for s in files)
    return TableFooter(ref.id, schema, rows, stats, meta_bytes)


def read_footer(task: FooterTask) -> TableFooter:
    """Schema, rows and column statistics of one table, from footers, the Delta log or Iceberg manifests only.

    Never raises for a bad table: the problem is returned in ``TableFooter.error`` so the scan goes on.
    """
    ref = task.ref
    try:
        fs, _ = resolve_root(task.root)
        footer = _format_footer(fs, ref) if ref.is_format_table else _parquet_footer(fs, ref)
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
