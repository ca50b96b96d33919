"""Stages 1-2 of the containment scan on a lake of many tiny synthetic tables (issue 14: 100,000 tables).

Only footers matter to stages 1 (schema graph) and 2 (min-max), so the tables are tiny: ``--tables`` Parquet
files in families of ``--family`` tables. A family draws a schema of 4-12 columns from a pool of column names and
types, and value ranges; each member keeps all the columns or a random subset, and a random slice of the range,
so the schema graph has real candidates within families (and a few across) and min-max prunes some of them.

The stages run through the scan's own functions (discovery, ``read_footers`` on the local engine: footers read
in the crash-isolated child process, as the scan does; ``candidate_parents``, ``minmax_prune_candidates``) and each is
timed, with its peak memory (process tree) and the load average of the machine beside it.

Usage::

    python benchmarks/containment_footers.py --tables 100000

Writes ``benchmarks/results/containment_footers.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.procmem import TreeMemory  # noqa: E402
from lakeshrink.containment.scan.footer_guard import read_footers  # noqa: E402
from lakeshrink.containment.scan.footers import FooterTask  # noqa: E402
from lakeshrink.containment.lake import discover  # noqa: E402
from lakeshrink.containment.scan.minmax import minmax_prune_candidates  # noqa: E402
from lakeshrink.containment.scan.schema_graph import candidate_parents  # noqa: E402
from lakeshrink.engine import get_engine  # noqa: E402

TYPES = (pa.int64(), pa.int32(), pa.float64(), pa.string())


def generate(root: Path, tables: int, family: int, seed: int) -> int:
    """Write the tiny tables; returns their total bytes."""
    if root.exists():
        shutil.rmtree(root)
    rng = np.random.default_rng(seed)
    pool = [(f"c{i}", TYPES[i % len(TYPES)]) for i in range(2000)]
    total, written = 0, 0
    while written < tables:
        width = int(rng.integers(4, 13))
        columns = [pool[i] for i in rng.choice(len(pool), size=width, replace=False)]
        lo = int(rng.integers(0, 1000))
        for _ in range(min(family, tables - written)):
            keep = columns if rng.random() < 0.5 else [columns[i] for i in sorted(rng.choice(width, size=int(rng.integers(1, width + 1)), replace=False))]
            n = int(rng.integers(3, 12))
            start = lo + int(rng.integers(0, 50))
            values = np.arange(start, start + n)
            arrays = {}
            for name, t in keep:
                if t == pa.string():
                    arrays[name] = pa.array([f"v{v:06d}" for v in values])
                elif pa.types.is_floating(t):
                    arrays[name] = pa.array(values / 2.0)
                else:
                    arrays[name] = pa.array(values, type=t)
            path = root / f"d{written // 1000:04d}" / f"t{written:06d}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.table(arrays), path)
            total += path.stat().st_size
            written += 1
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=100_000)
    parser.add_argument("--family", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--types", choices=("exact", "compatible"), default="exact")
    parser.add_argument("--work", type=Path, default=HERE / ".cache" / "containment_footers")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "containment_footers.json")
    args = parser.parse_args(argv)
    from lakeshrink import progress

    progress.set_enabled(False)
    memory = TreeMemory()
    root = args.work / f"tiny-{args.tables}-f{args.family}-seed{args.seed}"
    start = time.perf_counter()
    lake_bytes = generate(root, args.tables, args.family, args.seed)
    generated = time.perf_counter() - start
    timings: dict[str, float] = {}

    def timed(name, fn):
        begin = time.perf_counter()
        with memory.phase(name):
            out = fn()
        timings[name] = round(time.perf_counter() - begin, 2)
        return out

    lake = timed("discover", lambda: discover(root))
    engine = get_engine("local")
    tasks = [FooterTask(lake.root, t) for t in lake.tables]
    footers = timed("footers", lambda: read_footers(engine, tasks, description="footers"))
    by_id = {f.table: f for f in footers if f.error is None}
    pairs = timed("schema graph", lambda: candidate_parents({t: f.schema for t, f in by_id.items()}, args.types))
    kept = timed("minmax", lambda: minmax_prune_candidates(pairs, by_id)[0])
    memory.close()
    n = len(by_id)
    stages_1_2 = timings["discover"] + timings["footers"] + timings["schema graph"] + timings["minmax"]
    doc = {
        "benchmark": "containment_footers", "command": " ".join(sys.argv), "tables": n, "lake_bytes": lake_bytes,
        "generate_seconds": round(generated, 1), "seconds": timings, "stages_1_2_seconds": round(stages_1_2, 2),
        "footer_bytes": sum(f.footer_bytes for f in by_id.values()), "schema_pairs_in": n * (n - 1),
        "schema_pairs_out": len(pairs), "minmax_pairs_out": len(kept),
        "peak_memory_bytes": {k: v for k, v in memory.peaks.items()}, "overall_peak_memory_bytes": memory.overall,
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(doc, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
