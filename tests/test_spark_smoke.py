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
