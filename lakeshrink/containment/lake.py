"""Discovering the tables of a lake and reading them as Arrow.

A lake root is a local path or any URI pyarrow's filesystems understand (``s3://``, ``gs://``, ``hdfs://``,
``file://``). Below it, a directory is ONE table when it holds:

* ``_delta_log``: a Delta table (read through the ``deltalake`` package; ``pip install 'lakeshrink[delta]'``);
* hive partition subdirectories (``key=value``), whose keys become columns;
* Spark-style ``part-*`` files or a ``_SUCCESS`` marker.

Otherwise each ``.parquet`` file is its own table and subdirectories are searched in turn. Names starting with
``_`` or ``.`` (``_lakeshrink``, ``_SUCCESS``, ``.crc`` files, temporaries) are never tables. A table's id is its
path relative to the lake root, with ``/`` separators; a file keeps its ``.parquet`` suffix.

Example:
    >>> from lakeshrink.containment.lake import discover
    >>> lake = discover("lakeshrink/data/lake")          # doctest: +SKIP
    >>> [t.id for t in lake.tables][:2]                   # doctest: +SKIP
    ['airlines.parquet', 'airports.parquet']
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from lakeshrink.errors import InputError, TableError

TableFormat = Literal["parquet", "directory", "delta"]
DELTA_HINT = "pip install 'lakeshrink[delta]'"


@dataclass(frozen=True)
class DataFile:
    """One Parquet data file of a table: its filesystem path, size, hive partition values and modification time
    (nanoseconds, when the filesystem tells; used to notice tables that change during a scan)."""

    path: str
    size: int
    partition: tuple[tuple[str, str], ...] = ()
    mtime_ns: int | None = None


@dataclass(frozen=True)
class TableRef:
    """A table found in a lake. ``path`` is in the lake's filesystem; ``id`` is relative to the root."""

    id: str
    path: str
    format: TableFormat
    files: tuple[DataFile, ...]
    partition_keys: tuple[str, ...] = ()
    delta_version: int | None = None

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True)
class Skipped:
    table: str
    reason: str


@dataclass(frozen=True)
class Lake:
    """The tables of a lake, with the filesystem to read them through."""

    root: str
    filesystem: pafs.FileSystem = field(repr=False, compare=False)
    tables: tuple[TableRef, ...]
    skipped: tuple[Skipped, ...] = ()

    def table(self, table_id: str) -> TableRef:
        for ref in self.tables:
            if ref.id == table_id:
                return ref
        raise TableError(f"no table {table_id!r} in the lake", table=table_id, path=self.root)

    def read(self, ref: TableRef | str, columns: list[str] | None = None) -> pa.Table:
        return read_table(self.filesystem, ref if isinstance(ref, TableRef) else self.table(ref), columns)

    def schema(self, ref: TableRef | str) -> pa.Schema:
        return read_schema(self.filesystem, ref if isinstance(ref, TableRef) else self.table(ref))


def resolve_root(root: str | Path) -> tuple[pafs.FileSystem, str]:
    """The filesystem and base path of a lake root given as a local path or a URI."""
    text = str(root)
    if "://" in text:
        try:
            fs, base = pafs.FileSystem.from_uri(text)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"cannot open lake root: {exc}", path=text) from exc
    else:
        fs, base = pafs.LocalFileSystem(), str(Path(text).resolve())
    info = fs.get_file_info(base)
    if info.type == pafs.FileType.NotFound:
        raise InputError("lake root does not exist", path=text)
    return fs, base.rstrip("/") or "/"


def _hidden(name: str) -> bool:
    return name.startswith(("_", "."))


def _is_hive_dir(name: str) -> bool:
    key, sep, _ = name.partition("=")
    return bool(sep) and bool(key) and not _hidden(name)


def _named(infos: list[pafs.FileInfo]) -> tuple[list[pafs.FileInfo], int]:
    """The entries whose names are UTF-8 (pyarrow cannot give the others' paths), and how many were not."""
    good = []
    for info in infos:
        try:
            info.path  # noqa: B018 - decodes the name
        except UnicodeDecodeError:
            continue
        good.append(info)
    return good, len(infos) - len(good)


def _list(fs: pafs.FileSystem, path: str, undecodable: list[str] | None = None) -> list[pafs.FileInfo]:
    entries, bad = _named(fs.get_file_info(pafs.FileSelector(path, recursive=False)))
    if bad and undecodable is not None:
        undecodable.append(path)
    return sorted(entries, key=lambda i: i.base_name)


def _directory_files(fs: pafs.FileSystem, path: str) -> tuple[tuple[DataFile, ...], tuple[str, ...]]:
    """All data files below a directory table, with hive partition values from the path."""
    files: list[DataFile] = []
    keys: list[str] = []
    selector = pafs.FileSelector(path, recursive=True)
    infos, bad = _named(fs.get_file_info(selector))
    if bad:
        raise TableError(f"{bad} file name(s) in the table are not UTF-8; the table cannot be read whole", path=path)
    for info in sorted(infos, key=lambda i: i.path):
        if info.type != pafs.FileType.File:
            continue
        rel = posixpath.relpath(info.path, path)
        parts = rel.split("/")
        if any(_hidden(p) for p in parts) or parts[-1].endswith((".crc", ".tmp")):
            continue
        partition = tuple(tuple(p.split("=", 1)) for p in parts[:-1] if _is_hive_dir(p))
        for key, _ in partition:
            if key not in keys:
                keys.append(key)
        files.append(DataFile(info.path, info.size, partition, info.mtime_ns))  # type: ignore[arg-type]
    return tuple(files), tuple(keys)


def _delta_table(fs: pafs.FileSystem, path: str, table_id: str) -> TableRef:
    try:
        from deltalake import DeltaTable
    except ImportError as exc:
        raise TableError(f"Delta table found but the deltalake package is not installed ({DELTA_HINT})", table=table_id, path=path) from exc
    if not isinstance(fs, pafs.LocalFileSystem):
        raise TableError("Delta tables are read on local paths only by the local engine; use --engine spark", table=table_id, path=path)
    dt = DeltaTable(path)
    actions = pa.table(dt.get_add_actions(flatten=True))
    sizes = dict(zip(actions["path"].to_pylist(), actions["size_bytes"].to_pylist()))
    files = tuple(
        DataFile(posixpath.join(path, rel) if not rel.startswith("/") else rel, int(size)) for rel, size in sorted(sizes.items())
    )
    return TableRef(table_id, path, "delta", files, tuple(dt.metadata().partition_columns), dt.version())


def table_at(fs: pafs.FileSystem, base: str, path: str) -> TableRef:
    """The table stored at ``path`` (a Parquet file or a table directory)."""
    table_id = posixpath.relpath(path, base) if path != base else posixpath.basename(path)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.File:
        return TableRef(table_id, path, "parquet", (DataFile(path, info.size, (), info.mtime_ns),))  # type: ignore[arg-type]
    if info.type != pafs.FileType.Directory:
        raise TableError("no such table", table=table_id, path=path)
    if fs.get_file_info(posixpath.join(path, "_delta_log")).type == pafs.FileType.Directory:
        return _delta_table(fs, path, table_id)
    files, keys = _directory_files(fs, path)
    if not files:
        raise TableError("directory holds no data files", table=table_id, path=path)
    return TableRef(table_id, path, "directory", files, keys)


def _is_table_dir(entries: list[pafs.FileInfo]) -> bool:
    for e in entries:
        if e.base_name == "_delta_log" and e.type == pafs.FileType.Directory:
            return True
        if e.base_name == "_SUCCESS" or (e.base_name.startswith("part-") and e.type == pafs.FileType.File):
            return True
        if e.type == pafs.FileType.Directory and _is_hive_dir(e.base_name):
            return True
    return False


def discover(root: str | Path, *, tables: list[str] | None = None) -> Lake:
    """Find the tables of a lake.

    Args:
        root: local path or URI of the lake root.
        tables: explicit table paths (relative to ``root``, or absolute); default: walk the lake.

    A table that cannot be listed is reported in ``Lake.skipped`` with the reason; discovery goes on.
    """
    fs, base = resolve_root(root)
    found: list[TableRef] = []
    skipped: list[Skipped] = []

    def add(path: str) -> None:
        try:
            found.append(table_at(fs, base, path))
        except (TableError, OSError, pa.ArrowException) as exc:
            skipped.append(Skipped(posixpath.relpath(path, base), str(exc)))

    if tables is not None:
        for t in tables:
            add(t if t.startswith("/") or "://" in t else posixpath.join(base, t))
    elif fs.get_file_info(base).type == pafs.FileType.File:
        add(base)
    else:
        stack = [base]
        undecodable: list[str] = []
        while stack:
            current = stack.pop()
            entries = _list(fs, current, undecodable)
            if current != base and _is_table_dir(entries):
                add(current)
                continue
            for e in entries:
                if _hidden(e.base_name):
                    continue
                if e.type == pafs.FileType.Directory:
                    stack.append(e.path)
                elif e.base_name.endswith(".parquet"):
                    add(e.path)
        skipped += [Skipped(posixpath.relpath(d, base), "holds names that are not UTF-8: those entries were not read")
                    for d in undecodable]
    found.sort(key=lambda t: t.id)
    return Lake(base, fs, tuple(found), tuple(skipped))


def read_tables_file(path: str | Path) -> list[str]:
    """Table paths listed one per line in a text file (blank lines and ``#`` comments ignored)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read the tables file: {exc.strerror}", path=path) from exc
    except UnicodeDecodeError as exc:
        raise InputError("the tables file is not UTF-8 text (a binary file?)", path=path) from exc
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def _dataset(fs: pafs.FileSystem, ref: TableRef) -> ds.Dataset:
    if ref.format == "delta":
        from deltalake import DeltaTable

        return DeltaTable(ref.path).to_pyarrow_dataset()
    if ref.format == "parquet":
        return ds.dataset(ref.path, filesystem=fs, format="parquet")
    partitioning = ds.HivePartitioning.discover(infer_dictionary=False) if ref.partition_keys else None
    return ds.dataset(
        [f.path for f in ref.files], filesystem=fs, format="parquet", partitioning=partitioning, partition_base_dir=ref.path
    )


def read_schema(fs: pafs.FileSystem, ref: TableRef) -> pa.Schema:
    """The table's Arrow schema, from footers (and partition paths) only."""
    try:
        if ref.format == "parquet":
            with fs.open_input_file(ref.path) as f:
                return pq.read_schema(f)
        return _dataset(fs, ref).schema
    except (OSError, pa.ArrowException) as exc:
        raise TableError(f"cannot read the schema: {exc}", table=ref.id, path=ref.path) from exc


def projection_bytes(fs: pafs.FileSystem, ref: TableRef, columns: list[str] | tuple[str, ...]) -> int:
    """Bytes a read of ``columns`` of ``ref`` takes from storage: their column chunks plus each file's footer.

    Used to report the data bytes each stage reads. Partition keys cost nothing (they are in the paths).
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
        total += md.serialized_size + 8
        for j in range(md.num_columns):
            if md.schema.column(j).path.split(".")[0] in wanted:
                total += sum(md.row_group(i).column(j).total_compressed_size for i in range(md.num_row_groups))
    return total


def read_table(fs: pafs.FileSystem, ref: TableRef, columns: list[str] | None = None) -> pa.Table:
    """The table's rows as Arrow (optionally only ``columns``). Hive partition keys are columns."""
    try:
        if ref.format == "parquet":
            with fs.open_input_file(ref.path) as f:
                return pq.read_table(f, columns=columns)
        return _dataset(fs, ref).to_table(columns=columns)
    except (OSError, pa.ArrowException) as exc:
        raise TableError(f"cannot read the table: {exc}", table=ref.id, path=ref.path) from exc
