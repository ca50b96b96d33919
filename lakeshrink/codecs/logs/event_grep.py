"""``logs grep`` over multi-line events (:mod:`.events`): one chunk's lines grouped into events.

:func:`~lakeshrink.codecs.logs.grep.grep` finds the lines that match its pattern; :class:`EventView` widens
them to whole events and decides each event on its header line:

1. the pattern hits of a chunk are widened to events (an event matches when any of its lines does);
2. :attr:`EventView.candidates` marks the header line of each such event, plus the chunk's last event (it
   may go on in the next chunk); grep's filters (template, time range, ``where``) run on those lines;
3. :meth:`EventView.decide` gives every line of the events that passed, and the chunk's last event as a
   :class:`Pending` when the file has more chunks: its lines are returned once the next chunk shows where it
   ends (the continuation lines at the start of the next chunk belong to it).

A chunk whose every line fits the header format (most logs) keeps grep's line-by-line path: nothing is
grouped. A chunk without any pattern hit only has its tail split by the header format, to find its last event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from lakeshrink.codecs.logs.lazy import polars as pl

from lakeshrink.codecs.logs.events import event_ids, event_starts, leading_continuation
from lakeshrink.codecs.logs.lines import Lines

#: Lines at the end of a chunk without pattern hits that are split by the header to find its last event.
TAIL_LINES = 4096


@dataclass(frozen=True)
class Pending:
    """The last event of a chunk that may go on in the file's next chunk."""

    pos: int  # the chunk's position in its file's chunk list
    rows: tuple[tuple[int, bytes], ...]  # (1-based line number in the file, the line's bytes)
    pattern_hit: bool  # a line of it matched the pattern
    filter_ok: bool  # its header line passed the template, time and where filters


def _line_bytes(lines: Lines, rows: np.ndarray) -> list[bytes]:
    texts = lines.text.gather(rows).to_list()
    return [lines.binary.get(r) or t.encode("utf-8") for r, t in zip(rows.tolist(), texts)]


class EventView:
    """A chunk's lines as events, for one grep (see the module docstring)."""

    def __init__(self, lines: Lines, hits: np.ndarray, header: np.ndarray, carry: Pending | None, start: int) -> None:
        self.lines = lines
        self.start = start  # line number (0-based, in the file) of the chunk's first line
        n = len(hits)
        self.lead = leading_continuation(header) if carry is not None else 0
        self.carry = carry
        self.closed_carry: list[tuple[int, bytes]] = []
        if carry is not None:
            rows = np.arange(self.lead)
            lead_rows = tuple(zip((start + rows + 1).tolist(), _line_bytes(lines, rows)))
            self.carry = Pending(carry.pos, carry.rows + lead_rows, carry.pattern_hit or bool(hits[: self.lead].any()),
                                 carry.filter_ok)
        hits = hits.copy()
        hits[: self.lead] = False
        header = np.asarray(header, dtype=bool).copy()
        if self.lead and self.lead < n:
            header[: self.lead] = False
            header[self.lead] = True
        self.body = self.lead < n  # the chunk holds lines beyond the carried event
        self.ids = event_ids(header[self.lead :]) if self.body else np.zeros(0, dtype=np.int64)
        self.start_rows = np.flatnonzero(event_starts(header[self.lead :])) + self.lead if self.body else np.zeros(0, np.int64)
        self.event_hit = np.zeros(len(self.start_rows), dtype=bool)
        self.event_hit[self.ids[hits[self.lead :]]] = True

    @classmethod
    def of(cls, lines: Lines, hits: np.ndarray, header_of: Callable[[pl.Series], np.ndarray], carry: Pending | None,
           start: int) -> EventView | None:
        """The events of a chunk, or None when every line is its own event (grep's line path then applies).

        ``header_of`` tells which of some lines fit the header format.
        """
        n = len(hits)
        if n == 0:
            return None
        if hits.any() or carry is not None:
            header = header_of(lines.text)
        else:  # no hit here: only the last event matters (it may go on in the next chunk)
            lo = max(0, n - TAIL_LINES)
            header = np.ones(n, dtype=bool)
            header[lo:] = header_of(lines.text.slice(lo))
        if carry is None and header.all():
            return None
        return cls(lines, hits, header, carry, start)

    def carried(self, *, more: bool) -> list[tuple[int, bytes]]:
        """The carried event's lines when it ends in this chunk (or the file ends) and it matched, else []."""
        c = self.carry
        if c is None or (not self.body and more):
            return []
        return list(c.rows) if c.pattern_hit and c.filter_ok else []

    def candidates(self) -> np.ndarray:
        """Header lines to run grep's filters on: those of matching events and of the chunk's last event."""
        out = np.zeros(len(self.lines), dtype=bool)
        if self.body:
            out[self.start_rows[self.event_hit]] = True
            out[self.start_rows[-1]] = True
        return out

    def decide(self, passed: np.ndarray, pos: int, *, more: bool) -> tuple[np.ndarray, Pending | None]:
        """The lines to return, given which candidate header lines passed the filters, and the pending event."""
        n = len(self.lines)
        if not self.body:  # the whole chunk goes on with the carried event
            return np.zeros(n, dtype=bool), (Pending(pos, *_rest(self.carry)) if more and self.carry else None)
        ok = np.asarray(passed, dtype=bool)[self.start_rows]
        keep = self.event_hit & ok
        pending = None
        if more:
            last = int(self.start_rows[-1])
            keep[-1] = False
            rows = np.arange(last, n)
            pending = Pending(pos, tuple(zip((self.start + rows + 1).tolist(), _line_bytes(self.lines, rows))),
                              bool(self.event_hit[-1]), bool(ok[-1]))
        out = np.zeros(n, dtype=bool)
        out[self.lead :] = keep[self.ids]
        return out, pending


def _rest(p: Pending) -> tuple:
    return p.rows, p.pattern_hit, p.filter_ok


def flush(pending: Pending | None) -> Iterator[tuple[int, bytes]]:
    """The lines of an event still pending when its file ends (its next chunk was never read)."""
    if pending is not None and pending.pattern_hit and pending.filter_ok:
        yield from pending.rows
