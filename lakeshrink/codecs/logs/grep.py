"""Search an archive without decompressing what cannot match (after CLP, Rodrigues et al. OSDI'21).

Two things let :func:`grep` skip chunks, both read from the index alone:

* the templates of each chunk: with ``template=`` only chunks holding that template are opened, and within
  them only the lines of that template are returned;
* a trigram Bloom filter of each large chunk: a literal pattern (``fixed=True``, or a regex without
  metacharacters) is looked for only in chunks whose filter holds all its trigrams.

Chunks that may match are decoded and searched with polars' vectorised regex on the whole chunk; lines that
are not UTF-8 with RE2 on their bytes. Both engines run in time linear in the line (no backtracking), so no
pattern can hang a search; a pattern either engine refuses is an :class:`~lakeshrink.errors.InputError`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
from lakeshrink.codecs.logs.lazy import polars as pl
import re2

from lakeshrink.codecs.logs.archive import ArchiveReader, bloom_may_contain, template_hash
from lakeshrink.codecs.logs.chunk import MODE_COLUMNAR, TEMPLATE_BASE, chunk_format, chunk_templates, line_kinds, time_key
from lakeshrink.codecs.logs.event_grep import EventView, Pending
from lakeshrink.codecs.logs.events import header_lines
from lakeshrink.codecs.logs.header import parse_format, split_header
from lakeshrink.codecs.logs.lines import split_lines
from lakeshrink.codecs.logs.query import Where, line_times, parse_time, where_mask
from lakeshrink.errors import InputError


@dataclass(frozen=True)
class GrepMatch:
    file: str
    line_number: int  # 1-based, within its file
    line: bytes  # without its line terminator


@dataclass
class GrepStats:
    chunks: int = 0
    chunks_read: int = 0
    matches: int = 0
    skipped_by: dict[str, int] = field(default_factory=lambda: {"template": 0, "time": 0, "bloom": 0})


@dataclass(frozen=True)
class TemplateCount:
    template: str
    lines: int
    chunks: int


def list_templates(archive: str | os.PathLike[str]) -> list[TemplateCount]:
    """Every template in the archive with its line count, most frequent first.

    Counts come from the index; each template's text is read from the first section of a chunk holding it.
    """
    lines: dict[int, int] = {}
    chunks: dict[int, int] = {}
    texts: dict[int, str] = {}
    with ArchiveReader(archive) as reader:
        for i, entry in enumerate(reader.index.chunks):
            for key, count in entry.templates:
                lines[key] = lines.get(key, 0) + count
                chunks[key] = chunks.get(key, 0) + 1
            if any(key not in texts for key, _ in entry.templates):
                for text in reader.chunk_meta(i, chunk_templates).values():
                    texts.setdefault(template_hash(text), text)
    rows = [TemplateCount(texts.get(k, f"<template {k:08x}>"), n, chunks[k]) for k, n in lines.items()]
    return sorted(rows, key=lambda r: (-r.lines, r.template))


def _literal(pattern: str, fixed: bool, ignore_case: bool) -> bytes | None:
    if ignore_case:
        return None
    if fixed or re.escape(pattern) == pattern:
        return pattern.encode("utf-8")
    return None


def _contains(lines: pl.Series, regex: str, literal: str | None) -> pl.Series:
    """Which lines hold ``literal`` (a substring search, no regex engine) or else match ``regex``."""
    if literal is not None:
        return lines.str.contains(literal, literal=True)
    return lines.str.contains(regex)


def _template_rows(payload: bytes, raw_bytes: int, template: str) -> np.ndarray | None:
    """Line numbers (0-based) of ``template``'s lines in a columnar chunk; None when the chunk is not columnar."""
    if payload[0] != MODE_COLUMNAR:
        return None
    kinds, templates = line_kinds(payload, raw_bytes)
    ids = [cid for cid, text in templates.items() if text == template]
    return np.nonzero(np.isin(kinds, [cid + TEMPLATE_BASE for cid in ids]))[0]


def _time_overlaps(span: tuple[str, str] | None, lo: str | None, hi: str | None) -> bool:
    if span is None:
        return lo is None and hi is None
    return (lo is None or span[1] >= lo) and (hi is None or span[0] <= hi)


def _time_mask(payload: bytes, raw_bytes: int, default_format: str, lines: pl.Series, lo: str | None,
               hi: str | None) -> np.ndarray:
    fmt = parse_format(chunk_format(payload, raw_bytes) or default_format)
    split = split_header(fmt, lines)
    key = time_key(fmt, split.parts)
    if key is None:
        return np.zeros(len(lines), dtype=bool)
    ok = split.matched
    if lo is not None:
        ok = ok & (key >= lo)
    if hi is not None:
        ok = ok & (key <= hi)
    return ok.fill_null(False).to_numpy()


def _parsed_range(lo: str | None, hi: str | None, year: int | None) -> tuple[float | None, float | None]:
    """Both given ends as epoch seconds when they all read as times, else (None, None) (text comparison)."""
    if lo is None and hi is None:
        return None, None
    parsed = [parse_time(t, year) if t is not None else None for t in (lo, hi)]
    if any(t is not None and p is None for t, p in zip((lo, hi), parsed)):
        return None, None
    return parsed[0], parsed[1]


def _chunk_in_range(span: tuple[str, str] | None, lo: str | None, hi: str | None, t_lo: float | None,
                    t_hi: float | None, year: int | None) -> bool:
    if t_lo is None and t_hi is None:
        return _time_overlaps(span, lo, hi)
    if span is None or not span[0][:4].isdigit() or not span[1][:4].isdigit():
        return True  # month names (or no time fields) do not sort as text: the chunk's lines are checked
    first, last = parse_time(span[0], year), parse_time(span[1], year)
    if first is None or last is None:
        return True
    return (t_lo is None or last >= t_lo) and (t_hi is None or first <= t_hi)


def _skip_reason(entry, template: str | None, needle: bytes | None, times: tuple) -> str | None:
    """Why the index rules a chunk out (``"template"``, ``"time"``, ``"bloom"``), or None."""
    if template is not None and template_hash(template) not in {t for t, _ in entry.templates}:
        return "template"
    if not _chunk_in_range(entry.time_range, *times):
        return "time"
    if needle is not None and not bloom_may_contain(entry.bloom, needle):
        return "bloom"
    return None


def _chunk_fmt(reader: ArchiveReader, i: int):
    return parse_format(reader.chunk_meta(i, chunk_format) or reader.index.format)


def _header_of(reader: ArchiveReader, i: int) -> Callable[[pl.Series], np.ndarray]:
    """Which of some lines of chunk ``i`` fit its header format (the start of a multi-line event)."""

    return lambda lines: header_lines(_chunk_fmt(reader, i), lines)


def compile_pattern(regex: str, pattern: str, *, literal: bool = False) -> re2._Regexp:
    """Check ``regex`` with both engines grep uses (polars' Rust regex on text, RE2 on the bytes of lines that
    are not UTF-8); both are linear-time. Returns the RE2 pattern for bytes. A ``literal`` pattern is searched
    as a substring in text (no regex engine), so only RE2 checks it (and polars need not be imported).

    Raises:
        InputError: either engine refuses the pattern.
    """
    try:
        if not literal:
            pl.Series(["x"]).str.contains(regex)
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"invalid pattern {pattern!r}: {' '.join(str(exc).split())[:300]}") from exc
    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1  # byte semantics: '.' matches any byte, as in the text lines
    options.log_errors = False
    try:
        return re2.compile(regex.encode("utf-8"), options)
    except re2.error as exc:
        raise InputError(f"invalid pattern {pattern!r}: {exc}") from exc


def grep(
    archive: str | os.PathLike[str],
    pattern: str,
    *,
    fixed: bool = False,
    ignore_case: bool = False,
    template: str | None = None,
    time_from: str | None = None,
    time_to: str | None = None,
    stats: GrepStats | None = None,
    where: list[Where] | None = None,
    year: int | None = None,
    events: bool = True,
) -> Iterator[GrepMatch]:
    """Lines of the archive matching ``pattern`` (a regex, or a literal with ``fixed``), in archive order.

    With ``events`` (the default) whole multi-line events are returned (:mod:`.events`): when any line of an
    event matches the pattern, all its lines are, and ``template``, the time range and ``where`` are checked
    on the event's header line (continuation lines have no fields of their own).

    ``template`` keeps only that template's lines; ``time_from`` / ``time_to`` (inclusive) keep lines whose
    time key (their time fields joined by spaces, e.g. ``"2015-10-18 18:01:47,978"``, see
    :func:`~lakeshrink.codecs.logs.chunk.time_key`) is in range, compared as text. Chunks whose template list
    or time range rules them out are not read.

    When both ends that are given read as times (ISO dates, month names as syslog writes them, epoch seconds:
    :func:`~lakeshrink.codecs.logs.query.parse_times`), lines are compared by their parsed time instead
    (:func:`~lakeshrink.codecs.logs.query.line_times`; month names take the year ``year``, default this
    year). ``where`` keeps lines whose fields meet every condition (``status=500``, ``duration>100``).

    Raises:
        InputError: the pattern is not a valid regex.
    """
    stats = stats if stats is not None else GrepStats()
    t_lo, t_hi = _parsed_range(time_from, time_to, year)
    regex = re.escape(pattern) if fixed else pattern
    if ignore_case:
        regex = "(?i)" + regex
    needle = _literal(pattern, fixed, ignore_case)
    literal = needle.decode("utf-8") if needle is not None else None
    binary_regex = compile_pattern(regex, pattern, literal=literal is not None)
    with ArchiveReader(archive) as reader:
        for file_entry in reader.index.files:
            first_line = 0
            pending: Pending | None = None
            for pos, i in enumerate(file_entry.chunks):
                entry = reader.index.chunks[i]
                stats.chunks += 1
                start, first_line = first_line, first_line + entry.lines
                carry, pending = (pending if pending is not None and pending.pos == pos - 1 else None), None
                skip = _skip_reason(entry, template, needle, (time_from, time_to, t_lo, t_hi, year))
                if skip is not None and not (carry is not None and carry.filter_ok):
                    stats.skipped_by[skip] += 1  # (an event that may match and goes on here is read anyway)
                    continue
                stats.chunks_read += 1
                data = reader.read_chunk(i)
                more = pos < len(file_entry.chunks) - 1
                if needle is not None and carry is None and not (events and more) and needle not in data:
                    # a literal in none of the chunk's bytes: no line matches, and no event goes on into a
                    # next chunk; the lines need not be split (nor polars imported)
                    continue
                lines = split_lines(data)
                hits = _contains(lines.text, regex, literal).fill_null(False).to_numpy()
                for row in lines.binary:
                    hits[row] = binary_regex.search(lines.binary[row]) is not None
                grouped = EventView.of(lines, hits, _header_of(reader, i), carry, start) if events else None
                if grouped is not None:
                    for number, line in grouped.carried(more=more):
                        stats.matches += 1
                        yield GrepMatch(file_entry.path, number, line)
                    hits = grouped.candidates()
                if t_lo is not None or t_hi is not None:
                    times = line_times(lines.text, _chunk_fmt(reader, i), year).to_numpy()
                    with np.errstate(invalid="ignore"):
                        hits &= (times >= (t_lo if t_lo is not None else -np.inf)) & (times <= (t_hi if t_hi is not None else np.inf))
                elif time_from is not None or time_to is not None:
                    hits &= reader.chunk_meta(i, lambda p, n: _time_mask(p, n, reader.index.format, lines.text,
                                                                         time_from, time_to))
                if where and hits.any():
                    rows = np.flatnonzero(hits)
                    keep = where_mask(lines.text.gather(rows), where, _chunk_fmt(reader, i))
                    hits[rows[~keep]] = False
                if template is not None:
                    rows = reader.chunk_meta(i, lambda p, n: _template_rows(p, n, template))
                    keep = np.zeros(len(hits), dtype=bool)
                    if rows is not None:
                        keep[rows] = True
                    hits &= keep
                if grouped is not None:
                    hits, pending = grouped.decide(hits, pos, more=more)
                rows = np.flatnonzero(hits)
                texts = lines.text.gather(rows).to_list()  # only the matching lines become Python strings
                for row, text in zip(rows.tolist(), texts):
                    raw = lines.binary.get(row)
                    stats.matches += 1
                    yield GrepMatch(file_entry.path, start + row + 1, raw if raw is not None else text.encode("utf-8"))
