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
"""

from __future__ import annotations

from lakeshrink.containment.scan.footers import ColumnStats, TableFooter
from lakeshrink.containment.scan.schema_graph import Pair


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


def minmax_prune(pairs: list[Pair], footers: dict[str, TableFooter]) -> tuple[list[Pair], dict[str, int]]:
    """The pairs that survive the rules, and how many were dropped by each rule."""
    kept: list[Pair] = []
    dropped: dict[str, int] = {}
    for pair in pairs:
        reason = prune_reason(pair, footers[pair.child], footers[pair.parent])
        if reason is None:
            kept.append(pair)
        else:
            dropped[reason] = dropped.get(reason, 0) + 1
    return kept, dropped
