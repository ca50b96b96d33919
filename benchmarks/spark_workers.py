"""How PySpark's Python workers run the containment scan's stage-4 join: reused, or forked for each task.

Runs ``--tasks`` decide-like tasks on ``local[2]`` (each: 900,000 random fingerprint rows joined by
``verify.decided`` against 2.2 million pairs carried in the task's function, as stage 4's decide tasks carry
theirs) and prints, per run, the wall time, the median seconds of a task's join, the workers' peak resident memory
(the daemon and its workers, summed: shared pages counted in each) and the whole tree's proportional set size
(``benchmarks/procmem.py``). Workers:

    reuse     Spark's default: the workers are kept and reused
    fork      spark.python.worker.reuse=false with lakeshrink.spark_ext.daemon (its PRELOADED imported before the fork)
    preload   spark.python.worker.reuse=false with a daemon that imports --preload (comma-separated modules) first

    python benchmarks/spark_workers.py --workers reuse,fork,preload --preload numpy,pyarrow,polars --rounds 2

Runs alternate (reuse, fork, preload, reuse...), each in its own Spark application: on a shared machine only
figures from the same run compare. Round 11 (docs/containment.md): with polars imported by the daemon a task's
join was markedly slower than when the task imported polars itself.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DAEMON = textwrap.dedent("""
    import gc, importlib, os
    if __name__ == "__main__":
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        for name in filter(None, os.environ.get("LAKESHRINK_PROBE_PRELOAD", "").split(",")):
            importlib.import_module(name)
        gc.freeze()
        from pyspark.daemon import manager
        manager()
""")

RUN = textwrap.dedent("""
    import sys, time
    import numpy as np, pyarrow as pa
    from pyspark.sql import SparkSession
    from benchmarks.procmem import TreeMemory
    from lakeshrink.containment.scan.fingerprints import PAIRS_SCHEMA, ROWS_SCHEMA

    workers, tasks = sys.argv[1], int(sys.argv[2])
    builder = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "4").config("spark.driver.memory", "768m"))
    if workers == "fork":
        builder = builder.config("spark.python.worker.reuse", "false").config("spark.python.daemon.module", "lakeshrink.spark_ext.daemon")
    elif workers == "preload":
        builder = builder.config("spark.python.worker.reuse", "false").config("spark.python.daemon.module", "lakeshrink_probe_daemon")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")

    memory = TreeMemory(interval=0.2, every=1.0)  # the driver, the JVM and the daemon with its workers

    rng = np.random.default_rng(1)
    T, P, N = 6000, 2_200_000, 900_000
    pairs = pa.table([pa.array(np.arange(P, dtype=np.int32)), pa.array(rng.integers(0, 40, P).astype(np.int32)),
                      pa.array(rng.integers(0, T, P).astype(np.int32)), pa.array(rng.integers(0, T, P).astype(np.int32))],
                     schema=PAIRS_SCHEMA)

    def task(pair_rows):
        def run(batches):
            import polars as pl
            from lakeshrink.containment.scan.verify import decided
            seed = [b.column(0)[0].as_py() for b in batches][0]
            r = np.random.default_rng(seed)
            rows = pa.table([pa.array(r.integers(0, 40, N).astype(np.int32)), pa.array(r.integers(0, 2**63, N).astype(np.uint64)),
                             pa.array(r.integers(0, 2**63, N).astype(np.uint64)), pa.array(r.integers(0, T, N).astype(np.int32)),
                             pa.array(np.ones(N, np.int64))], schema=ROWS_SCHEMA)
            start = time.perf_counter()
            n = sum(out.num_rows for out in decided(rows, pl.from_arrow(pair_rows), 1 << 17))
            yield pa.RecordBatch.from_pydict({"n": [n], "join": [time.perf_counter() - start]})
        return run

    start = time.perf_counter()
    with memory.phase("tasks"):
        out = spark.range(0, tasks, 1, tasks).mapInArrow(task(pairs), "n long, join double").toArrow()
    wall = time.perf_counter() - start
    peaks = memory.kinds["tasks"]
    print(f"{workers:8} wall {wall:6.1f} s  join per task (median) {float(np.median(out.column('join').to_numpy())):5.2f} s  "
          f"workers' peak {peaks['workers'] >> 20:5d} MiB (RSS)  tree PSS {peaks.get('pss', 0) >> 20:5d} MiB", flush=True)
    memory.close()
    spark.stop()
""")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="reuse,fork,preload", help="comma-separated: reuse, fork, preload")
    parser.add_argument("--preload", default="numpy,pyarrow,pyarrow.compute,pyarrow.parquet,pyspark.worker",
                        help="modules the 'preload' daemon imports before it forks")
    parser.add_argument("--tasks", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    import tempfile

    with tempfile.TemporaryDirectory() as extra:
        Path(extra, "lakeshrink_probe_daemon.py").write_text(DAEMON)
        env = dict(os.environ, PYSPARK_PYTHON=sys.executable, LAKESHRINK_PROBE_PRELOAD=args.preload,
                   PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), extra, os.environ.get("PYTHONPATH")) if p))
        print(f"load average before: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}", flush=True)
        for _ in range(args.rounds):
            for workers in args.workers.split(","):
                subprocess.run([sys.executable, "-c", RUN, workers, str(args.tasks)], env=env, check=True,
                               stderr=subprocess.DEVNULL)
        print(f"load average after: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
