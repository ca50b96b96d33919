"""Row fingerprints of a table's column sets, and the decision of every candidate pair from them at once.

This is the Arrow core of stages 3 and 4 (issue 14). It applies the inclusion-dependency technique of SINDY
(Kruse, Papenbrock and Naumann, "Scaling out the discovery of inclusion dependencies", BTW'15) to whole rows:

1. **One read per table** (:func:`fingerprint_table`). A table is read once, with every column some candidate
   pair needs. Each value gets two independent stable 64-bit hashes (:func:`lakeshrink.containment.rowhash.
   value_hash_set`, computed from the canonical values, so int32 ``1`` and int64 ``1``, NaN payloads, ``-0.0``
   and ``0.0`` hash alike); for each column set they combine into a 128-bit row fingerprint ``(hi, lo)``. The
   fingerprints are deduplicated with their counts (``group_by(hi, lo).len()``). Stage 3's bottom-k sketches are
   built from the same hashes: per column from the ``hi`` value hashes, per column set from the row ``hi``.
2. **One shuffle for all pairs** (:func:`decide`). Given fingerprint rows ``(colset, hi, lo, table, count)``
   in which every ``(colset, hi, lo)`` group is whole (all tables' rows of that fingerprint are present, as
   after a partition by fingerprint), each candidate pair ``(child, parent, colset)`` gets, from a join of the
   child's rows to the parent's rows of the same fingerprint: the child's distinct rows, its rows, the rows
   the parent lacks (``missing``) and the rows with more copies in the child than in the parent (``over``).
   These partial counts add up across partitions (:func:`verdict`).

A child is contained when ``missing`` is 0, and a multiset subset when ``over`` is 0 too. A fingerprint match is
exact up to a 2**-128-scale collision of two distinct rows (non-adversarial data); a collision can only make a
pair look contained, and the planner's checksum-verified rebuild before any mark stays the final proof.

Example:
    >>> import pyarrow as pa, polars as pl
    >>> fp = fingerprint_table(pa.table({"x": [1, 2, 2]}), [("x",)], k=4)
    >>> fp.rows.num_rows, fp.row_counts
    (2, (3,))
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from lakeshrink.containment.rowhash import mix64, value_hash_set
from lakeshrink.containment.scan.sketches import HASHER, Sketch  # noqa: F401 - HASHER names these hashes

LO_SEED = 0xA5A5_5A5A_C3C3_3C3C
_MULT_HI = np.uint64(0x100000001B3)
_MULT_LO = np.uint64(0xC2B2AE3D27D4EB4F)

FP_SCHEMA = pa.schema([("colset", pa.int32()), ("hi", pa.uint64()), ("lo", pa.uint64()), ("count", pa.int64())])
ROWS_SCHEMA = pa.schema(
    [("colset", pa.int32()), ("hi", pa.uint64()), ("lo", pa.uint64()), ("table", pa.int32()), ("count", pa.int64())]
)
PAIRS_SCHEMA = pa.schema([("pair", pa.int32()), ("colset", pa.int32()), ("child", pa.int32()), ("parent", pa.int32())])
TOTALS_SCHEMA = pa.schema(
    [("pair", pa.int32()), ("distinct", pa.int64()), ("rows", pa.int64()), ("missing", pa.int64()), ("over", pa.int64())]
)


def _name_seeds(name: str) -> tuple[np.uint64, np.uint64]:
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16, person=b"lakeshrink-fp").digest()
    return np.uint64(int.from_bytes(digest[:8], "little")), np.uint64(int.from_bytes(digest[8:], "little"))


def column_hashes(table: pa.Table, columns: list[str] | tuple[str, ...]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The two independent 64-bit value hashes ``(hi, lo)`` of every value of each of ``columns``."""
    out = {}
    for name in columns:
        hi, lo = value_hash_set(table.column(name), (0, LO_SEED))
        out[name] = (hi, lo)
    return out


def row_fingerprints(hashes: dict[str, tuple[np.ndarray, np.ndarray]], colset: tuple[str, ...], rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The 128-bit fingerprint ``(hi, lo)`` of each row over ``colset`` (the order matters: pass it sorted)."""
    hi = np.zeros(rows, dtype=np.uint64)
    lo = np.zeros(rows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for name in colset:
            seed_hi, seed_lo = _name_seeds(name)
            col_hi, col_lo = hashes[name]
            hi = mix64((hi * _MULT_HI) ^ mix64(col_hi + seed_hi))
            lo = mix64((lo * _MULT_LO) ^ mix64(col_lo ^ seed_lo))
    return hi, lo


@dataclass(frozen=True)
class TableFingerprints:
    """What one read of a table gives stages 3 and 4.

    ``rows`` (:data:`FP_SCHEMA`): the distinct fingerprints of each column set (``colset`` indexes ``colsets``)
    with their counts, in column-set order; ``row_counts[i]`` is the table's row count (the same
    for every column set); ``column_sketches``/``row_sketches`` are stage 3's bottom-k sketches.
    """

    colsets: tuple[tuple[str, ...], ...]
    rows: pa.Table
    row_counts: tuple[int, ...]
    column_sketches: dict[str, Sketch]
    row_sketches: dict[tuple[str, ...], Sketch]


def _sketch(hashes: np.ndarray | pl.Series, k: int) -> Sketch:
    """The bottom-k sketch of a hash array (hash-based distinct, then a partial sort of the bottom)."""
    distinct = (hashes if isinstance(hashes, pl.Series) else pl.Series(hashes)).unique().to_numpy()
    if len(distinct) > k:
        distinct = np.partition(distinct, k - 1)[:k]
        return Sketch(np.sort(distinct).astype(np.uint64), False)
    return Sketch(np.sort(distinct).astype(np.uint64), True)


def fingerprint_table(
    table: pa.Table, colsets: list[tuple[str, ...]], *, k: int, sketch_columns: tuple[str, ...] = (), sketch_rows: tuple[tuple[str, ...], ...] | None = None
) -> TableFingerprints:
    """Fingerprints of ``table`` on each column set, and stage 3's sketches from the same hashes.

    Args:
        table: the table's rows (at least the columns of ``colsets`` and ``sketch_columns``), any Arrow types.
        colsets: column sets (each sorted) to fingerprint.
        k: bottom-k sketch size.
        sketch_columns: columns to sketch one by one.
        sketch_rows: column sets whose row sketches to build (default: all of ``colsets``).
    """
    colsets = [tuple(c) for c in colsets]
    needed = sorted(set(sketch_columns).union(*colsets)) if colsets else sorted(set(sketch_columns))
    hashes = column_hashes(table, needed)
    n = table.num_rows
    parts = []
    row_sketches = {}
    wanted_rows = set(colsets if sketch_rows is None else sketch_rows)
    for i, colset in enumerate(colsets):
        hi, lo = row_fingerprints(hashes, colset, n)
        counted = pl.DataFrame({"hi": hi, "lo": lo}).group_by(["hi", "lo"]).len(name="count")
        parts.append(counted.select(pl.lit(i, pl.Int32).alias("colset"), "hi", "lo", pl.col("count").cast(pl.Int64)))
        if colset in wanted_rows:
            row_sketches[colset] = _sketch(counted["hi"], k)
    frame = pl.concat(parts) if parts else pl.DataFrame(schema={"colset": pl.Int32, "hi": pl.UInt64, "lo": pl.UInt64, "count": pl.Int64})
    rows = frame.to_arrow().cast(FP_SCHEMA)
    return TableFingerprints(
        tuple(colsets),
        rows,
        tuple(n for _ in colsets),
        {c: _sketch(hashes[c][0], k) for c in sketch_columns},
        row_sketches,
    )


def decide(rows: pa.Table | pl.DataFrame, pairs: pa.Table | pl.DataFrame) -> pa.Table:
    """Partial verdict counts of every pair whose fingerprints are in ``rows`` (:data:`TOTALS_SCHEMA`).

    Args:
        rows: fingerprint rows (:data:`ROWS_SCHEMA`); every ``(colset, hi, lo)`` group must be whole, i.e.
            hold the rows of every table with that fingerprint (partition the rows by fingerprint, never by
            table).
        pairs: the candidate pairs (:data:`PAIRS_SCHEMA`): ``child`` and ``parent`` are ``table`` numbers.

    Returns:
        One row per pair with child rows here: ``distinct`` (child fingerprints), ``rows`` (their counts
        summed), ``missing`` (child fingerprints the parent lacks) and ``over`` (fingerprints with more copies
        in the child than in the parent). Add them up over partitions; a pair absent everywhere has an empty
        child (contained).
    """
    f = rows if isinstance(rows, pl.DataFrame) else pl.from_arrow(rows)
    p = pairs if isinstance(pairs, pl.DataFrame) else pl.from_arrow(pairs)
    if f.height == 0 or p.height == 0:
        return TOTALS_SCHEMA.empty_table()
    # the child's distinct rows and rows, once per (table, colset), not once per candidate parent
    stats = f.group_by(["colset", "table"]).agg(pl.len().cast(pl.Int64).alias("distinct"), pl.col("count").sum().cast(pl.Int64).alias("rows"))
    base = p.join(stats, left_on=["colset", "child"], right_on=["colset", "table"], how="inner").select("pair", "distinct", "rows")
    # the child's fingerprints found in the parent (an inner join: only matches are materialised)
    child = f.join(p.select("colset", "child", "parent", "pair"), left_on=["colset", "table"], right_on=["colset", "child"], how="inner")
    parent = f.select("colset", "hi", "lo", pl.col("table").alias("parent"), pl.col("count").alias("pcount"))
    matched = (
        child.join(parent, on=["colset", "hi", "lo", "parent"], how="inner")
        .group_by("pair")
        .agg(pl.len().cast(pl.Int64).alias("matched"), (pl.col("count") > pl.col("pcount")).sum().cast(pl.Int64).alias("over"))
    )
    out = base.join(matched, on="pair", how="left").select(
        "pair", "distinct", "rows",
        (pl.col("distinct") - pl.col("matched").fill_null(0)).alias("missing"),
        pl.col("over").fill_null(0),
    )
    return out.to_arrow().cast(TOTALS_SCHEMA)


def add_totals(parts: list[pa.Table]) -> dict[int, tuple[int, int, int, int]]:
    """Sum :func:`decide` outputs over partitions: pair -> (distinct, rows, missing, over)."""
    parts = [t for t in parts if t.num_rows]
    if not parts:
        return {}
    summed = pl.from_arrow(pa.concat_tables(parts)).group_by("pair").agg(pl.all().sum())
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in summed.select("pair", "distinct", "rows", "missing", "over").iter_rows()}


def bucket_of(hi: np.ndarray | pl.Series, bits: int) -> np.ndarray:
    """The partition (``0 .. 2**bits - 1``) of each fingerprint: its top ``bits`` bits (uniform: ``hi`` is a
    mixed hash). Both engines partition this way, so a partition holds whole fingerprint groups."""
    values = hi.to_numpy() if isinstance(hi, pl.Series) else hi
    if bits == 0:
        return np.zeros(len(values), dtype=np.int64)
    return (values >> np.uint64(64 - bits)).astype(np.int64)
