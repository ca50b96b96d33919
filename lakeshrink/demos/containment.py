"""``lakeshrink demo`` for containment: scan the bundled lake and report what the contained tables hold.

``saved_bytes`` is :attr:`~lakeshrink.containment.scan.ScanResult.removable_bytes`: the bytes of tables contained
in another table, keeping one table of each group of equal tables (its representative, see :mod:`lakeshrink.containment.graph`). The figures are
measured by the scan; nothing is assumed.
"""

from __future__ import annotations

from lakeshrink.containment.scan import scan_lake
from lakeshrink.demos import DemoContext, DemoFigure, DemoReport


def run(ctx: DemoContext) -> DemoReport:
    result = scan_lake(ctx.lake_dir, engine=ctx.engine, types="compatible")
    result.save(ctx.work_dir / "scan")
    total = sum(t.bytes for t in result.table_details)
    figures = [DemoFigure("tables scanned", result.tables)]
    figures += [DemoFigure(f"candidate pairs after {s.name}", s.pairs_out) for s in result.stages]
    figures += [
        DemoFigure("contained pairs", len(result.edges)),
        DemoFigure("edges after transitive reduction", len(result.reduction)),
        DemoFigure("footer bytes read by stages 1-2", sum(s.footer_bytes for s in result.stages[:2]), "B"),
        DemoFigure("seconds", round(sum(s.seconds for s in result.stages), 3), "s"),
    ]
    notes = tuple(f"{e.child} is contained in {e.parent}" for e in result.reduction)
    notes += tuple(f"equal tables: {', '.join(g)}" for g in result.equal_groups)
    notes += tuple(f"skipped {s.table}: {s.reason}" for s in result.skipped)
    return DemoReport(input_bytes=total, saved_bytes=result.removable_bytes, figures=tuple(figures), notes=notes)
