"""Re-encoding the data files of a Delta or Iceberg table through the table's own transaction log.

A table format records each data file's size and statistics (and Iceberg readers seek a file's footer from the
size in the manifest), so rewriting files in place would corrupt the table. Here every live data file is read as
stored, written beside it under a new name with the :class:`~lakeshrink.codecs.encodings.plan.EncodingPlan`
(pyarrow, so every per-column choice of the plan is kept: encodings, dictionary, per-column compression and
level), read back and compared with the original, and only then are all files swapped in ONE commit:

* **Delta**: one new table version of ``remove`` + ``add`` actions with ``dataChange: false`` and per-file
  statistics (``numRecords``, ``nullCount``; ``minValues``/``maxValues`` for numbers, dates, and strings up to 32
  characters), committed with ``deltalake``'s ``create_write_transaction`` and no commit retries: a concurrent
  commit makes it fail, nothing is committed, and the new files are deleted. Files that carry a deletion vector
  are left as they are (deltalake's ``RemoveAction`` cannot name a deletion vector; run Delta's ``REORG TABLE
  ... APPLY (PURGE)`` first). deltalake's own ``optimize.compact(writer_properties=...)`` was considered: its
  ``WriterProperties`` have one compression for all columns and compaction skips files already near the target
  size, so it could not apply a per-column plan to every file.
* **Iceberg**: one ``overwrite`` snapshot (pyiceberg has no public ``replace`` operation) that deletes the old data
  files and adds the new ones with their statistics (pyiceberg's ``parquet_file_to_data_file``), committed
  through the table's catalog (``--iceberg-catalog NAME``): a concurrent commit fails the catalog's check and
  nothing changes. Without a catalog there is no atomic way to commit, so it is refused, as are tables with
  delete files (rewrite them with deletes applied first).

The previous version or snapshot stays readable (time travel) until it is vacuumed or expired.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import posixpath
import time
import uuid
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from lakeshrink.codecs.encodings.plan import EncodingPlan
from lakeshrink.codecs.encodings.verify import verify_equal
from lakeshrink.errors import InputError, LakeshrinkError, TableError
from lakeshrink.progress import progress

MAX_STRING_STAT = 32
SUFFIX = "-lakeshrink.parquet"


@dataclass(frozen=True)
class TableRewrite:
    """What a transactional rewrite committed: files rewritten and left, bytes before and after, the state
    before and after (Delta version, Iceberg snapshot id)."""

    table: str
    format: str
    before: int | None
    after: int | None
    files: int
    rows: int
    input_bytes: int
    output_bytes: int
    left: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        what = "Delta version" if self.format == "delta" else "Iceberg snapshot"
        if self.after == self.before:
            return f"nothing to commit; {what} stays {self.before}"
        return f"{what} {self.after} (was {self.before})"


def check_rewritable(path: str, table_format: str, *, iceberg_catalog: Any = None) -> None:
    """Refuse early (before any advice is made) what :func:`rewrite_table` would refuse: an Iceberg table without
    a catalog, not in it, or with delete files."""
    if table_format == "iceberg":
        table = _catalog_table(iceberg_catalog, path, path)
        if table.current_snapshot() is not None:
            _refuse_deletes(table, path, path)


def rewrite_table(path: str, table_format: str, plan: EncodingPlan, *, iceberg_catalog: Any = None) -> TableRewrite:
    """Rewrite the Delta or Iceberg table at ``path`` with ``plan`` through its own log (see the module doc)."""
    plan = dataclasses.replace(plan, statistics=True)  # the log's per-file statistics come from the footers
    if table_format == "delta":
        return rewrite_delta(path, plan)
    if table_format == "iceberg":
        return rewrite_iceberg(path, plan, catalog=iceberg_catalog)
    raise InputError(f"{table_format!r} is not a table format lakeshrink rewrites", path=path)


def plan_for(plan: EncodingPlan, schema: pa.Schema) -> EncodingPlan | None:
    """The plan's choices for the leaves of ``schema`` (a file of a table whose schema evolved may hold fewer
    columns than the plan); None when some leaf of the file has no choice in the plan."""
    from lakeshrink.codecs.encodings.schema import leaf_columns

    leaves = {leaf.path: leaf for leaf in leaf_columns(schema, int96=plan.int96_timestamps)}
    mine = {c.path: c for c in plan.columns}
    if any(p not in mine or mine[p].physical_type != leaf.physical_type for p, leaf in leaves.items()):
        return None
    if leaves.keys() == mine.keys():
        return plan
    return dataclasses.replace(plan, columns=tuple(c for c in plan.columns if c.path in leaves),
                               sorting_columns=tuple(k for k in plan.sorting_columns if k.path in leaves))


def _rewrite_file(fs: pafs.FileSystem, src: str, dest: str, plan: EncodingPlan) -> tuple[pa.Table, int] | None:
    """Write ``src``'s rows (as stored) to ``dest`` with the plan, check they read back equal; (rows, size), or
    None when the plan has no choice for some column of this file (it is left as it is)."""
    from lakeshrink.codecs.encodings.plan_write import write_table_file

    with fs.open_input_file(src) as fh:
        table = pq.ParquetFile(fh).read()
    fitted = plan_for(plan, table.schema)
    if fitted is None:
        return None
    plan = fitted
    with fs.open_output_stream(dest) as out:
        write_table_file(table, out, plan, where=src)
    with fs.open_input_file(dest) as fh:
        verify_equal(table, pq.ParquetFile(fh).read(), path=src)
    return table, fs.get_file_info(dest).size


def _new_name(path: str) -> str:
    return posixpath.join(posixpath.dirname(path), f"part-{uuid.uuid4()}{SUFFIX}")


def _abandon(fs: pafs.FileSystem, written: list[str], exc: Exception, table_id: str, path: str) -> NoReturn:
    """Delete the files a failed rewrite wrote (no commit refers to them) and raise: lakeshrink's own errors as
    they are, the format library's (a concurrent commit, an unsupported feature) as a :class:`TableError`."""
    for p in written:
        try:
            fs.delete_file(p)
        except OSError:
            pass
    if isinstance(exc, LakeshrinkError):
        raise exc
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    raise TableError(f"the rewrite was not committed, the table is unchanged: {message}", table=table_id, path=path) from exc


# ---------------------------------------------------------------- Delta


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def delta_stats(table: pa.Table) -> str:
    """Delta ``stats`` JSON of a file's rows (physical column names): exact, never truncated."""
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    for name in table.column_names:
        col = table.column(name)
        t = col.type
        if pa.types.is_nested(t):
            continue
        nulls[name] = col.null_count
        numeric = pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_date32(t)
        text = pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)
        if not (numeric or text) or col.null_count == len(col):
            continue
        if pa.types.is_floating(t) and pc.any(pc.is_nan(col)).as_py():
            continue
        bounds = pc.min_max(col.cast(pa.string()) if pa.types.is_string_view(t) else col)
        lo, hi = bounds["min"].as_py(), bounds["max"].as_py()
        if text and (len(lo) > MAX_STRING_STAT or len(hi) > MAX_STRING_STAT):
            continue
        mins[name], maxs[name] = _json_value(lo), _json_value(hi)
    return json.dumps({"numRecords": table.num_rows, "minValues": mins, "maxValues": maxs, "nullCount": nulls})


def _partition_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()
    raise InputError(f"partition values of type {type(value).__name__} are not rewritten by lakeshrink")


def rewrite_delta(path: str, plan: EncodingPlan, *, table_id: str | None = None) -> TableRewrite:
    """Rewrite every live data file of the Delta table at ``path`` with ``plan`` as one new version.

    Raises:
        TableError: deltalake is missing, the table cannot be read, or the commit failed (a concurrent commit);
            nothing was committed and the new files were removed.
        VerificationFailed: a rewritten file did not read back equal; nothing was committed.
    """
    from deltalake import CommitProperties
    from deltalake.transaction import AddAction, RemoveAction

    from lakeshrink.tables import delta

    fs = pafs.LocalFileSystem()
    table_id = table_id or path
    dt = delta.load(path, table_id=table_id)
    before = dt.version()
    actions = pa.table(dt.get_add_actions(flatten=False))
    vectors = delta.selection_vectors(dt) if delta._has_deletion_vectors(dt) else {}
    partitions = dt.metadata().partition_columns
    physical = delta.physical_names(dt)
    parts = actions["partition"].to_pylist() if "partition" in actions.column_names else [None] * actions.num_rows
    written: list[str] = []
    log_actions: list[Any] = []
    left: list[str] = []
    rows = in_bytes = out_bytes = 0
    now = int(time.time() * 1000)
    try:
        with progress("rewriting Delta files", total=actions.num_rows) as bar:
            for rel, size, part in zip(actions["path"].to_pylist(), actions["size_bytes"].to_pylist(), parts):
                local = unquote(rel)
                if local in vectors:
                    left.append(local)
                    bar.advance()
                    continue
                # the log keys partition values by physical name (they differ under column mapping)
                values = {physical.get(c, c): _partition_text((part or {}).get(c)) for c in partitions}
                new_rel = _new_name(rel)
                dest = posixpath.join(path, unquote(new_rel))
                written.append(dest)
                done = _rewrite_file(fs, posixpath.join(path, local), dest, plan)
                if done is None:
                    left.append(local)
                    bar.advance()
                    continue
                data, new_size = done
                rows += data.num_rows
                in_bytes += int(size)
                out_bytes += new_size
                log_actions.append(RemoveAction(rel, False, now, int(size), values or None))
                log_actions.append(AddAction(new_rel, new_size, values, now, False, delta_stats(data)))
                bar.advance()
        if log_actions:
            dt.create_write_transaction(
                log_actions, "append", dt.schema(),
                commit_properties=CommitProperties(max_commit_retries=0, custom_metadata={"lakeshrink": "encode rewrite"}),
            )
    except Exception as exc:
        _abandon(fs, written, exc, table_id, path)
    after = delta.load(path, table_id=table_id).version() if log_actions else before
    with_dv = sum(1 for f in left if f in vectors)
    notes = tuple(n for n in (
        f"{with_dv} file(s) with deletion vectors left as they are (purge them with Delta's REORG TABLE ... APPLY "
        "(PURGE) first)" if with_dv else "",
        f"{len(left) - with_dv} file(s) with columns the plan does not cover left as they are (advise again)"
        if len(left) > with_dv else "") if n)
    return TableRewrite(table_id, "delta", before, after, len(log_actions) // 2, rows, in_bytes, out_bytes, tuple(left), notes)


# ---------------------------------------------------------------- Iceberg


def _catalog_table(catalog: Any, path: str, table_id: str) -> Any:
    from lakeshrink.tables.iceberg import catalog_table_list, fs_path, open_catalog

    if catalog is None:
        raise TableError("an Iceberg table is committed through its catalog, and none was given: pass --iceberg-catalog "
                         "NAME (or set its write.parquet.compression-codec / write.parquet.compression-level table "
                         "properties and rewrite it with your engine)", table=table_id, path=path)
    catalog = open_catalog(catalog)
    for _, table in catalog_table_list(catalog):
        if fs_path(table.location()).rstrip("/") == path.rstrip("/"):
            return table
    raise TableError(f"the Iceberg catalog {catalog.name!r} has no table at {path}", table=table_id, path=path)


def _refuse_deletes(table: Any, table_id: str, path: str) -> list[Any]:
    """The current snapshot's scan tasks (in file path order), refusing data files that have delete files."""
    tasks = sorted(table.scan().plan_files(), key=lambda t: t.file.file_path)
    with_deletes = [t.file.file_path for t in tasks if t.delete_files]
    if with_deletes:
        raise TableError(f"{len(with_deletes)} data file(s) have delete files; lakeshrink rewrites Iceberg tables "
                         "without deletes only (compact them with deletes applied first)", table=table_id, path=path)
    return tasks


def rewrite_iceberg(path: str, plan: EncodingPlan, *, catalog: Any, table_id: str | None = None,
                    filesystem: pafs.FileSystem | None = None) -> TableRewrite:
    """Rewrite every live data file of the Iceberg table in folder ``path`` with ``plan`` as one snapshot.

    Raises:
        TableError: no catalog, delete files present, or the commit failed (a concurrent commit); nothing was
            committed and the new files were removed.
        VerificationFailed: a rewritten file did not read back equal; nothing was committed.
    """
    from pyiceberg.io.pyarrow import parquet_file_to_data_file

    from lakeshrink.tables.iceberg import fs_path

    fs = filesystem or pafs.LocalFileSystem()
    table_id = table_id or path
    table = _catalog_table(catalog, path, table_id)
    snapshot = table.current_snapshot()
    before = snapshot.snapshot_id if snapshot is not None else None
    tasks = _refuse_deletes(table, table_id, path) if snapshot is not None else []
    written: list[str] = []
    new_files = []
    rows = in_bytes = out_bytes = 0
    try:
        with progress("rewriting Iceberg files", total=len(tasks)) as bar:
            for task in tasks:
                src = fs_path(task.file.file_path)
                dest = _new_name(src)
                written.append(dest)
                done = _rewrite_file(fs, src, dest, plan)
                if done is None:
                    raise TableError(f"the plan has no choice for some column of {src}; advise on this table again",
                                     table=table_id, path=path)
                data, size = done
                rows += data.num_rows
                in_bytes += int(task.file.file_size_in_bytes)
                out_bytes += size
                uri = task.file.file_path.rsplit("/", 1)[0] + "/" + posixpath.basename(dest)
                new_files.append(parquet_file_to_data_file(table.io, table.metadata, uri))
                bar.advance()
        if tasks:
            with table.transaction() as tx:
                with tx.update_snapshot(snapshot_properties={"lakeshrink": "encode rewrite"}).overwrite() as ow:
                    for task in tasks:
                        ow.delete_data_file(task.file)
                    for data_file in new_files:
                        ow.append_data_file(data_file)
    except Exception as exc:
        _abandon(fs, written, exc, table_id, path)
    after = table.refresh().current_snapshot()
    return TableRewrite(table_id, "iceberg", before, after.snapshot_id if after else before, len(tasks), rows,
                        in_bytes, out_bytes, (), ("committed as an Iceberg 'overwrite' snapshot (pyiceberg has no "
                                                  "public 'replace' operation)",))
