"""Recovering the intact chunks of a damaged log archive (a truncated copy, a lost index).

The index and trailer sit at the end, so a truncated archive has lost them; its chunk frames are still in order
after the header, each with its own CRC-32 and the CRC-32 of its original bytes. :func:`salvage` walks the frames
from the start and writes every chunk that passes both checks, in order, as ``chunk-NNNNNN.log`` in a new
directory (file names and boundaries lived in the index; chunks never span files, so each chunk belongs to one
input). A damaged chunk whose frame still leads to the next frame (its length is intact: a flipped bit inside,
not a cut) is skipped and the walk goes on, leaving a gap in the numbering (``chunk-NNNNNN`` is the frame's
position); it stops at a frame that is cut or whose length cannot be trusted. Nothing it writes can be wrong: a
chunk is kept only when its decoded bytes match the checksum recorded with them.

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
    skipped: tuple[int, ...] = ()  # byte offsets of damaged chunk frames skipped over


def salvage(archive: str | os.PathLike[str], output: str | os.PathLike[str]) -> SalvageReport:
    """Write the intact chunks of ``archive`` to the new directory ``output`` (see the module docstring).

    Raises:
        CorruptArchive: the file is not a log archive (bad magic or version).
        InputError: ``output`` exists.
    """
    data = Path(archive).read_bytes()
    if data[:8] != MAGIC or len(data) < _HEADER.size:
        raise CorruptArchive("not a lakeshrink log archive (bad magic)", path=archive, offset=0)
    _, version, _ = _HEADER.unpack_from(data)
    if version not in READABLE_VERSIONS:
        raise CorruptArchive(f"archive version {version} is not supported", path=archive, offset=8)
    pos, frame, count, total, reason = _HEADER.size, 0, 0, 0, "reached the index: nothing was lost"
    stopped: int | None = None
    skipped: list[int] = []
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
                raw = _decode(body) if tag == TAG_CHUNK and len(body) == length and zlib.crc32(body) == crc else None
                if raw is None:
                    if tag == TAG_CHUNK and _frame_follows(data, pos + _FRAME.size + length):
                        skipped.append(pos)  # damaged inside, but the next frame is where its length says
                    else:
                        stopped, reason = pos, "a damaged or truncated chunk frame"
                        break
                else:
                    (tmp / f"chunk-{frame:06d}.log").write_bytes(raw)
                    count += 1
                    total += len(raw)
                pos += _FRAME.size + length
                frame += 1
    except FileExistsError as exc:
        raise InputError("output already exists", path=output, hint="choose a new directory") from exc
    if stopped is None and skipped:
        reason = f"reached the index; {len(skipped)} damaged chunk(s) skipped"
    return SalvageReport(str(archive), str(output), count, total, stopped, reason, tuple(skipped))


def _decode(body: bytes) -> bytes | None:
    """The original bytes of a chunk frame's body, or None when it does not decode to its recorded checksum."""
    from lakeshrink.codecs.logs.chunk import decode_chunk

    if len(body) < 4:
        return None
    (raw_crc,) = struct.unpack_from("<I", body)
    try:
        raw = decode_chunk(body[4:], raw_bytes=SALVAGE_RATIO * len(body))
    except Exception:  # noqa: BLE001 - an undecodable chunk is a damaged one
        return None
    return raw if zlib.crc32(raw) == raw_crc else None


def _frame_follows(data: bytes, pos: int) -> bool:
    """Whether a chunk or index frame header starts at ``pos`` (so a damaged frame's length can be trusted)."""
    return pos + _FRAME.size <= len(data) and data[pos : pos + 4] in (TAG_CHUNK, TAG_INDEX)
