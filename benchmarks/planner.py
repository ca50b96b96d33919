"""Benchmark of the deletion planner: a generated lake end to end, and solver time on synthetic graphs.

Part 1, on the containment benchmark's lake (``benchmarks/lakegen.py``): scan, plan (MILP and greedy side by
side on the same problem), then rebuild every marked table from its recipe, timing it (MB/s of parent read) and
checking every rebuild's row checksum. The access profile is seeded: most tables cold (0 reads a month), some
warm (1-50 reads a month), a few with a tight latency bound, so both the cost and the bound constraints bite.

Part 2, on synthetic containment graphs (:func:`lakeshrink.containment.planner.solver.synthetic_problem`): time of the
``auto`` solver (what ``plan`` uses), of greedy and of the MILP on the same graph, at 10,000 and 100,000 tables,
for sparse (families of up to 12 tables) and dense (families of up to 200) graphs; plus the MILP's time against
its size, from which the ``auto`` size limit (``MILP_MAX_EDGES``) was chosen.

Usage::

    python benchmarks/planner.py                       # scale 1 lake, graphs of 10k and 100k tables
    python benchmarks/planner.py --scale 3 --gx        # bigger lake; audit with Great Expectations
    python benchmarks/planner.py --sizes 10000 --skip-lake

Prints tables and writes ``benchmarks/results/planner.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lakeshrink.containment.planner.solver import MILP_MAX_EDGES, solve, solve_greedy, solve_milp, synthetic_problem  # noqa: E402


def _table(title: str, header: list[str], rows: list[list[object]]) -> None:
    cells = [header] + [[f"{c:,.3f}" if isinstance(c, float) else f"{c:,}" if isinstance(c, int) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for i, r in enumerate(cells):
        print("  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)))
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))


def bench_lake(scale: float, seed: int, gx: bool, work: Path, max_rows: int = 20_000) -> dict:
    try:
        from benchmarks.lakegen import generate_lake
    except ImportError as exc:  # pragma: no cover - the generator is part of the repository
        raise SystemExit(f"benchmarks/lakegen.py is needed for the lake part ({exc}); use --skip-lake") from exc
    from lakeshrink.containment.planner.plan import PlanOptions, load_plan, make_plan
    from lakeshrink.containment.planner.recipes import write_rebuild
    from lakeshrink.containment.scan import scan_lake
    from lakeshrink.errors import LakeshrinkError

    t0 = time.perf_counter()
    lake = generate_lake(work / "lake", scale=scale, seed=seed, max_rows=max_rows)
    gen_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    scan = scan_lake(lake.root)
    scan.save(work / "scan")
    scan_s = time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    lines = ["table,reads_per_month,max_rebuild_seconds"]
    for t in scan.table_details:
        roll = rng.random()
        if roll < 0.7:
            lines.append(f"{t.table},0,")
        elif roll < 0.9:
            lines.append(f"{t.table},{rng.uniform(1, 50):.2f},")
        else:
            lines.append(f"{t.table},0,0.5")
    access = work / "access.csv"
    access.write_text("\n".join(lines) + "\n")
    t0 = time.perf_counter()
    plan = make_plan(work / "scan", work / "plan", access=access, options=PlanOptions(gx=gx))
    plan_s = time.perf_counter() - t0
    loaded = load_plan(work / "plan")
    parent_bytes = child_bytes = 0
    rebuild_s = 0.0
    matches = mismatches = 0
    kinds: dict[str, int] = {}
    largest = (0, 0.0)
    for m in plan.marked:
        recipe = loaded.recipe(m.table)
        kinds[recipe.selector.kind] = kinds.get(recipe.selector.kind, 0) + 1
        t0 = time.perf_counter()
        try:
            write_rebuild(recipe, plan.lake, work / "rebuilt.parquet")
            matches += 1
        except LakeshrinkError as exc:
            mismatches += 1
            print(f"  rebuild of {m.table} failed: {exc}", file=sys.stderr)
        took = time.perf_counter() - t0
        rebuild_s += took
        if recipe.parent_state.bytes > largest[0]:
            largest = (recipe.parent_state.bytes, took)
        parent_bytes += recipe.parent_state.bytes
        child_bytes += m.bytes
    by = {c.solver: c for c in plan.comparison}
    result = {
        "scale": scale, "seed": seed, "max_rows": max_rows, "tables": scan.tables, "edges": len(scan.edges), "lake_bytes": plan.bytes_total,
        "generate_s": gen_s, "scan_s": scan_s, "plan_s": plan_s, "audit": plan.audit_tool,
        "marked": len(plan.marked), "bytes_marked": plan.bytes_saved,
        "saved_share": plan.bytes_saved / plan.bytes_total if plan.bytes_total else 0.0,
        "solver": plan.solver, "milp_net_saving": by["milp"].net_saving if "milp" in by else None,
        "milp_s": by["milp"].seconds if "milp" in by else None,
        "greedy_net_saving": by["greedy"].net_saving if "greedy" in by else None,
        "greedy_s": by["greedy"].seconds if "greedy" in by else None,
        "greedy_bytes": by["greedy"].bytes_saved if "greedy" in by else None,
        "rejected": len(plan.rejected), "selectors": kinds,
        "rebuilds": matches + mismatches, "checksum_matches": matches, "checksum_mismatches": mismatches,
        "rebuild_s": rebuild_s, "rebuild_parent_mb_s": parent_bytes / rebuild_s / 1e6 if rebuild_s else None,
        "rebuild_child_mb_s": child_bytes / rebuild_s / 1e6 if rebuild_s else None,
        "throughput_model_mb_s": (plan.cost_model.throughput_bytes_per_s or 0) / 1e6,
        "largest_parent_bytes": largest[0], "largest_rebuild_mb_s": largest[0] / largest[1] / 1e6 if largest[1] else None,
    }
    _table(f"lake (lakegen scale={scale}, seed={seed}, max_rows={max_rows}): {scan.tables} tables, {len(scan.edges)} edges, {plan.bytes_total:,} bytes",
           ["measure", "value"],
           [["tables marked", len(plan.marked)], ["bytes marked = saved", plan.bytes_saved],
            ["share of lake", f"{result['saved_share']:.1%}"], ["solver used", plan.solver],
            ["MILP net saving (USD/month)", f"{result['milp_net_saving']:.6g}"], ["MILP seconds", f"{result['milp_s']:.4f}"],
            ["greedy net saving (USD/month)", f"{result['greedy_net_saving']:.6g}"], ["greedy seconds", f"{result['greedy_s']:.4f}"],
            ["greedy / MILP net saving", f"{result['greedy_net_saving'] / result['milp_net_saving']:.4f}" if result["milp_net_saving"] else "-"],
            ["edges rejected (partial columns, recipe or audit)", len(plan.rejected)], ["row selectors", json.dumps(kinds)],
            ["rebuilds / checksum matches", f"{matches + mismatches} / {matches}"],
            ["rebuild throughput (MB/s of parent read)", f"{result['rebuild_parent_mb_s']:.1f}" if rebuild_s else "-"],
            ["rebuild throughput (MB/s of table written)", f"{result['rebuild_child_mb_s']:.1f}" if rebuild_s else "-"],
            [f"rebuild from the largest parent ({largest[0]:,} bytes), MB/s", f"{result['largest_rebuild_mb_s']:.1f}" if largest[1] else "-"],
            ["measured engine throughput in the cost model (MB/s)", f"{result['throughput_model_mb_s']:.1f}"],
            ["scan / plan seconds", f"{scan_s:.1f} / {plan_s:.1f} ({plan.audit_tool} audit)"]])
    return result


def bench_graphs(sizes: list[int], milp_limit: float) -> list[dict]:
    rows = []
    out = []
    for n in sizes:
        for shape, kwargs in (("sparse", {"edges_per_table": 2, "max_family": 12}), ("dense", {"edges_per_table": 6, "max_family": 200})):
            problem = synthetic_problem(n, seed=n, **kwargs)
            usable = len(problem.usable)
            auto = solve(problem)
            greedy = solve_greedy(problem)
            exact = solve_milp(problem, time_limit=milp_limit)
            rec = {"tables": n, "shape": shape, "edges": len(problem.child), "usable_edges": usable,
                   "auto_solver": auto.solver, "auto_s": auto.seconds, "greedy_s": greedy.seconds, "milp_s": exact.seconds,
                   "milp_optimal": exact.optimal, "greedy_over_milp": greedy.net_saving / exact.net_saving if exact.net_saving else None,
                   "milp_note": exact.note}
            out.append(rec)
            rows.append([n, shape, usable, auto.solver, auto.seconds, greedy.seconds, exact.seconds,
                         "yes" if exact.optimal else "no", f"{rec['greedy_over_milp']:.4f}"])
    _table(f"synthetic containment graphs (auto = MILP up to {MILP_MAX_EDGES:,} usable edges, else greedy; MILP limit {milp_limit:g} s)",
           ["tables", "shape", "usable edges", "auto uses", "auto s", "greedy s", "MILP s", "MILP optimal", "greedy/MILP saving"], rows)
    return out


def bench_limit(sizes: list[int]) -> list[dict]:
    out, rows = [], []
    for n in sizes:
        problem = synthetic_problem(n, seed=n + 1, edges_per_table=6, max_family=200)
        exact = solve_milp(problem, time_limit=120)
        out.append({"tables": n, "usable_edges": len(problem.usable), "milp_s": exact.seconds, "optimal": exact.optimal})
        rows.append([n, len(problem.usable), exact.seconds, "yes" if exact.optimal else "no"])
    _table("MILP time against size (dense graphs): where the auto limit comes from", ["tables", "usable edges", "MILP s", "optimal"], rows)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="lakegen scale (1: about 100 tables)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-rows", type=int, default=20_000, help="lakegen's largest base sample (rows)")
    parser.add_argument("--gx", action="store_true", help="audit with Great Expectations (default: row count + checksum)")
    parser.add_argument("--sizes", default="10000,100000", help="synthetic graph sizes (tables), comma-separated")
    parser.add_argument("--limit-sizes", default="1000,3000,10000,30000", help="sizes for the MILP-time-vs-size table")
    parser.add_argument("--milp-limit", type=float, default=120.0, help="MILP time limit for the side-by-side runs (s)")
    parser.add_argument("--skip-lake", action="store_true")
    args = parser.parse_args(argv)
    results: dict = {"command": " ".join(["python", "benchmarks/planner.py", *(argv if argv is not None else sys.argv[1:])])}
    if not args.skip_lake:
        with tempfile.TemporaryDirectory(prefix="lakeshrink-planner-bench-") as tmp:
            results["lake"] = bench_lake(args.scale, args.seed, args.gx, Path(tmp), args.max_rows)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if sizes:
        results["graphs"] = bench_graphs(sizes, args.milp_limit)
    if args.limit_sizes:
        results["milp_vs_size"] = bench_limit([int(s) for s in args.limit_sizes.split(",") if s])
    out = ROOT / "benchmarks" / "results" / "planner.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nwritten {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
