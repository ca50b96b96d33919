"""Execution engines: where lakeshrink's Arrow core runs.

The algorithms of lakeshrink take and return Arrow data. An :class:`Engine` decides where they run:

* ``local`` (default): in this process, on pyarrow and polars. No JVM, no cluster.
* ``spark``: the same functions run per partition on a Spark cluster (or a local Spark), so one machine's
  results equal a cluster's. Implemented in :mod:`lakeshrink.spark_ext.engine`, imported only when asked for.

Example:
    >>> from lakeshrink.engine import get_engine
    >>> engine = get_engine("local")
    >>> engine.map(len, ["ab", "cde"])
    [2, 3]
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal, TypeVar

from lakeshrink.errors import EngineUnavailable
from lakeshrink.progress import progress

T = TypeVar("T")
R = TypeVar("R")

EngineName = Literal["local", "spark"]
ENGINE_NAMES: tuple[str, ...] = ("local", "spark")
SPARK_MASTER_ENV = "LAKESHRINK_SPARK_MASTER"


class Engine(ABC):
    """Where lakeshrink's Arrow core runs. Capabilities may add engine-specific paths in their own modules."""

    name: ClassVar[str]

    @abstractmethod
    def map(self, fn: Callable[[T], R], items: Sequence[T], *, description: str | None = None) -> list[R]:
        """Apply ``fn`` to every item and return the results in input order.

        On Spark each item is a task; ``fn`` and the items must be picklable (module-level functions).
        """

    def describe(self) -> dict[str, Any]:
        """A JSON-able description of the engine (shown by ``lakeshrink --output json`` commands)."""
        return {"engine": self.name}

    def close(self) -> None:
        """Release what the engine holds. Sessions it did not create are left running."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalEngine(Engine):
    """Runs everything in this process, one item after another, on pyarrow and polars."""

    name: ClassVar[str] = "local"

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, description: str | None = None) -> list[R]:
        results: list[R] = []
        with progress(description or "working", total=len(items)) as bar:
            for item in items:
                results.append(fn(item))
                bar.advance()
        return results


def get_engine(name: str = "local", *, spark_master: str | None = None, spark: Any = None) -> Engine:
    """Return the engine called ``name``.

    Args:
        name: ``"local"`` or ``"spark"``.
        spark_master: for ``spark``, the master URL used when no SparkSession is active
            (default: ``$LAKESHRINK_SPARK_MASTER``, else ``local[*]``).
        spark: for ``spark``, an existing SparkSession to use.

    Raises:
        EngineUnavailable: the name is unknown, pyspark is not installed, or Java is missing or older than 17.
    """
    if name == "local":
        return LocalEngine()
    if name == "spark":
        from lakeshrink.spark_ext.engine import SparkEngine  # imports pyspark lazily

        master = spark_master or os.environ.get(SPARK_MASTER_ENV) or None
        return SparkEngine(spark=spark, master=master)
    raise EngineUnavailable(name, f"unknown engine {name!r}; expected one of {', '.join(ENGINE_NAMES)}")
