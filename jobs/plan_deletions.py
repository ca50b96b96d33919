"""spark-submit job: plan which contained tables of a scanned lake to mark for deletion (never deletes).

Runs the same library calls as ``lakeshrink containment plan --engine spark`` (and, with ``--execute``,
``lakeshrink containment mark --execute``) on the session spark-submit provides. Recipes are built one parent per
Spark task; the rebuild audit runs on the driver. SCAN_DIR and PLAN_DIR are on the driver.

Usage::

    spark-submit jobs/plan_deletions.py /tmp/scan -o /tmp/plan [--access access.csv] [--costs costs.json]
    spark-submit jobs/plan_deletions.py /tmp/scan -o /tmp/plan --no-gx --execute
"""

from __future__ import annotations

import argparse
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="plan_deletions", description=__doc__.splitlines()[0])
    parser.add_argument("scan_dir", help="directory holding containment.json (from find_redundant_tables.py)")
    parser.add_argument("-o", "--out", required=True, help="plan directory to write (on the driver)")
    parser.add_argument("--costs", help="prices: JSON or key,value CSV")
    parser.add_argument("--access", help="per-table reads_per_month and max_rebuild_seconds: CSV or JSON")
    parser.add_argument("--solver", choices=("auto", "milp", "greedy"), default="auto")
    parser.add_argument("--no-gx", action="store_true", help="audit with row count and checksum only (no Great Expectations)")
    parser.add_argument("--overwrite", action="store_true", help="replace the plan directory if it exists")
    parser.add_argument("--execute", action="store_true", help="also write the marks (default: plan only)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from lakeshrink.containment.planner.marks import mark
    from lakeshrink.containment.planner.plan import PlanOptions, make_plan
    from lakeshrink.engine import get_engine
    from lakeshrink.errors import LakeshrinkError

    try:
        with get_engine("spark") as engine:
            plan = make_plan(args.scan_dir, args.out, costs=args.costs, access=args.access, engine=engine,
                             options=PlanOptions(solver=args.solver, gx=not args.no_gx), overwrite=args.overwrite)
        marked = mark(args.out, execute=args.execute)
    except (LakeshrinkError, OSError) as exc:
        print(f"plan_deletions: error: {exc}", file=sys.stderr)
        return 1
    print(f"{len(plan.marked)} of {len(plan.marked) + len(plan.kept)} tables to mark, {plan.bytes_saved} of "
          f"{plan.bytes_total} bytes; solver {plan.solver}; net saving {plan.monthly_net_saving:.4g} {plan.currency}/month")
    for m in plan.marked:
        print(f"  {m.table} <- {m.parent}: {m.selector}")
    print(("marked" if args.execute else "dry run, nothing marked (add --execute)") + f"; manifest {marked.manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
