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

What runs before the fork: no thread pool does work. Arrow's and polars' compute pools start on first use (in the
worker, after the fork); OpenBLAS, which numpy starts at import, is told to use one thread. The imports do leave
idle threads: jemalloc's background purgers (pyarrow's and polars' allocators; jemalloc's fork handlers keep its
locks consistent in the child) and polars' out-of-core cleaner, absent in the child (the scan's tasks do not run
polars' out-of-core engine).
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
    "lakeshrink.containment.scan.fused",
    "lakeshrink.containment.scan.verify",
    "lakeshrink.spark_ext.containment",
    "pyarrow.dataset",  # a directory (Hive-partitioned) table's reader; it imports pandas
)
# What a task imports only for some tables, when installed: an Iceberg table's footer and read need pyiceberg
# (0.38 s of CPU in a forked worker; on the 10,000-table lake, 169 Iceberg tables touch most of stage 1's and 3's
# 160-odd tasks each). Not deltalake: its import starts a thread (a runtime a forked child would not have), and
# it costs the task 0.01 s.
IF_INSTALLED = (
    "pyiceberg.table",
    "pyiceberg.manifest",
    "pyiceberg.io.pyarrow",
    "pyiceberg.expressions",
)


def preload() -> None:
    """Import :data:`PRELOADED` and :data:`IF_INSTALLED` (a module that cannot be imported is left to the task,
    which reports it)."""
    import importlib

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    for name in PRELOADED + IF_INSTALLED:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    gc.freeze()  # the collector of a forked worker then never walks (and so copies) the daemon's objects


if __name__ == "__main__":
    preload()
    from pyspark.daemon import manager

    manager()
