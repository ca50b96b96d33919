"""Sealed JSON documents (plans, recipes, the marks manifest) and table paths that stay inside a lake.

Format of every sealed document lakeshrink's planner writes (``plan.json``, ``recipes/*.json``,
``_lakeshrink/marked.json``): one UTF-8 JSON object with

* ``"format"``: the magic string naming the kind of document (``"lakeshrink-plan"``, ``"lakeshrink-recipe"``,
  ``"lakeshrink-marks"``);
* ``"version"``: an integer, currently ``1`` for each kind; readers refuse versions they do not know;
* the document's own fields;
* ``"sha256"``: the hex SHA-256 of the canonical JSON of every other field (keys sorted, no spaces,
  ``ensure_ascii=False``, UTF-8). Pretty-printing does not change it; editing any value, or truncating the file,
  does, and the reader refuses the document with :class:`~lakeshrink.errors.CorruptArchive`.

Nothing is marked on a doubt: every reader of a plan or manifest goes through :func:`read_sealed`.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from pathlib import Path
from typing import Any

from lakeshrink.errors import CorruptArchive, TableError
from lakeshrink.serde import to_jsonable, write_json


class UnsafeTablePath(TableError):
    """A table path that is absolute, contains ``..``, or leaves the lake root through a symlink."""


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def seal(kind: str, version: int, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` as a sealed document of ``kind`` (magic) and ``version``, with its checksum."""
    doc = {"format": kind, "version": version, **to_jsonable(body)}
    doc.pop("sha256", None)
    doc["sha256"] = hashlib.sha256(_canonical(doc)).hexdigest()
    return doc


def write_sealed(path: str | os.PathLike[str], kind: str, version: int, body: dict[str, Any]) -> dict[str, Any]:
    """Seal ``body`` and write it to ``path`` atomically; returns the sealed document."""
    doc = seal(kind, version, body)
    write_json(doc, path)
    return doc


def unseal(doc: Any, kind: str, versions: tuple[int, ...], *, path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Check a parsed document's magic, version and checksum; return it (with the seal fields)."""
    where = str(path) if path is not None else None
    if not isinstance(doc, dict):
        raise CorruptArchive(f"not a {kind} document (a JSON object was expected)", path=where)
    if doc.get("format") != kind:
        raise CorruptArchive(f"not a {kind} document (format is {doc.get('format')!r})", path=where)
    if doc.get("version") not in versions:
        raise CorruptArchive(
            f"{kind} version {doc.get('version')!r} is not supported (this lakeshrink reads {', '.join(map(str, versions))})",
            path=where,
        )
    stored = doc.get("sha256")
    body = {k: v for k, v in doc.items() if k != "sha256"}
    actual = hashlib.sha256(_canonical(body)).hexdigest()
    if stored != actual:
        raise CorruptArchive(
            f"checksum mismatch: the {kind} was edited or damaged after lakeshrink wrote it (sha256 {stored!r} stored, "
            f"{actual} computed); refusing to use it",
            path=where,
        )
    return doc


def read_sealed(path: str | os.PathLike[str], kind: str, versions: tuple[int, ...] = (1,)) -> dict[str, Any]:
    """Read and check a sealed document written by :func:`write_sealed`.

    Raises:
        CorruptArchive: the file is not JSON (truncated?), not of this kind or version, or its checksum differs.
        FileNotFoundError: there is no such file.
    """
    raw = Path(path).read_bytes()
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptArchive(f"{kind} is not valid JSON (truncated or damaged?): {exc}", path=path) from exc
    return unseal(doc, kind, versions, path=path)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_table_id(table_id: str) -> str:
    """``table_id`` if it is a plain relative path inside a lake (no ``..``, not absolute, no URI)."""
    if not isinstance(table_id, str) or not table_id.strip():
        raise UnsafeTablePath("empty table id", table=str(table_id))
    if "://" in table_id or table_id.startswith(("/", "\\")) or (len(table_id) > 1 and table_id[1] == ":"):
        raise UnsafeTablePath(f"table path {table_id!r} is absolute; it must be relative to the lake root", table=table_id)
    parts = table_id.replace("\\", "/").split("/")
    if any(p in ("..", "") for p in parts):
        raise UnsafeTablePath(f"table path {table_id!r} escapes the lake root (contains '..' or an empty part)", table=table_id)
    return table_id


def table_path(root: str, table_id: str, *, local: bool) -> str:
    """The path of table ``table_id`` under lake ``root``, refused if it leaves the root (also via symlinks)."""
    check_table_id(table_id)
    path = posixpath.join(root, table_id)
    if local:
        real_root = os.path.realpath(root)
        real = os.path.realpath(path)
        if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
            raise UnsafeTablePath(f"table path {table_id!r} escapes the lake root through a symlink (it resolves to {real})", table=table_id, path=root)
    return path
