"""What reading footers in isolated child processes costs (issue 9, case 6), beside reading them in-process.

    python -m benchmarks.footers --tables 2000

Writes ``--tables`` small Parquet tables (a few columns, two row groups) under ``benchmarks/.cache/footers``, then
reads every footer the way stage 1 of the scan does: in this process (the anchor, which a corrupt footer can
abort) and through :func:`lakeshrink.containment.scan.footer_guard.read_footers` (a reused child process, batches of
64). Each is run ``--repeat`` times; the best time is kept. Prints both and their ratio; writes
``benchmarks/results/footers.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lakeshrink import progress
from lakeshrink.containment.scan.footer_guard import read_footers
from lakeshrink.containment.scan.footers import FooterTask, read_footer
from lakeshrink.containment.lake import discover
from lakeshrink.engine import LocalEngine

CACHE = Path(__file__).resolve().parent / ".cache" / "footers"
RESULTS = Path(__file__).resolve().parent / "results"


def make_lake(n: int) -> Path:
    root = CACHE / f"lake-{n}"
    if (root / "done").exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        t = pa.table({"id": list(range(i, i + 200)), "name": [f"n{j % 13}" for j in range(200)],
                      "x": [j * 0.5 for j in range(200)]})
        pq.write_table(t, root / f"t{i:05d}.parquet", row_group_size=100)
    (root / "done").write_text("")
    return root


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    progress.set_enabled(False)
    root = make_lake(args.tables)
    lake = discover(root)
    tasks = [FooterTask(str(root), ref) for ref in lake.tables]
    engine = LocalEngine()
    in_process = best(lambda: [read_footer(t) for t in tasks], args.repeat)
    isolated = best(lambda: read_footers(engine, tasks, description="footers"), args.repeat)
    ok = sum(f.error is None for f in read_footers(engine, tasks, description="footers"))
    report = {"tables": len(tasks), "read_ok": ok, "in_process_seconds": round(in_process, 3),
              "isolated_seconds": round(isolated, 3), "ratio_isolated_to_in_process": round(isolated / in_process, 2),
              "isolated_ms_per_table": round(1000 * isolated / len(tasks), 3)}
    print(f"{len(tasks)} tables: in-process {in_process:.2f} s, isolated {isolated:.2f} s "
          f"({report['ratio_isolated_to_in_process']}x, {report['isolated_ms_per_table']} ms per table)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "footers.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
