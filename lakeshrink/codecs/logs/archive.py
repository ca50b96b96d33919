"""The log archive format (``.lslog``): magic, version, checksummed chunk frames and an index at the end.

Byte layout (all integers little-endian; the full description is ``docs/log-archive-format.md``)::

    header   MAGIC (8 bytes b"\\x89LSKLOG\\n") | version u16 | flags u16 (0)
    frame*   tag (4 bytes) | length u32 | crc32 u32 of the body | body
             tag b"CHNK": body = raw_crc32 u32 (crc32 of the chunk's original bytes) | chunk payload (chunk.py)
             tag b"INDX": body = zstd frame of the index JSON (one, last)
    trailer  index frame offset u64 | END_MAGIC (8 bytes b"LSKLOGIX")

The index lists the input files (relative path, size, their chunks in order) and every chunk (offset, length,
file, line count, mode, the CRC-32 of each template it holds with its line count, and a trigram Bloom filter of its bytes),
so a reader can decompress one chunk, one file, or only the chunks that hold a template or may hold a string.
Writers go through :func:`lakeshrink.fileio.atomic_file`: an error leaves no partial archive at the target.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import struct
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, TypeVar

import numpy as np
import zstandard

from lakeshrink.codecs.logs.archive_index import (  # noqa: F401  (the index model, re-exported)
    INDEX_VERSION,
    MAX_CHUNK_BYTES,
    ArchiveIndex,
    ChunkEntry,
    FileEntry,
    parse_index,
)
from lakeshrink.errors import CorruptArchive

MAGIC = b"\x89LSKLOG\n"
END_MAGIC = b"LSKLOGIX"
#: Version 2 (this writer) adds per-chunk and per-file SHA-256 digests, per-file mode and mtime, and the decode
#: bounds of ``docs/log-archive-format.md``; version 1 archives are still read (and validated the same way).
VERSION = 2
READABLE_VERSIONS = (1, 2)
TAG_CHUNK = b"CHNK"
TAG_INDEX = b"INDX"
T = TypeVar("T")
_HEADER = struct.Struct("<8sHH")
_FRAME = struct.Struct("<4sII")
_TRAILER = struct.Struct("<Q8s")
#: The index may decompress to at most this many bytes per byte stored (and 64 MiB in any case).
_INDEX_RATIO = 64


# --------------------------------------------------------------------------------------------------- blooms
#: Chunks smaller than this get no Bloom filter: decoding them is cheaper than the filter would cost in size.
BLOOM_MIN_BYTES = 4 << 20
BLOOM_BITS = 1 << 18


def _trigram_hashes(data: bytes, bits: int) -> np.ndarray:
    arr = np.frombuffer(data, dtype=np.uint8).astype(np.uint32)
    if len(arr) < 3:
        return np.zeros(0, dtype=np.uint32)
    grams = (arr[:-2] << 16) | (arr[1:-1] << 8) | arr[2:]
    return ((grams * np.uint32(2654435761)) >> np.uint32(32 - bits.bit_length() + 1)) & np.uint32(bits - 1)


#: :func:`_trigram_table` hashes this many trigrams at a time, in one buffer (2 MiB) made once per call.
_BLOOM_STEP = 1 << 18


def _trigram_table(data: bytes, bits: int) -> np.ndarray:
    """A bool table of ``bits`` entries with the :func:`_trigram_hashes` of ``data`` set, the same table as
    ``table[_trigram_hashes(data, bits)] = True``, without a temporary array per step.

    The hashes are computed in place in one int64 buffer reused from step to step (a trigram is below
    2^24 and the multiplier below 2^32, so the product fits and its low 32 bits are the uint32 product), and
    the bytes are read through a view of ``data``, not a copy. Measured on a 17.8 MB chunk: the 1 MiB slices
    with a new array per operation took 0.07 s of CPU and a quarter of a million page faults (their arrays
    are over the workers' 128 KiB mmap threshold, so each is mapped and faulted afresh)."""
    table = np.zeros(bits, dtype=bool)
    arr = np.frombuffer(data, dtype=np.uint8)
    if len(arr) < 3:
        return table
    shift = np.int64(32 - bits.bit_length() + 1)
    buf = np.empty(min(_BLOOM_STEP, len(arr) - 2), dtype=np.int64)
    for start in range(0, len(arr) - 2, _BLOOM_STEP):
        m = min(_BLOOM_STEP, len(arr) - 2 - start)
        g = buf[:m]
        np.copyto(g, arr[start : start + m])
        g <<= 8
        g |= arr[start + 1 : start + 1 + m]
        g <<= 8
        g |= arr[start + 2 : start + 2 + m]
        g *= np.int64(2654435761)
        g &= np.int64(0xFFFFFFFF)
        g >>= shift
        g &= np.int64(bits - 1)
        table[g] = True
    return table


def make_bloom(data: bytes) -> str:
    """A trigram Bloom filter (one hash, 2^18 bits) of ``data`` as base64 of its zstd-compressed bits, or ""
    for chunks under :data:`BLOOM_MIN_BYTES`. Works in steps of :data:`_BLOOM_STEP` so its memory stays small."""
    if len(data) < BLOOM_MIN_BYTES:
        return ""
    packed = np.packbits(_trigram_table(data, BLOOM_BITS)).tobytes()
    return base64.b64encode(zstandard.ZstdCompressor(level=9).compress(packed)).decode("ascii")


def bloom_may_contain(bloom: str, needle: bytes) -> bool:
    """False only when ``needle`` (3 bytes or more) cannot occur in the chunk the filter was made from."""
    if len(needle) < 3 or not bloom:
        return True
    try:
        packed = zstandard.ZstdDecompressor().decompress(base64.b64decode(bloom), max_output_size=BLOOM_BITS // 8)
    except (ValueError, zstandard.ZstdError):
        return True  # an unreadable filter rules nothing out: the chunk is read and checked
    if len(packed) != BLOOM_BITS // 8:
        return True
    table = np.unpackbits(np.frombuffer(packed, dtype=np.uint8)).astype(bool)
    return bool(table[_trigram_hashes(needle, len(table))].all())


# ---------------------------------------------------------------------------------------------------- index
def template_hash(text: str) -> int:
    """The key of a template in the index (CRC-32 of its UTF-8 text); its text is read from the chunk."""
    return zlib.crc32(text.encode("utf-8"))


def file_digest(chunk_digests: list[str]) -> str:
    """A file's digest: SHA-256 of its chunks' binary SHA-256 digests in order (a hash list, so chunks hashed
    in parallel tasks still give one digest per file)."""
    return hashlib.sha256(b"".join(bytes.fromhex(d) for d in chunk_digests)).hexdigest()


# --------------------------------------------------------------------------------------------------- writer
class ArchiveWriter:
    """Appends chunk frames to an open binary file, then the index and trailer on :meth:`finish`."""

    def __init__(self, out: BinaryIO):
        self._out = out
        self._offset = 0
        self._files: list[dict] = []
        self._chunks: list[ChunkEntry] = []
        self._write(_HEADER.pack(MAGIC, VERSION, 0))

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._offset += len(data)

    def start_file(self, path: str, *, mode: int | None = None, mtime_ns: int | None = None) -> None:
        self._files.append({"path": path, "size": 0, "chunks": [], "digests": [], "mode": mode, "mtime_ns": mtime_ns})

    def add_chunk(self, raw: bytes, payload: bytes, *, lines: int, mode: str, templates: dict[str, int],
                  time_range: tuple[str, str] | None = None) -> None:
        """Write one chunk of the current file (``payload`` decodes to ``raw``; checked by the caller)."""
        self.add_encoded(payload, raw_crc=zlib.crc32(raw), raw_bytes=len(raw), bloom=make_bloom(raw), lines=lines,
                         mode=mode, templates=templates, time_range=time_range, raw_sha256=hashlib.sha256(raw).hexdigest())

    def add_encoded(self, payload: bytes, *, raw_crc: int, raw_bytes: int, bloom: str, lines: int, mode: str,
                    templates: dict[str, int], time_range: tuple[str, str] | None = None, raw_sha256: str) -> None:
        """Write a chunk encoded elsewhere (a Spark task), given its original bytes' CRC-32, SHA-256, size and
        Bloom filter."""
        body = struct.pack("<I", raw_crc) + payload
        offset = self._offset
        self._write(_FRAME.pack(TAG_CHUNK, len(body), zlib.crc32(body)))
        self._write(body)
        current = self._files[-1]
        current["size"] += raw_bytes
        current["chunks"].append(len(self._chunks))
        current["digests"].append(raw_sha256)
        self._chunks.append(
            ChunkEntry(
                offset, self._offset - offset, len(self._files) - 1, lines, raw_bytes, mode,
                tuple(sorted(((template_hash(t), n) for t, n in templates.items()), key=lambda t: -t[1])), bloom,
                time_range, raw_sha256,
            )
        )

    def finish(self, fmt: str) -> ArchiveIndex:
        index = ArchiveIndex(
            fmt,
            tuple(
                FileEntry(f["path"], f["size"], tuple(f["chunks"]), file_digest(f["digests"]), f["mode"], f["mtime_ns"])
                for f in self._files
            ),
            tuple(self._chunks),
        )
        body = zstandard.ZstdCompressor(level=9).compress(index.to_json())
        index_offset = self._offset
        self._write(_FRAME.pack(TAG_INDEX, len(body), zlib.crc32(body)))
        self._write(body)
        self._write(_TRAILER.pack(index_offset, END_MAGIC))
        return index


# --------------------------------------------------------------------------------------------------- reader
class ArchiveReader:
    """Reads an archive: the index at open, chunks on demand, every frame checked against its CRC-32.

    Raises:
        CorruptArchive: wrong magic or version, truncated file, or a checksum that does not match.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._pool = None  # worker processes of iter_file(workers > 1), kept from file to file
        try:
            self._fh = open(self.path, "rb")  # noqa: SIM115 - closed by close()/__exit__
        except OSError as exc:
            raise CorruptArchive(f"cannot open archive: {exc.strerror or exc}", path=self.path) from exc
        try:
            self.index = self._read_index()
        except BaseException:
            self._fh.close()
            raise

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self._fh.close()

    def _corrupt(self, message: str, offset: int | None = None) -> CorruptArchive:
        return CorruptArchive(message, path=self.path, offset=offset)

    def _read_index(self) -> ArchiveIndex:
        fh = self._fh
        head = fh.read(_HEADER.size)
        if len(head) < _HEADER.size or head[:8] != MAGIC:
            raise self._corrupt("not a lakeshrink log archive (bad magic)", 0)
        _, version, flags = _HEADER.unpack(head)
        if version not in READABLE_VERSIONS:
            raise self._corrupt(
                f"archive version {version} is not supported (this lakeshrink reads versions "
                f"{', '.join(map(str, READABLE_VERSIONS))})", 8)
        if flags:
            raise self._corrupt(f"archive flags {flags:#x} are not supported (must be 0)", 10)
        self.version = version
        size = fh.seek(0, 2)
        if size < _HEADER.size + _TRAILER.size:
            raise self._corrupt("archive is truncated: no index trailer", size)
        fh.seek(size - _TRAILER.size)
        index_offset, end = _TRAILER.unpack(fh.read(_TRAILER.size))
        if end != END_MAGIC or not _HEADER.size <= index_offset <= size - _TRAILER.size - _FRAME.size:
            raise self._corrupt("archive is truncated or damaged: index trailer missing", size - _TRAILER.size)
        tag, body = self._frame(index_offset)
        if tag != TAG_INDEX:
            raise self._corrupt("index frame expected at the trailer's offset", index_offset)
        if index_offset + _FRAME.size + len(body) != size - _TRAILER.size:
            raise self._corrupt("bytes between the index and the trailer", index_offset)
        from lakeshrink.codecs.logs.packing import _zstd_at_most

        limit = max(64 << 20, _INDEX_RATIO * len(body))
        try:
            text = _zstd_at_most(body, limit + 1)
        except zstandard.ZstdError as exc:
            raise self._corrupt(f"unreadable index: {exc}", index_offset) from exc
        if len(text) > limit:
            raise self._corrupt(f"the index decompresses to more than {limit} bytes", index_offset)
        try:
            index = parse_index(text, version)
        except ValueError as exc:
            raise self._corrupt(f"invalid index: {exc}", index_offset) from exc
        self._check_layout(index, index_offset)
        return index

    def _check_layout(self, index: ArchiveIndex, index_offset: int) -> None:
        """Chunk frames fill the space between the header and the index, in order, with no gap and no overlap:
        a frame the index does not list (a file dropped from the index) is refused, not silently left out."""
        end = _HEADER.size
        for i, c in enumerate(index.chunks):
            if c.offset != end or c.offset + c.length > index_offset or c.length < _FRAME.size + 4:
                raise self._corrupt(f"invalid index: chunk {i} lies outside its place in the archive", index_offset)
            end = c.offset + c.length
        if end != index_offset:
            raise self._corrupt(f"invalid index: {index_offset - end} bytes of frames before the index are not "
                                "listed by it", index_offset)

    def _frame(self, offset: int) -> tuple[bytes, bytes]:
        self._fh.seek(offset)
        head = self._fh.read(_FRAME.size)
        if len(head) < _FRAME.size:
            raise self._corrupt("truncated frame header", offset)
        tag, length, crc = _FRAME.unpack(head)
        body = self._fh.read(length)
        if len(body) != length:
            raise self._corrupt("truncated frame", offset)
        if zlib.crc32(body) != crc:
            raise self._corrupt("checksum mismatch: the archive is corrupt", offset)
        return tag, body

    def read_chunk(self, i: int, arrow: bool = True, copy: bool = True) -> bytes | memoryview:
        """The original bytes of chunk ``i``, checked against the CRC-32 (and, since version 2, the SHA-256)
        recorded when it was written; decoding never allocates more than the index's declared size allows
        (``arrow``, ``copy``: see :func:`~lakeshrink.codecs.logs.chunk.decode_chunk`)."""
        from lakeshrink.codecs.logs.chunk import decode_chunk

        entry = self.index.chunks[i]
        body = self._chunk_body(i)
        (raw_crc,) = struct.unpack_from("<I", body)
        try:
            raw = decode_chunk(body[4:], raw_bytes=entry.raw_bytes, arrow=arrow, copy=copy)
        except Exception as exc:  # any decoding failure of checksummed data is corruption or a bug: say where
            raise self._corrupt(f"chunk {i} cannot be decoded: {exc}", entry.offset) from exc
        if zlib.crc32(raw) != raw_crc or len(raw) != entry.raw_bytes:
            raise self._corrupt(f"chunk {i} decoded to bytes that fail their checksum", entry.offset)
        if entry.sha256 and hashlib.sha256(raw).hexdigest() != entry.sha256:
            raise self._corrupt(f"chunk {i} decoded to bytes that fail their SHA-256 digest", entry.offset)
        return raw

    def _chunk_body(self, i: int) -> bytes:
        entry = self.index.chunks[i]
        tag, body = self._frame(entry.offset)
        if tag != TAG_CHUNK or len(body) != entry.length - _FRAME.size or len(body) < 4:
            raise self._corrupt(f"chunk frame expected for chunk {i}", entry.offset)
        return body

    def chunk_payload(self, i: int) -> bytes:
        return self._chunk_body(i)[4:]

    def chunk_meta(self, i: int, read: Callable[..., T]) -> T:
        """``read(payload, raw_bytes)`` on chunk ``i`` (e.g. ``chunk.chunk_templates``), bounded by the size its
        index entry declares; any failure is reported as :class:`CorruptArchive`."""
        entry = self.index.chunks[i]
        payload = self.chunk_payload(i)
        try:
            return read(payload, entry.raw_bytes)
        except Exception as exc:  # hostile or damaged metadata behind a valid frame checksum
            raise self._corrupt(f"chunk {i} cannot be decoded: {exc}", entry.offset) from exc

    def iter_file(self, file_index: int, workers: int = 1, *, threads: bool = False,
                  arrow: bool = True, copy: bool = True) -> Iterator[bytes | memoryview]:
        """The chunks of one file in order; since version 2 the file's digest is checked after its last chunk
        (before it is reported complete), so a file never silently gets another file's bytes.

        With ``workers`` > 1 and several chunks, chunks are decoded on that many worker processes, or threads
        with ``threads`` (:mod:`.parallel`; each checks its chunk's CRC-32 and computes its SHA-256), at most
        ``workers + 1`` decoded or decoding at once (:func:`.parallel.decode_plan` chooses from the file's chunk
        sizes). ``arrow``: see :func:`~lakeshrink.codecs.logs.chunk.decode_chunk`. ``copy=False``: chunks
        decoded here or on threads may be views of Arrow's buffers (``memoryview``, no copy into ``bytes``).
        """
        entry = self.index.files[file_index]
        digests = [self.index.chunks[i].sha256 for i in entry.chunks]
        if workers > 1 and len(entry.chunks) > 1:
            yield from self._iter_parallel(list(entry.chunks), workers, threads, arrow, copy or not threads)
        else:
            for i in entry.chunks:
                yield self.read_chunk(i, arrow, copy)
        if entry.sha256 and file_digest(digests) != entry.sha256:
            raise self._corrupt(f"file {entry.path!r} fails its SHA-256 digest", None)

    def _iter_parallel(self, chunks: list[int], workers: int, threads: bool, arrow: bool,
                       copy: bool = True) -> Iterator[bytes | memoryview]:
        from lakeshrink.codecs.logs.parallel import Ordered, decode_job, warm_decoder

        if self._pool is None or self._pool.workers != workers or self._pool.threads != threads:
            if self._pool is not None:
                self._pool.close()
            # kept for the next file; stopped by close()
            self._pool = Ordered(workers, threads=threads, initializer=None if threads else warm_decoder)
        pool = self._pool
        done: deque[tuple[int, tuple[bytes, bool, str] | BaseException]] = deque()
        try:
            for i in chunks:
                body = self._chunk_body(i)
                pool.submit(decode_job, body[4:], self.index.chunks[i].raw_bytes, body[:4], arrow, copy,
                            then=functools.partial(lambda k, result: done.append((k, result)), i))
                while done:
                    yield self._checked(*done.popleft())
            pool.flush()
            while done:
                yield self._checked(*done.popleft())
        except BaseException:
            pool.close()  # a failed or abandoned file: no job of it may outlive this generator
            raise

    def _checked(self, i: int, result: tuple[bytes | memoryview, int, str] | BaseException) -> bytes | memoryview:
        entry = self.index.chunks[i]
        if isinstance(result, BaseException):
            raise self._corrupt(f"chunk {i} cannot be decoded: {result}", entry.offset) from result
        raw, crc_ok, sha = result
        if not crc_ok or len(raw) != entry.raw_bytes:
            raise self._corrupt(f"chunk {i} decoded to bytes that fail their checksum", entry.offset)
        if entry.sha256 and sha != entry.sha256:
            raise self._corrupt(f"chunk {i} decoded to bytes that fail their SHA-256 digest", entry.offset)
        return raw
