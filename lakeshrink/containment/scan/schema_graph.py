"""Stage 1: the schema containment graph (R2D2, Shah et al., SIGMOD'24, section 4.1).

Table A can only be contained in table B when every column of A is a column of B with a matching type
(:func:`lakeshrink.containment.scan.compare.type_key`). Instead of testing all ``n * (n - 1)`` pairs, an inverted
index maps each ``(column name, type key)`` to the tables that have it; A's candidate parents are the
intersection of the posting lists of A's columns, smallest list first, so the work is proportional to the
sizes of the lists A touches, not to the number of tables.

Proof that nothing contained is dropped: if A is contained in B, every column of A is in B with a matching
type, so B is in the posting list of each of A's columns and therefore in their intersection.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

from lakeshrink.containment.scan.compare import TypesMode, type_key


@dataclass(frozen=True, order=True, slots=True)
class Pair:
    """A candidate containment: is ``child`` contained in ``parent`` on ``columns`` (the child's columns, sorted)?"""

    child: str
    parent: str
    columns: tuple[str, ...]


def column_keys(schema: pa.Schema, types: TypesMode) -> frozenset[tuple[str, str]]:
    """The ``(name, type key)`` set a table offers in the index."""
    return frozenset((f.name, type_key(f.type, types)) for f in schema)


@dataclass(frozen=True, slots=True)
class Candidates:
    """Stage 1's answer without a :class:`Pair` per candidate (12 million on the 10,000-table lake): for each
    child, its column names (sorted) and its candidate parents (sorted). :meth:`pairs` makes the pairs."""

    children: dict[str, tuple[tuple[str, ...], list[str]]]

    def __len__(self) -> int:
        return sum(len(parents) for _, parents in self.children.values())

    def pairs(self) -> list[Pair]:
        """The candidate pairs, sorted by (child, parent)."""
        return [Pair(child, parent, columns) for child, (columns, parents) in self.children.items() for parent in parents]


def candidate_parents(schemas: dict[str, pa.Schema], types: TypesMode, *, touching: set[str] | None = None) -> Candidates:
    """All ordered pairs (child, parent) whose schemas allow containment, via an inverted column index.

    Args:
        schemas: table id -> Arrow schema (tables without columns must be left out by the caller).
        types: ``"exact"`` or ``"compatible"`` column type matching.
        touching: only the pairs with a child or a parent in this set (an incremental re-scan's changed tables).

    Returns:
        The candidates, children in sorted order.
    """
    keys = {table: column_keys(schema, types) for table, schema in schemas.items()}
    index: dict[tuple[str, str], set[str]] = defaultdict(set)
    for table, table_keys in keys.items():
        for key in table_keys:
            index[key].add(table)
    out: dict[str, tuple[tuple[str, ...], list[str]]] = {}
    for child in sorted(keys):
        child_keys = keys[child]
        if not child_keys:
            continue
        columns = tuple(sorted(name for name, _ in child_keys))
        if touching is not None and child not in touching:
            parents = sorted(p for p in touching if p != child and p in keys and child_keys <= keys[p])
        else:
            postings = sorted((index[k] for k in child_keys), key=len)
            found = set(postings[0])
            for posting in postings[1:]:
                found &= posting
                if len(found) <= 1:
                    break
            found.discard(child)
            parents = sorted(found)
        if parents:
            out[child] = (columns, parents)
    return Candidates(out)


def schema_candidates(schemas: dict[str, pa.Schema], types: TypesMode, *, touching: set[str] | None = None) -> list[Pair]:
    """:func:`candidate_parents` as pairs, sorted by (child, parent)."""
    return candidate_parents(schemas, types, touching=touching).pairs()


def group_by_parent(pairs: Iterable[Pair]) -> dict[tuple[str, tuple[str, ...]], list[Pair]]:
    """Pairs grouped by (parent, column set): each group needs one projection of the parent."""
    groups: dict[tuple[str, tuple[str, ...]], list[Pair]] = defaultdict(list)
    for pair in pairs:
        groups[(pair.parent, pair.columns)].append(pair)
    return dict(sorted(groups.items()))
