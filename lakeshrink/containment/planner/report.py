"""One self-contained HTML report per plan: what is marked and why, savings against rebuild cost, the graphs.

Built on :mod:`lakeshrink.reports.page`: inline CSS, SVG and a few lines of script (sortable tables, CSV
export); no outside URL, so the file can be mailed or attached to a ticket and opened offline. Links to the audit
results (JSON, and GX data docs when built with ``--gx-data-docs``) are relative: they work while the report stays
in its plan directory; the audit's expectations themselves are shown in the report.

The containment graph is drawn as one small graph per connected component (largest savings first), in layers:
a table sits one layer below the lowest of the tables containing it (equal tables share a layer); marked tables
are red, kept ones green, and the edge each marked table would be rebuilt from is drawn bold and red.
"""

from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from lakeshrink.containment.graph import connected_components
from lakeshrink.reports import page as p
from lakeshrink.units import human_bytes, money

if TYPE_CHECKING:
    from lakeshrink.containment.planner.plan import Plan

MAX_COMPONENT_TABLES = 60
MAX_COMPONENTS = 40
MARKED_FILL, KEPT_FILL, CHOSEN_EDGE, EDGE = "#ffcdd2", "#c8e6c9", "#c62828", "#999"


def _layers(tables: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Layer of each table: 0 when nothing strictly contains it, else one below its lowest container."""
    pairs = set(edges)
    strict = [(c, q) for c, q in edges if (q, c) not in pairs]
    depth = dict.fromkeys(tables, 0)
    for _ in range(min(len(tables), 64)):
        changed = False
        for c, q in strict:
            if c in depth and q in depth and depth[c] < depth[q] + 1:
                depth[c] = depth[q] + 1
                changed = True
        if not changed:
            break
    return depth


def component_svg(tables: list[str], edges: list[tuple[str, str]], marked: dict[str, str]) -> str:
    """One component as an inline SVG (at most :data:`MAX_COMPONENT_TABLES` tables, marked ones first)."""
    order = [t for t in tables if t in marked] + [t for t in tables if t not in marked]
    shown = set(order[:MAX_COMPONENT_TABLES])
    edges = [(c, q) for c, q in edges if c in shown and q in shown]
    depth = _layers(sorted(shown), edges)
    rows: dict[int, list[str]] = defaultdict(list)
    for t in sorted(shown):
        rows[depth[t]].append(t)
    box_w, box_h, gap_x, gap_y = 190, 34, 20, 60
    per_row = 5  # wrap wide layers so a graph stays readable
    lines: list[tuple[int, list[str]]] = []
    for level in sorted(rows):
        names = rows[level]
        for i in range(0, len(names), per_row):
            lines.append((level, names[i:i + per_row]))
    width = min(max(len(n) for _, n in lines), per_row) * (box_w + gap_x) + gap_x
    height = len(lines) * (box_h + gap_y) + gap_y // 2
    pos: dict[str, tuple[float, float]] = {}
    for li, (_, names) in enumerate(lines):
        offset = (width - len(names) * (box_w + gap_x) + gap_x) / 2
        for i, name in enumerate(names):
            pos[name] = (offset + i * (box_w + gap_x), gap_y / 3 + li * (box_h + gap_y))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" font-size="11">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto">'
             '<path d="M0,0L10,5L0,10z" fill="#555"/></marker></defs>']
    for c, q in edges:
        (cx, cy), (px, py) = pos[c], pos[q]
        chosen = marked.get(c) == q
        x1, y1, x2, y2 = cx + box_w / 2, cy, px + box_w / 2, py + box_h
        if math.isclose(cy, py):  # same line: join the sides
            y1 = y2 = cy + box_h / 2
            x1, x2 = (cx + box_w, px) if cx < px else (cx, px + box_w)
        parts.append(f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" stroke="{CHOSEN_EDGE if chosen else EDGE}" '
                     f'stroke-width="{3 if chosen else 1}" marker-end="url(#arrow)"><title>{p.e(c)} is contained in {p.e(q)}'
                     f'{" (rebuilt from it)" if chosen else ""}</title></line>')
    for name, (x, y) in pos.items():
        fill = MARKED_FILL if name in marked else KEPT_FILL
        label = name if len(name) <= 30 else "..." + name[-27:]
        parts.append(f'<g><title>{p.e(name)}{" (marked)" if name in marked else " (kept)"}</title><rect x="{x:.0f}" y="{y:.0f}" '
                     f'width="{box_w}" height="{box_h}" rx="5" fill="{fill}" stroke="#555"/><text x="{x + box_w / 2:.0f}" '
                     f'y="{y + box_h / 2 + 4:.0f}" text-anchor="middle">{p.e(label)}</text></g>')
    parts.append("</svg>")
    note = "" if len(shown) == len(tables) else f"<p class=muted>{len(tables) - len(shown)} more tables of this component not drawn.</p>"
    return "".join(parts) + note


def graphs_html(plan: Plan) -> str:
    marked = {m.table: m.parent for m in plan.marked}
    saved = {m.table: m.bytes for m in plan.marked}
    edges = [tuple(e) for e in plan.edges]
    comps = [list(g) for g in connected_components(edges)]  # type: ignore[arg-type]
    if not comps:
        return "<p>No table is contained in another; there is no graph to draw.</p>"
    comps.sort(key=lambda g: (-sum(saved.get(t, 0) for t in g), -len(g), g[0]))
    out = [p.legend([(MARKED_FILL, "marked (rebuildable from its parent)"), (KEPT_FILL, "kept"),
                     (CHOSEN_EDGE, "bold arrow: the parent a marked table is rebuilt from"),
                     (EDGE, "thin arrow: contained in")])]
    for i, group in enumerate(comps[:MAX_COMPONENTS], 1):
        in_group = set(group)
        g_edges = [(c, q) for c, q in edges if c in in_group]
        n_marked = sum(1 for t in group if t in marked)
        out.append(f"<h3>Group {i}: {len(group)} tables, {n_marked} marked, "
                   f"{p.e(human_bytes(sum(saved.get(t, 0) for t in group)))} saved</h3>")
        out.append(component_svg(group, g_edges, marked))
    if len(comps) > MAX_COMPONENTS:
        out.append(f"<p class=muted>{len(comps) - MAX_COMPONENTS} smaller groups not drawn (every table is in the tables).</p>")
    return "".join(out)


def _fmt_seconds(v: float, digits: int = 3) -> str:
    if v < 60:
        return f"{v:.{digits}g} s"
    if v < 3600:
        return f"{v / 60:.{digits}g} min"
    if v < 86400:
        return f"{v / 3600:.{digits}g} h"
    return f"{v / 86400:.{digits}g} d"


def _distinct_second_labels(values: list[float]) -> list[str]:
    """Labels for ``values`` with the fewest significant digits (3 to 9) that tell them all apart."""
    for digits in range(3, 10):
        labels = [_fmt_seconds(v, digits) for v in values]
        if len(set(labels)) == len(labels):
            return labels
    return labels


def curve_svg(plan: Plan) -> str:
    """Bytes saved against a latency bound applied to every table (log-scale x), as an inline SVG."""
    points = [q for q in plan.curve if q.max_rebuild_seconds > 0]
    if len(points) < 2:
        return "<p>Not enough edges to draw the savings-versus-latency curve.</p>"
    w, h, m = 680, 300, 64
    xs = [math.log10(q.max_rebuild_seconds) for q in points]
    x_lo, x_hi = min(xs), max(xs)
    if x_hi - x_lo < 1e-9:
        x_lo, x_hi = x_lo - 0.5, x_hi + 0.5
    y_hi = max(max(q.bytes_saved for q in points), 1)

    def sx(v: float) -> float:
        return m + (v - x_lo) / (x_hi - x_lo) * (w - 2 * m)

    def sy(v: float) -> float:
        return h - m + 10 - v / y_hi * (h - 2 * m)

    decades = [k for k in range(math.ceil(x_lo), math.floor(x_hi) + 1)]
    tick_logs = [float(k) for k in decades] if len(decades) >= 2 else [x_lo, (x_lo + x_hi) / 2, x_hi]
    tick_labels = _distinct_second_labels([10 ** t for t in tick_logs])
    ticks = "".join(f'<line x1="{sx(t):.1f}" y1="{h - m + 10}" x2="{sx(t):.1f}" y2="{h - m + 15}" stroke="#333"/>'
                    f'<text x="{sx(t):.1f}" y="{h - m + 28}" text-anchor="middle">{p.e(label)}</text>'
                    for t, label in zip(tick_logs, tick_labels))
    yticks = "".join(f'<text x="{m - 6}" y="{sy(v) + 4:.1f}" text-anchor="end">{p.e(human_bytes(v))}</text>'
                     f'<line x1="{m}" y1="{sy(v):.1f}" x2="{w - m}" y2="{sy(v):.1f}" stroke="#eee"/>'
                     for v in p.nice_ticks(0, y_hi, 4))
    coords = " ".join(f"{sx(x):.1f},{sy(q.bytes_saved):.1f}" for x, q in zip(xs, points))
    dots = "".join(f'<circle cx="{sx(x):.1f}" cy="{sy(q.bytes_saved):.1f}" r="3" fill="#1565c0"><title>bound '
                   f'{p.e(_fmt_seconds(q.max_rebuild_seconds))}: {q.tables_marked} tables, {p.e(human_bytes(q.bytes_saved))}'
                   f'</title></circle>' for x, q in zip(xs, points))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-size="11">{yticks}'
            f'<line x1="{m}" y1="{h - m + 10}" x2="{w - m}" y2="{h - m + 10}" stroke="#333"/>'
            f'<line x1="{m}" y1="{m - 10}" x2="{m}" y2="{h - m + 10}" stroke="#333"/>'
            f'<text x="{w / 2}" y="{h - 8}" text-anchor="middle">rebuild-time bound applied to every table (log scale)</text>'
            f'<text x="{m}" y="{m - 18}" text-anchor="start">bytes saved</text>{ticks}'
            f'<polyline points="{coords}" fill="none" stroke="#1565c0" stroke-width="2"/>{dots}</svg>')


def _audit_checks(plan_dir: Path | None, rel: str | None) -> list[tuple[str, str, str, bool]]:
    """(expectation, column, observed, success) rows of one audit result file, GX or checksum-only."""
    if plan_dir is None or not rel:
        return []
    try:
        doc = json.loads((plan_dir / rel).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    rows = []
    for run in doc.get("validation") or []:
        for r in run.get("results", []):
            cfg = r.get("expectation_config", {})
            kwargs = cfg.get("kwargs", {})
            observed = (r.get("result") or {}).get("observed_value")
            rows.append((cfg.get("type", "?"), str(kwargs.get("column", "")), json.dumps(observed)[:80], bool(r.get("success"))))
    for c in doc.get("checks") or []:
        rows.append((c.get("expectation", "?"), str(c.get("column") or ""), json.dumps(c.get("observed"))[:80], bool(c.get("success"))))
    return rows


def _audits_html(plan: Plan, plan_dir: Path | None) -> str:
    out = []
    for m in plan.marked:
        checks = _audit_checks(plan_dir, m.audit)
        if not checks:
            continue
        ok = sum(1 for c in checks if c[3])
        rows = "".join(f"<tr><td><code>{p.e(t)}</code></td><td><code>{p.e(col)}</code></td><td><code>{p.e(obs)}</code></td>"
                       f"<td class={'ok' if s else 'bad'}>{'passed' if s else 'FAILED'}</td></tr>" for t, col, obs, s in checks)
        out.append(f"<details><summary><code>{p.e(m.table)}</code>: {ok} of {len(checks)} expectations passed</summary>"
                   f"<table><tr><th>expectation</th><th>column</th><th>observed</th><th>result</th></tr>{rows}</table></details>")
    return "".join(out) or "<p class=muted>No audit results to show.</p>"


def _link(path: str | None, text: str) -> str:
    return f'<a href="{p.e(path)}">{p.e(text)}</a>' if path else "-"


def render(plan: Plan, plan_dir: Path | None = None) -> str:
    """The report as one HTML string (``plan_dir``: where the audit results are, to show their expectations)."""
    cur = plan.currency
    cm = plan.cost_model
    biggest = max((m.bytes for m in plan.marked), default=0)
    def cash(v: float) -> p.Cell:
        return p.number(v, money(v, cur))

    marked_rows = []
    for m in plan.marked:
        storage = cm.storage_cost(m.bytes)
        marked_rows.append([p.code(m.table), p.code(m.parent), p.nbytes(m.bytes), p.bar(m.bytes, biggest, color="red"),
                            cash(storage), cash(storage - m.monthly_saving), cash(m.monthly_saving),
                            p.number(round(m.rebuild_seconds_estimate, 2), _fmt_seconds(m.rebuild_seconds_estimate)),
                            p.text(m.selector),
                            p.Cell(f"{_link(m.audit, 'results')} {_link(m.data_docs, 'data docs')}", m.audit or "")])
    pct = f"{plan.bytes_saved / plan.bytes_total:.1%} of the lake" if plan.bytes_total else "-"
    tp = cm.throughput_bytes_per_s or 0
    body = [
        f"<p>Lake <code>{p.e(plan.lake)}</code>, planned {p.e(plan.created)} with the <b>{p.e(plan.solver)}</b> solver"
        f"{' (optimal)' if plan.optimal else ''}{' ' + p.e(plan.solver_note) if plan.solver_note else ''}. lakeshrink marks tables; it never deletes a file.</p>",
        p.cards([("tables marked", f"{len(plan.marked)} of {len(plan.marked) + len(plan.kept)}"),
                 ("bytes saved", human_bytes(plan.bytes_saved)), ("share of the lake", pct),
                 ("storage saved / month", money(plan.monthly_storage_saved, cur)),
                 ("expected rebuilds / month", money(plan.monthly_rebuild_cost, cur)),
                 ("net saving / month", money(plan.monthly_net_saving, cur))]),
        f"<p class=muted>Prices: {cm.price_per_gb_month:g} {p.e(cur)} per GB-month of storage, {cm.compute_per_hour:g} "
        f"{p.e(cur)} per compute hour, {cm.overhead_seconds:g} s per rebuild plus the parent's bytes at "
        f"{tp / 1e6:.1f} MB/s ({p.e(cm.throughput_source)}). Audit: {p.e(plan.audit_tool)}"
        f"{' ' + _link(plan.data_docs, '(GX data docs)') if plan.data_docs else ''}.</p>",
        "<h2>Marked tables</h2><p class=muted>Savings against rebuild cost, per month: the storage a table's bytes cost, "
        "the expected cost of rebuilding it as often as it is read, and the difference.</p>",
        p.table("marked", ["table", "rebuilt from", "bytes", "", "storage / month", "rebuilds / month",
                           "net / month", "est. rebuild", "rows", "audit"], marked_rows, empty="No table is marked."),
        "<h2>Containment graph</h2>", graphs_html(plan),
        "<h2>Savings versus rebuild-time bound</h2>", curve_svg(plan),
        "<h2>Audit of each rebuild</h2>", _audits_html(plan, plan_dir),
        "<h2>Kept tables</h2>",
        p.table("kept", ["table", "bytes", "why kept"],
                ([p.code(k.table), p.nbytes(k.bytes), p.text(k.reason)] for k in plan.kept), empty="No table is kept."),
        "<h2>Solvers</h2>",
        p.table("solvers", ["solver", f"net saving / month ({cur})", "tables", "bytes", "seconds", "optimal"],
                ([p.text(s.solver), p.number(s.net_saving, money(s.net_saving, cur)), p.number(s.tables_marked),
                  p.nbytes(s.bytes_saved), p.number(round(s.seconds, 3), f"{s.seconds:.3f}"), p.text("yes" if s.optimal else "no")]
                 for s in plan.comparison)),
    ]
    if plan.rejected:
        body.append("<h2>Edges not used</h2>")
        body.append(p.table("rejected", ["table", "parent", "why not"],
                            ([p.code(r.child), p.code(r.parent), p.text(r.reason)] for r in plan.rejected)))
    return p.page("lakeshrink deletion plan", "\n".join(body))


def write_report(plan: Plan, path: str | os.PathLike[str]) -> None:
    """Write the report atomically (audit results are read from beside ``path``)."""
    p.write(render(plan, Path(path).parent), path)


