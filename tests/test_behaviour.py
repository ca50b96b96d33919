"""The behaviour suite: results that must agree on every runtime, through the `engine` fixture (local, classic
Spark, Spark Connect). Each test compares the engine's result with an oracle or with the local engine's.

Runs in both legs of the test command: the classic leg takes `local` and `spark`, the `--spark-connect` leg takes
`spark-connect` (see conftest.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from lakeshrink.codecs.encodings import advise
from lakeshrink.codecs.encodings.decisions import forget
from lakeshrink.codecs.encodings.ports import ENCODING_ADVISOR, ENCODING_REWRITER
from lakeshrink.codecs.logs.codec import CodecConfig
from lakeshrink.codecs.logs.files import compress_files, decompress_archive
from lakeshrink.codecs.logs.ports import LOG_COMPRESSOR
from lakeshrink.containment.planner.plan import PlanOptions, load_plan, make_plan
from lakeshrink.containment.planner.ports import REBUILDER
from lakeshrink.containment.rowhash import table_checksum
from lakeshrink.containment.scan import scan_lake
from lakeshrink.engine import LocalEngine


@pytest.fixture(scope="module")
def oracle_lake(tmp_path_factory):
    """A generated lake (one family of derived tables) and its brute-force ground truth."""
    from benchmarks.lakegen import brute_force, generate_lake

    lake = generate_lake(tmp_path_factory.mktemp("gen") / "lake", scale=0.15, seed=5, max_rows=400)
    return lake.root, brute_force(lake.root, types="compatible")


def test_containment_edges_match_the_oracle(engine, oracle_lake):
    root, truth = oracle_lake
    result = scan_lake(root, engine=engine, types="compatible")
    assert {(e.child, e.parent) for e in result.edges} == truth.edges
    assert {(e.child, e.parent) for e in result.edges if e.multiset_contained} == truth.multiset
    assert result.skipped == () and result.engine == engine.name


def test_scan_report_fields_agree_with_local(engine, demo_data):
    local = scan_lake(demo_data / "lake", types="compatible")
    result = scan_lake(demo_data / "lake", engine=engine, types="compatible")
    assert result.edges == local.edges and result.reduction == local.reduction
    assert result.equal_groups == local.equal_groups and result.skipped == local.skipped
    assert result.table_details == local.table_details
    assert [(s.name, s.pairs_in, s.pairs_out) for s in result.stages] == [(s.name, s.pairs_in, s.pairs_out) for s in local.stages]


@pytest.fixture(scope="module")
def bundled_plan(tmp_path_factory, demo_data):
    """A plan (no GX audit) of a copy of the bundled lake with every table cold."""
    base = tmp_path_factory.mktemp("plan")
    lake = base / "lake"
    shutil.copytree(demo_data / "lake", lake)
    scan = scan_lake(lake)
    scan.save(base / "scan")
    access = base / "access.csv"
    access.write_text("table,reads_per_month,max_rebuild_seconds\n" + "".join(f"{t.table},0,\n" for t in scan.table_details))
    make_plan(base / "scan", base / "plan", access=access, options=PlanOptions(gx=False))
    return load_plan(base / "plan")


def test_rebuild_checksums(engine, bundled_plan, tmp_path):
    marked = sorted(m.table for m in bundled_plan.marked)
    assert len(marked) >= 3 and any(not t.endswith(".parquet") for t in marked)  # a directory table among them
    for n, table in enumerate(marked):
        recipe = bundled_plan.recipe(table)
        out = tmp_path / f"rebuilt-{n}.parquet"
        checksum = engine.port(REBUILDER).write_rebuild(recipe, bundled_plan.lake, out)
        assert checksum == recipe.row_checksum == table_checksum(pq.read_table(out)), table
        assert pq.read_metadata(out).num_rows == recipe.child_rows, table


@pytest.mark.parametrize("table", ["planes.parquet", "derived/flights_by_origin"])
def test_rewrite_keeps_the_content(engine, demo_data, tmp_path, table):
    src = demo_data / "lake" / table
    plan = advise(src, objective="size").plan
    result = engine.port(ENCODING_REWRITER).rewrite(str(src), str(tmp_path / "out"), plan=plan)
    before = ds.dataset(src, partitioning="hive" if src.is_dir() else None).to_table()
    after = ds.dataset(tmp_path / "out", partitioning="hive" if src.is_dir() else None).to_table().select(before.column_names)
    assert result.verified and result.rows == before.num_rows == after.num_rows
    assert table_checksum(after.cast(before.schema)) == table_checksum(before)


@pytest.mark.parametrize("table", ["weather_jan.parquet", "derived/flights_by_origin"])
def test_advice_is_the_local_advice(engine, demo_data, table):
    """A sorted column, a timestamp[ms] column Spark reads as [us], a hive-partitioned directory of three files:
    the whole plan is the local engine's."""
    src = demo_data / "lake" / table
    local = advise(src, objective="size").plan
    plan = engine.port(ENCODING_ADVISOR).advise_path(str(src), objective="size").plan
    assert plan.to_json() == local.to_json()
    if table == "weather_jan.parquet":
        assert [k.path for k in plan.sorting_columns] == ["origin"]


@pytest.mark.parametrize("table", ["weather_jan.parquet", "flights_jan"])
def test_rewrite_writes_the_local_files(engine, demo_data, tmp_path, table):
    """Advised and rewritten on the engine: the same types, rows and bytes as the local rewrite."""
    src = demo_data / "lake" / table
    local = LocalEngine().port(ENCODING_REWRITER).rewrite(str(src), str(tmp_path / "local"))
    forget()  # both advise from scratch: a remembered decision gives the same choices but reasons of the earlier table
    result = engine.port(ENCODING_REWRITER).rewrite(str(src), str(tmp_path / "out"))
    assert (result.rows, result.files, result.output_bytes) == (local.rows, local.files, local.output_bytes)
    assert result.plan.to_json() == local.plan.to_json()
    assert ds.dataset(tmp_path / "out").schema == ds.dataset(tmp_path / "local").schema


@pytest.fixture(scope="module")
def mixed_logs(tmp_path_factory, demo_data) -> Path:
    """Two formats in one input (HDFS, OpenSSH), a CRLF file and an empty file."""
    src = tmp_path_factory.mktemp("logs") / "in"
    (src / "sub").mkdir(parents=True)
    (src / "a_hdfs.log").write_bytes((demo_data / "logs" / "HDFS_1k.log").read_bytes())
    (src / "sub" / "b_openssh.log").write_bytes((demo_data / "logs" / "OpenSSH_1k.log").read_bytes())
    (src / "sub" / "crlf_tail.log").write_bytes(b"a\r\nb\r\n\r\nno newline at end\r")
    (src / "empty.log").write_bytes(b"")
    return src


def test_archives_decode_to_the_same_bytes_with_the_same_report(engine, mixed_logs, tmp_path):
    config = CodecConfig(chunk_bytes=64 << 10)
    local = compress_files([str(mixed_logs)], tmp_path / "local.lslog", config)
    report = engine.port(LOG_COMPRESSOR).compress_files([str(mixed_logs)], tmp_path / "engine.lslog", config)
    fields = ("files", "chunks", "lines", "input_bytes", "format", "templates", "columnar_chunks", "fallback_chunks")
    assert {f: getattr(report, f) for f in fields} == {f: getattr(local, f) for f in fields}
    assert report.columnar_chunks >= 2  # each format's file columnar: the format was detected per file
    decompress_archive(tmp_path / "engine.lslog", tmp_path / "out")
    for path in sorted(p for p in mixed_logs.rglob("*") if p.is_file()):
        assert (tmp_path / "out" / path.relative_to(mixed_logs)).read_bytes() == path.read_bytes(), path
