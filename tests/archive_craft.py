"""Build log archives byte by byte for hostile-input tests: any index, any chunk bodies, valid checksums."""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from pathlib import Path

import zstandard

from lakeshrink.codecs.logs.archive import END_MAGIC, MAGIC, TAG_CHUNK, TAG_INDEX
from lakeshrink.codecs.logs.packing import LZMA, STORED, ZSTD, put_varint


def file_digest(chunk_digests: list[str]) -> str:
    """The per-file digest of archive version 2 (SHA-256 of the chunks' binary digests), computed independently."""
    return hashlib.sha256(b"".join(bytes.fromhex(d) for d in chunk_digests)).hexdigest()


def section(codec: int, raw_len: int, data: bytes, dict_size: int | None = None) -> bytes:
    out = bytearray([codec])
    put_varint(raw_len, out)
    if codec == LZMA:
        put_varint(dict_size or 1 << 20, out)
    put_varint(len(data), out)
    return bytes(out + data)


def whole_payload(raw: bytes) -> bytes:
    """A mode-1 (whole chunk zstd) payload of ``raw``."""
    return bytes([1]) + section(ZSTD, len(raw), zstandard.ZstdCompressor().compress(raw))


def write(path: Path, chunks: list[tuple[bytes, bytes]], files: list[dict], *, version: int = 2,
          chunk_fields: list[dict] | None = None, fmt: str = "<Content>", list_chunks: bool = True) -> Path:
    """An archive holding ``chunks`` (payload, the raw bytes it claims) and the index ``files``
    (``{"path", "chunks"}``; size and digests computed unless given); ``chunk_fields`` override chunk entries."""
    out = bytearray(struct.pack("<8sHH", MAGIC, version, 0))
    entries = []
    owner = {c: n for n, f in enumerate(files) for c in f["chunks"] if isinstance(c, int) and 0 <= c < len(chunks)}
    for i, (payload, raw) in enumerate(chunks):
        body = struct.pack("<I", zlib.crc32(raw)) + payload
        offset = len(out)
        out += struct.pack("<4sII", TAG_CHUNK, len(body), zlib.crc32(body)) + body
        entry = {"offset": offset, "length": len(out) - offset, "file": owner.get(i, 0), "lines": raw.count(b"\n"),
                 "raw_bytes": len(raw), "mode": "zstd", "templates": [], "bloom": "", "time": None,
                 "sha256": hashlib.sha256(raw).hexdigest()}
        entry.update((chunk_fields or [{}] * len(chunks))[i])
        entries.append(entry)
    docs = []
    for f in files:
        ids = [c for c in f["chunks"] if isinstance(c, int) and -len(chunks) <= c < len(chunks)]
        doc = {"path": f["path"], "chunks": f["chunks"],
               "size": f.get("size", sum(len(chunks[c][1]) for c in ids)),
               "sha256": f.get("sha256", file_digest([entries[c]["sha256"] for c in ids])), "mode": None,
               "mtime_ns": None}
        docs.append(doc)
    index = {"version": version, "format": fmt, "files": docs, "chunks": entries if list_chunks else []}
    body = zstandard.ZstdCompressor().compress(json.dumps(index).encode())
    index_offset = len(out)
    out += struct.pack("<4sII", TAG_INDEX, len(body), zlib.crc32(body)) + body
    out += struct.pack("<Q8s", index_offset, END_MAGIC)
    path.write_bytes(bytes(out))
    return path


__all__ = ["LZMA", "STORED", "ZSTD", "section", "whole_payload", "write"]
