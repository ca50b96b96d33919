"""Cost-model decisions are remembered per schema, settings and size class; model plans say what latest would do."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from lakeshrink.codecs.encodings import AdvisorConfig, CandidateSpace, advise, write_parquet
from lakeshrink.codecs.encodings import advisor as advisor_module
from lakeshrink.codecs.encodings import decisions


def _table(n: int = 3_000, *, seed: int = 3, ids: np.ndarray | None = None) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({
        "id": pa.array(np.arange(n) if ids is None else ids),
        "noise": pa.array(rng.random(n)),
        "template": pa.array([f"a long log template number {i % 4} <*> happened" for i in range(n)]),
        "ts": pa.array([f"2026-11-30 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}" for i in range(n)]),
    })


@pytest.fixture
def stats_calls(monkeypatch):
    """How many times the advisor computed statistics of a sample: through ``sample_stats``, or in the one pass
    over the columns of a table that is its own sample (``_small_by_model``, when it makes the plan)."""
    calls = []
    real, real_small = advisor_module.sample_stats, advisor_module._small_by_model

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    def counting_small(*args, **kwargs):
        plan = real_small(*args, **kwargs)
        if plan is not None:
            calls.append(1)
        return plan

    monkeypatch.setattr(advisor_module, "sample_stats", counting)
    monkeypatch.setattr(advisor_module, "_small_by_model", counting_small)
    return calls


def test_a_second_table_of_the_same_key_reuses_the_choices(stats_calls, tmp_path):
    first = advise(_table()).plan
    assert len(stats_calls) == 1 and first.sample_rows == 3_000
    other = _table(3_500, seed=9)  # other values, same schema and size class (2,048-4,095 rows)
    again = advise(other).plan
    assert len(stats_calls) == 1  # no statistics: the remembered decision
    assert [c.candidate for c in again.columns] == [c.candidate for c in first.columns]
    write_parquet(other, tmp_path / "o.parquet", again, verify=True)
    assert len(stats_calls) == 1  # writing reads no reason
    assert again.sample_rows == 3_500 and again.rows == 3_500  # the sample a fresh advice of this table takes
    assert len(stats_calls) == 1
    decisions.forget()
    fresh = advise(other).plan
    assert again.to_json() == fresh.to_json()  # reasons read now: this table's statistics (computed once more)


def test_the_same_table_advised_twice_gives_the_same_plan_json():
    """A reused decision used to keep the first advice's reasons and record ``sample_rows: 0``: same bytes,
    another plan JSON and checksum."""
    table = _table()
    first = advise(table).plan
    second = advise(table).plan  # from the remembered decision
    assert second.to_json() == first.to_json() and second == first
    sampled = _table(40_000, seed=5)  # sampled (2,048 of 40,000 rows): reasons from the same sample
    assert advise(sampled).plan.to_json() == advise(sampled).plan.to_json()


def test_a_reused_choice_this_table_would_not_make_says_so():
    advise(_table())
    flat = _table(3_500, seed=9).set_column(1, "noise", pa.array(np.full(3_500, 0.5)))  # constant: dictionary
    plan = advise(flat).plan
    noise = {c.path: c for c in plan.columns}["noise"]
    assert noise.encoding == "PLAIN"  # the earlier table's choice, kept
    assert "kept; this table's statistics alone would give dict/zstd-19" in noise.reason and noise.reason.startswith("NDV 1 ")


@pytest.mark.parametrize("change", ["type", "column", "profile", "size", "objective", "disabled"])
def test_a_change_of_schema_settings_or_size_class_is_advised_again(stats_calls, change):
    advise(_table())
    table, kwargs = _table(), {}
    if change == "type":
        table = table.set_column(0, "id", table.column("id").cast(pa.int32()))
    elif change == "column":
        table = table.append_column("extra", pa.array(np.zeros(table.num_rows)))
    elif change == "profile":
        kwargs = {"readers": "latest"}
    elif change == "size":
        table = _table(5_000)  # 4,096-8,191 rows: another size class
    elif change == "objective":
        kwargs = {"config": AdvisorConfig(budget=3.0)}
    else:
        kwargs = {"config": AdvisorConfig(reuse_decisions=False)}
    plan = advise(table, **kwargs).plan
    assert len(stats_calls) == 2 and plan.sample_rows > 0  # advised from its own statistics
    if change == "profile":  # the profile's choice was not carried over: latest takes BYTE_STREAM_SPLIT
        assert {c.path: c for c in plan.columns}["noise"].encoding == "BYTE_STREAM_SPLIT"


def test_the_sort_order_is_checked_on_every_table(stats_calls, tmp_path):
    assert [k.path for k in advise(_table()).plan.sorting_columns] == ["id"]
    shuffled = _table(ids=np.random.default_rng(1).permutation(3_000))
    plan = advise(shuffled).plan
    assert len(stats_calls) == 1  # the choices were reused, the sort order was not
    assert plan.sorting_columns == ()
    write_parquet(shuffled, tmp_path / "s.parquet", plan, verify=True)
    assert [k.path for k in advise(_table(seed=4)).plan.sorting_columns] == ["id"]


def test_settings_that_cannot_be_a_key_are_advised_every_time(stats_calls):
    config = AdvisorConfig(space=CandidateSpace(codecs=["ZSTD"]))  # a list: unhashable
    advise(_table(), config=config)
    assert advise(_table(), config=config).plan.sample_rows > 0 and len(stats_calls) == 2


def test_the_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(decisions, "MAX_ENTRIES", 2)
    for name in ("a", "b", "c"):
        advise(pa.table({name: list(range(100))}))
    assert len(decisions._DECISIONS) == 2


def test_model_plans_say_what_latest_would_write():
    plan = advise(_table()).plan  # portable: no BYTE_STREAM_SPLIT (Spark's vectorized reader), no DLBA (Spark 3.3)
    by = {c.path: c for c in plan.columns}
    assert all(c.estimated_bytes is None for c in plan.columns)
    assert "spark-3.5" in by["noise"].constrained_by and "latest would write BYTE_STREAM_SPLIT" in by["noise"].reason
    assert by["ts"].constrained_by == ("spark-3.3",) and "DELTA_LENGTH_BYTE_ARRAY" in by["ts"].reason
    assert by["id"].constrained_by == () and by["template"].constrained_by == ()
    latest = advise(_table(), readers="latest").plan
    assert all(c.constrained_by == () for c in latest.columns)
    assert {c.path: c for c in latest.columns}["noise"].encoding == "BYTE_STREAM_SPLIT"
