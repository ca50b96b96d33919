"""The building blocks of lakeshrink's offline HTML reports.

Every report is one HTML file: CSS and SVG inline, a small inline script that makes tables sortable (click a
header) and exports them as CSV (a ``data:`` download made in the page), and nothing that names an outside URL.
Numbers are shown for people (``1.2 MiB``) and sorted by the exact value kept in ``data-v``.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lakeshrink.fileio import atomic_file
from lakeshrink.units import human_bytes

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;color:#222;max-width:1200px;padding:0 1em}
h1{font-size:22px}h2{font-size:18px;margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:.6em 0 1.2em}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}
th{background:#f3f3f3;cursor:pointer;user-select:none;white-space:nowrap}th.sorted-asc::after{content:" \\25B2"}
th.sorted-desc::after{content:" \\25BC"}.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.data{display:block;max-width:100%;overflow-x:auto}
.bar{background:#1565c0;height:10px;display:inline-block}.bar.red{background:#d9534f}.bar.grey{background:#bbb}
.ok{color:#2e7d32}.bad{color:#c62828}code{font-size:12px}.csv{font-size:12px;margin-left:1em;cursor:pointer}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:160px}
.card b{display:block;font-size:20px}.legend span{display:inline-block;margin-right:1.2em;font-size:13px}
.swatch{display:inline-block;width:12px;height:12px;border:1px solid #555;margin-right:4px;vertical-align:-1px}
svg text{font-family:system-ui,sans-serif}.muted{color:#777;font-size:12px}
"""

SCRIPT = """
document.querySelectorAll('table.data').forEach(function(table){
  var heads = table.tHead ? table.tHead.rows[0].cells : [];
  Array.prototype.forEach.call(heads, function(th, col){
    th.addEventListener('click', function(){
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var asc = !th.classList.contains('sorted-asc');
      Array.prototype.forEach.call(heads, function(h){ h.classList.remove('sorted-asc', 'sorted-desc'); });
      th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
      function key(row){ var c = row.cells[col]; var v = c.getAttribute('data-v');
        return v !== null && v !== '' && !isNaN(v) ? parseFloat(v) : c.textContent.toLowerCase(); }
      rows.sort(function(a, b){ var x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1); });
      rows.forEach(function(r){ body.appendChild(r); });
    });
  });
});
document.querySelectorAll('a.csv').forEach(function(link){
  link.addEventListener('click', function(){
    var table = document.getElementById(link.getAttribute('data-table'));
    var lines = Array.prototype.map.call(table.rows, function(row){
      return Array.prototype.map.call(row.cells, function(c){
        var v = c.getAttribute('data-v'); v = (v === null ? c.textContent : v).trim();
        return /[",\\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; }).join(',');
    });
    link.setAttribute('href', 'data:text/csv;charset=utf-8,' + encodeURIComponent(lines.join('\\n') + '\\n'));
  });
});
"""


def e(text: object) -> str:
    """HTML-escaped text."""
    return html.escape(str(text), quote=True)


@dataclass(frozen=True)
class Cell:
    """A table cell: ``html`` shown, ``value`` sorted and exported (default: the text)."""

    html: str
    value: str | int | float | None = None
    numeric: bool = False


def text(value: object) -> Cell:
    return Cell(e(value), str(value))


def code(value: object) -> Cell:
    return Cell(f"<code>{e(value)}</code>", str(value))


def number(value: float | int, shown: str | None = None) -> Cell:
    return Cell(e(shown if shown is not None else f"{value:,}"), value, numeric=True)


def nbytes(value: int) -> Cell:
    return Cell(e(human_bytes(value)), value, numeric=True)


def bar(value: float, biggest: float, *, width: int = 160, color: str = "") -> Cell:
    px = 0 if biggest <= 0 else max(1, round(width * value / biggest)) if value > 0 else 0
    return Cell(f'<span class="bar {color}" style="width:{px}px"></span>', value, numeric=True)


def table(table_id: str, headers: Sequence[str], rows: Iterable[Sequence[Cell]], *, empty: str = "none") -> str:
    """A sortable table with a CSV export link (``table_id`` names the file)."""
    body = []
    for row in rows:
        cells = "".join(
            f'<td{" class=num" if c.numeric else ""} data-v="{e(c.value if c.value is not None else "")}">{c.html}</td>'
            for c in row)
        body.append(f"<tr>{cells}</tr>")
    if not body:
        return f"<p class=muted>{e(empty)}</p>"
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    return (f'<table class="data" id="{e(table_id)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
            f'<a class="csv" data-table="{e(table_id)}" download="{e(table_id)}.csv" href="#">export CSV</a>')


def cards(items: Sequence[tuple[str, str]]) -> str:
    """Headline figures: (label, value) pairs."""
    return '<div class="cards">' + "".join(f'<div class="card">{e(k)}<b>{e(v)}</b></div>' for k, v in items) + "</div>"


def legend(items: Sequence[tuple[str, str]]) -> str:
    """(colour, label) pairs as a legend line."""
    return '<p class="legend">' + "".join(
        f'<span><i class="swatch" style="background:{e(c)}"></i>{e(label)}</span>' for c, label in items) + "</p>"


def page(title: str, body: str) -> str:
    """The whole HTML document."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{e(title)}</title>'
            f'<style>{CSS}</style></head><body>\n<h1>{e(title)}</h1>\n{body}\n<script>{SCRIPT}</script></body></html>\n')


def write(html_text: str, path: str | os.PathLike[str]) -> None:
    """Write a report atomically."""
    with atomic_file(path) as tmp:
        tmp.write_text(html_text, encoding="utf-8")


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values spanning [lo, hi] (1, 2, 5 times a power of ten apart)."""
    import math

    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start = math.ceil(lo / step) * step
    ticks, v = [], start
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 12))
        v += step
    return ticks
