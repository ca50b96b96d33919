"""Compressed sections: the byte-level containers a chunk's streams are packed into.

A *section* is one compressed blob. Its framing (all integers are LEB128 varints)::

    codec      1 byte   0 = stored, 1 = zstd frame, 2 = raw LZMA2 (no .xz container)
    raw_len    varint   length once decompressed
    dict_size  varint   only for codec 2: the LZMA2 dictionary size the decoder must use
    comp_len   varint   length of the data that follows
    data       comp_len bytes

:func:`pack` tries zstd at the requested level and LZMA2 (preset 6 by default: on typed columns within 0.5% of
9e and about 5x faster; 9e for whole chunks; dictionary cut to the data size, which also keeps memory low) and keeps
whichever is smaller: the per-column "zstd or lzma" choice of the issue. The preset is not needed to decode.
Raw LZMA2 is used instead of the .xz container because a chunk holds hundreds of small columns and the
60-byte .xz header would cost more than some of them.
"""

from __future__ import annotations

import lzma
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

import zstandard

from lakeshrink.errors import CorruptArchive

STORED, ZSTD, LZMA = 0, 1, 2
CODEC_NAMES = {STORED: "stored", ZSTD: "zstd", LZMA: "lzma"}
_MIN_DICT = 4096
_MAX_DICT = 64 << 20


class FramingError(CorruptArchive):
    """Bytes that do not follow the section framing (truncated or corrupt); a :class:`CorruptArchive`."""


class Budget:
    """How many more decompressed bytes a reader may produce: hostile sections are refused *before* allocating.

    A section whose declared ``raw_len`` does not fit is refused without being decompressed, and a section is
    never decompressed past its declared length, so memory stays bounded by what the caller allows (a chunk's
    readers allow :func:`section_budget` of the size its index declares).
    """

    def __init__(self, limit: int):
        self.left = limit

    def take(self, n: int, what: str = "section") -> None:
        if n > self.left:
            raise FramingError(f"{what} declares {n} bytes, more than the {max(self.left, 0)} bytes its chunk allows")
        self.left -= n


#: The sections of one chunk decompress to at most this many bytes for ``raw`` bytes of input (a format rule
#: since archive version 2: the writer stores a chunk whole when its columns would need more; on the Loghub
#: files they need at most 0.54x).
def section_budget(raw: int) -> int:
    return 8 * raw + (1 << 20)


def put_varint(value: int, out: bytearray) -> None:
    if value < 0:
        raise ValueError("varints are unsigned")
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return


def get_varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise FramingError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise FramingError("varint too long")


def _lzma_filters(dict_size: int, preset: int = 9 | lzma.PRESET_EXTREME) -> list[dict]:
    # pb=0: no 4-byte alignment assumption (text and narrow integers): about 1% smaller on the Loghub files
    return [{"id": lzma.FILTER_LZMA2, "preset": preset, "dict_size": dict_size, "pb": 0}]


def lzma_dict_size(n: int) -> int:
    size = _MIN_DICT
    while size < n and size < _MAX_DICT:
        size <<= 1
    return size


@dataclass(frozen=True)
class PackOptions:
    """How hard to compress: zstd level (1-22), whether LZMA2 is tried too and its preset (0-9, ``extreme``)."""

    zstd_level: int = 19
    try_lzma: bool = True
    lzma_preset: int = 6
    extreme: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.zstd_level <= 22:
            raise ValueError(f"zstd level must be in 1..22, got {self.zstd_level}")
        if not 0 <= self.lzma_preset <= 9:
            raise ValueError(f"LZMA preset must be in 0..9, got {self.lzma_preset}")

    @property
    def preset(self) -> int:
        return self.lzma_preset | (lzma.PRESET_EXTREME if self.extreme else 0)

    def strongest(self) -> PackOptions:
        """The same options with LZMA2 at 9e (whole chunks: the form that must never lose to ``xz -9e``)."""
        return replace(self, lzma_preset=9, extreme=True)


_LOCAL = threading.local()


def zstd_compressor(level: int) -> zstandard.ZstdCompressor:
    """One compressor per level and thread (zstandard contexts are not thread-safe; building a level-19 context
    costs more than compressing a small input)."""
    cache = _LOCAL.__dict__.setdefault("zstd", {})
    if level not in cache:
        cache[level] = zstandard.ZstdCompressor(level=level)
    return cache[level]


def pack(raw: bytes, options: PackOptions, out: bytearray, *, zstd: bool = True) -> int:
    """Append ``raw`` as one section to ``out``; returns the codec chosen.

    LZMA2 is tried first (unless disabled); zstd at ``options.zstd_level`` is tried too when a fast zstd
    level comes within 10% of LZMA2, or always when LZMA2 is off. ``zstd=False`` skips zstd when LZMA2 is on.
    """
    section = bytearray()
    codec = _section(raw, options, section, zstd)
    out += section
    return codec


#: Sections of a chunk are compressed in threads (LZMA2 and zstd release the GIL) when they hold this much.
PARALLEL_BYTES = 1 << 20
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lakeshrink-pack")


def start_section(raw: bytes, options: PackOptions, width: int = 1) -> Future:
    """The framed section :func:`pack_all` writes for ``raw``, started now on the packing threads: a big stream
    is compressed while the rest of its chunk is still being encoded (LZMA2 releases the GIL). Pass the future
    to :func:`pack_all` in ``started``; the bytes are the same as when it is compressed there."""
    return _POOL.submit(_framed, raw, options, True, width)


def pack_all(sections: list[bytes], options: PackOptions, out: bytearray, widths: list[int] | None = None,
             started: list[Future | None] | None = None) -> None:
    """:func:`pack` of every section in order, the larger ones compressed on two threads.

    ``widths``: per section, the byte width of the integers it holds (1 for text). A section of wider
    integers is also tried with LZMA2's literal position and position bits set to that width (``lp = pb =
    log2(width)``, ``lc = 1``): measured on the integer columns of 16 MiB of a PostgreSQL log, 2- and 4-byte
    streams shrink by 2% to 9%. The decoder needs nothing new: LZMA2 carries these bits in its stream.
    ``started``: per section, None or the :func:`start_section` of it (those are not compressed again).
    """
    widths = widths or [1] * len(sections)
    started = started or [None] * len(sections)
    todo = [i for i, f in enumerate(started) if f is None]
    framed: list[bytearray | None] = [None] * len(sections)
    if sum(len(sections[i]) for i in todo) < PARALLEL_BYTES or len(todo) < 2:
        for i in todo:
            framed[i] = _framed(sections[i], options, True, widths[i])
    else:
        order = sorted(todo, key=lambda i: -len(sections[i]))  # biggest first: the pool stays busy
        futures = [(i, _POOL.submit(_framed, sections[i], options, True, widths[i])) for i in order]
        for i, f in futures:
            framed[i] = f.result()
    for part, f in zip(framed, started):
        out += part if f is None else f.result()


def _framed(raw: bytes, options: PackOptions, zstd: bool, width: int) -> bytearray:
    out = bytearray()
    _section(raw, options, out, zstd, width)
    return out


#: Integer sections of at least this many bytes are also tried with LZMA2 bits matching their width.
_WIDTH_TRIAL = 16 << 10


#: Larger integer sections choose between plain and width-aligned LZMA2 on this much of their middle, and are
#: compressed once, with the winner, instead of twice.
_WIDTH_SAMPLE = 64 << 10


def _width_choice(raw: bytes, width: int, plain: list[dict], aligned: list[dict]) -> list[dict]:
    start = (len(raw) // 2 - _WIDTH_SAMPLE // 2) // width * width
    sample = raw[start : start + _WIDTH_SAMPLE]
    sizes = [len(lzma.compress(sample, format=lzma.FORMAT_RAW, filters=f)) for f in (plain, aligned)]
    return aligned if sizes[1] < sizes[0] else plain


def _section(raw: bytes, options: PackOptions, out: bytearray, zstd: bool, width: int = 1) -> int:
    choices: list[tuple[int, bytes, int]] = [(STORED, raw, 0)]
    if len(raw) > 16:
        if options.try_lzma:
            dict_size = lzma_dict_size(len(raw))
            plain = _lzma_filters(dict_size, options.preset)
            filters = [plain]
            if width in (2, 4, 8) and len(raw) >= _WIDTH_TRIAL:
                bits = width.bit_length() - 1
                aligned = [{**plain[0], "lc": 1, "lp": min(bits, 3), "pb": min(bits, 3)}]
                filters = [plain, aligned] if len(raw) <= 2 * _WIDTH_SAMPLE else [_width_choice(raw, width, plain, aligned)]
            data = min((lzma.compress(raw, format=lzma.FORMAT_RAW, filters=f) for f in filters), key=len)
            choices.append((LZMA, data, dict_size))
            # zstd at the asked level only when a fast zstd already comes close to LZMA2 (rare on logs)
            zstd = zstd and len(zstd_compressor(min(3, options.zstd_level)).compress(raw)) < len(data) * 1.1
        if zstd or not options.try_lzma:
            choices.append((ZSTD, zstd_compressor(options.zstd_level).compress(raw), 0))
    codec, data, dict_size = min(choices, key=lambda c: len(c[1]) + (1 if c[0] == LZMA else 0))
    out.append(codec)
    put_varint(len(raw), out)
    if codec == LZMA:
        put_varint(dict_size, out)
    put_varint(len(data), out)
    out += data
    return codec


def _zstd_at_most(body: bytes, limit: int) -> bytes:
    """Decompress a zstd frame, stopping after ``limit`` bytes (a frame header's content size is not trusted)."""
    reader = zstandard.ZstdDecompressor().stream_reader(body, read_across_frames=True)
    out = bytearray()
    while len(out) < limit:
        piece = reader.read(limit - len(out))
        if not piece:
            break
        out += piece
    return bytes(out)


def unpack(data: bytes | memoryview, pos: int, budget: Budget | None = None) -> tuple[bytes, int]:
    """Read the section at ``pos``; returns its decompressed bytes and the position after it.

    With a ``budget``, a section declaring more bytes than it has left is refused before anything is
    decompressed; in every case no more than the declared length is ever decompressed.
    """
    if pos >= len(data):
        raise FramingError("truncated section")
    codec = data[pos]
    if codec not in CODEC_NAMES:
        raise FramingError(f"unknown section codec {codec}")
    raw_len, pos = get_varint(data, pos + 1)
    dict_size = 0
    if codec == LZMA:
        dict_size, pos = get_varint(data, pos)
        if not _MIN_DICT <= dict_size <= _MAX_DICT:
            raise FramingError(f"LZMA2 dictionary of {dict_size} bytes is outside {_MIN_DICT}..{_MAX_DICT}")
    comp_len, pos = get_varint(data, pos)
    end = pos + comp_len
    if end > len(data):
        raise FramingError("section runs past the end of its chunk")
    if budget is not None:
        budget.take(raw_len)
    body = bytes(data[pos:end])
    if codec == STORED:
        raw = body
    elif codec == ZSTD:
        try:
            raw = _zstd_at_most(body, raw_len + 1)
        except zstandard.ZstdError as exc:
            raise FramingError(f"zstd section cannot be decoded: {exc}") from exc
    else:
        decoder = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=_lzma_filters(dict_size))
        try:
            raw = decoder.decompress(body, max_length=raw_len + 1)
        except lzma.LZMAError as exc:
            raise FramingError(f"LZMA2 section cannot be decoded: {exc}") from exc
    if len(raw) != raw_len:
        raise FramingError(f"section decompressed to {len(raw)} bytes, expected {raw_len}")
    return raw, end
