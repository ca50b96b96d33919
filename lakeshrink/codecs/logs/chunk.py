"""One chunk of a log: bytes in, a self-contained compressed payload out, and back, byte for byte.

Encoding (after Logzip, Liu et al. ASE'19, and CLP, Rodrigues et al. OSDI'21):

1. split into lines (:mod:`.lines`), keeping ``\\r``, the last ``\\n`` and non-UTF-8 lines exactly;
2. split each line by the header format (:mod:`.header`); lines that do not fit are kept whole (residue);
3. mine templates on Contents (:mod:`.miner`) and extract each line's parameters by its template's regex;
   contents that do not fit their template exactly are kept whole (residue);
4. encode every column by type (:mod:`.columns`): header parts, the per-line *kind* column (template id + 3,
   or 0 = raw line, 1 = non-UTF-8 line, 2 = raw content), the ``\\r`` flags, per-(template, position)
   parameter columns and the residues;
5. pack the streams into compressed sections (:mod:`.packing`); small streams share section 0 with the
   chunk's metadata (JSON), large ones get a section each;
6. decode the payload and compare it with the input. Only a payload that gives back the exact bytes is kept,
   and only when it is smaller than zstd and LZMA2 of the whole chunk; otherwise the chunk is stored that way.

Payload layout (see ``docs/log-archive-format.md``)::

    mode  1 byte  0 = columnar, 1 = whole chunk zstd, 2 = whole chunk raw LZMA2
    mode 0:  varint n_sections, then n_sections sections; section 0 = varint meta_len, meta JSON, streams
    mode 1/2: one section holding the chunk's bytes
"""

from __future__ import annotations

import json
import logging
import lzma
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from lakeshrink.codecs.logs.lazy import polars as pl

from lakeshrink.codecs.logs import columns as col
from lakeshrink.codecs.logs import derived, keyed, linked, structured
from lakeshrink.codecs.logs.events import times_look_right
from lakeshrink.codecs.logs.header import CONTENT, LogFormat, split_header
from lakeshrink.codecs.logs.lines import extract_params, fill_template, join_lines, split_lines, template_literals
from lakeshrink.codecs.logs.miner import TemplateMiner
from lakeshrink.codecs.logs.packing import (
    LZMA,
    STORED,
    Budget,
    FramingError,
    PackOptions,
    get_varint,
    pack,
    pack_all,
    put_varint,
    section_budget,
    start_section,
    unpack,
    zstd_compressor,
)
from lakeshrink.errors import CorruptArchive

_log = logging.getLogger(__name__)

MODE_COLUMNAR, MODE_ZSTD, MODE_LZMA = 0, 1, 2
MODE_NAMES = {MODE_COLUMNAR: "columnar", MODE_ZSTD: "zstd", MODE_LZMA: "lzma"}
KIND_RAW_LINE, KIND_BINARY, KIND_RAW_CONTENT, TEMPLATE_BASE = 0, 1, 2, 3
#: 2: column descriptors may be ``tmpl`` (free text as nested templates); 3: integers may be ``kints`` (coded
#: per key, :mod:`.keyed`); 4: template parameters may be ``drv`` (computed from another parameter of the same
#: template, :mod:`.derived`); 5: template parameters may be ``lnk`` (the value another template's line of the
#: same session printed before, :mod:`.linked`). Version 1 to 4 chunks still decode.
META_VERSION = 5
READABLE_META_VERSIONS = (1, 2, 3, 4, 5)
BIG_STREAM = 64 << 10
#: Columnar payloads smaller than this fraction of a fast LZMA (preset 3) estimate of the chunk skip the slow
#: whole-chunk LZMA2 9e trial: on the 16 Loghub files 9e is 11.6% to 21.5% smaller than preset 3, and the
#: estimate from a 1 MiB sample is a few per cent larger than from 4 MiB (less context), hence 0.7.
CLEAR_WIN = 0.7
#: The estimate compresses this much from the middle of the chunk (the start of a log is often its least
#: typical part: start-up messages), a quarter of the CPU of the 4 MiB it used before.
_ESTIMATE_SAMPLE = 1 << 20
#: Templates with fewer lines in a chunk than this are kept whole in the residue: their columns would cost more.
MIN_TEMPLATE_LINES = 10
#: Columnar chunks of at least this many bytes are rebuilt with Arrow kernels (:mod:`.arrow_decode`), which
#: release the GIL (so chunks decode on threads side by side) and are faster per byte; smaller ones with Python
#: lists (:func:`_decode_lists`), which do not pay the import of pyarrow (about 0.07 s of CPU). The choice
#: depends on the chunk's size alone, so the writer checks each chunk with the decoder every reader will use
#: (checking with both cost memory: the 1 GB run's compression workers peaked at 417 MiB each, against 330).
#: Arrow's arrays have 32-bit offsets, hence the upper bound.
ARROW_MIN_BYTES = 4 << 20
ARROW_MAX_BYTES = (1 << 31) - (1 << 20)


class ChunkDecodeError(CorruptArchive):
    """A chunk payload that cannot be decoded; a :class:`CorruptArchive` (so a ``LakeshrinkError``)."""


@dataclass(frozen=True)
class ChunkResult:
    """An encoded chunk and what it holds."""

    payload: bytes
    mode: str
    lines: int
    raw_bytes: int
    template_counts: dict[int, int] = field(default_factory=dict)  # cluster id -> lines
    residue_lines: int = 0
    time_range: tuple[str, str] | None = None  # min and max time key of the chunk's lines (see time_key)
    fallback: str | None = None  # why the columnar form failed (an error, or not decoding to the input), if it did


class _Streams:
    def __init__(self) -> None:
        self.streams: list[bytes] = []
        self.started: list[Future | None] = []  # per stream: its section, if already being compressed

    def add(self, enc: col.Encoded, started: list[Future | None] | None = None) -> dict:
        """Record a column's streams (and the sections started for them, :func:`_start_big`); its descriptor is
        returned (streams are read back in the same order)."""
        self.streams.extend(enc.streams)
        self.started.extend(started or [None] * len(enc.streams))
        return enc.desc


class _Reader:
    """Hands out a columnar payload's streams in the order they were written."""

    def __init__(self, streams: list[bytes]) -> None:
        self.streams = streams
        self.pos = 0

    def take(self, desc: dict) -> list[bytes]:
        k = col.stream_count(desc)
        out = self.streams[self.pos : self.pos + k]
        self.pos += k
        return out

    def strings(self, desc: dict, n: int) -> pl.Series:
        return col.decode_strings(desc, self.take(desc), n)

    def ints(self, desc: dict, n: int) -> np.ndarray:
        return col.decode_ints(desc, self.take(desc), n)


def _columnar(
    data: bytes, fmt: LogFormat, miner: TemplateMiner, options: PackOptions
) -> tuple[bytes | None, dict[int, int], int, tuple[str, str] | None]:
    """The columnar payload of a chunk (None: it does not decode to ``data``), its template line counts,
    residue line count and time range."""
    meta, out, counts, residue, span = _columns(data, fmt, miner, options)
    # the frames of the split are gone by now: only the streams are alive while LZMA2 works
    return _pack(meta, out.streams, options, out.started, check=data), counts, residue, span


def _columns(
    data: bytes, fmt: LogFormat, miner: TemplateMiner, options: PackOptions | None = None
) -> tuple[dict, _Streams, dict[int, int], int, tuple[str, str] | None]:
    lines = split_lines(data)
    n = len(lines)
    kinds = np.full(n, KIND_RAW_LINE, dtype=np.int64)
    if lines.binary:
        kinds[list(lines.binary)] = KIND_BINARY
    split = split_header(fmt, lines.text)
    # a continuation line of a multi-line event (no time where the header has one) is kept whole (:mod:`.events`)
    matched = (split.matched & times_look_right(fmt, split.parts)).fill_null(False).to_numpy() & (kinds != KIND_BINARY)
    content_group = next((p.group for p in fmt.parts if p.name == CONTENT), None)
    out = _Streams()  # template parameters; header streams go before them, the rest after
    mask = pl.Series(matched)
    matched_rows = np.nonzero(matched)[0]
    counts: dict[int, int] = {}
    templates: list = []
    raw_content: pl.Series = pl.Series("c", [], dtype=pl.String)
    if content_group is not None and len(matched_rows):
        contents = split.parts[content_group].filter(mask)
        kind = structured.detect(contents)
        ids = miner.add(contents) if kind is None else miner.add_shaped(contents, structured.shapes(kind, contents))
        m_kinds = np.full(len(matched_rows), KIND_RAW_CONTENT, dtype=np.int64)
        # the rows of each cluster, clusters by id, rows in line order (numpy: no per-cluster polars frame)
        id_values = ids.to_numpy()
        by_id = col.stable_argsort(id_values)
        bounds = np.flatnonzero(np.diff(id_values[by_id])) + 1
        for lo, hi in zip([0, *bounds.tolist()], [*bounds.tolist(), len(by_id)]):
            if hi - lo < MIN_TEMPLATE_LINES:
                continue  # cheaper kept whole than as a template with its own columns (checked before extracting)
            cid = int(id_values[by_id[lo]])
            text = miner.template(cid)
            group_rows = by_id[lo:hi]
            ok, params = extract_params(text, contents.gather(group_rows))
            if int(ok.sum()) < MIN_TEMPLATE_LINES:
                continue
            rows = group_rows[ok.to_numpy()]
            m_kinds[rows] = cid + TEMPLATE_BASE
            counts[cid] = len(rows)
            columns = [params[c].filter(ok) for c in params.columns]
            templates.append([cid, text, run_beside(_template_job, columns), rows])
        raw_content = contents.filter(pl.Series(m_kinds == KIND_RAW_CONTENT))
        kinds[matched_rows] = m_kinds
    elif len(matched_rows):
        kinds[matched_rows] = KIND_RAW_CONTENT
    m_keys = kinds[matched_rows]
    header_jobs = [
        run_beside(_header_job, split.parts[p.group].filter(mask), m_keys, options) if p.group != content_group else None
        for p in fmt.parts
    ]
    # the results in the order the streams are written: header parts, then each template's parameters
    header_refs = [out.add(*job.result()) if job is not None else None for job in header_jobs]
    # a column that repeats another template's values per session becomes a link (:mod:`.linked`); then the
    # big streams start compressing
    done = [t[2].result() for t in templates]  # (encodings, hashes): the values themselves are gone
    linked_encodings = linked.link([t[3] for t in templates], [d[1] for d in done], [d[0] for d in done])
    del done
    for template, encodings in zip(templates, linked_encodings):
        del template[3:]
        template[2] = [out.add(*e) for e in _start_big(encodings, options)]
    meta = {
        "v": META_VERSION,
        "n": n,
        "nl": lines.final_newline,
        "fmt": fmt.spec,
        "cr": out.add(col.encode_ints(lines.cr.cast(pl.Int64).to_numpy())),
        "kind": out.add(col.encode_ints(kinds)),
        "h": header_refs,
        "tpl": templates,
        "rl": out.add(col.encode_strings(lines.text.filter(pl.Series(kinds == KIND_RAW_LINE)))),
        "rc": out.add(col.encode_strings(raw_content)),
        "bin": out.add(col.Encoded({"t": "text"}, (b"\n".join(lines.binary[i] for i in sorted(lines.binary)),)))
        if lines.binary
        else None,
    }
    residue = int(np.count_nonzero(kinds < TEMPLATE_BASE))
    return meta, out, counts, residue, _time_range(fmt, split.parts.filter(mask))


#: Columns are encoded on this many threads: most of the work is in polars, LZMA2 and zstd, which release
#: the GIL. The streams do not depend on the threads' order: each column's encoding is a function of its
#: values alone, and the results are taken in column order.
COLUMN_THREADS = 2
_COLUMN_POOL = ThreadPoolExecutor(max_workers=COLUMN_THREADS, thread_name_prefix="lakeshrink-columns")


def run_beside(fn: Callable[..., object], *args: object) -> Future:
    """``fn(*args)`` on the column threads (for work that releases the GIL: numpy, LZMA2, hashing), so it
    runs beside the encoding of a chunk; the result is the future's."""
    return _COLUMN_POOL.submit(fn, *args)


#: Streams of :data:`BIG_STREAM` bytes or more (a section each) start compressing as soon as their column is
#: encoded, on the packing threads, while the chunk's other columns are still being mined and encoded
#: (:func:`_start_big`); False: all at the end, as before round 8. The same bytes either way.
EARLY_SECTIONS = True


def _start_big(encoded: list[col.Encoded], options: PackOptions | None) -> list[tuple[col.Encoded, list[Future | None]]]:
    """Each encoding with, per stream, its section already started on the packing threads if the stream gets a
    section of its own (:func:`_pack`), else None."""
    if options is None or not EARLY_SECTIONS:
        return [(enc, []) for enc in encoded]
    return [(enc, [start_section(s, options, getattr(s, "width", 1)) if len(s) >= BIG_STREAM else None
                   for s in enc.streams]) for enc in encoded]


def _header_job(values: pl.Series, keys: np.ndarray, options: PackOptions | None) -> tuple[col.Encoded, list[Future | None]]:
    return _start_big([col.encode_conditional(values, keys)], options)[0]


def _template_job(columns: list[pl.Series]) -> tuple[list[col.Encoded], list[np.ndarray]]:
    """A template's parameter encodings and what linking needs of its values (:func:`.linked.hashes`)."""
    return _template_columns(columns), linked.hashes(columns)


def _template_columns(columns: list[pl.Series]) -> list[col.Encoded]:
    """The encodings of one template's parameter columns (some coded per key of another, :mod:`.keyed`, some
    computed from another, :mod:`.derived`)."""
    return derived.derive(columns, keyed.rekey(columns, [col.encode_strings(c) for c in columns]))


#: Header fields that make up a line's time key, in the order they appear in the format.
TIME_FIELDS = ("Date", "Day", "Month", "Time", "Timestamp")


def time_key(fmt: LogFormat, parts: pl.DataFrame) -> pl.Series | None:
    """Each line's time fields joined by a space (``"2015-10-18 18:01:47,978"``), or None without any.

    Comparing keys as text orders time correctly when the fields are written most significant first with
    fixed widths (ISO dates, ``081109 203615``); month names do not sort that way.
    """
    groups = [p.group for p in fmt.parts if p.kind == "field" and p.name in TIME_FIELDS]
    if not groups:
        return None
    return parts.select(pl.concat_str(groups, separator=" ").alias("t"))["t"]


def _time_range(fmt: LogFormat, parts: pl.DataFrame) -> tuple[str, str] | None:
    key = time_key(fmt, parts)
    if key is None or len(key) == 0:
        return None
    return str(key.min()), str(key.max())


#: The writer's check that a columnar chunk decodes to its input runs while LZMA2 compresses it: the chunk is
#: decoded from its sections as stored (uncompressed) framing, and each compressed section is then unpacked
#: and compared with what was stored (:func:`_pack`). Together that is decoding the compressed payload, whose
#: sections are those bytes. False: the compressed payload is decoded after LZMA2, as before round 8 (and in
#: the compression workers, :func:`~lakeshrink.codecs.logs.files._warm_worker`, whose cores are all busy).
CHECK_BESIDE = True


def _pack(meta: dict, streams: list[bytes], options: PackOptions, started: list[Future | None] | None = None,
          check: bytes | None = None) -> bytes | None:
    """The columnar payload: ``streams`` of :data:`BIG_STREAM` bytes or more get a section each (``started``: per
    stream, its section if already started, :func:`_start_big`), the others go after ``meta`` in section 0.

    ``check``: the chunk's bytes; with :data:`CHECK_BESIDE` the payload is checked to decode to them while
    its sections compress (None if it does not). Without, the caller checks.
    """
    locations = []
    small = bytearray()
    big: list[bytes] = []
    big_started: list[Future | None] = []
    for s, f in zip(streams, started or [None] * len(streams)):
        if len(s) >= BIG_STREAM:
            big.append(s)
            big_started.append(f)
            locations.append([len(big), 0, len(s)])
        else:
            locations.append([0, len(small), len(s)])
            small += s
    meta["loc"] = locations
    meta_bytes = json.dumps(meta, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    section0 = bytearray()
    put_varint(len(meta_bytes), section0)
    section0 += meta_bytes
    section0 += small
    sections = [bytes(section0), *big]
    widths = [1, *(getattr(s, "width", 1) for s in big)]
    ahead: list[Future | None] = [None, *big_started]
    exact = True
    if check is not None and CHECK_BESIDE:
        # every section compressing on the packing threads; meanwhile the stored form is decoded here
        ahead = [f if f is not None else start_section(s, options, w) for s, w, f in zip(sections, widths, ahead)]
        exact = decode_chunk(_stored(sections), raw_bytes=len(check)) == check
    payload = bytearray([MODE_COLUMNAR])
    put_varint(len(sections), payload)
    pack_all(sections, options, payload, widths=widths, started=ahead)
    if check is not None and CHECK_BESIDE:
        if not exact or not _unpacks_to(payload, sections):
            return None
    return bytes(payload)


def _stored(sections: list[bytes]) -> bytes:
    """A columnar payload of ``sections`` stored uncompressed (what the packed payload unpacks to)."""
    out = bytearray([MODE_COLUMNAR])
    put_varint(len(sections), out)
    for s in sections:
        out.append(STORED)
        put_varint(len(s), out)
        put_varint(len(s), out)
        out += s
    return bytes(out)


def _unpacks_to(payload: bytearray, sections: list[bytes]) -> bool:
    """Whether ``payload``'s sections, read as every reader reads them, are ``sections`` exactly."""
    view = memoryview(payload)
    n, pos = get_varint(view, 1)
    if n != len(sections):
        return False
    for s in sections:
        raw, pos = unpack(view, pos)
        if raw != s:
            return False
    return pos == len(payload)


def _whole(data: bytes, options: PackOptions) -> bytes:
    """The chunk as one section: LZMA2 9e (at least as small as zstd -19 on logs), or zstd without LZMA."""
    out = bytearray([0])
    codec = pack(data, options.strongest(), out, zstd=False)
    out[0] = MODE_LZMA if codec == LZMA else MODE_ZSTD
    return bytes(out)


def _lzma_estimate(data: bytes) -> float:
    """Size of LZMA preset 3 of ``data``, extrapolated from 1 MiB of its middle."""
    start = max(0, len(data) // 2 - _ESTIMATE_SAMPLE // 2)
    sample = data[start : start + _ESTIMATE_SAMPLE]
    return len(lzma.compress(sample, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "preset": 3}])) * (
        len(data) / max(1, len(sample))
    )


def encode_chunk(data: bytes, fmt: LogFormat, miner: TemplateMiner, options: PackOptions) -> ChunkResult:
    """Encode one chunk; the result always decodes to ``data`` (checked here before it is returned)."""
    n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    payload: bytes | None = None
    counts: dict[int, int] = {}
    residue = n_lines
    span = None
    fallback = None
    estimate = run_beside(_lzma_estimate, data)  # LZMA2 releases the GIL: it runs beside the column split
    try:
        payload, counts, residue, span = _columnar(data, fmt, miner, options)
        # within the bounds every reader enforces, by the decoder every reader uses on a chunk of this size
        # (with CHECK_BESIDE, checked by _pack while LZMA2 worked)
        if payload is None or (not CHECK_BESIDE and decode_chunk(payload, raw_bytes=len(data)) != data):
            payload, fallback = None, "the columnar form did not decode to the input"
    except Exception as exc:  # noqa: BLE001 - any surprise in the columnar path: the whole-chunk form below is exact
        payload, fallback = None, f"{type(exc).__name__}: {exc}"[:300]
    if fallback is not None:
        _log.warning("columnar encoding of a chunk failed, stored whole instead: %s", fallback)
    if payload is not None:
        if len(payload) < CLEAR_WIN * estimate.result():
            return ChunkResult(payload, "columnar", n_lines, len(data), counts, residue, span)
    whole = _whole(data, options)
    if payload is not None and len(payload) < len(whole):
        return ChunkResult(payload, "columnar", n_lines, len(data), counts, residue, span)
    return ChunkResult(whole, MODE_NAMES[whole[0]], n_lines, len(data), {}, n_lines, span, fallback)


# ---------------------------------------------------------------------------------------------------- decode
def string_budget(raw_bytes: int) -> int:
    """What the columns of a chunk of ``raw_bytes`` may materialise while it is decoded (see
    :func:`lakeshrink.codecs.logs.columns.bounded`): a format rule since archive version 2, checked by the
    writer, which stores a chunk whole rather than break it."""
    return 4 * raw_bytes + (1 << 20)


def _meta_only(payload: bytes, raw_bytes: int | None) -> dict | None:
    """The metadata of a columnar chunk, decompressing only its first section (None for whole chunks)."""
    if not payload or payload[0] != MODE_COLUMNAR:
        return None
    view = memoryview(payload)
    _, pos = get_varint(view, 1)
    section0, _ = unpack(view, pos, Budget(section_budget(raw_bytes)) if raw_bytes is not None else None)
    meta_len, start = get_varint(section0, 0)
    meta = json.loads(section0[start : start + meta_len].decode("utf-8"))
    if raw_bytes is not None:
        _check_meta(meta, raw_bytes, None)
    return meta


def chunk_templates(payload: bytes, raw_bytes: int | None = None) -> dict[int, str]:
    """The templates of a columnar chunk (cluster id -> text); ``raw_bytes`` (the size its index declares)
    bounds and validates what is read from untrusted payloads."""
    meta = _meta_only(payload, raw_bytes)
    return {cid: text for cid, text, _ in meta["tpl"]} if meta else {}


def chunk_format(payload: bytes, raw_bytes: int | None = None) -> str | None:
    """The header format a columnar chunk was split with (None for whole chunks)."""
    meta = _meta_only(payload, raw_bytes)
    return meta["fmt"] if meta else None


def _check_meta(meta: object, raw_bytes: int, sections: list[bytes] | None) -> None:
    """Refuse metadata this module never writes, before any of it sizes an allocation."""

    def need(ok: bool, what: str) -> None:
        if not ok:
            raise ChunkDecodeError(f"chunk metadata: {what}")

    need(isinstance(meta, dict) and meta.get("v") in READABLE_META_VERSIONS, f"version {str(meta)[:40]} is not supported")
    assert isinstance(meta, dict)
    n = meta.get("n")
    need(isinstance(n, int) and 0 <= n <= raw_bytes + 1, f"{n!r} lines cannot fit in {raw_bytes} bytes")
    need(isinstance(meta.get("nl"), bool) and isinstance(meta.get("fmt"), str), "bad 'nl' or 'fmt'")
    need(isinstance(meta.get("h"), list) and isinstance(meta.get("tpl"), list), "bad 'h' or 'tpl'")
    descs = [d for d in meta["h"] if d is not None]
    for t in meta["tpl"]:
        need(isinstance(t, list) and len(t) == 3 and isinstance(t[0], int) and isinstance(t[1], str)
             and isinstance(t[2], list), "bad template entry")
        need(0 <= t[0] < 2**62, "bad template id")
        descs += t[2]
    descs += [meta.get("cr"), meta.get("kind"), meta.get("rl"), meta.get("rc")]
    if meta.get("bin") is not None:
        descs.append(meta["bin"])
    for desc in descs:
        col.check_descriptor(desc)
    if sections is None:
        return
    loc = meta.get("loc")
    need(isinstance(loc, list) and len(loc) == sum(col.stream_count(d) for d in descs), "stream list does not match the columns")
    for item in loc:
        need(isinstance(item, list) and len(item) == 3 and all(isinstance(x, int) and x >= 0 for x in item)
             and item[0] < len(sections) and item[1] + item[2] <= len(sections[item[0]]), "a stream lies outside its section")


def read_meta(payload: bytes, raw_bytes: int | None = None) -> tuple[dict, list[bytes]]:
    """The metadata and the raw streams of a columnar payload.

    With ``raw_bytes`` (what the archive index declares for the chunk) sections may decompress to at most
    :func:`~lakeshrink.codecs.logs.packing.section_budget` bytes in all, and the metadata is validated.
    """
    view = memoryview(payload)
    budget = Budget(section_budget(raw_bytes)) if raw_bytes is not None else None
    n_sections, pos = get_varint(view, 1)
    if not 1 <= n_sections <= len(payload):
        raise FramingError(f"a chunk of {len(payload)} bytes cannot hold {n_sections} sections")
    sections = []
    for _ in range(n_sections):
        raw, pos = unpack(view, pos, budget)
        sections.append(raw)
    if pos != len(payload):
        raise FramingError("trailing bytes after the last section")
    meta_len, start = get_varint(sections[0], 0)
    meta = json.loads(sections[0][start : start + meta_len].decode("utf-8"))
    if raw_bytes is not None:
        base = start + meta_len
        _check_meta(meta, raw_bytes, [sections[0][base:], *sections[1:]])
    if meta.get("v") not in READABLE_META_VERSIONS:
        raise ChunkDecodeError(f"chunk metadata version {meta.get('v')} is not supported (this lakeshrink reads "
                               f"{', '.join(map(str, READABLE_META_VERSIONS))})")
    base = start + meta_len
    streams = [
        sections[sec][base + off : base + off + length] if sec == 0 else sections[sec][off : off + length]
        for sec, off, length in meta["loc"]
    ]
    return meta, streams


def _rows_by_kind(kinds: np.ndarray) -> Callable[[int], np.ndarray]:
    """A function giving the positions of one kind in ``kinds``, in line order (a stable sort once, then a
    binary search per kind)."""
    by_kind = col.stable_argsort(kinds)
    sorted_kinds = kinds[by_kind]

    def rows_of(kind: int) -> np.ndarray:
        lo, hi = np.searchsorted(sorted_kinds, [kind, kind + 1])
        return by_kind[lo:hi]

    return rows_of


def line_kinds(payload: bytes, raw_bytes: int | None = None) -> tuple[np.ndarray, dict[int, str]]:
    """Per line of a columnar chunk its kind (template id + 3, or a residue kind), and the chunk's templates."""
    meta, streams = read_meta(payload, raw_bytes)
    reader = _Reader(streams)
    for desc in meta["h"]:
        if desc is not None:
            reader.take(desc)
    for _, _, descs in meta["tpl"]:
        for desc in descs:
            reader.take(desc)
    reader.take(meta["cr"])
    return reader.ints(meta["kind"], meta["n"]), {cid: text for cid, text, _ in meta["tpl"]}


def decode_chunk(payload: bytes, raw_bytes: int | None = None, *, arrow: bool = True, copy: bool = True) -> bytes | memoryview:
    """The exact bytes a payload was made from.

    ``raw_bytes`` is the size the archive's index declares: with it, memory is bounded by that size (sections
    by :func:`~lakeshrink.codecs.logs.packing.section_budget`, columns by :func:`string_budget`) and
    anything larger is refused before it is allocated. Payloads read from files must always pass it.
    A columnar chunk of :data:`ARROW_MIN_BYTES` to :data:`ARROW_MAX_BYTES` is rebuilt with Arrow's kernels
    (:mod:`.arrow_decode`: the same bytes, outside the GIL), others with Python lists; ``arrow=False`` takes the
    lists for every chunk (tests compare the two). ``copy=False``: a chunk the Arrow decoder rebuilt may come
    back as a view of Arrow's buffer (a ``memoryview`` of unsigned bytes) instead of a copy in ``bytes``.
    """
    if not payload:
        raise ChunkDecodeError("empty chunk payload")
    mode = payload[0]
    if mode in (MODE_ZSTD, MODE_LZMA):
        raw, _ = unpack(memoryview(payload), 1, Budget(raw_bytes) if raw_bytes is not None else None)
        return raw
    if mode != MODE_COLUMNAR:
        raise ChunkDecodeError(f"unknown chunk mode {mode}")
    meta, streams = read_meta(payload, raw_bytes)
    arrow = arrow and raw_bytes is not None and ARROW_MIN_BYTES <= raw_bytes <= ARROW_MAX_BYTES and meta["n"] > 0
    if raw_bytes is None:
        return _decode_columnar(meta, streams)
    with col.bounded(string_budget(raw_bytes)):
        return _decode_columnar(meta, streams, arrow, copy)



def _decode_columnar(meta: dict, streams: list[bytes], arrow: bool = False, copy: bool = True) -> bytes | memoryview:
    from lakeshrink.codecs.logs.header import parse_format

    fmt = parse_format(meta["fmt"])
    n = meta["n"]
    # streams were written in this order: header parts, template parameters, cr, kind, residues
    reader = _Reader(streams)
    header_descs = meta["h"]
    header_streams = [reader.take(d) if d is not None else None for d in header_descs]
    template_streams = [[reader.take(d) for d in descs] for _, _, descs in meta["tpl"]]
    cr = reader.ints(meta["cr"], n).astype(bool)
    kinds = reader.ints(meta["kind"], n)
    if arrow:
        return _decode_arrow(meta, reader, header_streams, template_streams, cr, kinds, copy)
    return _decode_lists(meta, reader, fmt, header_streams, template_streams, cr, kinds)


def _decode_arrow(
    meta: dict, reader: _Reader, header_streams: list, template_streams: list, cr: np.ndarray, kinds: np.ndarray,
    copy: bool = True,
) -> bytes | memoryview:
    """:func:`_decode_lists` with Arrow kernels (:mod:`.arrow_decode`): the same bytes, the lines built a
    column at a time outside the GIL, the chunk's text the data buffer of one array."""
    from lakeshrink.codecs.logs import arrow_decode as ad

    n = meta["n"]
    is_matched = kinds >= KIND_RAW_CONTENT
    m_kinds = kinds[is_matched]
    rows_of = _rows_by_kind(m_kinds)
    matched_rows = np.flatnonzero(is_matched)
    header: list = []  # per header part its pieces over the matched lines, None for the content
    for desc, part_streams in zip(meta["h"], header_streams):
        if desc is None:
            header.append(None)
        elif desc["t"] == "cond":
            header.append([ad.conditional(desc, part_streams, m_kinds)])
        else:
            header.append(ad.pieces_of(desc, part_streams, len(m_kinds)) if len(m_kinds) else [])

    def line(rows: np.ndarray, content: list) -> tuple[np.ndarray, list]:
        """The lines at ``rows`` (among the matched ones): each header part around ``content``'s pieces."""
        pieces: list = []
        for part in header:
            pieces += content if part is None else [p if isinstance(p, bytes) else (p, rows) for p in part]
        return matched_rows[rows], pieces

    # every line is laid out at once: header parts and template literals and parameters, no content column
    lines = []
    covered = np.zeros(len(m_kinds), dtype=bool)
    links = _links(meta, template_streams, rows_of)
    sources = _Sources(meta, template_streams, rows_of, ad.array_of)
    for t, ((cid, text, descs), param_streams) in enumerate(zip(meta["tpl"], template_streams)):
        rows = rows_of(cid + TEMPLATE_BASE)
        col.charge(len(rows) * (len(text) + 1), "a template")
        if len(rows):
            arrays = {j: ad.gathered(plan, sources.get(*plan.source)) for j, plan in links.get(t, {}).items()}
            lines.append(line(rows, ad.template_pieces(text, descs, param_streams, len(rows), arrays)))
            covered[rows] = True
    raw_rows = np.flatnonzero(kinds == KIND_RAW_LINE)
    raw_lines = ad.array_of(meta["rl"], reader.take(meta["rl"]), len(raw_rows))
    rows = rows_of(KIND_RAW_CONTENT)
    lines.append(line(rows, [ad.array_of(meta["rc"], reader.take(meta["rc"]), len(rows))]))
    covered[rows] = True
    if not covered.all():  # template ids the chunk does not list (a damaged payload): empty contents
        lines.append(line(np.flatnonzero(~covered), []))
    lines.append((raw_rows, [raw_lines]))
    binary_rows = np.flatnonzero(kinds == KIND_BINARY)
    if meta["bin"] is not None and len(binary_rows):
        blobs = reader.take(meta["bin"])[0].split(b"\n")[: len(binary_rows)]
        lines.append((binary_rows[: len(blobs)], [ad.binaries(blobs)]))
    tail = [ad.suffixes(cr, b"\r"), b"\n"] if cr.any() else [b"\n"]
    return ad.lines_bytes(ad.assemble(n, lines, tail), meta["nl"], copy)


def _links(meta: dict, template_streams: list, rows_of: Callable[[int], np.ndarray]) -> dict[int, dict[int, linked.Plan]]:
    """The linked columns of a chunk (:mod:`.linked`), per template index and column index."""
    descs = [d for _, _, d in meta["tpl"]]
    return linked.plans(descs, template_streams, [rows_of(cid + TEMPLATE_BASE) for cid, _, _ in meta["tpl"]])


class _Sources:
    """The source columns of a chunk's links, each decoded once by ``decode(desc, streams, n)``."""

    def __init__(self, meta: dict, template_streams: list, rows_of: Callable[[int], np.ndarray],
                 decode: Callable[[dict, list[bytes], int], object]) -> None:
        self.meta, self.streams, self.rows_of, self.decode = meta, template_streams, rows_of, decode
        self.done: dict[tuple[int, int], object] = {}

    def get(self, t: int, j: int):  # noqa: ANN201 - a list or an Arrow array, as the decoder makes them
        if (t, j) not in self.done:
            cid, _, descs = self.meta["tpl"][t]
            self.done[(t, j)] = self.decode(descs[j], self.streams[t][j], len(self.rows_of(cid + TEMPLATE_BASE)))
        return self.done[(t, j)]


def _place(out: np.ndarray, rows: np.ndarray, values: list) -> None:
    """``out[rows[i]] = values[i]`` (``out`` an object array: one numpy call, no Python loop)."""
    if len(rows):
        out[rows] = values


def _decode_lists(
    meta: dict,
    reader: _Reader,
    fmt: LogFormat,
    header_streams: list,
    template_streams: list,
    cr: np.ndarray,
    kinds: np.ndarray,
) -> bytes:
    """:func:`decode_chunk` of a columnar chunk with Python lists and numpy, column by column.

    No polars: measured on 14-15 MB chunks of the full Loghub Linux and Proxifier logs (150k and 128k lines),
    this took 0.49-0.58 s of CPU where the polars expressions it replaced took 0.93-1.03 s, the import of
    polars included (about 0.4 s; ``logs decompress`` now never imports it)."""
    n = meta["n"]
    is_matched = kinds >= KIND_RAW_CONTENT
    m_kinds = kinds[is_matched]
    rows_of = _rows_by_kind(m_kinds)

    content = np.full(len(m_kinds), "", dtype=object)
    links = _links(meta, template_streams, rows_of)
    sources = _Sources(meta, template_streams, rows_of, col.decode_list)
    for t, ((cid, text, descs), param_streams) in enumerate(zip(meta["tpl"], template_streams)):
        rows = rows_of(cid + TEMPLATE_BASE)
        col.charge(len(rows) * (len(text) + 1), "a template")
        literals, k = template_literals(text), len(rows)
        columns: list[list[str]] = []
        computed = derived.decode_lists(descs, param_streams, k) if k else {}
        if k:
            computed.update({j: linked.as_list(plan, sources.get(*plan.source)) for j, plan in links.get(t, {}).items()})
        for index, (literal, desc, streams) in enumerate(zip(literals, descs, param_streams)):
            if literal:
                columns.append([literal] * k)
            if index in computed:
                columns.append(computed[index])
            elif k:
                columns += col.decode_columns(desc, streams, k)
        if literals[-1]:
            columns.append([literals[-1]] * k)
        _place(content, rows, col.join_rows(columns, k))
    raw_rows = np.nonzero(kinds == KIND_RAW_LINE)[0]
    raw_lines = col.decode_list(meta["rl"], reader.take(meta["rl"]), len(raw_rows))
    rows = rows_of(KIND_RAW_CONTENT)
    _place(content, rows, col.decode_list(meta["rc"], reader.take(meta["rc"]), len(rows)))
    columns = []  # every piece of a line's header and content, joined once per line
    for desc, part_streams in zip(meta["h"], header_streams):
        if desc is None:
            columns.append(content.tolist())
        elif desc["t"] == "cond":
            columns.append(col.decode_conditional_list(desc, part_streams, m_kinds))
        elif len(m_kinds):
            columns += col.decode_columns(desc, part_streams, len(m_kinds))
    cr_rows = np.flatnonzero(cr)
    if len(m_kinds) == n and n and columns and not len(cr_rows):
        # the common case: every line fits the header, LF endings: the text in one join, no string per line
        text = col.join_lines(columns, n)
        return (text if meta["nl"] else text[:-1]).encode("utf-8")
    matched_lines = col.join_rows(columns, len(m_kinds))
    if len(m_kinds) == n and not len(cr_rows):
        lines = matched_lines
    else:
        placed = np.full(n, "", dtype=object)
        _place(placed, np.flatnonzero(is_matched), matched_lines)
        _place(placed, raw_rows, raw_lines)
        if len(cr_rows):
            placed[cr_rows] = placed[cr_rows] + "\r"
        lines = placed.tolist()
    binary_rows = np.nonzero(kinds == KIND_BINARY)[0]
    if meta["bin"] is not None and len(binary_rows):
        blobs = reader.take(meta["bin"])[0].split(b"\n")
        encoded = [line.encode("utf-8") for line in lines]
        for i, blob in zip(binary_rows.tolist(), blobs):
            encoded[i] = blob + (b"\r" if cr[i] else b"")
        out = b"\n".join(encoded)
    else:
        out = "\n".join(lines).encode("utf-8")
    if meta["nl"]:
        out += b"\n"
    return out
