"""Benchmark of the containment scan against brute force on generated lakes (issue 4).

For each scale: generate a lake (:mod:`lakegen`), compute the ground truth by brute force (every
schema-compatible ordered pair decided by an exact polars anti-join, all tables held in memory), run the
pipeline on the same lake in the same process, and report precision, recall, candidate pairs after each stage,
bytes read by each stage against the lake's size, and the wall-time ratio brute force / pipeline.

The pipeline reports a pair only after stage 4 verified it, so every true pair it reports passed stages 1-3:
recall 1.0 means no stage dropped a true pair (stage 3's recall included).

Usage::

    python benchmarks/containment.py --scales 0.5,2,5 --max-rows 20000 --types exact
    python benchmarks/containment.py --scales 100 --max-rows 300000 --no-brute-force   # ~10,000 tables, ~5 GB

Writes ``benchmarks/results/containment.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.lakegen import brute_force, generate_lake  # noqa: E402
from lakeshrink.containment.scan import scan_lake  # noqa: E402


def run_scale(scale: float, *, max_rows: int, seed: int, types: str, work: Path, brute: bool, engine: str) -> dict:
    lake_dir = work / f"lake-s{scale:g}-r{max_rows}-seed{seed}"
    start = time.perf_counter()
    lake = generate_lake(lake_dir, scale=scale, seed=seed, max_rows=max_rows)
    generated = time.perf_counter() - start
    start = time.perf_counter()
    result = scan_lake(lake.root, engine=engine, types=types)
    pipeline_seconds = time.perf_counter() - start
    row: dict = {
        "scale": scale,
        "max_rows": max_rows,
        "seed": seed,
        "types": types,
        "engine": engine,
        "tables": result.tables,
        "lake_bytes": lake.bytes,
        "generate_seconds": round(generated, 2),
        "pipeline_seconds": round(pipeline_seconds, 3),
        "edges": len(result.edges),
        "reduction": len(result.reduction),
        "skipped": len(result.skipped),
        "stages": [
            {
                "name": s.name,
                "pairs_in": s.pairs_in,
                "pairs_out": s.pairs_out,
                "seconds": s.seconds,
                "footer_bytes": s.footer_bytes,
                "data_bytes": s.data_bytes,
                "bytes_vs_lake": round(s.bytes_read / lake.bytes, 4) if lake.bytes else None,
            }
            for s in result.stages
        ],
    }
    if brute:
        truth = brute_force(lake.root, types=types)
        found = {(e.child, e.parent) for e in result.edges}
        true_positive = len(found & truth.edges)
        multiset_ok = {(e.child, e.parent) for e in result.edges if e.multiset_contained} == truth.multiset
        row.update(
            brute_force_seconds=round(truth.seconds, 3),
            brute_force_pairs=truth.pairs_checked,
            true_edges=len(truth.edges),
            precision=round(true_positive / len(found), 4) if found else 1.0,
            recall=round(true_positive / len(truth.edges), 4) if truth.edges else 1.0,
            # every reported pair passed stages 1-3, so these are the true pairs a pruning stage dropped
            true_pairs_dropped=len(truth.edges - found),
            wrong_pairs_reported=len(found - truth.edges),
            multiset_flags_correct=multiset_ok,
            speedup=round(truth.seconds / pipeline_seconds, 2),
        )
    return row


def print_table(rows: list[dict]) -> None:
    header = f"{'scale':>6} {'tables':>7} {'lake MB':>8} {'edges':>6} {'prec':>5} {'recall':>6} {'brute s':>8} {'pipe s':>7} {'speedup':>7}"
    print(header)
    for r in rows:
        print(
            f"{r['scale']:>6g} {r['tables']:>7} {r['lake_bytes'] / 1e6:>8.1f} {r['edges']:>6} "
            f"{r.get('precision', '-')!s:>5} {r.get('recall', '-')!s:>6} {r.get('brute_force_seconds', '-')!s:>8} "
            f"{r['pipeline_seconds']:>7} {r.get('speedup', '-')!s:>7}"
        )
    print()
    print(f"{'scale':>6} {'stage':>7} {'pairs in':>10} {'pairs out':>10} {'seconds':>8} {'footer MB':>10} {'data MB':>9} {'read/lake':>9}")
    for r in rows:
        for s in r["stages"]:
            print(
                f"{r['scale']:>6g} {s['name']:>7} {s['pairs_in']:>10} {s['pairs_out']:>10} {s['seconds']:>8.2f} "
                f"{s['footer_bytes'] / 1e6:>10.2f} {s['data_bytes'] / 1e6:>9.2f} {s['bytes_vs_lake']!s:>9}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="0.5,2", help="comma-separated lake scales (1 = 7 families, ~100 tables)")
    parser.add_argument("--max-rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--types", choices=("exact", "compatible"), default="exact")
    parser.add_argument("--engine", choices=("local", "spark"), default="local")
    parser.add_argument("--work", type=Path, default=HERE / ".cache" / "containment")
    parser.add_argument("--no-brute-force", dest="brute", action="store_false")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "containment.json")
    args = parser.parse_args(argv)
    rows = []
    for scale in (float(s) for s in args.scales.split(",")):
        rows.append(
            run_scale(scale, max_rows=args.max_rows, seed=args.seed, types=args.types, work=args.work, brute=args.brute, engine=args.engine)
        )
        print(f"scale {scale:g} done", file=sys.stderr)
    print_table(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "containment", "command": " ".join(sys.argv), "runs": rows}, indent=2) + "\n")
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
