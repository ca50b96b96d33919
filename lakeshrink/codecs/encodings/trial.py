"""Trial encodes: write the sample once per candidate setting and measure every column from the footer.

Trials are batched by candidate, not by column: for each candidate setting one in-memory Parquet file holds every
column for which that setting is legal, and the per-column sizes come from the column-chunk metadata
(``total_compressed_size``, which counts page headers and the dictionary page). A 1,000-column table thus costs
one write per candidate rather than one per column and candidate. Leaves that share a top-level column with a
measured leaf but cannot use the candidate are written with a cheap baseline and not measured.

Decode time per column and candidate is the minimum over a few repetitions (fewer once two reads agree within
10%) of reading that leaf alone from the in-memory file with one thread (pyarrow's reader, as a query engine would); timings are noisy, the minimum is the
most stable statistic of them.

High zstd levels are slow, and pyarrow sets up a fresh compression context per column chunk (milliseconds at
level 19), which would make wide tables slow to advise. With ``emulate_levels`` (the default), ZSTD at levels
other than 1 is not written: each column chunk of the uncompressed trial (``NONE``) is compressed with the
``zstandard`` package at the other levels, reusing one compressor per level, and the real ZSTD-1 size is scaled
by ``size(level) / size(1)`` of those compressions; only the encodings that are among the smallest at ZSTD-1 are
tried so (``shortlist_size``). Decode time of zstd barely depends on the level, so the ZSTD-1 timing is reused.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from lakeshrink.codecs.encodings.candidates import Candidate
from lakeshrink.codecs.encodings.plan import settings_kwargs
from lakeshrink.codecs.encodings.schema import LeafColumn
from lakeshrink.progress import progress

BASELINE = Candidate(False, "PLAIN", "NONE")
MAX_ROWS_PER_PAGE = 1 << 20  # the plans' page row cap (pyarrow's default of 20,000 multiplies page headers)


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


AGREE = 0.10  # two reads within 10% of each other end the timing of a column early


def _time_read(reader: pq.ParquetReader, index: int, repeats: int) -> float:
    """Best of up to ``repeats`` reads of one column; stops once a read agrees with the best so far."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        reader.read_all(column_indices=[index], use_threads=False)
        seconds = time.perf_counter() - start
        if abs(seconds - best) <= AGREE * min(seconds, best):
            return min(best, seconds)
        best = min(best, seconds)
    return best


def encode_one(
    table: pa.Table, leaves: tuple[LeafColumn, ...], settings: Mapping[str, Candidate], **writer: object
) -> pa.Buffer:
    """Write ``table`` to memory with per-leaf ``settings`` (leaves not named use :data:`BASELINE`)."""
    full = {leaf.path: settings.get(leaf.path, BASELINE) for leaf in leaves}
    sink = pa.BufferOutputStream()
    writer.setdefault("max_rows_per_page", MAX_ROWS_PER_PAGE)
    pq.write_table(table, sink, row_group_size=max(1, table.num_rows), **settings_kwargs(full), **writer)
    return sink.getvalue()


def measure(
    buffer: pa.Buffer, paths: set[str], *, time_decode: bool, repeats: int, raw: dict[str, bytes] | None = None
) -> dict[str, TrialResult]:
    """Per-leaf sizes (and decode times) of the leaves ``paths`` in an in-memory Parquet file.

    When ``raw`` is given, the bytes of each measured column chunk are stored in it too.
    """
    pf = pq.ParquetFile(pa.BufferReader(buffer))
    meta = pf.metadata
    out: dict[str, TrialResult] = {}
    for i in range(meta.num_columns):
        path = pf.schema.column(i).path
        if path not in paths:
            continue
        total = dict_bytes = 0
        pieces = []
        for rg in range(meta.num_row_groups):
            chunk = meta.row_group(rg).column(i)
            total += chunk.total_compressed_size
            start = chunk.data_page_offset
            if chunk.has_dictionary_page and chunk.dictionary_page_offset is not None:
                dict_bytes += chunk.data_page_offset - chunk.dictionary_page_offset
                start = chunk.dictionary_page_offset
            if raw is not None:
                pieces.append(buffer[start:start + chunk.total_compressed_size].to_pybytes())
        if raw is not None:
            raw[path] = b"".join(pieces)
        seconds = _time_read(pf.reader, i, repeats) if time_decode else None
        out[path] = TrialResult(total, dict_bytes, seconds)
    return out


def footer_overhead(table: pa.Table, leaves: tuple[LeafColumn, ...], *, store_schema: bool = True) -> int:
    """Bytes of a Parquet file of ``table``'s schema beyond its column chunks (footer, schema, magic).

    Measured on a one-row file; statistics and the stored Arrow schema make it grow with the number of columns.
    """
    if table.num_columns == 0:
        return 0
    buffer = encode_one(table.slice(0, 1), leaves, {}, store_schema=store_schema)
    meta = pq.ParquetFile(pa.BufferReader(buffer)).metadata
    chunks = sum(meta.row_group(rg).column(i).total_compressed_size
                 for rg in range(meta.num_row_groups) for i in range(meta.num_columns))
    return max(0, buffer.size - chunks)


def _emulated(cand: Candidate) -> bool:
    return cand.compression == "ZSTD" and cand.level not in (None, 1)


def _base(cand: Candidate, codec: str, level: int | None) -> Candidate:
    return Candidate(cand.dictionary, cand.encoding, codec, level)


EMULATION_BYTES = 16 * 1024  # bytes of a chunk compressed per level (evenly spaced slices above that)
_SLICES = 8


def _probe(data: bytes, limit: int = EMULATION_BYTES) -> bytes:
    """At most ``limit`` bytes of ``data``: all of it, or ``_SLICES`` evenly spaced slices concatenated."""
    if len(data) <= limit:
        return data
    size = limit // _SLICES
    step = (len(data) - size) / (_SLICES - 1)
    return b"".join(data[int(i * step):int(i * step) + size] for i in range(_SLICES))


class _LevelModel:
    """Scales real ZSTD-1 sizes to other levels from ``zstandard`` compressions of the uncompressed chunks.

    The ratio ``size(level) / size(1)`` is measured on at most :data:`EMULATION_BYTES` of each chunk (evenly
    spaced slices), since level 19 compresses at a few MB/s.
    """

    def __init__(self) -> None:
        self._compressors: dict[int, zstandard.ZstdCompressor] = {}

    def sizes(self, probes: list[bytes], level: int) -> list[int]:
        """Compressed sizes of many probes at ``level``, in parallel on every core (zstandard's C threads)."""
        comp = self._compressors.get(level)
        if comp is None:
            comp = self._compressors[level] = zstandard.ZstdCompressor(level=level)
        if len(probes) > 1 and hasattr(comp, "multi_compress_to_buffer") and all(probes):
            out = comp.multi_compress_to_buffer(probes, threads=-1)
            return [len(out[i]) for i in range(len(out))]
        return [len(comp.compress(p)) for p in probes]

    @staticmethod
    def scaled(level1: TrialResult, size: int, level1_size: int) -> TrialResult:
        factor = size / level1_size if level1_size else 1.0
        return TrialResult(max(1, int(round(level1.bytes * factor))), int(round(level1.dict_bytes * factor)),
                           level1.decode_seconds)


def _shortlist(results: Mapping[Candidate, TrialResult], size: int) -> set[Candidate]:
    """The ``size`` encodings (as their NONE-codec candidates) smallest under ZSTD-1."""
    level1 = sorted((r.bytes, c.key, c) for c, r in results.items() if c.compression == "ZSTD" and c.level == 1)
    return {_base(c, "NONE", None) for _, _, c in level1[:size]}


def run_trials(
    table: pa.Table,
    leaves: tuple[LeafColumn, ...],
    candidates: Mapping[str, tuple[Candidate, ...]],
    *,
    time_decode: bool = True,
    repeats: int = 3,
    emulate_levels: bool = True,
    shortlist_size: int = 2,
) -> dict[str, dict[Candidate, TrialResult]]:
    """Trial-encode ``table`` with every candidate of every leaf, one in-memory file per distinct candidate.

    Args:
        table: the sample (or, for an exhaustive oracle, the whole table).
        leaves: the table's Parquet leaves (:func:`~lakeshrink.codecs.encodings.schema.leaf_columns`).
        candidates: leaf path -> the candidates to try on it.
        time_decode: also time decoding each column (needed by the ``speed`` and ``balanced`` objectives).
        repeats: timing repetitions; the minimum is kept.
        emulate_levels: estimate ZSTD levels other than 1 from ``zstandard`` compressions (see above) instead
            of writing them; ``False`` writes every candidate (exact, slower).
        shortlist_size: with ``emulate_levels``, only the encodings (dictionary counting as one) that are among
            the ``shortlist_size`` smallest at ZSTD-1 are tried at the other levels; the rest are left out of
            the results (a higher level does not reorder encodings that far apart).

    Returns:
        leaf path -> candidate -> :class:`TrialResult`.
    """
    by_candidate: dict[Candidate, list[LeafColumn]] = {}
    emulated: dict[str, list[Candidate]] = {}
    for leaf in leaves:
        wanted = list(candidates.get(leaf.path, ()))
        if emulate_levels:
            emulated[leaf.path] = [c for c in wanted if _emulated(c)]
            bases = {_base(c, codec, level) for c in emulated[leaf.path] for codec, level in (("NONE", None), ("ZSTD", 1))}
            wanted = [c for c in wanted if not _emulated(c)] + sorted(bases - set(wanted))
        for cand in wanted:
            by_candidate.setdefault(cand, []).append(leaf)
    results: dict[str, dict[Candidate, TrialResult]] = {leaf.path: {} for leaf in leaves}
    raw: dict[tuple[str, Candidate], bytes] = {}
    with progress("trial encodes", total=len(by_candidate)) as bar:
        for cand in sorted(by_candidate, key=lambda c: c.key):
            members = by_candidate[cand]
            tops = list(dict.fromkeys(leaf.top for leaf in members))
            top_set = set(tops)
            sub_leaves = tuple(leaf for leaf in leaves if leaf.top in top_set)
            paths = {leaf.path for leaf in members}
            buffer = encode_one(table.select(tops), sub_leaves, {p: cand for p in paths})
            chunks: dict[str, bytes] | None = {} if emulate_levels and cand.compression == "NONE" else None
            for path, result in measure(buffer, paths, time_decode=time_decode, repeats=repeats, raw=chunks).items():
                results[path][cand] = result
            for path, data in (chunks or {}).items():
                raw[(path, cand)] = data
            bar.advance()
    _emulate(results, emulated, raw, shortlist_size)
    return results


def _emulate(
    results: dict[str, dict[Candidate, TrialResult]],
    emulated: Mapping[str, list[Candidate]],
    raw: Mapping[tuple[str, Candidate], bytes],
    shortlist_size: int,
) -> None:
    """Fill in the emulated ZSTD levels of the shortlisted encodings; all probes of a level compressed at once."""
    probes: dict[tuple[str, Candidate], bytes] = {}  # (path, uncompressed candidate) -> probe
    wanted: dict[int, list[tuple[str, Candidate]]] = {}  # level -> (path, candidate) to estimate
    for path, cands in emulated.items():
        shortlist = _shortlist(results[path], shortlist_size)
        for cand in cands:
            base = _base(cand, "NONE", None)
            if base not in shortlist:
                continue
            if (path, base) not in probes:
                probes[(path, base)] = _probe(raw[(path, base)])
            wanted.setdefault(cand.level or 1, []).append((path, cand))
    if not wanted:
        return
    model = _LevelModel()
    keys = list(probes)
    level1 = dict(zip(keys, model.sizes([probes[k] for k in keys], 1)))
    for level, items in sorted(wanted.items()):
        sizes = model.sizes([probes[(path, _base(cand, "NONE", None))] for path, cand in items], level)
        for (path, cand), size in zip(items, sizes):
            results[path][cand] = model.scaled(results[path][_base(cand, "ZSTD", 1)], size,
                                               level1[(path, _base(cand, "NONE", None))])
