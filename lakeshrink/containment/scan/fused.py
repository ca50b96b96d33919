"""Stage 3's task: the one read of a table, giving its sketches (stage 3) and its fingerprints (stage 4).

Each table in a candidate pair is one task (:func:`read_once`, run by any engine's ``map``): it reads the
columns the pairs need once, computes the row fingerprints of every column set some pair needs and the bottom-k
sketches from the same hashes (:mod:`.fingerprints`), and writes the fingerprints to the scan cache
(:mod:`.fpcache`). When the cache already holds them for the table's current state, nothing is read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pyarrow.parquet as pq

from lakeshrink.containment.scan.fingerprints import KeepFn, fingerprint_table, fingerprints_from_hash_columns
from lakeshrink.containment.scan.footers import failure_reason
from lakeshrink.containment.scan.fpcache import CachedFingerprints, ScanCache
from lakeshrink.containment.lake import TableRef, projection_bytes, read_table, resolve_root
from lakeshrink.containment.scan.sketches import DEFAULT_K, TableNeeds, TableSketch


@dataclass(frozen=True)
class ReadTask:
    """One table to read once. ``key`` names its fingerprint file: the table state, or a key private to this
    scan when the state is unknown (``cacheable`` False: never reused)."""

    root: str
    ref: TableRef
    needs: TableNeeds
    cache_dir: str
    key: str
    cacheable: bool = True
    k: int = DEFAULT_K

    def __str__(self) -> str:  # how an engine names the task in an error
        return f"table {self.ref.id}"


@dataclass(frozen=True)
class ReadResult:
    """A table's sketches and fingerprint file; ``reused`` when they came from the cache (nothing read)."""

    table: str
    sketch: TableSketch
    fingerprints: CachedFingerprints | None = None
    bytes_read: int = 0
    reused: bool = False
    error: str | None = None


def without_sketches(result: ReadResult, shared: dict[object, object] | None = None) -> ReadResult:
    """``result`` without stage 3's sketches, which stage 4 does not need: 20-80 sketches of 256 hashes per
    table, about a gigabyte held to the end of the 10,000-table lake's scan. With ``shared`` (each column set
    and column name the scan already holds, mapped to itself), the fingerprint file's column sets and column
    names become those objects: a result unpickled from a Spark task has its own copies of them, which on the
    10,000-table lake were most of the 190 MiB (pickled) of the reads the driver kept for stage 4."""
    fp = result.fingerprints
    slim = None
    if fp is not None:
        colsets, columns = fp.colsets, fp.columns
        if shared is not None:
            colsets = tuple(shared.setdefault(c, c) for c in colsets)
            columns = tuple(shared.setdefault(c, c) for c in columns)
        slim = dataclasses.replace(fp, column_sketches={}, row_sketches={}, colsets=colsets, columns=columns)
    return dataclasses.replace(result, sketch=TableSketch(result.table), fingerprints=slim)


def for_the_scan(result: ReadResult) -> ReadResult:
    """What :func:`read_once` gives the scan: its sketches narrowed to 32 bits (:meth:`Sketch.narrowed`), and
    the fingerprint file's metadata without its copies of them (stage 3 prunes with the first; the cache file
    keeps the full sketches), packed in one array (:meth:`TableSketch.packed`). Every table's sketches are held
    at once for the pruning."""
    sketch = result.sketch
    narrow = dataclasses.replace(sketch, columns={c: s.narrowed() for c, s in sketch.columns.items()},
                                 rows={c: s.narrowed() for c, s in sketch.rows.items()}).packed()
    return dataclasses.replace(without_sketches(result), sketch=narrow)


def _covers(cached: CachedFingerprints, needs: TableNeeds) -> bool:
    return (
        set(needs.colsets) <= set(cached.colsets)
        and set(needs.columns) <= set(cached.column_sketches)
        and set(needs.row_sets) <= set(cached.row_sketches)
    )


def read_once(task: ReadTask, *, force: bool = False) -> ReadResult:
    """Sketches and fingerprints of one table (from the cache when it covers the needs). Never raises for a bad
    table: the problem is returned in ``error``."""
    ref, needs = task.ref, task.needs
    try:
        cache = ScanCache(task.cache_dir)
        cached = None if (force or not task.cacheable) else cache.load_fingerprints(task.key)
        if cached is not None and _covers(cached, needs):
            sketch = TableSketch(ref.id, cached.column_sketches, cached.row_sketches)
            return for_the_scan(ReadResult(ref.id, sketch, cached, 0, reused=True))
        colsets = list(needs.colsets)
        columns, row_sets = set(needs.columns), set(needs.row_sets)
        if cached is not None:  # keep what the cache held, so the file only grows while the table is unchanged
            colsets += [c for c in cached.colsets if c not in needs.colsets]
            columns |= set(cached.column_sketches)
            row_sets |= set(cached.row_sketches)
        colsets.sort()
        fs, _ = resolve_root(task.root)
        wanted = sorted(columns.union(*colsets))
        table = read_table(fs, ref, wanted)
        fp = fingerprint_table(table, colsets, k=task.k, sketch_columns=tuple(sorted(columns)), sketch_rows=tuple(sorted(row_sets)))
        stored = cache.save_fingerprints(task.key, fp, table.num_rows)
        sketch = TableSketch(ref.id, fp.column_sketches, fp.row_sketches, projection_bytes(fs, ref, wanted))
        return for_the_scan(ReadResult(ref.id, sketch, stored, sketch.bytes_read))
    except Exception as exc:  # noqa: BLE001 - reported per table
        reason = failure_reason(exc)
        return ReadResult(ref.id, TableSketch(ref.id, error=reason), error=reason)


def read_fingerprint_rows(
    task: ReadTask, result: ReadResult, colsets: dict[tuple[str, ...], int], keep: KeepFn | None = None
) -> tuple[object, ReadResult]:
    """The table's fingerprint rows of ``colsets`` (mapped to their global ids) as an Arrow table with columns
    ``colset, hi, lo, count``; with ``keep(colset id, hi)``, only the fingerprints it keeps (a value-hash file is
    filtered before its deduplication). A fingerprint file that fails its page checksums is rebuilt from the
    table once. Returns the rows and the (possibly rebuilt) result."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for attempt in (0, 1):
        fp = result.fingerprints
        if fp is None:
            raise RuntimeError(result.error or "no fingerprints")
        local = {i: colsets[c] for i, c in enumerate(fp.colsets) if c in colsets}
        try:
            if fp.layout == "columns":
                wanted = {c: colsets[c] for c in fp.colsets if c in colsets}
                used = sorted({fp.columns.index(name) for c in wanted for name in c})
                names = [f"{x}{i}" for i in used for x in ("h", "l")]
                hashes = pq.read_table(fp.path, columns=names, page_checksum_verification=True)
                return fingerprints_from_hash_columns(hashes, fp.columns, wanted, keep), result
            table = pq.read_table(fp.path, filters=[("colset", "in", list(local))] if local else None, page_checksum_verification=True)
        except Exception:  # noqa: BLE001 - a damaged cache file is rebuilt, never trusted
            if attempt:
                raise
            result = read_once(task, force=True)
            continue
        if not local:
            return table.slice(0, 0), result
        keys = pa.array(list(local), pa.int32())
        values = pa.array(list(local.values()), pa.int32())
        mapped = pc.take(values, pc.index_in(table.column("colset"), keys))
        table = table.set_column(0, "colset", mapped)
        if keep is not None and table.num_rows:
            ids, his = table.column("colset").to_numpy(), table.column("hi").to_numpy()
            mask = np.zeros(len(his), bool)
            for i in np.unique(ids).tolist():
                at = ids == i
                mask[at] = keep(i, his[at])
            table = table.filter(pa.array(mask))
        return table, result
    raise AssertionError("unreachable")
