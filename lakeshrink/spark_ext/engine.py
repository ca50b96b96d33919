"""The Spark engine: the same Arrow core as the local engine, run per partition on Spark."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

from lakeshrink.engine import Engine
from lakeshrink.spark_ext.session import get_spark_session, import_pyspark

T = TypeVar("T")
R = TypeVar("R")


def _apply_indexed(fn: Callable[[Any], Any]) -> Callable[[tuple[int, Any]], tuple[int, Any]]:
    def run(pair: tuple[int, Any]) -> tuple[int, Any]:
        return pair[0], fn(pair[1])

    return run


class SparkEngine(Engine):
    """Runs lakeshrink's core on Spark.

    Args:
        spark: a SparkSession to use; by default the active one, else a new one on ``master``.
        master: master URL for a new session (``local[2]``, ``spark://host:7077``, ``yarn``...).
    """

    name: ClassVar[str] = "spark"

    def __init__(self, spark: Any = None, master: str | None = None):
        import_pyspark()
        self._owned = False
        if spark is None:
            from pyspark.sql import SparkSession

            had_active = SparkSession.getActiveSession() is not None
            spark = get_spark_session(master)
            self._owned = not had_active
        self.spark = spark

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, description: str | None = None) -> list[R]:
        items = list(items)
        if not items:
            return []
        sc = self.spark.sparkContext
        slices = min(len(items), max(1, sc.defaultParallelism * 4))
        pairs = sc.parallelize(list(enumerate(items)), slices).map(_apply_indexed(fn)).collect()
        pairs.sort(key=lambda p: p[0])
        return [value for _, value in pairs]

    def describe(self) -> dict[str, Any]:
        sc = self.spark.sparkContext
        return {"engine": self.name, "master": sc.master, "spark_version": self.spark.version}

    def close(self) -> None:
        """Stop the session only if this engine started it (never a notebook's or spark-submit's session)."""
        if self._owned:
            self.spark.stop()
            self._owned = False
