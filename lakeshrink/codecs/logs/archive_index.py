"""A log archive's index: its model (:class:`ArchiveIndex`, :class:`ChunkEntry`, :class:`FileEntry`) and its
parsing and validation: hostile contents behind a valid checksum are refused here.

Every field is type- and range-checked before anything trusts it, and the index must describe one consistent
archive: each chunk belongs to exactly one file and is listed once, by that file, in order; a file's size is the
sum of its chunks'; paths are relative, normalised, unique, and no path is a folder of another. Version 2 also
requires the SHA-256 digests (checked by :class:`~lakeshrink.codecs.logs.archive.ArchiveReader` as it decodes).
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass

INDEX_VERSION = 2
#: A chunk may not declare more original bytes than this (the writer's chunks are ``--chunk-mb``, 32 MiB by
#: default, plus at most one line of ``--max-line-bytes``): declared sizes bound every allocation a reader makes.
MAX_CHUNK_BYTES = 1 << 32


@dataclass(frozen=True)
class ChunkEntry:
    """Where a chunk is and what it holds."""

    offset: int
    length: int
    file: int
    lines: int
    raw_bytes: int
    mode: str
    templates: tuple[tuple[int, int], ...]  # (template_hash of the text, lines); texts live in the chunk
    bloom: str
    time_range: tuple[str, str] | None = None  # min, max of the lines' time keys (chunk.time_key)
    sha256: str = ""  # hex SHA-256 of the chunk's original bytes (version 2; "" in version 1)


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    chunks: tuple[int, ...]
    sha256: str = ""  # hex SHA-256 of the concatenated binary digests of its chunks, in order (version 2)
    mode: int | None = None  # permission bits of the input (st_mode & 0o7777), None for stdin
    mtime_ns: int | None = None  # modification time of the input, None for stdin


@dataclass(frozen=True)
class ArchiveIndex:
    format: str
    files: tuple[FileEntry, ...]
    chunks: tuple[ChunkEntry, ...]
    miner_version: int = 1
    version: int = INDEX_VERSION

    def to_json(self) -> bytes:
        doc = {
            "version": INDEX_VERSION,
            "format": self.format,
            "files": [
                {"path": f.path, "size": f.size, "chunks": list(f.chunks), "sha256": f.sha256, "mode": f.mode,
                 "mtime_ns": f.mtime_ns}
                for f in self.files
            ],
            "chunks": [
                {
                    "offset": c.offset,
                    "length": c.length,
                    "file": c.file,
                    "lines": c.lines,
                    "raw_bytes": c.raw_bytes,
                    "mode": c.mode,
                    "templates": [list(t) for t in c.templates],
                    "bloom": c.bloom,
                    "time": list(c.time_range) if c.time_range else None,
                    "sha256": c.sha256,
                }
                for c in self.chunks
            ],
        }
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_MODES = ("columnar", "zstd", "lzma")


class IndexInvalid(ValueError):
    """An index field with a value this format never writes (reported as ``CorruptArchive`` by the reader)."""


def _int(value: object, what: str, lo: int = 0, hi: int = 2**63 - 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise IndexInvalid(f"{what} must be an integer in {lo}..{hi}, got {str(value)[:40]!r}")
    return value


def _str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise IndexInvalid(f"{what} must be a string, got {type(value).__name__}")
    return value


def _list(value: object, what: str) -> list:
    if not isinstance(value, list):
        raise IndexInvalid(f"{what} must be a list, got {type(value).__name__}")
    return value


def safe_path(path: str) -> str:
    """``path`` if it is a relative, normalised POSIX path without ``..``, NUL or empty parts; else an error."""
    if (not path or "\x00" in path or "\\" in path or path.startswith("/") or posixpath.normpath(path) != path
            or any(part in ("", ".", "..") for part in path.split("/"))):
        raise IndexInvalid(f"unsafe file path {path[:200]!r}")
    return path


def _chunk(c: object, i: int, n_files: int, version: int) -> ChunkEntry:
    if not isinstance(c, dict):
        raise IndexInvalid(f"chunk {i} is not an object")
    where = f"chunk {i}"
    templates = []
    for t in _list(c.get("templates"), f"{where} templates"):
        if not (isinstance(t, list) and len(t) == 2):
            raise IndexInvalid(f"{where} has a malformed template entry")
        templates.append((_int(t[0], f"{where} template", 0, 2**32 - 1), _int(t[1], f"{where} template lines")))
    time = c.get("time")
    if time is not None:
        time = tuple(_str(x, f"{where} time") for x in _list(time, f"{where} time"))
        if len(time) != 2:
            raise IndexInvalid(f"{where} time range must have two ends")
    mode = _str(c.get("mode"), f"{where} mode")
    if mode not in _MODES:
        raise IndexInvalid(f"{where} has unknown mode {mode[:20]!r}")
    sha = c.get("sha256", "") if version >= 2 else ""
    if version >= 2 and not (isinstance(sha, str) and _HEX64.match(sha)):
        raise IndexInvalid(f"{where} has no valid SHA-256 digest")
    raw_bytes = _int(c.get("raw_bytes"), f"{where} raw_bytes", 0, MAX_CHUNK_BYTES)
    return ChunkEntry(
        _int(c.get("offset"), f"{where} offset"), _int(c.get("length"), f"{where} length", 1, 2**32 + 12),
        _int(c.get("file"), f"{where} file", 0, max(n_files - 1, 0)), _int(c.get("lines"), f"{where} lines", 0, raw_bytes + 1),
        raw_bytes, mode, tuple(templates), _str(c.get("bloom", ""), f"{where} bloom"), time, sha,
    )


def _file(f: object, i: int, version: int) -> FileEntry:
    if not isinstance(f, dict):
        raise IndexInvalid(f"file {i} is not an object")
    path = safe_path(_str(f.get("path"), f"file {i} path"))
    chunks = tuple(_int(c, f"file {path!r} chunk number") for c in _list(f.get("chunks"), f"file {path!r} chunks"))
    sha = f.get("sha256", "") if version >= 2 else ""
    if version >= 2 and not (isinstance(sha, str) and _HEX64.match(sha)):
        raise IndexInvalid(f"file {path!r} has no valid SHA-256 digest")
    mode = f.get("mode") if version >= 2 else None
    mtime = f.get("mtime_ns") if version >= 2 else None
    return FileEntry(
        path, _int(f.get("size"), f"file {path!r} size"), chunks, sha,
        None if mode is None else _int(mode, f"file {path!r} mode", 0, 0o7777),
        None if mtime is None else _int(mtime, f"file {path!r} mtime_ns", -(2**62), 2**62),
    )


def parse_index(data: bytes, version: int) -> ArchiveIndex:
    """The :class:`ArchiveIndex` in ``data`` (UTF-8 JSON), validated for archive format ``version``.

    Raises:
        ValueError: anything this format never writes (the reader reports it as ``CorruptArchive``).
    """
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise IndexInvalid(f"not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise IndexInvalid("not a JSON object")
    if doc.get("version") != version:
        raise IndexInvalid(f"index version {str(doc.get('version'))[:20]} does not match archive version {version}")
    fmt = _str(doc.get("format"), "format")
    raw_files = _list(doc.get("files"), "files")
    files = tuple(_file(f, i, version) for i, f in enumerate(raw_files))
    chunks = tuple(_chunk(c, i, len(files), version) for i, c in enumerate(_list(doc.get("chunks"), "chunks")))
    _check_consistent(files, chunks)
    return ArchiveIndex(fmt, files, chunks, version=version)


def _check_consistent(files: tuple[FileEntry, ...], chunks: tuple[ChunkEntry, ...]) -> None:
    seen: set[str] = set()
    for f in files:
        if f.path in seen:
            raise IndexInvalid(f"file path {f.path!r} is listed twice")
        seen.add(f.path)
    for f in files:  # "a" and "a/b" cannot both be files
        parent = posixpath.dirname(f.path)
        while parent:
            if parent in seen:
                raise IndexInvalid(f"file path {f.path!r} lies inside file {parent!r}")
            parent = posixpath.dirname(parent)
    expected = 0
    for n, f in enumerate(files):
        size = 0
        for c in f.chunks:
            if c != expected:
                raise IndexInvalid(f"file {f.path!r} lists chunk {c} where chunk {expected} is expected "
                                  "(each chunk belongs to one file, once, in order)")
            if c >= len(chunks) or chunks[c].file != n:
                raise IndexInvalid(f"chunk {c} listed by file {f.path!r} does not belong to it")
            size += chunks[c].raw_bytes
            expected += 1
        if size != f.size:
            raise IndexInvalid(f"file {f.path!r} declares {f.size} bytes but its chunks hold {size}")
    if expected != len(chunks):
        raise IndexInvalid(f"{len(chunks) - expected} chunks belong to no file")
