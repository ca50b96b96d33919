"""The containment graph's transitive reduction, with groups of equal tables.

Containment is transitive (A in B and B in C give A in C) and the scan reports every verified pair, so the
edge set is (up to skipped tables) transitively closed and full of implied edges. The reduction keeps the edges
nothing else implies, which is what a person or the deletion planner wants to look at.

**Equal tables.** When A is in B and B is in A, they have the same columns and the same set of rows: they are
equal as sets (not necessarily as multisets). Mutual containment is an equivalence, so equal tables form
groups. Each group has a *representative*: its first table id in sort order. In the reduction

* every other member of a group has exactly one edge, ``member -> representative``;
* between groups, the condensed graph (one node per group, a DAG) is reduced: an edge ``G1 -> G2`` stays unless
  ``G2`` is reachable from ``G1`` through another group; a kept edge joins the two representatives (which is a
  verified edge, since every member of a group is contained wherever any member is).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable


def union_groups(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, ...]]:
    """The groups of tables joined by ``pairs`` (union-find), each sorted, the list sorted."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = defaultdict(list)
    for x in list(parent):
        groups[find(x)].append(x)
    return sorted(tuple(sorted(g)) for g in groups.values())


def equal_groups(edges: Iterable[tuple[str, str]]) -> list[tuple[str, ...]]:
    """Groups (of two or more tables) that contain each other, each sorted, the list sorted."""
    edge_set = set(edges)
    return [g for g in union_groups((a, b) for a, b in edge_set if a < b and (b, a) in edge_set) if len(g) > 1]


def connected_components(edges: Iterable[tuple[str, str]]) -> list[tuple[str, ...]]:
    """The connected components of the containment graph (tables in at least one edge, directions ignored)."""
    return union_groups(edges)


def transitive_reduction(edges: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The reduction described in the module docstring, as sorted (child, parent) pairs."""
    edge_list = sorted(set(edges))
    rep: dict[str, str] = {}
    reduction: set[tuple[str, str]] = set()
    for group in equal_groups(edge_list):
        for member in group:
            rep[member] = group[0]
            if member != group[0]:
                reduction.add((member, group[0]))
    out: dict[str, set[str]] = defaultdict(set)
    for a, b in edge_list:
        ga, gb = rep.get(a, a), rep.get(b, b)
        if ga != gb:
            out[ga].add(gb)
    for source, targets in out.items():
        indirect: set[str] = set()
        stack = [t for first in targets for t in out.get(first, ())]
        while stack:
            node = stack.pop()
            if node in indirect:
                continue
            indirect.add(node)
            stack.extend(out.get(node, ()))
        reduction.update((source, t) for t in targets if t not in indirect)
    return sorted(reduction)
