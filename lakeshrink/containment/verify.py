"""Stage 4: exact verification of the remaining pairs by a hashed anti-join (polars, in process).

Pairs are grouped by (parent, column set) (:func:`.schema_graph.group_by_parent`), so each parent projection is
read, normalised (:mod:`.compare`) and counted **once** for all of its candidate children. For each child:

1. its projection's distinct rows and their counts (``group_by(columns).len()``);
2. a hash pre-check: a child row whose :meth:`polars.DataFrame.hash_rows` hash is not among the parent's row
   hashes is certainly absent from the parent (equal rows hash equally), so the pair is rejected at once;
3. otherwise the exact judge: a left join of the child's distinct rows to the parent's on every column, with
   ``nulls_equal=True`` (polars compares values, so hash collisions cannot fake a match). The child is
   contained when every distinct row found a partner, and contained *as a multiset* when, in addition, each
   row occurs in the child at most as often as in the parent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from lakeshrink.containment.compare import normalize_frame
from lakeshrink.containment.footers import _reason
from lakeshrink.containment.lake import TableRef, projection_bytes, read_table, resolve_root
from lakeshrink.containment.schema_graph import Pair, group_by_parent
from lakeshrink.containment.sketches import HASH_SEED

COUNT = "\x00lakeshrink_count"
PARENT_COUNT = "\x00lakeshrink_parent_count"


@dataclass(frozen=True)
class Edge:
    """A verified containment: every row of ``child`` (on ``columns``, all of its columns) is a row of ``parent``."""

    child: str
    parent: str
    columns: tuple[str, ...]
    child_rows: int
    child_distinct_rows: int
    multiset_contained: bool


@dataclass(frozen=True)
class Verdict:
    """Stage 4's answer for one pair: an edge, a rejection, or an error naming the table that failed."""

    pair: Pair
    edge: Edge | None = None
    error_table: str | None = None
    error: str | None = None


def counted(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """Distinct rows of ``frame`` on ``columns`` with their counts in column :data:`COUNT`."""
    return frame.group_by(list(columns)).len(name=COUNT)


def judge(pair: Pair, child: pl.DataFrame, child_rows: int, parent: pl.DataFrame, parent_hashes: pl.Series) -> Verdict:
    """Decide one pair from counted frames (:func:`counted`) and the parent's distinct-row hashes."""
    columns = list(pair.columns)
    if not child.select(columns).hash_rows(HASH_SEED).is_in(parent_hashes.implode()).all():
        return Verdict(pair)
    joined = child.join(
        parent.rename({COUNT: PARENT_COUNT}), on=columns, how="left", nulls_equal=True, coalesce=True
    )
    if joined[PARENT_COUNT].null_count() > 0:
        return Verdict(pair)
    multiset = bool((joined[COUNT] <= joined[PARENT_COUNT]).all())
    return Verdict(pair, Edge(pair.child, pair.parent, pair.columns, child_rows, child.height, multiset))


@dataclass(frozen=True)
class VerifyGroup:
    """One parent projection and the candidate children verified against it (a picklable task item)."""

    root: str
    parent: TableRef
    columns: tuple[str, ...]
    children: tuple[tuple[Pair, TableRef], ...]


@dataclass(frozen=True)
class GroupResult:
    verdicts: tuple[Verdict, ...]
    bytes_read: int


def verify_group(group: VerifyGroup) -> GroupResult:
    """Verify every child of one (parent, columns) group, reading the parent projection once."""
    fs, _ = resolve_root(group.root)
    columns = group.columns
    try:
        parent = counted(normalize_frame(read_table(fs, group.parent, list(columns)), columns), columns)
        parent_hashes = parent.select(list(columns)).hash_rows(HASH_SEED)
        read = projection_bytes(fs, group.parent, columns)
    except Exception as exc:  # noqa: BLE001 - reported for the parent table
        reason = _reason(exc)
        return GroupResult(tuple(Verdict(p, error_table=group.parent.id, error=reason) for p, _ in group.children), 0)
    verdicts = []
    for pair, ref in group.children:
        try:
            table = read_table(fs, ref, list(columns))
            read += projection_bytes(fs, ref, columns)
            child = counted(normalize_frame(table, columns), columns)
            verdicts.append(judge(pair, child, table.num_rows, parent, parent_hashes))
        except Exception as exc:  # noqa: BLE001 - reported for the child table
            verdicts.append(Verdict(pair, error_table=ref.id, error=_reason(exc)))
    return GroupResult(tuple(verdicts), read)


def verify_groups(root: str, refs: dict[str, TableRef], pairs: list[Pair]) -> list[VerifyGroup]:
    """The stage-4 work items: one per (parent, column set)."""
    return [
        VerifyGroup(root, refs[parent], columns, tuple((p, refs[p.child]) for p in group))
        for (parent, columns), group in group_by_parent(pairs).items()
    ]


def verify_local(groups: list[VerifyGroup], mapper: Callable) -> tuple[list[Verdict], int]:
    """Run the groups through ``mapper`` (an engine's ``map``); all verdicts and the bytes read."""
    results = mapper(verify_group, groups)
    return [v for r in results for v in r.verdicts], sum(r.bytes_read for r in results)
