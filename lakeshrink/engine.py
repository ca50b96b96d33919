"""Execution engines: where lakeshrink's Arrow core runs, and the one place that chooses per-runtime code.

The algorithms of lakeshrink take and return Arrow data. An :class:`Engine` decides where they run:

* ``local`` (default): in this process, on pyarrow and polars, tasks of :meth:`Engine.map` on a few threads (one
  per CPU; ``$LAKESHRINK_LOCAL_WORKERS`` sets how many). No JVM, no cluster.
* ``spark``: the same functions run as tasks of a Spark session (classic, or Spark Connect as on Databricks
  serverless), so one machine's results equal a cluster's. Implemented in :mod:`lakeshrink.spark_ext.engine`,
  imported only when asked for.

**Ports.** Besides :meth:`Engine.map`, a capability may have a few operations whose implementation differs per
runtime (a scan's exact verification, a rebuild, a sampler, a writer...). It declares each as a small protocol
next to its core with a :class:`Port` (e.g. :data:`lakeshrink.codecs.logs.ports.LOG_COMPRESSOR`), and asks the
engine for it: ``engine.port(LOG_COMPRESSOR).compress_files(...)``. Each engine class maps port names to the
dotted path of a factory ``factory(engine) -> implementation`` (:attr:`Engine.ports`), imported only when the port
is first used; the Spark engine's factories live in :mod:`lakeshrink.spark_ext`. Callers never name an engine.

Example:
    >>> from lakeshrink.engine import get_engine
    >>> engine = get_engine("local")
    >>> engine.map(len, ["ab", "cde"])
    [2, 3]
"""

from __future__ import annotations

import importlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

from lakeshrink.errors import EngineUnavailable

T = TypeVar("T")
R = TypeVar("R")
P = TypeVar("P")

EngineName = Literal["local", "spark"]
ENGINE_NAMES: tuple[str, ...] = ("local", "spark")
SPARK_MASTER_ENV = "LAKESHRINK_SPARK_MASTER"
SPARK_REMOTE_ENV = "SPARK_REMOTE"  # pyspark's own variable for a Spark Connect server
LOCAL_WORKERS_ENV = "LAKESHRINK_LOCAL_WORKERS"  # threads the local engine's map runs tasks on (default: the CPUs)

#: Engine classes by name, as dotted paths (imported only when chosen: ``spark`` imports pyspark).
ENGINES: Mapping[str, str] = {
    "local": "lakeshrink.engine:LocalEngine",
    "spark": "lakeshrink.spark_ext.engine:SparkEngine",
}


@dataclass(frozen=True)
class Port(Generic[P]):
    """An operation of a capability that each runtime implements its own way.

    Attributes:
        name: the key engines map to an implementation (``"<capability>.<operation>"``).
        protocol: the :class:`typing.Protocol` implementations satisfy (for readers and type checkers).
        does: what it does, for errors ("rebuild a marked table").
    """

    name: str
    protocol: type[P]
    does: str


def load_object(path: str) -> Any:
    """The object at a dotted path ``"package.module:attribute"``, importing the module now."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


class Engine(ABC):
    """Where lakeshrink's Arrow core runs: :meth:`map` for independent tasks, :meth:`port` for the rest."""

    name: ClassVar[str]
    #: port name -> dotted path of ``factory(engine) -> implementation``
    ports: ClassVar[Mapping[str, str]] = {}
    #: whether each task of :meth:`map` runs in a process of its own, so that a task whose process dies (a native
    #: crash of a reader) fails the call with an exception instead of ending the caller
    isolates_tasks: ClassVar[bool] = False

    @abstractmethod
    def map(self, fn: Callable[[T], R], items: Sequence[T], *, description: str | None = None) -> list[R]:
        """Apply ``fn`` to every item and return the results in input order.

        On Spark each item is a row of a task; ``fn``, the items and the results must be picklable
        (module-level functions and dataclasses).
        """

    def has_port(self, port: Port[Any]) -> bool:
        return port.name in self.ports

    def port(self, port: Port[P]) -> P:
        """This engine's implementation of ``port`` (imported on first use, then kept).

        Raises:
            EngineUnavailable: this engine has no implementation of the port.
        """
        cache: dict[str, Any] = self.__dict__.setdefault("_port_cache", {})
        impl = cache.get(port.name)
        if impl is None:
            path = self.ports.get(port.name)
            if path is None:
                others = [n for n in ENGINE_NAMES if n != self.name]
                raise EngineUnavailable(self.name, f"the {self.name} engine cannot {port.does}",
                                        hint=f"use --engine {' or '.join(others)}" if others else None)
            impl = cache[port.name] = load_object(path)(self)
        return impl

    def describe(self) -> dict[str, Any]:
        """A JSON-able description of the engine (shown by ``lakeshrink --output json`` commands)."""
        return {"engine": self.name}

    def close(self) -> None:
        """Release what the engine holds. Sessions it did not create are left running."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def local_workers() -> int:
    """How many tasks :meth:`LocalEngine.map` runs at once by default: ``$LAKESHRINK_LOCAL_WORKERS``, else the
    number of CPUs this process may use.

    Raises:
        EngineUnavailable: the variable is set to something other than a whole number of at least 1.
    """
    text = os.environ.get(LOCAL_WORKERS_ENV, "").strip()
    if text:
        try:
            count = int(text)
        except ValueError:
            count = 0
        if count < 1:
            raise EngineUnavailable("local", f"${LOCAL_WORKERS_ENV} must be a whole number of at least 1, not {text!r}")
        return count
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class LocalEngine(Engine):
    """Runs everything in this process, on pyarrow and polars; :meth:`map` runs its tasks on ``workers`` threads.

    Threads, not processes: the tasks' hot loops are in pyarrow, polars and numpy kernels, which release the
    GIL, so two threads use two cores (a stage-3 read of a table, say); and a thread sees what the caller
    sees (no pickling, no re-import of the caller's ``__main__``, one copy of the imported libraries in memory).
    Each running task holds its own data, so memory grows with the number of workers, not with the items.

    Args:
        workers: tasks run at once (default :func:`local_workers`); 1 runs them one after another in the
            calling thread.
    """

    name: ClassVar[str] = "local"
    ports: ClassVar[Mapping[str, str]] = {
        "containment.verify": "lakeshrink.containment.scan.verify:LocalVerifier",
        "containment.rebuild": "lakeshrink.containment.planner.recipes:LocalRebuilder",
        "encodings.advise": "lakeshrink.codecs.encodings.advisor:LocalAdvisor",
        "encodings.rewrite": "lakeshrink.codecs.encodings.writer:LocalRewriter",
        "logs.compress": "lakeshrink.codecs.logs.files:LocalCompressor",
    }

    def __init__(self, workers: int | None = None):
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.workers = local_workers() if workers is None else workers

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, description: str | None = None) -> list[R]:
        """Apply ``fn`` to every item on up to :attr:`workers` threads; results in input order.

        If a task raises, no further task starts, the running ones finish, and the first exception (in input
        order among those that failed) is raised with a note naming its item.
        """
        from lakeshrink.progress import progress

        items = list(items)
        workers = min(self.workers, len(items))
        with progress(description or "working", total=len(items)) as bar:
            if workers <= 1:
                results: list[R] = []
                for item in items:
                    results.append(_run(fn, item, description))
                    bar.advance()
                return results
            return _map_threads(fn, items, workers, description, bar.advance)


def _item_name(item: object) -> str:
    text = str(item)
    return text if len(text) <= 200 else text[:197] + "..."


def _run(fn: Callable[[T], R], item: T, description: str | None) -> R:
    try:
        return fn(item)
    except Exception as exc:
        exc.add_note(f"in {description or 'a task'} of the local engine, on {_item_name(item)}")
        raise


def _map_threads(fn: Callable[[T], R], items: list[T], workers: int, description: str | None,
                 advance: Callable[[], None]) -> list[R]:
    """:meth:`LocalEngine.map` on ``workers`` threads (a pool for this call, so nothing outlives it)."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    with ThreadPoolExecutor(workers, thread_name_prefix="lakeshrink-local") as pool:
        futures = [pool.submit(_run, fn, item, description) for item in items]
        # each item counted as it finishes; as_completed waits on every future once (a loop of
        # wait(pending, FIRST_COMPLETED) took all pending futures' locks per finished item: O(items^2), a sixth
        # of the main thread's samples holding the GIL in stage 3 of a 10,000-table scan)
        for done in as_completed(futures):
            advance()
            if not done.cancelled() and done.exception() is not None:
                for f in futures:
                    f.cancel()
                break
        failed = next((f for f in futures if f.done() and not f.cancelled() and f.exception() is not None), None)
        if failed is not None:
            raise failed.exception()
        return [f.result() for f in futures]


def spark_settings(spark_master: str | None = None, spark_remote: str | None = None) -> tuple[str | None, str | None]:
    """The master and the Spark Connect URL to use: the arguments, else ``$LAKESHRINK_SPARK_MASTER`` and
    ``$SPARK_REMOTE``.

    Raises:
        EngineUnavailable: both a master and a remote are set (Spark cannot use both).
    """
    master = spark_master or os.environ.get(SPARK_MASTER_ENV) or None
    remote = spark_remote or os.environ.get(SPARK_REMOTE_ENV) or None
    if master and remote:
        raise EngineUnavailable(
            "spark", f"both a Spark master ({master}) and a Spark Connect server ({remote}) are set; give one",
            hint=f"--spark-master/${SPARK_MASTER_ENV} for a classic session, --spark-remote/${SPARK_REMOTE_ENV} "
                 "for Spark Connect",
        )
    return master, remote


def get_engine(name: str = "local", *, spark_master: str | None = None, spark_remote: str | None = None,
               spark: Any = None) -> Engine:
    """Return the engine called ``name``.

    Args:
        name: ``"local"`` or ``"spark"``.
        spark_master: for ``spark``, the master URL of a new classic session when none is active
            (default: ``$LAKESHRINK_SPARK_MASTER``, else ``local[*]``).
        spark_remote: for ``spark``, a Spark Connect URL (``sc://host:port``, or ``local[N]`` for an in-process
            server) used when no session is active (default: ``$SPARK_REMOTE``).
        spark: for ``spark``, an existing SparkSession (classic or Connect) to use.

    Raises:
        EngineUnavailable: the name is unknown, pyspark is not installed, Java is missing or older than 17, or
            both a master and a remote were given.
    """
    if name not in ENGINES:
        raise EngineUnavailable(name, f"unknown engine {name!r}; expected one of {', '.join(ENGINE_NAMES)}")
    if name == "local":
        return LocalEngine()
    master, remote = spark_settings(spark_master, spark_remote) if spark is None else (None, None)
    return load_object(ENGINES[name])(spark=spark, master=master, remote=remote)
