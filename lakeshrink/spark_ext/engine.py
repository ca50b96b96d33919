"""The Spark engine: the same Arrow core as the local engine, run as tasks of a Spark session.

Everything here uses only what Spark Connect offers too (DataFrames, ``mapInArrow``, ``spark.conf``): no
``sparkContext``, no RDDs, no broadcast variables, no JVM access. So one engine serves a classic session
(spark-submit, ``local[*]``) and a Connect session (Databricks serverless and shared clusters, ``sc://`` URLs).

:meth:`SparkEngine.map` cuts the items into a few tasks per core (round robin) and runs them as one stage of one
job: ``spark.range(tasks).mapInArrow``, each task unpickling its items, applying the function and returning
pickled results; the driver puts them back in input order. The pickled items travel inside the task's function
(Spark broadcasts a large one) up to :data:`CLOSURE_BYTES` in all; more than that become a DataFrame of
(index, pickled item) rows repartitioned over the tasks (a shuffle). Either way, one Spark job per call. The
engine's ports (:data:`SPARK_PORTS`) point at the Spark implementations in this package, imported on first use.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import pyarrow as pa

from lakeshrink.engine import Engine
from lakeshrink.spark_ext.session import active_session, get_spark_session, import_pyspark, is_connect, parallelism, setting

T = TypeVar("T")
R = TypeVar("R")

SPARK_PORTS: Mapping[str, str] = {
    "containment.verify": "lakeshrink.spark_ext.containment:SparkVerifier",
    "containment.catalog": "lakeshrink.spark_ext.containment:SparkCatalogReader",
    "containment.rebuild": "lakeshrink.spark_ext.planner:SparkRebuilder",
    "encodings.advise": "lakeshrink.spark_ext.encodings:SparkAdvisor",
    "encodings.rewrite": "lakeshrink.spark_ext.encodings:SparkRewriter",
    "logs.compress": "lakeshrink.spark_ext.logs:SparkCompressor",
}
TASKS_PER_CORE = 2  # map() cuts its items into this many tasks per core (bounded by the number of items)
CLOSURE_BYTES = 8 << 20  # map() ships pickled items inside the tasks' function up to this many bytes in all
_ITEMS = pa.schema([("i", pa.int64()), ("item", pa.binary())])
_RESULTS = pa.schema([("i", pa.int64()), ("result", pa.binary())])


def _apply(fn: Callable[[Any], Any]) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            index = batch.column(0)
            results = [pickle.dumps(fn(pickle.loads(item)), protocol=pickle.HIGHEST_PROTOCOL)
                       for item in batch.column(1).to_pylist()]
            yield pa.RecordBatch.from_arrays([index, pa.array(results, pa.binary())], schema=_RESULTS)

    return run


def _apply_chunks(fn: Callable[[Any], Any], chunks: list[list[tuple[int, bytes]]]) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The task function of :meth:`SparkEngine.map` with its items inside: the input rows are chunk numbers."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for chunk in batch.column(0).to_pylist():
                index = [i for i, _ in chunks[chunk]]
                results = [pickle.dumps(fn(pickle.loads(item)), protocol=pickle.HIGHEST_PROTOCOL) for _, item in chunks[chunk]]
                yield pa.RecordBatch.from_arrays([pa.array(index, pa.int64()), pa.array(results, pa.binary())], schema=_RESULTS)

    return run


class SparkEngine(Engine):
    """Runs lakeshrink's core on Spark (classic or Spark Connect).

    Args:
        spark: a SparkSession to use; by default the active one, else a new one.
        master: master URL of a new classic session (``local[2]``, ``spark://host:7077``, ``yarn``...).
        remote: Spark Connect URL of a new Connect session (``sc://host:15002``); not with ``master``.
    """

    name: ClassVar[str] = "spark"
    ports: ClassVar[Mapping[str, str]] = SPARK_PORTS
    isolates_tasks: ClassVar[bool] = True  # Python workers are processes of their own; a crash fails the job

    def __init__(self, spark: Any = None, master: str | None = None, remote: str | None = None):
        import_pyspark()
        self._owned = False
        if spark is None:
            had_active = active_session() is not None
            spark = get_spark_session(master, remote=remote)
            self._owned = not had_active
        self.spark = spark

    @property
    def connect(self) -> bool:
        """Whether the session is a Spark Connect session."""
        return is_connect(self.spark)

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, description: str | None = None) -> list[R]:
        items = list(items)
        if not items:
            return []
        payloads = [pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL) for item in items]
        tasks = min(len(items), parallelism(self.spark) * TASKS_PER_CORE)
        if sum(len(p) for p in payloads) <= CLOSURE_BYTES:
            numbered = list(enumerate(payloads))
            chunks = [numbered[t::tasks] for t in range(tasks)]
            frame = self.spark.range(0, tasks, 1, tasks)
            out = frame.mapInArrow(_apply_chunks(fn, chunks), "i long, result binary").toArrow()
        else:
            frame = self.spark.createDataFrame(pa.table([pa.array(range(len(items)), pa.int64()), pa.array(payloads, pa.binary())],
                                                        schema=_ITEMS))
            out = frame.repartition(tasks).mapInArrow(_apply(fn), "i long, result binary").toArrow()
        order = out.column("i").to_pylist()
        results = out.column("result").to_pylist()
        by_index = dict(zip(order, results))
        return [pickle.loads(by_index[i]) for i in range(len(items))]

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name, "connect": self.connect, "master": setting(self.spark, "spark.master"),
                "spark_version": self.spark.version}

    def close(self) -> None:
        """Stop the session only if this engine started it (never a notebook's or spark-submit's session)."""
        if self._owned:
            self.spark.stop()
            self._owned = False
