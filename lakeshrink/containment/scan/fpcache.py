"""The scan cache: per-table fingerprints and sketches, footer summaries and verified edges, by table state.

A table's *state* (:func:`table_state`) is a digest of everything discovery knows about its storage: its
format, path, data files with their sizes and modification times, partition keys and pinned version (Delta
version, Iceberg snapshot). Two scans that see the same state see the same rows, so what one scan computed
from a table is reused by the next:

* ``fp/<state>.parquet``: the table's deduplicated row fingerprints per column set and its stage-3 sketches
  (:mod:`.fingerprints`), written by the one read of stage 3;
* ``footers.json``: stage 1-2 summaries (schema, rows, exact statistics) by state;
* ``edges-<types>.parquet``, named with its SHA-256 by the sealed ``edges-<types>.json``: every verified edge
  by (child state, parent state). Containment of a pair depends
  only on the two tables, so an edge between two unchanged tables still holds, and a pair of unchanged tables
  without an edge still has none: a re-scan after one table changed runs the pipeline only on the pairs that
  touch a changed table, and reads only the changed tables (plus a partner, if it needs a new column set);
* ``known-tables.json``: the Delta and Iceberg tables discovery opened, by the listing of their log folder
  (:mod:`lakeshrink.tables.known`): an unchanged one is not opened again.

A table whose files carry no modification time and no pinned version has no state and is never cached.

Every cache file is written atomically (to a temporary name, then renamed; not fsynced), names its format and
version and carries a checksum: the JSON documents are sealed (:mod:`lakeshrink.sealed`), a fingerprint file's
metadata is a sealed document and its data pages carry Parquet page checksums (verified on read). A cache file that is missing, of another
version or hasher, damaged or does not match is ignored and rebuilt, never trusted.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lakeshrink.containment.scan.fingerprints import TableFingerprints
from lakeshrink.containment.scan.footers import ColumnStats, TableFooter
from lakeshrink.containment.lake import DataFile, TableRef
from lakeshrink.sealed import read_sealed, seal, unseal
from lakeshrink.containment.scan.sketches import HASHER, Sketch
from lakeshrink.errors import CorruptArchive
from lakeshrink.fileio import CACHE_TMP_SUFFIX, cache_file

CACHE_VERSION = 3  # 2: footer entries and the edge list as compact JSON text; 3: the edges in Parquet beside a sealed index
FP_KIND = "lakeshrink.containment.fingerprints"
FOOTERS_KIND = "lakeshrink.containment.footer-cache"
FOOTERS_FILE = "footers.json"
KNOWN_TABLES_FILE = "known-tables.json"  # discovery's Delta and Iceberg tables (:mod:`lakeshrink.tables.known`)
EDGES_KIND = "lakeshrink.containment.edge-cache"
_META_KEY = b"lakeshrink.fingerprints"


_REF_FIELDS = dataclasses.fields(TableRef)
_FILE_FIELDS = dataclasses.fields(DataFile)


def table_state(ref: TableRef) -> str | None:
    """The digest of a table's storage state, or None when it cannot be pinned down (no mtimes, no version)."""
    # dataclasses.asdict's result, built without its deep copies (a tenth of the time: it ran for every table)
    fields: dict[str, Any] = {f.name: getattr(ref, f.name) for f in _REF_FIELDS if f.name != "id"}
    fields["files"] = [{f.name: getattr(d, f.name) for f in _FILE_FIELDS} for d in ref.files]
    pinned = any(v is not None for k, v in fields.items() if k.endswith(("version", "snapshot", "snapshot_id")))
    if not pinned and any(f.mtime_ns is None for f in ref.files):
        return None
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(f"{HASHER}\n{text}".encode()).hexdigest()[:40]


def _encode_sketch(s: Sketch) -> list[Any]:
    return [base64.b64encode(np.asarray(s.hashes, dtype="<u8").tobytes()).decode("ascii"), bool(s.complete)]


def _decode_sketch(data: list[Any]) -> Sketch:
    return Sketch(np.frombuffer(base64.b64decode(data[0]), dtype="<u8").astype(np.uint64), bool(data[1]))


@dataclass(frozen=True)
class CachedFingerprints:
    """A fingerprint file's metadata: what it holds, without its rows."""

    path: str
    colsets: tuple[tuple[str, ...], ...]
    rows: int
    table_rows: int
    distinct: tuple[int, ...]
    column_sketches: dict[str, Sketch]
    row_sketches: dict[tuple[str, ...], Sketch]
    file_bytes: int
    layout: str = "rows"  # or "columns" (see :class:`~lakeshrink.containment.scan.fingerprints.TableFingerprints`)
    columns: tuple[str, ...] = ()  # the columns layout's column order
    digest: str | None = None  # the rows' multiset digest over all the columns of ``colsets`` (stage 4's classes)


class ScanCache:
    """A cache directory (local path; on a cluster, a path every executor sees)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        (self.root / "fp").mkdir(parents=True, exist_ok=True)
        self._footer_text: dict[str, str] = {}  # the encoded entries loaded: unchanged ones are written back as they were
        self._edges_loaded: dict[str, tuple[set[str], str]] = {}  # states and the edge file's digest

    # fingerprints -------------------------------------------------------------------------------------
    def fp_path(self, state: str) -> str:
        return str(self.root / "fp" / f"{state}.parquet")

    def save_fingerprints(self, state: str, fp: TableFingerprints, table_rows: int) -> CachedFingerprints:
        """Write a table's fingerprints atomically, page checksums on, without the Arrow schema (plain types).

        ``rows`` layout: rows sorted by colset, hi, lo; ``hi`` (sorted) delta-encoded, about ``log2(rows)``
        bits a row fewer; ``lo`` plain (random bits); ``colset`` and ``count`` (mostly 1) compress to almost
        nothing. ``columns`` layout: each column's two value hashes, dictionary-encoded and zstd-compressed
        (a column with few distinct values costs a few bits a row), not compressed: the dictionaries are random
        bits and zstd took about 15% of stage 3 for a few percent of bytes."""
        columns = tuple(sorted(set().union(*fp.colsets))) if fp.hash_columns is not None and fp.colsets else ()
        data = fp.hash_columns if fp.hash_columns is not None else fp.rows
        doc = seal(FP_KIND, CACHE_VERSION, {
            "hasher": HASHER, "state": state, "colsets": [list(c) for c in fp.colsets], "rows": data.num_rows,
            "table_rows": table_rows, "distinct": list(fp.distinct), "layout": fp.layout, "columns": list(columns),
            "column_sketches": {c: _encode_sketch(s) for c, s in fp.column_sketches.items()},
            "row_sketches": [[list(c), _encode_sketch(s)] for c, s in fp.row_sketches.items()],
            "digest": fp.digest,
        })
        meta = {_META_KEY: json.dumps(doc, separators=(",", ":")).encode("utf-8")}
        path = self.fp_path(state)
        if fp.hash_columns is not None:
            options: dict[str, Any] = {"use_dictionary": True, "compression": "none"}  # hashes: zstd gains little, costs much
        else:
            options = {"use_dictionary": ["colset", "count"], "column_encoding": {"hi": "DELTA_BINARY_PACKED"},
                       "compression": {"colset": "zstd", "hi": "none", "lo": "none", "count": "zstd"}}
        # a cache file: written to a temporary name and renamed (never seen half-written), but not fsynced and
        # without fileio's stale-temporary sweep of the directory (one listing per file is quadratic in the
        # tables): a file lost or torn by a crash fails its metadata seal or page checksums and is rebuilt
        with cache_file(path) as tmp, pq.ParquetWriter(tmp, data.schema, write_page_checksum=True, store_schema=False, **options) as writer:
            writer.write_table(data, row_group_size=1 << 20)
            writer.add_key_value_metadata(meta)  # not the Arrow schema's metadata: that would be stored twice
        return CachedFingerprints(path, fp.colsets, data.num_rows, table_rows, fp.distinct, fp.column_sketches, fp.row_sketches,
                                  os.path.getsize(path), fp.layout, columns, fp.digest)

    def load_fingerprints(self, state: str) -> CachedFingerprints | None:
        """The metadata of a table's fingerprint file, or None when absent or not trustworthy."""
        path = self.fp_path(state)
        try:
            md = pq.read_metadata(path)
            doc = unseal(json.loads(md.metadata[_META_KEY]), FP_KIND, (CACHE_VERSION,), path=path)
            if doc["hasher"] != HASHER or doc["state"] != state or doc["rows"] != md.num_rows or doc["layout"] not in ("rows", "columns"):
                return None
            return CachedFingerprints(
                path, tuple(tuple(c) for c in doc["colsets"]), doc["rows"], doc["table_rows"], tuple(doc["distinct"]),
                {c: _decode_sketch(s) for c, s in doc["column_sketches"].items()},
                {tuple(c): _decode_sketch(s) for c, s in doc["row_sketches"]},
                os.path.getsize(path), doc["layout"], tuple(doc["columns"]), doc.get("digest"),
            )
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException, CorruptArchive):
            return None

    def prune(self, keep: set[str]) -> None:
        """Remove fingerprint files of states not in ``keep`` (tables that changed or left the lake), and
        temporaries older than a day (left by a process that died while writing)."""
        for path in (self.root / "fp").glob("*.parquet"):
            if path.stem not in keep:
                path.unlink(missing_ok=True)
        old = time.time() - 86_400
        for path in (self.root / "fp").glob(f"*{CACHE_TMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < old:
                    path.unlink()

    # footers --------------------------------------------------------------------------------------------
    def load_footers(self) -> dict[str, TableFooter]:
        """Footer summaries by state (empty when the cache file is absent or not trustworthy)."""
        try:
            doc = read_sealed(self.root / FOOTERS_FILE, FOOTERS_KIND, (CACHE_VERSION,))
            if doc.get("hasher") != HASHER:
                return {}
            schemas: dict[str, pa.Schema] = {}
            footers = {state: _footer_from_json(json.loads(text), schemas) for state, text in doc["footers"].items()}
            self._footer_text = dict(doc["footers"])
            return footers
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException, CorruptArchive):
            return {}

    def save_footers(self, footers: dict[str, TableFooter]) -> None:
        """Write the footer summaries of these states (the file is left alone when it holds exactly them)."""
        entries = {}
        for state, footer in footers.items():
            text = self._footer_text.get(state)
            if text is None:
                encoded = _footer_to_json(footer)
                if encoded is None:
                    continue
                text = json.dumps(encoded, separators=(",", ":"), ensure_ascii=False)
            entries[state] = text
        if entries == self._footer_text:
            return
        _write_cache_doc(self.root / FOOTERS_FILE, FOOTERS_KIND, {"hasher": HASHER, "footers": entries})
        self._footer_text = entries

    # edges ----------------------------------------------------------------------------------------------
    def _edge_paths(self, types: str) -> tuple[Path, Path]:
        return self.root / f"edges-{types}.json", self.root / f"edges-{types}.parquet"

    def load_edges(self, types: str) -> tuple[set[str], list[tuple[str, str, tuple[str, ...], int, int, bool]]]:
        """The states a previous scan decided every pair of, and its edges between them: ``(child state,
        parent state, columns, child rows, child distinct rows, multiset contained)``."""
        index, data = self._edge_paths(types)
        try:
            doc = read_sealed(index, EDGES_KIND, (CACHE_VERSION,))
            if doc.get("hasher") != HASHER or doc.get("types") != types:
                return set(), []
            raw = data.read_bytes()
            digest = hashlib.sha256(raw).hexdigest()
            if digest != doc["data_sha256"]:
                return set(), []
            coded = _EDGES_SCHEMA.names[:3]
            table = pq.read_table(pa.BufferReader(raw), page_checksum_verification=True, read_dictionary=coded)
            if table.num_rows != doc["rows"] or pa.schema([f.with_type(f.type.value_type) if f.name in coded else f
                                                           for f in table.schema]) != _EDGES_SCHEMA:
                return set(), []
            states = set(doc["states"])
            self._edges_loaded[types] = (states, digest)
            cols = []
            for name in _EDGES_SCHEMA.names:
                column = table.column(name).combine_chunks()
                if name in coded:
                    values = column.dictionary.to_pylist()
                    if name == "columns":
                        values = [tuple(json.loads(v)) for v in values]
                    cols.append([values[i] for i in column.indices.to_numpy()])
                else:
                    cols.append(column.to_pylist())
            return states, list(zip(*cols))
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException, CorruptArchive):
            return set(), []

    def save_edges(self, types: str, state_of: Mapping[str, str], edges: Iterable[Any]) -> None:
        """Record the states whose every pair was decided (``state_of``: table -> state) and the edges between
        them (``edges``: verified edges with ``child``, ``parent``, ``columns``, ``child_rows``,
        ``child_distinct_rows`` and ``multiset_contained``; those touching a table without a state are left
        out). Left alone when unchanged.

        A Parquet file of the edges (states and column sets dictionary-encoded) and a sealed index naming its
        SHA-256: on the 10,000-table lake the 2.2 million edges as sealed JSON text took 26 s and 1.3 GB beyond
        the edges themselves to write."""
        kept = [e for e in edges if e.child in state_of and e.parent in state_of]
        states = sorted(set(state_of.values()))
        number = {state: i for i, state in enumerate(states)}
        colsets = sorted({e.columns for e in kept})
        colset_number = {c: i for i, c in enumerate(colsets)}

        def coded(codes: list[int], values: list[str]) -> pa.DictionaryArray:
            return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(values, pa.string()))

        table = pa.table(
            [
                coded([number[state_of[e.child]] for e in kept], states),
                coded([number[state_of[e.parent]] for e in kept], states),
                coded([colset_number[e.columns] for e in kept], [json.dumps(list(c), separators=(",", ":")) for c in colsets]),
                pa.array([e.child_rows for e in kept], pa.int64()),
                pa.array([e.child_distinct_rows for e in kept], pa.int64()),
                pa.array([e.multiset_contained for e in kept], pa.bool_()),
            ],
            names=_EDGES_SCHEMA.names,
        )
        # sorted by the codes, which sort as their values: the same edges give the same file
        order = np.lexsort([table.column(i).combine_chunks().indices.to_numpy() for i in (2, 1, 0)])
        table = table.take(pa.array(order))
        index, data = self._edge_paths(types)
        with cache_file(data) as tmp:  # once renamed, the index still names the old file's digest: a crash then only loses the cache
            pq.write_table(table, tmp, compression="zstd", write_page_checksum=True, store_schema=False)
            digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
            unchanged = self._edges_loaded.get(types) == (set(states), digest)
            if unchanged:
                tmp.unlink()  # the file there is this one: left as it is
        if unchanged:
            return
        body = {"hasher": HASHER, "types": types, "states": states, "rows": table.num_rows, "data_sha256": digest}
        _write_cache_doc(index, EDGES_KIND, body)
        self._edges_loaded[types] = (set(states), digest)


def _write_cache_doc(path: Path, kind: str, body: dict[str, Any]) -> None:
    """A sealed cache document written to a temporary name and renamed, not fsynced (as the fingerprint files:
    one lost or torn by a crash fails its seal and is rebuilt; two fsyncs cost more than the re-scan's work)."""
    doc = seal(kind, CACHE_VERSION, body)
    with cache_file(path) as tmp:
        tmp.write_text(json.dumps(doc, separators=(",", ":"), ensure_ascii=False), encoding="utf-8")


_EDGES_SCHEMA = pa.schema([
    ("child_state", pa.string()), ("parent_state", pa.string()), ("columns", pa.string()),  # columns: a JSON list
    ("child_rows", pa.int64()), ("child_distinct_rows", pa.int64()), ("multiset_contained", pa.bool_()),
])


# footer summaries as JSON: every value tagged with its Python type, so it comes back as the same type ----------
def _value(v: Any) -> list[Any] | None:
    if v is None:
        return ["n"]
    if isinstance(v, bool):
        return ["b", v]
    if isinstance(v, int):
        return ["i", str(v)]
    if isinstance(v, float):
        return ["f", v.hex()]
    if isinstance(v, str):
        return ["s", v]
    if isinstance(v, bytes):
        return ["x", v.hex()]
    if type(v) is dt.datetime:
        return ["t", v.isoformat()]
    if type(v) is dt.date:
        return ["d", v.isoformat()]
    return None  # any other type: the footer is not cached


def _unvalue(data: list[Any]) -> Any:
    tag = data[0]
    if tag == "n":
        return None
    if tag == "b":
        return bool(data[1])
    if tag == "i":
        return int(data[1])
    if tag == "f":
        return float.fromhex(data[1])
    if tag == "s":
        return str(data[1])
    if tag == "x":
        return bytes.fromhex(data[1])
    if tag == "t":
        return dt.datetime.fromisoformat(data[1])
    if tag == "d":
        return dt.date.fromisoformat(data[1])
    raise ValueError(f"unknown value tag {tag!r}")


def _footer_to_json(f: TableFooter) -> dict[str, Any] | None:
    if f.error is not None or f.schema is None:
        return None
    stats = {}
    for name, s in f.stats.items():
        lo, hi = _value(s.min), _value(s.max)
        if lo is None or hi is None:
            return None
        stats[name] = [lo, hi, s.minmax_known, s.null_count, s.tight]  # tight: outer bounds prune parents only
    schema = base64.b64encode(f.schema.serialize().to_pybytes()).decode("ascii")
    return {"table": f.table, "schema": schema, "rows": f.rows, "stats": stats, "footer_bytes": f.footer_bytes}


class _LazyStats(Mapping[str, ColumnStats]):
    """A cached footer's statistics, decoded on first use: a re-scan needs the schema of every table but the
    statistics only of the few in a pair touching a changed table."""

    def __init__(self, raw: dict[str, list[Any]]):
        self._raw: dict[str, list[Any]] | None = raw
        self._stats: dict[str, ColumnStats] = {}

    def _decoded(self) -> dict[str, ColumnStats]:
        if self._raw is not None:
            # entries without the 5th item predate outer bounds: every statistic cached then was tight
            self._stats = {name: ColumnStats(_unvalue(s[0]), _unvalue(s[1]), bool(s[2]), s[3], bool(s[4]) if len(s) > 4 else True)
                           for name, s in self._raw.items()}
            self._raw = None
        return self._stats

    def __getitem__(self, name: str) -> ColumnStats:
        return self._decoded()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())


def _footer_from_json(d: dict[str, Any], schemas: dict[str, pa.Schema] | None = None) -> TableFooter:
    """A footer from its cache entry; ``schemas`` memoises decoded schemas by their text (tables of a lake share
    a few schemas)."""
    text = d["schema"]
    schema = schemas.get(text) if schemas is not None else None
    if schema is None:
        schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))
        if schemas is not None:
            schemas[text] = schema
    if not isinstance(d["stats"], dict):
        raise TypeError("footer statistics must be an object")
    return TableFooter(d["table"], schema, int(d["rows"]), _LazyStats(d["stats"]), int(d["footer_bytes"]))
