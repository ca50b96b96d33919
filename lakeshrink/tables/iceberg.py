"""Iceberg tables through ``pyiceberg`` (an extra: ``pip install 'lakeshrink[iceberg]'``): the live rows of a
pinned snapshot (position deletes applied by pyiceberg), and the manifests' per-file statistics.

A table directory holds ``metadata/*.metadata.json``; the current one is named by ``metadata/version-hint.text``
when present, else it is the newest (highest version number; ``vN.metadata.json`` or ``NNNNN-uuid.metadata.json``),
unless a catalog (``--iceberg-catalog NAME``) says which. Data files are read one scan task at a time, in file path
order, so the row order of a snapshot is fixed (recipes number parent rows by it).

Statistics (see :mod:`.stats`): lower/upper bounds of ints, longs, floats, doubles, booleans and dates are exact
(tight) for files without delete files; string bounds may be truncated (``write.metadata.metrics``, default
``truncate(16)``), so they are outer bounds, used on the parent's side only. pyiceberg cannot read equality
deletes: such a table is refused with that reason.
"""

from __future__ import annotations

import datetime
import posixpath
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.fs as pafs

from lakeshrink.errors import TableError
from lakeshrink.tables.refs import ICEBERG_HINT, DataFile, Skipped, TableRef
from lakeshrink.tables.stats import ColumnBounds, FileStats

_VERSION = re.compile(r"^(?:v(\d+)|(\d+)-.*)\.metadata\.json$")
_EPOCH = datetime.date(1970, 1, 1)


def _pyiceberg() -> None:
    try:
        import pyiceberg  # noqa: F401
    except ImportError as exc:
        raise TableError(f"Iceberg table found but the pyiceberg package is not installed ({ICEBERG_HINT})") from exc


def fs_path(location: str) -> str:
    """An Iceberg location (``file:///x``, ``s3://b/k``, ``/x``) as a path in a pyarrow filesystem."""
    if "://" not in location:
        return location
    parsed = urlparse(location)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    return parsed.netloc + unquote(parsed.path)


def metadata_file(fs: pafs.FileSystem, path: str) -> str:
    """The current metadata file of the Iceberg table folder ``path`` (version hint, else the newest)."""
    meta = posixpath.join(path, "metadata")
    hint = posixpath.join(meta, "version-hint.text")
    if fs.get_file_info(hint).type == pafs.FileType.File:
        with fs.open_input_stream(hint) as f:
            text = f.read().decode("utf-8").strip()
        name = text if text.endswith(".metadata.json") else f"v{text}.metadata.json"
        candidate = posixpath.join(meta, name)
        if fs.get_file_info(candidate).type == pafs.FileType.File:
            return candidate
    best: tuple[int, int, str] | None = None
    for info in fs.get_file_info(pafs.FileSelector(meta)):
        m = _VERSION.match(info.base_name)
        if m and info.type == pafs.FileType.File:
            key = (int(m.group(1) or m.group(2)), info.mtime_ns or 0, info.path)
            best = key if best is None or key > best else best
    if best is None:
        raise TableError("Iceberg metadata folder holds no metadata file", path=meta)
    return best[2]


def _uri(fs: pafs.FileSystem, path: str) -> str:
    return path if "://" in path or not isinstance(fs, pafs.LocalFileSystem) else "file://" + path


def load(fs: pafs.FileSystem, metadata: str, *, table_id: str | None = None) -> Any:
    """A pyiceberg ``StaticTable`` from a metadata file."""
    _pyiceberg()
    from pyiceberg.table import StaticTable

    try:
        return StaticTable.from_metadata(_uri(fs, metadata))
    except Exception as exc:  # noqa: BLE001 - pyiceberg raises many kinds
        raise TableError(f"cannot load the Iceberg metadata {metadata}: {exc}", table=table_id, path=metadata) from exc


def _tasks(table: Any, snapshot_id: int | None, ref_id: str, columns: list[str] | None = None) -> tuple[Any, list[Any]]:
    from pyiceberg.manifest import DataFileContent

    if snapshot_id is not None and table.metadata.snapshot_by_id(snapshot_id) is None:
        raise TableError(f"snapshot {snapshot_id} is no longer in the Iceberg table (expired)", table=ref_id)
    scan = table.scan(snapshot_id=snapshot_id, selected_fields=tuple(columns) if columns else ("*",))
    tasks = []
    for task in scan.plan_files():
        for d in task.delete_files:
            if d.content == DataFileContent.EQUALITY_DELETES:
                raise TableError(f"the Iceberg table has equality deletes ({d.file_path}), which pyiceberg cannot read yet",
                                 table=ref_id)
        tasks.append(task)
    return scan, sorted(tasks, key=lambda t: t.file.file_path)


def open_iceberg(fs: pafs.FileSystem, path: str, table_id: str, *, metadata: str | None = None,
                 snapshot_id: int | None = None) -> TableRef:
    """The Iceberg table in folder ``path`` at ``snapshot_id`` (default: the current snapshot)."""
    metadata = metadata or metadata_file(fs, path)
    table = load(fs, metadata, table_id=table_id)
    snap = table.metadata.snapshot_by_id(snapshot_id) if snapshot_id is not None else table.current_snapshot()
    if snapshot_id is not None and snap is None:
        raise TableError(f"snapshot {snapshot_id} is no longer in the Iceberg table (expired)", table=table_id, path=path)
    files = []
    if snap is not None:
        _, tasks = _tasks(table, snap.snapshot_id, table_id)
        for task in tasks:
            deleted = sum(d.record_count for d in task.delete_files)
            files.append(DataFile(fs_path(task.file.file_path), int(task.file.file_size_in_bytes), deleted_rows=deleted))
    keys = tuple(table.schema().find_column_name(f.source_id) or "" for f in table.spec().fields)
    return TableRef(table_id, path, "iceberg", tuple(files), keys, None,
                    snap.snapshot_id if snap is not None else None, metadata)


def _plain(schema: pa.Schema) -> pa.Schema:
    """pyiceberg's Arrow schema with ``string``/``binary`` where it says ``large_*`` (the types Parquet files of
    other tables read as; Iceberg's own types do not distinguish them)."""
    swap = {pa.large_string(): pa.string(), pa.large_binary(): pa.binary()}
    return pa.schema([pa.field(f.name, swap.get(f.type, f.type), f.nullable) for f in schema])


def iceberg_schema(fs: pafs.FileSystem, ref: TableRef) -> pa.Schema:
    from pyiceberg.io.pyarrow import schema_to_pyarrow

    table = load(fs, ref.metadata or metadata_file(fs, ref.path), table_id=ref.id)
    scan = table.scan(snapshot_id=ref.snapshot_id)
    return _plain(schema_to_pyarrow(scan.projection(), include_field_ids=False))


def iceberg_tables(fs: pafs.FileSystem, ref: TableRef, columns: list[str] | None = None) -> Iterator[pa.Table]:
    """The live rows of ``ref``'s pinned snapshot, one Arrow table per data file, in ``ref.files`` order."""
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import ArrowScan, schema_to_pyarrow

    table = load(fs, ref.metadata or metadata_file(fs, ref.path), table_id=ref.id)
    if ref.snapshot_id is None:
        return
    scan, tasks = _tasks(table, ref.snapshot_id, ref.id, columns)
    projected = scan.projection()
    target = _plain(schema_to_pyarrow(projected, include_field_ids=False))
    by_path = {fs_path(t.file.file_path): t for t in tasks}
    reader = ArrowScan(table.metadata, table.io, projected, AlwaysTrue())
    for data_file in ref.files:
        task = by_path.get(data_file.path)
        if task is None:
            raise TableError(f"{data_file.path} is not in snapshot {ref.snapshot_id} of the Iceberg table", table=ref.id)
        try:
            part = reader.to_table([task])
        except Exception as exc:  # noqa: BLE001
            raise TableError(f"cannot read {data_file.path}: {exc}", table=ref.id, path=ref.path) from exc
        part = part.cast(target) if not part.schema.equals(target) else part
        yield part.select(list(columns)) if columns else part


def read_iceberg(fs: pafs.FileSystem, ref: TableRef, columns: list[str] | None = None) -> pa.Table:
    parts = list(iceberg_tables(fs, ref, columns))
    if not parts:
        schema = iceberg_schema(fs, ref)
        return pa.schema([schema.field(c) for c in (columns or schema.names)]).empty_table()
    if columns and len(parts) == 1:
        return parts[0]
    return pa.concat_tables(parts)


def _decode(field_type: Any, raw: bytes | None) -> tuple[Any, bool]:
    """(value, tight) of an encoded bound; value None when not usable."""
    from pyiceberg.conversions import from_bytes
    from pyiceberg.types import BooleanType, DateType, DoubleType, FloatType, IntegerType, LongType, StringType

    if raw is None:
        return None, True
    if isinstance(field_type, (IntegerType, LongType, BooleanType)):
        return from_bytes(field_type, raw), True
    if isinstance(field_type, (FloatType, DoubleType)):
        value = from_bytes(field_type, raw)
        return (None if value != value else float(value)), True
    if isinstance(field_type, DateType):
        return _EPOCH + datetime.timedelta(days=int(from_bytes(field_type, raw))), True
    if isinstance(field_type, StringType):
        return from_bytes(field_type, raw), False  # may be truncated: an outer bound
    return None, True


def iceberg_file_stats(fs: pafs.FileSystem, ref: TableRef) -> tuple[pa.Schema, list[FileStats], int]:
    """The table's schema, its live files' manifest statistics, and the bytes of its metadata folder."""
    table = load(fs, ref.metadata or metadata_file(fs, ref.path), table_id=ref.id)
    schema = iceberg_schema(fs, ref)
    out: list[FileStats] = []
    if ref.snapshot_id is not None:
        scan, tasks = _tasks(table, ref.snapshot_id, ref.id)
        fields = scan.projection().fields
        for task in tasks:
            f = task.file
            deleted = bool(task.delete_files)
            lows, highs = f.lower_bounds or {}, f.upper_bounds or {}
            nulls = f.null_value_counts or {}
            cols = {}
            for field in fields:
                lo, tight_lo = _decode(field.field_type, lows.get(field.field_id))
                hi, tight_hi = _decode(field.field_type, highs.get(field.field_id))
                nc = nulls.get(field.field_id)
                cols[field.name] = ColumnBounds(lo, hi, None if nc is None else int(nc),
                                                tight=tight_lo and tight_hi and not deleted)
            rows = int(f.record_count)
            out.append(FileStats(rows, None if deleted else rows, deleted, cols))
    if any(s.live_rows is None for s in out):  # position deletes: count the live rows of those files
        first = schema.names[:1]
        counts = [t.num_rows for t in iceberg_tables(fs, ref, first)]
        out = [FileStats(s.rows, n, s.deleted, s.columns, s.partition) for s, n in zip(out, counts)]
    meta = posixpath.join(ref.path, "metadata")
    size = sum(i.size or 0 for i in fs.get_file_info(pafs.FileSelector(meta)) if i.type == pafs.FileType.File)
    return schema, out, size


def open_catalog(catalog: Any) -> Any:
    """A pyiceberg catalog: ``catalog`` itself, or the one of that name (``~/.pyiceberg.yaml``,
    ``PYICEBERG_CATALOG__NAME__*`` variables)."""
    if not isinstance(catalog, str):
        return catalog
    _pyiceberg()
    from pyiceberg.catalog import load_catalog

    try:
        return load_catalog(catalog)
    except Exception as exc:  # noqa: BLE001
        raise TableError(f"cannot load the Iceberg catalog {catalog!r}: {exc}") from exc


def catalog_table_list(catalog: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (identifier, table) of a pyiceberg catalog, nested namespaces included."""
    pending = list(catalog.list_namespaces())
    seen = set()
    while pending:
        ns = pending.pop()
        if ns in seen:
            continue
        seen.add(ns)
        try:
            pending.extend(n for n in catalog.list_namespaces(ns) if n != ns)
        except Exception:  # noqa: BLE001 - catalogs without nested namespaces
            pass
        for ident in catalog.list_tables(ns):
            yield tuple(ident), catalog.load_table(ident)


def catalog_tables(catalog: Any, fs: pafs.FileSystem, base: str) -> tuple[dict[str, str], list[Skipped]]:
    """The tables of a pyiceberg catalog (or the catalog of that name): {table folder path: current metadata
    file} for those under the lake root, and the others as skipped (a lake's tables live under its root)."""
    catalog = open_catalog(catalog)
    found: dict[str, str] = {}
    skipped: list[Skipped] = []
    for ident, table in catalog_table_list(catalog):
        location = fs_path(table.location()).rstrip("/")
        if location == base or location.startswith(base.rstrip("/") + "/"):
            found[location] = fs_path(table.metadata_location)
        else:
            skipped.append(Skipped(".".join(ident), f"Iceberg table of catalog {catalog.name!r} lies outside the lake "
                                                     f"root ({location})"))
    return found, skipped
