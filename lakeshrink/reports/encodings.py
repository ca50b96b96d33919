"""The offline HTML report of a Parquet rewrite: bytes per column before and after, and per encoding.

Read from the two files' footers only (no data page is read): for each column chunk its compressed bytes, its
encodings and its compression codec, summed over row groups and, for a directory, over its Parquet files.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from lakeshrink.errors import InputError
from lakeshrink.reports import page as p
from lakeshrink.units import human_bytes


@dataclass(frozen=True)
class ColumnBytes:
    """One column of one side: compressed bytes, encodings and codecs as the footers say."""

    column: str
    physical_type: str
    bytes: int
    uncompressed_bytes: int
    encodings: str
    compression: str


def parquet_files(path: str | os.PathLike[str]) -> list[Path]:
    path = Path(path)
    if path.is_file():
        return [path]
    files = sorted(f for f in path.rglob("*.parquet") if not any(part.startswith(("_", ".")) for part in f.relative_to(path).parts))
    if not files:
        raise InputError("no Parquet file found", path=path)
    return files


def column_bytes(path: str | os.PathLike[str]) -> dict[str, ColumnBytes]:
    """Per column (dotted path), what the footers of ``path`` (a file or a directory) record."""
    acc: dict[str, dict] = {}
    for f in parquet_files(path):
        try:
            meta = pq.ParquetFile(f).metadata
        except Exception as exc:  # pyarrow raises several types for a bad footer
            raise InputError(f"not a readable Parquet file: {exc}", path=f) from exc
        for rg in range(meta.num_row_groups):
            group = meta.row_group(rg)
            for c in range(group.num_columns):
                chunk = group.column(c)
                a = acc.setdefault(chunk.path_in_schema, {"type": chunk.physical_type, "bytes": 0, "raw": 0,
                                                          "enc": set(), "codec": set()})
                a["bytes"] += chunk.total_compressed_size
                a["raw"] += chunk.total_uncompressed_size
                a["enc"].update(chunk.encodings)
                a["codec"].add(chunk.compression)
    return {k: ColumnBytes(k, a["type"], a["bytes"], a["raw"], "+".join(sorted(a["enc"])), "+".join(sorted(a["codec"])))
            for k, a in acc.items()}


def render(before_path: str, after_path: str, before: dict[str, ColumnBytes], after: dict[str, ColumnBytes]) -> str:
    columns = list(dict.fromkeys([*before, *after]))
    total_b = sum(c.bytes for c in before.values())
    total_a = sum(c.bytes for c in after.values())
    biggest = max([c.bytes for c in before.values()] + [c.bytes for c in after.values()] + [1])
    body = [f"<p>Before: <code>{p.e(before_path)}</code><br>After: <code>{p.e(after_path)}</code></p>",
            p.cards([("before", human_bytes(total_b)), ("after", human_bytes(total_a)),
                     ("saved", human_bytes(max(total_b - total_a, 0))),
                     ("ratio", f"{total_b / total_a:.2f}x" if total_a else "-"), ("columns", str(len(columns)))]),
            "<h2>Bytes per column</h2>", p.legend([("#bbb", "before"), ("#1565c0", "after")])]
    rows = []
    for name in columns:
        b, a = before.get(name), after.get(name)
        bb, ab = (b.bytes if b else 0), (a.bytes if a else 0)
        rows.append([p.code(name), p.text((a or b).physical_type), p.nbytes(bb), p.text(f"{b.encodings} / {b.compression}" if b else "-"),
                     p.nbytes(ab), p.text(f"{a.encodings} / {a.compression}" if a else "-"),
                     p.number(round(bb / ab, 3) if ab else 0, f"{bb / ab:.2f}x" if ab else "-"),
                     p.Cell(p.bar(bb, biggest, color="grey").html + "<br>" + p.bar(ab, biggest).html, bb - ab, numeric=True)])
    body.append(p.table("columns", ["column", "type", "before", "before: encodings / codec", "after",
                                    "after: encodings / codec", "ratio", ""], rows))
    by_encoding: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for side, cols in ((0, before), (1, after)):
        for c in cols.values():
            entry = by_encoding[(c.encodings, c.compression)]
            entry[side] += c.bytes
            entry[side + 2] += 1
    body.append("<h2>Bytes per encoding</h2><p class=muted>Columns grouped by the encodings and codec of their column "
                "chunks, on each side.</p>")
    body.append(p.table("encodings", ["encodings", "codec", "columns before", "bytes before", "columns after", "bytes after"], (
        [p.code(enc), p.text(codec), p.number(v[2]), p.nbytes(v[0]), p.number(v[3]), p.nbytes(v[1])]
        for (enc, codec), v in sorted(by_encoding.items(), key=lambda kv: -(kv[1][0] + kv[1][1])))))
    return p.page("lakeshrink encodings report", "\n".join(body))


def write_report(before: str | os.PathLike[str], after: str | os.PathLike[str], output: str | os.PathLike[str]) -> dict:
    """Compare the footers of ``before`` and ``after`` (files or directories) into an HTML report at ``output``."""
    b, a = column_bytes(before), column_bytes(after)
    p.write(render(os.fspath(before), os.fspath(after), b, a), output)
    return {"before": os.fspath(before), "after": os.fspath(after), "report": os.fspath(output),
            "before_bytes": sum(c.bytes for c in b.values()), "after_bytes": sum(c.bytes for c in a.values()),
            "columns": len(dict.fromkeys([*b, *a]))}
