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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from lakeshrink.containment.rowhash import mix64, value_hash_set
from lakeshrink.containment.scan.sketches import HASHER, Sketch  # noqa: F401 - HASHER names these hashes

LO_SEED = 0xA5A5_5A5A_C3C3_3C3C
_MULT_HI = np.uint64(0x9E3779B97F4A7C15)  # odd: the fold is a polynomial over Z/2**64 (hasher v2)
_MULT_LO = np.uint64(0xC2B2AE3D27D4EB4F)  # odd

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


def _keyed(hashes: dict[str, tuple[np.ndarray, np.ndarray]], name: str, hi_only: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """A column's value hashes keyed by its name (the terms :func:`row_fingerprints` folds in); ``hi_only``:
    the ``hi`` half only (``lo`` None), all a sketch needs."""
    seed_hi, seed_lo = _name_seeds(name)
    col_hi, col_lo = hashes[name]
    with np.errstate(over="ignore"):
        return mix64(col_hi + seed_hi, inplace=True), None if hi_only else mix64(col_lo ^ seed_lo, inplace=True)


def _fold(state: tuple[np.ndarray, np.ndarray], term: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """One column's keyed hashes folded into the row state: ``state * M + term`` (mod 2**64) in each half.

    The terms are already mixed (:func:`_keyed`: SplitMix64 of the value hash and the column's name seed), so a
    polynomial over them needs no further mixing: two different rows differ in some term, and with odd
    multipliers their folds are equal only when a sum of odd multiples of pseudo-random differences is 0 mod
    2**64 (about 2**-64 per half; the halves come from independent value hashes). ``hi`` stays uniform (a sum
    of uniform terms) for the partitions, sketches and filter that use its top bits. Two numpy passes per half
    instead of seven (``hasher`` v1 mixed each step with SplitMix64: most of stage 3's fold time)."""
    with np.errstate(over="ignore"):
        hi = state[0] * _MULT_HI
        hi += term[0]
        if term[1] is None:
            return hi, None
        lo = state[1] * _MULT_LO
        lo += term[1]
        return hi, lo


def row_fingerprints(hashes: dict[str, tuple[np.ndarray, np.ndarray]], colset: tuple[str, ...], rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The 128-bit fingerprint ``(hi, lo)`` of each row over ``colset`` (the order matters: pass it sorted)."""
    state = (np.zeros(rows, dtype=np.uint64), np.zeros(rows, dtype=np.uint64))
    for name in colset:
        state = _fold(state, _keyed(hashes, name))
    return state


def _all_row_fingerprints(
    hashes: dict[str, tuple[np.ndarray, np.ndarray]], colsets: list[tuple[str, ...]], rows: int, *, hi_only: bool = False
) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`row_fingerprints` of every column set, sharing work: each column is keyed once, and column sets
    sorted in order share the fingerprints of their common prefix (a stack of prefixes, so memory stays at the
    longest column set's depth). ``hi_only``: only the ``hi`` halves (``lo`` None), half the work, for sketches."""
    keyed: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    zero = (np.zeros(rows, dtype=np.uint64), None if hi_only else np.zeros(rows, dtype=np.uint64))
    stack: list[tuple[str, tuple[np.ndarray, np.ndarray]]] = []
    out = {}
    for colset in sorted(set(colsets)):
        depth = 0
        while depth < len(stack) and depth < len(colset) and stack[depth][0] == colset[depth]:
            depth += 1
        del stack[depth:]
        for name in colset[depth:]:
            if name not in keyed:
                keyed[name] = _keyed(hashes, name, hi_only)
            stack.append((name, _fold(stack[-1][1] if stack else zero, keyed[name])))
        out[colset] = stack[-1][1] if stack else zero
    return [out[c] for c in colsets]


ROW_BYTES = 15  # stored bytes of one fingerprint row in the rows layout (hi delta-encoded, lo plain, count ~0)


def _columns_layout_bytes(hashes: dict[str, tuple[np.ndarray, np.ndarray]], columns: tuple[str, ...], rows: int) -> float:
    """About the bytes of the ``columns`` layout: per column and hash, a dictionary of its distinct values and
    bit-packed indices (Parquet falls back to plain values when there are too many distinct ones)."""
    total = 0.0
    for name in columns:
        d = len(np.unique(hashes[name][0])) if rows <= SMALL_ROWS else pl.Series(hashes[name][0]).n_unique()
        per_hash = 8 * rows if d > rows // 2 else 8 * d + rows * max(1, int(np.ceil(np.log2(max(d, 2))))) / 8
        total += 2 * per_hash
    return total

UNIQUE_HASHED = 20_000  # above this many values, a low-cardinality column's distinct hashes come from polars' hash-based
# unique (about 3x faster than np.unique's sort at 150,000 values; below, its per-call overhead dominates)
KeepFn = Callable[[int, np.ndarray], np.ndarray]  # (colset id, fingerprint hi) -> mask of the fingerprints to keep

SMALL_ROWS = 200_000  # below this, deduplication and sketches run in numpy (polars' per-call overhead dominates)


def _distinct_counts(hi: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct ``(hi, lo)`` pairs sorted by ``hi`` then ``lo``, with their counts."""
    if len(hi) > SMALL_ROWS:
        counted = pl.DataFrame({"hi": hi, "lo": lo}).group_by(["hi", "lo"]).len(name="count").sort(["hi", "lo"])
        return counted["hi"].to_numpy(), counted["lo"].to_numpy(), counted["count"].to_numpy().astype(np.int64)
    if not len(hi):
        return hi, lo, np.empty(0, np.int64)
    # sorted by ``hi`` alone (3-8x faster than a sort by both halves at 20,000-150,000 rows): rows of equal ``hi``
    # almost always share ``lo`` too (the same fingerprint), and then this order is the order by both halves;
    # if some equal ``hi`` come with different ``lo``, the sort by both is made after all
    order = np.argsort(hi)
    sorted_hi, sorted_lo = hi[order], lo[order]
    new_hi = sorted_hi[1:] != sorted_hi[:-1]
    new_lo = sorted_lo[1:] != sorted_lo[:-1]
    if (new_lo & ~new_hi).any():
        order = np.lexsort((lo, hi))
        sorted_hi, sorted_lo = hi[order], lo[order]
        new_hi = sorted_hi[1:] != sorted_hi[:-1]
        new_lo = sorted_lo[1:] != sorted_lo[:-1]
    hi, lo = sorted_hi, sorted_lo
    starts = np.flatnonzero(np.r_[True, new_hi | new_lo])
    counts = np.diff(np.r_[starts, len(hi)]).astype(np.int64)
    return hi[starts], lo[starts], counts


@dataclass(frozen=True)
class TableFingerprints:
    """What one read of a table gives stages 3 and 4, in one of two layouts.

    * ``rows`` layout (``hash_columns`` None): ``rows`` (:data:`FP_SCHEMA`) holds the distinct fingerprints of
      each column set (``colset`` indexes ``colsets``) with their counts, sorted by ``(colset, hi, lo)``;
    * ``columns`` layout, for a table that many column sets need (a parent of differently-shaped children):
      ``hash_columns`` holds the two value hashes of each column, row by row (:func:`hash_column_table`), far
      smaller than one fingerprint set per column set; stage 4 folds them into the fingerprints it needs
      (:func:`fingerprints_from_hash_columns`, the same values as the ``rows`` layout). ``rows`` is empty.

    ``distinct[i]`` is the number of distinct rows over ``colsets[i]``; ``row_counts[i]`` the table's row count;
    ``column_sketches``/``row_sketches`` are stage 3's bottom-k sketches.
    """

    colsets: tuple[tuple[str, ...], ...]
    rows: pa.Table
    row_counts: tuple[int, ...]
    column_sketches: dict[str, Sketch]
    row_sketches: dict[tuple[str, ...], Sketch]
    distinct: tuple[int, ...] = ()
    hash_columns: pa.Table | None = None
    digest: str | None = None  # :func:`multiset_digest` of the rows over all the columns of ``colsets``

    @property
    def layout(self) -> str:
        return "rows" if self.hash_columns is None else "columns"

    def fingerprint_rows(self) -> pa.Table:
        """The :data:`FP_SCHEMA` rows of every column set, whatever the layout."""
        if self.hash_columns is None:
            return self.rows
        used = tuple(sorted(set().union(*self.colsets)))
        return fingerprints_from_hash_columns(self.hash_columns, used, {c: i for i, c in enumerate(self.colsets)})


def hash_column_table(hashes: dict[str, tuple[np.ndarray, np.ndarray]], columns: tuple[str, ...]) -> pa.Table:
    """The value hashes of ``columns`` as a table with columns ``h0, l0, h1, l1, ...`` (in ``columns`` order)."""
    arrays, names = [], []
    for i, name in enumerate(columns):
        arrays += [pa.array(hashes[name][0]), pa.array(hashes[name][1])]
        names += [f"h{i}", f"l{i}"]
    return pa.Table.from_arrays(arrays, names=names)


def fingerprints_from_hash_columns(
    table: pa.Table, columns: tuple[str, ...], colsets: dict[tuple[str, ...], int], keep: KeepFn | None = None
) -> pa.Table:
    """The :data:`FP_SCHEMA` rows of each of ``colsets`` (mapped to the given ids) from a :func:`hash_column_table`
    (only the columns the column sets use need to be present). ``keep(colset id, hi)``: a mask of the row
    fingerprints to keep, applied before deduplication (a fingerprint's rows are kept or dropped together, so
    the counts of those kept are whole)."""
    position = {c: i for i, c in enumerate(columns)}
    hashes = {}
    for colset in colsets:
        for name in colset:
            if name not in hashes:
                i = position[name]
                hashes[name] = (table.column(f"h{i}").to_numpy(), table.column(f"l{i}").to_numpy())
    order = sorted(colsets)
    ids, his, los, counts = [], [], [], []
    for colset, (hi, lo) in zip(order, _all_row_fingerprints(hashes, order, table.num_rows)):
        if keep is not None:
            mask = keep(colsets[colset], hi)
            hi, lo = hi[mask], lo[mask]
        hi, lo, count = _distinct_counts(hi, lo)
        ids.append(np.full(len(hi), colsets[colset], np.int32))
        his.append(hi)
        los.append(lo)
        counts.append(count)
    if not order:
        return FP_SCHEMA.empty_table()
    arrays = [np.concatenate(ids), np.concatenate(his), np.concatenate(los), np.concatenate(counts)]
    return pa.Table.from_arrays([pa.array(a) for a in arrays], schema=FP_SCHEMA)


def _bottom_distinct(hashes: np.ndarray, k: int) -> np.ndarray:
    """The distinct values of ``hashes``, sorted: all of them, or at least the ``k`` smallest (then more than k).

    Selects before sorting: the ``4k`` smallest values (with repeats) hold the k smallest distinct ones unless
    repeats crowd them out, in which case the whole array is deduplicated."""
    take = 4 * k
    if len(hashes) > 2 * take:
        head = np.unique(np.partition(hashes, take - 1)[:take])
        if len(head) > k:  # the 4k smallest values hold more than k distinct ones: the k smallest are among them
            return head
    if len(hashes) > UNIQUE_HASHED:  # repeats crowd out the head: a hash-based unique, then sort the few distinct
        return np.sort(pl.Series(hashes).unique().to_numpy())
    return np.unique(hashes)


def _sketch(hashes: np.ndarray, k: int, *, is_sorted: bool = False) -> Sketch:
    """The bottom-k sketch of a hash array (``is_sorted``: already in ascending order)."""
    if is_sorted:
        distinct = hashes[np.r_[True, hashes[1:] != hashes[:-1]]] if len(hashes) else hashes
    else:
        distinct = _bottom_distinct(hashes, k)
    if len(distinct) > k:
        return Sketch(distinct[:k].astype(np.uint64), False)
    return Sketch(distinct.astype(np.uint64), True)


DEFER_COLSETS = 2  # a table needed on more column sets than this stores its value hashes, not fingerprints


def fingerprint_table(
    table: pa.Table, colsets: list[tuple[str, ...]], *, k: int, sketch_columns: tuple[str, ...] = (),
    sketch_rows: tuple[tuple[str, ...], ...] | None = None, defer_over: int | None = DEFER_COLSETS,
) -> TableFingerprints:
    """Fingerprints of ``table`` on each column set, and stage 3's sketches from the same hashes.

    A table needed on more than ``defer_over`` column sets (a parent of many differently-shaped children)
    gets the ``columns`` layout without computing any fingerprint here: folding and deduplicating every column
    set of every candidate pair would cost stage 3 one pass per column set, most of them for pairs the sketches
    then drop; stage 4 folds only the column sets of the pairs that survive. Its ``distinct`` are then the row
    count (an upper bound, used only to size stage 4's partitions).

    Args:
        table: the table's rows (at least the columns of ``colsets`` and ``sketch_columns``), any Arrow types.
        colsets: column sets (each sorted) to fingerprint.
        k: bottom-k sketch size.
        sketch_columns: columns to sketch one by one.
        sketch_rows: column sets whose row sketches to build (default: all of ``colsets``).
        defer_over: see above; None never defers.
    """
    colsets = [tuple(c) for c in colsets]
    needed = sorted(set(sketch_columns).union(*colsets)) if colsets else sorted(set(sketch_columns))
    hashes = column_hashes(table, needed)
    n = table.num_rows
    wanted_rows = set(colsets if sketch_rows is None else sketch_rows)
    column_sketches = {c: _sketch(hashes[c][0], k) for c in sketch_columns}
    used = tuple(sorted(set().union(*colsets))) if colsets else ()
    if defer_over is not None and len(colsets) > defer_over:
        shaped = sorted(wanted_rows)
        row_sketches = {c: _sketch(hi, k) for c, (hi, _) in zip(shaped, _all_row_fingerprints(hashes, shaped, n, hi_only=True))}
        digest = multiset_digest(*_all_row_fingerprints(hashes, [used], n)[0]) if used else None
        return TableFingerprints(tuple(colsets), FP_SCHEMA.empty_table(), tuple(n for _ in colsets), column_sketches,
                                 row_sketches, tuple(n for _ in colsets), hash_column_table(hashes, used), digest)
    ids, his, los, counts = [], [], [], []
    row_sketches = {}
    todo = colsets + ([used] if used and used not in colsets else [])
    digest = None
    for i, (colset, (hi, lo)) in enumerate(zip(todo, _all_row_fingerprints(hashes, todo, n))):
        if colset == used:
            digest = multiset_digest(hi, lo)
        if i >= len(colsets):
            break
        hi, lo, count = _distinct_counts(hi, lo)
        ids.append(np.full(len(hi), i, np.int32))
        his.append(hi)
        los.append(lo)
        counts.append(count)
        if colset in wanted_rows:
            row_sketches[colset] = _sketch(hi, k, is_sorted=True)
    distinct = tuple(len(h) for h in his)
    hash_columns = None
    if colsets and _columns_layout_bytes(hashes, used, n) < ROW_BYTES * sum(distinct):
        hash_columns = hash_column_table(hashes, used)
        rows = FP_SCHEMA.empty_table()
    elif colsets:
        arrays = [np.concatenate(ids), np.concatenate(his), np.concatenate(los), np.concatenate(counts)]
        rows = pa.Table.from_arrays([pa.array(a) for a in arrays], schema=FP_SCHEMA)
    else:
        rows = FP_SCHEMA.empty_table()
    return TableFingerprints(tuple(colsets), rows, tuple(n for _ in colsets), column_sketches, row_sketches, distinct, hash_columns, digest)


_DIGEST_SEED = np.uint64(0x3C6EF372FE94F82B)


def multiset_digest(hi: np.ndarray, lo: np.ndarray) -> str:
    """An order-independent digest of a multiset of row fingerprints (every row, duplicates included): the row
    count and the sums mod 2**64 of ``hi`` and of ``mix64(lo)``. Two tables with the same digest on the same
    columns hold the same rows with the same counts, up to a 2**-128-scale chance (the sums of two different
    multisets of pseudo-random fingerprints agree by chance only), the same footing as the fingerprints."""
    with np.errstate(over="ignore"):
        a = int(np.sum(hi, dtype=np.uint64))
        b = int(np.sum(mix64(lo ^ _DIGEST_SEED, inplace=True), dtype=np.uint64))
    return f"{len(hi)}:{a:016x}{b:016x}"


_TABLE_MIX = np.uint64(0xD6E8FEB86659FD93)  # odd: ``hi ^ table * _TABLE_MIX`` is one-to-one in the table for a given hi


def _table_keys(colset: pl.Expr, table: pl.Expr) -> pl.Expr:
    """One int64 per ``(colset, table)`` (both non-negative int32): a join on it is a join on both."""
    return colset.cast(pl.Int64) * (1 << 32) + table.cast(pl.Int64)


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

    Two joins, each on one 64-bit key (polars joins on several columns encode their rows first: a join on
    ``(colset, hi, lo, parent)`` was most of stage 4's time):

    1. each child fingerprint row meets its candidate parents, on ``(colset, table)`` = ``(colset, child)``
       packed in one int64;
    2. each such (fingerprint, parent) is looked up among the rows by ``hi ^ parent * M`` (``M`` odd), and a
       hit is kept only when ``hi``, ``lo`` and ``colset`` are equal too: equal keys and equal ``hi`` mean the
       same table, so a kept hit is exactly the parent's row of that fingerprint (no hash collision is
       trusted here), and every such row is a hit.

    The counts are added per pair with ``numpy.bincount``.
    """
    f = rows if isinstance(rows, pl.DataFrame) else pl.from_arrow(rows)
    p = pairs if isinstance(pairs, pl.DataFrame) else pl.from_arrow(pairs)
    if f.height == 0 or p.height == 0:
        return TOTALS_SCHEMA.empty_table()
    mix = pl.lit(_TABLE_MIX, pl.UInt64)
    # 1. the child's fingerprints, once per candidate parent (an inner join: only children's rows take part)
    joined = f.select(_table_keys(pl.col("colset"), pl.col("table")).alias("key"), "hi", "lo", "colset", "count").join(
        p.select(_table_keys(pl.col("colset"), pl.col("child")).alias("key"), "parent", "pair"), on="key", how="inner"
    )
    if joined.height == 0:
        return TOTALS_SCHEMA.empty_table()
    # 2. the parent's row of the same fingerprint, if any: candidates by one key, then checked exactly
    wanted = joined.select((pl.col("hi") ^ (pl.col("parent").cast(pl.UInt64) * mix)).alias("key"), pl.int_range(pl.len(), dtype=pl.Int64).alias("at"))
    held = f.select((pl.col("hi") ^ (pl.col("table").cast(pl.UInt64) * mix)).alias("key"), pl.int_range(pl.len(), dtype=pl.Int64).alias("row"))
    hits = wanted.join(held, on="key", how="inner")
    at, row = hits["at"].to_numpy(), hits["row"].to_numpy()
    del hits, wanted, held
    hi, lo, colset = f["hi"].to_numpy(), f["lo"].to_numpy(), f["colset"].to_numpy()
    exact = (hi[row] == joined["hi"].to_numpy()[at]) & (lo[row] == joined["lo"].to_numpy()[at]) & (colset[row] == joined["colset"].to_numpy()[at])
    at, row = at[exact], row[exact]
    pair = joined["pair"].to_numpy()
    count = joined["count"].to_numpy()
    size = int(pair.max()) + 1
    distinct = np.bincount(pair, minlength=size)
    summed = np.zeros(size, np.int64)
    np.add.at(summed, pair, count)  # exact int64 (bincount's weights are float64)
    matched = np.bincount(pair[at], minlength=size)
    over = np.bincount(pair[at[count[at] > f["count"].to_numpy()[row]]], minlength=size)
    return totals_rows(np.stack([distinct, summed, distinct - matched, over]).astype(np.int64, copy=False))


def pieces(rows: pa.Table, most: int) -> Iterator[pa.Table]:
    """``rows`` (:data:`ROWS_SCHEMA`) in pieces of about ``most`` rows, each holding whole fingerprint groups, for
    :func:`decide` to join one at a time: its memory then follows the piece, not the partition. Cut by the low
    bits of ``lo`` (a partition's rows share the top bits of ``hi``, :func:`bucket_of`), which spread evenly."""
    if rows.num_rows <= most:
        yield rows
        return
    bits = (-(-rows.num_rows // most) - 1).bit_length()
    order, bounds = grouped(rows.column("lo").to_numpy() & np.uint64((1 << bits) - 1), bits)
    rows = rows.take(pa.array(order))
    del order
    for start, stop in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        if stop > start:
            yield rows.slice(start, stop - start)


def sum_totals(parts: Iterable[pa.Table], pairs: int) -> np.ndarray:
    """Sum :func:`decide` outputs over partitions: an array of shape ``(4, pairs)``, rows distinct, rows,
    missing, over (the :data:`TOTALS_SCHEMA` columns) of each pair; zeros for a pair no partition counted.

    One partition at a time into running sums: the outputs are never held together (on the 10,000-table lake
    each of 512 partitions had a row for most of its 196,496 pairs: 100 million rows if kept)."""
    sums = np.zeros((len(TOTALS_SCHEMA) - 1, pairs), np.int64)
    for part in parts:
        if not part.num_rows:
            continue
        pair = part.column("pair").to_numpy()
        for k, name in enumerate(TOTALS_SCHEMA.names[1:]):
            np.add.at(sums[k], pair, part.column(name).to_numpy())
    return sums


def totals_rows(sums: np.ndarray) -> pa.Table:
    """:data:`TOTALS_SCHEMA` rows of the pairs counted in ``sums`` (shape ``(4, pairs)``, as :func:`sum_totals`
    gives: rows distinct, rows, missing, over), one per pair with a fingerprint (distinct rows > 0)."""
    here = np.flatnonzero(sums[0])
    return pa.Table.from_arrays([pa.array(here.astype(np.int32))] + [pa.array(s[here]) for s in sums], schema=TOTALS_SCHEMA)


def grouped(keys: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """The stable order that groups ``keys`` (integers in ``0 .. 2**bits - 1``: :func:`bucket_of`'s buckets, or
    :func:`pieces`' low bits) by value, and where each value's group lies in it: value ``k`` is at
    ``order[bounds[k]:bounds[k + 1]]`` (``2**bits + 1`` bounds, the first 0).

    Keys of at most 16 bits are sorted as ``uint16``, for which numpy's stable sort is a radix sort: on 2**18
    keys of 10 bits, 2.4 ms against 14.8 ms as int64. Wider keys get a comparison sort. The bounds are counted
    (``bincount``), not searched in the sorted keys."""
    narrow = keys.astype(np.uint16 if bits <= 16 else np.int64)
    order = np.argsort(narrow, kind="stable")
    bounds = np.zeros((1 << bits) + 1, np.int64)
    np.cumsum(np.bincount(narrow, minlength=1 << bits), out=bounds[1:])
    return order, bounds


def bucket_of(hi: np.ndarray | pl.Series, bits: int) -> np.ndarray:
    """The partition (``0 .. 2**bits - 1``) of each fingerprint: its top ``bits`` bits (uniform: ``hi`` is a
    mixed hash). Both engines partition this way, so a partition holds whole fingerprint groups."""
    values = hi.to_numpy() if isinstance(hi, pl.Series) else hi
    if bits == 0:
        return np.zeros(len(values), dtype=np.int64)
    return (values >> np.uint64(64 - bits)).astype(np.int64)
