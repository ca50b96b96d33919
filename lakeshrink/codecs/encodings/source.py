"""Parquet inputs of the advisor and the rewriter: one file, or a directory of data files (Spark-style or hive
partitioned), read exactly as stored.

A directory's data files are the ``*.parquet`` and ``part-*`` files below it, in path order, skipping hidden
names (``_`` or ``.`` prefixed: ``_SUCCESS``, ``.crc`` checksums, temporaries). Other files are carried along by
a rewrite, except Hadoop ``.crc`` files, which would no longer match.

A Delta or Iceberg table (found by :mod:`lakeshrink.tables.discovery`) is its live data files, as stored (no
deletion applied: encodings are advised on what the files hold); its files are rewritten only through its own log
(:mod:`lakeshrink.tables.rewrite`). A Hudi table, or a path inside a table format's folder, is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lakeshrink.codecs.encodings.plan import SortKey
from lakeshrink.codecs.encodings.schema import holds_timestamp, schema_memo
from lakeshrink.errors import InputError, SchemaMismatch


@dataclass(frozen=True)
class ParquetInput:
    """A Parquet file or directory. ``files`` and ``extras`` are relative to ``root`` (``"."`` for a file)."""

    root: Path
    is_dir: bool
    files: tuple[str, ...]
    extras: tuple[str, ...] = ()
    table_format: str | None = None  # "delta" | "iceberg": the files are a format table's live data files

    def path(self, rel: str) -> Path:
        return self.root if not self.is_dir else self.root / rel

    @property
    def bytes(self) -> int:
        return sum(self.path(f).stat().st_size for f in self.files)


def _hidden(part: str) -> bool:
    return part.startswith(("_", "."))


#: Bookkeeping files of Parquet writers (Spark/Hadoop) that a rewrite may drop or recreate.
_WRITER_FILES = ("_SUCCESS", "_committed_", "_started_", "_common_metadata", "_metadata")


def foreign_entries(root: Path) -> list[str]:
    """Entries under a Parquet directory that are not its data files or writers' bookkeeping: hidden folders
    (``_checkpoints/``, ``.snapshots/``, ``_lakeshrink/``...) and hidden files other than ``.crc`` checksums. A
    command that replaces the directory as a whole would delete them, so it must refuse instead."""
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        parts = rel.split("/")
        hidden = [x for x in parts if _hidden(x)]
        if not hidden:
            continue
        if len(hidden) == 1 and parts[-1] == hidden[0] and p.is_file() and (
                hidden[0].startswith(_WRITER_FILES) or hidden[0].endswith(".crc")):
            continue
        if any(o == rel or rel.startswith(o + "/") for o in out):
            continue
        out.append(rel)
    return out


def open_input(path: str | Path) -> ParquetInput:
    """Find the data files of a Parquet file or directory.

    Raises:
        InputError: the path does not exist, is a Hudi table or inside a table format's folder, or holds no data
            files.
    """
    root = Path(path)
    if root.is_file():
        return ParquetInput(root, False, (".",))
    if not root.is_dir():
        raise InputError("no such file or directory", path=root)
    fmt = _format_table(root)
    if fmt is not None:
        return fmt
    nested = next((d for d in sorted(root.rglob("_delta_log")) if d.is_dir()), None)
    if nested is not None:  # a table format's table below a plain folder: its log would no longer match its files
        raise InputError(f"holds a Delta table at {nested.parent.relative_to(root).as_posix()}/; rewriting its files "
                         "behind Delta's log would corrupt it", path=root,
                         hint="rewrite that table on its own (give its folder), or point lakeshrink at the plain Parquet folders")
    files, extras = [], []
    for p in sorted(q for q in root.rglob("*") if q.is_file()):
        rel = p.relative_to(root).as_posix()
        parts = rel.split("/")
        if any(_hidden(x) for x in parts[:-1]):
            continue
        name = parts[-1]
        if not _hidden(name) and (name.endswith(".parquet") or name.startswith("part-")):
            files.append(rel)
        elif not name.endswith(".crc"):
            extras.append(rel)
    if not files:
        raise InputError("directory holds no Parquet data files (*.parquet or part-*)", path=root)
    return ParquetInput(root, True, tuple(files), tuple(extras))


def _format_table(root: Path) -> ParquetInput | None:
    """The live data files of the Delta or Iceberg table at ``root``; None when it is no table format's."""
    import pyarrow.fs as pafs

    from lakeshrink.errors import TableError
    from lakeshrink.tables.discovery import HUDI_REASON, format_table_above, table_kind
    from lakeshrink.tables.refs import TableRef

    fs, path = pafs.LocalFileSystem(), str(root.resolve())
    inside = format_table_above(fs, "/", path)
    if inside is not None:
        raise InputError(f"this lies inside the {inside[1]} table {inside[0]}; rewriting its files behind the "
                         "table's log would corrupt it (give the table's folder)", path=root)
    kind = table_kind(fs, path)
    if kind == "hudi":
        raise InputError(HUDI_REASON, path=root)
    if kind not in ("delta", "iceberg"):
        return None
    try:
        if kind == "delta":
            from lakeshrink.tables.delta import open_delta

            ref: TableRef = open_delta(fs, path, root.name)
        else:
            from lakeshrink.tables.iceberg import open_iceberg

            ref = open_iceberg(fs, path, root.name)
    except TableError as exc:
        raise InputError(str(exc), path=root) from exc
    if not ref.files:
        raise InputError(f"the {kind} table has no live data files", path=root)
    files = tuple(str(Path(f.path).relative_to(path)) for f in ref.files)
    return ParquetInput(Path(path), True, files, (), kind)


def read_file(path: Path) -> pa.Table:
    """One Parquet file as Arrow, exactly as stored (no partition columns from the path).

    Raises:
        InputError: the file is missing, truncated or not Parquet (the message names it).
    """
    return read_parquet(path)[0]


def read_parquet(path: Path) -> tuple[pa.Table, pq.FileMetaData]:
    """One Parquet file as Arrow (see :func:`read_file`) and its footer, from one opening of the file (what
    :func:`declared_sorting` and :func:`uses_int96` say of a file can be read from that footer:
    :func:`sorting_of`, :func:`int96_of`).

    Raises:
        InputError: the file is missing, truncated or not Parquet (the message names it).
    """
    try:
        parquet = pq.ParquetFile(path)
        return parquet.read(), parquet.metadata
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read Parquet: {exc}", path=path) from exc


def declared_sorting(path: Path) -> tuple[SortKey, ...]:
    """The sort order a file declares in every row group's ``sorting_columns`` (empty if any group lacks it)."""
    try:
        meta = pq.ParquetFile(path).metadata
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read the Parquet footer: {exc}", path=path) from exc
    return sorting_of(meta)


def sorting_of(meta: pq.FileMetaData) -> tuple[SortKey, ...]:
    """The sort order a file's footer declares in every row group (:func:`declared_sorting`)."""
    declared = None
    for rg in range(meta.num_row_groups):
        cols = meta.row_group(rg).sorting_columns
        keys = tuple(
            SortKey(meta.schema.column(c.column_index).path, c.descending, c.nulls_first) for c in cols
        ) if cols else ()  # (most files declare none: no generator made for them)
        if declared is None:
            declared = keys
        elif keys != declared:
            return ()
    return declared or ()


def total_rows(source: ParquetInput) -> int:
    """Rows of all data files, from their footers."""
    total = 0
    for rel in source.files:
        try:
            total += pq.ParquetFile(source.path(rel)).metadata.num_rows
        except (OSError, pa.ArrowException) as exc:
            raise InputError(f"cannot read the Parquet footer: {exc}", path=source.path(rel)) from exc
    return total


def read_row_group_sample(source: ParquetInput, want_rows: int, *, min_groups: int = 4) -> tuple[pa.Table, bool]:
    """Evenly spaced row groups of the source holding at least ``want_rows`` rows (and ``min_groups`` groups).

    Returns the rows read (in file order) and whether that is the whole source. Reading row groups spread over
    the files keeps the strata of the run sample spread over the table without reading all of it.

    Raises:
        SchemaMismatch: the chosen files disagree on their schema.
    """
    groups: list[tuple[str, int, int]] = []
    for rel in source.files:
        meta = pq.ParquetFile(source.path(rel)).metadata
        groups.extend((rel, i, meta.row_group(i).num_rows) for i in range(meta.num_row_groups))
    rows = [g[2] for g in groups]
    if not groups or sum(rows) <= want_rows or len(groups) <= min_groups:
        return read_input(source), True
    mean = sum(rows) / len(rows)
    count = min(len(groups), max(min_groups, -(-want_rows // max(1, int(mean)))))
    if count >= len(groups):
        return read_input(source), True
    picks = sorted({round(i * (len(groups) - 1) / (count - 1)) for i in range(count)}) if count > 1 else [0]
    by_file: dict[str, list[int]] = {}
    for k in picks:
        rel, index, _ = groups[k]
        by_file.setdefault(rel, []).append(index)
    tables = []
    for rel, indices in by_file.items():
        try:
            tables.append((rel, pq.ParquetFile(source.path(rel)).read_row_groups(indices)))
        except (OSError, pa.ArrowException) as exc:
            raise InputError(f"cannot read Parquet: {exc}", path=source.path(rel)) from exc
    return _concat(source, tables), False


def _without_views(table: pa.Table) -> pa.Table:
    swap = {pa.string_view(): pa.string(), pa.binary_view(): pa.binary()}
    if not any(t in swap for t in table.schema.types):
        return table
    return table.cast(pa.schema([pa.field(f.name, swap.get(f.type, f.type), f.nullable, f.metadata) for f in table.schema],
                                metadata=table.schema.metadata))


def _concat(source: ParquetInput, tables: list[tuple[str, pa.Table]]) -> pa.Table:
    if source.table_format is not None and len(tables) > 1:
        # a table format's files may differ in schema (evolution) and in Arrow string flavour (views): advise on
        # their union; each file is rewritten with the plan's choices for its own columns
        parts = [_without_views(t).replace_schema_metadata(None) for _, t in tables]
        return pa.concat_tables(parts, promote_options="permissive")
    first_rel, first = tables[0]
    for rel, t in tables[1:]:
        if not t.schema.equals(first.schema, check_metadata=False):
            raise SchemaMismatch(f"schema differs from {first_rel}'s; advise and rewrite such files apart",
                                 path=source.path(rel))
    if len(tables) == 1:
        return first
    return pa.concat_tables([t.replace_schema_metadata(first.schema.metadata) for _, t in tables])


def read_input(source: ParquetInput) -> pa.Table:
    """All data files of ``source`` as one table, in file order (schemas must agree).

    Raises:
        SchemaMismatch: a file's schema differs from the first file's (the message names both).
    """
    return _concat(source, [(rel, read_file(source.path(rel))) for rel in source.files])


def uses_int96(path: Path) -> bool:
    """Whether a file stores timestamps as legacy INT96 (Spark's default), to be kept on rewrite."""
    try:
        meta = pq.ParquetFile(path).metadata
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read the Parquet footer: {exc}", path=path) from exc
    return int96_of(meta)


def int96_of(meta: pq.FileMetaData, arrow_schema: pa.Schema | None = None) -> bool:
    """Whether a file's footer stores timestamps as INT96 (:func:`uses_int96`). ``arrow_schema``, the schema the
    file was read as, answers first when it holds no timestamp (pyarrow reads INT96 as timestamps only)."""
    if arrow_schema is not None and not schema_memo("timestamps", arrow_schema, holds_timestamp):
        return False
    schema = meta.schema
    return any(schema.column(i).physical_type == "INT96" for i in range(len(schema)))
