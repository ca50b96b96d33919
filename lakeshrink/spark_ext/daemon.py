"""A PySpark daemon that imports lakeshrink's task modules once, before it forks any Python worker.

Spark starts one daemon per executor (``python -m pyspark.daemon``) and forks a worker from it for each task,
or keeps the workers and reuses them (``spark.python.worker.reuse``, true by default). A reused worker keeps
the peak of every task it ran: on the 10,000-table lake the two idle workers of ``local[2]`` held 1.2 GiB at the
end of the containment scan's stage 3, and 1.8 GiB in stage 4, where a task's own working set is about half of
that. A worker that ends with its task gives everything back, but then every task imports pyarrow, numpy and
lakeshrink again (about 0.4 s of CPU each, over a thousand tasks at that scale). With this module as the
daemon, each forked worker starts with those imports done, shared with the daemon until written to:

    spark.python.daemon.module=lakeshrink.spark_ext.daemon
    spark.python.worker.reuse=false

Both are settings of a deployment (docs/containment.md, "Settings for a scan of thousands of tables on one small
machine"), never set by lakeshrink: on a cluster with memory to spare, reused workers are faster.

What runs before the fork: no thread pool does work. Arrow's compute pool starts on first use (in the worker,
after the fork); OpenBLAS, which numpy starts at import, is told to use one thread. The imports leave pyarrow's
jemalloc idle (its fork handlers keep its locks consistent in the child).

**polars is not preloaded**, nor any lakeshrink module that imports it (:data:`NOT_PRELOADED`): a worker forked
from a daemon that had imported polars ran the scan's stage-4 join (``verify.decided``, polars) markedly slower
than one that imported polars itself. Round 11, 16-48 decide-like tasks (900,000 fingerprint rows against 2.2
million pairs) on ``local[2]``, alternating runs on a noisy machine: a task's join took 4.3-5.8 s (median of a run;
5 runs) with polars preloaded, 2.5-4.1 s without (5 runs), 3.1-5.8 s in reused workers (5 runs). Each task then imports polars and the scan's modules itself (about 0.2
s of CPU), which is cheaper. (Why was not established; one difference: polars'
allocator, jemalloc with a background purging thread, is then set up in the daemon, and threads do not survive a
fork.)
"""

from __future__ import annotations

import gc
import os

PRELOADED = (
    "pyspark.worker",
    "pyspark.sql.pandas.serializers",
    "pyspark.sql.worker.utils",
    "numpy",
    "pyarrow",
    "pyarrow.compute",
    "pyarrow.parquet",
)

#: Imported by a task, never by the daemon (see the module's docstring).
NOT_PRELOADED = ("polars",)


def preload() -> None:
    """Import :data:`PRELOADED` (a module that cannot be imported is left to the task, which reports it); none
    of them imports :data:`NOT_PRELOADED`."""
    import importlib

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    for name in PRELOADED:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    gc.freeze()  # the collector of a forked worker then never walks (and so copies) the daemon's objects


if __name__ == "__main__":
    preload()
    from pyspark.daemon import manager

    manager()
