"""Tables under TRIAL_FACTOR x their sample are advised by the cost model (statistics, no trial encodes)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeshrink.codecs.encodings import AdvisorConfig, advise, rewrite, write_parquet
from lakeshrink.codecs.encodings import advisor as advisor_module
from lakeshrink.codecs.encodings import writer as writer_module
from lakeshrink.codecs.encodings.profiles import resolve_profile
from lakeshrink.codecs.encodings import stats as stats_module
from lakeshrink.codecs.encodings.stats import column_stats


def _small(n: int = 3_000) -> pa.Table:
    rng = np.random.default_rng(3)
    return pa.table({
        "id": pa.array(np.arange(n)),
        "flag": pa.array(rng.random(n) < 0.1),
        "noise": pa.array(rng.random(n)),
        "template": pa.array([f"a long log template number {i % 4} <*> happened" for i in range(n)]),
        "code": pa.array([f"E{rng.integers(0, 9000)}" for _ in range(n)]),
        "ts": pa.array([f"2026-11-30 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}" for i in range(n)]),
        "city": pa.array(np.array(["Oslo", "Rome", "Lima"])[rng.integers(0, 3, n)]),
    })


@pytest.fixture
def no_trials(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("trial encodes were run")

    monkeypatch.setattr(advisor_module, "run_trials", refuse)


def test_small_tables_get_the_model_not_trials(tmp_path, no_trials):
    table = _small()
    plan = advise(table).plan
    by = {c.path: c for c in plan.columns}
    assert plan.sample_rows == plan.rows == table.num_rows
    assert all(c.estimated_bytes is None and "cost model" in c.reason for c in plan.columns)
    assert by["id"].encoding == "DELTA_BINARY_PACKED" and by["flag"].encoding == "RLE"
    assert by["template"].dictionary and by["code"].encoding == "PLAIN"
    assert by["city"].encoding == "PLAIN"  # short strings in a small table: zstd finds the repeats in place
    assert by["ts"].encoding == "PLAIN"  # DELTA_LENGTH_BYTE_ARRAY is outside the default profile
    assert by["noise"].encoding == "PLAIN"  # BYTE_STREAM_SPLIT is outside the default profile
    assert all(c.compression == "ZSTD" and c.level == 19 for c in plan.columns)
    assert any("cost model" in n for n in plan.notes)
    latest = {c.path: c for c in advise(table, readers="latest").plan.columns}
    assert latest["noise"].encoding == "BYTE_STREAM_SPLIT" and latest["ts"].encoding == "DELTA_LENGTH_BYTE_ARRAY"
    spark = resolve_profile("spark-3.3")
    assert all(spark.allows(c.candidate, c.physical_type) for c in advise(table, readers="spark-3.3").plan.columns)
    out = write_parquet(table, tmp_path / "t.parquet", plan, verify=True)
    assert out.bytes < 0.8 * _zstd_size(table, tmp_path)


def test_mid_size_tables_get_the_model_with_whole_table_repeats(no_trials):
    # 60,000 rows: sampled (8,192 rows), under 256x the sample: the model, with distinct counts scaled by Chao1
    table = _small(60_000)
    plan = advise(table).plan
    by = {c.path: c for c in plan.columns}
    assert plan.sample_rows < plan.rows == 60_000
    assert by["city"].dictionary  # 3 values repeated 20,000 times each: a dictionary pays at this size
    assert by["code"].encoding == "PLAIN" and by["id"].encoding == "DELTA_BINARY_PACKED"


def test_trials_above_the_factor_or_when_disabled():
    table = _small()
    trials = advise(table, config=AdvisorConfig(small_table_cells=0, objective="size")).plan
    assert all(c.estimated_bytes is not None for c in trials.columns)
    big = advise(_small(40_000), config=AdvisorConfig(trial_factor=2)).plan  # 40,000 >= 2 x 8,192 rows sampled
    assert all(c.estimated_bytes is not None for c in big.columns)


def test_chao1_from_the_sample_counts():
    stats = column_stats(pa.array([1, 1, 2, 3, 4, 4, 5, None]))
    assert (stats.distinct, stats.singletons, stats.doubletons) == (5, 3, 2)
    assert stats.chao1(7) == 5  # the whole column: nothing to extrapolate
    assert stats.chao1(800) == 5 + round(9 / 4)
    assert column_stats(pa.array(list(range(100)))).chao1(1_000) == 1_000  # all distinct: capped at the rows


@pytest.mark.parametrize("dtype", [pa.string(), pa.large_string(), pa.binary()])
def test_short_strings_get_the_same_statistics_in_python(monkeypatch, dtype):
    rng = np.random.default_rng(11)
    pool = ["", "a", "b", "ab", "é", "zz", "中"]
    for _ in range(60):
        values = [None if rng.random() < 0.2 else pool[int(rng.integers(0, len(pool)))]
                  for _ in range(int(rng.integers(2, stats_module.FEW_STRINGS)))]
        if rng.random() < 0.3:
            values = [None] * 2 + sorted(v for v in values if v is not None)
        if dtype == pa.binary():
            values = [v.encode() if v is not None else None for v in values]
        array = pa.array(values, type=dtype).slice(1)
        monkeypatch.setattr(stats_module, "FEW_STRINGS", 0)
        arrow = column_stats(array), stats_module.is_sorted(array)
        monkeypatch.setattr(stats_module, "FEW_STRINGS", 128)
        assert (column_stats(array), stats_module.is_sorted(array)) == arrow


def test_tiny_tables_drop_statistics_that_cannot_save_a_read(tmp_path):
    tiny = _small(16)
    plan = advise(tiny).plan
    assert plan.statistics is False and plan.writer_kwargs(tiny.schema)["write_statistics"] is False
    write_parquet(tiny, tmp_path / "tiny.parquet", plan, verify=True)
    assert pq.ParquetFile(tmp_path / "tiny.parquet").metadata.row_group(0).column(0).statistics is None
    assert advise(_small()).plan.statistics is True
    assert "write_statistics" not in advise(_small()).plan.writer_kwargs()


def test_rewrite_of_one_file_advises_on_the_rows_it_reads(tmp_path, monkeypatch):
    table = _small()
    pq.write_table(table, tmp_path / "in.parquet")

    def refuse(*args, **kwargs):
        raise AssertionError("the file was read a second time to be advised")

    monkeypatch.setattr(writer_module, "advise", refuse)
    done = rewrite(tmp_path / "in.parquet", tmp_path / "out.parquet")
    assert done.verified and done.rows == table.num_rows and done.advise_seconds < done.write_seconds
    assert pq.read_table(tmp_path / "out.parquet").equals(table)


def _zstd_size(table: pa.Table, tmp_path) -> int:
    pq.write_table(table, tmp_path / "z.parquet", compression="zstd")
    return (tmp_path / "z.parquet").stat().st_size


def test_trial_plans_measure_the_page_version():
    table = _small(20_000)
    trials = AdvisorConfig(small_table_cells=0)
    latest = advise(table, config=trials, readers="latest").plan
    assert any(n.startswith(f"data pages V{latest.data_page_version[0]}: the sample wrote") for n in latest.notes)
    portable = advise(table, config=trials).plan  # V2 pages are outside the default profile (Snowflake, BigQuery)
    assert portable.data_page_version == "1.0" and not any(n.startswith("data pages V") for n in portable.notes)
