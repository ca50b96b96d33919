"""Multi-line events: a header line and the continuation lines after it (stack traces, multi-line SQL).

A log writes one *event* per header (``2026-11-30 12:43:17,446 ERROR ...``); some events go on over several
lines that do not start with a header: Java stack frames (``\\tat org.example.Main.run(Main.java:12)``,
``Caused by: ...``, ``... 3 more``), Python tracebacks, the rest of a PostgreSQL statement written over several
lines. Here, as in CLP and Loki's multi-line stage, a line is a *continuation* when it does not fit the file's
header format; it belongs to the nearest header line before it. Lines before the first header line of a file
(a file that starts inside an event) make one event of their own.

The archive stores lines exactly as before (continuation lines are kept whole, in the residue): events are
read from which lines fit the header, so

* a template counts events: an event's template is its header line's, and continuation lines never form
  templates of their own nor count as lines of another template;
* ``logs grep`` returns whole events: when any line of an event matches, every line of it is returned.

Nothing here changes the bytes of an archive, so every archive, old or new, gives the same events.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from lakeshrink.codecs.logs.lazy import polars as pl

from lakeshrink.codecs.logs.header import CONTENT, FIELD_SHAPES, LogFormat, split_header

#: The header fields whose shape tells a header line from a continuation line: an event starts with its time.
TIME_FIELDS = frozenset({"Date", "Day", "Month", "Time", "Timestamp"})
#: At most this many lines are kept for format detection (see :func:`detection_sample`).
DETECTION_LINES = 200


def header_lines(fmt: LogFormat, lines: pl.Series) -> np.ndarray:
    """Which ``lines`` start an event: they fit ``fmt`` and each field of a known name looks as it should
    (a date or time holds a digit: :data:`~lakeshrink.codecs.logs.header.FIELD_SHAPES` of the time fields), so that
    ``Caused by: java.io.IOException: disk full`` does not pass for ``<Date> <Time> <Level> <Content>``.

    Without header fields (``<Content>``) every line is an event.
    """
    if all(p.name == CONTENT for p in fmt.parts if p.kind == "field"):
        return np.ones(len(lines), dtype=bool)
    split = split_header(fmt, lines.str.strip_suffix("\r"))
    return (split.matched & times_look_right(fmt, split.parts)).fill_null(False).to_numpy()


def times_look_right(fmt: LogFormat, parts: pl.DataFrame) -> pl.Series | bool:
    """Per line of a header split: its time fields have the shape of a time (True without time fields).

    The chunk encoder keeps lines that fail this whole, like lines that do not fit the header, so that the
    continuation lines of an event never form templates of their own.
    """
    ok: pl.Series | bool = True
    for part in fmt.parts:
        shape = FIELD_SHAPES.get(part.name)
        if part.kind == "field" and shape is not None and part.name in TIME_FIELDS:
            ok = parts[part.group].str.contains(shape) & ok
    return ok


def event_starts(header: np.ndarray) -> np.ndarray:
    """Which lines start an event, given which lines fit the header format.

    A header line starts an event; so does the first line, header or not (lines before the first header
    line of a file are an event of their own). ``header`` is a bool array, one per line.
    """
    starts = np.asarray(header, dtype=bool).copy()
    if len(starts):
        starts[0] = True
    return starts


def event_ids(header: np.ndarray) -> np.ndarray:
    """The event number (0-based, in line order) of each line."""
    return np.cumsum(event_starts(header)) - 1


def expand(hits: np.ndarray, header: np.ndarray) -> np.ndarray:
    """``hits`` widened to whole events: a line is kept when any line of its event is (one pass, vectorised)."""
    hits = np.asarray(hits, dtype=bool)
    if not hits.any():
        return hits
    ids = event_ids(header)
    hit_events = np.zeros(int(ids[-1]) + 1, dtype=bool)
    hit_events[ids[hits]] = True
    return hit_events[ids]


def leading_continuation(header: np.ndarray) -> int:
    """How many lines come before the first header line (all of them when there is none)."""
    header = np.asarray(header, dtype=bool)
    first = np.flatnonzero(header)
    return int(first[0]) if len(first) else len(header)


def trailing_event(header: np.ndarray) -> int:
    """Where the last event starts (0 when no line is a header line: everything may continue an earlier event)."""
    first = np.flatnonzero(np.asarray(header, dtype=bool))
    return int(first[-1]) if len(first) else 0


def detection_sample(lines: Sequence[str], limit: int = DETECTION_LINES) -> list[str]:
    """Lines to detect a header format from: indented lines (stack frames, continued SQL) left out.

    A log with long stack traces can have more continuation lines than header lines among its first
    hundreds; detection would then find no format that fits half of them. Lines that start with whitespace
    are never a header's first field, so they are dropped before detection (unless nothing else is left).
    """
    kept = [line for line in lines if line and not line[0].isspace()]
    if not kept:
        kept = list(lines)
    return kept[:limit]
