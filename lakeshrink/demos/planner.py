"""Demo of the deletion planner on the bundled lake: scan, plan, audit, rebuild one table, verify its checksum.

The bundled lake's tables are a few KiB each, so at default prices no rebuild is worth its compute; the demo
treats every table as cold (0 reads a month, the access file it writes says so) to show what the planner would
mark. Marking is a dry run: the bundled lake is never written to. Every figure is measured.
"""

from __future__ import annotations

import importlib.util
import time

from lakeshrink.containment.lake import discover
from lakeshrink.containment.planner.marks import mark
from lakeshrink.containment.planner.plan import PlanOptions, load_plan, make_plan
from lakeshrink.containment.planner.ports import REBUILDER
from lakeshrink.containment.scan import scan_lake
from lakeshrink.demos import DemoContext, DemoFigure, DemoReport


def run(ctx: DemoContext) -> DemoReport:
    """Plan deletions for the bundled lake and prove one rebuild."""
    lake = discover(ctx.lake_dir)
    scan_dir = ctx.work_dir / "scan"
    scan_lake(ctx.lake_dir, engine=ctx.engine).save(scan_dir)
    access = ctx.work_dir / "access.csv"
    access.write_text("table,reads_per_month,max_rebuild_seconds\n" + "".join(f"{t.id},0,\n" for t in lake.tables), encoding="utf-8")
    gx = importlib.util.find_spec("great_expectations") is not None
    plan_dir = ctx.work_dir / "plan"
    plan = make_plan(scan_dir, plan_dir, access=access, engine=ctx.engine, options=PlanOptions(gx=gx))
    dry = mark(plan_dir)
    figures = [
        DemoFigure("tables marked (dry run)", len(dry.marks)),
        DemoFigure("solver", plan.solver + (" (optimal)" if plan.optimal else "")),
    ]
    greedy = next((s for s in plan.comparison if s.solver == "greedy"), None)
    if greedy is not None and plan.comparison[0].net_saving:
        figures.append(DemoFigure("greedy / MILP net saving", round(greedy.net_saving / plan.comparison[0].net_saving, 3)))
    notes = [f"audit: {plan.audit_tool}" + ("" if gx else " (install lakeshrink[gx] for the Great Expectations audit)"),
             "demo access profile: every table cold (0 reads/month); the bundled lake was not written to"]
    if plan.marked:
        biggest = max(plan.marked, key=lambda m: m.bytes)
        recipe = load_plan(plan_dir).recipe(biggest.table)
        start = time.perf_counter()
        ctx.engine.port(REBUILDER).write_rebuild(recipe, plan.lake, ctx.work_dir / "rebuilt.parquet")
        seconds = time.perf_counter() - start
        figures += [
            DemoFigure(f"rebuilt {biggest.table}", "checksum verified"),
            DemoFigure("rebuild throughput", round(recipe.parent_state.bytes / seconds / 1e6, 2), "MB/s of parent"),
        ]
        notes.append(f"{biggest.table} rebuilt from {biggest.parent}: {recipe.selector.describe()}")
    return DemoReport(input_bytes=plan.bytes_total, saved_bytes=plan.bytes_saved, figures=tuple(figures), notes=tuple(notes))
