"""`encode rewrite` of Delta and Iceberg tables: one new version or snapshot through the table's own log, rows
equal, the previous state still readable, a concurrent commit failing cleanly with nothing half-done."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from format_tables import (copy_shared_delta, delta_events, delta_reference, iceberg_catalog, iceberg_items,
                           iceberg_position_deletes, rows)
from lakeshrink.cli.main import cli
from lakeshrink.codecs.encodings.writer import rewrite
from lakeshrink.containment.scan.compare import normalize_frame
from lakeshrink.errors import InputError, TableError
from lakeshrink.sample_data import delta_rs_tables_dir
from lakeshrink.tables import rewrite as table_rewrite
from lakeshrink.tables.discovery import discover

deltalake = pytest.importorskip("deltalake", reason="pip install 'lakeshrink[delta]'")
pytest.importorskip("pyiceberg", reason="pip install 'lakeshrink[iceberg]'")


def _same_rows(a: pa.Table, b: pa.Table) -> bool:
    cols = tuple(a.column_names)
    return normalize_frame(a, cols).sort(list(cols)).equals(normalize_frame(b.select(list(cols)), cols).sort(list(cols)))


def _big_events(path: Path) -> None:
    from deltalake import DeltaTable, write_deltalake

    write_deltalake(str(path), rows(list(range(20_000))))
    DeltaTable(str(path)).delete("id % 10 = 3")
    write_deltalake(str(path), rows(list(range(20_000, 25_000))), mode="append")


def test_delta_rewrite_commits_one_version_with_the_same_rows(tmp_path):
    path = tmp_path / "events"
    _big_events(path)
    before = delta_reference(path)
    out = CliRunner().invoke(cli, ["--output", "json", "encode", "rewrite", str(path), "-o", str(path), "--objective", "size"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["table_format"] == "delta" and doc["committed"] == "Delta version 3 (was 2)"
    assert doc["output_bytes"] < doc["input_bytes"]
    dt = deltalake.DeltaTable(str(path))
    assert dt.version() == 3 and _same_rows(delta_reference(path), before)
    commit = dt.history(1)[0]
    assert commit["operation"] == "WRITE" or "lakeshrink" in json.dumps(commit)
    log = (path / "_delta_log" / "00000000000000000003.json").read_text().splitlines()
    actions = [json.loads(line) for line in log]
    adds = [a["add"] for a in actions if "add" in a]
    removes = [a["remove"] for a in actions if "remove" in a]
    assert len(adds) == len(removes) == 2
    assert all(a["dataChange"] is False and json.loads(a["stats"])["numRecords"] > 0 for a in adds)
    assert all(r["dataChange"] is False for r in removes)
    # the previous version stays readable
    assert pa.table(deltalake.DeltaTable(str(path), version=2).scan()).num_rows == before.num_rows
    # lakeshrink's own reader and statistics see the new files
    lake = discover(tmp_path)
    assert _same_rows(lake.read("events"), before)


def test_a_concurrent_delta_commit_fails_the_rewrite_cleanly(tmp_path, monkeypatch):
    from deltalake import write_deltalake

    path = tmp_path / "events"
    delta_events(path)
    real = table_rewrite._rewrite_file
    calls = []

    def racing(fs, src, dest, plan):
        if not calls:
            write_deltalake(str(path), rows([999]), mode="append")  # another writer commits meanwhile
        calls.append(dest)
        return real(fs, src, dest, plan)

    monkeypatch.setattr(table_rewrite, "_rewrite_file", racing)
    with pytest.raises(TableError, match="not committed, the table is unchanged"):
        rewrite(path, path)
    assert deltalake.DeltaTable(str(path)).version() == 3  # the concurrent append only
    assert not list(path.glob("*-lakeshrink.parquet"))  # no file of the failed rewrite is left
    assert delta_reference(path).num_rows == 201


@pytest.mark.skipif(delta_rs_tables_dir() is None, reason="../shared/data/delta-rs-tables not found")
def test_shared_delta_tables_rewrite_or_refuse_cleanly(tmp_path):
    names = ["table-with-dv-small", "table_with_column_mapping", "table_with_liquid_clustering"]
    copy_shared_delta(delta_rs_tables_dir(), tmp_path, names)
    # files with deletion vectors are left as they are, and the report says so
    dv = rewrite(tmp_path / "table-with-dv-small", tmp_path / "table-with-dv-small")
    assert dv.files == 0 and "deletion vectors" in dv.notes[0]
    # column mapping: physical files rewritten, partition values under physical names, logical rows equal
    before = delta_reference(tmp_path / "table_with_column_mapping")
    mapped = rewrite(tmp_path / "table_with_column_mapping", tmp_path / "table_with_column_mapping")
    assert mapped.files == 2 and mapped.committed == "Delta version 1 (was 0)"
    assert _same_rows(discover(tmp_path).read("table_with_column_mapping"), before)
    # features deltalake cannot write: refused by deltalake, nothing committed, nothing left behind
    liquid = tmp_path / "table_with_liquid_clustering"
    files = sorted(p.name for p in liquid.rglob("*.parquet"))
    with pytest.raises(TableError, match="not committed"):
        rewrite(liquid, liquid)
    assert sorted(p.name for p in liquid.rglob("*.parquet")) == files
    with pytest.raises(InputError, match="in place"):
        rewrite(tmp_path / "table_with_column_mapping", tmp_path / "elsewhere")


def test_iceberg_rewrite_commits_one_snapshot_through_the_catalog(tmp_path, monkeypatch):
    catalog = iceberg_catalog(tmp_path, tmp_path / "wh")
    iceberg_items(catalog)
    table = catalog.load_table("db.items")
    before, pinned = table.scan().to_arrow(), table.current_snapshot().snapshot_id
    folder = tmp_path / "wh" / "db" / "items"
    with pytest.raises(TableError, match="write.parquet.compression-codec"):
        rewrite(folder, folder)  # no catalog: refused, naming the table properties
    result = rewrite(folder, folder, iceberg_catalog=catalog)
    assert result.table_format == "iceberg" and result.files == 2
    table = catalog.load_table("db.items")
    assert table.current_snapshot().snapshot_id != pinned and table.current_snapshot().parent_snapshot_id == pinned
    assert _same_rows(table.scan().to_arrow(), before)
    assert _same_rows(table.scan(snapshot_id=pinned).to_arrow(), before)  # the previous snapshot stays readable
    assert all(t.file.file_path.endswith("-lakeshrink.parquet") for t in table.scan().plan_files())


def test_a_concurrent_iceberg_commit_fails_the_rewrite_cleanly(tmp_path, monkeypatch):
    catalog = iceberg_catalog(tmp_path, tmp_path / "wh")
    iceberg_items(catalog)
    folder = tmp_path / "wh" / "db" / "items"
    real = table_rewrite._rewrite_file
    calls = []

    def racing(fs, src, dest, plan):
        if not calls:
            t = catalog.load_table("db.items")
            t.append(pa.table({"id": [500], "label": ["x"]}, schema=t.schema().as_arrow()))
        calls.append(dest)
        return real(fs, src, dest, plan)

    monkeypatch.setattr(table_rewrite, "_rewrite_file", racing)
    with pytest.raises(TableError, match="not committed"):
        rewrite(folder, folder, iceberg_catalog=catalog)
    table = catalog.load_table("db.items")
    assert table.scan().to_arrow().num_rows == 111
    assert not list(folder.rglob("*-lakeshrink.parquet"))


def test_an_iceberg_table_with_delete_files_is_refused(tmp_path):
    catalog = iceberg_catalog(tmp_path, tmp_path / "wh")
    folder = tmp_path / "wh" / "db" / "posdel"
    iceberg_position_deletes(catalog, folder)
    files = sorted(p.name for p in folder.rglob("*.parquet"))
    with pytest.raises(TableError, match="delete files"):
        rewrite(folder, folder, iceberg_catalog=catalog)
    assert sorted(p.name for p in folder.rglob("*.parquet")) == files


def test_the_cli_finds_an_iceberg_catalog_by_name(tmp_path):
    """``--iceberg-catalog NAME`` through pyiceberg's configuration (environment variables, read when pyiceberg
    is imported: hence a fresh process)."""
    import os
    import subprocess
    import sys

    catalog = iceberg_catalog(tmp_path, tmp_path / "wh")
    iceberg_items(catalog)
    folder = tmp_path / "wh" / "db" / "items"
    env = {**os.environ, "PYICEBERG_CATALOG__TEST__URI": f"sqlite:///{tmp_path / 'catalog.db'}",
           "PYICEBERG_CATALOG__TEST__WAREHOUSE": f"file://{tmp_path / 'wh'}"}
    cmd = [sys.executable, "-m", "lakeshrink", "--output", "json", "encode", "rewrite", str(folder), "-o", str(folder),
           "--iceberg-catalog", "test"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["table_format"] == "iceberg"
    with pytest.raises(TableError, match="cannot load the Iceberg catalog 'nosuch'"):
        rewrite(folder, folder, iceberg_catalog="nosuch")  # refused before any advice is made
