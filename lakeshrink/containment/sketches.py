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
in sorted order, hashed as a polars struct). Values are normalised first
(:mod:`.compare`), so int32 1 and int64 1, or NaN payloads, hash alike. Polars hashes are stable only within one
polars version, so each sketch records the version that made it, and two sketches made by different versions
(a cluster with mixed executors) are never compared: the pair goes on to stage 4.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from lakeshrink.containment.compare import normalize_frame
from lakeshrink.containment.footers import failure_reason
from lakeshrink.containment.lake import TableRef, projection_bytes, read_table, resolve_root
from lakeshrink.containment.schema_graph import Pair

DEFAULT_K = 256
MAX_ROW_SETS = 64  # row-set sketches per table (a parent of many differently-shaped children)
HASH_SEED = 0x5EED2D2D  # polars hash seed; fixed so every task hashes alike
HASHER = f"polars-{pl.__version__}-seed-{HASH_SEED}"


@dataclass(frozen=True)
class Sketch:
    """The k smallest distinct 64-bit hashes of a set (sorted), and whether that is all of them."""

    hashes: np.ndarray
    complete: bool

    @classmethod
    def of(cls, hashes: pl.Series, k: int) -> Sketch:
        distinct = hashes.unique()
        smallest = np.sort(distinct.bottom_k(k).to_numpy()) if len(distinct) > k else np.sort(distinct.to_numpy())
        return cls(smallest.astype(np.uint64), len(distinct) <= k)

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


def _sketch_exprs(name: str, values: pl.Expr, k: int) -> list[pl.Expr]:
    hashed = values.hash(HASH_SEED)
    return [hashed.unique().bottom_k(k).implode().alias(f"s{name}"), hashed.n_unique().alias(f"n{name}")]


def sketch_frame(frame: pl.DataFrame, columns: tuple[str, ...], row_sets: tuple[tuple[str, ...], ...], k: int) -> tuple[dict, dict]:
    """Column and row-set sketches of ``frame`` (normalised), computed in one polars query."""
    exprs = []
    for i, c in enumerate(columns):
        exprs += _sketch_exprs(f"c{i}", pl.col(c), k)
    for i, cols in enumerate(row_sets):
        exprs += _sketch_exprs(f"r{i}", pl.struct(list(cols)), k)
    row = frame.select(exprs).row(0, named=True)

    def make(name: str) -> Sketch:
        return Sketch(np.sort(np.asarray(row[f"s{name}"], dtype=np.uint64)), row[f"n{name}"] <= k)

    return (
        {c: make(f"c{i}") for i, c in enumerate(columns)},
        {cols: make(f"r{i}") for i, cols in enumerate(row_sets)},
    )


@dataclass(frozen=True)
class SketchTask:
    """One table to sketch: its columns ``columns`` and the row sets ``row_sets`` (each a sorted column tuple)."""

    root: str
    ref: TableRef
    columns: tuple[str, ...]
    row_sets: tuple[tuple[str, ...], ...]
    k: int = DEFAULT_K


@dataclass(frozen=True)
class TableSketch:
    table: str
    columns: dict[str, Sketch] = field(default_factory=dict)
    rows: dict[tuple[str, ...], Sketch] = field(default_factory=dict)
    bytes_read: int = 0
    error: str | None = None
    hasher: str = HASHER


def sketch_table(task: SketchTask) -> TableSketch:
    """Read the columns a table needs for stage 3 once and sketch them. Never raises for a bad table."""
    ref = task.ref
    try:
        fs, _ = resolve_root(task.root)
        needed = sorted(set(task.columns).union(*task.row_sets))
        frame = normalize_frame(read_table(fs, ref, needed), needed)
        columns, rows = sketch_frame(frame, task.columns, task.row_sets, task.k)
        return TableSketch(ref.id, columns, rows, projection_bytes(fs, ref, needed))
    except Exception as exc:  # noqa: BLE001 - reported per table
        return TableSketch(ref.id, error=failure_reason(exc))


def sketch_tasks(root: str, refs: dict[str, TableRef], pairs: list[Pair], k: int = DEFAULT_K) -> list[SketchTask]:
    """One task per table in ``pairs``: as a child it needs its columns and its row set; as a parent, the
    columns and row sets of its candidate children. A table sketches at most :data:`MAX_ROW_SETS` row sets (the
    most used); pairs whose row set was left out are judged by their column sketches only."""
    columns: dict[str, set[str]] = {}
    row_sets: dict[str, Counter[tuple[str, ...]]] = {}
    for pair in pairs:
        for table in (pair.child, pair.parent):
            columns.setdefault(table, set()).update(pair.columns)
            row_sets.setdefault(table, Counter())[pair.columns] += 1
    return [
        SketchTask(root, refs[t], tuple(sorted(columns[t])), tuple(sorted(c for c, _ in row_sets[t].most_common(MAX_ROW_SETS))), k)
        for t in sorted(columns)
    ]


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
