"""Trial encodes: write the sample once per candidate setting and measure every column from the footer.

Trials are batched by candidate, not by column: for each candidate setting one in-memory Parquet file holds every
column for which that setting is legal, and the per-column sizes come from the column-chunk metadata
(``total_compressed_size``, which counts page headers and the dictionary page). A 1,000-column table thus costs
one write per candidate rather than one per column and candidate. Leaves that share a top-level column with a
measured leaf but cannot use the candidate are written with a cheap baseline and not measured.

Decode time per column and candidate is the minimum over a few repetitions of reading that leaf alone from the
in-memory file with one thread (pyarrow's reader, as a query engine would); timings are noisy, the minimum is the
most stable statistic of them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from lakeshrink.codecs.encodings.candidates import Candidate
from lakeshrink.codecs.encodings.plan import settings_kwargs
from lakeshrink.codecs.encodings.schema import LeafColumn
from lakeshrink.progress import progress

BASELINE = Candidate(False, "PLAIN", "NONE")


@dataclass(frozen=True)
class TrialResult:
    """What one candidate setting gave on one column of the sample.

    Attributes:
        bytes: compressed bytes of the column chunk(s), page headers and dictionary page included.
        dict_bytes: bytes of the dictionary page (0 without one).
        decode_seconds: best time to read the column alone (``None`` when decode timing was off).
    """

    bytes: int
    dict_bytes: int
    decode_seconds: float | None


def _time_read(reader: pq.ParquetReader, index: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        reader.read_all(column_indices=[index], use_threads=False)
        best = min(best, time.perf_counter() - start)
    return best


def encode_one(
    table: pa.Table, leaves: tuple[LeafColumn, ...], settings: Mapping[str, Candidate], **writer: object
) -> pa.Buffer:
    """Write ``table`` to memory with per-leaf ``settings`` (leaves not named use :data:`BASELINE`)."""
    full = {leaf.path: settings.get(leaf.path, BASELINE) for leaf in leaves}
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=max(1, table.num_rows), **settings_kwargs(full), **writer)
    return sink.getvalue()


def measure(
    buffer: pa.Buffer, paths: set[str], *, time_decode: bool, repeats: int
) -> dict[str, TrialResult]:
    """Per-leaf sizes (and decode times) of the leaves ``paths`` in an in-memory Parquet file."""
    pf = pq.ParquetFile(pa.BufferReader(buffer))
    meta = pf.metadata
    out: dict[str, TrialResult] = {}
    for i in range(meta.num_columns):
        path = pf.schema.column(i).path
        if path not in paths:
            continue
        total = dict_bytes = 0
        for rg in range(meta.num_row_groups):
            chunk = meta.row_group(rg).column(i)
            total += chunk.total_compressed_size
            if chunk.has_dictionary_page and chunk.dictionary_page_offset is not None:
                dict_bytes += chunk.data_page_offset - chunk.dictionary_page_offset
        seconds = _time_read(pf.reader, i, repeats) if time_decode else None
        out[path] = TrialResult(total, dict_bytes, seconds)
    return out


def run_trials(
    table: pa.Table,
    leaves: tuple[LeafColumn, ...],
    candidates: Mapping[str, tuple[Candidate, ...]],
    *,
    time_decode: bool = True,
    repeats: int = 3,
) -> dict[str, dict[Candidate, TrialResult]]:
    """Trial-encode ``table`` with every candidate of every leaf, one in-memory file per distinct candidate.

    Args:
        table: the sample (or, for an exhaustive oracle, the whole table).
        leaves: the table's Parquet leaves (:func:`~lakeshrink.codecs.encodings.schema.leaf_columns`).
        candidates: leaf path -> the candidates to try on it.
        time_decode: also time decoding each column (needed by the ``speed`` and ``balanced`` objectives).
        repeats: timing repetitions; the minimum is kept.

    Returns:
        leaf path -> candidate -> :class:`TrialResult`.
    """
    by_candidate: dict[Candidate, list[LeafColumn]] = {}
    for leaf in leaves:
        for cand in candidates.get(leaf.path, ()):
            by_candidate.setdefault(cand, []).append(leaf)
    results: dict[str, dict[Candidate, TrialResult]] = {leaf.path: {} for leaf in leaves}
    with progress("trial encodes", total=len(by_candidate)) as bar:
        for cand in sorted(by_candidate, key=lambda c: c.key):
            members = by_candidate[cand]
            tops = list(dict.fromkeys(leaf.top for leaf in members))
            top_set = set(tops)
            sub_leaves = tuple(leaf for leaf in leaves if leaf.top in top_set)
            paths = {leaf.path for leaf in members}
            buffer = encode_one(table.select(tops), sub_leaves, {p: cand for p in paths})
            for path, result in measure(buffer, paths, time_decode=time_decode, repeats=repeats).items():
                results[path][cand] = result
            bar.advance()
    return results
