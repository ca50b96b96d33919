"""``logs stats --by template --every 1h``: line counts per template and time bucket, chunk by chunk.

A columnar chunk knows each line's template from its kind column; each line's time is parsed from its header
time fields, a ``timestamp``-like JSON key or a leading time (:func:`~lakeshrink.codecs.logs.query.line_times`).
Lines of no template count under ``(no template)``, lines of no time under bucket None.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np
from lakeshrink.codecs.logs.lazy import polars as pl

from lakeshrink.codecs.logs.archive import ArchiveReader
from lakeshrink.codecs.logs.chunk import MODE_COLUMNAR, TEMPLATE_BASE, chunk_format, line_kinds
from lakeshrink.codecs.logs.header import parse_format
from lakeshrink.codecs.logs.lines import split_lines
from lakeshrink.codecs.logs.query import line_times
from lakeshrink.errors import InputError

NO_TEMPLATE = "(no template)"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class StatRow:
    bucket: float | None  # epoch seconds of the bucket's start (UTC), None for lines without a time
    template: str
    lines: int


def parse_every(text: str) -> float:
    """``"1h"`` -> 3600.0 (units s, m, h, d).

    Raises:
        InputError: not a positive number with one of those units.
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if not m or float(m.group(1)) <= 0:
        raise InputError(f"--every {text!r}: expected a duration such as 30s, 5m, 1h or 1d")
    return float(m.group(1)) * _UNITS[m.group(2)]


def template_stats(archive: str | os.PathLike[str], every: float, *, year: int | None = None) -> list[StatRow]:
    """Lines per (time bucket of ``every`` seconds, template), ordered by bucket then count."""
    frames = []
    with ArchiveReader(archive) as reader:
        for i in range(len(reader.index.chunks)):
            columnar = reader.chunk_payload(i)[:1] == bytes([MODE_COLUMNAR])
            lines = split_lines(reader.read_chunk(i)).text
            if columnar:
                kinds, templates = reader.chunk_meta(i, line_kinds)
                names = {cid + TEMPLATE_BASE: text for cid, text in templates.items()}
                template = pl.Series("k", kinds).replace_strict(names, default=NO_TEMPLATE, return_dtype=pl.String)
            else:
                template = pl.Series("k", [NO_TEMPLATE] * len(lines), dtype=pl.String)
            fmt = parse_format(reader.chunk_meta(i, chunk_format) or reader.index.format)
            times = line_times(lines, fmt, year)
            bucket = (times / every).floor() * every
            frames.append(pl.DataFrame({"bucket": bucket, "template": template}))
    if not frames:
        return []
    counts = pl.concat(frames).group_by("bucket", "template").len().sort(["bucket", "len", "template"],
                                                                          descending=[False, True, False], nulls_last=True)
    return [StatRow(None if b is None or np.isnan(b) else float(b), t, int(n)) for b, t, n in counts.iter_rows()]
