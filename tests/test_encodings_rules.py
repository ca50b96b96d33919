"""Small tables are advised by rules from their statistics (no trial encodes), inside the reader profile."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lakeshrink.codecs.encodings import AdvisorConfig, advise, write_parquet
from lakeshrink.codecs.encodings.profiles import resolve_profile


def _small(n: int = 3_000) -> pa.Table:
    rng = np.random.default_rng(3)
    return pa.table({
        "id": pa.array(np.arange(n)),
        "flag": pa.array(rng.random(n) < 0.1),
        "noise": pa.array(rng.random(n)),
        "template": pa.array([f"a long log template number {i % 4} <*> happened" for i in range(n)]),
        "code": pa.array([f"E{rng.integers(0, 9000)}" for _ in range(n)]),
        "ts": pa.array([f"2026-11-30 12:{i // 60 % 60:02d}:{i % 60:02d}" for i in range(n)]),
    })


def test_small_tables_get_rules_not_trials(tmp_path):
    table = _small()
    plan = advise(table).plan
    by = {c.path: c for c in plan.columns}
    assert plan.sample_rows == plan.rows == table.num_rows
    assert all(c.estimated_bytes is None and "rules" in c.reason for c in plan.columns)
    assert by["id"].encoding == "DELTA_BINARY_PACKED" and by["flag"].encoding == "RLE"
    assert by["template"].dictionary and by["code"].encoding == "PLAIN"
    assert by["ts"].encoding == "DELTA_BYTE_ARRAY"  # sorted strings share prefixes
    assert by["noise"].encoding == "PLAIN"  # BYTE_STREAM_SPLIT is outside the default profile
    assert all(c.compression == "ZSTD" and c.level == 19 for c in plan.columns)
    assert any("rules" in n for n in plan.notes)
    latest = {c.path: c for c in advise(table, readers="latest").plan.columns}
    assert latest["noise"].encoding == "BYTE_STREAM_SPLIT"
    spark = resolve_profile("spark-3.3")
    assert all(spark.allows(c.candidate, c.physical_type) for c in advise(table, readers="spark-3.3").plan.columns)
    out = write_parquet(table, tmp_path / "t.parquet", plan, verify=True)
    assert out.bytes < 0.8 * _zstd_size(table, tmp_path)


def test_rules_are_off_above_the_threshold_or_when_disabled():
    table = _small()
    trials = advise(table, config=AdvisorConfig(small_table_cells=0, objective="size")).plan
    assert all(c.estimated_bytes is not None for c in trials.columns)
    big = advise(_small(40_000)).plan
    assert all(c.estimated_bytes is not None for c in big.columns)


def _zstd_size(table: pa.Table, tmp_path) -> int:
    pq.write_table(table, tmp_path / "z.parquet", compression="zstd")
    return (tmp_path / "z.parquet").stat().st_size
