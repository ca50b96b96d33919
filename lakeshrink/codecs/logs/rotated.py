"""Compressed log inputs (rotated logs: ``app.log.2.gz``): detected by magic bytes and read decompressed.

``logs compress`` stores the ORIGINAL LOG LINES of a compressed input, not its compressed bytes: the archive
records the decompressed content under the input's name without its compression suffix (``app.log.2.gz`` is
archived, and restored by ``logs decompress``, as ``app.log.2``), so templates are mined from the lines and
``logs grep`` finds them. Decompressing the archive gives back the log text; the .gz wrapper is not re-created
(its bytes depend on the gzip level and implementation, and nothing needs them).

Which inputs are decompressed is decided by their first bytes, never by their name alone:

========  ==========================  ==================  ====================================
format    magic                       suffix removed      reader
========  ==========================  ==================  ====================================
gzip      ``1f 8b``                   ``.gz``             :mod:`gzip` (stdlib)
zstd      ``28 b5 2f fd``             ``.zst``, ``.zstd`` ``zstandard`` (frame by frame)
xz        ``fd 37 7a 58 5a 00``       ``.xz``             :mod:`lzma` (stdlib)
bzip2     ``42 5a 68`` ("BZh")        ``.bz2``            :mod:`bz2` (stdlib)
========  ==========================  ==================  ====================================

A file whose content has one of these magics but not the matching suffix keeps its name (its restored content is
the decompressed log). Concatenated members/frames/streams are read through. A corrupt or truncated input
raises :class:`~lakeshrink.errors.InputError` naming the file; the archive being written is then discarded
whole (it is written to a temporary path and renamed only when complete).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib
from dataclasses import dataclass
from typing import BinaryIO

import zstandard

from lakeshrink.errors import InputError

#: Leading bytes of each compressed format read transparently.
MAGIC = {"gzip": b"\x1f\x8b", "zstd": b"\x28\xb5\x2f\xfd", "xz": b"\xfd7zXZ\x00", "bzip2": b"BZh"}
#: Name suffixes removed from a compressed input's archived name (only the one matching its detected format).
SUFFIXES = {"gzip": (".gz",), "zstd": (".zst", ".zstd"), "xz": (".xz",), "bzip2": (".bz2",)}
_ERRORS = (EOFError, OSError, lzma.LZMAError, zlib.error, zstandard.ZstdError)
_READ = 1 << 16


def sniff(head: bytes) -> str | None:
    """The compressed format whose magic ``head`` starts with, or None for anything else (plain text)."""
    for kind, magic in MAGIC.items():
        if head.startswith(magic):
            return kind
    return None


def sniff_file(path: str) -> str | None:
    """:func:`sniff` on the first bytes of the file ``path`` (None when it cannot be read: the reader says why)."""
    try:
        with open(path, "rb") as fh:
            return sniff(fh.read(6))
    except OSError:
        return None


def archived_name(name: str, kind: str | None) -> str:
    """The name a compressed input is archived (and restored) under: without the suffix of its format."""
    if kind is None:
        return name
    base = name.rsplit("/", 1)[-1].lower()
    for suffix in SUFFIXES[kind]:
        if base.endswith(suffix) and len(base) > len(suffix):
            return name[: -len(suffix)]
    return name


class _Counting:
    """Counts the bytes read from a raw stream (the progress bar follows the compressed bytes of an input)."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.count += len(data)
        return data

    def readable(self) -> bool:
        return True


class _Zstd:
    """zstd frames decoded one after another; input that ends inside a frame raises ``EOFError``.

    ``zstandard``'s ``stream_reader`` returns a truncated frame's bytes without an error, so frames are fed to
    single-frame ``decompressobj`` s, whose ``eof`` says whether the frame was complete.
    """

    def __init__(self, raw: _Counting):
        self._raw = raw
        self._dctx = zstandard.ZstdDecompressor()
        self._obj = None  # the frame being decoded (None between frames)
        self._buf = bytearray()
        self._done = False

    def _feed(self, data: bytes) -> None:
        while data:
            if self._obj is None:
                self._obj = self._dctx.decompressobj()
            self._buf += self._obj.decompress(data)
            if not self._obj.eof:
                return
            data = self._obj.unused_data
            self._obj = None

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buf) < size):
            data = self._raw.read(_READ)
            if not data:
                self._done = True
                if self._obj is not None:
                    raise EOFError("compressed file ended before the end of its last zstd frame")
                break
            self._feed(data)
        n = len(self._buf) if size < 0 else min(size, len(self._buf))
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out


@dataclass
class LogInput:
    """An input stream giving the log's bytes: decompressed when the input is compressed.

    Attributes:
        name: the input's path, for errors.
        kind: the compressed format, or None for plain text.
    """

    raw: BinaryIO
    name: str
    kind: str | None

    def __post_init__(self) -> None:
        self._counter = _Counting(self.raw)
        self._stream = {
            None: lambda c: c,
            "gzip": lambda c: gzip.GzipFile(fileobj=c, mode="rb"),
            "zstd": _Zstd,
            "xz": lambda c: lzma.LZMAFile(c),
            "bzip2": lambda c: bz2.BZ2File(c),
        }[self.kind](self._counter)

    @property
    def consumed(self) -> int:
        """Bytes read so far from the input itself (compressed bytes for a compressed input)."""
        return self._counter.count

    def __enter__(self) -> LogInput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the decompressor and the input (stdin included: call it only for files)."""
        if self._stream is not self._counter:
            self._stream.close() if hasattr(self._stream, "close") else None
        self.raw.close()

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the log (raises :class:`InputError` for a corrupt or truncated input)."""
        try:
            return self._stream.read(size)
        except _ERRORS as exc:
            if self.kind is None:
                raise InputError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", path=self.name) from exc
            raise InputError(f"corrupt or truncated {self.kind} input: {exc}", path=self.name,
                             hint="check it with the format's own tool (gzip -t, xz -t, zstd -t, bzip2 -t)") from exc


def open_log(raw: BinaryIO, name: str) -> LogInput:
    """Wrap ``raw`` (a file or stdin) so that it reads as the log, decompressing it if its magic says so.

    The first bytes are looked at with ``peek`` when the stream has it (stdin), else read and sought back.
    """
    if hasattr(raw, "peek"):
        head = raw.peek(6)[:6]
    else:
        pos = raw.tell()
        head = raw.read(6)
        raw.seek(pos)
    return LogInput(raw, name, sniff(head))
