"""Discovery remembered between scans: a Delta or Iceberg table is opened again only when its log moved on.

Opening a table-format table (replaying a Delta log, planning an Iceberg snapshot's files) costs milliseconds
a table and imports ``deltalake`` or ``pyiceberg``; a re-scan of a lake where such a table did not change
should pay neither. A table's *probe* (:func:`probe`) is a digest of what shows whether its state moved, read
with one directory listing and without opening the table:

* Delta: the names, sizes and modification times of the files directly in ``_delta_log/`` (commits and
  checkpoints are immutable files; a new version adds one, a log clean-up removes some);
* Iceberg: the same of the files directly in ``metadata/`` (metadata files and manifests are immutable; a
  commit writes a new metadata file and rewrites ``version-hint.text``); a table a catalog names is remembered
  under its probe and the catalog's metadata file.

:class:`KnownTables` maps a table's path and probe to the :class:`~lakeshrink.tables.refs.TableRef` opened the
last time the probe had that value. Discovery records every format table's probe in
:attr:`~lakeshrink.tables.discovery.Lake.probes`, so the end-of-scan check that a table did not change while it
was scanned is one listing too (:func:`~lakeshrink.tables.discovery.changed`).

File format (``known-tables.json`` in a scan cache): a sealed JSON document (:mod:`lakeshrink.sealed`), format
``lakeshrink.tables.known``, version 1, with ``{"tables": {path: {"probe": str, "ref": {...}}}}`` (``probe``
followed by a space and the catalog's metadata file for a table a catalog names); ``ref`` holds
the :class:`TableRef` fields with ``files`` as ``[path, size, partition pairs, mtime_ns, deleted_rows]`` lists.
A file that is missing, damaged or of another version is ignored (every table is opened) and rewritten.
Like the rest of the scan cache it is written atomically but not fsynced: a torn file fails its seal.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from lakeshrink.errors import CorruptArchive
from lakeshrink.fileio import cache_file
from lakeshrink.sealed import read_sealed, seal
from lakeshrink.tables.refs import DataFile, TableRef

KNOWN_KIND = "lakeshrink.tables.known"
KNOWN_VERSION = 1
LOG_FOLDERS = {"delta": "_delta_log", "iceberg": "metadata"}


def probe(fs: pafs.FileSystem, path: str, kind: str) -> str:
    """The digest of the listing of a Delta (``kind`` ``"delta"``) or Iceberg table's log folder."""
    folder = posixpath.join(path, LOG_FOLDERS[kind])
    infos = fs.get_file_info(pafs.FileSelector(folder, recursive=False))
    entries = sorted((i.base_name, i.size, i.mtime_ns) for i in infos if i.type == pafs.FileType.File)
    text = json.dumps([kind, path, entries], separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def _ref_to_json(ref: TableRef) -> dict[str, Any]:
    return {
        "id": ref.id, "path": ref.path, "format": ref.format,
        "files": [[f.path, f.size, [list(p) for p in f.partition], f.mtime_ns, f.deleted_rows] for f in ref.files],
        "partition_keys": list(ref.partition_keys), "delta_version": ref.delta_version, "snapshot_id": ref.snapshot_id,
        "metadata": ref.metadata,
    }


def _ref_from_json(d: dict[str, Any]) -> TableRef:
    files = tuple(DataFile(str(p), int(size), tuple((str(k), str(v)) for k, v in part), None if mtime is None else int(mtime), int(deleted))
                  for p, size, part, mtime, deleted in d["files"])
    return TableRef(str(d["id"]), str(d["path"]), d["format"], files, tuple(str(k) for k in d["partition_keys"]),
                    None if d["delta_version"] is None else int(d["delta_version"]),
                    None if d["snapshot_id"] is None else int(d["snapshot_id"]),
                    None if d["metadata"] is None else str(d["metadata"]))


class KnownTables:
    """Format tables opened by an earlier discovery, by path and probe; read from and written to ``path``
    (None: remembered in memory only, for one discovery)."""

    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.path = Path(path) if path is not None else None
        self._loaded: dict[str, dict[str, Any]] = {}
        self._seen: dict[str, dict[str, Any]] = {}
        if self.path is not None:
            try:
                doc = read_sealed(self.path, KNOWN_KIND, (KNOWN_VERSION,))
                tables = doc["tables"]
                if isinstance(tables, dict):
                    self._loaded = tables
            except (OSError, ValueError, KeyError, TypeError, CorruptArchive):
                self._loaded = {}

    def get(self, path: str, token: str) -> TableRef | None:
        """The table opened at ``path`` when its probe (key) was ``token``, or None."""
        entry = self._loaded.get(path)
        if entry is None or entry.get("probe") != token:
            return None
        try:
            ref = _ref_from_json(entry["ref"])
        except (KeyError, TypeError, ValueError):
            return None
        self._seen[path] = entry
        return ref

    def put(self, path: str, token: str, ref: TableRef) -> None:
        self._seen[path] = {"probe": token, "ref": _ref_to_json(ref)}

    def save(self) -> None:
        """Write the tables seen by this discovery (left alone when they are what the file held)."""
        if self.path is None or self._seen == self._loaded:
            return
        doc = seal(KNOWN_KIND, KNOWN_VERSION, {"tables": self._seen})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with cache_file(self.path) as tmp:
            tmp.write_text(json.dumps(doc, separators=(",", ":"), ensure_ascii=False), encoding="utf-8")
        self._loaded = dict(self._seen)
