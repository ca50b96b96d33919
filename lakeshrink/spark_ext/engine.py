"""The Spark engine: the same Arrow core as the local engine, run as tasks of a Spark session.

Everything here uses only what Spark Connect offers too (DataFrames, ``mapInArrow``, ``spark.conf``): no
``sparkContext``, no RDDs, no broadcast variables, no JVM access. So one engine serves a classic session
(spark-submit, ``local[*]``) and a Connect session (Databricks serverless and shared clusters, ``sc://`` URLs).

:meth:`SparkEngine.map` cuts the items into a few tasks per core, or tasks of :data:`TASK_ITEMS` items when
there are many (round robin; :func:`task_count`), and runs them as one stage of one job:
``spark.range(tasks).mapInArrow``, each task unpickling its items, applying the function and returning pickled
results; the driver puts them back in input order. The pickled items travel inside the task's function
(Spark broadcasts a large one) up to :data:`CLOSURE_BYTES` in all; more than that become a DataFrame of
(index, pickled item) rows repartitioned over the tasks (a shuffle; :func:`over_payloads`, also used by the
containment scan's stage 4). Either way, one Spark job per call. The
engine's ports (:data:`SPARK_PORTS`) point at the Spark implementations in this package, imported on first use.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import pyarrow as pa

from lakeshrink.engine import Engine
from lakeshrink.memory import release_memory
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
TASKS_PER_CORE = 2  # map() cuts its items into this many tasks per core (bounded by the number of items)...
TASK_ITEMS = 64  # ...or more tasks, of this many items, when there are many items (see SparkEngine.map)
CLOSURE_BYTES = 8 << 20  # map() ships pickled items inside the tasks' function up to this many bytes in all
BATCH_BYTES = 4 << 20  # a map() task sends its pickled results on in batches of about this many bytes
_ITEMS = pa.schema([("i", pa.int64()), ("item", pa.binary())])
_RESULTS = pa.schema([("i", pa.int64()), ("result", pa.binary())])


def released(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """A task's output batches; when the task ends, the memory it freed goes back to the system. Spark reuses
    its Python workers, which otherwise keep the peak of every task they ran (in pyarrow's pool and glibc's
    heap): on the 10,000-table lake, gigabytes held by idle workers."""
    try:
        yield from batches
    finally:
        release_memory()


def _batched(pairs: Iterable[tuple[int, Any]], fn: Callable[[Any], Any]) -> Iterator[pa.RecordBatch]:
    """``fn`` of each pickled item, pickled, sent on in batches of about :data:`BATCH_BYTES` (never a whole
    task's results at once: on the 10,000-table lake, stage 3's results are gigabytes)."""
    index: list[int] = []
    results: list[bytes] = []
    size = 0
    for i, item in pairs:
        result = pickle.dumps(fn(pickle.loads(item)), protocol=pickle.HIGHEST_PROTOCOL)
        index.append(i)
        results.append(result)
        size += len(result)
        if size >= BATCH_BYTES:
            yield pa.RecordBatch.from_arrays([pa.array(index, pa.int64()), pa.array(results, pa.binary())], schema=_RESULTS)
            index, results, size = [], [], 0
    if index:
        yield pa.RecordBatch.from_arrays([pa.array(index, pa.int64()), pa.array(results, pa.binary())], schema=_RESULTS)


def over_payloads(spark: Any, payloads: Sequence[bytes], run: Callable[[Iterator[tuple[int, bytes]]], Iterator[pa.RecordBatch]],
                  schema: str, tasks: int) -> Any:
    """A DataFrame of what ``run`` yields over numbered ``payloads`` (``(index, bytes)`` pairs), cut into ``tasks``
    tasks round robin; each task gets only its own payloads to work on. They travel inside the tasks' function
    (Spark broadcasts a large one) up to :data:`CLOSURE_BYTES` in all, else as a DataFrame of (index, payload)
    rows repartitioned over the tasks (a shuffle). No job runs until the DataFrame is collected. Each task gives
    the memory it freed back when it ends (:func:`released`)."""
    if sum(len(p) for p in payloads) <= CLOSURE_BYTES:
        numbered = list(enumerate(payloads))
        chunks = [numbered[t::tasks] for t in range(tasks)]

        def inside(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                for chunk in batch.column(0).to_pylist():
                    yield from run(iter(chunks[chunk]))

        return spark.range(0, tasks, 1, tasks).mapInArrow(lambda batches: released(inside(batches)), schema)

    def rows(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield from run(zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()))

    frame = spark.createDataFrame(pa.table([pa.array(range(len(payloads)), pa.int64()), pa.array(payloads, pa.binary())], schema=_ITEMS))
    return frame.repartition(tasks).mapInArrow(lambda batches: released(rows(batches)), schema)


RELEASE_BYTES = 256 << 20  # _unpickled gives freed memory back to the system after about this many pickled bytes


def _unpickled(batches: list[pa.RecordBatch], count: int) -> list[Any]:
    """The results of :meth:`SparkEngine.map` in input order. ``batches`` is emptied as it goes, each batch
    released once unpickled, and the freed memory given back every :data:`RELEASE_BYTES`: the pickled and the
    unpickled results are never all held at once, nor the memory they freed."""
    results: list[Any] = [None] * count
    freed = 0
    while batches:
        batch = batches.pop()
        for i, blob in zip(batch.column(0).to_pylist(), batch.column(1)):
            results[i] = pickle.loads(blob.as_buffer())
        freed += batch.nbytes
        batch = blob = None
        if freed >= RELEASE_BYTES or not batches:
            release_memory()
            freed = 0
    return results


def task_count(items: int, cores: int) -> int:
    """How many tasks :meth:`SparkEngine.map` cuts ``items`` into: :data:`TASKS_PER_CORE` per core, or tasks of
    :data:`TASK_ITEMS` items when that makes more. Spark collects each task's results whole in the driver's JVM
    (``collectAsArrowToPython`` keeps each partition's Arrow batches as one array), so a task's results must be
    small: with 4 tasks for 10,000 tables, stage 3's results grew the driver JVM to 3.0 GiB."""
    return min(items, max(cores * TASKS_PER_CORE, -(-items // TASK_ITEMS)))


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
        out = over_payloads(self.spark, payloads, lambda pairs: _batched(pairs, fn), "i long, result binary",
                            task_count(len(items), parallelism(self.spark)))
        return _unpickled(out.toArrow().to_batches(), len(items))

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name, "connect": self.connect, "master": setting(self.spark, "spark.master"),
                "spark_version": self.spark.version}

    def close(self) -> None:
        """Stop the session only if this engine started it (never a notebook's or spark-submit's session)."""
        if self._owned:
            self.spark.stop()
            self._owned = False
