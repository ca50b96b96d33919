"""Tables are identities of storage, not of paths: a table can never be rebuilt from itself.

A symlink (``copies/planes_link.parquet -> ../planes.parquet``, ``copies/flights_alias -> ../flights_jan``) or a
hard link makes two table ids name the same bytes. Each holds exactly the other's rows, so without this module the
planner would mark one "rebuilt from" the other; deleting the marked one deletes both.

A table's *storage key* is the set of its data files' identities: ``device:inode`` of each file on a local
filesystem (``os.stat`` follows symlinks, so every alias of a file or of a folder gives the same key), the
normalised file path elsewhere (object stores have no links). Two tables whose keys share any element are the same
storage. The guard sits where it cannot be bypassed: the scan drops the aliases (reported in ``skipped``), the
planner rejects such edges whatever the scan says, and ``mark``/``verify`` check again against the lake as it is.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable

import pyarrow.fs as pafs

from lakeshrink.containment.lake import TableRef

StorageKey = frozenset[str]


def storage_key(fs: pafs.FileSystem, ref: TableRef) -> StorageKey:
    """The identities of ``ref``'s data files (see the module docstring); empty when none can be read."""
    local = isinstance(fs, pafs.LocalFileSystem)
    keys = set()
    for f in ref.files:
        if local:
            try:
                st = os.stat(f.path)
            except OSError:
                continue
            keys.add(f"{st.st_dev}:{st.st_ino}")
        else:
            keys.add(posixpath.normpath(f.path))
    if not keys and local and ref.path:
        try:
            st = os.stat(ref.path)
            keys.add(f"{st.st_dev}:{st.st_ino}")
        except OSError:
            pass
    return frozenset(keys)


def is_alias_path(fs: pafs.FileSystem, root: str, ref: TableRef) -> bool:
    """Whether ``ref``'s path goes through a symlink below the lake root (an alias rather than the original)."""
    if not isinstance(fs, pafs.LocalFileSystem):
        return False
    real_root = os.path.realpath(root)
    return os.path.realpath(ref.path) != os.path.join(real_root, os.path.relpath(ref.path, root))


def alias_groups(fs: pafs.FileSystem, root: str, refs: Iterable[TableRef]) -> dict[str, str]:
    """For every table that shares storage with another one, the table it duplicates (``alias -> kept``).

    Of each group the kept table is the one reached without symlinks, then the shortest id, then the first id.
    """
    refs = list(refs)
    parent = {r.id: r.id for r in refs}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first_with: dict[str, str] = {}
    for r in refs:  # union of the tables sharing any file identity
        for k in storage_key(fs, r):
            if k in first_with:
                parent[find(r.id)] = find(first_with[k])
            else:
                first_with[k] = r.id
    groups: dict[str, list[TableRef]] = {}
    for r in refs:
        groups.setdefault(find(r.id), []).append(r)
    out: dict[str, str] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        kept = min(members, key=lambda r: (is_alias_path(fs, root, r), len(r.id), r.id))
        out.update({r.id: kept.id for r in members if r.id != kept.id})
    return out

