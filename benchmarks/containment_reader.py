"""One stage-4 reader task of the Spark containment scan, alone: its CPU time, the rows it packs and its memory
above the worker's start, for several ``HOLD_ROWS`` side by side (issue 14).

    python benchmarks/containment_reader.py --scale 3 --max-rows 5000        # a generated lake, in --work
    python benchmarks/containment_reader.py --lake DIR --cache DIR --hold 262144,1048576 --tasks 24 --task 0

Stages 1-3 of the scan run on the local engine (a scan cache of the lake from an earlier scan, ``--cache``,
makes them quick; it is read, and written only for what changed; the edges it holds are not reused), and the
stage-4 plan they give is kept (the scan stops there). Its tables' plans are numbered as the Spark verifier numbers them
(:func:`lakeshrink.spark_ext.containment.table_plans`) and shared round robin over ``--tasks`` reader tasks, as
``over_payloads`` shares them; the share of task ``--task`` is then read by
``lakeshrink.spark_ext.containment._reader(--bits)`` in a new Python process per ``HOLD_ROWS`` value, which
samples its own resident memory every 5 ms and sleeps 20 ms after each packed batch (as if the JVM took it).
Printed per value: CPU seconds, packed rows (Spark rows the shuffle moves) and the peak above the process's
resident memory before the first table. The 10,000-table lake of round 11 (``--scales 100 --max-rows 150000``)
read by 24 tasks into 1,024 buckets (``--bits 10``) is what the numbers in ``_reader``'s docstring come from.

Writes ``benchmarks/results/containment_reader.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


class _Planned(Exception):
    """Raised in place of stage 4 to carry its plan out of the scan."""

    def __init__(self, plan):
        super().__init__("stage 4 planned")
        self.plan = plan


def stage4_plan(lake: Path, cache: Path | None):
    """The stage-4 ``VerifyPlan`` of a local scan of ``lake`` (stages 1-3 run, stage 4 not)."""
    from lakeshrink.containment.scan import run as scan_mod

    def planned(run, plan):
        raise _Planned(plan)

    saved = scan_mod._verify, scan_mod.REUSE_EDGES
    scan_mod._verify, scan_mod.REUSE_EDGES = planned, False  # every pair planned, not only a changed table's
    try:
        scan_mod.scan_lake(str(lake), cache=str(cache) if cache is not None else None)
    except _Planned as done:
        return done.plan
    finally:
        scan_mod._verify, scan_mod.REUSE_EDGES = saved
    return None  # no pair reached stage 4


def _rss() -> int:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(items_path: str, bits: int, hold: int) -> dict:
    """Read one task's tables with ``_reader(bits)`` at ``HOLD_ROWS = hold``, in this (new) process."""
    from lakeshrink.memory import release_memory
    from lakeshrink.spark_ext import containment as sc

    sc.HOLD_ROWS = hold
    with open(items_path, "rb") as f:
        items = pickle.load(f)
    release_memory()
    base = peak = _rss()
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _rss())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    wall, cpu = time.perf_counter(), time.process_time()
    packed = batches = 0
    for batch in sc._reader(bits)(iter(items)):
        packed += batch.num_rows
        batches += 1
        time.sleep(0.02)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    stop.set()
    sampler.join()
    return {"hold_rows": hold, "tables": len(items), "cpu_s": round(cpu, 2), "wall_s": round(wall, 2),
            "packed_rows": packed, "batches": batches, "start_bytes": base, "peak_above_start_bytes": peak - base}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, help="an existing lake (default: generate one in --work)")
    parser.add_argument("--cache", type=Path, help="a scan cache of that lake (stages 1-3 reuse it)")
    parser.add_argument("--scale", type=float, default=3, help="generated lake: lakegen scale (default 3)")
    parser.add_argument("--max-rows", type=int, default=5000, help="generated lake: largest base (default 5000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, help="where a generated lake goes (default: a temporary directory)")
    parser.add_argument("--tasks", type=int, default=24, help="reader tasks the tables are shared over (default 24)")
    parser.add_argument("--task", type=int, default=0, help="the task measured (default 0)")
    parser.add_argument("--bits", type=int, default=10, help="2**bits buckets (default 10: the 10,000-table lake's)")
    parser.add_argument("--hold", default="262144,1048576", help="HOLD_ROWS values, comma-separated")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "containment_reader.json")
    parser.add_argument("--child", nargs=3, metavar=("ITEMS", "BITS", "HOLD"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), int(args.child[2]))))
        return 0
    if not 0 <= args.task < args.tasks:
        parser.error(f"--task must be in 0..{args.tasks - 1}")
    holds = [int(h) for h in args.hold.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        lake = args.lake
        if lake is None:
            from benchmarks.lakegen import generate_lake

            lake = (args.work or Path(scratch)) / f"lake-s{args.scale:g}-r{args.max_rows}-seed{args.seed}"
            generate_lake(lake, scale=args.scale, seed=args.seed, max_rows=args.max_rows)
        start = time.perf_counter()
        plan = stage4_plan(lake, args.cache)
        plan_s = time.perf_counter() - start
        if plan is None or not plan.tables:
            raise SystemExit(f"{lake}: no pair of tables reached stage 4; nothing to read")
        from lakeshrink.spark_ext.containment import table_plans

        payloads = table_plans(plan)
        items = [(i, payloads[i]) for i in range(args.task, len(payloads), args.tasks)]
        items_path = Path(scratch) / "items.pkl"
        with open(items_path, "wb") as f:
            pickle.dump(items, f, protocol=pickle.HIGHEST_PROTOCOL)
        del plan, payloads
        print(f"{lake}: stages 1-3 {plan_s:.1f} s; task {args.task} of {args.tasks}: {len(items)} tables; "
              f"{1 << args.bits} buckets")
        rows = []
        for hold in holds:
            out = subprocess.run([sys.executable, __file__, "--child", str(items_path), str(args.bits), str(hold)],
                                 capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(HERE.parent)})
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"  HOLD_ROWS {hold:>9,}: cpu {row['cpu_s']:6.1f} s  packed rows {row['packed_rows']:>9,}  "
                  f"peak above start {row['peak_above_start_bytes'] / 1e6:7.1f} MB")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"lake": str(lake), "tasks": args.tasks, "task": args.task, "bits": args.bits,
                                    "stages_1_3_seconds": round(plan_s, 1), "runs": rows,
                                    "load_average": os.getloadavg()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
