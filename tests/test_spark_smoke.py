"""Spark smoke test through the session-scoped SparkSession (classic local[2], or Spark Connect)."""

from __future__ import annotations

import pytest

from lakeshrink.engine import get_engine

pytestmark = pytest.mark.spark


def _square(x: int) -> int:
    return x * x


def test_spark_engine_maps_in_order(spark):
    engine = get_engine("spark", spark=spark)
    description = engine.describe()
    assert description["engine"] == "spark" and description["master"] == "local[2]"
    assert description["connect"] == (type(spark).__module__.startswith("pyspark.sql.connect"))
    assert engine.map(_square, list(range(10))) == [x * x for x in range(10)]
    assert engine.map(_square, []) == []


def test_spark_engine_reuses_active_session_and_leaves_it_running(spark):
    engine = get_engine("spark", spark_master="local[1]")  # the active session wins over the master
    assert engine.spark is spark
    engine.close()
    assert spark.range(3).count() == 3  # not stopped: the engine did not start it


def test_local_and_spark_agree(spark):
    items = list(range(-5, 20))
    assert get_engine("local").map(_square, items) == get_engine("spark", spark=spark).map(_square, items)


def test_map_is_one_job_of_one_stage_without_a_shuffle(spark):
    """Small item lists travel inside the task function: ``spark.range(tasks).mapInArrow``, no repartition."""
    from lakeshrink.spark_ext.session import is_connect

    if is_connect(spark):
        pytest.skip("counts stages with sparkContext's status tracker, which Spark Connect does not have")
    sc = spark.sparkContext
    sc.setJobGroup("lakeshrink-map-stages", "map")
    try:
        assert get_engine("spark", spark=spark).map(_square, list(range(50))) == [x * x for x in range(50)]
    finally:
        jobs = sc.statusTracker().getJobIdsForGroup("lakeshrink-map-stages")
        sc.setJobGroup("", "")
    assert len(jobs) == 1
    assert len(sc.statusTracker().getJobInfo(jobs[0]).stageIds) == 1


def test_map_of_large_items_goes_through_a_dataframe(spark, monkeypatch):
    from lakeshrink.spark_ext import engine as spark_engine

    monkeypatch.setattr(spark_engine, "CLOSURE_BYTES", 0)  # every item list is "large"
    items = [bytes([i]) * 100 for i in range(30)]
    assert get_engine("spark", spark=spark).map(len, items) == [100] * 30
    assert get_engine("spark", spark=spark).map(_square, list(range(7))) == [x * x for x in range(7)]


class _FakeSpark:
    """Just enough of a session for :func:`over_payloads` to hand over the tasks' function (``fn``)."""

    def range(self, *args):
        return self

    def mapInArrow(self, fn, schema):
        self.fn = fn
        return self


def test_map_tasks_send_results_in_bounded_batches_and_release_memory(monkeypatch):
    """A map() task sends its pickled results on in batches of about BATCH_BYTES (stage 3 on the 10,000-table
    lake made gigabytes of results), frees its memory when it ends, and the driver unpickles batch by batch."""
    import pickle

    import pyarrow as pa

    from lakeshrink.spark_ext import engine as spark_engine

    released = []
    monkeypatch.setattr(spark_engine, "release_memory", lambda: released.append(True))
    monkeypatch.setattr(spark_engine, "BATCH_BYTES", 100)
    payloads = [pickle.dumps(bytes(60) + bytes([i])) for i in range(7)]
    frame = spark_engine.over_payloads(_FakeSpark(), payloads, lambda pairs: spark_engine._batched(pairs, lambda b: b), "s", 2)
    batches = list(frame.fn(iter([pa.record_batch([pa.array([0, 1])], names=["c"])])))  # the tasks' function, both tasks
    assert [b.num_rows for b in batches] == [2, 2, 2, 1]  # 2 results pass 100 bytes; each task ends a batch
    assert released == [True]
    released.clear()
    monkeypatch.setattr(spark_engine, "RELEASE_BYTES", 2 * batches[0].nbytes)
    assert spark_engine._unpickled(batches, 7) == [bytes(60) + bytes([i]) for i in range(7)]
    assert batches == []  # each batch released once unpickled
    assert released == [True, True]  # freed memory given back after two batches' bytes, and at the end


def test_many_items_make_small_tasks():
    """Spark holds a task's results whole in the driver's JVM: many items are cut into tasks of TASK_ITEMS."""
    from lakeshrink.spark_ext.engine import TASK_ITEMS, task_count

    assert task_count(3, 2) == 3
    assert task_count(57, 2) == 4
    assert task_count(10_000, 2) == -(-10_000 // TASK_ITEMS) > 100
