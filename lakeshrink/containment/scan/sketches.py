"""Stage 3: content pruning with bottom-k hash sketches (R2D2, Shah et al., SIGMOD'24, section 4.3).

R2D2 prunes with per-column MinHash sketches and a containment-estimate threshold, which may drop a true pair.
lakeshrink keeps the idea (small per-table sketches, computed once per table as one task each) but uses a
test that can *never* drop a true pair: the bottom-k sketch (Cohen & Kaplan, "Summarizing data using bottom-k
sketches", PODC'07), the one-permutation form of MinHash.

For a set S of values (one column, or whole rows of a projection) and a 64-bit hash h, ``sketch(S)`` holds the
k smallest distinct hashes of S, and ``complete`` says whether S had at most k distinct hashes (then the sketch
holds all of them). Let ``tau(P)`` be the largest hash in ``sketch(P)`` (infinite when complete).

**Rule.** If some hash x in ``sketch(C)`` has ``x <= tau(P)`` and x is not in ``sketch(P)``, then C is not a
subset of P.

**Proof.** x = h(v) for a value v of C. If v were in P, x would be one of P's distinct hashes; every hash of P
that is ``<= tau(P)`` is in ``sketch(P)`` (it holds P's k smallest); so x would be in ``sketch(P)``. Hash
collisions cannot break this: they only make different values look equal, never an equal value look different.

The rule is applied to each column's value set and to the rows of the child's projection (the child's columns,
in sorted order). The hashes are the ``hi`` halves of stage 4's fingerprints (:mod:`.fingerprints`), computed in
the same single read of each table (:mod:`.fused`): value hashes per column, row fingerprints per row set. They
are computed from canonical values (:mod:`lakeshrink.containment.rowhash`), so int32 1 and int64 1, or NaN payloads, hash alike, and
they are stable across machines and library versions; each sketch still records the hasher that made it, and
sketches of two different hashers are never compared (the pair goes on to stage 4).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from lakeshrink.containment.lake import TableRef
from lakeshrink.containment.scan.schema_graph import Pair

DEFAULT_K = 256
MAX_ROW_SETS = 64  # row-set sketches per table (a parent of many differently-shaped children)
HASHER = "lakeshrink-rowhash-v2"  # the hash functions (:mod:`.fingerprints`); sketches of other hashers are never compared
# (v2: row fingerprints fold by multiply-add, see fingerprints._fold; a v1 cache is rebuilt, never mixed with v2)


@dataclass(frozen=True, slots=True)  # slots: half a million of them held at once on the 10,000-table lake
class Sketch:
    """The k smallest distinct 64-bit hashes of a set (sorted), and whether that is all of them (or their top
    32 bits: :meth:`narrowed`; the sketches compared must be of the same width)."""

    hashes: np.ndarray
    complete: bool

    @classmethod
    def of(cls, hashes: np.ndarray, k: int) -> Sketch:
        distinct = np.unique(np.asarray(hashes, dtype=np.uint64))  # sorted
        return cls(distinct[:k].copy(), len(distinct) <= k)

    def narrowed(self) -> Sketch:
        """The sketch of the top 32 bits of the hashes: half the memory, and the rule stays sound. Proof: the
        top bits keep the order, so the narrowed sketch of P holds every narrowed hash of P below the top bits
        t of ``tau(P)``, and t itself (``tau(P)`` is in the sketch); a narrowed hash x of C with x <= t that is
        not in it is therefore no narrowed hash of P, and its value is not in P. Distinct hashes sharing their
        top bits only make the test weaker, never wrong (as collisions do). The scan holds every table's
        sketches at once for stage 3's pruning: about a gigabyte of 64-bit sketches on the 10,000-table lake."""
        top = (np.asarray(self.hashes, dtype=np.uint64) >> np.uint64(32)).astype(np.uint32)
        return Sketch(top[np.r_[True, top[1:] != top[:-1]]] if len(top) else top, self.complete)

    def certainly_not_subset_of(self, parent: Sketch) -> bool:
        """True only when the set behind ``self`` is certainly not a subset of the set behind ``parent``."""
        if len(self.hashes) == 0:
            return False
        probe = self.hashes if parent.complete else self.hashes[: np.searchsorted(self.hashes, parent.hashes[-1], "right")]
        if not len(probe):
            return False
        if not len(parent.hashes):
            return True
        at = np.minimum(np.searchsorted(parent.hashes, probe), len(parent.hashes) - 1)
        return bool((parent.hashes[at] != probe).any())


@dataclass(frozen=True)
class TableSketch:
    """A table's sketches, by column and by row set. It pickles as one array of all their hashes (and its
    sketches, once unpickled or :meth:`packed`, are views into one array): the scan holds every table's sketches
    until stage 3's pruning and then frees them; as separate arrays, the half-million small buffers of the
    10,000-table lake were interleaved with what the scan keeps, and the C heap kept about 950 MiB free that
    it could not give back."""

    table: str
    columns: dict[str, Sketch] = field(default_factory=dict)
    rows: dict[tuple[str, ...], Sketch] = field(default_factory=dict)
    bytes_read: int = 0
    error: str | None = None
    hasher: str = HASHER

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        sketches = [*self.columns.values(), *self.rows.values()]
        widths = {s.hashes.dtype for s in sketches}
        if len(widths) > 1:
            raise ValueError(f"sketches of {self.table} mix hash widths {sorted(map(str, widths))}")
        hashes = np.concatenate([s.hashes for s in sketches]) if sketches else np.zeros(0, np.uint64)
        lengths = np.fromiter((len(s.hashes) for s in sketches), np.int64, len(sketches))
        complete = np.fromiter((s.complete for s in sketches), bool, len(sketches))
        return _table_sketch, (self.table, tuple(self.columns), tuple(self.rows), hashes, lengths, complete, self.bytes_read,
                               self.error, self.hasher)

    def packed(self) -> TableSketch:
        """The same sketches as views into one array (one allocation for the table)."""
        return _table_sketch(*self.__reduce__()[1])


def _table_sketch(table: str, columns: tuple[str, ...], rows: tuple[tuple[str, ...], ...], hashes: np.ndarray, lengths: np.ndarray,
                  complete: np.ndarray, bytes_read: int, error: str | None, hasher: str) -> TableSketch:
    ends = np.cumsum(lengths).tolist()
    views = [Sketch(hashes[end - n:end], c) for end, n, c in zip(ends, lengths.tolist(), complete.tolist())]
    return TableSketch(table, dict(zip(columns, views)), dict(zip(rows, views[len(columns):])), bytes_read, error, hasher)


@dataclass(frozen=True)
class TableNeeds:
    """What stages 3 and 4 need of one table: the columns to sketch one by one, the row sets to sketch (at most
    :data:`MAX_ROW_SETS`, the most used) and every column set to fingerprint for stage 4."""

    table: str
    columns: tuple[str, ...]
    row_sets: tuple[tuple[str, ...], ...]
    colsets: tuple[tuple[str, ...], ...]


def table_needs(pairs: list[Pair]) -> dict[str, TableNeeds]:
    """Per table in ``pairs``: as a child it needs its columns and its row set; as a parent, the columns and row
    sets of its candidate children. Pairs whose row set was left out of the sketches are judged by their column
    sketches only."""
    columns: dict[str, set[str]] = {}
    row_sets: dict[str, Counter[tuple[str, ...]]] = {}
    for pair in pairs:
        for table in (pair.child, pair.parent):
            columns.setdefault(table, set()).update(pair.columns)
            row_sets.setdefault(table, Counter())[pair.columns] += 1
    return {
        t: TableNeeds(
            t, tuple(sorted(columns[t])), tuple(sorted(c for c, _ in row_sets[t].most_common(MAX_ROW_SETS))), tuple(sorted(row_sets[t]))
        )
        for t in sorted(columns)
    }


def prune_reason(pair: Pair, child: TableSketch, parent: TableSketch) -> str | None:
    """``"rows"`` or ``"column:<name>"`` when the sketches prove non-containment, else None."""
    if child.hasher != parent.hasher:
        return None
    for column in pair.columns:
        if child.columns[column].certainly_not_subset_of(parent.columns[column]):
            return f"column:{column}"
    child_rows, parent_rows = child.rows.get(pair.columns), parent.rows.get(pair.columns)
    if child_rows is not None and parent_rows is not None and child_rows.certainly_not_subset_of(parent_rows):
        return "rows"
    return None


def not_subsets(children: list[Sketch], parent: Sketch) -> np.ndarray:
    """:meth:`Sketch.certainly_not_subset_of` of each of ``children`` against one ``parent``, in a few numpy
    calls for all of them (a boolean array, one entry per child)."""
    lengths = np.fromiter((len(s.hashes) for s in children), np.int64, len(children))
    if not lengths.sum():
        return np.zeros(len(children), bool)
    hashes = np.concatenate([s.hashes for s in children])
    owner = np.repeat(np.arange(len(children)), lengths)
    if not len(parent.hashes):  # an empty parent: a child with any value is not a subset (probe: all of them)
        return lengths > 0
    probe = hashes <= parent.hashes[-1] if not parent.complete else np.ones(len(hashes), bool)
    at = np.minimum(np.searchsorted(parent.hashes, hashes), len(parent.hashes) - 1)
    missing = probe & (parent.hashes[at] != hashes)
    return np.bincount(owner[missing], minlength=len(children)) > 0


def dropped(pairs: list[Pair], sketches: dict[str, TableSketch]) -> np.ndarray:
    """A mask of the pairs :func:`prune_reason` drops (not None), decided a parent and a column (or row set) at a
    time over all of its candidate children with :func:`not_subsets`: the number of numpy calls grows with the
    parents' columns, not with the pairs (the loop over pairs took about 4 minutes on the 10,000-table lake).
    The pairs are grouped by parent with one sort, not a list of indices per parent (3.5 million ints there)."""
    drop = np.zeros(len(pairs), bool)
    number: dict[str, int] = {}
    parents = np.fromiter((number.setdefault(p.parent, len(number)) for p in pairs), np.int64, len(pairs))
    order = np.argsort(parents, kind="stable")
    grouped = parents[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]]) if len(pairs) else np.zeros(0, np.int64)
    for start, stop in zip(starts.tolist(), np.r_[starts[1:], len(pairs)].tolist()):
        members = order[start:stop].tolist()
        parent = sketches[pairs[members[0]].parent]
        by_column: dict[str, list[int]] = {}
        by_rows: dict[tuple[str, ...], list[int]] = {}
        for i in members:
            pair = pairs[i]
            if sketches[pair.child].hasher != parent.hasher:
                continue
            for column in pair.columns:
                by_column.setdefault(column, []).append(i)
            by_rows.setdefault(pair.columns, []).append(i)
        for column, idx in by_column.items():
            drop[idx] |= not_subsets([sketches[pairs[i].child].columns[column] for i in idx], parent.columns[column])
        for row_set, idx in by_rows.items():
            parent_rows = parent.rows.get(row_set)
            if parent_rows is None:
                continue
            idx = [i for i in idx if row_set in sketches[pairs[i].child].rows]
            if idx:
                drop[idx] |= not_subsets([sketches[pairs[i].child].rows[row_set] for i in idx], parent_rows)
    return drop
