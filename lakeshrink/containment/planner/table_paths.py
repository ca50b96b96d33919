"""Table paths that stay inside a lake.

The planner's files (``plan.json``, ``recipes/*.json``, ``_lakeshrink/marked.json``) are sealed documents (magic,
version, SHA-256 of their canonical JSON) written and checked by :mod:`lakeshrink.sealed`, the one module of every
signed file (encoding plans and fingerprint caches too). The table ids inside them are checked here before any
path is built from one.
"""

from __future__ import annotations

import os
import posixpath

from lakeshrink.errors import TableError


class UnsafeTablePath(TableError):
    """A table path that is absolute, contains ``..``, or leaves the lake root through a symlink."""


def check_table_id(table_id: str) -> str:
    """``table_id`` if it is a plain relative path inside a lake (no ``..``, not absolute, no URI)."""
    if not isinstance(table_id, str) or not table_id.strip():
        raise UnsafeTablePath("empty table id", table=str(table_id))
    if "\x00" in table_id:
        raise UnsafeTablePath(f"table path {table_id!r} holds a NUL byte", table=table_id)
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


__all__ = ["UnsafeTablePath", "check_table_id", "table_path"]
