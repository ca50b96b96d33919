"""Delta and Iceberg tables for tests (deletes, overwrites, appends), and reference readers of their live rows
that do not go through lakeshrink (deltalake's DataFusion scan, pyiceberg's own scan)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest


def rows(ids: list[int], prefix: str = "n") -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.int64()), "name": [f"{prefix}{i % 37}" for i in ids]})


def delta_events(path: Path) -> pa.Table:
    """A Delta table: 0..199 written, ids < 20 deleted, 200..219 appended. Returns the deleted rows (ghosts)."""
    from deltalake import DeltaTable, write_deltalake

    write_deltalake(str(path), rows(list(range(200))))
    DeltaTable(str(path)).delete("id < 20")
    write_deltalake(str(path), rows(list(range(200, 220))), mode="append")
    return rows(list(range(20)))


def delta_overwritten(path: Path) -> pa.Table:
    """A Delta table: 1000..1099 written, then overwritten with 1100..1149. Returns old rows (ghosts)."""
    from deltalake import write_deltalake

    write_deltalake(str(path), rows(list(range(1000, 1100))))
    write_deltalake(str(path), rows(list(range(1100, 1150))), mode="overwrite")
    return rows(list(range(1000, 1010)))


def iceberg_catalog(tmp: Path, warehouse: Path):
    pytest.importorskip("pyiceberg", reason="pip install 'lakeshrink[iceberg]'")
    from pyiceberg.catalog.sql import SqlCatalog

    warehouse.mkdir(parents=True, exist_ok=True)
    catalog = SqlCatalog("test", uri=f"sqlite:///{tmp / 'catalog.db'}", warehouse=f"file://{warehouse}")
    catalog.create_namespace("db")
    return catalog


def iceberg_items(catalog, name: str = "db.items") -> pa.Table:
    """An Iceberg table: 0..99 appended, ids < 10 deleted, 100..119 appended. Returns the deleted rows."""
    schema = pa.schema([("id", pa.int64()), ("label", pa.string())])
    table = catalog.create_table(name, schema=schema)
    table.append(pa.table({"id": list(range(100)), "label": [f"l{i % 7}" for i in range(100)]}, schema=schema))
    table.delete("id < 10")
    table.append(pa.table({"id": list(range(100, 120)), "label": [f"l{i % 7}" for i in range(100, 120)]}, schema=schema))
    return pa.table({"id": list(range(10)), "label": [f"l{i % 7}" for i in range(10)]}, schema=schema)


def delta_reference(path: Path) -> pa.Table:
    """Live rows through deltalake's own (DataFusion) reader: deletion vectors applied, no order promised."""
    from deltalake import DeltaTable

    return pa.table(DeltaTable(str(path)).scan())


def iceberg_reference(catalog, name: str) -> pa.Table:
    return catalog.load_table(name).scan().to_arrow()


def copy_shared_delta(shared: Path, dest: Path, names: list[str] | None = None) -> list[str]:
    """Copies of the shared delta-rs test tables (with their LICENSE-NOTE beside them)."""
    dest.mkdir(parents=True, exist_ok=True)
    names = names or sorted(p.name for p in shared.iterdir() if (p / "_delta_log").is_dir())
    for name in names:
        shutil.copytree(shared / name, dest / name)
    shutil.copy(shared / "LICENSE-NOTE.txt", dest / "LICENSE-NOTE.txt")
    return names


def write(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def iceberg_position_deletes(catalog, folder: Path, name: str = "db.posdel") -> pa.Table:
    """An Iceberg table of ids 0..29 whose rows 0 and 29 are deleted by a position-delete file. pyiceberg writes no
    delete files, so the test writes one (schema and field ids of the Iceberg spec) and appends it through
    pyiceberg's snapshot producer; pyiceberg's planner then pairs it with the data file by its content type.
    Returns the deleted rows (ghosts)."""
    import os

    from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
    from pyiceberg.typedef import Record

    schema = pa.schema([("id", pa.int64()), ("label", pa.string())])
    table = catalog.create_table(name, schema=schema)
    table.append(pa.table({"id": list(range(30)), "label": [f"p{i}" for i in range(30)]}, schema=schema))
    data_path = next(iter(table.scan().plan_files())).file.file_path
    delete_schema = pa.schema([pa.field("file_path", pa.string(), False, {"PARQUET:field_id": "2147483546"}),
                               pa.field("pos", pa.int64(), False, {"PARQUET:field_id": "2147483545"})])
    path = folder / "data" / "position-deletes.parquet"
    pq.write_table(pa.table({"file_path": [data_path, data_path], "pos": [0, 29]}, schema=delete_schema), path)
    deletes = DataFile.from_args(content=DataFileContent.POSITION_DELETES, file_path=f"file://{path}",
                                 file_format=FileFormat.PARQUET, partition=Record(), record_count=2,
                                 file_size_in_bytes=os.path.getsize(path))
    deletes.spec_id = table.metadata.default_spec_id
    with table.transaction() as tx:
        with tx.update_snapshot().fast_append() as append:
            append.append_data_file(deletes)
    return pa.table({"id": [0, 29], "label": ["p0", "p29"]}, schema=schema)
