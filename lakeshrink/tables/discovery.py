"""Finding the tables of a lake: the one module that resolves lake roots and table paths.

A lake root is a local path or any URI pyarrow's filesystems understand (``s3://``, ``gs://``, ``hdfs://``,
``file://``). Below it, a directory is ONE table when it holds:

* ``_delta_log/``: a Delta table (read through ``deltalake``; ``pip install 'lakeshrink[delta]'``);
* ``metadata/*.metadata.json`` (with or without ``metadata/version-hint.text``): an Iceberg table (read through
  ``pyiceberg``; ``pip install 'lakeshrink[iceberg]'``). With ``iceberg_catalog`` (``--iceberg-catalog NAME``),
  the catalog's current metadata file of a table wins over the newest file in its folder;
* ``.hoodie/``: a Hudi table, which lakeshrink does not read: it is reported as skipped, never read as files;
* hive partition subdirectories (``key=value``), whose keys become columns;
* Spark-style ``part-*`` files or a ``_SUCCESS`` marker.

Otherwise each ``.parquet`` file is its own table and subdirectories are searched in turn. **Nothing inside a
table-format directory (Delta, Iceberg, Hudi) is ever read as a loose file**: the walk does not enter one, and an
explicit table path inside one is refused. Names starting with ``_`` or ``.`` are never tables. A table's id is
its path relative to the lake root, with ``/`` separators (a file keeps its ``.parquet`` suffix; a table-format
table's id is its directory).

Example:
    >>> from lakeshrink.tables.discovery import discover
    >>> lake = discover("lakeshrink/data/lake")          # doctest: +SKIP
    >>> [t.id for t in lake.tables][:2]                   # doctest: +SKIP
    ['airlines.parquet', 'airports.parquet']
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.fs as pafs

from lakeshrink.errors import InputError, TableError
from lakeshrink.tables.known import KnownTables, probe
from lakeshrink.tables.refs import DataFile, Skipped, TableRef

Kind = Literal["delta", "iceberg", "hudi", "directory"]
HUDI_REASON = ("a Hudi table (.hoodie/): lakeshrink reads Delta and Iceberg tables only, and never reads a "
               "table format's files as loose Parquet")


@dataclass(frozen=True)
class Lake:
    """The tables of a lake, with the filesystem to read them through, and the probe of each Delta and Iceberg
    table when it was discovered (:func:`lakeshrink.tables.known.probe`; used by :func:`changed`)."""

    root: str
    filesystem: pafs.FileSystem = field(repr=False, compare=False)
    tables: tuple[TableRef, ...]
    skipped: tuple[Skipped, ...] = ()
    probes: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def table(self, table_id: str) -> TableRef:
        for ref in self.tables:
            if ref.id == table_id:
                return ref
        raise TableError(f"no table {table_id!r} in the lake", table=table_id, path=self.root)

    def read(self, ref: TableRef | str, columns: list[str] | None = None) -> pa.Table:
        from lakeshrink.tables.read import read_table

        return read_table(self.filesystem, ref if isinstance(ref, TableRef) else self.table(ref), columns)

    def schema(self, ref: TableRef | str) -> pa.Schema:
        from lakeshrink.tables.read import read_schema

        return read_schema(self.filesystem, ref if isinstance(ref, TableRef) else self.table(ref))


def filesystem_of(location: str | Path) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem and path of a local path (made absolute) or a URI; it need not exist yet.

    Raises:
        InputError: a URI pyarrow cannot open.
    """
    text = str(location)
    if "://" not in text:
        return pafs.LocalFileSystem(), str(Path(text).resolve())
    try:
        fs, path = pafs.FileSystem.from_uri(text)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"cannot open {text}: {exc}", path=text) from exc
    return fs, path.rstrip("/") or "/"


def resolve_root(root: str | Path) -> tuple[pafs.FileSystem, str]:
    """The filesystem and base path of a lake root given as a local path or a URI (which must exist)."""
    text = str(root)
    fs, base = filesystem_of(text)
    info = fs.get_file_info(base)
    if info.type == pafs.FileType.NotFound:
        raise InputError("lake root does not exist", path=text)
    return fs, base.rstrip("/") or "/"


def hidden(name: str) -> bool:
    """Names that are never tables or data files (``_delta_log``, ``_SUCCESS``, ``.crc``, temporaries)."""
    return name.startswith(("_", "."))


def is_hive_dir(name: str) -> bool:
    key, sep, _ = name.partition("=")
    return bool(sep) and bool(key) and not hidden(name)


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


def _is_dir(fs: pafs.FileSystem, path: str) -> bool:
    return fs.get_file_info(path).type == pafs.FileType.Directory


def _has_iceberg_metadata(fs: pafs.FileSystem, path: str) -> bool:
    meta = posixpath.join(path, "metadata")
    if not _is_dir(fs, meta):
        return False
    return any(i.base_name.endswith(".metadata.json") or i.base_name == "version-hint.text" for i in _list(fs, meta))


def table_kind(fs: pafs.FileSystem, path: str, entries: list[pafs.FileInfo] | None = None) -> Kind | None:
    """What the directory at ``path`` is: a table format's table, a plain table directory, or None (not a
    table: a folder of tables or files)."""
    entries = _list(fs, path) if entries is None else entries
    dirs = {e.base_name for e in entries if e.type == pafs.FileType.Directory}
    if "_delta_log" in dirs:
        return "delta"
    if ".hoodie" in dirs:
        return "hudi"
    if "metadata" in dirs and _has_iceberg_metadata(fs, path):
        return "iceberg"
    for e in entries:
        if e.base_name == "_SUCCESS" or (e.base_name.startswith("part-") and e.type == pafs.FileType.File):
            return "directory"
        if e.type == pafs.FileType.Directory and is_hive_dir(e.base_name):
            return "directory"
    return None


def format_table_above(fs: pafs.FileSystem, base: str, path: str) -> tuple[str, Kind] | None:
    """The table-format table (Delta, Iceberg, Hudi) that ``path`` lies inside, between it and the root."""
    current = posixpath.dirname(path.rstrip("/"))
    stop = posixpath.dirname(base.rstrip("/"))
    while current and current != stop and current.startswith(base.rstrip("/") or "/"):
        try:
            kind = table_kind(fs, current)
        except OSError:
            kind = None
        if kind in ("delta", "iceberg", "hudi"):
            return current, kind  # type: ignore[return-value]
        parent = posixpath.dirname(current)
        if parent == current:
            break
        current = parent
    return None


def directory_files(fs: pafs.FileSystem, path: str) -> tuple[tuple[DataFile, ...], tuple[str, ...]]:
    """All data files below a plain table directory, with hive partition values from the path."""
    files: list[DataFile] = []
    keys: list[str] = []
    named, bad = _named(fs.get_file_info(pafs.FileSelector(path, recursive=True)))
    if bad:
        raise TableError(f"{bad} file name(s) in the table are not UTF-8; the table cannot be read whole", path=path)
    infos = sorted(named, key=lambda i: i.path)
    # a table format's table nested inside: none of its files belong to this directory
    nested = tuple(posixpath.dirname(i.path) + "/" for i in infos if i.type == pafs.FileType.Directory
                   and i.base_name in ("_delta_log", ".hoodie"))
    nested += tuple(posixpath.dirname(posixpath.dirname(i.path)) + "/" for i in infos
                    if i.base_name.endswith(".metadata.json") and posixpath.basename(posixpath.dirname(i.path)) == "metadata")
    for info in infos:
        if info.type != pafs.FileType.File or info.path.startswith(nested):
            continue
        parts = _relative(info.path, path).split("/")
        if any(hidden(p) for p in parts) or parts[-1].endswith((".crc", ".tmp")):
            continue
        partition = tuple(tuple(p.split("=", 1)) for p in parts[:-1] if is_hive_dir(p))
        for key, _ in partition:
            if key not in keys:
                keys.append(key)
        files.append(DataFile(info.path, info.size, partition, info.mtime_ns))  # type: ignore[arg-type]
    return tuple(files), tuple(keys)


def _relative(path: str, start: str) -> str:
    """``posixpath.relpath`` for a path below ``start`` (a string cut: relpath normalises both, and cost a tenth
    of a re-scan's discovery); other paths go through relpath."""
    prefix = start if start.endswith("/") else start + "/"
    if path.startswith(prefix):
        rest = path[len(prefix):].rstrip("/")
        if rest and not any(part in ("", ".", "..") for part in rest.split("/")):
            return rest
    return posixpath.relpath(path, start)


def _table_id(base: str, path: str) -> str:
    return _relative(path, base) if path != base else posixpath.basename(path)


def table_at(fs: pafs.FileSystem, base: str, path: str, *, iceberg_metadata: dict[str, str] | None = None,
             check_inside: bool = True, known: KnownTables | None = None, probes: dict[str, str] | None = None) -> TableRef:
    """The table stored at ``path`` (a Parquet file or a table directory), in its current state.

    ``check_inside`` looks for a table-format table above ``path`` (up to ``base``); the walk of :func:`discover`
    never enters one, so it skips that check. A Delta or Iceberg table is taken from ``known`` when its probe
    did not change since it was opened (else opened and remembered there); its probe is put in ``probes`` by id.

    Raises:
        TableError: not a table, a Hudi table, a path inside a table-format table, or an unreadable table.
    """
    table_id = _table_id(base, path)
    inside = format_table_above(fs, base, path) if check_inside else None
    if inside is not None:
        owner, kind = inside
        raise TableError(f"{path} lies inside the {kind} table {owner}; a table format's files are not tables "
                         f"(name the table, {_table_id(base, owner)!r})", table=table_id, path=path)
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.File:
        return TableRef(table_id, path, "parquet", (DataFile(path, info.size, (), info.mtime_ns),))  # type: ignore[arg-type]
    if info.type != pafs.FileType.Directory:
        raise TableError("no such table", table=table_id, path=path)
    kind = table_kind(fs, path)
    if kind in ("delta", "iceberg"):
        catalog_metadata = (iceberg_metadata or {}).get(path) if kind == "iceberg" else None
        token = probe(fs, path, kind)
        key = token if catalog_metadata is None else f"{token} {catalog_metadata}"  # the catalog may point elsewhere
        ref = known.get(path, key) if known is not None else None
        if ref is None:
            ref = _open_format_table(fs, path, table_id, kind, catalog_metadata)
            if known is not None and probe(fs, path, kind) == token:  # not moved while it was opened
                known.put(path, key, ref)
        if probes is not None:
            probes[table_id] = token
        return replace(ref, id=table_id)
    if kind == "hudi":
        raise TableError(HUDI_REASON, table=table_id, path=path)
    files, keys = directory_files(fs, path)
    if not files:
        raise TableError("directory holds no data files", table=table_id, path=path)
    return TableRef(table_id, path, "directory", files, keys)


def _open_format_table(fs: pafs.FileSystem, path: str, table_id: str, kind: str, catalog_metadata: str | None) -> TableRef:
    if kind == "delta":
        from lakeshrink.tables.delta import open_delta

        return open_delta(fs, path, table_id)
    from lakeshrink.tables.iceberg import open_iceberg

    return open_iceberg(fs, path, table_id, metadata=catalog_metadata)


def changed(lake: Lake, ref: TableRef) -> str | None:
    """Why the storage of ``ref`` (a table of ``lake``) is no longer as discovery found it, or None when it is
    the same: for a Delta or Iceberg table with a recorded probe, one listing of its log folder; otherwise the
    table found again at its path, compared file by file."""
    fs = lake.filesystem
    token = lake.probes.get(ref.id)
    try:
        if token is not None and ref.format in ("delta", "iceberg"):
            if probe(fs, ref.path, ref.format) == token:
                return None
            return "table changed during the scan (its log moved on since it was discovered)"
        current = table_at(fs, lake.root, ref.path, check_inside=False)
    except Exception as exc:  # noqa: BLE001 - whatever happened, the table is not as it was
        return f"table changed during the scan: {exc}"
    if replace(current, id=ref.id, metadata=ref.metadata) != ref:
        return "table changed during the scan (its files differ from when it was discovered)"
    return None


def discover(root: str | Path, *, tables: list[str] | None = None, iceberg_catalog: Any = None,
             known: str | os.PathLike[str] | None = None) -> Lake:
    """Find the tables of a lake.

    Args:
        root: local path or URI of the lake root (a folder of tables, or one Parquet file).
        tables: explicit table paths (relative to ``root``, or absolute); default: walk the lake.
        iceberg_catalog: a pyiceberg catalog, or its name (configured in ``~/.pyiceberg.yaml`` or
            ``PYICEBERG_CATALOG__NAME__*`` variables), whose tables' current metadata is used.
        known: a file remembering the Delta and Iceberg tables opened by the previous discovery
            (:class:`~lakeshrink.tables.known.KnownTables`): those whose log did not change are not opened again.

    A table that cannot be listed or read is reported in ``Lake.skipped`` with the reason; discovery goes on.
    """
    fs, base = resolve_root(root)
    found: list[TableRef] = []
    skipped: list[Skipped] = []
    metadata: dict[str, str] = {}
    probes: dict[str, str] = {}
    memory = KnownTables(known) if known is not None else None
    if iceberg_catalog is not None:
        from lakeshrink.tables.iceberg import catalog_tables

        metadata, outside = catalog_tables(iceberg_catalog, fs, base)
        skipped.extend(outside)

    def add(path: str, explicit: bool = False) -> None:
        try:
            found.append(table_at(fs, base, path, iceberg_metadata=metadata, check_inside=explicit, known=memory, probes=probes))
        except (TableError, OSError, pa.ArrowException) as exc:
            skipped.append(Skipped(_table_id(base, path), str(exc)))

    if tables is not None:
        for t in tables:
            add(t if t.startswith("/") or "://" in t else posixpath.join(base, t), explicit=True)
    elif fs.get_file_info(base).type == pafs.FileType.File:
        add(base)
    else:
        stack = [base]
        undecodable: list[str] = []
        while stack:
            current = stack.pop()
            entries = _list(fs, current, undecodable)
            kind = table_kind(fs, current, entries)
            if current == base and kind in ("delta", "iceberg", "hudi"):
                raise InputError(f"the lake root is itself a {kind} table; give the folder that holds it", path=base)
            if current != base and kind is not None:
                add(current)
                continue
            for e in entries:
                if hidden(e.base_name):
                    continue
                if e.type == pafs.FileType.Directory:
                    stack.append(e.path)
                elif e.base_name.endswith(".parquet"):
                    add(e.path)
        skipped += [Skipped(_table_id(base, d) if d != base else ".", "holds names that are not UTF-8: those entries "
                            "were not read") for d in undecodable]
    if memory is not None:
        try:
            memory.save()
        except OSError:  # a cache that cannot be written only costs the next discovery time
            pass
    found.sort(key=lambda t: t.id)
    return Lake(base, fs, tuple(found), tuple(skipped), probes)


def read_tables_file(path: str | Path) -> list[str]:
    """Table paths listed one per line in a text file (blank lines and ``#`` comments ignored)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read the tables file: {exc.strerror}", path=path) from exc
    except UnicodeDecodeError as exc:
        raise InputError("the tables file is not UTF-8 text (a binary file?)", path=path) from exc
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
