"""Reader profiles in the advisor, the writers, plans and the CLI (``--readers``)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from lakeshrink.cli.main import cli
from lakeshrink.codecs.encodings import EncodingPlan, advise, load_plan, rewrite, write_parquet
from lakeshrink.codecs.encodings.plan import PLAN_VERSION
from lakeshrink.codecs.encodings.profiles import (
    FILE_CODECS,
    load_readers,
    profile_names,
    resolve_profile,
    sources,
)
from lakeshrink.errors import InputError


@pytest.fixture(scope="module")
def bss_table() -> pa.Table:
    """Columns where BYTE_STREAM_SPLIT wins without constraints: noisy floats and wide random integers."""
    rng = np.random.default_rng(5)
    n = 40_000
    return pa.table({
        "noise": pa.array(rng.random(n)),
        "f32": pa.array(rng.normal(0, 1, n).astype(np.float32)),
        "big": pa.array(rng.integers(0, 1 << 40, n)),
        "id": pa.array(np.arange(n)),
    })


def _encodings_in(path) -> set[tuple[str, str]]:
    meta = pq.ParquetFile(path).metadata
    out = set()
    for rg in range(meta.num_row_groups):
        for i in range(meta.num_columns):
            col = meta.row_group(rg).column(i)
            out.update((col.physical_type, enc) for enc in col.encodings)
    return out


def test_data_file_cells_all_cite_sources():
    readers = load_readers()
    known = sources()
    assert {"spark-3.5", "duckdb-1.1", "snowflake", "bigquery", "trino"} <= set(readers)
    for reader in readers.values():
        cited = [s for encs in reader.encodings.values() for s in encs.values()]
        cited += list(reader.page_versions.values()) + list(reader.codecs.values())
        assert cited and all(s in known for s in cited), reader.name
    assert profile_names()[:2] == ("portable", "latest")


def test_resolve_profiles_and_unknown_names():
    assert resolve_profile("latest").readers == ()
    both = resolve_profile("spark-3.5, duckdb-1.1")
    assert both.reader_names == ("spark-3.5", "duckdb-1.1")
    assert both.refusing("DOUBLE", "BYTE_STREAM_SPLIT") == ("spark-3.5",)
    assert both.refusing("FIXED_LEN_BYTE_ARRAY", "DELTA_BYTE_ARRAY") == ("duckdb-1.1",)
    assert both.allows_codec("LZ4_RAW") and not resolve_profile("spark-3.3").allows_codec("LZ4_RAW")
    assert resolve_profile("snowflake").page_versions == ("1.0",)
    with pytest.raises(InputError, match="unknown reader profile 'spark-9'.*known: portable, latest"):
        resolve_profile("spark-9")


def test_default_advice_never_leaves_the_portable_profile(bss_table):
    portable = resolve_profile(None)
    plan = advise(bss_table, objective="size").plan
    assert plan.readers == "portable"
    for c in plan.columns:
        assert portable.allows(c.candidate, c.physical_type), c
        assert c.encoding != "BYTE_STREAM_SPLIT"
    latest = advise(bss_table, objective="size", readers="latest").plan
    assert any(c.encoding == "BYTE_STREAM_SPLIT" for c in latest.columns)
    constrained = {c.path: c for c in plan.columns if c.constrained_by}
    assert "noise" in constrained and "spark-3.5" in constrained["noise"].constrained_by
    assert "duckdb-1.1" not in constrained["noise"].constrained_by  # DuckDB 1.1 reads BYTE_STREAM_SPLIT doubles
    assert "duckdb-1.1" in constrained["big"].constrained_by  # ...but not on integers
    assert constrained["noise"].latest_bytes < constrained["noise"].estimated_bytes
    assert "cannot read" in constrained["noise"].reason
    assert plan.latest_bytes < plan.estimated_bytes


def test_written_files_carry_only_portable_encodings(bss_table, tmp_path):
    portable = resolve_profile(None)
    result = write_parquet(bss_table, tmp_path / "t.parquet", objective="size", verify=True)
    for ptype, enc in _encodings_in(result.path):
        assert enc in ("PLAIN", "RLE", "RLE_DICTIONARY") or portable.allows_encoding(ptype, enc), (ptype, enc)
    codecs = {pq.ParquetFile(result.path).metadata.row_group(0).column(i).compression
              for i in range(bss_table.num_columns)}
    assert codecs <= {"UNCOMPRESSED", "SNAPPY", "ZSTD"}
    assert set(FILE_CODECS.values()) >= {"LZ4_RAW"}


def test_a_plan_outside_the_profile_is_refused_before_writing(bss_table, tmp_path):
    plan = advise(bss_table, objective="size", readers="latest").plan
    src = tmp_path / "in.parquet"
    pq.write_table(bss_table, src)
    with pytest.raises(InputError, match="outside the reader profile.*BYTE_STREAM_SPLIT.*spark-3.5"):
        rewrite(src, tmp_path / "out.parquet", plan=plan)
    assert not (tmp_path / "out.parquet").exists()
    with pytest.raises(InputError, match="spark-3.5"):
        write_parquet(bss_table, tmp_path / "w.parquet", plan, readers="spark-3.5")
    assert not (tmp_path / "w.parquet").exists()
    assert rewrite(src, tmp_path / "out.parquet", plan=plan, readers="latest").verified
    assert rewrite(src, tmp_path / "out2.parquet", plan=plan, readers="pyarrow").verified


def test_plan_v2_round_trip_and_v1_plans_count_as_latest(bss_table, tmp_path):
    plan = advise(bss_table, objective="size", readers="spark-3.5").plan
    plan.save(tmp_path / "p.json")
    again = load_plan(tmp_path / "p.json")
    assert again == plan and again.readers == "spark-3.5"
    doc = plan.to_dict()
    assert doc["version"] == PLAN_VERSION and doc["readers"] == "spark-3.5"
    v1 = {k: v for k, v in doc.items() if k in ("format", "objective", "rows", "sample_rows", "columns", "notes")}
    v1.update(version=1, columns=[{k: v for k, v in c.items() if k not in ("latest_bytes", "constrained_by")}
                                  for c in doc["columns"]])
    canonical = json.dumps(v1, sort_keys=True, separators=(",", ":"), ensure_ascii=False)  # how version 1 sealed
    v1["checksum"] = "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    old = EncodingPlan.from_dict(v1)
    assert old.readers == "latest" and all(c.constrained_by == () for c in old.columns)


def test_cli_readers_option(bss_table, tmp_path):
    src = tmp_path / "t.parquet"
    pq.write_table(bss_table, src)
    res = CliRunner().invoke(cli, ["--output", "json", "encode", "advise", str(src), "--objective", "size",
                                   "--readers", "spark-3.5,duckdb-1.1", "--save-plan", str(tmp_path / "p.json")])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["readers"] == "spark-3.5,duckdb-1.1" and doc["latest_bytes"] < doc["estimated_bytes"]
    assert "spark-3.5" in doc["constrained"]["noise"]
    text = CliRunner().invoke(cli, ["encode", "advise", str(src), "--objective", "size", "--no-why"])
    assert text.exit_code == 0 and "constrained by" in text.output and "latest would take" in text.output
    latest_plan = tmp_path / "latest.json"
    CliRunner().invoke(cli, ["encode", "advise", str(src), "--objective", "size", "--readers", "latest",
                             "--save-plan", str(latest_plan)])
    res = CliRunner().invoke(cli, ["encode", "rewrite", str(src), "-o", str(tmp_path / "o.parquet"),
                                   "--plan", str(latest_plan)])
    assert res.exit_code == 1 and "outside the reader profile portable" in res.stderr
    assert not (tmp_path / "o.parquet").exists()
    res = CliRunner().invoke(cli, ["encode", "advise", str(src), "--readers", "spark-9"])
    assert res.exit_code == 1 and "unknown reader profile" in res.stderr
