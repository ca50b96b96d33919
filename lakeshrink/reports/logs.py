"""The offline HTML report of a log archive: bytes per input stream, templates over time, templates, chunks.

Everything comes from the archive itself: the index (files, chunks, their sizes, modes, time ranges and template
counts) and, for the timeline, each columnar chunk's per-line template ids (nothing is decompressed to text).
Lines of a log stream are in time order, so the timeline splits each stream into equal runs of lines and shows
the share of each frequent template per run; the axis is labelled with the stream's first and last time keys.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

import numpy as np

from lakeshrink.codecs.logs.archive import ArchiveReader
from lakeshrink.codecs.logs.chunk import MODE_COLUMNAR, MODE_NAMES, TEMPLATE_BASE, line_kinds
from lakeshrink.reports import page as p
from lakeshrink.units import human_bytes

TOP_TEMPLATES = 8
BUCKETS = 40
MAX_TIMELINES = 12
PALETTE = ("#1565c0", "#ef6c00", "#2e7d32", "#c62828", "#6a1b9a", "#00838f", "#9e9d24", "#ad1457", "#90a4ae", "#d7ccc8")
OTHER, UNTEMPLATED = "(other templates)", "(kept whole: no template)"


@dataclass(frozen=True)
class StreamTimeline:
    """One input stream: per bucket of consecutive lines, the line count of each shown series."""

    path: str
    first_time: str | None
    last_time: str | None
    buckets: tuple[dict[str, int], ...]


def _file_line_labels(reader: ArchiveReader, chunk_ids: tuple[int, ...]) -> list[str]:
    """Per line of a stream, its template text (or OTHER/UNTEMPLATED labels resolved later)."""
    labels: list[str] = []
    for i in chunk_ids:
        entry = reader.index.chunks[i]
        if MODE_NAMES.get(entry.mode, entry.mode) != "columnar" and entry.mode != MODE_COLUMNAR:
            labels.extend([UNTEMPLATED] * entry.lines)
            continue
        kinds, texts = line_kinds(reader.chunk_payload(i))
        for k in np.asarray(kinds).tolist():
            labels.append(texts.get(k - TEMPLATE_BASE, UNTEMPLATED) if k >= TEMPLATE_BASE else UNTEMPLATED)
    return labels


def collect(archive: str | os.PathLike[str]) -> dict:
    """What the report shows, as plain data (also what ``--output json`` could print)."""
    with ArchiveReader(archive) as reader:
        index = reader.index
        per_file_labels = {f.path: _file_line_labels(reader, f.chunks) for f in index.files}
    totals = Counter(label for labels in per_file_labels.values() for label in labels)
    templated = [(t, n) for t, n in totals.most_common() if t != UNTEMPLATED]
    top = [t for t, _ in templated[:TOP_TEMPLATES]]
    series = [*top, OTHER, UNTEMPLATED]
    timelines = []
    for f in index.files:
        labels = per_file_labels[f.path]
        n = len(labels)
        buckets = []
        for b in range(min(BUCKETS, n)):
            counts = Counter(labels[b * n // min(BUCKETS, n):(b + 1) * n // min(BUCKETS, n)])
            row = {s: 0 for s in series}
            for label, c in counts.items():
                row[label if label in row else OTHER] += c
            buckets.append(row)
        spans = [index.chunks[i].time_range for i in f.chunks if index.chunks[i].time_range]
        timelines.append(StreamTimeline(f.path, spans[0][0] if spans else None, spans[-1][1] if spans else None,
                                        tuple(buckets)))
    files = []
    for f in index.files:
        stored = sum(index.chunks[i].length for i in f.chunks)
        files.append({"path": f.path, "bytes": f.size, "stored_bytes": stored,
                      "lines": sum(index.chunks[i].lines for i in f.chunks), "chunks": len(f.chunks)})
    chunks = [{"chunk": i, "file": index.files[c.file].path if c.file < len(index.files) else str(c.file),
               "lines": c.lines, "bytes": c.raw_bytes, "stored_bytes": c.length,
               "mode": MODE_NAMES.get(c.mode, str(c.mode)), "time": list(c.time_range) if c.time_range else None}
              for i, c in enumerate(index.chunks)]
    return {"archive": os.fspath(archive), "archive_bytes": os.path.getsize(archive), "format": index.format,
            "files": files, "chunks": chunks, "templates": templated, "untemplated_lines": totals.get(UNTEMPLATED, 0),
            "series": series, "timelines": timelines}


def _timeline_svg(t: StreamTimeline, series: list[str]) -> str:
    if not t.buckets:
        return "<p class=muted>empty stream</p>"
    w, h, left, bottom, top = 760, 180, 50, 34, 10
    bw = (w - left - 10) / len(t.buckets)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-size="11" role="img">']
    for b, row in enumerate(t.buckets):
        total = sum(row.values()) or 1
        y = h - bottom
        for s_i, s in enumerate(series):
            share = row.get(s, 0) / total
            if share <= 0:
                continue
            hh = share * (h - bottom - top)
            y -= hh
            parts.append(f'<rect x="{left + b * bw:.1f}" y="{y:.1f}" width="{max(bw - 1, 1):.1f}" height="{hh:.1f}" '
                         f'fill="{PALETTE[s_i % len(PALETTE)]}"><title>{p.e(s)}: {row[s]:,} of {total:,} lines</title></rect>')
    for frac in (0, 0.5, 1):
        y = h - bottom - frac * (h - bottom - top)
        parts.append(f'<text x="{left - 6}" y="{y + 4:.0f}" text-anchor="end">{frac:.0%}</text>')
    parts.append(f'<line x1="{left}" y1="{h - bottom}" x2="{w - 10}" y2="{h - bottom}" stroke="#333"/>')
    parts.append(f'<text x="{left}" y="{h - bottom + 16}">{p.e(t.first_time or "first line")}</text>')
    parts.append(f'<text x="{w - 10}" y="{h - bottom + 16}" text-anchor="end">{p.e(t.last_time or "last line")}</text>')
    parts.append(f'<text x="{(w + left) / 2:.0f}" y="{h - 4}" text-anchor="middle">lines in order ({len(t.buckets)} '
                 f'runs of equal length); bar height: share of each template</text></svg>')
    return "".join(parts)


def render(data: dict) -> str:
    files, chunks, templates = data["files"], data["chunks"], data["templates"]
    input_bytes = sum(f["bytes"] for f in files)
    lines = sum(f["lines"] for f in files)
    columnar = sum(1 for c in chunks if c["mode"] == "columnar")
    ratio = input_bytes / data["archive_bytes"] if data["archive_bytes"] else 0
    which = " of the first file (each chunk carries its own)" if len(data["files"]) > 1 else ""
    body = [f"<p>Archive <code>{p.e(data['archive'])}</code>, header format{which} <code>{p.e(data['format'])}</code>.</p>",
            p.cards([("input", human_bytes(input_bytes)), ("archive", human_bytes(data["archive_bytes"])),
                     ("ratio", f"{ratio:.2f}x"), ("lines", f"{lines:,}"), ("templates", f"{len(templates):,}"),
                     ("columnar chunks", f"{columnar} of {len(chunks)}")])]
    biggest = max((f["bytes"] for f in files), default=0)
    body.append("<h2>Bytes per stream</h2><p class=muted>Each input file is a stream; stored bytes are its chunks in "
                "the archive (the index and headers are shared).</p>")
    body.append(p.table("streams", ["stream", "lines", "bytes", "stored", "ratio", "chunks", ""], (
        [p.code(f["path"]), p.number(f["lines"]), p.nbytes(f["bytes"]), p.nbytes(f["stored_bytes"]),
         p.number(round(f["bytes"] / f["stored_bytes"], 2) if f["stored_bytes"] else 0,
                  f"{f['bytes'] / f['stored_bytes']:.2f}x" if f["stored_bytes"] else "-"),
         p.number(f["chunks"]), p.bar(f["bytes"], biggest)] for f in files)))
    series = data["series"]
    body.append("<h2>Templates over time</h2>")
    body.append(p.legend([(PALETTE[i % len(PALETTE)], s if len(s) <= 70 else s[:67] + "...") for i, s in enumerate(series)]))
    shown = sorted(data["timelines"], key=lambda t: -sum(sum(r.values()) for r in t.buckets))[:MAX_TIMELINES]
    for t in shown:
        body.append(f"<h3><code>{p.e(t.path)}</code></h3>{_timeline_svg(t, series)}")
    if len(data["timelines"]) > len(shown):
        body.append(f"<p class=muted>{len(data['timelines']) - len(shown)} smaller streams not drawn.</p>")
    most = templates[0][1] if templates else 0
    body.append(f"<h2>Templates</h2><p class=muted>{data['untemplated_lines']:,} lines are kept whole (no template).</p>")
    body.append(p.table("templates", ["template", "lines", "share", ""], (
        [p.code(t), p.number(n), p.number(round(n / lines, 4) if lines else 0, f"{n / lines:.1%}" if lines else "-"),
         p.bar(n, most)] for t, n in templates)))
    body.append("<h2>Chunks</h2>")
    body.append(p.table("chunks", ["chunk", "stream", "lines", "bytes", "stored", "mode", "first time", "last time"], (
        [p.number(c["chunk"]), p.code(c["file"]), p.number(c["lines"]), p.nbytes(c["bytes"]), p.nbytes(c["stored_bytes"]),
         p.text(c["mode"]), p.text((c["time"] or ["-", "-"])[0]), p.text((c["time"] or ["-", "-"])[1])] for c in chunks)))
    return p.page("lakeshrink log archive", "\n".join(body))


def write_report(archive: str | os.PathLike[str], output: str | os.PathLike[str]) -> dict:
    """Write the report of ``archive`` to ``output``; returns a summary (JSON-ready)."""
    data = collect(archive)
    p.write(render(data), output)
    return {"archive": data["archive"], "report": os.fspath(output), "files": len(data["files"]),
            "chunks": len(data["chunks"]), "templates": len(data["templates"])}
