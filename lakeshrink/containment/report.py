"""One self-contained HTML report per plan: the containment graph, bytes saved, the latency curve, the audits.

Everything is inline (CSS and SVG; no scripts, no network), so the file can be mailed or attached to a ticket.
Links to the audit results (JSON and GX data docs) are relative: they work while the report stays in its plan
directory. The graph is drawn in layers: a table sits one layer below the lowest of the tables containing it
(equal tables share a layer); marked tables are red, kept ones green, and the edge each marked table would be
rebuilt from is drawn bold.
"""

from __future__ import annotations

import html
import math
import os
from collections import defaultdict
from typing import TYPE_CHECKING

from lakeshrink.units import human_bytes
from lakeshrink.fileio import atomic_file

if TYPE_CHECKING:
    from lakeshrink.containment.plan import Plan

MAX_GRAPH_TABLES = 300
_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}
th{background:#f3f3f3}.num{text-align:right;font-variant-numeric:tabular-nums}.bar{background:#d9534f;height:10px}
.ok{color:#2e7d32}.bad{color:#c62828}h1{font-size:22px}h2{font-size:18px;margin-top:1.6em}code{font-size:12px}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _layers(tables: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Layer of each table: 0 when nothing strictly contains it, else one below its lowest container."""
    pairs = set(edges)
    strict = [(c, p) for c, p in edges if (p, c) not in pairs]
    depth = dict.fromkeys(tables, 0)
    for _ in range(min(len(tables), 64)):
        changed = False
        for c, p in strict:
            if c in depth and p in depth and depth[c] < depth[p] + 1:
                depth[c] = depth[p] + 1
                changed = True
        if not changed:
            break
    return depth


def graph_svg(plan: Plan) -> str:
    """The containment graph as an inline SVG (at most :data:`MAX_GRAPH_TABLES` tables, marked ones first)."""
    marked = {m.table: m.parent for m in plan.marked}
    in_graph = {t for e in plan.edges for t in e}
    order = [*marked, *sorted(set(marked.values())), *sorted(in_graph)]
    tables = list(dict.fromkeys(order))[:MAX_GRAPH_TABLES]
    shown = set(tables)
    edges = [(c, p) for c, p in plan.edges if c in shown and p in shown]
    if not tables:
        return "<p>No table is contained in another; there is no graph to draw.</p>"
    depth = _layers(tables, edges)
    rows: dict[int, list[str]] = defaultdict(list)
    for t in sorted(tables):
        rows[depth[t]].append(t)
    box_w, box_h, gap_x, gap_y = 190, 34, 24, 70
    width = max(len(r) for r in rows.values()) * (box_w + gap_x) + gap_x
    height = (max(rows) + 1) * (box_h + gap_y) + gap_y
    pos: dict[str, tuple[float, float]] = {}
    for level, names in rows.items():
        offset = (width - len(names) * (box_w + gap_x) + gap_x) / 2
        for i, name in enumerate(names):
            pos[name] = (offset + i * (box_w + gap_x), gap_y / 2 + level * (box_h + gap_y))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" font-size="11" font-family="sans-serif">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto">'
             '<path d="M0,0L10,5L0,10z" fill="#555"/></marker></defs>']
    for c, p in edges:
        (cx, cy), (px, py) = pos[c], pos[p]
        chosen = marked.get(c) == p
        x1, y1, x2, y2 = cx + box_w / 2, cy, px + box_w / 2, py + box_h
        if math.isclose(cy, py):  # equal tables: a curve between neighbours
            y1, y2 = cy + box_h / 2, py + box_h / 2
            x1, x2 = (cx + box_w, px) if cx < px else (cx, px + box_w)
        parts.append(f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" stroke="{"#c62828" if chosen else "#999"}" '
                     f'stroke-width="{3 if chosen else 1}" marker-end="url(#arrow)"><title>{_e(c)} is contained in {_e(p)}</title></line>')
    for name, (x, y) in pos.items():
        fill = "#ffcdd2" if name in marked else "#c8e6c9"
        label = name if len(name) <= 30 else "..." + name[-27:]
        parts.append(f'<g><title>{_e(name)}{" (marked)" if name in marked else ""}</title><rect x="{x:.0f}" y="{y:.0f}" width="{box_w}" '
                     f'height="{box_h}" rx="5" fill="{fill}" stroke="#555"/><text x="{x + box_w / 2:.0f}" y="{y + box_h / 2 + 4:.0f}" '
                     f'text-anchor="middle">{_e(label)}</text></g>')
    parts.append("</svg>")
    note = "" if len(tables) == len(dict.fromkeys(order)) else f"<p>Graph limited to {MAX_GRAPH_TABLES} tables.</p>"
    return note + "".join(parts)


def curve_svg(plan: Plan) -> str:
    """Bytes saved against a latency bound applied to every table (log-scale x), as an inline SVG."""
    points = [p for p in plan.curve if p.max_rebuild_seconds > 0]
    if len(points) < 2:
        return "<p>Not enough edges to draw the savings-versus-latency curve.</p>"
    w, h, m = 640, 300, 60
    xs = [math.log10(p.max_rebuild_seconds) for p in points]
    x_lo, x_hi = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y_hi = max(max(p.bytes_saved for p in points), 1)

    def sx(v: float) -> float:
        return m + (v - x_lo) / (x_hi - x_lo) * (w - 2 * m)

    def sy(v: float) -> float:
        return h - m + 10 - v / y_hi * (h - 2 * m)

    coords = " ".join(f"{sx(x):.1f},{sy(p.bytes_saved):.1f}" for x, p in zip(xs, points))
    dots = "".join(f'<circle cx="{sx(x):.1f}" cy="{sy(p.bytes_saved):.1f}" r="3" fill="#1565c0"><title>bound {p.max_rebuild_seconds:.3g} s: '
                   f'{p.tables_marked} tables, {_e(human_bytes(p.bytes_saved))}</title></circle>' for x, p in zip(xs, points))
    ticks = "".join(f'<text x="{sx(x):.1f}" y="{h - m + 28}" text-anchor="middle">{p.max_rebuild_seconds:.3g}</text>'
                    for x, p in list(zip(xs, points))[:: max(1, len(points) // 6)])
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-size="11" font-family="sans-serif">'
            f'<line x1="{m}" y1="{h - m + 10}" x2="{w - m}" y2="{h - m + 10}" stroke="#333"/>'
            f'<line x1="{m}" y1="{m - 10}" x2="{m}" y2="{h - m + 10}" stroke="#333"/>'
            f'<text x="{w / 2}" y="{h - 8}" text-anchor="middle">latency bound for every table (s, log scale)</text>'
            f'<text x="{m - 6}" y="{m - 14}" text-anchor="start">bytes saved (max {_e(human_bytes(y_hi))})</text>{ticks}'
            f'<polyline points="{coords}" fill="none" stroke="#1565c0" stroke-width="2"/>{dots}</svg>')


def _link(path: str | None, text: str) -> str:
    return f'<a href="{_e(path)}">{_e(text)}</a>' if path else "-"


def render(plan: Plan) -> str:
    """The report as one HTML string."""
    biggest = max((m.bytes for m in plan.marked), default=1) or 1
    marked_rows = "".join(
        f"<tr><td><code>{_e(m.table)}</code></td><td><code>{_e(m.parent)}</code></td><td class=num>{_e(human_bytes(m.bytes))}</td>"
        f'<td><div class=bar style="width:{max(1, 200 * m.bytes // biggest)}px"></div></td><td class=num>{m.rebuild_seconds_estimate:.1f}</td>'
        f"<td>{_e(m.selector)}</td><td>{_link(m.audit, 'results')} {_link(m.data_docs, 'data docs')}</td></tr>"
        for m in plan.marked
    )
    kept_rows = "".join(f"<tr><td><code>{_e(k.table)}</code></td><td class=num>{_e(human_bytes(k.bytes))}</td><td>{_e(k.reason)}</td></tr>"
                        for k in plan.kept)
    solver_rows = "".join(f"<tr><td>{_e(s.solver)}</td><td class=num>{s.net_saving:.4g}</td><td class=num>{s.tables_marked}</td>"
                          f"<td class=num>{_e(human_bytes(s.bytes_saved))}</td><td class=num>{s.seconds:.3f}</td><td>{'yes' if s.optimal else 'no'}</td></tr>"
                          for s in plan.comparison)
    rejected = "".join(f"<li><code>{_e(r.child)}</code> from <code>{_e(r.parent)}</code>: {_e(r.reason)}</li>" for r in plan.rejected)
    pct = f" ({plan.bytes_saved / plan.bytes_total:.1%} of the lake)" if plan.bytes_total else ""
    tp = plan.cost_model.throughput_bytes_per_s or 0
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>lakeshrink deletion plan</title><style>{_CSS}</style></head><body>
<h1>lakeshrink deletion plan</h1>
<p>Lake <code>{_e(plan.lake)}</code>, planned {_e(plan.created)} with the <b>{_e(plan.solver)}</b> solver
{"(optimal)" if plan.optimal else ""} {_e(plan.solver_note)}. lakeshrink marks tables; it never deletes a file.</p>
<p><b>{len(plan.marked)}</b> of {len(plan.marked) + len(plan.kept)} tables marked, <b>{_e(human_bytes(plan.bytes_saved))}</b> saved{_e(pct)};
net saving {plan.monthly_net_saving:.4g} {_e(plan.currency)}/month (storage {plan.monthly_storage_saved:.4g}, expected rebuilds
{plan.monthly_rebuild_cost:.4g}). Throughput {tp / 1e6:.1f} MB/s ({_e(plan.cost_model.throughput_source)}).
Audit: {_e(plan.audit_tool)}{" " + _link(plan.data_docs, "(GX data docs)") if plan.data_docs else ""}.</p>
<h2>Containment graph</h2>{graph_svg(plan)}
<h2>Marked tables</h2><table><tr><th>table</th><th>rebuilt from</th><th>bytes</th><th></th><th>est. rebuild s</th><th>rows</th><th>audit</th></tr>
{marked_rows}</table>
<h2>Savings versus latency bound</h2>{curve_svg(plan)}
<h2>Solvers</h2><table><tr><th>solver</th><th>net saving / month</th><th>tables</th><th>bytes</th><th>seconds</th><th>optimal</th></tr>{solver_rows}</table>
<h2>Kept tables</h2><table><tr><th>table</th><th>bytes</th><th>why kept</th></tr>{kept_rows}</table>
{"<h2>Edges not used</h2><ul>" + rejected + "</ul>" if rejected else ""}
</body></html>
"""


def write_report(plan: Plan, path: str | os.PathLike[str]) -> None:
    """Write the report atomically."""
    with atomic_file(path) as tmp:
        tmp.write_text(render(plan), encoding="utf-8")
