"""Recovering the intact chunks of a damaged log archive (a truncated copy, a lost index).

The index and trailer sit at the end, so a truncated archive has lost them; its chunk frames are still in order
after the header, each with its own CRC-32 and the CRC-32 of its original bytes. :func:`salvage` walks the frames
from the start and writes every chunk that passes both checks, in order, as ``chunk-NNNNNN.log`` in a new
directory (file names and boundaries lived in the index; chunks never span files, so each chunk belongs to one
input). It stops at the first frame that is damaged or cut. Nothing it writes can be wrong: a chunk is kept only
when its decoded bytes match the checksum recorded with them.

Without the index the decoded size of a chunk is not declared, so decoding is bounded by
``SALVAGE_RATIO`` times the frame's size (logs compress far less than that).
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from lakeshrink.codecs.logs.archive import _FRAME, _HEADER, MAGIC, READABLE_VERSIONS, TAG_CHUNK, TAG_INDEX
from lakeshrink.errors import CorruptArchive, InputError
from lakeshrink.fileio import atomic_dir

SALVAGE_RATIO = 256


@dataclass(frozen=True)
class SalvageReport:
    archive: str
    output: str
    chunks: int
    bytes: int
    stopped_at: int | None  # byte offset of the first frame that could not be used (None: reached the index)
    reason: str


def salvage(archive: str | os.PathLike[str], output: str | os.PathLike[str]) -> SalvageReport:
    """Write the intact chunks of ``archive`` to the new directory ``output`` (see the module docstring).

    Raises:
        CorruptArchive: the file is not a log archive (bad magic or version).
        InputError: ``output`` exists.
    """
    from lakeshrink.codecs.logs.chunk import decode_chunk

    data = Path(archive).read_bytes()
    if data[:8] != MAGIC or len(data) < _HEADER.size:
        raise CorruptArchive("not a lakeshrink log archive (bad magic)", path=archive, offset=0)
    _, version, _ = _HEADER.unpack_from(data)
    if version not in READABLE_VERSIONS:
        raise CorruptArchive(f"archive version {version} is not supported", path=archive, offset=8)
    pos, count, total, reason = _HEADER.size, 0, 0, "reached the index: nothing was lost"
    stopped: int | None = None
    try:
        with atomic_dir(output) as tmp:
            while True:
                if pos + _FRAME.size > len(data):
                    stopped, reason = pos, "the archive ends inside a frame header (truncated)"
                    break
                tag, length, crc = _FRAME.unpack_from(data, pos)
                body = data[pos + _FRAME.size : pos + _FRAME.size + length]
                if tag == TAG_INDEX:
                    break
                if tag != TAG_CHUNK or len(body) != length or zlib.crc32(body) != crc or length < 4:
                    stopped, reason = pos, "a damaged or truncated chunk frame"
                    break
                (raw_crc,) = struct.unpack_from("<I", body)
                try:
                    raw = decode_chunk(body[4:], raw_bytes=SALVAGE_RATIO * length)
                except Exception:  # noqa: BLE001 - an undecodable chunk ends the salvage here
                    raw = None
                if raw is None or zlib.crc32(raw) != raw_crc:
                    stopped, reason = pos, "a chunk that does not decode to its checksum"
                    break
                (tmp / f"chunk-{count:06d}.log").write_bytes(raw)
                count += 1
                total += len(raw)
                pos += _FRAME.size + length
    except FileExistsError as exc:
        raise InputError("output already exists", path=output, hint="choose a new directory") from exc
    return SalvageReport(str(archive), str(output), count, total, stopped, reason)
