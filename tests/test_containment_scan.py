"""The containment scan end to end (local engine): bundled lake, semantics, output format, bad input, CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from lakeshrink.cli.main import cli
from lakeshrink.containment.scan import run as scan_mod
from lakeshrink.containment.graph import equal_groups, transitive_reduction
from lakeshrink.containment.scan import EDGES_FILE, SCAN_FILE, load_scan, scan_lake
from lakeshrink.errors import CorruptArchive, InputError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BUNDLED_EDGES = {
    ("copies/airlines_backup.parquet", "airlines.parquet"),
    ("airlines.parquet", "copies/airlines_backup.parquet"),
    ("derived/airports_eastern.parquet", "airports.parquet"),
    ("derived/planes_boeing.parquet", "planes.parquet"),
    ("derived/weather_jan_ewr.parquet", "weather_jan.parquet"),
    ("derived/flights_by_origin", "flights_jan"),
    ("flights_jan", "derived/flights_by_origin"),
    ("derived/flights_late_dup.parquet", "flights_jan"),
    ("derived/flights_late_dup.parquet", "derived/flights_by_origin"),
}


@pytest.fixture(scope="module")
def bundled_scan():
    from lakeshrink.sample_data import bundled_dir

    return scan_lake(bundled_dir() / "lake", types="compatible")


def test_bundled_lake_gives_exactly_the_expected_edges(bundled_scan):
    edges = {(e.child, e.parent) for e in bundled_scan.edges}
    assert edges == BUNDLED_EDGES
    assert not any("planes_seats_edited" in c + p for c, p in edges)
    by_pair = {(e.child, e.parent): e for e in bundled_scan.edges}
    late = by_pair[("derived/flights_late_dup.parquet", "flights_jan")]
    assert not late.multiset_contained and late.child_rows == late.child_distinct_rows + 10
    assert by_pair[("derived/planes_boeing.parquet", "planes.parquet")].multiset_contained
    assert bundled_scan.skipped == ()
    assert bundled_scan.tables == 12


def test_stages_1_and_2_read_footers_only(bundled_scan):
    schema, minmax, sketch, verify = bundled_scan.stages
    assert [s.name for s in bundled_scan.stages] == ["schema", "minmax", "sketch", "verify"]
    assert schema.data_bytes == 0 and minmax.data_bytes == 0 and schema.footer_bytes > 0
    assert schema.pairs_in == 12 * 11
    assert schema.pairs_out >= minmax.pairs_out >= sketch.pairs_out >= verify.pairs_out == len(bundled_scan.edges)
    assert sketch.data_bytes > 0


def test_exact_types_on_the_bundled_lake(demo_data):
    result = scan_lake(demo_data / "lake", types="exact")
    assert {(e.child, e.parent) for e in result.edges} == BUNDLED_EDGES


def test_reduction_and_equal_groups(bundled_scan):
    assert bundled_scan.equal_groups == (
        ("airlines.parquet", "copies/airlines_backup.parquet"),
        ("derived/flights_by_origin", "flights_jan"),
    )
    reduction = {(r.child, r.parent) for r in bundled_scan.reduction}
    assert ("flights_jan", "derived/flights_by_origin") in reduction
    assert ("derived/flights_late_dup.parquet", "derived/flights_by_origin") in reduction
    assert ("derived/flights_late_dup.parquet", "flights_jan") not in reduction
    assert len(reduction) == 6


def test_transitive_reduction_of_chains_and_groups():
    # a in b in c (closed), plus d == e both in c
    edges = [("a", "b"), ("b", "c"), ("a", "c"), ("d", "e"), ("e", "d"), ("d", "c"), ("e", "c")]
    assert equal_groups(edges) == [("d", "e")]
    assert transitive_reduction(edges) == [("a", "b"), ("b", "c"), ("d", "c"), ("e", "d")]
    assert transitive_reduction([("x", "y"), ("y", "x")]) == [("y", "x")]


def test_save_and_load_round_trip_with_magic_and_version(bundled_scan, tmp_path):
    bundled_scan.save(tmp_path)
    assert load_scan(tmp_path) == bundled_scan
    doc = json.loads((tmp_path / SCAN_FILE).read_text())
    assert doc["format"] == "lakeshrink.containment.scan" and doc["version"] == 1
    assert set(doc["edges"][0]) == {"child", "parent", "columns", "child_rows", "child_distinct_rows", "multiset_contained"}
    assert set(doc["stages"][0]) >= {"name", "pairs_in", "pairs_out", "seconds", "bytes_read"}
    assert set(doc["table_details"][0]) == {"table", "format", "bytes", "rows", "columns", "files"}
    edges = pq.read_table(tmp_path / EDGES_FILE)
    assert edges.schema.metadata[b"lakeshrink.format"] == b"lakeshrink.containment.edges"
    assert edges.num_rows == len(bundled_scan.edges)
    assert set(zip(edges["child"].to_pylist(), edges["parent"].to_pylist())) == BUNDLED_EDGES


def test_load_refuses_foreign_or_future_files(tmp_path):
    with pytest.raises(InputError):
        load_scan(tmp_path)
    (tmp_path / SCAN_FILE).write_text('{"format": "something-else", "version": 1}')
    with pytest.raises(CorruptArchive, match="not a lakeshrink containment scan"):
        load_scan(tmp_path)
    (tmp_path / SCAN_FILE).write_text('{"format": "lakeshrink.containment.scan", "version": 99}')
    with pytest.raises(CorruptArchive, match="unsupported scan version"):
        load_scan(tmp_path)


def _write(path: Path, table: pa.Table, **kwargs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, **kwargs)


def test_row_semantics_nulls_nan_signed_zero_and_types(tmp_path):
    parent = pa.table(
        {"x": pa.array([1, 2, None, 4], pa.int64()), "f": [float("nan"), 0.0, None, 2.5], "s": ["a", None, "c", "d"]}
    )
    _write(tmp_path / "parent.parquet", parent)
    _write(tmp_path / "nan_zero_null.parquet", pa.table({"f": [-0.0, float("nan"), None]}))
    _write(tmp_path / "narrow.parquet", pa.table({"x": pa.array([4, None, 1], pa.int32()), "s": ["d", "c", "a"]}))
    _write(tmp_path / "miss.parquet", pa.table({"x": pa.array([2], pa.int64()), "s": ["a"]}))
    exact = {(e.child, e.parent) for e in scan_lake(tmp_path).edges}
    assert exact == {("nan_zero_null.parquet", "parent.parquet")}
    compatible = {(e.child, e.parent) for e in scan_lake(tmp_path, types="compatible").edges}
    assert compatible == {("nan_zero_null.parquet", "parent.parquet"), ("narrow.parquet", "parent.parquet")}


def test_corrupt_and_schemaless_tables_are_skipped_not_fatal(tmp_path):
    _write(tmp_path / "a.parquet", pa.table({"x": [1, 2, 3]}))
    _write(tmp_path / "b.parquet", pa.table({"x": [1, 2]}))
    (tmp_path / "corrupt.parquet").write_bytes(b"PAR1" + b"\0" * 40 + b"PAR1")
    (tmp_path / "zero.parquet").write_bytes(b"")
    _write(tmp_path / "nocols.parquet", pa.table({}))
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "part-0.parquet").write_bytes(b"garbage")
    result = scan_lake(tmp_path)
    assert {(e.child, e.parent) for e in result.edges} == {("b.parquet", "a.parquet")}
    skipped = {s.table: s.reason for s in result.skipped}
    assert set(skipped) == {"corrupt.parquet", "zero.parquet", "nocols.parquet", "dir"}
    assert skipped["nocols.parquet"] == "table has no columns"
    assert result.tables == 2


def test_a_table_that_changes_during_the_scan_gives_no_edge(tmp_path, monkeypatch):
    _write(tmp_path / "a.parquet", pa.table({"x": [1, 2, 3]}))
    _write(tmp_path / "b.parquet", pa.table({"x": [1, 2]}))
    _write(tmp_path / "c.parquet", pa.table({"x": [1]}))
    real = scan_mod._verify

    def verify_then_change(run, plan):
        outcome = real(run, plan)
        _write(tmp_path / "b.parquet", pa.table({"x": [7, 8, 9, 10]}))
        return outcome

    monkeypatch.setattr(scan_mod, "_verify", verify_then_change)
    result = scan_lake(tmp_path)
    assert {(e.child, e.parent) for e in result.edges} == {("c.parquet", "a.parquet")}
    assert [s.table for s in result.skipped] == ["b.parquet"]
    assert "changed during the scan" in result.skipped[0].reason


def test_delta_and_hive_tables_take_part(tmp_path):
    deltalake = pytest.importorskip("deltalake")
    base = pa.table({"k": ["a", "b", "a", "c"], "v": [1, 2, 3, 4]})
    _write(tmp_path / "base.parquet", base)
    deltalake.write_deltalake(str(tmp_path / "delta"), base.slice(0, 2))
    pq.write_to_dataset(base, tmp_path / "hive", partition_cols=["k"])
    edges = {(e.child, e.parent) for e in scan_lake(tmp_path).edges}
    assert {("delta", "base.parquet"), ("hive", "base.parquet"), ("base.parquet", "hive"), ("delta", "hive")} <= edges
    assert ("base.parquet", "delta") not in edges


def test_generated_lake_matches_brute_force(tmp_path):
    from benchmarks.lakegen import brute_force, generate_lake

    lake = generate_lake(tmp_path / "lake", scale=0.3, seed=3, max_rows=800)
    for types in ("exact", "compatible"):
        truth = brute_force(lake.root, types=types)
        result = scan_lake(lake.root, types=types)
        got = {(e.child, e.parent) for e in result.edges}
        assert got == truth.edges, types
        assert {(e.child, e.parent) for e in result.edges if e.multiset_contained} == truth.multiset
        assert result.skipped == ()


def test_cli_scan_text_and_json(tmp_path, demo_data):
    runner = CliRunner()
    out = tmp_path / "out"
    res = runner.invoke(cli, ["containment", "scan", str(demo_data / "lake"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "contained pairs" in res.output and "airports_eastern" in res.output
    res = runner.invoke(cli, ["--output", "json", "containment", "scan", str(demo_data / "lake"), "-o", str(out), "--types", "compatible"])
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["types"] == "compatible" and len(doc["edges"]) == len(BUNDLED_EDGES)
    assert load_scan(out).types == "compatible"


def test_cli_scan_errors(tmp_path, demo_data):
    runner = CliRunner()
    res = runner.invoke(cli, ["containment", "scan", str(tmp_path / "nowhere"), "-o", str(tmp_path / "o")])
    assert res.exit_code == 1 and "does not exist" in res.stderr
    res = runner.invoke(cli, ["containment", "scan", str(demo_data / "lake"), "-o", str(tmp_path / "o"), "--catalog", "db"])
    assert res.exit_code == 2
    tables = tmp_path / "tables.txt"
    tables.write_text("# two tables\nairlines.parquet\ncopies/airlines_backup.parquet\n")
    res = runner.invoke(cli, ["--output", "json", "containment", "scan", str(demo_data / "lake"), "-o", str(tmp_path / "o"), "--tables", str(tables)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["tables"] == 2


def test_demo_reports_measured_savings(demo_data, tmp_path):
    from lakeshrink.demos.containment import run
    from lakeshrink.demos import DemoContext
    from lakeshrink.engine import get_engine

    report = run(DemoContext(data_dir=demo_data, engine=get_engine("local"), work_dir=tmp_path))
    assert 0 < report.saved_bytes < report.input_bytes
    assert any("planes_boeing" in n for n in report.notes)
    assert not any("seats_edited" in n for n in report.notes)


def test_corrupt_data_pages_are_reported_per_table(tmp_path):
    _write(tmp_path / "a.parquet", pa.table({"x": list(range(1000))}))
    _write(tmp_path / "b.parquet", pa.table({"x": list(range(10))}))
    _write(tmp_path / "c.parquet", pa.table({"x": list(range(500))}), compression="none")
    data = bytearray((tmp_path / "c.parquet").read_bytes())
    data[8:1500] = b"\xff" * 1492  # data pages only; the footer still parses
    (tmp_path / "c.parquet").write_bytes(bytes(data))
    result = scan_lake(tmp_path)
    assert {(e.child, e.parent) for e in result.edges} == {("b.parquet", "a.parquet")}
    assert [s.table for s in result.skipped] == ["c.parquet"]


def test_a_read_failure_in_stage_3_skips_that_table_only(tmp_path, monkeypatch):
    from lakeshrink.containment.scan import fused

    _write(tmp_path / "a.parquet", pa.table({"x": [1, 2, 3]}))
    _write(tmp_path / "b.parquet", pa.table({"x": [1, 2]}))
    _write(tmp_path / "big.parquet", pa.table({"x": [1, 2, 3, 4]}))
    real = fused.read_table

    def flaky(fs, ref, columns=None):
        if ref.id == "a.parquet":
            raise OSError("disk on fire")
        return real(fs, ref, columns)

    monkeypatch.setattr(fused, "read_table", flaky)
    result = scan_lake(tmp_path)
    assert {(e.child, e.parent) for e in result.edges} == {("b.parquet", "big.parquet")}
    assert {s.table: s.reason for s in result.skipped} == {"a.parquet": "disk on fire"}


def test_a_uri_lake_root_is_recorded_as_given(tmp_path):
    _write(tmp_path / "a.parquet", pa.table({"x": [1, 2, 3]}))
    _write(tmp_path / "sub" / "b.parquet", pa.table({"x": [3]}))
    uri = f"file://{tmp_path}"
    result = scan_lake(uri)
    assert result.lake == uri
    assert {(e.child, e.parent) for e in result.edges} == {("sub/b.parquet", "a.parquet")}


def test_removable_bytes_keep_one_table_of_each_equal_group(bundled_scan):
    sizes = {t.table: t.bytes for t in bundled_scan.table_details}
    expected = sum(
        sizes[t]
        for t in (
            "copies/airlines_backup.parquet",
            "derived/airports_eastern.parquet",
            "derived/flights_late_dup.parquet",
            "derived/planes_boeing.parquet",
            "derived/weather_jan_ewr.parquet",
            "flights_jan",
        )
    )
    assert bundled_scan.removable_bytes == expected
    assert bundled_scan.contained_bytes == expected + sizes["airlines.parquet"] + sizes["derived/flights_by_origin"]
