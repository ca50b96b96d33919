"""Which tables the planner must keep before it optimises: protected tables, and the preferred copy of equals.

* **Protected tables** are never marked: ``--keep PATTERN`` (a glob on table ids, repeatable) and ``keep`` in the
  access file (``true``/``false``). Edges that would mark them are set aside with the reason.
* **Equal tables** (each contains the other) keep one copy. Left to the solver the choice is arbitrary, so it is
  fixed here: the table kept is the one with more reads per month, then the older one (earliest data file
  modification time), then the one whose path does not look like a copy (``copy``, ``copies``, ``backup``,
  ``bak``, ``dup``, ``old``, ``tmp``, ``snapshot`` as a word of the path), then the shorter, then the first id.
  The edge that would mark the preferred table is set aside, so only the other can be marked.
* **Unknown tables** in the access file are an error: a typo there would silently leave a hot table with the
  default (cold) access figures.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from typing import Protocol

from lakeshrink.containment.planner.costs import AccessProfile
from lakeshrink.errors import InputError, LakeshrinkError

_COPY_WORD = re.compile(r"(?i)(?:^|[/_.\-])(copy|copies|backups?|bak|dup|dups|duplicates?|old|tmp|temp|snapshots?)(?=$|[/_.\-0-9])")


class EdgeLike(Protocol):
    child: str
    parent: str


def looks_like_copy(table_id: str) -> bool:
    """Whether a word of the table's path says it is a copy (``copies/airlines_backup.parquet``)."""
    return bool(_COPY_WORD.search(table_id))


def protected_reason(table: str, profile: AccessProfile, patterns: Sequence[str]) -> str | None:
    """Why ``table`` must be kept (``--keep`` or the access file), or None."""
    for pattern in patterns:
        if fnmatch.fnmatchcase(table, pattern):
            return f"kept: protected by --keep {pattern!r}"
    if profile.get(table).keep:
        return "kept: 'keep' is set in the access file"
    return None


def _age(root: str | None, table: str) -> int | None:
    """The earliest modification time (ns) of the table's data files, when the filesystem tells."""
    if root is None:
        return None
    from lakeshrink.containment.planner.recipes import open_table

    try:
        _, ref = open_table(root, table)
    except (LakeshrinkError, OSError):
        return None
    times = [f.mtime_ns for f in ref.files if f.mtime_ns is not None]
    return min(times) if times else None


def keep_order(tables: Iterable[str], profile: AccessProfile, root: str | None) -> list[str]:
    """``tables`` from the one most worth keeping to the least (see the module docstring)."""
    ages = {t: _age(root, t) for t in tables}
    big = 2**63

    def key(t: str) -> tuple:
        age = ages[t]
        return (-profile.get(t).reads_per_month, age if age is not None else big, looks_like_copy(t), len(t), t)

    return sorted(ages, key=key)


def set_aside(
    edges: Sequence[EdgeLike], profile: AccessProfile, patterns: Sequence[str], root: str | None
) -> tuple[list[EdgeLike], list[tuple[EdgeLike, str]]]:
    """Split ``edges`` into those the solver may use and those set aside, each with its reason."""
    pairs = {(e.child, e.parent) for e in edges}
    equal = {e.child for e in edges if (e.parent, e.child) in pairs} | {e.parent for e in edges if (e.parent, e.child) in pairs}
    rank = {t: i for i, t in enumerate(keep_order(equal, profile, root))}
    usable: list[EdgeLike] = []
    aside: list[tuple[EdgeLike, str]] = []
    for e in edges:
        why = protected_reason(e.child, profile, patterns)
        if why is None and (e.parent, e.child) in pairs and rank[e.child] < rank[e.parent]:
            why = (f"kept: equal to {e.parent}, and preferred to it (more reads, then older, then not a copy)")
        if why is None:
            usable.append(e)
        else:
            aside.append((e, why))
    return usable, aside


def check_access_tables(profile: AccessProfile, known: set[str], path: object) -> None:
    """Refuse an access file naming tables the scan does not know.

    Raises:
        InputError: listing the first few unknown table ids.
    """
    unknown = profile.unknown(known)
    if unknown:
        shown = ", ".join(repr(t) for t in unknown[:5])
        raise InputError(f"the access file names {len(unknown)} table(s) the scan does not know: {shown}"
                         f"{' ...' if len(unknown) > 5 else ''}", path=str(path) if path is not None else None,
                         hint="fix the table ids (relative to the lake root, as `containment scan` lists them)")
