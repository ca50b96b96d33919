"""Stage 2: pruning candidate pairs with footer statistics only (R2D2, Shah et al., SIGMOD'24, section 4.2).

Every rule below drops a pair only when the child is *certainly* not contained in the parent; a statistic that
is unknown (absent, possibly truncated, see :mod:`.footers`) never prunes. Let C be the child, P the parent,
c one of C's columns; ``C.min(c)`` is the exact minimum of C's non-null values of c.

1. **Minimum.** ``C.min(c) < P.min(c)``: C has a row whose value in c is smaller than every non-null value of
   P's c, and it is not null, so no row of P's projection equals it.
2. **Maximum.** ``C.max(c) > P.max(c)``: symmetric.
3. **Nulls.** ``C.nulls(c) > 0`` and ``P.nulls(c) == 0``: C has a row with a null in c; P has none (nulls equal
   only nulls).
4. **All null.** C has a non-null value in c and every value of P's c is null.
5. **Rows.** ``C.rows > 0`` and ``P.rows == 0``: a non-empty set is not a subset of the empty set. A row-count
   rule ``C.rows > P.rows`` is *not* valid for set containment (C may hold duplicates), so it is not used;
   it only decides multiset containment, which stage 4 computes exactly.

**Outer bounds** (statistics that are not tight: a Delta table with deletion vectors, Iceberg's truncated string
bounds, files with deleted rows; :mod:`lakeshrink.tables.stats`) may be wider than the values: they are used
only on the parent's side. ``C.min < P.lower_bound <= P.min`` still proves rule 1, but a child's bound does not
prove that the child holds a value there, so rules 1, 2 and 4 need the child's statistics tight. Null counts
are exact whenever known (:mod:`.footers` drops the ones that are not).

Values compare by value: ints of any width as Python ints, floats as Python floats (-0.0 == 0.0; NaN extremes
are unknown), strings in code point order, which is UTF-8 byte order, the order Parquet uses for them.

:func:`minmax_prune` applies the rules to all pairs at once with numpy (:func:`prune_reason` is the same rule
for one pair): each column's extremes are replaced by their ranks among all the tables' extremes of that
column and of the same kind of Python value, so a comparison of values is a comparison of integers. Values of
different kinds (an int and a string, a naive and an aware datetime) do not compare, as in Python.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from operator import attrgetter

import numpy as np

from lakeshrink.containment.scan.footers import UNKNOWN, ColumnStats, TableFooter
from lakeshrink.containment.scan.schema_graph import Candidates, Pair


def _column_rule(child: ColumnStats, parent: ColumnStats) -> str | None:
    if child.null_count and parent.null_count == 0:
        return "nulls"
    child_has_value = child.minmax_known and child.min is not None and child.tight
    if child_has_value and parent.all_null_known:
        return "all-null"
    if child_has_value and parent.minmax_known and parent.min is not None:
        try:
            if child.min < parent.min:
                return "min"
            if child.max > parent.max:
                return "max"
        except TypeError:
            return None
    return None


def prune_reason(pair: Pair, child: TableFooter, parent: TableFooter) -> str | None:
    """Why ``pair`` is certainly not a containment (``"min"``, ``"max"``, ``"nulls"``, ``"all-null"``,
    ``"rows"``), or None when the statistics cannot tell."""
    if child.rows > 0 and parent.rows == 0:
        return "rows"
    for column in pair.columns:
        c, p = child.stats.get(column), parent.stats.get(column)
        if c is None or p is None:
            continue
        reason = _column_rule(c, p)
        if reason is not None:
            return reason
    return None


REASONS = ("rows", "nulls", "all-null", "min", "max")  # codes 1..5 of :func:`minmax_prune`'s arrays; 0 = kept
_OTHER = -1  # the kind of a value of no known kind: such a column is decided pair by pair (:func:`_column_rule`)


def _kind(value: object) -> int:
    """Values of one kind compare with each other in Python, and never raise; 0 = none (no value)."""
    if value is None:
        return 0
    if isinstance(value, (bool, int, float)):
        return 1 if value == value else _OTHER  # NaN (footers drop it) does not sort
    if isinstance(value, str):
        return 2
    if isinstance(value, bytes):
        return 3
    if isinstance(value, dt.datetime):
        return 4 if value.tzinfo is None else 5
    if isinstance(value, dt.date):
        return 6
    return _OTHER


@dataclass
class _Column:
    """One column name's statistics over the tables that have them: ``tables`` (sorted table numbers) and
    arrays indexed by :meth:`slots`, whose last entry stands for a table without them."""

    tables: np.ndarray
    present: np.ndarray  # the table has statistics for the column
    child_nulls: np.ndarray  # null count known and > 0
    parent_no_nulls: np.ndarray  # null count known and 0
    child_value: np.ndarray  # tight extremes of at least one value (a child's side of rules 1, 2, 4)
    parent_all_null: np.ndarray
    parent_value: np.ndarray  # extremes (or outer bounds) of at least one value
    other: np.ndarray  # an extreme of no known kind
    kind_min: np.ndarray
    kind_max: np.ndarray
    rank_min: np.ndarray  # ranks among all extremes of the column of the same kind; equal values, equal ranks
    rank_max: np.ndarray

    def slots(self, tables: np.ndarray) -> np.ndarray:
        """Where each of ``tables`` (numbers) is in the arrays."""
        if not len(self.tables):
            return np.zeros(len(tables), np.int64)
        at = np.minimum(np.searchsorted(self.tables, tables), len(self.tables) - 1)
        return np.where(self.tables[at] == tables, at, len(self.tables))


def _column(tables: list[int], stats: list[ColumnStats]) -> _Column:
    """``stats`` of the tables numbered ``tables`` (ascending), and one more entry: a table without them."""
    s = [*stats, UNKNOWN]
    n = len(s)
    kind_min = np.fromiter((_kind(x.min) if x.minmax_known else 0 for x in s), np.int8, n)
    kind_max = np.fromiter((_kind(x.max) if x.minmax_known else 0 for x in s), np.int8, n)
    rank_min, rank_max = np.zeros(n, np.int64), np.zeros(n, np.int64)
    values: dict[int, list[tuple[object, int, int]]] = {}
    for i, x in enumerate(s):
        if kind_min[i] > 0:
            values.setdefault(int(kind_min[i]), []).append((x.min, i, 0))
        if kind_max[i] > 0:
            values.setdefault(int(kind_max[i]), []).append((x.max, i, 1))
    for entries in values.values():
        entries.sort(key=lambda e: e[0])
        rank, previous = 0, entries[0][0]
        for value, i, side in entries:
            if value != previous:
                rank, previous = rank + 1, value
            (rank_max if side else rank_min)[i] = rank
    known = np.fromiter((x.minmax_known for x in s), bool, n)
    has_min = np.fromiter((x.min is not None for x in s), bool, n)
    return _Column(
        tables=np.asarray(tables, np.int64),
        present=np.arange(n) < n - 1,
        child_nulls=np.fromiter((bool(x.null_count) for x in s), bool, n),
        parent_no_nulls=np.fromiter((x.null_count == 0 for x in s), bool, n),
        child_value=known & has_min & np.fromiter((x.tight for x in s), bool, n),
        parent_all_null=known & ~has_min,
        parent_value=known & has_min,
        other=(kind_min == _OTHER) | (kind_max == _OTHER),
        kind_min=kind_min, kind_max=kind_max, rank_min=rank_min, rank_max=rank_max,
    )


def minmax_prune(pairs: list[Pair], footers: dict[str, TableFooter]) -> tuple[list[Pair], dict[str, int]]:
    """The pairs that survive the rules, and how many were dropped by each rule: :func:`prune_reason` for
    every pair, computed per column over all the pairs of a column set at once (12 million pairs of the
    10,000-table lake took 111 s one by one)."""
    if not pairs:
        return [], {}
    number = {t: i for i, t in enumerate(footers)}
    n = len(pairs)
    child = np.fromiter(map(number.__getitem__, map(attrgetter("child"), pairs)), np.int64, n)
    parent = np.fromiter(map(number.__getitem__, map(attrgetter("parent"), pairs)), np.int64, n)
    # grouped by the column set's object, not its value: a child's pairs share one tuple, and hashing 12 million
    # tuples of names took longer than the rules (equal tuples in two objects only make two groups)
    identity = np.fromiter(map(id, map(attrgetter("columns"), pairs)), np.uint64, n)
    _, first, group = np.unique(identity, return_index=True, return_inverse=True)
    reason = _reasons(child, parent, group, [pairs[i].columns for i in first.tolist()], footers)
    return list(itertools.compress(pairs, (reason == 0).tolist())), _dropped(reason)


def minmax_prune_candidates(candidates: Candidates, footers: dict[str, TableFooter]) -> tuple[list[Pair], dict[str, int]]:
    """:func:`minmax_prune` of stage 1's :class:`~.schema_graph.Candidates`: a :class:`Pair` is made only for
    the candidates that survive (the sorted pairs, as :func:`minmax_prune` of ``candidates.pairs()`` keeps)."""
    children = list(candidates.children.items())
    if not children:
        return [], {}
    tables = list(footers)
    number = {t: i for i, t in enumerate(tables)}
    sizes = np.fromiter((len(parents) for _, (_, parents) in children), np.int64, len(children))
    child = np.repeat(np.fromiter((number[c] for c, _ in children), np.int64, len(children)), sizes)
    parent = np.fromiter((number[p] for _, (_, parents) in children for p in parents), np.int64, int(sizes.sum()))
    colsets: dict[tuple[str, ...], int] = {}
    group = np.repeat(np.fromiter((colsets.setdefault(columns, len(colsets)) for _, (columns, _) in children), np.int64, len(children)), sizes)
    reason = _reasons(child, parent, group, list(colsets), footers)
    keep = np.flatnonzero(reason == 0)
    names = [c for c, _ in children]
    columns_of = [columns for _, (columns, _) in children]
    owner = np.repeat(np.arange(len(children)), sizes)[keep].tolist()
    kept = [Pair(names[o], tables[p], columns_of[o]) for o, p in zip(owner, parent[keep].tolist())]
    return kept, _dropped(reason)


def _dropped(reason: np.ndarray) -> dict[str, int]:
    counts = np.bincount(reason, minlength=len(REASONS) + 1)
    return {r: int(counts[i + 1]) for i, r in enumerate(REASONS) if counts[i + 1]}


def _ranges(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(s, s + n)`` for each start ``s`` and size ``n``."""
    offsets = np.cumsum(sizes) - sizes
    return np.repeat(starts - offsets, sizes) + np.arange(int(sizes.sum()))


def _reasons(child: np.ndarray, parent: np.ndarray, group: np.ndarray, colsets: list[tuple[str, ...]],
             footers: dict[str, TableFooter]) -> np.ndarray:
    """The reason code (0: kept, else 1 + index in :data:`REASONS`) of each pair given by table numbers (in
    ``footers``' order) and the number of its column set in ``colsets`` (every number used by some pair; a
    column set's names sorted, as in a :class:`Pair`).

    A column name at a time over all the pairs that have it, in name order, so a pair's first column that
    proves a rule is the one :func:`prune_reason` reports; each column's statistics are gathered only from
    the tables that have them (stage 2 of 100,000 tables has thousands of column names)."""
    tables = list(footers)
    rows = np.fromiter((footers[t].rows for t in tables), np.int64, len(tables))
    reason = np.where((rows[child] > 0) & (rows[parent] == 0), 1, 0).astype(np.int8)
    having: dict[str, tuple[list[int], list[ColumnStats]]] = {}
    for i in np.unique(np.concatenate([child, parent])).tolist():  # only tables in pairs: a re-scan has few
        for name, stats in footers[tables[i]].stats.items():
            entry = having.setdefault(name, ([], []))
            entry[0].append(i)
            entry[1].append(stats)
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.r_[True, group[order][1:] != group[order][:-1], True])
    start, size = bounds[:-1], np.diff(bounds)  # column set g's pairs: order[start[g]:][:size[g]]
    groups_of: dict[str, list[int]] = {}
    for g, colset in enumerate(colsets):
        for name in colset:
            groups_of.setdefault(name, []).append(g)
    for name in sorted(groups_of):
        gs = np.asarray(groups_of[name])
        at = order[_ranges(start[gs], size[gs])]
        at = at[reason[at] == 0]
        if not len(at):
            continue
        col = _column(*having.get(name, ([], [])))
        c, p = col.slots(child[at]), col.slots(parent[at])
        both = col.present[c] & col.present[p]
        nulls = both & col.child_nulls[c] & col.parent_no_nulls[p]
        all_null = both & ~nulls & col.child_value[c] & col.parent_all_null[p]
        compare = both & ~nulls & ~all_null & col.child_value[c] & col.parent_value[p]
        slow = compare & (col.other[c] | col.other[p])
        compare &= ~slow & (col.kind_min[c] == col.kind_min[p])
        below = compare & (col.rank_min[c] < col.rank_min[p])
        above = compare & ~below & (col.kind_max[c] == col.kind_max[p]) & (col.rank_max[c] > col.rank_max[p])
        got = np.select([nulls, all_null, below, above], [2, 3, 4, 5], 0).astype(np.int8)
        for i in np.flatnonzero(slow):  # values of no known kind: compared in Python, pair by pair
            r = _column_rule(footers[tables[child[at[i]]]].stats[name], footers[tables[parent[at[i]]]].stats[name])
            got[i] = 0 if r is None else REASONS.index(r) + 1
        reason[at] = got
    return reason
