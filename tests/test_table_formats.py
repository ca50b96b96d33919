"""Delta and Iceberg tables in a lake: discovery, live-row reading, statistics rules, and a scan that finds every
true edge and never a ghost (rows that live only in deleted positions, dead files or old versions)."""

from __future__ import annotations

import itertools
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from format_tables import (copy_shared_delta, delta_events, delta_overwritten, delta_reference, iceberg_catalog,
                           iceberg_items, iceberg_position_deletes, iceberg_reference, rows, write)
from lakeshrink.containment.scan.compare import normalize_frame, type_key
from lakeshrink.containment.scan.footers import FooterTask, read_footer
from lakeshrink.containment.scan import scan_lake
from lakeshrink.errors import InputError, TableError
from lakeshrink.sample_data import delta_rs_tables_dir
from lakeshrink.tables.discovery import discover, table_at
from lakeshrink.tables.iceberg import metadata_file
from lakeshrink.tables.read import table_parts

pytest.importorskip("deltalake", reason="pip install 'lakeshrink[delta]'")
pytest.importorskip("pyiceberg", reason="pip install 'lakeshrink[iceberg]'")

SHARED = delta_rs_tables_dir()
LIVE_ROWS = {"table-with-dv-small": 8, "table-without-dv-small": 10, "table_with_deletion_logs": 98,
             "cdf-table-with-cdc-and-dvs": 5, "checkpoint-v2-table": 44, "table_with_liquid_clustering": 10,
             "table_with_column_mapping": 5}


@pytest.fixture(scope="module")
def format_lake(tmp_path_factory):
    """A lake of Delta tables (shared ones when present, and made here), an Iceberg table, plain Parquet subsets
    of their live rows and ghosts of their dead rows, a Hudi folder; with reference readings of every table."""
    base = tmp_path_factory.mktemp("formats")
    lake = base / "lake"
    reference: dict[str, pa.Table] = {}
    if SHARED is not None:
        for name in copy_shared_delta(SHARED, lake / "shared"):
            reference[f"shared/{name}"] = delta_reference(lake / "shared" / name)
        dv = reference["shared/table-with-dv-small"]
        write(dv.sort_by("value").slice(0, 4), lake / "loose" / "dv_live.parquet")
        write(pa.table({"value": pa.array([0, 9], pa.int32())}), lake / "loose" / "dv_ghost.parquet")
    events_ghost = delta_events(lake / "delta" / "events")
    old_ghost = delta_overwritten(lake / "delta" / "snap")
    reference["delta/events"] = delta_reference(lake / "delta" / "events")
    reference["delta/snap"] = delta_reference(lake / "delta" / "snap")
    write(events_ghost, lake / "loose" / "events_ghost.parquet")
    write(old_ghost, lake / "loose" / "snap_ghost.parquet")
    write(rows(list(range(50, 61))), lake / "loose" / "events_live.parquet")
    write(rows(list(range(1100, 1111))), lake / "loose" / "snap_live.parquet")
    catalog = iceberg_catalog(base, lake / "ice")
    items_ghost = iceberg_items(catalog)
    reference["ice/db/items"] = iceberg_reference(catalog, "db.items")
    write(items_ghost, lake / "loose" / "items_ghost.parquet")
    write(reference["ice/db/items"].filter(pa.compute.is_in(reference["ice/db/items"]["id"], pa.array(range(20, 31)))),
          lake / "loose" / "items_live.parquet")
    posdel_ghost = iceberg_position_deletes(catalog, lake / "ice" / "db" / "posdel")
    reference["ice/db/posdel"] = iceberg_reference(catalog, "db.posdel")
    write(posdel_ghost, lake / "loose" / "posdel_ghost.parquet")
    write(reference["ice/db/posdel"].slice(3, 5), lake / "loose" / "posdel_live.parquet")
    (lake / "hudi_t" / ".hoodie").mkdir(parents=True)
    write(rows([1, 2]), lake / "hudi_t" / "part-0.parquet")
    for path in sorted((lake / "loose").glob("*.parquet")):
        reference[f"loose/{path.name}"] = pq.read_table(path)
    return lake, reference


def _true_edges(reference: dict[str, pa.Table]) -> set[tuple[str, str]]:
    """Every (child, parent) whose columns match (compatible types) and whose row set is inside the parent's."""
    keys = {t: {f.name: type_key(f.type, "compatible") for f in tab.schema} for t, tab in reference.items()}
    edges = set()
    for child, parent in itertools.permutations(reference, 2):
        cols = tuple(sorted(keys[child]))
        if any(keys[parent].get(c) != keys[child][c] for c in cols):
            continue
        c = normalize_frame(reference[child], cols).unique()
        p = normalize_frame(reference[parent], cols).unique()
        if c.join(p, on=list(cols), how="anti", nulls_equal=True).height == 0:
            edges.add((child, parent))
    return edges


def test_discovery_sees_format_tables_and_never_their_files(format_lake):
    lake, reference = format_lake
    found = discover(lake)
    ids = {t.id: t for t in found.tables}
    assert set(ids) == set(reference)
    assert ids["ice/db/items"].format == "iceberg" and ids["delta/events"].format == "delta"
    assert not any("/data/" in t or t.endswith("-c000.snappy.parquet") for t in ids)
    assert [s.table for s in found.skipped] == ["hudi_t"] and "Hudi" in found.skipped[0].reason
    # an explicit path inside a table format's folder is refused, naming the table
    data_file = next((lake / "ice" / "db" / "items" / "data").glob("*.parquet"))
    explicit = discover(lake, tables=[str(data_file.relative_to(lake))])
    assert not explicit.tables and "inside the iceberg table" in explicit.skipped[0].reason
    with pytest.raises(InputError, match="itself a delta table"):
        discover(lake / "delta" / "events")


def test_live_rows_equal_the_formats_own_readers(format_lake):
    lake, reference = format_lake
    found = discover(lake)
    for ref in found.tables:
        if not ref.is_format_table:
            continue
        ours = found.read(ref)
        assert ours.num_rows == reference[ref.id].num_rows, ref.id
        cols = tuple(ours.column_names)
        a = normalize_frame(ours, cols).sort(list(cols))
        b = normalize_frame(reference[ref.id].select(list(cols)), cols).sort(list(cols))
        assert a.equals(b), ref.id
        assert found.read(ref).equals(ours)  # a fixed row order: recipes number parent rows by it
        parts = list(table_parts(found.filesystem, ref))  # file by file, the same rows in the same order
        assert len(parts) == len(ref.files) and pa.concat_tables(parts).equals(ours)
    if SHARED is not None:
        for name, n in LIVE_ROWS.items():
            assert found.read(f"shared/{name}").num_rows == n
        assert found.schema("shared/table_with_column_mapping").names == ["Company Very Short", "Super Name"]


@pytest.mark.skipif(SHARED is None, reason="../shared/data/delta-rs-tables not found")
def test_deletion_vector_stats_prune_only_from_the_parent_side(format_lake):
    lake, _ = format_lake
    footer = read_footer(FooterTask(str(lake), table_at(*_fs(lake), str(lake / "shared" / "table-with-dv-small"))))
    stats = footer.stats["value"]
    assert footer.rows == 8  # live rows, not the 10 physical ones
    assert (stats.min, stats.max, stats.tight) == (0, 9, False)  # outer bounds: 0 and 9 are deleted
    from lakeshrink.containment.scan.minmax import prune_reason
    from lakeshrink.containment.scan.schema_graph import Pair

    ghost = read_footer(FooterTask(str(lake), table_at(*_fs(lake), str(lake / "loose" / "dv_ghost.parquet"))))
    # as a child, the DV table's bounds prove nothing: not pruned against a parent holding 1..8 only
    narrow = read_footer(FooterTask(str(lake), table_at(*_fs(lake), str(lake / "loose" / "dv_live.parquet"))))
    assert prune_reason(Pair(footer.table, narrow.table, ("value",)), footer, narrow) is None
    # as a parent, its bounds still prune a child with values outside [0, 9]
    far = pa.table({"value": pa.array([42], pa.int32())})
    write(far, lake.parent / "far" / "far.parquet")
    far_footer = read_footer(FooterTask(str(lake.parent), table_at(*_fs(lake.parent), str(lake.parent / "far" / "far.parquet"))))
    assert prune_reason(Pair(far_footer.table, footer.table, ("value",)), far_footer, footer) == "max"
    assert prune_reason(Pair(ghost.table, footer.table, ("value",)), ghost, footer) is None


def _fs(root: Path):
    from lakeshrink.tables.discovery import resolve_root

    return resolve_root(root)


def test_scan_finds_every_true_edge_and_never_a_ghost(format_lake):
    lake, reference = format_lake
    result = scan_lake(lake, types="compatible")
    assert {s.table for s in result.skipped} == {"hudi_t"}
    found = {(e.child, e.parent) for e in result.edges}
    truth = _true_edges(reference)
    assert found == truth
    assert ("loose/events_live.parquet", "delta/events") in found
    assert ("loose/items_live.parquet", "ice/db/items") in found
    assert ("loose/posdel_live.parquet", "ice/db/posdel") in found
    for ghost, table in [("loose/events_ghost.parquet", "delta/events"), ("loose/snap_ghost.parquet", "delta/snap"),
                         ("loose/items_ghost.parquet", "ice/db/items"), ("loose/posdel_ghost.parquet", "ice/db/posdel")]:
        assert (ghost, table) not in found
    if SHARED is not None:
        assert ("loose/dv_ghost.parquet", "shared/table-with-dv-small") not in found
        assert ("loose/dv_ghost.parquet", "shared/table-without-dv-small") in found
        assert ("shared/table-with-dv-small", "shared/table-without-dv-small") in found


def test_iceberg_metadata_file_follows_the_version_hint(tmp_path):
    catalog = iceberg_catalog(tmp_path, tmp_path / "wh")
    iceberg_items(catalog, "db.t")
    folder = tmp_path / "wh" / "db" / "t"
    fs, _ = _fs(tmp_path)
    newest = metadata_file(fs, str(folder))
    files = sorted((folder / "metadata").glob("*.metadata.json"))
    assert newest == str(files[-1])
    (folder / "metadata" / "version-hint.text").write_text(files[1].name)
    assert metadata_file(fs, str(folder)) == str(files[1])
    ref = table_at(fs, str(tmp_path), str(folder))
    assert ref.metadata == str(files[1]) and ref.format == "iceberg"


def test_a_hudi_table_is_refused_clearly(tmp_path):
    (tmp_path / "h" / ".hoodie").mkdir(parents=True)
    fs, base = _fs(tmp_path)
    with pytest.raises(TableError, match="Hudi"):
        table_at(fs, base, str(tmp_path / "h"))


def test_a_catalog_names_the_current_metadata_and_tables_outside_the_root(tmp_path):
    catalog = iceberg_catalog(tmp_path, tmp_path / "lake" / "wh")
    iceberg_items(catalog)
    outside = catalog.create_table("db.far", schema=pa.schema([("id", pa.int64())]), location=f"file://{tmp_path / 'far'}")
    outside.append(pa.table({"id": [1]}))
    current = catalog.load_table("db.items").metadata_location
    # a newer metadata file that the catalog never committed: the folder alone would pick it
    meta = tmp_path / "lake" / "wh" / "db" / "items" / "metadata"
    newest = sorted(meta.glob("*.metadata.json"))[-1]
    (meta / "99999-uncommitted.metadata.json").write_bytes(newest.read_bytes())
    plain = discover(tmp_path / "lake").table("wh/db/items")
    assert plain.metadata.endswith("99999-uncommitted.metadata.json")
    found = discover(tmp_path / "lake", iceberg_catalog=catalog)
    assert found.table("wh/db/items").metadata == current.removeprefix("file://")
    assert [s.table for s in found.skipped] == ["db.far"] and "outside the lake root" in found.skipped[0].reason


@pytest.mark.spark
def test_spark_engine_reads_format_tables_like_the_local_engine(format_lake, spark):
    from lakeshrink.spark_ext.engine import SparkEngine

    lake, reference = format_lake
    result = scan_lake(lake, engine=SparkEngine(spark=spark), types="compatible")
    assert {(e.child, e.parent) for e in result.edges} == _true_edges(reference)


def test_iceberg_position_deletes_make_outer_bounds_and_live_counts(format_lake):
    lake, reference = format_lake
    fs, base = _fs(lake)
    ref = table_at(fs, base, str(lake / "ice" / "db" / "posdel"))
    assert [f.deleted_rows for f in ref.files] == [2]
    footer = read_footer(FooterTask(str(lake), ref))
    assert footer.rows == 28 == reference["ice/db/posdel"].num_rows
    assert (footer.stats["id"].min, footer.stats["id"].max, footer.stats["id"].tight) == (0, 29, False)


@pytest.mark.skipif(SHARED is None, reason="../shared/data/delta-rs-tables not found")
def test_outer_bounds_survive_the_scan_cache(format_lake, tmp_path):
    from lakeshrink.containment.scan.fpcache import _footer_from_json, _footer_to_json

    lake, reference = format_lake
    footer = read_footer(FooterTask(str(lake), table_at(*_fs(lake), str(lake / "shared" / "table-with-dv-small"))))
    assert _footer_from_json(_footer_to_json(footer)).stats["value"].tight is False
    first = scan_lake(lake, types="compatible", cache=tmp_path / "cache")
    again = scan_lake(lake, types="compatible", cache=tmp_path / "cache")
    assert {(e.child, e.parent) for e in again.edges} == {(e.child, e.parent) for e in first.edges} == _true_edges(reference)


def test_a_format_table_nested_in_a_plain_directory_is_not_its_files(tmp_path):
    from deltalake import write_deltalake

    write(rows([1, 2]), tmp_path / "lake" / "plain" / "part-0.parquet")
    write_deltalake(str(tmp_path / "lake" / "plain" / "sub" / "d"), rows([7, 8]))
    ref = discover(tmp_path / "lake").table("plain")
    assert [Path(f.path).name for f in ref.files] == ["part-0.parquet"]
