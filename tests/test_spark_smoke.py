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
