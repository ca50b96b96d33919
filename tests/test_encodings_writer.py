"""write_parquet and rewrite: content, order, schema and metadata kept; atomic; verified; clear errors."""

from __future__ import annotations

import shutil

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeshrink.codecs.encodings import advise, rewrite, write_parquet
from lakeshrink.codecs.encodings import writer as writer_module
from lakeshrink.codecs.encodings.source import open_input, read_file
from lakeshrink.codecs.encodings.verify import tables_equal
from lakeshrink.errors import InputError, SchemaMismatch, VerificationFailed


def _table(rng, n=20_000) -> pa.Table:
    return pa.table({
        "ts": pa.array(np.sort(rng.integers(0, 10**12, n)), pa.timestamp("ms", tz="America/New_York")),
        "user": pa.array(rng.choice(["ann", "bob", "cy", None], n)),
        "amount": pa.array(np.round(rng.gamma(2.0, 30.0, n), 2)),
    }, metadata={"writer": "test", "note": "kept"})


def test_write_parquet_from_polars(rng, tmp_path):
    table = _table(rng)
    df = pl.from_arrow(table)
    result = write_parquet(df, tmp_path / "p.parquet", objective="size", verify=True)
    back = pl.read_parquet(tmp_path / "p.parquet")
    assert back.equals(df)
    assert result.bytes < pq.ParquetFile(tmp_path / "p.parquet").metadata.serialized_size + 10**6
    assert result.plan.objective == "size"


def test_rewrite_file_keeps_rows_schema_metadata_and_sorting(rng, tmp_path):
    table = _table(rng)
    src = tmp_path / "in.parquet"
    pq.write_table(table, src, sorting_columns=[pq.SortingColumn(0)], row_group_size=5000)
    result = rewrite(src, tmp_path / "out.parquet")
    back = read_file(tmp_path / "out.parquet")
    assert tables_equal(read_file(src), back) is None
    assert back.schema.metadata[b"note"] == b"kept"
    assert result.verified and result.rows == table.num_rows and result.output_bytes < result.input_bytes
    assert result.plan.sorting_columns[0].path == "ts"
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.row_group(0).sorting_columns[0].column_index == 0


def test_rewrite_directory_keeps_hive_layout_and_extras(rng, tmp_path, demo_data):
    src = tmp_path / "by_origin"
    shutil.copytree(demo_data / "lake" / "derived" / "flights_by_origin", src)
    (src / "_SUCCESS").write_text("")
    (src / ".part-0.parquet.crc").write_text("stale")
    result = rewrite(src, tmp_path / "out", objective="size")
    assert result.files == 3
    before, after = open_input(src), open_input(tmp_path / "out")
    assert before.files == after.files
    assert (tmp_path / "out" / "_SUCCESS").exists() and not (tmp_path / "out" / ".part-0.parquet.crc").exists()
    for rel in before.files:
        assert tables_equal(read_file(before.path(rel)), read_file(after.path(rel))) is None
    import pyarrow.dataset as ds

    assert ds.dataset(tmp_path / "out", partitioning="hive").to_table().num_rows == result.rows


def test_rewrite_in_place_is_atomic_and_verified(rng, tmp_path):
    table = _table(rng)
    src = tmp_path / "t.parquet"
    pq.write_table(table, src)
    before = src.stat().st_size
    result = rewrite(src)
    assert result.output == str(src) and src.stat().st_size < before
    assert tables_equal(table, read_file(src)) is None
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_failed_verification_leaves_nothing(rng, tmp_path, monkeypatch):
    table = _table(rng)
    src = tmp_path / "t.parquet"
    pq.write_table(table, src)
    original = src.read_bytes()

    def corrupt(table, path, plan, *, where=None):  # a writer that loses a row
        pq.write_table(table.slice(1), path)

    monkeypatch.setattr(writer_module, "write_table_file", corrupt)
    with pytest.raises(VerificationFailed, match="row count differs") as info:
        rewrite(src)
    assert str(src) in str(info.value)
    assert src.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]
    with pytest.raises(VerificationFailed):
        rewrite(src, tmp_path / "new.parquet")
    assert not (tmp_path / "new.parquet").exists()


def test_bad_inputs_name_the_file(rng, tmp_path):
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InputError, match="broken.parquet"):
        rewrite(broken, tmp_path / "o.parquet")
    with pytest.raises(InputError, match="no such file"):
        advise(tmp_path / "missing.parquet")
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    with pytest.raises(InputError, match="no Parquet data files"):
        rewrite(empty_dir, tmp_path / "o")
    delta = tmp_path / "delta"
    (delta / "_delta_log").mkdir(parents=True)
    with pytest.raises(InputError, match="Delta"):
        rewrite(delta, tmp_path / "o2")


def test_existing_output_needs_overwrite(rng, tmp_path):
    src = tmp_path / "t.parquet"
    pq.write_table(_table(rng, 100), src)
    (tmp_path / "o.parquet").write_bytes(b"keep me")
    with pytest.raises(InputError, match="already exists"):
        rewrite(src, tmp_path / "o.parquet")
    assert (tmp_path / "o.parquet").read_bytes() == b"keep me"
    rewrite(src, tmp_path / "o.parquet", overwrite=True)
    assert read_file(tmp_path / "o.parquet").num_rows == 100


def test_plan_for_another_table_is_refused_before_writing(rng, tmp_path):
    src = tmp_path / "t.parquet"
    pq.write_table(_table(rng, 100), src)
    plan = advise(pa.table({"other": [1, 2, 3]})).plan
    with pytest.raises(SchemaMismatch, match="not in the plan"):
        rewrite(src, tmp_path / "o.parquet", plan=plan)
    assert not (tmp_path / "o.parquet").exists()


def test_directory_with_differing_schemas_is_refused(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    pq.write_table(pa.table({"a": [1]}), d / "part-0.parquet")
    pq.write_table(pa.table({"a": ["x"]}), d / "part-1.parquet")
    with pytest.raises(SchemaMismatch, match="part-1.parquet"):
        rewrite(d, tmp_path / "o")


def test_int96_timestamps_are_kept(tmp_path):
    table = pa.table({"t": pa.array(np.arange(1000) * 10**9, pa.timestamp("ns"))})
    src = tmp_path / "spark.parquet"
    pq.write_table(table, src, use_deprecated_int96_timestamps=True)
    result = rewrite(src, tmp_path / "o.parquet", objective="size")
    assert result.plan.int96_timestamps
    assert pq.ParquetFile(tmp_path / "o.parquet").schema.column(0).physical_type == "INT96"
    assert tables_equal(read_file(src), read_file(tmp_path / "o.parquet")) is None


def test_large_file_is_advised_from_spread_row_groups(rng, tmp_path):
    from lakeshrink.codecs.encodings.source import read_row_group_sample

    n = 600_000
    table = pa.table({"k": np.arange(n), "v": rng.integers(0, 50, n), "s": rng.choice(["a", "b", "c"], n)})
    src = tmp_path / "big.parquet"
    pq.write_table(table, src, row_group_size=20_000)  # 30 row groups
    part, whole = read_row_group_sample(open_input(src), 100_000)
    assert not whole and 100_000 <= part.num_rows < 200_000
    assert part.column("k")[0].as_py() == 0 and part.column("k")[-1].as_py() == n - 1  # first and last group
    advice = advise(src, objective="size")
    assert advice.plan.rows == n and advice.plan.sorting_columns == ()  # not verified on unread rows: not declared
    result = rewrite(src, tmp_path / "out.parquet", plan=advice.plan)
    assert abs(advice.plan.estimated_bytes / result.output_bytes - 1) < 0.2


def test_hive_groups_keep_row_order_nulls_and_escape_values():
    from lakeshrink.spark_ext.encodings import HIVE_NULL, _groups, _staging_location

    table = pa.table({"k": ["a/b", None, "a/b", "c d"], "v": [1, 2, 3, 4]})
    groups = dict(_groups(table, ("k",)))
    assert groups["k=a%2Fb"]["v"].to_pylist() == [1, 3]
    assert groups[f"k={HIVE_NULL}"]["v"].to_pylist() == [2]
    assert groups["k=c d"].column_names == ["v"]
    assert _staging_location("hdfs://nn:8020/lake/t").startswith("hdfs://nn:8020/lake/.t.lakeshrink-tmp-")


def test_importing_the_encoding_modules_does_not_import_pyspark():
    import subprocess
    import sys

    code = ("import sys, lakeshrink.codecs.encodings, lakeshrink.cli.encode, lakeshrink.spark_ext.encodings; "
            "print('pyspark' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_arrow_schema_copy_is_dropped_only_when_parquet_types_restore_it(tmp_path):
    import pyarrow as pa

    from lakeshrink.codecs.encodings import advise, write_parquet
    from lakeshrink.codecs.encodings.schema import needs_arrow_schema

    plain = pa.table({"s": ["a", "b"] * 50, "i": list(range(100))})
    assert not needs_arrow_schema(plain.schema)
    assert needs_arrow_schema(pa.schema([("t", pa.timestamp("ms", tz="America/New_York"))]))
    assert needs_arrow_schema(pa.schema([("s", pa.string_view())]))
    assert needs_arrow_schema(plain.schema.with_metadata({"pandas": "{}"}))
    plan = advise(plain).plan
    assert plan.store_schema is False
    out = write_parquet(plain, tmp_path / "p.parquet", plan, verify=True)
    assert b"ARROW:schema" not in (tmp_path / "p.parquet").read_bytes()
    assert out.bytes < pq.ParquetFile(tmp_path / "p.parquet").metadata.serialized_size + 2_000
    viewed = plain.cast(pa.schema([("s", pa.string_view()), ("i", pa.int64())]))  # same leaves, needs the schema
    write_parquet(viewed, tmp_path / "v.parquet", plan, verify=True)
    assert pq.read_schema(tmp_path / "v.parquet").field("s").type == pa.string_view()


def test_rewrite_of_one_file_opens_it_once_to_read_and_once_to_verify(rng, tmp_path, monkeypatch):
    """The footer read with the rows gives the advice the declared order and INT96 use (no more openings)."""
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": np.arange(5_000), "v": rng.random(5_000)}), src)
    opened = []
    real = pq.ParquetFile

    def counting(*args, **kwargs):
        opened.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(pq, "ParquetFile", counting)
    rewrite(src, tmp_path / "out.parquet")
    files = [str(p) for p in opened if not isinstance(p, pa.BufferReader)]  # (leaf_columns reads an empty file in memory)
    assert files.count(str(src)) == 1 and len(files) == 2  # the input once, the output once (verified)
